"""One atom of a criterion (``fhir_adapter.model.Atom``) against a patient's facts: true, false or unknown (None),
with the evidence and the reason (the computable contract, docs/computable.md, section 3).

How each kind of atom is decided (``Atom.kind``, the vocabulary kinds of ``fhir_adapter.computable``):

- ``age``: the Patient's ``birthDate`` at the evaluation date (a partial birth date decides only when every day
  it may stand for gives the same answer); ``sex``: the Patient's ``gender``.
- ``performance-status``, ``lab``, ``vital``: the latest Observation with one of the atom's codes, in the window
  (or, without a window, no older than ``FRESHNESS_DAYS``: stale data is unknown), its value converted to the
  atom's UCUM unit (``units``); ``{ULN}`` / ``{LLN}`` divide the value by the Observation's
  ``referenceRange.high`` / ``.low`` (no reference range: unknown). A censored value (``<0.5``) is unknown.
- ``result``, ``genomic``: the latest such Observation's coded value: the atom's value -> true; the opposite
  result (negative vs positive, present vs absent) -> false; anything else unknown.
- ``condition``, ``pregnancy``, ``therapy`` (and any other coded presence): a Condition, Procedure or medication
  record with one of the atom's codes, in the window -> true; a record that denies it (refuted, not taken) or
  records only outside the window -> false; no record -> unknown (an absent record is not an absent condition).
  Without a window a condition counts while active; a resolved one is unknown (history of X, or X now?).
- ``life-expectancy``, ``measurable-disease`` -> unknown, needs a person (counted as text-only for the verdict);
  a concept without a code -> unknown (counted as computable: the verdict stays unknown).

Codes match exactly by (system, code), except ATC: an atom's ATC class (``L01E``) matches every drug coded under
it (``L01EX11``). Never by text. SNOMED CT subsumption needs a terminology server and is not done: a more specific
code than the atom's is not seen (unknown, never a wrong met).

Windows: the events a criterion names (first dose, randomization, enrollment, screening, consent) lie in the
future of a pre-screening, so the window is taken relative to the evaluation date (``--on``); a window relative
to another event (diagnosis) is unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from fhir_adapter.match import units
from fhir_adapter.match.patient import CONDITION, MEDICATION, OBSERVATION, PROCEDURE, Fact, PatientFacts
from fhir_adapter.match.values import age_bounds, concept_keys, opposite, sex_of
from fhir_adapter.model import Atom, Concept, Quantity, TimeWindow

# Without a window, a measurement older than this many days is stale: unknown rather than decided on old data.
FRESHNESS_DAYS = 90
MEASURED_KINDS = frozenset({"performance-status", "lab", "vital"})
CODED_RESULT_KINDS = frozenset({"result", "genomic"})
PRESENCE_CATEGORIES = (CONDITION, PROCEDURE, MEDICATION)
# Kinds that have no standard code by design (the computable contract, docs/computable.md: "an atom without a
# standard code (life expectancy, RECIST measurable disease ...)"): patient data cannot decide them.
PERSON_KINDS = frozenset({"life-expectancy", "measurable-disease"})
# Events of a window that a pre-screening takes as the evaluation date (vocabulary keys of the event concept).
ANCHOR_EVENTS = frozenset({"first-dose", "randomization", "enrollment", "screening", "consent"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a decision rests on: the resource, the value as compared, and its date."""

    reference: str
    value: str | None = None
    date: str | None = None


@dataclass(slots=True)
class Outcome:
    """An atom's (or a group's) truth: True, False or None (unknown), with evidence and the reason."""

    truth: bool | None
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    person: bool = False  # unknown because no data can decide it (no standard code, another event): for a person


@dataclass(frozen=True, slots=True)
class Span:
    """The days a window covers (inclusive); None when the window cannot be placed."""

    first: date
    last: date


