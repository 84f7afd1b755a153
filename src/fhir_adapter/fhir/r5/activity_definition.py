"""ActivityDefinition (R5): one drug, radiotherapy or surgery of an arm's regimen, both ways.

https://hl7.org/fhir/R5/activitydefinition.html, https://hl7.org/fhir/R5/dosage.html,
https://hl7.org/fhir/R5/datatypes.html#Timing. The encoding is the computable contract (docs/computable.md,
section 2):

- a drug is ``kind`` MedicationRequest, ``productCodeableConcept`` = RxNorm where ``mappings/regimen-drugs.json``
  confirms it + the name as written in ``text``; one ``dosage`` per dose level (an escalation's levels in order), each
  with the verbatim sentence (``text``), the dose (``doseAndRate.doseQuantity`` or ``doseRange``, UCUM), the route
  (SNOMED from ``mappings/regimen-terms.json``, the route's key in ``text``) and the frequency
  (``timing.repeat`` frequency/period/periodUnit, the words as written in ``timing.code.text``);
- radiotherapy is ``kind`` ServiceRequest, ``code`` SNOMED radiotherapy (``text`` "radiotherapy"), the total dose and
  the dose per fraction as two ``doseAndRate`` told apart by their ``type`` text, the fractions as
  ``timing.repeat.count``/``countMax`` and the techniques as written as ``additionalInstruction`` texts;
- surgery is ``kind`` ServiceRequest with the procedure's name as ``code.text``.

What belongs to one use of the activity in a phase (its name and text as written there, its days, its sequencing)
is on the PlanDefinition action (``r5.plan_definition``), so that phases with the same dosing share one
ActivityDefinition.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, compact
from fhir_adapter.model import Count, Dose, DrugActivity, Frequency, Quantity, Radiotherapy, Surgery
from fhir_adapter.terminology import mappings_dir

Activity = DrugActivity | Radiotherapy | Surgery
RADIOTHERAPY = "radiotherapy"  # code.text of a radiotherapy ActivityDefinition (tells it from surgery)
_TOTAL, _PER_FRACTION = "total dose", "dose per fraction"  # doseAndRate.type texts of radiotherapy


@cache
def _table(name: str) -> dict[str, Any]:
    """A regimen table of ``mappings/`` ({} while it does not exist yet: every concept then stays text-only)."""
    path = mappings_dir() / name
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@cache
def _drug_codes() -> dict[str, list[JSON]]:
    """Drug name as written (lower case) -> its confirmed codings (empty: text-only), without empty values."""
    out: dict[str, list[JSON]] = {}
    for entry in _table("regimen-drugs.json").get("drugs", {}).values():
        codings = [
            compact(system=terminology.system(c["system"]), code=c["code"], display=c.get("display"))
            for c in entry.get("codes", [])
        ]
        for form in entry.get("forms", []):
            out.setdefault(form.casefold(), codings)
    return out


def _drug_codings(name: str) -> list[JSON]:
    """Copies of the confirmed codings of a drug name ([] when text-only): the table is cached, so the output must not
    hold the table's own dicts."""
    return [dict(c) for c in _drug_codes().get(name.strip().casefold(), [])]


def _term(section: str, key: str) -> list[JSON]:
    """The SNOMED coding of a key of ``mappings/regimen-terms.json`` (``routes``, ``procedures``), without empty
    values; [] when the table has no code for it."""
    entry = _table("regimen-terms.json").get(section, {}).get(key) or {}
    if not entry.get("snomed"):
        return []
    return [compact(system=terminology.system("snomed"), code=entry["snomed"], display=entry.get("display"))]


# ------------------------------------------------------------------------------------------- datatypes


def quantity(q: Quantity | None) -> JSON | None:
    """A Quantity/Duration (UCUM code, the unit as written in ``unit``; a Duration's ``code`` is a time unit), without
    empty values ({} when none is left)."""
    if q is None:
        return None
    return compact(
        value=q.value,
        comparator=q.comparator,
        unit=q.unit_text,
        system=terminology.system("ucum") if q.unit else None,
        code=q.unit,
    )


def quantity_of(j: JSON | None) -> Quantity | None:
    """The way back of :func:`quantity`."""
    if not j or j.get("value") is None:
        return None
    return Quantity(j["value"], comparator=j.get("comparator"), unit=j.get("code"), unit_text=j.get("unit"))


def days(n: int | float) -> JSON:
    """A Duration of ``n`` days."""
    return {"value": n, "unit": "d", "system": terminology.system("ucum"), "code": "d"}


def _simple(value: float | None, dose: Dose) -> JSON | None:
    if value is None:
        return None
    ucum = terminology.system("ucum") if dose.unit else None
    return compact(value=value, unit=dose.unit_text, system=ucum, code=dose.unit)


def dose_and_rate(dose: Dose, kind: str | None = None) -> JSON:
    """``doseQuantity`` for a fixed dose, ``doseRange`` for a range; ``kind`` the ``type`` text (radiotherapy). Without
    empty elements ({} when none is left)."""
    return compact(
        type={"text": kind} if kind else None,
        doseQuantity=_simple(dose.value, dose),
        doseRange=compact(low=_simple(dose.low, dose), high=_simple(dose.high, dose)) if dose.value is None else None,
    )


