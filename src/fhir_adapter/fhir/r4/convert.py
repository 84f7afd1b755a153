"""The R5 resources of one trial's bundle -> R4 (4.0.1), and R4 resources back to the R5 shape.

https://hl7.org/fhir/R4/ and https://hl7.org/fhir/versions.html. ``to_r4`` reads only the R5 resources (never the
Trial): R4 output is a function of the R5 output. The eligibility EvidenceVariable becomes a Group (R4 has no
``EvidenceVariable.characteristic.definitionByTypeAndValue``); every other resource keeps its fullUrl. ``lift_resource``
and ``from_research_study`` are the way back. An outcome EvidenceVariable names its study in ``useContext`` (R4
ResearchStudy has no outcome element: :mod:`.evidence_variable`). What the study's arms and objectives cannot hold
goes to its root (:mod:`.comparison`): added here to the R4 study, and read here on the way back.

``to_r4``'s input is the bundle's R5 resources, pruned (no empty element, ele-1): the converters down copy their
elements as they are and prune only what they build (``fhir.common.pruned_at``).
"""

from __future__ import annotations

from collections.abc import Callable

from fhir_adapter.fhir.common import JSON, Resolver, prune, pruned, pruned_at
from fhir_adapter.fhir.r4 import (
    activity_definition,
    comparison,
    evidence_variable,
    group,
    parties,
    plan_definition,
    provenance,
    research_study,
    results,
)
from fhir_adapter.fhir.r5 import research_study as r5
from fhir_adapter.model import Trial

_STUDY = "ResearchStudy"
# (down, lift) by resource type; the eligibility EvidenceVariable and its Group are handled apart.
_CONVERTERS: dict[str, tuple[Callable[[JSON], JSON], Callable[[JSON], JSON]]] = {
    "EvidenceVariable": (evidence_variable.down, evidence_variable.lift),
    "PlanDefinition": (plan_definition.down, plan_definition.lift),
    "ActivityDefinition": (activity_definition.down, activity_definition.lift),
    "Group": (lambda g: g, group.lift),
}
_PARTIES = (parties.down, parties.lift)


def _outcome_studies(resources: dict[str, JSON]) -> dict[str, str]:
    """Outcome EvidenceVariable fullUrl -> the NCT id of the study that lists it."""
    out: dict[str, str] = {}
    for res in resources.values():
        nct_id = research_study.nct_id_of(res) if res.get("resourceType") == _STUDY else None
        for m in res.get("outcomeMeasure", []) if nct_id else []:
            ref = (m.get("reference") or {}).get("reference")
            if ref and nct_id:
                out[ref] = nct_id
    return out


def to_r4(resources: dict[str, JSON]) -> dict[str, JSON]:
    """The R4 form of a trial's R5 resources (fullUrl -> resource, in bundle order), in the same order.

    The eligibility EvidenceVariable of each study becomes its R4 Group, under the Group's own fullUrl."""
    eligibility: dict[str, str] = {}  # EvidenceVariable fullUrl -> NCT id of the study that refers to it
    for res in resources.values():
        ref = ((res.get("recruitment") or {}).get("eligibility") or {}).get("reference")
        nct_id = research_study.nct_id_of(res) if res.get("resourceType") == _STUDY else None
        if ref and nct_id:
            eligibility[ref] = nct_id
    outcomes = _outcome_studies(resources)
    out: dict[str, JSON] = {}
    for url, res in resources.items():
        rtype = str(res.get("resourceType"))
        if rtype == _STUDY:
            out[url] = _study_down(res, resources)
        elif url in eligibility:
            out[group.reference(eligibility[url])["reference"]] = group.down(res, eligibility[url])
        elif url in outcomes:
            out[url] = evidence_variable.down(res, outcomes[url])
        elif rtype in ("EvidenceReport", "Evidence"):  # R4 has no EvidenceReport; its Evidence is another resource
            if (report := results.down(res)) is not None:
                out[url] = report
        else:
            out[url] = _CONVERTERS.get(rtype, _PARTIES)[0](res)
    return provenance.finish_r4(resources, out)  # the Provenance targets the R4 resources; narratives carried


def _study_down(rs5: JSON, resources: dict[str, JSON]) -> JSON:
    """The R4 study, with the root extensions of its arms and objectives after its own."""
    rs = research_study.down(rs5, resources)
    # the study's own extensions come out of ``research_study.down`` pruned: only the new root ones are walked
    extensions = [*rs.get("extension", []), *prune(comparison.study_extensions(rs5))]
    return pruned_at({"resourceType": rs["resourceType"], "id": rs.get("id"), **rs, "extension": extensions}, ())


def lift_resource(resource: JSON | None) -> JSON | None:
    """An R4 resource this package wrote -> the R5 shape the R5 reverse mappers read."""
    if resource is None:
        return None
    return _CONVERTERS.get(str(resource.get("resourceType")), _PARTIES)[1](resource)


def from_research_study(rs: JSON, resolve: Resolver) -> Trial:
    """The Trial an R4 ResearchStudy (and the R4 resources ``resolve`` finds for its references) describes."""
    lifted = pruned(research_study.lift(rs) | comparison.lift_comparisons(rs))
    return r5.from_research_study(lifted, lambda ref: lift_resource(resolve(ref)))
