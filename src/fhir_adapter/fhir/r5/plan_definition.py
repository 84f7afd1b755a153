"""PlanDefinition (R5): the treatment protocol of one arm, both ways. https://hl7.org/fhir/R5/plandefinition.html

One action per intervention keeps its verbatim text (``description``) and the registry's "Type: Name" label
(``title``), linkId ``intervention-<n>``. When the arm's regimen is known (``Arm.regimen``), its phases follow as
actions ``phase-<n>`` (the computable contract, docs/computable.md section 2):

- a phase: ``title`` as written, ``description`` its verbatim text, ``relatedAction`` after-end of the phase before,
  ``timingTiming.repeat`` count/countMax (cycles), period/periodUnit (cycle length) and boundsDuration (maximum
  duration), ``condition`` kind stop with the stop condition verbatim;
- an activity of a phase (``phase-<n>-<m>``): ``title`` its name as written, ``description`` its sentence,
  ``definitionCanonical`` its ActivityDefinition (``r5.activity_definition``; shared by the arm's phases whose
  dosing is the same), days within the cycle as ``relatedAction`` after-start of the phase with ``offsetDuration``
  day - 1 (in d) and the length of a run of days as ``timingTiming.repeat.boundsDuration`` (our extension
  ``day-run-length`` on each relatedAction when the runs differ in length: one action has one timing), sequencing as
  ``relatedAction`` to the other activity with ``offsetRange`` (its words in our extension ``sequencing-text``).

Phase and activity actions carry their linkId as element ``id`` too: pld-4 checks ``targetId`` against action ids,
and R4's ``relatedAction.actionId`` is that id.

The stop condition is natural language: ``condition.expression`` has it as ``description`` and, because an
Expression needs an ``expression`` (exp-1) and R4 a ``language``, as a ``text/plain`` expression too.
"""

from __future__ import annotations

from collections.abc import Callable

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, Context, compact, extension, get_extension
from fhir_adapter.fhir.r5.activity_definition import (
    Activity,
    activity_of,
    count_of,
    count_repeat,
    days,
    dosing_key,
    quantity,
    quantity_of,
    to_activity_definition,
)
from fhir_adapter.model import Arm, DayRun, Intervention, Phase, Quantity, Regimen, Sequencing, Surgery

PHASE = "phase-"
_STOP_LANGUAGE = "text/plain"
_RUN_LENGTH, _SEQUENCING_TEXT = "day-run-length", "sequencing-text"
Definitions = Callable[[str], JSON | None]  # canonical url -> the ActivityDefinition


def to_plan_definition(
    ctx: Context,
    index: int,
    arm: Arm,
    interventions: dict[str, tuple[Intervention, JSON]],
) -> JSON:
    """Reference to the PlanDefinition of arm ``index``; ``interventions`` maps "Type: Name" labels to the
    intervention and its exposure EvidenceVariable reference. The ActivityDefinitions of the arm's regimen go to
    ``ctx``. Built without empty elements (``compact``), so it is not walked again."""
    key = f"arm-{index}"
    actions = []
    for n, label in enumerate(arm.intervention_names, 1):
        found = interventions.get(label.casefold())
        text = found[0].description if found else None
        actions.append(compact(linkId=f"intervention-{n}", title=label, description=text, textEquivalent=text))
    actions += _phase_actions(ctx, key, arm.regimen) if arm.regimen else []
    body = compact(
        url=ctx.canonical("PlanDefinition", key),
        title=arm.label,
        type=clinical_protocol(),
        status="active",
        description=arm.description,
        action=actions,
    )
    return ctx.add("PlanDefinition", key, body, clean=True)


def clinical_protocol() -> JSON:
    """The ``type`` of every PlanDefinition fhir-adapter writes: an arm's protocol and the study's schedule
    (https://hl7.org/fhir/R5/codesystem-plan-definition-type.html)."""
    system = terminology.system("plan-definition-type")
    return {"coding": [{"system": system, "code": "clinical-protocol", "display": "Clinical Protocol"}]}


