"""The posted results as R5 Evidence resources, the sections of the results EvidenceReport.

https://hl7.org/fhir/R5/evidence.html, https://hl7.org/fhir/R5/evidencereport.html. Derived, one way: the verbatim
section the EvidenceReport keeps (:mod:`.results`) is what is read back, so nothing here needs to be lossless.

- Participant flow: one Evidence; a Count statistic per period, milestone (or reason for not completing) and group.
- Baseline characteristics: one Evidence per measure; outcome measures: one Evidence per measure, its
  ``measuredVariable`` observed as the study's outcome EvidenceVariable when that has exactly the same title. A
  statistic per group, class and category: the value as ``quantity`` (the unit as posted, text only), the group's
  denominator as ``sampleSize``, the dispersion as ``attributeEstimate``, the statistic type from ct.gov's
  paramType. Values that are no number ("NA") stay in ``note``.
  An outcome's statistical analyses follow as statistics of their own (the groups compared, the estimate and its
  type, the confidence interval with its level, the p-value with its comparator).
- Adverse events: one Evidence; per group the participants affected by deaths, serious and other adverse events
  (``numberAffected``) among those at risk (``sampleSize``). The event terms stay in the verbatim section.

Codes: ``mappings/ctgov-results.json`` (HL7 Terminology statistic-type, attribute-estimate-type, variable-role);
a paramType or dispersion without a row there is described by its text only.
"""

from __future__ import annotations

import re
from typing import Any

from fhir_adapter.fhir.common import JSON, Context

# A decimal number as ct.gov writes measurement values; anything else ("NA", "<0.001") is not read as a number.
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
# A p-value as ct.gov writes it ("<0.0001", "=0.247", "0.65"): an optional comparator, then a decimal.
_P_VALUE = re.compile(r"(<=|>=|<|>|=)? ?(\d+(\.\d+)?)")
_SEP = " — "
_COUNT = "COUNT_OF_PARTICIPANTS"


def _number(text: Any) -> int | float | None:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return text
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        return None
    return int(text) if "." not in text else float(text)


def _count(text: Any) -> int | None:
    value = _number(text)
    return value if isinstance(value, int) and value >= 0 else None


def _coded(table: dict[str, Any], key: str, system_key: str) -> JSON | None:
    row = table[system_key]
    entry = row["codes"].get(key)
    if entry is None:
        return None
    code, display = (entry[0], entry[1]) if isinstance(entry, list) else (key, entry)
    return {"coding": [{"system": row["system"], "code": code, "display": display}]}


def _role(table: dict[str, Any], code: str) -> JSON:
    role = _coded(table, code, "variable-role")
    assert role is not None, code
    return role


def _estimates(table: dict[str, Any], dispersion: str | None, m: JSON, unit: str | None) -> list[JSON]:
    """The measurement's dispersion as attributeEstimates (none when the dispersion type has no row)."""
    row = table["attribute-estimate-type"]["codes"].get(dispersion or "")
    if row is None:
        return []
    kind = _coded(table, dispersion or "", "attribute-estimate-type")
    if row[2] == "spread":
        spread = _number(m.get("spread"))
        return [{"type": kind, "quantity": {"value": spread, "unit": unit}}] if spread is not None else []
    low, high = _number(m.get("lowerLimit")), _number(m.get("upperLimit"))
    if low is None and high is None:
        return []
    bounds = {"low": {"value": low, "unit": unit} if low is not None else None}
    bounds["high"] = {"value": high, "unit": unit} if high is not None else None
    return [{"type": kind, "level": row[3], "range": bounds}]


def _denominators(measure: JSON, module: JSON) -> dict[str, int]:
    """groupId -> number of participants analysed (the measure's denominator, else the module's)."""
    denoms = measure.get("denoms") or module.get("denoms") or []
    chosen = next((d for d in denoms if str(d.get("units", "")).lower() == "participants"), None)
    counts = (chosen or {}).get("counts", [])
    return {c["groupId"]: n for c in counts if "groupId" in c and (n := _count(c.get("value"))) is not None}


