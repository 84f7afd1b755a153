"""The second half of reading a foreign ResearchStudy (``fhir.foreign``): the Trial completed, after the mappers,
from the HL7 elements they leave aside -- status and the overall-study period from ``progressStatus``
(https://hl7.org/fhir/R5/codesystem-research-study-status.html), phase from research-study-phase codes, dates from
``period``, the lead sponsor's class from a classifier text, each site's recruitment status, arm types and
interventions from ``comparisonGroup`` and its exposure EvidenceVariables, an official's affiliation. Only what the
mappers left empty is filled (docs/architecture.md, "Reading FHIR").
"""

from __future__ import annotations

from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, Resolver, has_party_role
from fhir_adapter.fhir.r5.evidence_variable import from_exposure
from fhir_adapter.model import DateInfo, Intervention, Organization, Trial

STATUS_SYSTEMS = ("http://hl7.org/fhir/research-study-status",)
OVERALL_STUDY = "overall-study"  # research-study-status code of the study's whole period (R5 progressStatus)
# R5 writes the phase system as http://hl7.org/fhir/research-study-phase, HL7's own R5 example and R4 as
# http://terminology.hl7.org/CodeSystem/research-study-phase: the codes are the same.
_PHASE_SYSTEMS = (terminology.system("research-study-phase"), terminology.system("research-study-phase-r4"))


def state_codes(rs: JSON) -> list[str]:
    """The research-study-status codes of ``progressStatus`` that are states (not the overall-study period)."""
    return [
        str(c.get("code"))
        for p in rs.get("progressStatus", [])
        for c in (p.get("state") or {}).get("coding", [])
        if c.get("system") in STATUS_SYSTEMS and c.get("code") and c.get("code") != OVERALL_STUDY
    ]


def _date(value: Any, actual: bool | None) -> DateInfo | None:
    if not isinstance(value, str) or not value:
        return None
    return DateInfo(value[:10], None if actual is None else "ACTUAL" if actual else "ESTIMATED")


def _complete_dates(t: Trial, rs: JSON) -> None:
    """Start and completion from the ``overall-study`` period (its ``actual`` flag), else from ``period``."""
    for p in rs.get("progressStatus", []):
        codes = {c.get("code") for c in (p.get("state") or {}).get("coding", []) if c.get("system") in STATUS_SYSTEMS}
        if OVERALL_STUDY in codes:
            period, actual = p.get("period") or {}, p.get("actual")
            t.start_date = t.start_date or _date(period.get("start"), actual)
            t.completion_date = t.completion_date or _date(period.get("end"), actual)
    period = rs.get("period") or {}
    t.start_date = t.start_date or _date(period.get("start"), None)
    t.completion_date = t.completion_date or _date(period.get("end"), None)


def _phases(phase: JSON | None) -> list[str]:
    for c in (phase or {}).get("coding", []):
        if c.get("system") in _PHASE_SYSTEMS and c.get("code"):
            tokens = terminology.phase_tokens(str(c["code"]))
            if tokens:
                return tokens
    text = (phase or {}).get("text")
    return terminology.normalize_phase(str(text)) if text else []


def _sponsor_class(rs: JSON, org: Organization) -> None:
    """The lead sponsor's ct.gov class from its classifier text (HL7's example writes ``{"text": "INDUSTRY"}``)."""
    for p in rs.get("associatedParty", []):
        if has_party_role(p, "lead-sponsor"):
            for cc in p.get("classifier", []):
                token = terminology.normalize("sponsor-class", str(cc.get("text") or ""))
                if token:
                    org.agency_class = token
                    return


def _exposure(ev: JSON, arm: str) -> Intervention:
    """An intervention from an exposure EvidenceVariable of another writer (FEvIR: the type as a useContext text)."""
    i = from_exposure(ev)
    for uc in ev.get("useContext", []):
        text = (uc.get("valueCodeableConcept") or {}).get("text")
        i.type = i.type or (terminology.normalize("intervention-type", str(text)) if text else None)
    i.arm_labels = i.arm_labels or [arm]
    return i


def _complete_arms(t: Trial, rs: JSON, resolve: Resolver) -> None:
    """Arm types from a comparisonGroup type in text, interventions from its ``intendedExposure`` references."""
    found: dict[str, Intervention] = {}
    for arm, g in zip(t.arms, rs.get("comparisonGroup", []), strict=False):
        text = (g.get("type") or {}).get("text")
        arm.type = arm.type or (terminology.normalize("arm-type", str(text)) if text else None)
        for ref in g.get("intendedExposure", []):
            ev = resolve(ref)
            if ev is None or ev.get("resourceType") != "EvidenceVariable":
                continue
            i = _exposure(ev, arm.label)
            if i.name in found:
                found[i.name].arm_labels += [a for a in i.arm_labels if a not in found[i.name].arm_labels]
            else:
                found[i.name] = i
            if not arm.intervention_names:
                arm.intervention_names = []
            arm.intervention_names.append(str(ref.get("display") or i.name))
    if not t.interventions:
        t.interventions = list(found.values())


def complete(t: Trial, rs: JSON, site_states: list[str | None], resolve: Resolver) -> None:
    """Fill what the mappers left empty from the HL7 elements of ``rs`` (the prepared R5-shaped study)."""
    if t.overall_status is None:
        tokens = [terminology.from_fhir("overall-status", c) for c in state_codes(rs)]
        t.overall_status = next((tok for tok in tokens if tok), None)
    _complete_dates(t, rs)
    if not t.phases:
        t.phases = _phases(rs.get("phase"))
    if t.lead_sponsor is not None and t.lead_sponsor.agency_class is None:
        _sponsor_class(rs, t.lead_sponsor)
    for site, state in zip(t.sites, site_states, strict=False):
        if site.status is None and state:
            site.status = terminology.from_fhir("recruitment-status", state)
    if not any(a.intervention_names for a in t.arms):
        _complete_arms(t, rs, resolve)
    # an official named with only a display of the party (HL7's example: its organisation) -> the affiliation
    shown = {p.get("name"): (p.get("party") or {}).get("display") for p in rs.get("associatedParty", [])}
    for o in t.officials:
        o.affiliation = o.affiliation or shown.get(o.name)
