"""The generated walkers of the fast engine (validate/_walkers.py) against the generic walk (``_Walker.node``).

Each shape's generated walker must report exactly what the generic walk reports: the same issues, at the same
locations, in the same order, with the same later-layer results (``validate``), and the same layer 1 issues alone
(``check_fast``, where the profile checks are off). Inputs: the adapter's output bundles, the mutation corpus of
tests/validate_mutations.py, and those bundles with faults only the later layers report (bench/bench_validate.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from fhir_adapter.issues import Issue
from fhir_adapter.release import FhirRelease
from fhir_adapter.validate import _walkers, fast, validate
from fhir_adapter.validate._common import at
from fhir_adapter.validate.profile import Walker
from validate_mutations import mutants, output_bundles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_validate import later_mutants


@cache
def _inputs() -> tuple[dict[str, Any], ...]:
    bundles = [bundle for _, bundle in output_bundles()]
    return tuple(bundles + [m.resource for m in mutants()] + later_mutants(bundles))


def _fresh_shapes() -> None:
    """New shapes (without walkers, with empty sets of passed values) for the next walk."""
    fast.shape_of.cache_clear()
    fast._element_shape.cache_clear()


def _issues(generate: bool) -> Iterator[tuple[list[Issue], list[Issue]]]:
    _walkers.GENERATE = generate
    _fresh_shapes()
    try:
        for resource in _inputs():
            copy = orjson.loads(orjson.dumps(resource))
            yield validate(copy, FhirRelease.R5), fast.check_fast(copy)
    finally:
        _walkers.GENERATE = True
        _fresh_shapes()


def test_generated_walkers_report_what_the_generic_walk_reports() -> None:
    generic = list(_issues(False))
    generated = list(_issues(True))
    assert len(generated) == len(generic) > 2000
    assert sum(len(a) + len(b) for a, b in generic) > 4000  # the mutants' faults are in the comparison
    for k, (got, want) in enumerate(zip(generated, generic, strict=True)):
        assert got == want, f"input {k}"


def test_a_walker_is_made_once_per_shape_and_kept() -> None:
    shape = fast.shape_of("Coding")
    assert shape is not None
    walk = _walkers.walker(shape)
    assert _walkers.walker(shape) is walk and shape.walk is walk


@pytest.mark.parametrize(
    ("coding", "locations"),
    [
        ({"system": "http://x", "code": "a b", "display": " "}, ["Coding.display"]),
        ({"system": "x y", "code": "", "userSelected": "yes"}, ["Coding.system", "Coding.code", "Coding.userSelected"]),
        ({"code": ["a"], "_code": {"id": "i"}, "version": None}, ["Coding.code", "Coding.version"]),
        (
            {"extension": [{"url": "u", "valueInteger": 2**31}, None]},
            ["Coding.extension[0].valueInteger", "Coding.extension[1]"],
        ),
    ],
)
def test_the_fallback_keeps_each_issue_in_its_place(coding: dict[str, Any], locations: list[str]) -> None:
    walker = fast._Walker()
    shape = fast.shape_of("Coding")
    assert shape is not None
    _walkers.walker(shape)(walker, coding, "Coding")
    assert [i.location for i in walker.issues] == locations


def _root_issues(generate: bool) -> list[str]:
    _walkers.GENERATE = generate
    _fresh_shapes()
    study = {
        "resourceType": "ResearchStudy",
        "status": "active",
        "_title": {"extension": [{}, None]},  # a _name part, its array and items: lazy locations of every kind
        "identifier": [{"value": ""}, {"system": "x y"}],
        "note": {"text": "n"},
        "period": {"start": ""},
    }
    try:
        return [i.location for i in fast.check_fast(study, "")]
    finally:
        _walkers.GENERATE = True
        _fresh_shapes()


def test_an_empty_root_location_gives_the_generic_walks_locations() -> None:
    # the walkers format a child of "" as ".key" (f"{location}.{key}") but a _name part as "_key" (child())
    generic = _root_issues(False)
    assert "_title.extension[0]" in generic and ".identifier[0].value" in generic
    assert _root_issues(True) == generic


_REFERENCES: list[Any] = [
    {"reference": "Group/g"},
    {"reference": "#c1"},
    {"reference": "#zz"},
    {"reference": "#"},
    {"reference": " "},
    {"reference": ""},
    {"reference": 5},
    {"reference": None},
    {"reference": "urn:uuid:nope"},
    {"reference": "Group/g", "display": "x"},
    {"display": "x"},
    {},
]
_EXTENSIONS: list[Any] = [
    {"url": "u", "valueString": "x"},
    {"url": "u", "valueBoolean": False},
    {"url": "u", "valueString": ""},
    {"url": "u", "valueString": None},
    {"url": "u", "valueCodeableConcept": {}},
    {"url": "u", "valueReference": {"reference": "#c1"}},
    {"url": "u", "valueReference": {"reference": "#zz"}},
    {"url": "u", "extension": [{"url": "a", "id": "x"}]},
    {"valueString": "x", "url": "u"},
    {"url": "u", "extension": []},
    {"url": "u", "extension": [{"url": "a", "valueBoolean": True}]},
    {"url": "u", "_valueString": {"id": "x"}},
    {"url": "u", "id": "x"},
    {"url": "u", "valueFoo": 1},
    {"url": "u", "value": 1},
    {"url": "u", "extension": [{"url": "a", "valueBoolean": True}], "valueString": "x"},
]


def _study(reference: Any, extension: Any) -> dict[str, Any]:
    """A Bundle of a Group and a ResearchStudy with ``reference`` in a repeating and a max-1 Reference element (and
    as a primitive's ``_name`` part: mostly not one) and ``extension`` in an extension array, also in a ``_name`` part
    (where the profile layer is off), with contained resource c1. The comparison includes the profile layer's issues
    of the one walk even where validate drops them (any layer 1 issue): an empty value is one, so only they tell
    whether the inline ext-1 test is exact for it."""
    study = {
        "resourceType": "ResearchStudy",
        "id": "s",
        "contained": [{"resourceType": "Group", "id": "c1", "type": "person", "membership": "definitional"}],
        "status": "active",
        "extension": [extension],
        "title": "t",
        "_title": {"extension": [extension, None, 5]} if reference == {} else {"extension": [extension]},
        "_description": reference,
        "partOf": [reference],
        "associatedParty": [{"role": {"text": "sponsor"}, "party": reference}],
    }
    group = {"resourceType": "Group", "id": "g", "type": "person", "membership": "definitional"}
    entries = [{"fullUrl": "Group/g", "resource": group}, {"fullUrl": "ResearchStudy/s", "resource": study}]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _inline_cases(generate: bool) -> list[tuple[Any, ...]]:
    _walkers.GENERATE = generate
    _fresh_shapes()
    results: list[tuple[Any, ...]] = []
    try:
        for reference in _REFERENCES:
            for extension in _EXTENSIONS:
                bundle = _study(reference, extension)
                walker = fast._Walker(Walker(), bundle=True)  # the one walk's state, used or not by validate
                walker.resource(bundle, "Bundle")
                assert walker.profile is not None
                assert walker.entry_refs is not None
                refs = {k: [[(r, at(loc)) for r, loc in found] for found in v] for k, v in walker.entry_refs.items()}
                state = (walker.issues, walker.profile.issues, refs, walker.unsure)
                results.append((reference, extension, validate(bundle, FhirRelease.R5), fast.check_fast(bundle), state))
    finally:
        _walkers.GENERATE = True
        _fresh_shapes()
    return results


def test_the_inline_reference_and_extension_paths_report_what_the_generic_walk_reports() -> None:
    generic = _inline_cases(False)
    generated = _inline_cases(True)
    assert len(generic) == len(_REFERENCES) * len(_EXTENSIONS)
    for got, want in zip(generated, generic, strict=True):
        assert got == want
