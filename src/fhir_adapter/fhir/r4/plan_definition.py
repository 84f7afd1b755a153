"""PlanDefinition (R4): the treatment protocol of one arm, both ways. https://hl7.org/fhir/R4/plandefinition.html

The R5 PlanDefinition of ``r5.plan_definition`` fits R4 except ``action.linkId`` and ``relatedAction.targetId``
(R5 only). An intervention action's linkId is dropped: it is derived from the action's position
("intervention-<n>") and the way back reads the action titles only. The regimen's phase and activity actions keep
their element ``id`` (equal to their R5 linkId), which R4's ``relatedAction.actionId`` names
(https://hl7.org/fhir/R4/plandefinition-definitions.html#PlanDefinition.action.relatedAction.actionId); the way
back makes the id the linkId again. Timing, Duration and Range are the same in R4.

A condition in natural language (R5 ``expression`` with ``language`` text/plain, e.g. a stop condition) cannot be an
R4 Expression: R4 requires a ``language`` from its expression-language codes (text/cql, text/fhirpath,
application/x-fhir-query), and HAPI rejects text/plain there. In R4 such a condition keeps its ``kind`` and carries
the text in our extension ``condition-text`` (no ``expression``: R4 allows that), and comes back as the R5
Expression.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, extension, get_extension, pruned

_TEXT_LANGUAGE = "text/plain"
_CONDITION_TEXT = "condition-text"


def _rename(relation: JSON, old: str, new: str) -> JSON:
    return {new if k == old else k: v for k, v in relation.items()}


def _condition_down(condition: JSON) -> JSON:
    expression = condition.get("expression") or {}
    if expression.get("language") != _TEXT_LANGUAGE:
        return condition
    text = expression.get("description") or expression.get("expression")
    out = {k: v for k, v in condition.items() if k != "expression"}
    out["extension"] = [*condition.get("extension", []), extension(_CONDITION_TEXT, valueString=text)]
    return out


def _condition_lift(condition: JSON) -> JSON:
    text = get_extension(condition, _CONDITION_TEXT)
    if text is None:
        return condition
    out = dict(condition, extension=[e for e in condition.get("extension", []) if e != text])
    value = text.get("valueString")
    out["expression"] = {"description": value, "language": _TEXT_LANGUAGE, "expression": value}
    return out


def _action_down(action: JSON) -> JSON:
    out = {k: v for k, v in action.items() if k != "linkId"}
    out["condition"] = [_condition_down(c) for c in action.get("condition", [])]
    out["relatedAction"] = [_rename(r, "targetId", "actionId") for r in action.get("relatedAction", [])]
    out["action"] = [_action_down(a) for a in action.get("action", [])]
    return out


def _action_lift(action: JSON) -> JSON:
    out = dict(action, linkId=action.get("id"))
    out["condition"] = [_condition_lift(c) for c in action.get("condition", [])]
    out["relatedAction"] = [_rename(r, "actionId", "targetId") for r in action.get("relatedAction", [])]
    out["action"] = [_action_lift(a) for a in action.get("action", [])]
    return out


def down(pd: JSON) -> JSON:
    return pruned(dict(pd, action=[_action_down(a) for a in pd.get("action", [])]))


def lift(pd: JSON) -> JSON:
    return pruned(dict(pd, action=[_action_lift(a) for a in pd.get("action", [])]))
