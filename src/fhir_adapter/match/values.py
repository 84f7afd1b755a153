"""Values ``match`` reads off a patient or a criterion: age in completed units at a date, the sex a criterion asks
for, which vocabulary concept a criterion's event or result is, and which results are each other's opposite.

The concept keys come from the computable layer's vocabulary (``fhir_adapter.computable.vocabulary``, the table
``mappings/eligibility-concepts.json``): a patient's coded result is the opposite of a criterion's only when both
codes are in that table as the two sides of one test (negative / positive, present / absent). A code outside the
table stays unknown.
"""

from __future__ import annotations

from datetime import date

from fhir_adapter.model import Code, Concept

# Pairs of results that exclude each other (keys of the concept table).
OPPOSITES = {"negative": "positive", "positive": "negative", "present": "absent", "absent": "present"}
SEXES = frozenset({"female", "male"})
_ADMINISTRATIVE_GENDER = "http://hl7.org/fhir/administrative-gender"


def _vocabulary_key(concept: Concept) -> str | None:
    """The concept-table key of a concept (None when the table does not have it)."""
    from fhir_adapter.computable import vocabulary

    return vocabulary.concept_key(concept)


def concept_keys(concept: Concept | None) -> set[str]:
    """The concept-table keys a concept is known by: its own, and its codes' one by one."""
    if concept is None or not (concept.codes or concept.text):
        return set()
    keys = {_vocabulary_key(concept)}
    keys.update(_vocabulary_key(Concept(codes=[c])) for c in concept.codes)
    return {k for k in keys if k}


def opposite(value: Concept, fact_codes: frozenset[tuple[str, str]]) -> bool:
    """Whether a patient's coded result is the opposite of the result a criterion asks for."""
    wanted = {OPPOSITES[k] for k in concept_keys(value) if k in OPPOSITES}
    if not wanted:
        return False
    found = concept_keys(Concept(codes=[Code(system, code) for system, code in sorted(fact_codes)]))
    return bool(wanted & found)


def sex_of(value: Concept | None) -> str | None:
    """``"female"`` or ``"male"``: the sex a criterion's value names (concept table key, administrative-gender
    code, or the value's text as the extractor wrote it)."""
    if value is None:
        return None
    keys = concept_keys(value) & SEXES
    if len(keys) == 1:
        return keys.pop()
    codes = {c.code.lower() for c in value.codes if c.system in ("administrative-gender", _ADMINISTRATIVE_GENDER)}
    text = {value.text.strip().lower()} if value.text else set()
    named = (codes | text) & SEXES
    return named.pop() if len(named) == 1 else None


def _completed(born: date, on: date, unit: str) -> float | None:
    """Age in completed ``unit`` (UCUM a, mo, wk, d) of someone born on ``born``, at ``on``."""
    if born > on:
        return None
    months = (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
    if unit == "a":
        return float(months // 12)
    if unit == "mo":
        return float(months)
    if unit in ("wk", "d"):
        days = (on - born).days
        return float(days // 7 if unit == "wk" else days)
    return None


def _birth_range(birth: str) -> tuple[date, date] | None:
    """The first and last day a (possibly partial) FHIR date may stand for: ``1970`` -> 1970-01-01 .. 1970-12-31."""
    try:
        if len(birth) == 4:
            return date(int(birth), 1, 1), date(int(birth), 12, 31)
        if len(birth) == 7:
            year, month = int(birth[:4]), int(birth[5:7])
            last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
            return date(year, month, 1), date(year, month, last)
        day = date.fromisoformat(birth[:10])
    except ValueError:
        return None
    return day, day


def age_bounds(birth: str | None, on: date, unit: str) -> tuple[float, float] | None:
    """(youngest, oldest) age at ``on`` in completed ``unit`` for a birth date as recorded; None when there is none
    or it lies after ``on``."""
    if not birth:
        return None
    days = _birth_range(birth)
    if days is None:
        return None
    youngest, oldest = _completed(days[1], on, unit), _completed(days[0], on, unit)
    if youngest is None or oldest is None:
        return None
    return youngest, oldest
