"""R4 ``ResearchStudy.arm`` and ``.objective`` <-> R5 ``comparisonGroup`` and ``outcomeMeasure``.
https://hl7.org/fhir/R4/researchstudy-definitions.html#ResearchStudy.arm

What R4 lacks (the arm's linkId and intended exposures, the outcome's description and EvidenceVariable) travels in
HL7's cross-version extensions (:mod:`.common`).
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, coded, token_of
from fhir_adapter.fhir.r4.common import xver_all, xver_first_value, xver_value
from fhir_adapter.release import FhirRelease

_RS = "ResearchStudy"


def to_arm(g: JSON) -> JSON:
    """The R4 ``ResearchStudy.arm`` of an R5 comparison group."""
    exposures = g.get("intendedExposure", [])
    return {
        "extension": [
            xver_value(f"{_RS}.comparisonGroup.linkId", valueId=g.get("linkId")),
            *(xver_value(f"{_RS}.comparisonGroup.intendedExposure", valueReference=r) for r in exposures),
        ],
        "name": g.get("name"),
        "type": g.get("type"),
        "description": g.get("description"),
    }


def to_objective(o: JSON) -> JSON:
    """The R4 ``ResearchStudy.objective`` of an R5 outcome measure."""
    return {
        "extension": [
            xver_value(f"{_RS}.outcomeMeasure.description", valueMarkdown=o.get("description")),
            xver_value(f"{_RS}.outcomeMeasure.reference", valueReference=o.get("reference")),
        ],
        "name": o.get("name"),
        "type": coded("outcome-type", token_of("outcome-type", (o.get("type") or [None])[0]), release=FhirRelease.R4),
    }


def comparison_group_of(a: JSON) -> JSON:
    """The R5 comparison group (shape) of an R4 arm."""
    exposures = xver_all(a, f"{_RS}.comparisonGroup.intendedExposure")
    return {
        "linkId": xver_first_value(a, f"{_RS}.comparisonGroup.linkId"),
        "name": a.get("name"),
        "type": a.get("type"),
        "description": a.get("description"),
        "intendedExposure": [e.get("valueReference") for e in exposures],
    }


def outcome_measure_of(o: JSON) -> JSON:
    """The R5 outcome measure (shape) of an R4 objective."""
    return {
        "name": o.get("name"),
        "type": [o.get("type")],
        "description": xver_first_value(o, f"{_RS}.outcomeMeasure.description"),
        "reference": xver_first_value(o, f"{_RS}.outcomeMeasure.reference"),
    }
