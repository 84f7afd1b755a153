"""One generated walker function per shape of the fast engine (:mod:`.fast`), issue 14.

``_Walker.node`` walks any JSON object of any shape: per key, a lookup of its slot and several tests of the slot's
attributes (kind, cardinality, plan, check). A shape's walker does the same walk with what it can know of its slots
fixed when it is made: each key of the shape maps to its slot group and that group's data (a primitive's set of
values its check passed, a datatype's shape ...), and the common case of each group the shape has is a branch of
its own, in compiled Python, where a valid value costs a few tests and no call::

    for key, value in node.items():
        try:
            g, a, b = table[key]
        except KeyError:  # an unknown element: _Walker.element reports it
            g = -1
        if g == 0:  # a string element without a regex nor profile checks (string, markdown)
            if type(value) is str and value and not value.isspace():
                continue
        ...
        w.element(shape, node, key, value, at(location))  # anything else: exactly as _Walker.node

Every branch does exactly what ``_Walker.element`` would do for that key and value; any other value (an invalid
one, an array where one value belongs, a string not seen before ...) goes to ``_Walker.element`` itself, so the
issues, their locations and their order are those of the generic walk. tests/test_validate_walkers.py compares the
two walks on the adapter's output bundles and the mutation corpora.

A walker's location is lazy (``_common.Loc``): it passes ``(location, key)`` or ``(location, key, i)`` to the walker
of a child instead of formatting ``f"{location}.{key}[{i}]"``, and ``_common.at`` makes the string only where it is
reported or leaves the walker (a call of ``_Walker``); a collected reference keeps its lazy location (see
``bundle.check_bundle``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fhir_adapter.validate._common import Loc, at, child
from fhir_adapter.validate._native import _EMPTY as EMPTY
from fhir_adapter.validate._native import _ext_1, _ref_1
from fhir_adapter.validate._primitives import _RANGES

if TYPE_CHECKING:
    from fhir_adapter.validate._plan import Plan
    from fhir_adapter.validate.fast import Shape, Slot

Walk = Callable[[Any, dict[str, Any], Loc], None]  # (the _Walker, a JSON object of the shape, its location)

GENERATE = True  # False: every shape walks through _Walker.node (the differential test's reference)

# The slot groups: each branch does what _Walker.element does for a value its test passes (it ``continue``s);
# any other value falls through to _Walker.element. Data: (a, b) of the key's entry in the table.
_BRANCHES: dict[int, str] = {
    0: """if type(value) is str and value and not value.isspace():  # string, markdown: no regex, no plan
    continue""",
    1: """if type(value) is str:  # a string type with a regex (a: the values its check b passed), no plan
    if value not in a:
        problem = b(value)
        if problem is not None:
            w.error(child(at(location), key), problem, 'value')
    continue""",
    2: """if type(value) is str and value in a and value in b:  # passed its check before, and in its ValueSet
    continue""",
    3: """if type(value) is dict:  # a datatype of max 1 without profile checks (a: its shape)
    (a.walk or made(a))(w, value, (location, key))
    continue""",
    4: """if type(value) is list and value:  # a repeating datatype without profile checks (a: shape, b: slot)
    sub = a.walk or made(a)
    for i, item in enumerate(value):
        if type(item) is dict:
            sub(w, item, (location, key, i))
        else:
            odd(w, b, item, location, key, i)
    continue""",
    5: """if value is True or value is False:  # boolean
    continue""",
    6: """if type(value) is int or type(value) is float:  # decimal
    continue""",
    7: """if type(value) is int and a <= value <= b:  # integer, unsignedInt, positiveInt: in [a, b]
    continue""",
    8: """if type(value) is dict and w.on:  # a datatype of max 1 with invariants only (a: shape, b: plan)
    where = (location, key)
    if not b.quick(value):
        w.profiled(b, value, at(where))
    (a.walk or made(a))(w, value, where)
    continue""",
    9: """if type(value) is list and value and w.on:  # repeating, with invariants only (a: slot, b: plan)
    sub = a.shape.walk or made(a.shape)
    quick = b.quick
    for i, item in enumerate(value):
        if type(item) is dict:
            where = (location, key, i)
            if not quick(item):
                w.profiled(b, item, at(where))
            sub(w, item, where)
        else:
            odd(w, a, item, location, key, i)
    continue""",
    10: """if type(value) is dict:  # one resource (Bundle.entry.resource; a: the plan)
    w.resource(value, f'{at(location)}.{key}', a)
    continue""",
    11: """continue  # resourceType of a resource""",
    12: """if type(value) is dict:  # a datatype of max 1 with other profile checks (a: slot)
    w.item(a, value, f'{at(location)}.{key}')
    continue""",
    13: """if type(value) is list and value:  # repeating, with other profile checks, or resources (a: slot)
    w.items(a, value, at(location), key, False)
    continue""",
    14: """if type(value) is dict and w.on:  # a Reference of max 1 (a: shape, b: plan): as 8, one key inline
    if len(value) == 1:
        ref = value.get('reference')
        if type(ref) is str and ref and not ref.isspace() and ref[:1] != '#':  # see _reference_only
            if w.refs is not None:
                w.refs.append((ref, ((location, key), 'reference')))
            continue
    where = (location, key)
    if not b.quick(value):
        w.profiled(b, value, at(where))
    (a.walk or made(a))(w, value, where)
    continue""",
    15: """if type(value) is list and value and w.on:  # repeating References (a: slot, b: plan): as 9, one key inline
    sub = a.shape.walk or made(a.shape)
    quick = b.quick
    for i, item in enumerate(value):
        if type(item) is dict:
            if len(item) == 1:
                ref = item.get('reference')
                if type(ref) is str and ref and not ref.isspace() and ref[:1] != '#':  # see _reference_only
                    if w.refs is not None:
                        w.refs.append((ref, ((location, key, i), 'reference')))
                    continue
            where = (location, key, i)
            if not quick(item):
                w.profiled(b, item, at(where))
            sub(w, item, where)
        else:
            odd(w, a, item, location, key, i)
    continue""",
    16: """if type(value) is list and value:  # repeating Extensions (a: slot, b: plan): as 9, ext-1 inline; as 4 if off
    sub = a.shape.walk or made(a.shape)
    quick = b.quick if w.on else None  # off: in a primitive's _name part, where the profile layer does not look
    for i, item in enumerate(value):
        if type(item) is dict:
            where = (location, key, i)
            if quick is None:
                pass
            elif len(item) == 2 and 'url' in item:  # url and a value, or url and extensions: see _extension_only
                k1, k2 = item
                other = k2 if k1 == 'url' else k1
                if not ((other[:5] == 'value' or other == 'extension') and item[other] not in EMPTY):
                    if not quick(item):
                        w.profiled(b, item, at(where))
            elif not quick(item):
                w.profiled(b, item, at(where))
            sub(w, item, where)
        else:
            odd(w, a, item, location, key, i)
    continue""",
    17: """if type(value) is dict:  # the _name part of a primitive of max 1: its id and extensions (a: their shape)
    on = w.on
    w.on = False  # as _Walker.other: the profile layer does not look into it
    (a.walk or made(a))(w, value, (location, key) if location else key)  # as child(location, key)
    w.on = on
    continue""",
}