def _cycles(phase: Phase) -> JSON | None:
    """``timingTiming`` of a phase: cycles, cycle length and maximum duration, without empty elements (None when
    none is left)."""
    length = phase.cycle_length
    repeat = compact(
        **count_repeat(phase.cycles),
        period=length.value if length else None,
        periodUnit=length.unit if length else None,
        boundsDuration=quantity(phase.max_duration),
    )
    return {"repeat": repeat} if repeat else None


def _stop(text: str) -> JSON:
    return {"kind": "stop", "expression": {"description": text, "language": _STOP_LANGUAGE, "expression": text}}


def _phase_actions(ctx: Context, arm_key: str, regimen: Regimen) -> list[JSON]:
    shared: dict[str, str] = {}  # dosing key -> canonical url of its ActivityDefinition, per arm
    out = []
    for p, phase in enumerate(regimen.phases, 1):
        link = f"{PHASE}{p}"
        out.append(
            compact(
                id=link,
                linkId=link,
                title=phase.title,
                description=phase.text,
                relatedAction=[{"targetId": f"{PHASE}{p - 1}", "relationship": "after-end"}] if p > 1 else None,
                timingTiming=_cycles(phase),
                condition=[_stop(phase.stop_condition)] if phase.stop_condition else None,
                action=_activity_actions(ctx, arm_key, link, phase, shared),
            )
        )
    return out


def _definition(ctx: Context, arm_key: str, activity: Activity, shared: dict[str, str]) -> str:
    """The canonical url of the ActivityDefinition of ``activity``, added to ``ctx`` on its first use in the arm."""
    dosing = dosing_key(activity)
    if dosing not in shared:
        key = f"{arm_key}-activity-{len(shared) + 1}"
        url = ctx.canonical("ActivityDefinition", key)
        ctx.add("ActivityDefinition", key, to_activity_definition(url, activity), clean=True)
        shared[dosing] = url
    return shared[dosing]


def _activity_actions(ctx: Context, arm_key: str, link: str, phase: Phase, shared: dict[str, str]) -> list[JSON]:
    links: dict[str, str] = {}  # activity name -> linkId of its first action in the phase
    for m, activity in enumerate(phase.activities, 1):
        links.setdefault(activity.name, f"{link}-{m}")
    out = []
    for m, activity in enumerate(phase.activities, 1):
        runs = [] if isinstance(activity, Surgery) else activity.days
        day_relations, timing = _day_runs(link, runs)
        out.append(
            compact(
                id=f"{link}-{m}",
                linkId=f"{link}-{m}",
                title=activity.name,
                description=activity.text,
                definitionCanonical=_definition(ctx, arm_key, activity, shared),
                relatedAction=day_relations + _sequencing(links, activity.sequencing),
                timingTiming=timing,
            )
        )
    return out


def _day_runs(phase_link: str, runs: list[DayRun]) -> tuple[list[JSON], JSON | None]:
    """(relatedAction per run, the action's timing): after-start of the phase, offset day - 1; a run's length as
    the action's boundsDuration when all runs are equally long, else on each relatedAction. No empty elements."""
    lengths = {r.last - r.first + 1 for r in runs}
    uniform = len(lengths) <= 1
    relations = [
        {"targetId": phase_link, "relationship": "after-start", "offsetDuration": days(r.first - 1)}
        if uniform
        else {
            "extension": [extension(_RUN_LENGTH, valueDuration=days(r.last - r.first + 1))],
            "targetId": phase_link,
            "relationship": "after-start",
            "offsetDuration": days(r.first - 1),
        }
        for r in runs
    ]
    length = lengths.pop() if uniform and lengths else 1
    return relations, {"repeat": {"boundsDuration": days(length)}} if length > 1 else None


def _offset(q: Quantity | None) -> JSON | None:
    """A Range bound (SimpleQuantity: no comparator)."""
    out = quantity(q)
    return {k: v for k, v in out.items() if k != "comparator"} if out else None


