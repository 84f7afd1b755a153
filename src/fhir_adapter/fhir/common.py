"""Release-neutral building blocks of the R5 and R4 mappers: codings, extensions, references, pruning and the
per-trial context. Nothing here depends on a FHIR release other than through a ``release`` argument
(https://hl7.org/fhir/R5/datatypes.html#CodeableConcept, https://hl7.org/fhir/R4/datatypes.html#CodeableConcept).

Every coded value is written with two codings where FHIR has a code: the standard FHIR code (from the ConceptMaps
in ``mappings/``) for consumers, and the ClinicalTrials.gov token for the way back, so ``from_*`` never depends on a
lossy reverse map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.ids import full_url, resource_id
from fhir_adapter.release import FhirRelease

JSON = dict[str, Any]
Resolver = Callable[[JSON | None], JSON | None]


def ext_url(name: str) -> str:
    """URL of one of fhir-adapter's own extensions (documented in mappings/README.md)."""
    return terminology.system("fhir-adapter-ext") + name


def ctgov_coding(axis: str, token: str) -> JSON:
    """The ct.gov coding of a token. A value outside the API v2 enum (kept as the source gave it, e.g. the legacy
    study type ``N/A``) goes in the axis's legacy-wording system, whose published CodeSystem is a fragment: in the
    enum's system (published complete, mappings/definitions) it would be an invalid code."""
    if token not in terminology.enum_values(axis):
        return {"system": _legacy_system(axis), "code": token, "display": token}
    return {"system": terminology.ctgov_system(axis), "code": token, "display": terminology.ctgov_display(axis, token)}


def _legacy_system(axis: str) -> str:
    return terminology.system(f"ctgov-legacy-{axis}")


def _ctgov_codes(axis: str, concept: JSON | None) -> list[str]:
    """The ct.gov tokens of an axis in a CodeableConcept: the enum's codings, then values kept as given."""
    systems = (terminology.ctgov_system(axis), _legacy_system(axis))
    return [str(c["code"]) for c in (concept or {}).get("coding", []) if c.get("system") in systems and "code" in c]


def coded(
    axis: str, token: str | None, text: str | None = None, release: FhirRelease | str = FhirRelease.R5
) -> JSON | None:
    """A CodeableConcept for a ct.gov token: the FHIR coding of ``release`` if the ConceptMap has one, then the
    ct.gov coding. It holds no empty value (ele-1: an empty code, display or text is left out, as ``prune`` would), so
    builders need not prune it."""
    if token is None:
        return None
    codings, display = _coded_parts(axis, token, release)
    label = text or display
    if label:
        return {"coding": [dict(c) for c in codings], "text": label}
    return {"coding": [dict(c) for c in codings]}


@lru_cache(maxsize=2048)  # a few hundred (axis, token) pairs recur in every trial; the tables are read once per run
def _coded_parts(axis: str, token: str, release: FhirRelease | str) -> tuple[tuple[JSON, ...], str]:
    """The codings (templates: ``coded`` hands out copies), their empty values left out, and the display text of
    ``coded(axis, token)``."""
    fhir = terminology.to_fhir(axis, token, release)
    ctgov = ctgov_coding(axis, token)
    codings = (fhir.to_fhir(), ctgov) if fhir is not None else (ctgov,)
    return tuple({k: v for k, v in c.items() if v} for c in codings), terminology.ctgov_display(axis, token)


def token_of(axis: str, concept: JSON | None) -> str | None:
    """The ct.gov token of an axis in a CodeableConcept (the way back of ``coded``)."""
    codes = _ctgov_codes(axis, concept)
    return codes[0] if codes else None


def tokens_of(axis: str, concept: JSON | None) -> list[str]:
    """Every ct.gov token of an axis in a CodeableConcept (who-masked, phases)."""
    return _ctgov_codes(axis, concept)


def text_cc(text: str) -> JSON:
    return {"text": text}


def extension(name: str, **value: Any) -> JSON:
    """``extension("has-results", valueBoolean=True)``."""
    return {"url": ext_url(name), **value}


