"""A trial's criteria against a patient: per criterion met / not-met / unknown, per trial a verdict and a score (the
computable contract, docs/computable.md, section 3).

A criterion's status is the truth of what its text says, whatever its polarity: an exclusion "pregnant" that is
true of the patient is ``met``. Atoms and groups combine in three-valued (Kleene) logic: all-of is false when one
member is false, any-of true when one is true, unknown otherwise; ``exclude`` negates an atom, a group or a
sub-item relative to what holds it (unknown stays unknown). A text-only criterion is ``unknown``: it needs a
person, and so is an atom no patient data can decide (life expectancy, measurable disease, a window relative to
the diagnosis): such criteria count as text-only for the verdict.

The verdict: ``ineligible`` when a criterion decides it (an inclusion not met, an exclusion met);
``eligible-so-far`` when every computable criterion passes (text-only ones remain for a person); ``unknown``
otherwise (some computable criterion could not be decided, or none is computable). The score, in [0, 1], is the
share of the trial's criteria that pass (structured age and sex included), 0 for an ineligible trial: among
trials still open, the one with more verified criteria ranks first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from fhir_adapter.match.evaluate import Evidence, Outcome, evaluate_atom
from fhir_adapter.match.patient import PatientFacts, read_patient
from fhir_adapter.model import AgeLimit, Atom, AtomGroup, Concept, Criterion, Quantity, Trial

MET, NOT_MET, UNKNOWN = "met", "not-met", "unknown"
INELIGIBLE, ELIGIBLE_SO_FAR = "ineligible", "eligible-so-far"
_STATUS = {True: MET, False: NOT_MET, None: UNKNOWN}
# UCUM codes of the age units of AgeLimit (https://ucum.org/ucum).
_AGE_UCUM = {"years": "a", "months": "mo", "weeks": "wk", "days": "d", "hours": "h", "minutes": "min"}
TEXT_ONLY = "text only: needs a person"


@dataclass(slots=True)
class CriterionResult:
    """One criterion (or sub-item) evaluated. ``link_id`` is the characteristic's linkId in the trial's FHIR
    (``inc-3``, ``exc-2.1``, ``age``, ``sex``); ``exclude`` its polarity; ``computable`` whether it had atoms."""

    link_id: str
    text: str
    exclude: bool
    status: str
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    computable: bool = True
    children: list[CriterionResult] = field(default_factory=list)

    @property
    def decides(self) -> bool:
        """Whether this top-level criterion makes the trial ineligible."""
        return self.status == (MET if self.exclude else NOT_MET)

    @property
    def passes(self) -> bool:
        """Whether this top-level criterion is satisfied (an inclusion met, an exclusion not met)."""
        return self.status == (NOT_MET if self.exclude else MET)


@dataclass(slots=True)
class TrialMatch:
    """One trial screened for one patient."""

    nct_id: str | None
    title: str | None
    verdict: str
    score: float
    criteria: list[CriterionResult]
    evaluated_on: date
    patient: str
    trial: Trial | None = field(default=None, compare=False, repr=False)


def negate(truth: bool | None) -> bool | None:
    return None if truth is None else not truth


def combine(combination: str, truths: list[bool | None]) -> bool | None:
    """Kleene all-of / any-of."""
    if combination == "any-of":
        return True if True in truths else (False if truths and all(t is False for t in truths) else None)
    return False if False in truths else (True if all(t is True for t in truths) else None)


def evaluate_definition(node: Atom | AtomGroup, patient: PatientFacts, on: date) -> Outcome:
    """The truth of an atom or group, ``exclude`` applied."""
    if isinstance(node, Atom):
        outcome = evaluate_atom(node, patient, on)
    else:
        parts = [evaluate_definition(m, patient, on) for m in node.members]
        truth = combine(node.combine, [p.truth for p in parts])
        relevant = [p for p in parts if p.truth == truth] or parts
        person = truth is None and all(p.person for p in parts if p.truth is None)
        evidence = [e for p in relevant for e in p.evidence]
        outcome = Outcome(truth, "; ".join(p.reason for p in relevant), evidence, person)
    if node.exclude:
        return Outcome(negate(outcome.truth), f"not ({outcome.reason})", outcome.evidence, outcome.person)
    return outcome


def evaluate_criterion(criterion: Criterion, link_id: str, patient: PatientFacts, on: date) -> CriterionResult:
    """A criterion with its sub-items: its own definition, or its children combined as the text says."""
    if criterion.children:
        children = [evaluate_criterion(c, f"{link_id}.{i}", patient, on) for i, c in enumerate(criterion.children, 1)]
        truths = [_truth(c.status) if not c.exclude else negate(_truth(c.status)) for c in children]
        truth = combine(criterion.combine, truths)
        computable = truth is not None or any(c.computable for c in children if c.status == UNKNOWN)
        reason = f"{criterion.combine} of {len(children)} sub-items" if computable else TEXT_ONLY
        return CriterionResult(
            link_id, criterion.text, criterion.exclude, _STATUS[truth], reason, [], computable, children
        )
    if criterion.definition is None:
        return CriterionResult(link_id, criterion.text, criterion.exclude, UNKNOWN, TEXT_ONLY, computable=False)
    outcome = evaluate_definition(criterion.definition, patient, on)
    status = _STATUS[outcome.truth]
    return CriterionResult(
        link_id, criterion.text, criterion.exclude, status, outcome.reason, outcome.evidence, not outcome.person
    )


def _truth(status: str) -> bool | None:
    return {MET: True, NOT_MET: False}.get(status)


def link_ids(criteria: list[Criterion]) -> list[str]:
    """The linkId of each top-level criterion as the FHIR mappers write it: ``inc-N`` / ``exc-N`` numbered under
    the heading the item sat under (``heading_exclude`` when set, else its polarity)."""
    counters = {False: 0, True: 0}
    ids = []
    for c in criteria:
        heading = c.exclude if c.heading_exclude is None else c.heading_exclude
        counters[heading] += 1
        ids.append(f"{'exc' if heading else 'inc'}-{counters[heading]}")
    return ids


def _age_quantity(limit: AgeLimit) -> Quantity:
    return Quantity(float(limit.value), unit=_AGE_UCUM.get(limit.unit, "a"))


def structured_criteria(trial: Trial) -> list[tuple[str, Criterion]]:
    """(linkId, criterion) of the trial's structured age and sex limits, as criteria with atoms: linkIds ``age``
    (and ``age-max`` when the two bounds have different units) and ``sex``, as the FHIR mappers write them."""
    e = trial.eligibility
    low, high = e.minimum_age, e.maximum_age
    found: list[tuple[str, Criterion]] = []
    bounds = [(low, high)] if not (low and high and low.unit != high.unit) else [(low, None), (None, high)]
    for i, (lo, hi) in enumerate(bounds if low or high else []):
        text = "; ".join(f"{n} age {a.value:g} {a.unit}" for n, a in (("Minimum", lo), ("Maximum", hi)) if a)
        atom = Atom(
            "age",
            Concept(text="Age"),
            low=_age_quantity(lo) if lo else None,
            high=_age_quantity(hi) if hi else None,
        )
        found.append(("age" if i == 0 else "age-max", Criterion(text, definition=atom)))
    if e.sex in ("FEMALE", "MALE"):
        atom = Atom("sex", Concept(text="Sex"), value=Concept(text=e.sex.lower()))
        found.append(("sex", Criterion(f"Sex: {e.sex.lower()}", definition=atom)))
    return found


def evaluate_trial(trial: Trial, patient: PatientFacts, on: date) -> TrialMatch:
    """One trial for one patient: every criterion, the verdict and the score."""
    results = [evaluate_criterion(c, link, patient, on) for link, c in structured_criteria(trial)]
    items = trial.eligibility.criteria
    results += [evaluate_criterion(c, link, patient, on) for c, link in zip(items, link_ids(items), strict=True)]
    verdict, score = verdict_of(results)
    return TrialMatch(
        trial.nct_id, trial.brief_title or trial.official_title, verdict, score, results, on, patient.reference, trial
    )


def verdict_of(results: list[CriterionResult]) -> tuple[str, float]:
    """(verdict, score) of a trial's top-level criteria results."""
    if any(r.decides for r in results):
        return INELIGIBLE, 0.0
    computable = [r for r in results if r.computable]
    passing = sum(r.passes for r in results)
    score = round(passing / len(results), 4) if results else 0.0
    if computable and all(r.passes for r in computable):
        return ELIGIBLE_SO_FAR, score
    return UNKNOWN, score


def match(
    patient_resources: list[dict[str, object]],
    trials: list[Trial],
    *,
    on: date | None = None,
    clock: Callable[[], date] = date.today,
) -> list[TrialMatch]:
    """Screen one patient (their FHIR resources, R4 or R5: ``fhir_adapter.match.patient.resources_of`` reads a
    Bundle or a list) against trials, at the evaluation date ``on`` (default: ``clock()``, today). One
    ``TrialMatch`` per trial, in the order given. ``SourceError`` when the resources hold no (or several) Patient."""
    patient = read_patient([dict(r) for r in patient_resources])
    day = on or clock()
    return [evaluate_trial(trial, patient, day) for trial in trials]