def _statistic(table: dict[str, Any], measure: JSON, where: tuple[JSON, JSON, str], m: JSON) -> JSON:
    cls, cat, group = where
    value, unit = _number(m.get("value")), measure.get("unitOfMeasure")
    posted = m.get("value")
    notes = [f"Value as posted: {posted}" if value is None and posted else None, m.get("comment")]
    return {
        "description": _SEP.join(p for p in (group, cls.get("title"), cat.get("title")) if p),
        "note": [{"text": n} for n in notes if n],
        "statisticType": _coded(table, str(measure.get("paramType", "")), "statistic-type"),
        "category": {"text": cat["title"]} if cat.get("title") else None,
        "quantity": {"value": value, "unit": unit} if value is not None else None,
        "attributeEstimate": _estimates(table, measure.get("dispersionType"), m, unit),
    }


def _group_titles(measure: JSON, module: JSON) -> dict[Any, Any]:
    return {g.get("id"): g.get("title") for g in measure.get("groups") or module.get("groups") or []}


def _measure_statistics(table: dict[str, Any], measure: JSON, module: JSON) -> list[JSON]:
    groups = _group_titles(measure, module)
    denominators = _denominators(measure, module)
    out = []
    for cls in measure.get("classes", []):
        for cat in cls.get("categories", []):
            for m in cat.get("measurements", []):
                gid = m.get("groupId")
                stat = _statistic(table, measure, (cls, cat, groups.get(gid) or str(gid)), m)
                n = denominators.get(gid)
                out.append(stat | {"sampleSize": {"numberOfParticipants": n} if n is not None else None})
    return out


def _analysis_estimates(table: dict[str, Any], analysis: JSON) -> list[JSON]:
    """The confidence interval (level from ``ciPctValue``) and the p-value of an analysis, where they are numbers."""
    kinds = table["attribute-estimate-type"]["analysis"]
    system = table["attribute-estimate-type"]["system"]
    out: list[JSON] = []
    low, high, pct = (_number(analysis.get(k)) for k in ("ciLowerLimit", "ciUpperLimit", "ciPctValue"))
    if low is not None or high is not None:
        code, display = kinds["confidence-interval"]
        bounds = {
            "low": {"value": low} if low is not None else None,
            "high": {"value": high} if high is not None else None,
        }
        level = round(pct / 100, 6) if pct is not None else None
        out.append(
            {
                "type": {"coding": [{"system": system, "code": code, "display": display}]},
                "level": level,
                "range": bounds,
            }
        )
    p_value = _P_VALUE.fullmatch(str(analysis.get("pValue", "")))
    if p_value:
        comparator = p_value.group(1) if p_value.group(1) != "=" else None
        code, display = kinds["p-value"]
        quantity = {"value": _number(p_value.group(2)), "comparator": comparator}
        out.append({"type": {"coding": [{"system": system, "code": code, "display": display}]}, "quantity": quantity})
    return out


def _analysis_statistic(table: dict[str, Any], analysis: JSON, groups: dict[Any, Any]) -> JSON:
    """One statistical analysis of an outcome (a comparison of groups) as a statistic."""
    compared = " vs ".join(str(groups.get(g) or g) for g in analysis.get("groupIds", []))
    method = analysis.get("statisticalMethod")
    what = f"{analysis.get('paramType', 'Analysis')} ({method})" if method else analysis.get("paramType", "Analysis")
    value = _number(analysis.get("paramValue"))
    notes = [analysis.get("groupDescription"), analysis.get("statisticalComment"), analysis.get("estimateComment")]
    return {
        "description": _SEP.join(p for p in (compared, what) if p),
        "note": [{"text": n} for n in notes if n],
        "statisticType": _coded(table, str(analysis.get("paramType", "")), "analysis-statistic-type"),
        "quantity": {"value": value} if value is not None else None,
        "attributeEstimate": _analysis_estimates(table, analysis),
    }


def measure_evidence(table: dict[str, Any], measure: JSON, module: JSON, observed: JSON | None) -> JSON:
    """The Evidence of one baseline or outcome measure (``module``: the module holding it, for shared groups)."""
    population = measure.get("populationDescription") or module.get("populationDescription")
    frame = measure.get("timeFrame")
    return {
        "title": measure.get("title"),
        "status": "active",
        "description": measure.get("description"),
        "note": [{"text": f"Time frame: {frame}"}] if frame else None,
        "variableDefinition": [
            {"description": population, "variableRole": _role(table, "population")} if population else None,
            {
                "description": measure.get("title"),
                "variableRole": _role(table, "measuredVariable"),
                "observed": observed,
            },
        ],
        "statistic": _measure_statistics(table, measure, module)
        + [_analysis_statistic(table, a, _group_titles(measure, module)) for a in measure.get("analyses", [])],
    }


