"""Differential test of the two R5 structure engines of ``fhir_adapter.validate.validate`` (issue 14).

``engine="fhir.resources"`` (the fhir.resources pydantic models, plus the official required bindings and invariants
and the Bundle checks) is the reference; ``engine="fast"`` (the definitions-driven walker, plus the same later
layers) is what the bulk path runs. Inputs: the adapter's own output for every seed page and fixture, unmutated,
and the mutation corpus of tests/validate_mutations.py (at least 2,000 broken resources in nine categories).

Rules:

* Unmutated outputs (every Bundle, and standalone the first entry resource of each type of every Bundle): neither
  engine reports an error, and both report the same issues (equal ``Issue`` lists, in any order).
* Mutants, when the reference reports errors: every reference error location is MATCHED by a fast error location
  (so the fast engine reports an error too). Two locations match when, after dropping a trailing ``.root`` (the
  field name of pydantic's RootModel wrapper, which fhir.resources appends when a complex element has the wrong
  JSON type; no FHIR element here is named ``root``), they are equal, or one is the other plus ONE step: a child
  element name, optionally with an index (``.status``, ``.coding[0]``), or an index alone (``[2]``). One step covers
  the places where the engines may legitimately choose differently for the same fault: pydantic reports a missing
  required child at the child (``text.div``) where a walker may report the empty parent (``text``), and a
  choice-type conflict at the object that holds both ``value[x]`` where a walker may report the second ``value[x]``.
  A fault is never matched by a report two or more steps away, nor by one at the resource root for a deep fault.
* Mutants, when the reference reports none: the fast engine reports none (no false errors), EXCEPT where a row of
  ``REFERENCE_MISSES`` applies: there the FHIR specification says the mutant is invalid, and the test asserts the
  fast engine reports an error at a location matching the mutated one. Each row cites the specification and must
  apply to at least one mutant of its categories (so the table cannot outlive the reference's behaviour).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.issues import Issue
from fhir_adapter.validate import ENGINES, validate
from validate_mutations import (
    CATEGORIES,
    PRIMITIVE_TYPES,
    RESOURCE_TYPES,
    Mutant,
    bases,
    bundles_of,
    counts,
    input_paths,
    mutants,
    output_bundles,
)

FAST = "fast"
REFERENCE = "fhir.resources"
MIN_MUTANTS = 2000
MIN_PER_CATEGORY = 100

# The remainder of a location below its ancestor, one step: ".name", ".name[3]" or "[3]" (no nested quantifier); a
# name is anything between separators, as unknown keys may hold any character ("ti tle", "").
_STEP = re.compile(r"(?:\.[^.\[\]]*)?(?:\[[0-9]+\])?")
_ROOT_MODEL = ".root"
_URI_REGEX = re.compile(r"\S*")  # https://hl7.org/fhir/R5/datatypes.html#uri
_CODE_REGEX = re.compile(r"[^\s]+(?: [^\s]+)*")  # https://hl7.org/fhir/R5/datatypes.html#code
_JSON_NUMBER_OR_BOOLEAN = frozenset({"boolean", "integer", "positiveInt", "unsignedInt", "decimal"})


def _normal(location: str) -> str:
    return location.removesuffix(_ROOT_MODEL)


def _one_step_below(ancestor: str, location: str) -> bool:
    if not location.startswith(ancestor) or len(location) == len(ancestor):
        return False
    rest = location[len(ancestor) :]
    return rest[0] in ".[" and _STEP.fullmatch(rest) is not None


def matches(reference: str, fast: str) -> bool:
    """Whether a fast error location stands for the same fault as a reference error location (module docstring)."""
    r, f = _normal(reference), _normal(fast)
    return r == f or _one_step_below(r, f) or _one_step_below(f, r)


def _errors(issues: list[Issue]) -> list[str]:
    return [i.location for i in issues if i.is_error]


@dataclass(frozen=True)
class ReferenceMiss:
    """A kind of mutant the FHIR specification forbids and fhir.resources accepts."""

    name: str
    spec: str
    categories: tuple[str, ...]
    applies: Callable[[Mutant], bool]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _has_json_type_of(datatype: str, value: Any) -> bool:
    """Whether ``value`` has the JSON type of the FHIR primitive ``datatype`` (https://hl7.org/fhir/R5/json.html)."""
    if datatype == "boolean":
        return isinstance(value, bool)
    if datatype in _JSON_NUMBER_OR_BOOLEAN:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


REFERENCE_MISSES = (
    ReferenceMiss(
        "whitespace in a uri, url or canonical",
        "https://hl7.org/fhir/R5/datatypes.html#uri: regex \\S* (URIs contain no whitespace)",
        ("bad-primitive",),
        lambda m: (
            m.datatype in ("uri", "url", "canonical")
            and _is_str(m.value)
            and m.value != ""
            and not _URI_REGEX.fullmatch(m.value)
        ),
    ),
    ReferenceMiss(
        "whitespace other than single inner spaces in a code",
        "https://hl7.org/fhir/R5/datatypes.html#code: regex [^\\s]+( [^\\s]+)*",
        ("bad-primitive",),
        lambda m: m.datatype == "code" and _is_str(m.value) and m.value != "" and not _CODE_REGEX.fullmatch(m.value),
    ),
    ReferenceMiss(
        "an id longer than 64 characters",
        "https://hl7.org/fhir/R5/datatypes.html#id: regex [A-Za-z0-9\\-\\.]{1,64}",
        ("bad-primitive",),
        lambda m: m.datatype == "id" and _is_str(m.value) and len(m.value) > 64,
    ),
    ReferenceMiss(
        "an integer written with a fraction part (1.0)",
        "https://hl7.org/fhir/R5/datatypes.html#integer: regex [0]|[-+]?[1-9][0-9]* (positiveInt, unsignedInt "
        "likewise): 1.0 is a JSON number but not an integer's lexical form",
        ("bad-primitive",),
        lambda m: m.datatype in ("integer", "positiveInt", "unsignedInt") and isinstance(m.value, float),
    ),
    ReferenceMiss(
        "a primitive in the wrong JSON type (pydantic's lax mode coerces 'true', 1 and '1.5' to booleans and "
        "numbers, false to 0, numbers to dates)",
        "https://hl7.org/fhir/R5/json.html#primitive: boolean is a JSON boolean; integer, positiveInt, unsignedInt "
        "and decimal are JSON numbers; every other primitive (integer64 included) is a JSON string",
        ("wrong-type", "bad-primitive"),
        lambda m: m.datatype in PRIMITIVE_TYPES and not _has_json_type_of(m.datatype, m.value),
    ),
)


@cache
def _results(category: str) -> list[tuple[Mutant, list[Issue], list[Issue]]]:
    """(mutant, reference issues, fast issues) of every mutant of ``category``."""
    return [
        (m, validate(m.resource, engine=REFERENCE), validate(m.resource, engine=FAST))
        for m in mutants()
        if m.category == category
    ]


def _describe(m: Mutant, ref: list[Issue], fast: list[Issue]) -> str:
    return (
        f"[{m.category}] {m.base}: {m.change} at {m.location}\n"
        f"    reference errors: {_errors(ref)[:4]}\n    fast errors:      {[str(i) for i in fast if i.is_error][:4]}"
    )


# --- the corpus ---------------------------------------------------------------------------------------------------


def test_engines_are_the_two_named() -> None:
    assert set(ENGINES) == {FAST, REFERENCE}


def test_corpus_has_2000_mutants_in_every_category() -> None:
    corpus = mutants()
    per = counts(corpus)
    summary = ", ".join(f"{c}: {n}" for c, n in per.items())
    assert len(corpus) >= MIN_MUTANTS, f"{len(corpus)} mutants ({summary})"
    assert min(per.values()) >= MIN_PER_CATEGORY, f"a category has fewer than {MIN_PER_CATEGORY}: {summary}"


def test_corpus_mutates_every_output_resource_type() -> None:
    found = {e["resource"]["resourceType"] for _, b in output_bundles() for e in b["entry"]}
    assert found == set(RESOURCE_TYPES)
    mutated = Counter(m.base.split(" ", 1)[0] for m in mutants())
    assert set(mutated) == {*RESOURCE_TYPES, "Bundle"}, mutated


def test_corpus_is_deterministic() -> None:
    again = mutants.__wrapped__()
    assert [(m.category, m.location, m.change, m.resource) for m in again] == [
        (m.category, m.location, m.change, m.resource) for m in mutants()
    ]


def test_every_mutant_differs_from_its_base() -> None:
    by_label = dict(bases())
    same = [m for m in mutants() if m.resource == by_label[m.base]]
    assert not same, [f"{m.category} {m.location} {m.change}" for m in same[:5]]


# --- unmutated outputs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", input_paths(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_unmutated_output_is_valid_for_both_engines(path: Path) -> None:
    problems: list[str] = []
    for label, bundle in bundles_of(path):
        seen: set[str] = set()
        targets = [("Bundle", bundle)]
        for entry in bundle["entry"]:
            rtype = entry["resource"]["resourceType"]
            if rtype not in seen:
                seen.add(rtype)
                targets.append((rtype, entry["resource"]))
        for what, resource in targets:
            ref, fast = validate(resource, engine=REFERENCE), validate(resource, engine=FAST)
            if _errors(ref) or _errors(fast):
                problems.append(f"{label} {what}: reference {_errors(ref)[:3]}, fast {_errors(fast)[:3]}")
            key = lambda i: (i.location, i.severity, i.code, i.message)  # noqa: E731
            if sorted(ref, key=key) != sorted(fast, key=key):
                only_ref = sorted(set(ref) - set(fast), key=key)[:3]
                only_fast = sorted(set(fast) - set(ref), key=key)[:3]
                problems.append(f"{label} {what}: only reference {only_ref}, only fast {only_fast}")
    assert not problems, "\n".join(problems)


# --- mutants ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_fast_engine_finds_every_reference_error(category: str) -> None:
    misses: list[str] = []
    for m, ref, fast in _results(category):
        fast_errors = _errors(fast)
        unmatched = [r for r in _errors(ref) if not any(matches(r, f) for f in fast_errors)]
        if unmatched:
            misses.append(f"unmatched {unmatched[:3]}: " + _describe(m, ref, fast))
    total = len(_results(category))
    assert not misses, f"{len(misses)} of {total} {category} mutants missed:\n" + "\n".join(misses[:15])


@pytest.mark.parametrize("category", CATEGORIES)
def test_fast_engine_reports_no_error_where_the_reference_and_the_spec_find_none(category: str) -> None:
    false_errors: list[str] = []
    spec_misses: list[str] = []
    used: Counter[str] = Counter()
    for m, ref, fast in _results(category):
        if _errors(ref):
            continue
        rows = [row for row in REFERENCE_MISSES if category in row.categories and row.applies(m)]
        if rows:
            used.update(row.name for row in rows)
            if not any(matches(m.location, f) for f in _errors(fast)):
                spec_misses.append(f"({rows[0].spec}) " + _describe(m, ref, fast))
        elif _errors(fast):
            false_errors.append(_describe(m, ref, fast))
    total = len(_results(category))
    assert not false_errors, f"{len(false_errors)} of {total} {category} mutants: fast errors where the reference " + (
        "and the spec find none:\n" + "\n".join(false_errors[:15])
    )
    assert not spec_misses, f"{len(spec_misses)} of {total} {category} mutants: invalid per the spec, missed by " + (
        "both engines:\n" + "\n".join(spec_misses[:15])
    )
    stale = [row.name for row in REFERENCE_MISSES if category in row.categories and not used[row.name]]
    assert not stale, f"REFERENCE_MISSES rows that no {category} mutant needs any more (remove them): {stale}"


def test_matching_rule() -> None:
    assert matches("ResearchStudy.status", "ResearchStudy.status")
    assert matches("ResearchStudy.text.div", "ResearchStudy.text")
    assert matches("ResearchStudy.extension[0]", "ResearchStudy.extension[0].valueBoolean")
    assert matches("ResearchStudy.associatedParty[2].party.root", "ResearchStudy.associatedParty[2].party")
    assert matches("ResearchStudy.identifier", "ResearchStudy.identifier[0]")
    assert matches("ResearchStudy.site", "ResearchStudy.site[0]")
    assert not matches("ResearchStudy.text.div", "ResearchStudy")
    assert not matches("ResearchStudy.status", "ResearchStudy.statusX")
    assert not matches("ResearchStudy.a.b.c", "ResearchStudy.a")
    assert not matches("ResearchStudy.title", "ResearchStudy.status")
