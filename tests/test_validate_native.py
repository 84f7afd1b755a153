"""The native fast paths of official invariants agree with fhirpathpy on every node where they decide.

Nodes come from every golden bundle plus crafted edge cases; each fast path is checked on the element type the
invariant is declared on, against the official expression from the R5 definitions."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import GOLDEN
from fhir_adapter.validate import profile
from fhir_adapter.validate._context import Context
from fhir_adapter.validate._native import INLINE, NATIVE, native_check
from fhir_adapter.validate._plan import quick_pass


def _constraints(type_name: str) -> Iterator[tuple[str, profile.Constraint]]:
    """(fhirpath type path, constraint) of every constraint declared in a type, at any depth."""
    td = profile.type_def(type_name)
    assert td is not None
    stack, seen = [td.root], set()
    while stack:
        el = stack.pop()
        if id(el) in seen:  # contentReference makes the element tree cyclic
            continue
        seen.add(id(el))
        for c in el.constraints:
            yield el.fp_path, c
        stack.extend(child for child, _ in el.children.values() if child.inline)


def _golden_bundles() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(GOLDEN.glob("*.bundle.json"))]


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _dicts(v)


CRAFTED: dict[str, list[dict[str, Any]]] = {
    "Expression": [{}, {"language": "text/fhirpath", "expression": "x"}, {"name": "ok_1"}, {"name": "1bad"}],
    "Reference": [
        {},
        {"reference": "#x"},
        {"reference": "#"},
        {"reference": "Patient/1"},
        {"display": "x"},
        {"reference": "urn:uuid:1"},
    ],
    "Extension": [
        {"url": "u"},
        {"url": "u", "valueString": "x"},
        {"url": "u", "extension": [{"url": "a"}]},
        {"url": "u", "valueBoolean": False, "extension": [{"url": "a", "valueString": "b"}]},
    ],
    "Period": [
        {},
        {"start": "2020"},
        {"end": "2020"},
        {"start": "2020-01-02", "end": "2020-01-01"},
        {"start": "2020-01-01", "end": "2020-01-02"},
        {"start": "2020-01", "end": "2020-01-15"},
        {"start": "2020-01-15", "end": "2020-01"},
        {"start": "2020", "end": "2020-01"},
        {"start": "2021", "end": "2020-12-31"},
        {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01"},
        {"start": "2020-01-01", "end": "2020-01-01T10:00:00Z"},
    ],
    "Range": [
        {},
        {"low": {"value": 2}},
        {"low": {"value": 3}, "high": {"value": 2}},
        {"low": {"value": 1}, "high": {"value": 2}},
        {"low": {"unit": "a"}, "high": {"value": 2}},
        {"low": {"value": 1, "unit": "mg"}, "high": {"value": 2, "unit": "mg"}},
        {"low": {"value": 1.5, "code": "a", "system": "s"}, "high": {"value": 1.5, "code": "a", "system": "s"}},
        {"low": {"value": 3, "unit": "mg"}, "high": {"value": 2, "unit": "mg"}},
        {"low": {"value": 1, "unit": "g"}, "high": {"value": 500, "unit": "mg"}},
        {"low": {"value": 1}, "high": {"value": 2, "unit": "a"}},
    ],
    "Duration": [
        {},
        {"value": 1, "code": "d", "system": "http://unitsofmeasure.org"},
        {"value": 1, "code": "d", "system": "http://x"},
        {"code": "d", "system": "http://unitsofmeasure.org"},
        {"value": 1, "code": "d"},
        {"code": "d"},
        {"value": 1, "unit": "day"},
    ],
    "Timing": [
        {},
        {"period": 1, "periodUnit": "d"},
        {"period": 0, "periodUnit": "d", "duration": 2.5, "durationUnit": "h"},
        {"period": -1, "periodUnit": "d"},
        {"duration": -0.5, "durationUnit": "h"},
    ],
    "EvidenceVariable": [  # characteristics: evv-1 counts a definition present as a value or only as its _name
        {"linkId": "1"},
        {"definitionCanonical": "http://x/a", "definitionCodeableConcept": {"text": "x"}},
        {"definitionCodeableConcept": {"text": "x"}, "_definitionCanonical": {"extension": [{"url": "u"}]}},
        {"definitionCodeableConcept": {"text": "x"}, "definitionId": None},
    ],
    "Organization": [
        {"resourceType": "Organization"},
        {"resourceType": "Organization", "name": "x"},
        {"resourceType": "Organization", "identifier": [{"value": "1"}]},
    ],
}


# Which JSON objects of the golden bundles are instances of the type an invariant is declared on.
SELECT: dict[str, Any] = {
    "Reference": lambda d: "reference" in d,
    "Extension": lambda d: "url" in d and len(d) > 1 and not d.get("resourceType"),
    "Period": lambda d: "start" in d or "end" in d,
    "Range": lambda d: "low" in d or "high" in d,
    "EvidenceVariable.characteristic": lambda d: "linkId" in d and "description" in d,
    "Duration": lambda d: "code" in d and "value" in d and "resourceType" not in d,
    "Timing.repeat": lambda d: "period" in d or "duration" in d,
}


def _bundles_of_every_type() -> list[dict[str, Any]]:
    base = _golden_bundles()[0]
    out = []
    for btype in (
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
        "subscription-notification",
    ):
        for variant in range(4):
            b = copy.deepcopy(base)
            b["type"] = btype
            entries = b["entry"][:3]
            if variant == 1:
                entries[0]["request"] = {"method": "PUT", "url": "x"}
            elif variant == 2:
                entries[0].pop("fullUrl")
                entries[0]["request"] = {"method": "POST", "url": "x"}
                entries[1]["search"] = {"mode": "match"}
            elif variant == 3:
                entries[1].pop("resource")
                entries[1]["response"] = {"status": "200"}
                entries[2]["fullUrl"] = "http://x/Patient/1/_history/2"
            b["entry"] = entries
            out.append(b)
    return out


def _samples(fp_path: str) -> list[dict[str, Any]]:
    root = fp_path.split(".")[0]
    bundles = _golden_bundles()
    if fp_path == "Bundle":
        return bundles + _bundles_of_every_type()
    if fp_path == "Bundle.entry":
        return [e for b in bundles + _bundles_of_every_type() for e in b["entry"]]
    nodes = list(CRAFTED.get(root, []))
    wanted = SELECT.get(fp_path, lambda d: d.get("resourceType") == root)
    nodes += [d for b in bundles for d in _dicts(b) if wanted(d)]
    return nodes


def _cases() -> list[tuple[str, str, profile.Constraint]]:
    cases = []
    types = (
        "Reference",
        "Extension",
        "Period",
        "Range",
        "Organization",
        "Bundle",
        "EvidenceVariable",
        "Duration",
        "Timing",
        "ResearchStudy",
        "Expression",
    )
    for type_name in types:
        for fp_path, c in _constraints(type_name):
            if native_check(c.key, c.expression) is not None:
                cases.append((fp_path, c.key, c))
    return cases


CASES = _cases()


def test_every_native_fast_path_is_in_use() -> None:
    """A fast path whose expression no longer matches the definitions would silently fall back: fail instead."""
    assert {key for _, key, _ in CASES} >= set(NATIVE)


@pytest.mark.parametrize(("fp_path", "key", "constraint"), CASES, ids=[f"{k}@{p}" for p, k, _ in CASES])
def test_native_agrees_with_fhirpath(fp_path: str, key: str, constraint: profile.Constraint) -> None:
    check = native_check(key, constraint.expression)
    assert check is not None
    decided = 0
    for node in _samples(fp_path):
        native = check(node)
        if native is None:
            continue
        fhirpath = profile.Walker.evaluate(
            constraint,
            node,
            fp_path,
            {"resource": profile._node(node, fp_path), "rootResource": profile._node(node, fp_path)},
            "",
        )
        assert native == fhirpath, (key, node)
        decided += 1
    assert decided > 0


def _elements_with_constraints(type_name: str) -> Iterator[profile.Element]:
    td = profile.type_def(type_name)
    assert td is not None
    seen: set[int] = set()
    for el in td.elements.values():
        if el.constraints and id(el) not in seen:
            seen.add(id(el))
            yield el


QUICK_TYPES = ("Reference", "Extension", "Period", "Range", "Bundle", "EvidenceVariable", "Timing", "Organization")


@pytest.mark.parametrize("type_name", QUICK_TYPES)
def test_quick_pass_decides_as_the_walker(type_name: str) -> None:
    """_plan.quick_pass (the fast walker's test of an element's invariants) is True only where the profile walker
    reports nothing, and it is the conjunction of each constraint's own quick test (the same shortcuts in order)."""
    passed = 0
    for el in _elements_with_constraints(type_name):
        quick = quick_pass(el.constraints)
        singles = [quick_pass((c,)) for c in el.constraints]
        for node in _samples(el.fp_path):
            walker = profile.Walker()
            root = {"resourceType": type_name} if el.fp_path == type_name else {"resourceType": "Basic"}
            walker.constraints(el, node, el.fp_path, Context(root, root))
            assert quick(node) == all(single(node) for single in singles), (el.path, node)
            if quick(node):
                assert walker.issues == [], (el.path, node)
                passed += 1
    assert passed > 0


INLINE_CASES = [case for case in CASES if case[2].native in INLINE]


def test_every_inline_test_is_in_use() -> None:
    assert {case[2].native for case in INLINE_CASES} == set(INLINE)


@pytest.mark.parametrize(("fp_path", "key", "constraint"), INLINE_CASES, ids=[f"{k}@{p}" for p, k, _ in INLINE_CASES])
def test_an_inline_test_is_true_only_where_its_native_path_is(
    fp_path: str, key: str, constraint: profile.Constraint
) -> None:
    """_native.INLINE: the compiled quick tests of _plan skip the native call where the inline test is true."""
    assert constraint.native is not None
    test, names = INLINE[constraint.native]
    code = compile(test, key, "eval")
    odd: list[dict[str, Any]] = [{k: v} for k in constraint.guard or () for v in (None, [], {}, 5, "", "#", "a")]
    inline_true = 0
    for node in _samples(fp_path) + odd + [{"contained": []}, {"fullUrl": "x/_history/1"}, {"reference": "#a"}]:
        if eval(code, dict(names), {"item": node}):  # a constant expression of _native
            assert constraint.native(node) is True, (key, node)
            inline_true += 1
    assert inline_true > 0
