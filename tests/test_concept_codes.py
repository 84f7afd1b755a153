"""The codes of the eligibility concept table (mappings/eligibility-concepts.json) are well formed and sourced.

The computable contract (docs/computable.md, section 1) allows no code without a source: every coding of a concept
names the public page or repository file (``owner/repo:path``) that confirms it. Beyond that, each code is checked
for the shape its code system gives it, so that a mistyped digit cannot slip in:

* LOINC: ``<digits>-<check digit>``, the check digit by LOINC's mod 10 algorithm (the Luhn scheme: digits at odd
  positions from the right are doubled, digit sums added, the check digit brings the total to a multiple of 10);
* SNOMED CT: an SCTID of 6 to 18 digits whose last digit is the Verhoeff check digit and whose partition
  identifier (the two digits before it) is that of a concept (``00``, or ``10`` for an extension concept);
* ATC: one of the five levels of the WHO ATC index (``L``, ``L01``, ``L01E``, ``L01EK``, ``L01EK01``);
* one (system, code) belongs to one key: a code under two keys would give two meanings to one coding.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"
LOINC_SHAPE = re.compile(r"(\d{1,7})-(\d)")
SNOMED_SHAPE = re.compile(r"[1-9]\d{5,17}")
# One pattern per ATC level (https://www.whocc.no/atc/structure_and_principles/), keyed by the code's length.
ATC_LEVELS = {
    1: re.compile(r"[A-Z]"),
    3: re.compile(r"[A-Z]\d\d"),
    4: re.compile(r"[A-Z]\d\d[A-Z]"),
    5: re.compile(r"[A-Z]\d\d[A-Z][A-Z]"),
    7: re.compile(r"[A-Z]\d\d[A-Z][A-Z]\d\d"),
}
URL_SOURCE = re.compile(r"https?://\S+")
REPO_SOURCE = re.compile(r"[\w.-]+/[\w.-]+:\S+")

# Verhoeff's dihedral group D5 multiplication table and position permutation.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def loinc_check_digit(base: str) -> int:
    """LOINC's mod 10 check digit of the digits before the hyphen."""
    total = 0
    for position, char in enumerate(reversed(base)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return (10 - total % 10) % 10


def verhoeff_valid(number: str) -> bool:
    """Whether the last digit of ``number`` is its Verhoeff check digit."""
    check = 0
    for position, char in enumerate(reversed(number)):
        check = _D[check][_P[position % 8][int(char)]]
    return check == 0


def _codings() -> list[tuple[str, dict[str, Any]]]:
    table = json.loads((MAPPINGS / "eligibility-concepts.json").read_text(encoding="utf-8"))
    return [(key, coding) for key, row in table["concepts"].items() for coding in row.get("codes", [])]


CODINGS = _codings()


def _ids(system: str) -> list[str]:
    return [f"{key}:{c['code']}" for key, c in CODINGS if c["system"] == system]


def test_the_algorithms_agree_with_published_examples() -> None:
    # Codes whose check digits public sources confirm: LOINC 2160-0 and 718-7 (the table's creatinine and
    # hemoglobin), SNOMED CT 138875005 (the root concept) and 404684003 (Clinical finding).
    assert loinc_check_digit("2160") == 0
    assert loinc_check_digit("718") == 7
    assert verhoeff_valid("138875005")
    assert verhoeff_valid("404684003")
    assert not verhoeff_valid("138875004")


def test_every_coding_names_its_source_and_display() -> None:
    missing = [
        (key, c["code"])
        for key, c in CODINGS
        if not (URL_SOURCE.match(c.get("source", "")) or REPO_SOURCE.match(c.get("source", ""))) or not c.get("display")
    ]
    assert missing == []


def test_every_system_is_a_short_name_of_systems_json() -> None:
    systems = json.loads((MAPPINGS / "systems.json").read_text(encoding="utf-8"))
    assert sorted({c["system"] for _, c in CODINGS} - set(systems)) == []


@pytest.mark.parametrize("coding", [c for _, c in CODINGS if c["system"] == "loinc"], ids=_ids("loinc"))
def test_loinc_check_digit(coding: dict[str, Any]) -> None:
    shape = LOINC_SHAPE.fullmatch(coding["code"])
    assert shape is not None
    assert loinc_check_digit(shape.group(1)) == int(shape.group(2))


@pytest.mark.parametrize("coding", [c for _, c in CODINGS if c["system"] == "snomed"], ids=_ids("snomed"))
def test_snomed_verhoeff_and_concept_partition(coding: dict[str, Any]) -> None:
    code = coding["code"]
    assert SNOMED_SHAPE.fullmatch(code)
    assert verhoeff_valid(code)
    assert code[-3:-1] in ("00", "10")


@pytest.mark.parametrize("coding", [c for _, c in CODINGS if c["system"] == "atc"], ids=_ids("atc"))
def test_atc_shape(coding: dict[str, Any]) -> None:
    level = ATC_LEVELS.get(len(coding["code"]))
    assert level is not None
    assert level.fullmatch(coding["code"])


def test_no_code_under_two_keys() -> None:
    keys: dict[tuple[str, str], set[str]] = {}
    for key, c in CODINGS:
        keys.setdefault((c["system"], c["code"]), set()).add(key)
    assert {code: sorted(k) for code, k in keys.items() if len(k) > 1} == {}


def test_no_coding_repeated_within_a_key() -> None:
    seen = [(key, c["system"], c["code"]) for key, c in CODINGS]
    assert len(seen) == len(set(seen))