def evaluate_atom(atom: Atom, patient: PatientFacts, on: date) -> Outcome:
    """The atom's own truth for the patient at ``on`` (``Atom.exclude`` is applied by the caller)."""
    span = window_span(atom.windows, on) if atom.windows else None
    if atom.windows and span is None:
        return Outcome(None, f"window relative to {_event_name(atom.windows)}: needs a person", person=True)
    if atom.kind == "age":
        return _age(atom, patient, on)
    if atom.kind == "sex":
        return _sex(atom, patient)
    if atom.kind in PERSON_KINDS:
        return Outcome(None, f"{_name(atom.concept)}: needs a person", person=True)
    if not atom.concept.codes:
        return Outcome(None, f"{_name(atom.concept)} has no code to look for in the patient's data")
    if atom.kind in MEASURED_KINDS or (atom.kind not in CODED_RESULT_KINDS and _has_threshold(atom)):
        return _measured(atom, patient, on, span)
    if atom.kind in CODED_RESULT_KINDS or atom.value is not None:
        return _coded_result(atom, patient, on, span)
    return _presence(atom, patient, on, span)


def _has_threshold(atom: Atom) -> bool:
    return atom.quantity is not None or atom.low is not None or atom.high is not None


def _name(concept: Concept) -> str:
    if concept.text:
        return concept.text
    return ", ".join(f"{c.system} {c.code}" for c in concept.codes) or "the concept"


def _event_name(windows: list[TimeWindow]) -> str:
    return next((w.event.text or "an event" for w in windows if w.event.text or w.event.codes), "an event")


def window_span(windows: list[TimeWindow], on: date) -> Span | None:
    """The days every window allows, relative to ``on`` (events in the future of a pre-screening); None when a
    window names another event or an unknown unit. The future part of a window is cut at ``on``: no record can
    be dated after the evaluation."""
    first, last = date.min, on
    for w in windows:
        keys = concept_keys(w.event)
        if (w.event.codes or w.event.text) and not keys & ANCHOR_EVENTS:
            return None
        low = units.days(w.low, w.unit) if w.low is not None else None
        high = units.days(w.high, w.unit) if w.high is not None else None
        if (w.low is not None and low is None) or (w.high is not None and high is None):
            return None
        if low is not None:
            first = max(first, on + timedelta(days=round(low)))
        if high is not None:
            last = min(last, on + timedelta(days=round(high)))
    return Span(first, last)


def _age(atom: Atom, patient: PatientFacts, on: date) -> Outcome:
    unit = _unit_of(atom) or "a"
    bounds = age_bounds(patient.birth_date, on, unit)
    if bounds is None:
        return Outcome(None, "no usable Patient.birthDate")
    evidence = [Evidence(patient.reference, f"birthDate {patient.birth_date}", on.isoformat())]
    truths = {_compare(atom, b) for b in bounds}
    if len(truths) != 1:
        return Outcome(None, "the birth date is too imprecise to decide", evidence)
    truth = truths.pop()
    return Outcome(
        truth,
        f"age {_number(bounds[0])}{'' if bounds[0] == bounds[1] else '-' + _number(bounds[1])} {unit} at {on}",
        evidence,
    )


def _sex(atom: Atom, patient: PatientFacts) -> Outcome:
    wanted = sex_of(atom.value)
    if wanted is None:
        return Outcome(None, "the criterion's sex is not coded")
    if patient.gender not in ("female", "male"):
        return Outcome(None, f"Patient.gender is {patient.gender or 'missing'}")
    evidence = [Evidence(patient.reference, f"gender {patient.gender}")]
    return Outcome(patient.gender == wanted, f"gender {patient.gender}", evidence)


def _unit_of(atom: Atom) -> str | None:
    for q in (atom.quantity, atom.low, atom.high):
        if q is not None and q.unit:
            return q.unit
    return None


def _compare(atom: Atom, value: float) -> bool:
    """Whether ``value`` (in the atom's unit) satisfies the threshold or the inclusive range."""
    q = atom.quantity
    if q is not None:
        return _holds(value, q)
    low_ok = atom.low is None or value >= atom.low.value
    return low_ok and (atom.high is None or value <= atom.high.value)


def _holds(value: float, q: Quantity) -> bool:
    comparator = q.comparator
    if comparator == "<":
        return value < q.value
    if comparator == "<=":
        return value <= q.value
    if comparator == ">":
        return value > q.value
    if comparator == ">=":
        return value >= q.value
    return value == q.value