def _flow_statistics(table: dict[str, Any], module: JSON) -> list[JSON]:
    groups = {g.get("id"): g.get("title") for g in module.get("groups", [])}
    count = _coded(table, _COUNT, "statistic-type")
    out = []
    for period in module.get("periods", []):
        rows = [(m.get("type"), m.get("achievements", [])) for m in period.get("milestones", [])]
        rows += [(f"Not completed: {d.get('type')}", d.get("reasons", [])) for d in period.get("dropWithdraws", [])]
        for what, entries in rows:
            for e in entries:
                n = _count(e.get("numSubjects"))
                label = _SEP.join(str(p) for p in (period.get("title"), what, groups.get(e.get("groupId"))) if p)
                quantity = {"value": n, "unit": "participants"} if n is not None else None
                out.append({"description": label, "statisticType": count, "quantity": quantity})
    return out


def flow_evidence(table: dict[str, Any], module: JSON) -> JSON:
    """The Evidence of the participant flow: participants per period, milestone and group."""
    notes = [module.get("recruitmentDetails"), module.get("preAssignmentDetails")]
    return {
        "title": "Participant flow",
        "status": "active",
        "note": [{"text": n} for n in notes if n],
        "variableDefinition": [
            {
                "description": "Participants reaching each milestone of each period",
                "variableRole": _role(table, "measuredVariable"),
            }
        ],
        "statistic": _flow_statistics(table, module),
    }


def adverse_event_evidence(table: dict[str, Any], module: JSON) -> JSON:
    """The Evidence of the adverse events: per group, participants affected among those at risk."""
    stats = []
    for g in module.get("eventGroups", []):
        for kind, label in (("deaths", "all-cause mortality"), ("serious", "serious adverse events")):
            stats.append((g, kind, label))
        stats.append((g, "other", "other (not serious) adverse events"))
    frame = module.get("timeFrame")
    return {
        "title": "Adverse events",
        "status": "active",
        "description": module.get("description"),
        "note": [{"text": f"Time frame: {frame}"}] if frame else None,
        "variableDefinition": [
            {"description": "Participants with adverse events", "variableRole": _role(table, "measuredVariable")}
        ],
        "statistic": [
            {
                "description": _SEP.join(p for p in (g.get("title"), label) if p),
                "category": {"text": label},
                "numberAffected": _count(g.get(f"{kind}NumAffected")),
                "sampleSize": {"numberOfParticipants": _count(g.get(f"{kind}NumAtRisk"))},
            }
            for g, kind, label in stats
            if g.get(f"{kind}NumAffected") is not None or g.get(f"{kind}NumAtRisk") is not None
        ],
    }


def sections(ctx: Context, table: dict[str, Any], results: JSON, outcomes_by_title: dict[str, JSON]) -> list[JSON]:
    """The EvidenceReport sections (participant flow, baseline, outcomes, adverse events), adding their Evidence
    resources to ``ctx``; ``outcomes_by_title``: the study's outcome EvidenceVariables by title (an outcome result
    observes the one with exactly its title)."""
    out: list[JSON] = []
    flow = results.get("participantFlowModule")
    if isinstance(flow, dict):
        ref = ctx.add("Evidence", "participant-flow", flow_evidence(table, flow))
        out.append({"title": "Participant flow", "entryReference": [ref]})
    base = results.get("baselineCharacteristicsModule")
    if isinstance(base, dict):
        refs = [
            ctx.add("Evidence", f"baseline-{i}", measure_evidence(table, m, base, None))
            for i, m in enumerate(base.get("measures", []))
        ]
        out.append({"title": "Baseline characteristics", "entryReference": refs})
    outcomes = results.get("outcomeMeasuresModule")
    if isinstance(outcomes, dict):
        refs = [
            ctx.add(
                "Evidence", f"outcome-{i}", measure_evidence(table, m, {}, outcomes_by_title.get(m.get("title", "")))
            )
            for i, m in enumerate(outcomes.get("outcomeMeasures", []))
        ]
        out.append({"title": "Outcome measures", "entryReference": refs})
    events = results.get("adverseEventsModule")
    if isinstance(events, dict):
        ref = ctx.add("Evidence", "adverse-events", adverse_event_evidence(table, events))
        out.append({"title": "Adverse events", "entryReference": [ref]})
    return out