def get_extension(holder: JSON | None, name: str) -> JSON | None:
    url = ext_url(name)
    for e in (holder or {}).get("extension", []):
        if e.get("url") == url:
            return dict(e)
    return None


def prune(node: Any) -> Any:
    """Drop None, empty strings, lists and objects (FHIR forbids empty elements, ele-1)."""
    if isinstance(node, dict):
        return _pruned_dict(node)
    if isinstance(node, list):
        return _pruned_list(node)
    return node


# The walkers below are ``prune`` in one pass per node (it runs on every element of every resource, so it was a
# third of mapping time). A node with nothing to drop (the common case: most builders write no empty element) is
# returned as it is, not copied; only the path down to a dropped value is rebuilt. A child is pruned, then kept unless
# it is None, "" or came out empty. ``_first_change`` serves dicts and lists alike; it tests exact strs, dicts, lists,
# ints, floats and bools inline (a call per node was most of the walk's cost); any other value (a subclass, a tuple,
# None) takes the general test, ``_kept_value``, as before.
def _pruned_dict(node: dict[Any, Any]) -> dict[Any, Any]:
    change = _first_change(node.items())
    return node if change is None else _rebuilt_dict(node, *change)


def _pruned_list(node: list[Any]) -> list[Any]:
    change = _first_change(enumerate(node))
    if change is None:
        return node
    i, p = change
    return [*node[:i], *([] if p is _DROP else [p]), *_kept(node[i + 1 :])]


def _first_change(pairs: Iterable[tuple[Any, Any]]) -> tuple[Any, Any] | None:
    """The first (key or index, pruned value or ``_DROP``) of a container's ``pairs`` that pruning changes, None when
    it changes none."""
    for k, v in pairs:
        t = type(v)
        if t is str:
            if v:
                continue
            return k, _DROP
        p: Any  # a pruned dict or list, or whatever _kept_value keeps
        if t is dict or t is list:
            if not v:
                return k, _DROP
            p = _pruned_dict(v) if t is dict else _pruned_list(v)
        elif t is int or t is bool or t is float:
            continue
        else:
            p = _kept_value(v)
        if p is not v:
            return k, p if p else _DROP
    return None


_DROP = object()  # the marker of a value ``prune`` drops


def _rebuilt_dict(node: dict[Any, Any], first: Any, value: Any) -> dict[Any, Any]:
    """The pruned copy of ``node``: its values before the key ``first`` need no pruning, ``value`` is the pruned value
    at ``first`` (or ``_DROP``), the values after it are pruned here."""
    out: dict[Any, Any] = {}
    items = iter(node.items())
    for k, v in items:
        if k == first:
            break
        out[k] = v
    if value is not _DROP:
        out[first] = value
    for k, v in items:
        v = _kept_value(v)
        if v is not _DROP:
            out[k] = v
    return out


def _kept(values: list[Any]) -> list[Any]:
    """The pruned values of a list, the dropped ones left out."""
    out: list[Any] = []
    for v in values:
        v = _kept_value(v)
        if v is not _DROP:
            out.append(v)
    return out


def _kept_value(v: Any) -> Any:
    """A value pruned (a dict or list walked; copied only if something below is dropped), or ``_DROP``."""
    t = type(v)
    if t is str:
        return v if v else _DROP
    if t is int or t is bool or t is float:
        return v
    if isinstance(v, dict):
        v = _pruned_dict(v)
        return (v if type(v) is dict else dict(v)) if v else _DROP  # a subclass comes out a plain dict, as before
    if isinstance(v, list):
        v = _pruned_list(v)
        return (v if type(v) is list else list(v)) if v else _DROP
    return v if v is not None and v != "" else _DROP


def pruned(node: JSON) -> JSON:
    """``prune`` of a resource or element, typed (no empty elements: ele-1)."""
    out: JSON = prune(node)
    return out