def _compare_censored(atom: Atom, value: float, comparator: str | None) -> bool | None:
    """``_compare`` for a value that may be censored ("<0.5": somewhere below 0.5): decided only when every value
    it may stand for gives the same answer (the bound itself included, to stay on the safe side)."""
    if comparator is None:
        return _compare(atom, value)
    other = -math.inf if comparator in ("<", "<=") else math.inf
    lowest, highest = min(value, other), max(value, other)
    if atom.quantity is not None:
        ends = {_compare(atom, lowest), _compare(atom, highest)}
        return ends.pop() if len(ends) == 1 else None
    low = atom.low.value if atom.low is not None else -math.inf
    high = atom.high.value if atom.high is not None else math.inf
    if low <= lowest and highest <= high:
        return True
    return False if highest < low or lowest > high else None


def _number(value: float) -> str:
    return f"{value:.4g}"


def code_matches(atom_codes: set[tuple[str, str]], fact_codes: frozenset[tuple[str, str]]) -> bool:
    """Whether a fact carries one of the atom's codes: exact (system, code), or under an ATC class."""
    if atom_codes & fact_codes:
        return True
    classes = [code for system, code in atom_codes if system == "atc"]
    return any(system == "atc" and code.startswith(c) for c in classes for system, code in fact_codes)


def _matching(atom: Atom, patient: PatientFacts, categories: tuple[str, ...]) -> list[Fact]:
    wanted = {(c.system, c.code) for c in atom.concept.codes}
    return [f for f in patient.facts if f.category in categories and code_matches(wanted, f.codes)]


def _in_span(fact: Fact, span: Span) -> bool | None:
    """Whether the fact held on some day of the span: True, False, or None when its dates cannot tell."""
    if fact.start is None:
        return None
    end = span.last if fact.ongoing else fact.end
    if fact.start > span.last:
        return False
    if end is None:  # began before the span ends, end not recorded
        return True if fact.start >= span.first else None
    return end >= span.first


def _latest(facts: list[Fact], on: date, span: Span | None) -> tuple[Fact | None, str]:
    """The latest dated measurement usable at ``on``: in the window, or no older than FRESHNESS_DAYS."""
    dated = sorted((f for f in facts if f.start is not None and f.start <= on), key=lambda f: f.start or date.min)
    if not dated:
        return None, "no dated result" if facts else "no result"
    first = span.first if span is not None else on - timedelta(days=FRESHNESS_DAYS)
    fresh = [f for f in dated if f.start is not None and f.start >= first]
    if not fresh:
        limit = "in the window" if span is not None else f"in the last {FRESHNESS_DAYS} days"
        return None, f"latest result {dated[-1].reference} of {dated[-1].start} is not {limit}: stale"
    return fresh[-1], ""


def _measured(atom: Atom, patient: PatientFacts, on: date, span: Span | None) -> Outcome:
    fact, why = _latest(_matching(atom, patient, (OBSERVATION,)), on, span)
    if fact is None:
        return Outcome(None, f"{_name(atom.concept)}: {why}")
    value, shown, problem = measured_value(atom, fact)
    evidence = [Evidence(fact.reference, shown, fact.start.isoformat() if fact.start else None)]
    if value is None:
        return Outcome(None, f"{_name(atom.concept)}: {problem}", evidence)
    truth = _compare_censored(atom, value, fact.quantity.comparator if fact.quantity else None)
    if truth is None:
        return Outcome(None, f"{_name(atom.concept)}: the censored value {shown} cannot decide", evidence)
    return Outcome(
        truth, f"{_name(atom.concept)} {shown} {'meets' if truth else 'does not meet'} the threshold", evidence
    )


def measured_value(atom: Atom, fact: Fact) -> tuple[float | None, str | None, str]:
    """(value in the atom's unit, the value as recorded, why there is none)."""
    q = fact.quantity
    if q is None:
        return None, None, "the result has no numeric value"
    shown = f"{q.comparator or ''}{_number(q.value)} {q.unit or q.unit_text or ''}".strip()
    unit = _unit_of(atom)
    if unit in units.LIMIT_UNITS:
        return _limit_multiple(unit, q, fact, shown)
    if unit is None:
        ok = units.is_dimensionless(q.unit) and (q.unit is not None or q.unit_text is None)
        return (q.value, shown, "") if ok else (None, shown, f"unit {q.unit_text or q.unit} where a score is expected")
    if q.unit is None and q.unit_text is None and atom.kind == "performance-status" and unit == "%":
        return q.value, shown, ""  # Karnofsky / Lansky: the score is the percentage, recorded as a plain number
    if q.unit is None:
        return None, shown, f"unit {q.unit_text or '(none)'} is not a UCUM code"
    converted = units.convert(q.value, q.unit, unit)
    if converted is None:
        return None, shown, f"{q.unit} cannot be converted to {unit}"
    return converted, shown, ""