def dose_of(dr: JSON) -> Dose:
    """The way back of :func:`dose_and_rate`."""
    fixed = dr.get("doseQuantity")
    rng = dr.get("doseRange") or {}
    some = fixed or rng.get("low") or rng.get("high") or {}
    return Dose(
        value=fixed.get("value") if fixed else None,
        low=(rng.get("low") or {}).get("value"),
        high=(rng.get("high") or {}).get("value"),
        unit=some.get("code"),
        unit_text=some.get("unit"),
    )


def count_repeat(count: Count | None) -> JSON:
    """``Timing.repeat`` count (+ ``countMax`` for a range), without empty values."""
    if count is None:
        return {}
    return compact(count=count.low, countMax=count.high if count.high != count.low else None)


def count_of(repeat: JSON) -> Count | None:
    """The way back of :func:`count_repeat`."""
    low = repeat.get("count")
    if low is None:
        return None
    high = repeat.get("countMax")
    return Count(int(low), int(high) if high is not None else int(low))


def _frequency(f: Frequency | None) -> JSON | None:
    if f is None:
        return None
    repeat = compact(frequency=f.count, period=f.period, periodUnit=f.unit)
    return compact(repeat=repeat, code={"text": f.text} if f.text else None)


def _frequency_of(timing: JSON | None) -> Frequency | None:
    repeat = (timing or {}).get("repeat") or {}
    if repeat.get("frequency") is None:
        return None
    text = ((timing or {}).get("code") or {}).get("text", "")
    return Frequency(repeat["frequency"], repeat.get("period", 1), repeat.get("periodUnit", ""), text)


# -------------------------------------------------------------------------------------------- resources


def dosing_key(activity: Activity) -> str:
    """What must be equal for two uses of an activity to share one ActivityDefinition (not the per-phase text)."""
    if isinstance(activity, DrugActivity):
        return repr(("drug", activity.name, activity.doses, activity.route, activity.frequency))
    if isinstance(activity, Radiotherapy):
        rt = activity
        return repr(("rt", rt.name, rt.total_dose, rt.fractions, rt.dose_per_fraction, rt.techniques))
    return repr(("surgery", activity.name))


def _drug(drug: DrugActivity) -> JSON:
    """The elements of a drug, empty ones left out (``to_activity_definition`` drops an empty concept or list)."""
    route = compact(coding=_term("routes", drug.route), text=drug.route) if drug.route else None
    timing = _frequency(drug.frequency)
    levels: list[Dose | None] = list(drug.doses) or [None]
    rates = [dose_and_rate(d) if d else None for d in levels]
    dosage = [compact(text=drug.text, timing=timing, route=route, doseAndRate=[r] if r else None) for r in rates]
    return {
        "kind": "MedicationRequest",
        "productCodeableConcept": compact(coding=_drug_codings(drug.name), text=drug.name),
        "dosage": [d for d in dosage if d],
    }


def _radiotherapy(rt: Radiotherapy) -> JSON:
    """The elements of a radiotherapy, empty ones left out (``to_activity_definition`` drops an empty list)."""
    rates = [dose_and_rate(rt.total_dose, _TOTAL) if rt.total_dose else None]
    rates.append(dose_and_rate(rt.dose_per_fraction, _PER_FRACTION) if rt.dose_per_fraction else None)
    repeat = count_repeat(rt.fractions)
    dosage = compact(
        text=rt.text,
        additionalInstruction=[{"text": t} for t in rt.techniques if t],
        timing={"repeat": repeat} if repeat else None,
        doseAndRate=[r for r in rates if r],
    )
    return {
        "kind": "ServiceRequest",
        "code": compact(coding=_term("procedures", RADIOTHERAPY), text=RADIOTHERAPY),
        "dosage": [dosage] if dosage else None,
    }


def to_activity_definition(url: str, activity: Activity) -> JSON:
    """The body of the ActivityDefinition of ``activity`` (without resourceType and id), canonical ``url``; built
    without empty elements (as ``prune`` would leave it)."""
    if isinstance(activity, DrugActivity):
        body = _drug(activity)
    elif isinstance(activity, Radiotherapy):
        body = _radiotherapy(activity)
    else:
        code = compact(coding=_term("procedures", activity.name), text=activity.name)
        body = {"kind": "ServiceRequest", "code": code}
    return compact(url=url, status="active", title=activity.name, **body)


def _radiotherapy_of(ad: JSON, name: str) -> Radiotherapy:
    dosage = (ad.get("dosage") or [{}])[0]
    rates = {(dr.get("type") or {}).get("text"): dose_of(dr) for dr in dosage.get("doseAndRate", [])}
    return Radiotherapy(
        name=name,
        total_dose=rates.get(_TOTAL),
        fractions=count_of((dosage.get("timing") or {}).get("repeat") or {}),
        dose_per_fraction=rates.get(_PER_FRACTION),
        techniques=[i.get("text", "") for i in dosage.get("additionalInstruction", [])],
    )


def activity_of(ad: JSON, name: str) -> Activity:
    """The activity an ActivityDefinition of :func:`to_activity_definition` describes, named ``name`` (the action's
    title); days, sequencing and text are the action's (``r5.plan_definition``)."""
    if ad.get("kind") == "MedicationRequest":
        dosages = ad.get("dosage") or [{}]
        first = dosages[0]
        return DrugActivity(
            name=name,
            doses=[dose_of(d["doseAndRate"][0]) for d in dosages if d.get("doseAndRate")],
            route=(first.get("route") or {}).get("text"),
            frequency=_frequency_of(first.get("timing")),
        )
    if (ad.get("code") or {}).get("text") == RADIOTHERAPY:
        return _radiotherapy_of(ad, name)
    return Surgery(name=name)
