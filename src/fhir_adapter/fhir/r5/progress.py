"""The study's status and dated milestones (R5) <-> the Trial. https://hl7.org/fhir/R5/researchstudy.html

- ``ResearchStudy.progressStatus``: the current state (the registry's overall status, research-study-status code +
  ct.gov coding, ``actual: true`` so that the ``progress-status-state-actual`` search finds it); an UNKNOWN study's
  current state is UNKNOWN alone, and its last known status a dated history entry with ``actual: false`` (its
  research-study-status code and the ct.gov coding, as docs/architecture.md decides: a search for actual states,
  and ``pull --status``, never read it as current); the study's start and completion as HL7's ``overall-study``
  state with ``period`` and ``actual``, as HL7's ct.gov example ``researchstudy-example-ctgov-study-record``
  writes them.
- The registration milestones (first submitted / posted, primary completion, results posted, last update, status
  verified): HL7's extension ``researchStudy-studyRegistration``
  (https://hl7.org/fhir/extensions/StructureDefinition-researchStudy-studyRegistration.html) with
  ``research-study-registration-activity`` codes.

Every code and where it comes from: ``mappings/research-study-registration.json``. The reverse also reads what
fhir-adapter wrote before issue 11 (the ``ctgov-milestone`` states in progressStatus, the ``last-known-status``
extension), so that bundles already on servers still read.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, coded, get_extension, pruned, token_of
from fhir_adapter.model import DateInfo, Trial

_ACTUAL = "ACTUAL"
_ESTIMATED = "ESTIMATED"


def _actual(date: DateInfo) -> bool | None:
    return None if date.type is None else date.type == _ACTUAL


def _date_type(actual: Any) -> str | None:
    return None if actual is None else _ACTUAL if actual else _ESTIMATED


def _overall_study_state() -> JSON:
    spec = terminology.registration_table()["overallStudy"]
    coding = {"system": terminology.system("research-study-status"), "code": spec["code"], "display": spec["display"]}
    return {"coding": [coding]}


def _last_known(t: Trial, token: str) -> JSON:
    """An UNKNOWN study's last known status: dated by the status verification, ``actual: false`` (history, not the
    current state), its research-study-status code (when the ConceptMap has one) and the ct.gov coding."""
    texts = terminology.registration_table()["status"]
    verified = f", {texts['verified']} {t.status_verified_date}" if t.status_verified_date else ""
    display = terminology.ctgov_display("overall-status", token)
    hl7 = terminology.to_fhir("overall-status", token)
    return {
        "state": {
            "coding": ([hl7.to_fhir()] if hl7 is not None else [])
            + [terminology.ctgov_coding("overall-status", token).to_fhir()],
            "text": f"{texts['lastKnown']}{verified}: {display}",
        },
        "actual": False,
        "period": {"start": t.status_verified_date} if t.status_verified_date else None,
    }


def _overall_entry(actual: bool | None, period: dict[str, str]) -> JSON:
    """An ``overall-study`` entry without empty elements (an unknown certainty or empty date left out)."""
    out: JSON = {"state": _overall_study_state()}
    if actual is not None:
        out["actual"] = actual
    dates = {bound: date for bound, date in period.items() if date}
    if dates:
        out["period"] = dates
    return out


def _overall_study(t: Trial) -> list[JSON]:
    """The ``overall-study`` entries: one with start and end when both dates are equally certain, else one each."""
    start, end = t.start_date, t.completion_date
    if start is not None and end is not None and start.type == end.type:
        return [_overall_entry(_actual(start), {"start": start.date, "end": end.date})]
    return [
        _overall_entry(_actual(date), {bound: date.date})
        for bound, date in (("start", start), ("end", end))
        if date is not None
    ]


def to_progress(t: Trial) -> list[JSON]:
    """``ResearchStudy.progressStatus``: the current state, an UNKNOWN study's last known one, ``overall-study``.
    Without empty elements (``coded`` holds none; the last known state pruned): ``bundle`` does not prune it."""
    out: list[JSON] = []
    if t.overall_status:
        unknown = terminology.registration_table()["status"]["unknown"] if t.overall_status == "UNKNOWN" else None
        out.append({"state": coded("overall-status", t.overall_status, unknown), "actual": True})
    if t.last_known_status:
        out.append(pruned(_last_known(t, t.last_known_status)))
    return out + _overall_study(t)


def to_registration(t: Trial) -> list[JSON]:
    """One ``researchStudy-studyRegistration`` extension per registration milestone the record dates, without empty
    elements (``bundle`` does not prune the study's ``extension``; the table's codes and displays are not empty,
    tests/test_coded.py): an empty date leaves the period out, as ``prune`` did."""
    url = terminology.system("research-study-registration-ext")
    activities = terminology.system("research-study-registration-activity")
    out: list[JSON] = []
    for row in terminology.registration_table()["registration"]:
        value = getattr(t, row["attr"])
        if value is None:
            continue
        date = value if isinstance(value, DateInfo) else DateInfo(value)
        activity = {"coding": [{"system": activities, "code": row["code"], "display": row["display"]}]}
        subs: list[JSON] = [{"url": "activity", "valueCodeableConcept": activity}]
        if date.type:
            subs.append({"url": "actual", "valueBoolean": _actual(date)})
        period = {bound: date.date for bound in row["bounds"]} if date.date else None
        subs.append({"url": "period", "valuePeriod": period} if period else {"url": "period"})
        out.append({"url": url, "extension": subs})
    return out


# ---------------------------------------------------------------------------------------------------- reverse


def _set_date(t: Trial, attr: str, date: str, actual: Any, plain: bool) -> None:
    setattr(t, attr, date if plain else DateInfo(date, _date_type(actual)))


def _read_overall_study(p: JSON, t: Trial) -> None:
    period = p.get("period") or {}
    spec = terminology.registration_table()["overallStudy"]
    for bound in ("start", "end"):
        if period.get(bound) is not None:
            _set_date(t, spec[bound], str(period[bound]), p.get("actual"), plain=False)


def _read_old_milestone(p: JSON, code: str, t: Trial) -> None:
    """A ``ctgov-milestone`` state (fhir-adapter before issue 11): the date in ``period.start``."""
    attr = terminology.registration_table()["oldMilestones"]["codes"].get(code)
    if attr is None:
        return
    plain = any(r["attr"] == attr and r.get("plain") for r in terminology.registration_table()["registration"])
    _set_date(t, attr, str((p.get("period") or {}).get("start", "")), p.get("actual"), plain)


def _read_state(p: JSON, t: Trial) -> None:
    codings = (p.get("state") or {}).get("coding", [])
    systems = {(c.get("system"), c.get("code")) for c in codings}
    if (terminology.system("research-study-status"), "overall-study") in systems:
        _read_overall_study(p, t)
        return
    old = terminology.system("ctgov-milestone")
    milestone = next((str(c.get("code", "")) for c in codings if c.get("system") == old), None)
    if milestone is not None:
        _read_old_milestone(p, milestone, t)
        return
    token = token_of("overall-status", p.get("state")) or _token_of_hl7(codings)
    if token is None:
        return
    if p.get("actual") is False:
        t.last_known_status = token
    elif t.overall_status is None:
        t.overall_status = token


def _token_of_hl7(codings: list[JSON]) -> str | None:
    """The ct.gov token of a research-study-status code alone (a study another tool wrote)."""
    system = terminology.system("research-study-status")
    codes = [str(c.get("code", "")) for c in codings if c.get("system") == system]
    return next((tok for code in codes if (tok := terminology.from_fhir("overall-status", code))), None)


def _sub(ext: JSON, name: str) -> Any:
    for sub in ext.get("extension", []):
        if sub.get("url") == name:
            return next((v for k, v in sub.items() if k.startswith("value")), None)
    return None


def _read_registration(ext: JSON, t: Trial) -> None:
    rows = {r["code"]: r for r in terminology.registration_table()["registration"]}
    system = terminology.system("research-study-registration-activity")
    activity = _sub(ext, "activity") or {}
    code = next((c.get("code") for c in activity.get("coding", []) if c.get("system") == system), None)
    row = rows.get(str(code))
    period = _sub(ext, "period") or {}
    if row is None:
        return
    date = next((period[b] for b in row["bounds"] if period.get(b) is not None), None)
    if date is not None:
        _set_date(t, row["attr"], str(date), _sub(ext, "actual"), bool(row.get("plain")))


def read_progress(rs: JSON, t: Trial) -> None:
    """Status, last known status and dates of ``rs`` into ``t`` (HL7's forms and fhir-adapter's earlier ones)."""
    last = get_extension(rs, "last-known-status")  # before issue 11
    if last:
        t.last_known_status = token_of("overall-status", last.get("valueCodeableConcept"))
    for p in rs.get("progressStatus", []):
        _read_state(p, t)
    url = terminology.system("research-study-registration-ext")
    for ext in rs.get("extension", []):
        if ext.get("url") == url:
            _read_registration(ext, t)