def _limit_multiple(unit: str, q: object, fact: Fact, shown: str) -> tuple[float | None, str | None, str]:
    """The value as a multiple of the Observation's upper (``{ULN}``) or lower (``{LLN}``) reference limit."""
    from fhir_adapter.match.patient import Quantity as Measured

    assert isinstance(q, Measured)
    limit = fact.high if unit == "{ULN}" else fact.low
    name = "referenceRange.high" if unit == "{ULN}" else "referenceRange.low"
    if limit is None or limit.value <= 0:
        return None, shown, f"no {name} to compare with {unit}"
    same = limit.value if limit.unit == q.unit else None
    if same is None and limit.unit and q.unit:
        same = units.convert(limit.value, limit.unit, q.unit)
    if same is None or same <= 0:
        return None, shown, f"{name} is not in the unit of the value"
    return q.value / same, f"{shown} = {_number(q.value / same)} x {unit[1:-1]}", ""


def _coded_result(atom: Atom, patient: PatientFacts, on: date, span: Span | None) -> Outcome:
    fact, why = _latest(_matching(atom, patient, (OBSERVATION,)), on, span)
    if fact is None:
        return Outcome(None, f"{_name(atom.concept)}: {why}")
    shown = ", ".join(f"{s} {c}" for s, c in sorted(fact.value_codes)) or fact.value_text
    evidence = [Evidence(fact.reference, shown, fact.start.isoformat() if fact.start else None)]
    if atom.value is None:
        return Outcome(None, f"{_name(atom.concept)}: the criterion names no result", evidence)
    wanted = {(c.system, c.code) for c in atom.value.codes}
    if wanted & fact.value_codes:
        return Outcome(True, f"{_name(atom.concept)} is {_name(atom.value)}", evidence)
    if opposite(atom.value, fact.value_codes):
        return Outcome(False, f"{_name(atom.concept)} is {shown}, not {_name(atom.value)}", evidence)
    return Outcome(None, f"{_name(atom.concept)}: result {shown or 'not coded'} cannot be compared", evidence)


def _presence(atom: Atom, patient: PatientFacts, on: date, span: Span | None) -> Outcome:
    facts = _matching(atom, patient, PRESENCE_CATEGORIES)
    if not facts:
        return Outcome(None, f"{_name(atom.concept)}: no record")
    window = span or Span(date.min, on)
    evidence = [Evidence(f.reference, _presence_value(f), f.start.isoformat() if f.start else None) for f in facts]
    affirmed = [f for f in facts if not f.negated]
    placed = [(f, _placed(f, window, span is None)) for f in affirmed]
    if any(inside for _, inside in placed):
        return Outcome(True, f"{_name(atom.concept)} recorded{' in the window' if span else ''}", evidence)
    if any(inside is None for _, inside in placed):
        return Outcome(None, f"{_name(atom.concept)}: the record's dates cannot place it in the window", evidence)
    if affirmed:
        return Outcome(False, f"{_name(atom.concept)} recorded only outside the window", evidence)
    return Outcome(False, f"{_name(atom.concept)}: recorded as absent (refuted or not taken)", evidence)


def _placed(fact: Fact, window: Span, unwindowed: bool) -> bool | None:
    """Whether a record counts as present in the window. Without a window, a condition counts only while active:
    a resolved one may or may not be what the criterion means (history of X, or X now)."""
    if unwindowed and fact.category == CONDITION and not fact.ongoing:
        return None
    return _in_span(fact, window)


def _presence_value(fact: Fact) -> str:
    """The record as evidence: its kind, and a condition's clinical status (medication and procedure statuses
    differ between R4 and R5, and are not shown)."""
    status = f" ({fact.status})" if fact.status and fact.category == CONDITION else ""
    return f"{'denied' if fact.negated else fact.category}{status}"
