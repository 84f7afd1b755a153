"""ResearchStudy.comparisonGroup (R5) <-> the trial's arms. https://hl7.org/fhir/R5/researchstudy-definitions.html#ResearchStudy.comparisonGroup

Each arm is a comparison group whose ``intendedExposure`` points at the EvidenceVariables of its interventions; its
treatment protocol is a PlanDefinition (``ResearchStudy.protocol``, ``fhir.r5.plan_definition``), which the group
names by reference in our extension ``arm-protocol`` (valueReference(PlanDefinition)): R5 has no element that ties a
comparison group to its protocol, and pairing by position or title breaks as soon as a reader reorders or renames.
Bundles before issue 11 have no such extension: their arms pair with the protocols in order (the writer's order).
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.fhir.common import JSON, Context, Resolver, coded, compact, extension, get_extension, token_of
from fhir_adapter.fhir.r5 import evidence_variable as ev
from fhir_adapter.fhir.r5.plan_definition import arm_interventions, regimen_of_plan, to_plan_definition
from fhir_adapter.model import Arm, Trial

_PROTOCOL = "arm-protocol"


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
        protocol = to_plan_definition(ctx, i, arm, intervention_refs)
        protocols.append(protocol)
        groups.append(  # without empty elements (``coded`` holds none; references): ``bundle`` does not prune it
            compact(
                extension=[extension(_PROTOCOL, valueReference=protocol)],
                linkId=f"arm-{i}",
                name=arm.label,
                type=coded("arm-type", arm.type),
                description=arm.description,
                intendedExposure=linked,
            )
        )
    return groups, protocols, exposures


def protocol_of(group: JSON, resolve: Resolver) -> JSON | None:
    """The PlanDefinition a comparison group names in ``arm-protocol`` (None: it names none, or it cannot be
    found)."""
    ext = get_extension(group, _PROTOCOL)
    return resolve(ext.get("valueReference")) if ext and ext.get("valueReference") else None


def arms_of(rs: JSON, protocols: list[JSON | None], resolve: Resolver) -> list[Arm]:
    """The arms of a ResearchStudy's comparison groups, with the interventions and regimen of each arm's
    PlanDefinition: the one its ``arm-protocol`` names; without that extension (bundles before issue 11), the arm's
    place in ``protocols`` (the arms' PlanDefinitions, in arm order), when there is one per arm (else another
    writer's protocols, which need not be the arms': none)."""
    arms = []
    groups = rs.get("comparisonGroup", [])
    for i, g in enumerate(groups):
        named = get_extension(g, _PROTOCOL) is not None
        pd = protocol_of(g, resolve) if named else protocols[i] if len(protocols) == len(groups) else None
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
