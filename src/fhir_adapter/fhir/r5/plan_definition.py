"""PlanDefinition (R5): the treatment protocol of one arm, an action per intervention, both ways.

https://hl7.org/fhir/R5/plandefinition.html

Each action keeps the intervention's verbatim text (``description``) and the registry's "Type: Name" label
(``title``). Dosing structure (timing, ActivityDefinition) comes later; the text is never dropped.
"""

from __future__ import annotations

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, Context
from fhir_adapter.model import Arm, Intervention


def to_plan_definition(ctx: Context, index: int, arm: Arm, interventions: dict[str, tuple[Intervention, JSON]]) -> JSON:
    """Reference to the PlanDefinition of arm ``index``; ``interventions`` maps "Type: Name" labels to the
    intervention and its exposure EvidenceVariable reference."""
    key = f"arm-{index}"
    actions = []
    for n, label in enumerate(arm.intervention_names, 1):
        found = interventions.get(label.casefold())
        intervention = found[0] if found else None
        actions.append(
            {
                "linkId": f"intervention-{n}",
                "title": label,
                "description": intervention.description if intervention else None,
                "textEquivalent": intervention.description if intervention else None,
            }
        )
    return ctx.add(
        "PlanDefinition",
        key,
        {
            "url": ctx.canonical("PlanDefinition", key),
            "title": arm.label,
            "type": {
                "coding": [
                    {
                        "system": terminology.system("plan-definition-type"),
                        "code": "clinical-protocol",
                        "display": "Clinical Protocol",
                    }
                ]
            },
            "status": "active",
            "description": arm.description,
            "action": actions,
        },
    )


def arm_interventions(pd: JSON | None) -> list[str]:
    """The arm's intervention labels, from the actions of its PlanDefinition."""
    return [a.get("title", "") for a in (pd or {}).get("action", [])]