def _sequencing(links: dict[str, str], sequencing: list[Sequencing]) -> list[JSON]:
    """relatedAction per sequencing of an activity, without empty elements (the targetId, an action's linkId, is
    never empty)."""
    return [
        compact(
            extension=[extension(_SEQUENCING_TEXT, valueString=s.text)] if s.text else None,
            targetId=links[s.target],
            relationship=s.relationship,
            offsetRange=compact(low=_offset(s.offset_low), high=_offset(s.offset_high)),
        )
        for s in sequencing
        if s.target in links  # the model's targets are activities of the same phase
    ]


def arm_interventions(pd: JSON | None) -> list[str]:
    """The arm's intervention labels, from the (non-phase) actions of its PlanDefinition."""
    return [a.get("title", "") for a in (pd or {}).get("action", []) if not _is_phase(a)]


# ---------------------------------------------------------------------------------------------------- reverse


def _is_phase(action: JSON) -> bool:
    return str(action.get("linkId", "")).startswith(PHASE)


def regimen_of_plan(pd: JSON | None, definitions: Definitions) -> Regimen | None:
    """The regimen of an arm's PlanDefinition (None when it has no phase actions); ``definitions`` finds an
    ActivityDefinition by its canonical url."""
    phases = [a for a in (pd or {}).get("action", []) if _is_phase(a)]
    if not phases:
        return None
    return Regimen([_phase_of(a, definitions) for a in phases])


def _phase_of(action: JSON, definitions: Definitions) -> Phase:
    repeat = (action.get("timingTiming") or {}).get("repeat") or {}
    stops = [c for c in action.get("condition", []) if c.get("kind") == "stop"]
    period = repeat.get("period")
    titles = {a.get("linkId"): a.get("title", "") for a in action.get("action", [])}
    return Phase(
        title=action.get("title", ""),
        cycles=count_of(repeat),
        cycle_length=Quantity(period, unit=repeat.get("periodUnit")) if period is not None else None,
        stop_condition=(stops[0].get("expression") or {}).get("description") if stops else None,
        max_duration=quantity_of(repeat.get("boundsDuration")),
        activities=[_activity_of(a, action.get("linkId", ""), titles, definitions) for a in action.get("action", [])],
        text=action.get("description", ""),
    )


def _activity_of(action: JSON, phase_link: str, titles: dict[str, str], definitions: Definitions) -> Activity:
    ad = definitions(action.get("definitionCanonical", "")) or {}
    activity = activity_of(ad, action.get("title", ""))
    activity.text = action.get("description", "")
    relations = action.get("relatedAction", [])
    activity.sequencing = [_sequencing_of(r, titles) for r in relations if r.get("targetId") != phase_link]
    if not isinstance(activity, Surgery):
        bounds = quantity_of(((action.get("timingTiming") or {}).get("repeat") or {}).get("boundsDuration"))
        uniform = int(bounds.value) if bounds else 1
        activity.days = [_run_of(r, uniform) for r in relations if r.get("targetId") == phase_link]
    return activity


def _run_of(relation: JSON, uniform: int) -> DayRun:
    first = int((relation.get("offsetDuration") or {}).get("value", 0)) + 1
    own = get_extension(relation, _RUN_LENGTH)
    length = int(own["valueDuration"]["value"]) if own else uniform
    return DayRun(first, first + length - 1)


def _sequencing_of(relation: JSON, titles: dict[str, str]) -> Sequencing:
    offset = relation.get("offsetRange") or {}
    text = get_extension(relation, _SEQUENCING_TEXT)
    return Sequencing(
        relationship=relation.get("relationship", ""),
        target=titles.get(relation.get("targetId", ""), ""),
        offset_low=quantity_of(offset.get("low")),
        offset_high=quantity_of(offset.get("high")),
        text=text.get("valueString", "") if text else "",
    )