def compact(**values: Any) -> JSON:
    """The element of the non-empty ``values`` (None, "", [] and {} left out), in the order given: ``pruned`` for an
    element whose values are strings, numbers or parts already without empty elements (nothing below is walked)."""
    # A true value is kept whatever its type (no JSON value is true and equal to "", [] or {}): only false ones (None,
    # "", [], {}, 0, False ...) take the comparisons, dearer than the test of truth (50,000 calls a 600-trial run)
    if all(values.values()):  # nothing to leave out: ``values``, the fresh dict of this call's keywords, is the element
        return values
    return {k: v for k, v in values.items() if v or (v is not None and v != "" and v != [] and v != {})}


def pruned_at(node: JSON, fresh: Iterable[str]) -> JSON:
    """``pruned(node)`` for an element whose values are pruned already except those under the keys ``fresh``: only
    those are walked; every top-level value is still dropped when empty. For elements made mostly of parts known to be
    pruned (the R4 conversion copies most of a pruned R5 resource, ``to_r4``'s input; a Provenance's ``target`` is
    one fullUrl reference per resource): pruning those again was wasted."""
    walk = frozenset(fresh)
    out: JSON = {}
    for k, v in node.items():
        if k in walk:
            v = prune(v)
        if v or (v is not None and v != "" and v != [] and v != {}):  # as in ``compact``
            out[k] = v
    return out


def party_role(code: str) -> JSON:
    """A research-study-party-role concept (https://hl7.org/fhir/R5/valueset-research-study-party-role.html)."""
    return {"coding": [{"system": terminology.system("research-study-party-role"), "code": code}]}


def has_party_role(party: JSON, code: str) -> bool:
    """True if an R5 ``ResearchStudy.associatedParty`` has the research-study-party-role ``code``."""
    system = terminology.system("research-study-party-role")
    return any(c.get("system") == system and c.get("code") == code for c in (party.get("role") or {}).get("coding", []))


# The placeholder of a resource's ``text`` while its bundle is mapped (``Context(text_slot=True)``): the key holds its
# place in FHIR's element order, and ``narrative.narratives`` fills it in place instead of copying every resource to
# put a ``text`` there. Not a JSON value, so never taken for a narrative nor left in output.
TEXT_SLOT: Any = object()


class Context:
    """The resources of one trial's bundle, keyed so that the same party or site is written once. ``text_slot``:
    each resource is given a ``text`` placeholder (``TEXT_SLOT``, after its id) for its narrative, filled by
    ``narrative.narratives`` (the bundle's Context; readers of ``resources`` before that ignore ``text``)."""

    def __init__(self, nct_id: str, text_slot: bool = False) -> None:
        self.nct_id = nct_id
        self.resources: dict[str, JSON] = {}
        self.text_slot = text_slot

    def ref(self, resource_type: str, key: str) -> JSON:
        """A reference to the resource ``resource_type`` with ``key`` (whether or not it is added yet)."""
        return {"reference": full_url(resource_id(self.nct_id, resource_type, key))}

    def add(self, resource_type: str, key: str, body: JSON, *, clean: bool = False) -> JSON:
        """Add a resource (first one wins for a key) and return a reference to it. ``clean``: ``body`` was built
        without empty elements (``compact``), so it is not pruned again."""
        rid = resource_id(self.nct_id, resource_type, key)
        url = full_url(rid)
        if url not in self.resources:
            resource: JSON = {"resourceType": resource_type, "id": rid}
            if self.text_slot and "text" not in body:  # a body's own text is kept where it is, as narratives does
                resource["text"] = TEXT_SLOT
            # prune(body) keeps what prune of the whole resource keeps (its type and id are non-empty strings)
            resource.update(body if clean else prune(body))
            self.resources[url] = resource
        return {"reference": url}

    def canonical(self, resource_type: str, key: str) -> str:
        """The canonical ``url`` of a definitional resource (EvidenceVariable, PlanDefinition).

        Deliberately not the resource's fullUrl: servers rewrite ``urn:uuid`` fullUrls inside a transaction, and the
        canonical must survive that unchanged so that conditional updates on ``url`` find the resource again."""
        return full_url(resource_id(self.nct_id, resource_type, key + "#url"))
