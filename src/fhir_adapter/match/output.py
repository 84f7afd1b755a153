"""``match`` results as a FHIR searchset Bundle, as JSON, and as a table for the terminal.

The Bundle (https://hl7.org/fhir/R5/bundle.html, R4 alike) is a ``searchset`` of ResearchStudy, best first, the
convention of the mCODE community's clinical-trial matching services: each entry's ``search`` has ``mode`` match,
``score`` in [0, 1], and
- the HL7 extension ``match-grade`` (http://hl7.org/fhir/StructureDefinition/match-grade, context
  ``Bundle.entry.search``): ``certainly-not`` for an ineligible trial, ``probable`` for eligible-so-far,
  ``possible`` when unknown, so that a generic client reads the verdict without knowing ours;
- our complex extension ``<fhir-adapter-ext>eligibility-match`` with the verdict, the evaluation date, the patient
  and one ``criterion`` per criterion (``linkId`` of the trial's characteristic, ``status`` met / not-met /
  unknown, ``reason``, and ``evidence`` references whose ``display`` holds the value and date).

Why an extension on ``Bundle.entry.search`` and not a resource: the per-criterion results belong to one entry, and
a searchset has no place for them that stays attached to it: ``entry.response`` is for batch/transaction
responses only, a ``search.mode`` outcome OperationOutcome speaks about the whole search, and a resource contained
in the ResearchStudy would have to be referenced by it (dom-3). A GuidanceResponse per trial would fit the
decision-support pattern but triples the entries for the same content. The ResearchStudy is the trial's own
(``to_bundle``), cut to the elements that reference nothing (identifier, title, status, phase, condition), so
the Bundle resolves.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.errors import MappingError
from fhir_adapter.match.evaluate import Evidence
from fhir_adapter.match.verdict import ELIGIBLE_SO_FAR, INELIGIBLE, CriterionResult, TrialMatch
from fhir_adapter.release import FhirRelease

JSON = dict[str, Any]
MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
_GRADE = {INELIGIBLE: "certainly-not", ELIGIBLE_SO_FAR: "probable"}
# ResearchStudy elements kept in the searchset: the ones that reference no other resource of the trial's bundle.
_STUDY_KEYS = ("resourceType", "id", "identifier", "name", "title", "status", "phase", "condition")
_ORDER = {ELIGIBLE_SO_FAR: 0, "unknown": 1, INELIGIBLE: 2}
_NAMESPACE = uuid.UUID("2c0d6a4e-8f0b-4b8e-9d55-6a3f1e0b7c21")  # of the self links of file-mode screenings


def match_extension_url() -> str:
    return terminology.system("fhir-adapter-ext") + "eligibility-match"


def ranked(matches: list[TrialMatch]) -> list[TrialMatch]:
    """Best first: eligible-so-far, unknown, ineligible; then by score; stable otherwise."""
    return sorted(matches, key=lambda m: (_ORDER.get(m.verdict, 1), -m.score))


def _evidence_json(e: Evidence) -> JSON:
    return {"reference": e.reference, "value": e.value, "date": e.date}


def _criterion_json(r: CriterionResult) -> JSON:
    out: JSON = {
        "linkId": r.link_id,
        "text": r.text,
        "exclude": r.exclude,
        "status": r.status,
        "reason": r.reason,
        "computable": r.computable,
        "evidence": [_evidence_json(e) for e in r.evidence],
    }
    if r.children:
        out["children"] = [_criterion_json(c) for c in r.children]
    return out


def to_json(matches: list[TrialMatch]) -> JSON:
    """Every result as plain JSON: patient, evaluation date, and per trial its verdict, score and criteria."""
    first = matches[0] if matches else None
    return {
        "patient": first.patient if first else None,
        "evaluatedOn": first.evaluated_on.isoformat() if first else None,
        "trials": [
            {
                "nct_id": m.nct_id,
                "title": m.title,
                "verdict": m.verdict,
                "score": m.score,
                "criteria": [_criterion_json(r) for r in m.criteria],
            }
            for m in ranked(matches)
        ],
    }


def _flat(results: list[CriterionResult]) -> list[CriterionResult]:
    return [x for r in results for x in (r, *_flat(r.children))]


def to_table(matches: list[TrialMatch]) -> list[str]:
    """Lines for the terminal: one per trial, then one per criterion (indented by depth) with its reason."""
    lines: list[str] = []
    for m in ranked(matches):
        lines.append(f"{m.nct_id or '(no NCT id)'}  {m.verdict}  score {m.score:.2f}  {m.title or ''}".rstrip())
        for r in _flat(m.criteria):
            depth = r.link_id.count(".")
            polarity = "exclusion" if r.exclude else "inclusion"
            lines.append(f"  {'  ' * depth}{r.link_id:<10} {r.status:<8} {polarity:<9} {r.reason}")
            for e in r.evidence:
                lines.append(f"  {'  ' * depth}{'':<10} evidence {e.reference} {e.value or ''} {e.date or ''}".rstrip())
    counts = {v: sum(m.verdict == v for m in matches) for v in (ELIGIBLE_SO_FAR, "unknown", INELIGIBLE)}
    lines.append(", ".join(f"{n} {v}" for v, n in counts.items()))
    return lines


def _study(m: TrialMatch, release: FhirRelease) -> tuple[str | None, JSON]:
    """(fullUrl, ResearchStudy) of a trial for the searchset."""
    from fhir_adapter.bundle import to_bundle

    if m.trial is not None and m.trial.nct_id:
        try:
            entry = to_bundle(m.trial, release)["entry"][0]
        except MappingError:
            entry = None
        if entry is not None:
            study = {k: entry["resource"][k] for k in _STUDY_KEYS if k in entry["resource"]}
            return entry["fullUrl"], study
    study = {"resourceType": "ResearchStudy", "status": "active"}
    if m.title:
        study["title"] = m.title
    return None, study


def _reference(relative: str, full_urls: Mapping[str, str], display: str | None = None) -> JSON:
    """A Reference to a patient's resource: its absolute URL when known; otherwise (a patient file without
    absolute fullUrls) ``type`` and a ``display`` naming it, since a relative reference cannot resolve inside a
    searchset of ResearchStudy entries."""
    shown = " ".join(p for p in (relative if relative not in full_urls else None, display) if p)
    ref: JSON = {"reference": full_urls[relative]} if relative in full_urls else {"type": relative.split("/")[0]}
    if shown:
        ref["display"] = shown
    return ref


def _criterion_extension(r: CriterionResult, full_urls: Mapping[str, str]) -> JSON:
    parts: list[JSON] = [
        {"url": "linkId", "valueString": r.link_id},
        {"url": "status", "valueCode": r.status},
        {"url": "reason", "valueString": r.reason},
    ]
    for e in r.evidence:
        shown = " ".join(p for p in (e.value, f"on {e.date}" if e.date else None) if p)
        parts.append({"url": "evidence", "valueReference": _reference(e.reference, full_urls, shown or None)})
    return {"url": "criterion", "extension": parts}


def _match_extension(m: TrialMatch, full_urls: Mapping[str, str]) -> JSON:
    parts: list[JSON] = [
        {"url": "verdict", "valueCode": m.verdict},
        {"url": "evaluationDate", "valueDate": m.evaluated_on.isoformat()},
        {"url": "patient", "valueReference": _reference(m.patient, full_urls)},
    ]
    parts += [_criterion_extension(r, full_urls) for r in _flat(m.criteria)]
    return {"url": match_extension_url(), "extension": parts}


def to_searchset(
    matches: list[TrialMatch],
    release: FhirRelease | str = FhirRelease.R5,
    self_url: str | None = None,
    full_urls: Mapping[str, str] | None = None,
) -> JSON:
    """The results as a FHIR ``searchset`` Bundle of ResearchStudy (R5 or R4), best first (module docstring).
    ``self_url``: the search that gave them (a server mode's query); by default a uuid5 URN of the screening.
    ``full_urls``: ``Type/id`` -> absolute URL of the patient's resources (``patient.full_urls_of`` of the patient's
    Bundle, or the server's ``<base>/Type/id``), so that the evidence references resolve."""
    version = FhirRelease.parse(release)
    urls = full_urls or {}
    entries: list[JSON] = []
    for m in ranked(matches):
        full_url, study = _study(m, version)
        search: JSON = {
            "extension": [
                {"url": MATCH_GRADE, "valueCode": _GRADE.get(m.verdict, "possible")},
                _match_extension(m, urls),
            ],
            "mode": "match",
            "score": m.score,
        }
        entry: JSON = {"fullUrl": full_url} if full_url else {}
        entry.update({"resource": study, "search": search})
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "link": [{"relation": "self", "url": self_url or _self_url(matches)}],
        "entry": entries,
    }


def _self_url(matches: list[TrialMatch]) -> str:
    """A stable URI for a screening done without a server (bdl-18 asks every searchset for a self link): a uuid5
    of the patient, the evaluation date and the trials."""
    key = "|".join([*(m.patient for m in matches[:1]), *(m.evaluated_on.isoformat() for m in matches[:1])])
    key += "|" + "|".join(sorted(m.nct_id or "" for m in matches))
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, key)}"
