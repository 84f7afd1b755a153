"""PlanDefinition (R4): the treatment protocol of one arm, both ways. https://hl7.org/fhir/R4/plandefinition.html

The R5 PlanDefinition of ``r5.plan_definition`` fits R4 except ``action.linkId`` (R5 only), which is dropped: it is
derived from the action's position ("intervention-<n>") and the way back reads the action titles only.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, pruned


def down(pd: JSON) -> JSON:
    return pruned(dict(pd, action=[{k: v for k, v in a.items() if k != "linkId"} for a in pd.get("action", [])]))


def lift(pd: JSON) -> JSON:
    return pd
