"""The eligibility vocabulary: ``mappings/eligibility-concepts.json`` (concept key -> kind, codes with their
sources, surface forms, default unit) and ``mappings/ucum-units.json`` (units as written -> UCUM), read once.

Keys are shared with the labelled development set (tests/data/eligibility/devset.json) and the flat form of
``fhir_adapter.computable.flat_atoms``. Codes follow the computable contract (docs/computable.md): LOINC for
measurements, SNOMED CT for conditions, findings, procedures and results, RxNorm/ATC for drugs; a concept whose
code no source confirms is text-only (``Concept(text=...)``). FHIR: https://hl7.org/fhir/R5/evidencevariable.html
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_adapter.model import Code, Concept
from fhir_adapter.terminology import mappings_dir

__all__ = [
    "ConceptEntry",
    "concept_for",
    "concept_key",
    "entries",
    "kind_of",
    "ucum_unit",
    "unit_forms",
]


@dataclass(frozen=True, slots=True)
class ConceptEntry:
    """One row of the concept table."""

    key: str
    kind: str
    text: str
    codes: tuple[Code, ...]
    forms: tuple[str, ...]  # lower case
    forms_case_sensitive: tuple[str, ...]
    unit: str | None  # default UCUM unit
    result_key: str | None  # the coded-result concept used when a result word binds to this condition
    takes_object: bool  # "hypersensitivity to <the study drug>": the words after it belong to it


def _read(name: str) -> Any:
    import json

    with (mappings_dir() / name).open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def entries() -> dict[str, ConceptEntry]:
    """Every concept of the table by key, in table order."""
    rows: dict[str, dict[str, Any]] = _read("eligibility-concepts.json")["concepts"]
    return {
        key: ConceptEntry(
            key=key,
            kind=row["kind"],
            text=row["text"],
            codes=tuple(Code(c["system"], c["code"], c.get("display")) for c in row.get("codes", [])),
            forms=tuple(f.lower() for f in row.get("forms", [])),
            forms_case_sensitive=tuple(row.get("forms_case_sensitive", [])),
            unit=row.get("unit"),
            result_key=row.get("result_key"),
            takes_object=bool(row.get("object", False)),
        )
        for key, row in rows.items()
    }


@cache
def _by_code() -> dict[tuple[str, str], str]:
    return {(c.system, c.code): e.key for e in entries().values() for c in e.codes}


@cache
def _by_text() -> dict[str, str]:
    found: dict[str, str] = {}
    for e in entries().values():
        for form in (e.text.lower(), e.key, *e.forms, *(f.lower() for f in e.forms_case_sensitive)):
            found.setdefault(form, e.key)
    return found


def concept_for(key: str) -> Concept:
    """The concept of a table key: its confirmed codes and its name (``KeyError`` for an unknown key)."""
    e = entries()[key]
    return Concept(codes=list(e.codes), text=e.text)


def concept_key(concept: Concept | None) -> str | None:
    """The table key of a concept: by its codes first, else (text-only concepts) by its text or a surface form."""
    if concept is None:
        return None
    for code in concept.codes:
        key = _by_code().get((code.system, code.code))
        if key is not None:
            return key
    if concept.text:
        return _by_text().get(concept.text.strip().lower())
    return None


def kind_of(concept: Concept | None) -> str | None:
    """The vocabulary kind (``"lab"``, ``"condition"``, ``"therapy"`` ...) of a concept, None when not in the table."""
    key = concept_key(concept)
    return None if key is None else entries()[key].kind


def _unit_key(written: str) -> str:
    """A unit as written, reduced to compare: NFKC (superscripts to digits, micro sign to mu), no spaces, lower
    case, '×' and '*' as 'x', '^' dropped, 'μ' as 'u'."""
    text = unicodedata.normalize("NFKC", written).lower().replace("μ", "u").replace("×", "x")
    return "".join(ch for ch in text if not ch.isspace() and ch != "^").replace("*", "x")


@cache
def _units() -> dict[str, str]:
    rows: dict[str, list[str]] = _read("ucum-units.json")["units"]
    return {_unit_key(w): ucum for ucum, written in rows.items() for w in written}


def ucum_unit(written: str) -> str | None:
    """The UCUM code of a unit as written ("x 10^9/L", "109/L" after a times sign, "10⁹/L" -> ``10*9/L``)."""
    return _units().get(_unit_key(written))


@cache
def unit_forms() -> tuple[str, ...]:
    """Every unit as written in ``ucum-units.json``, longest first (for the extractor's alternation)."""
    rows: dict[str, list[str]] = _read("ucum-units.json")["units"]
    return tuple(sorted({w for written in rows.values() for w in written}, key=len, reverse=True))
