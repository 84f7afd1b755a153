"""ResearchStudy.comparisonGroup (R5) <-> the trial's arms. https://hl7.org/fhir/R5/researchstudy-definitions.html#ResearchStudy.comparisonGroup

Each arm is a comparison group whose ``intendedExposure`` points at the EvidenceVariables of its interventions; its
treatment protocol is a PlanDefinition (``ResearchStudy.protocol``, ``fhir.r5.plan_definition``).
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.fhir.common import JSON, Context, Resolver, coded, token_of
from fhir_adapter.fhir.r5 import evidence_variable as ev
from fhir_adapter.fhir.r5.plan_definition import arm_interventions, regimen_of_plan, to_plan_definition
from fhir_adapter.model import Arm, Trial


def to_comparison_groups(ctx: Context, t: Trial) -> tuple[list[JSON], list[JSON], list[JSON]]:
    """(comparisonGroup, protocol, the exposure reference of each intervention), adding the intervention
    EvidenceVariables and the arm PlanDefinitions to ``ctx``."""
    intervention_refs: dict[str, tuple[Any, JSON]] = {}
    exposures = []
    for i, iv in enumerate(t.interventions):
        ref = ev.to_exposure(ctx, i, iv)
        exposures.append(ref)
        label = f"{(iv.type or 'OTHER').replace('_', ' ').title()}: {iv.name}".casefold()
        intervention_refs.setdefault(label, (iv, ref))
    groups, protocols = [], []
    for i, arm in enumerate(t.arms):
        linked = [ref for iv, ref in intervention_refs.values() if arm.label in iv.arm_labels]
        linked += [
            intervention_refs[n.casefold()][1]
            for n in arm.intervention_names
            if n.casefold() in intervention_refs and intervention_refs[n.casefold()][1] not in linked
        ]
        groups.append(
            {
                "linkId": f"arm-{i}",
                "name": arm.label,
                "type": coded("arm-type", arm.type),
                "description": arm.description,
                "intendedExposure": linked,
            }
        )
        protocols.append(to_plan_definition(ctx, i, arm, intervention_refs))
    return groups, protocols, exposures


def arms_of(rs: JSON, protocols: list[JSON | None], resolve: Resolver) -> list[Arm]:
    """The arms of a ResearchStudy's comparison groups, with the interventions and regimen of each arm's
    PlanDefinition (``protocols``: the arms' PlanDefinitions, in arm order)."""
    arms = []
    for i, g in enumerate(rs.get("comparisonGroup", [])):
        pd = protocols[i] if i < len(protocols) else None
        arms.append(
            Arm(
                label=g.get("name", ""),
                type=token_of("arm-type", g.get("type")),
                description=g.get("description"),
                intervention_names=arm_interventions(pd),
                regimen=regimen_of_plan(pd, lambda url: resolve({"reference": url})),
            )
        )
    return arms
