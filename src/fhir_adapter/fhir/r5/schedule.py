"""PlanDefinition (R5) of the study's schedule of assessments (issue 10 item 3), both ways.
https://hl7.org/fhir/R5/plandefinition.html

Follows HL7's Vulcan Schedule of Activities pattern where it fits (Clinical Study Schedule of Activities IG,
https://hl7.org/fhir/uv/vulcan-schedule/, profiles StudyProtocolSoa and ResearchStudySoa; example
PlanDefinition-H2Q-MC-LZZT-ProtocolDesign): the study's schedule is ONE PlanDefinition, ``type`` clinical-protocol,
listed in ``ResearchStudy.protocol`` next to the arms' PlanDefinitions, with one ``action`` per scheduled activity.
Vulcan goes further (one action per planned visit, each pointing to a visit PlanDefinition, offsets from an index
event); registry texts state recurring assessments, not visits, so each assessment is one action with its recurrence
as ``timingTiming`` instead:

- ``title`` the assessment as written, ``description`` the verbatim sentence, element ``id`` and ``linkId``
  ``assessment-<n>`` (R4 keeps the id, see ``r4.plan_definition``);
- a period in time ("every 3 months") as ``timingTiming.repeat`` frequency 1, ``period`` + ``periodUnit`` (UCUM units
  of time), its duration ("for 2 years") as ``repeat.boundsDuration``;
- a period in treatment cycles ("every 2 cycles") and the day within the cycle ("day 1 of each cycle"): a cycle is
  no unit of time (``periodUnit`` is a required code), so our extensions ``every-cycles`` and ``cycle-day``
  (valuePositiveInt) on the action;
- when it applies ("After 12 months", "from week 9") as ``condition`` kind applicability, its stop ("until death
  ...") as ``condition`` kind stop, the words as a ``text/plain`` Expression (as a regimen phase's stop condition,
  ``r5.plan_definition``; R4 keeps them in ``condition-text``);
- an assessment that takes over from the one before it ("..., then every 12 weeks") as ``relatedAction``
  after-end of that action.

The PlanDefinition's ``name`` ``ScheduleOfActivities`` tells it apart from the arms' PlanDefinitions on the way back.
No assessment is coded: no code table with a confirmed source exists yet, so the title stays text.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, Context, extension, get_extension
from fhir_adapter.fhir.r5.activity_definition import quantity, quantity_of
from fhir_adapter.fhir.r5.plan_definition import clinical_protocol
from fhir_adapter.model import Assessment, Quantity

NAME = "ScheduleOfActivities"
KEY = "schedule-of-activities"
_ACTION = "assessment-"
_TEXT = "text/plain"
_EVERY_CYCLES, _CYCLE_DAY = "every-cycles", "cycle-day"


def _condition(kind: str, text: str | None) -> JSON | None:
    if not text:
        return None
    return {"kind": kind, "expression": {"description": text, "language": _TEXT, "expression": text}}


def _timing(a: Assessment) -> JSON | None:
    if a.every is None and a.duration is None:
        return None
    every = a.every
    return {
        "repeat": {
            "boundsDuration": quantity(a.duration),
            "frequency": 1 if every else None,
            "period": every.value if every else None,
            "periodUnit": every.unit if every else None,
        }
    }


def _action(n: int, a: Assessment) -> JSON:
    link = f"{_ACTION}{n}"
    return {
        "extension": [
            extension(_EVERY_CYCLES, valuePositiveInt=a.every_cycles) if a.every_cycles else None,
            extension(_CYCLE_DAY, valuePositiveInt=a.cycle_day) if a.cycle_day else None,
        ],
        "id": link,
        "linkId": link,
        "title": a.name,
        "description": a.text,
        "condition": [_condition("applicability", a.applies), _condition("stop", a.stop)],
        "relatedAction": [{"targetId": f"{_ACTION}{n - 1}", "relationship": "after-end"}] if a.follows else None,
        "timingTiming": _timing(a),
    }


def to_schedule(ctx: Context, schedule: list[Assessment]) -> JSON | None:
    """Reference to the study's schedule PlanDefinition, added to ``ctx``; None when the schedule is empty."""
    if not schedule:
        return None
    return ctx.add(
        "PlanDefinition",
        KEY,
        {
            "url": ctx.canonical("PlanDefinition", KEY),
            "name": NAME,
            "title": "Schedule of activities",
            "type": clinical_protocol(),
            "status": "active",
            "action": [_action(n, a) for n, a in enumerate(schedule, 1)],
        },
    )


# ---------------------------------------------------------------------------------------------------- reverse


def is_schedule(pd: JSON | None) -> bool:
    """True for the study's schedule PlanDefinition (not an arm's)."""
    return bool(pd) and (pd or {}).get("name") == NAME


def _int(action: JSON, name: str) -> int | None:
    ext = get_extension(action, name)
    return int(ext["valuePositiveInt"]) if ext else None


def _condition_text(action: JSON, kind: str) -> str | None:
    found = [c for c in action.get("condition", []) if c.get("kind") == kind]
    return (found[0].get("expression") or {}).get("description") if found else None


def _assessment_of(action: JSON) -> Assessment:
    repeat = (action.get("timingTiming") or {}).get("repeat") or {}
    period = repeat.get("period")
    return Assessment(
        name=action.get("title", ""),
        every=Quantity(period, unit=repeat.get("periodUnit")) if period is not None else None,
        every_cycles=_int(action, _EVERY_CYCLES),
        cycle_day=_int(action, _CYCLE_DAY),
        duration=quantity_of(repeat.get("boundsDuration")),
        applies=_condition_text(action, "applicability"),
        stop=_condition_text(action, "stop"),
        follows=any(r.get("relationship") == "after-end" for r in action.get("relatedAction", [])),
        text=action.get("description", ""),
    )


def schedule_of_plan(pd: JSON | None) -> list[Assessment]:
    """The schedule of assessments of the study's schedule PlanDefinition (empty for None)."""
    return [_assessment_of(a) for a in (pd or {}).get("action", [])]
