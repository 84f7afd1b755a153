"""Native fast paths for the hottest official invariants, each pinned to the exact expression it stands for.

Evaluating FHIRPath with fhirpathpy costs 20-100 µs per call; a handful of invariants run on every Reference,
Extension, Period and Bundle entry and dominated validation time. Each function here decides the invariant for a
node in plain Python, or returns None when it cannot (the caller then evaluates the official expression). A
function is used only while the definitions carry exactly the expression it was written for (``EXPRESSIONS``), and
``tests/test_validate_native.py`` checks every one against fhirpathpy on real and crafted nodes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Node = dict[str, Any]


_EMPTY: tuple[Any, ...] = (None, [], {})  # JSON values that do not exist for FHIRPath (never mutated)


def _has(node: Node, name: str) -> bool:
    """FHIRPath ``name.exists()`` on a JSON node (a primitive may exist through its ``_name`` extension part)."""
    return node.get(name) not in _EMPTY or node.get("_" + name) not in _EMPTY


def _ref_1(node: Node) -> bool | None:
    # reference.exists() implies (reference.startsWith('#').not() or ...contained... )
    ref = node.get("reference")
    if not isinstance(ref, str):
        return True if ref is None else None
    return True if not ref.startswith("#") else None


def _bdl_8(node: Node) -> bool | None:
    # fullUrl.exists() implies fullUrl.contains('/_history/').not()
    url = node.get("fullUrl")
    if url is None:
        return True
    return "/_history/" not in url if isinstance(url, str) else None


def _ext_1(node: Node) -> bool | None:
    # extension.exists() != value.exists()
    has_value = False
    for key, value in node.items():  # a loop, not any(): this runs on every Extension
        if key.startswith("value") and value not in _EMPTY:
            has_value = True
            break
    return _has(node, "extension") != has_value


def _entries(node: Node) -> list[Node] | None:
    entries = node.get("entry", [])
    if not isinstance(entries, list):
        return None
    for e in entries:  # loops, not all()/any() over generators: the Bundle natives run over every entry
        if not isinstance(e, dict):
            return None
    return entries


def _bundle_type(node: Node) -> str | None:
    t = node.get("type")
    return t if isinstance(t, str) else None


def _bdl_2(node: Node) -> bool | None:
    # (type = 'searchset') or entry.search.empty()
    entries = _entries(node)
    if entries is None:
        return None
    if _bundle_type(node) == "searchset":
        return True
    return not any(("search" in e or "_search" in e) and _has(e, "search") for e in entries)


def _bdl_3a(node: Node) -> bool | None:
    # type in ('document' | 'message' | 'searchset' | 'collection')
    #   implies entry.all(resource.exists() and request.empty() and response.empty())
    entries = _entries(node)
    if entries is None:
        return None
    if _bundle_type(node) not in ("document", "message", "searchset", "collection"):
        return True
    for e in entries:
        if e.get("resource") in _EMPTY and not _has(e, "resource"):
            return False
        if ("request" in e or "_request" in e) and _has(e, "request"):
            return False
        if ("response" in e or "_response" in e) and _has(e, "response"):
            return False
    return True


def _bdl_15(node: Node) -> bool | None:
    # type='transaction' or type='transaction-response' or type='batch' or type='batch-response'
    #   or entry.all(fullUrl.exists() or request.method='POST')
    entries = _entries(node)
    if entries is None:
        return None
    if _bundle_type(node) in ("transaction", "transaction-response", "batch", "batch-response"):
        return True
    for e in entries:
        request = e.get("request")
        if e.get("fullUrl") not in _EMPTY or _has(e, "fullUrl"):
            continue
        if not isinstance(request, dict | None):
            return None
        if (request or {}).get("method") != "POST":
            return False
    return True


_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")


def _per_1(node: Node) -> bool | None:
    # start.hasValue().not() or end.hasValue().not() or (start.lowBoundary() <= end.highBoundary())
    start, end = node.get("start"), node.get("end")
    if start is None or end is None:
        return True
    # Two dates (no time): the start's lowest boundary pads it with the earliest month/day, the end's highest with
    # the latest, so start <= end as text (a prefix counts as smaller) decides it true; anything else: fhirpathpy.
    if (
        isinstance(start, str)
        and isinstance(end, str)
        and start <= end
        and _DATE.fullmatch(start)
        and _DATE.fullmatch(end)
    ):
        return True
    return None


def _rng_2(node: Node) -> bool | None:
    # low.value.empty() or high.value.empty() or low.lowBoundary().comparable(...).not() or (low... <= high...)
    low, high = node.get("low"), node.get("high")
    if not isinstance(low, dict | None) or not isinstance(high, dict | None):
        return None
    if not _has(low or {}, "value") or not _has(high or {}, "value"):
        return True
    assert low is not None and high is not None
    # Same unit (code, system and unit text): comparable, and low.value <= high.value puts the low boundary of the
    # one below the high boundary of the other. A SimpleQuantity has no comparator to shift a boundary.
    lv, hv = low.get("value"), high.get("value")
    if (
        not isinstance(lv, int | float)
        or not isinstance(hv, int | float)
        or isinstance(lv, bool)
        or isinstance(hv, bool)
    ):
        return None
    same_unit = all(low.get(k) == high.get(k) for k in ("code", "system", "unit"))
    return True if same_unit and lv <= hv and "_value" not in low and "_value" not in high else None


_EVV_1 = (
    "definitionReference",
    "definitionCanonical",
    "definitionCodeableConcept",
    "definitionId",
    "definitionByTypeAndValue",
    "definitionByCombination",
)
_EVV_1_KEYS = frozenset(_EVV_1) | {"_" + k for k in _EVV_1}


def _evv_1(node: Node) -> bool | None:
    # (definitionReference.count() + ... + definitionByCombination.count()) < 2   (each element is 0..1)
    if len(node.keys() & _EVV_1_KEYS) < 2:
        return True  # at most one of them can exist (the common case: one definition)
    return sum(_has(node, k) for k in _EVV_1) < 2


def _org_1(node: Node) -> bool | None:
    # (identifier.count() + name.count()) > 0
    identifiers = node.get("identifier", [])
    if not isinstance(identifiers, list):
        return None
    return len(identifiers) + _has(node, "name") > 0


def _non_negative(name: str) -> Callable[[Node], bool | None]:
    # "<name>.exists() implies <name> >= 0" for a decimal element: a JSON number decides it.
    def check(node: Node) -> bool | None:
        value = node.get(name)
        if value is None:
            return True
        return value >= 0 if isinstance(value, int | float) and not isinstance(value, bool) else None

    return check


UCUM = "http://unitsofmeasure.org"


def _drt_1(node: Node) -> bool | None:
    # code.exists() implies ((system = %ucum) and value.exists()); an absent system makes the "and" empty, not
    # false, so only a string system is decided here.
    if node.get("code") is None:
        return True
    system = node.get("system")
    if not isinstance(system, str):
        return None
    return system == UCUM and _has(node, "value")


def _no_contained(node: Node) -> bool | None:
    # dom-2 .. dom-5 (DomainResource): "contained.….empty()" (and of two), or contained.where(…).….empty(); with no
    # contained resources each path is empty, so each is true (the where() arguments are never evaluated).
    return True if "contained" not in node else None


_DOM_3 = (
    "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().ofType(canonical) | "
    "%resource.descendants().ofType(uri) | %resource.descendants().ofType(url))) or descendants().where(reference "
    "= '#').exists() or descendants().where(ofType(canonical) = '#').exists() or descendants().where(ofType(canonical)"
    " = '#').exists()).not()).trace('unmatched', id).empty()"
)


def _exp_2(node: Node) -> bool | None:
    # name.hasValue() implies name.matches(...): with no name, hasValue() is false and the implication true.
    return True if "name" not in node else None


NATIVE: dict[str, tuple[str, Callable[[Node], bool | None]]] = {
    "exp-2": ("name.hasValue() implies name.matches('[A-Za-z][A-Za-z0-9\\\\_]{0,63}')", _exp_2),
    "dom-2": ("contained.contained.empty()", _no_contained),
    "dom-3": (_DOM_3, _no_contained),
    "dom-4": ("contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()", _no_contained),
    "dom-5": ("contained.meta.security.empty()", _no_contained),
    "tim-4": ("duration.exists() implies duration >= 0", _non_negative("duration")),
    "tim-5": ("period.exists() implies period >= 0", _non_negative("period")),
    "drt-1": ("code.exists() implies ((system = %ucum) and value.exists())", _drt_1),
    "per-1": ("start.hasValue().not() or end.hasValue().not() or (start.lowBoundary() <= end.highBoundary())", _per_1),
    "rng-2": (
        "low.value.empty() or high.value.empty() or low.lowBoundary().comparable(high.highBoundary()).not() or "
        "(low.lowBoundary() <= high.highBoundary())",
        _rng_2,
    ),
    "evv-1": (
        "(definitionReference.count() + definitionCanonical.count() + definitionCodeableConcept.count() + "
        "definitionId.count() + definitionByTypeAndValue.count() + definitionByCombination.count())  < 2",
        _evv_1,
    ),
    "org-1": ("(identifier.count() + name.count()) > 0", _org_1),
    "ref-1": (
        "reference.exists()  implies (reference.startsWith('#').not() or (reference.substring(1).trace('url') "
        "in %rootResource.contained.id.trace('ids')) or (reference='#' and %rootResource!=%resource))",
        _ref_1,
    ),
    "bdl-8": ("fullUrl.exists() implies fullUrl.contains('/_history/').not()", _bdl_8),
    "ext-1": ("extension.exists() != value.exists()", _ext_1),
    "bdl-2": ("(type = 'searchset') or entry.search.empty()", _bdl_2),
    "bdl-3a": (
        "type in ('document' | 'message' | 'searchset' | 'collection') implies entry.all(resource.exists() "
        "and request.empty() and response.empty())",
        _bdl_3a,
    ),
    "bdl-15": (
        "type='transaction' or type='transaction-response' or type='batch' or type='batch-response' or "
        "entry.all(fullUrl.exists() or request.method='POST')",
        _bdl_15,
    ),
}


# Inline tests for the compiled quick tests of _plan (one Python expression of ``item``, the node, and the names
# given with it): each is true only where its native path returns True, so ``<test> or native(item) is True`` is
# ``native(item) is True`` with no call in the common case. tests/test_validate_native.py checks each on every node.
INLINE: dict[Callable[[Node], bool | None], tuple[str, dict[str, Any]]] = {
    _no_contained: ("'contained' not in item", {}),
    _evv_1: ("len(item.keys() & EVV_1_KEYS) < 2", {"EVV_1_KEYS": _EVV_1_KEYS}),
    _bdl_8: ("type(url := item.get('fullUrl')) is str and '/_history/' not in url", {}),
    _ref_1: ("type(ref := item.get('reference')) is str and ref[:1] != '#'", {}),
}


# "<element> = 'x' implies ..." / "<element> in ('x' | 'y') implies ...": when the element is absent (empty) or
# a string outside the literals, the antecedent is empty or false, so the invariant cannot evaluate to false.
_IMPLIES = re.compile(r"^(\w+) (?:= '([\w-]+)'|in \(((?:'[\w-]+'(?: \| )?)+)\)) implies ")


def _antecedent_false(expression: str) -> Callable[[Node], bool | None] | None:
    m = _IMPLIES.match(expression)
    if m is None:
        return None
    name = m.group(1)
    literals = frozenset([m.group(2)] if m.group(2) else re.findall(r"'([\w-]+)'", m.group(3)))

    def check(node: Node) -> bool | None:
        value = node.get(name)
        return True if value is None or (isinstance(value, str) and value not in literals) else None

    return check


def native_check(key: str, expression: str) -> Callable[[Node], bool | None] | None:
    """The fast path for an invariant, if one is written for exactly this expression."""
    found = NATIVE.get(key)
    if found is not None:
        return found[1] if found[0] == expression else None
    return _antecedent_false(expression)