def walker(shape: Shape) -> Walk:
    """The walker of ``shape``: made (and kept on the shape) on its first use."""
    walk = shape.walk
    if walk is None:
        walk = shape.walk = made(shape)
    return walk


def made(shape: Shape) -> Walk:
    """A new walker of ``shape`` (kept on it), or the generic one where ``GENERATE`` is off."""
    if not GENERATE:

        def generic(w: Any, node: dict[str, Any], location: Loc) -> None:
            w.node(shape, node, at(location))

        shape.walk = generic
        return generic
    from fhir_adapter.validate.fast import PRIMITIVE

    table = {key: _group(slot) for key, slot in shape.children.items()}
    # the other keys of an element (no exception raised for them): a primitive's _name part, resourceType
    table.update({"_" + key: _part_group(slot) for key, slot in shape.children.items() if slot.kind == PRIMITIVE})
    if shape.resource:
        table["resourceType"] = (11, None, None)
    walk = shape.walk = _compiled(shape, table)
    return walk


def _part_group(slot: Slot) -> tuple[int, Any, Any]:
    """The group of the ``_name`` part of primitive slot ``slot`` (as _Walker.other and primitive_part walk it)."""
    from fhir_adapter.validate.fast import _element_shape

    return (-1, None, None) if slot.many else (17, _element_shape(), None)


def _group(slot: Slot) -> tuple[int, Any, Any]:
    """The group of a slot and its data (a, b), or -1: its values go to ``_Walker.element``."""
    from fhir_adapter.validate.fast import COMPLEX, PRIMITIVE, RESOURCE, _datatype_shape

    if slot.kind == PRIMITIVE:
        return _primitive_group(slot) if slot.single else (-1, None, None)
    if slot.kind == RESOURCE:
        return (10, slot.plan, None) if not slot.many else (13, slot, None)
    assert slot.kind == COMPLEX
    shape, plan = _datatype_shape(slot), slot.plan
    if plan is None:
        return (4, shape, slot) if slot.many else (3, shape, None)
    if plan.binding is not None or plan.unsure or plan.off:
        return (13, slot, None) if slot.many else (12, slot, None)
    if _reference_only(shape, plan):
        return (15, slot, plan) if slot.many else (14, shape, plan)
    if slot.many and _extension_only(plan):
        return 16, slot, plan
    return (9, slot, plan) if slot.many else (8, shape, plan)


