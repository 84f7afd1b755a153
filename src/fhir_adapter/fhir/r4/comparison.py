"""R4 ``ResearchStudy.arm`` and ``.objective`` <-> R5 ``comparisonGroup`` and ``outcomeMeasure``.
https://hl7.org/fhir/R4/researchstudy-definitions.html#ResearchStudy.arm

An arm has R4's ``name``, ``type`` and ``description`` and keeps the group's own extensions (``arm-protocol``: the
arm's PlanDefinition); an objective has ``name`` and ``type`` (R4 codes). What R4 lacks (the group's linkId and
intended exposures, the outcome's description and EvidenceVariable) travels at the study root as HL7's complex
cross-version extensions ``ResearchStudy.comparisonGroup`` and ``ResearchStudy.outcomeMeasure`` (children as
``mappings/fhir-r4-r5.json`` lists them), one per arm / objective in the same order, with the ``name`` a reader pairs
them by. Not on the arm or objective: HL7's validator gives the extension of R5 ``X.y.z`` the context ``X.y``
(:mod:`.common`), so ``ResearchStudy.comparisonGroup.linkId`` is refused on R4 ``ResearchStudy.arm`` ("not allowed
to be used at this point") while the complex extension at the root is accepted. Bundles before issue 11 carry the
children on each arm and objective: still read.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, coded, token_of
from fhir_adapter.fhir.r4.common import complex_down, complex_lift, without_xver, xver_all, xver_first_value
from fhir_adapter.release import FhirRelease

_RS = "ResearchStudy"
_GROUP, _MEASURE = f"{_RS}.comparisonGroup", f"{_RS}.outcomeMeasure"


def to_arm(g: JSON) -> JSON:
    """The R4 ``ResearchStudy.arm`` of an R5 comparison group."""
    return {
        "extension": g.get("extension"),
        "name": g.get("name"),
        "type": g.get("type"),
        "description": g.get("description"),
    }


def to_objective(o: JSON) -> JSON:
    """The R4 ``ResearchStudy.objective`` of an R5 outcome measure."""
    return {
        "name": o.get("name"),
        "type": coded("outcome-type", token_of("outcome-type", (o.get("type") or [None])[0]), release=FhirRelease.R4),
    }


def study_extensions(rs5: JSON) -> list[JSON | None]:
    """The root extensions of the R4 study for what its arms and objectives cannot hold, one per comparison group
    and outcome measure of the R5 study ``rs5``."""
    return [
        *(complex_down(_GROUP, g) for g in rs5.get("comparisonGroup", [])),
        *(complex_down(_MEASURE, o) for o in rs5.get("outcomeMeasure", [])),
    ]


def comparison_group_of(a: JSON, root: JSON | None = None) -> JSON:
    """The R5 comparison group (shape) of an R4 arm; ``root``: its root extension (None: a bundle before issue 11,
    whose arm carries the children)."""
    if root is not None:
        child = complex_lift(_GROUP, root)
        linked, exposures = child.get("linkId"), child.get("intendedExposure", [])
    else:
        linked = xver_first_value(a, f"{_GROUP}.linkId")
        exposures = [e.get("valueReference") for e in xver_all(a, f"{_GROUP}.intendedExposure")]
    return {
        "extension": without_xver(a),
        "linkId": linked,
        "name": a.get("name"),
        "type": a.get("type"),
        "description": a.get("description"),
        "intendedExposure": exposures,
    }


def outcome_measure_of(o: JSON, root: JSON | None = None) -> JSON:
    """The R5 outcome measure (shape) of an R4 objective; ``root``: its root extension (None: before issue 11)."""
    child = complex_lift(_MEASURE, root) if root is not None else {}
    return {
        "name": o.get("name"),
        "type": [o.get("type")],
        "description": child.get("description") if root is not None else xver_first_value(o, f"{_MEASURE}.description"),
        "reference": child.get("reference") if root is not None else xver_first_value(o, f"{_MEASURE}.reference"),
    }


def _paired(items: list[JSON], roots: list[JSON]) -> list[JSON | None]:
    """The root extension of each arm / objective: the one in the same place (the writer's order)."""
    return [roots[i] if i < len(roots) else None for i in range(len(items))]


def lift_comparisons(rs: JSON) -> JSON:
    """``comparisonGroup`` and ``outcomeMeasure`` (R5 shape) of an R4 study: its arms and objectives with their root
    extensions (none: a bundle before issue 11, read from the arms and objectives)."""
    arms, objectives = rs.get("arm", []), rs.get("objective", [])
    groups, measures = xver_all(rs, _GROUP), xver_all(rs, _MEASURE)
    return {
        "comparisonGroup": [comparison_group_of(a, r) for a, r in zip(arms, _paired(arms, groups), strict=True)],
        "outcomeMeasure": [
            outcome_measure_of(o, r) for o, r in zip(objectives, _paired(objectives, measures), strict=True)
        ],
    }