def _reference_only(shape: Shape, plan: Plan) -> bool:
    """True if a JSON object of ``shape`` with one key, ``reference``, a non-blank string not starting with ``#``,
    needs nothing but its reference collected: the shape's walker would pass its one string (a plain string, no
    plan) and check nothing after its keys, and each constraint of the plan passes (``reference`` present, or
    ref-1's native path, true for such a string)."""
    slot = shape.children.get("reference")
    return (
        shape.refs
        and not shape.post
        and slot is not None
        and _group(slot)[0] == 0
        and all("reference" in c.pass_if_present or c.native is _ref_1 for _, todo in plan.runs for c in todo)
    )


def _extension_only(plan: Plan) -> bool:
    """True if ext-1 (its native path) is the plan's one constraint. Of a JSON object with two keys, ``url`` and
    ``other``, that path decides True exactly when ``other`` starts with ``value`` or is ``extension`` and its value
    is not empty (neither None, [] nor {}): the test group 16 makes before it calls the plan's ``quick``."""
    todo = [c for _, run in plan.runs for c in run]
    return len(todo) == 1 and todo[0].native is _ext_1


def _primitive_group(slot: Slot) -> tuple[int, Any, Any]:
    plan, tcode = slot.plan, slot.tcode
    if plan is not None:
        return (2, slot.known, plan.passing) if isinstance(slot.known, set) and plan.passing else (-1, None, None)
    if slot.plain:
        return 0, None, None
    if isinstance(slot.known, set):
        return 1, slot.known, slot.check
    if tcode == "boolean":
        return 5, None, None
    if tcode == "decimal":
        return 6, None, None
    if tcode in _RANGES:
        return 7, *_RANGES[tcode]
    return -1, None, None


def _compiled(shape: Shape, table: dict[str, tuple[int, Any, Any]]) -> Walk:
    from fhir_adapter.validate.fast import _ELE1

    groups = sorted({g for g, _, _ in table.values() if g >= 0}, key=lambda g: -_weight(table, g))
    names: dict[str, Any] = {"table": table, "shape": shape, "made": made, "odd": odd, "MUST": shape.must}
    names["EMPTY"] = EMPTY
    names["child"] = child
    names["at"] = at
    names["CHOICES"] = shape.choice_keys
    lines = [
        "def walk(w, node, location):",
        "    if not node:",
        f"        w.error(at(location), {_EMPTY + _ELE1!r}, 'value')",
    ]
    if shape.refs:
        lines += ["    if w.refs is not None:", "        ref = node.get('reference')"]  # as _Walker.reference
        lines += ["        if isinstance(ref, str) and 'expression' not in node and 'language' not in node:"]
        lines += ["            w.refs.append((ref, (location, 'reference')))"]
    lines += ["    for key, value in node.items():", "        try:", "            g, a, b = table[key]"]
    lines += ["        except KeyError:", "            g = -1"]
    for i, g in enumerate(groups):
        lines += [f"        {'el' if i else ''}if g == {g}:"] + ["            " + x for x in _BRANCHES[g].split("\n")]
    lines += ["        w.element(shape, node, key, value, at(location))"]
    if shape.required_choice:
        lines += ["    w.required(shape, node, location)"]
    elif shape.must:
        lines += ["    if not node.keys() >= MUST:", "        w.required(shape, node, location)"]
    if shape.choice_keys:
        lines += ["    if len(CHOICES & node.keys()) > 1:", "        w.choices(shape, node, location)"]
    # the source holds only group numbers and constant messages; keys and data are in ``table``
    exec(compile("\n".join(lines) + "\n", f"<walker {next(_MADE)}>", "exec"), names)
    walk: Walk = names["walk"]
    return walk


_EMPTY = "empty object "
_MADE = itertools.count()  # names each walker's source (profiles and tracebacks tell them apart)


def _weight(table: dict[str, tuple[int, Any, Any]], group: int) -> int:
    """How often a group's branch is taken, roughly (most first): its keys, strings before the rest, _name parts
    (one key per primitive, few present) last."""
    if group == 17:
        return -1
    return sum(1 for g, _, _ in table.values() if g == group) + (100 if group in (0, 1, 11) else 0)


def odd(w: Any, slot: Slot, value: Any, location: Loc, key: str, i: int) -> None:
    """Item ``i`` of an array of a datatype that is no JSON object, as ``_Walker.items`` reports it."""
    location = at(location)
    if value is None:
        from fhir_adapter.validate.fast import _NULL

        w.error(child(location, key, i), _NULL, "value")
    else:
        w.item(slot, value, f"{location}.{key}[{i}]")
