"""Outcome time frames (issue 10, item 4): the parser (fhir_adapter.computable.timeframe), the R5
``timeFromEvent`` entries, their R4 form (the cross-version extension, no ``timeFromStart``: Medplum), and how many
time frames of the fixtures are structured.

``tests/data/timeframe/text-only.json`` lists the fixture time frames that stay text on purpose; every other one
must be structured. The count is printed per fixture set (run with ``-s`` to see it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DATA, REPO
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.computable.timeframe import measure_time_points, time_points
from fhir_adapter.fhir.r4 import evidence_variable as r4_ev
from fhir_adapter.fhir.r5.evidence_variable import time_frame_elements
from fhir_adapter.model import Outcome, Trial
from fhir_adapter.sources import read_records

FIXTURE_SETS = ("ctgov-v1", "ctgov-v2", "ctgov-xml", "bulk")
TEXT_ONLY = DATA / "timeframe" / "text-only.json"
UCUM = "http://unitsofmeasure.org"


def _flat(text: str) -> list[tuple[float | None, float | None, str, str | None]]:
    return [(w.low, w.high, w.unit, w.event.text) for w in time_points(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6 months", [(6, 6, "mo", None)]),
        ("up to 24 months", [(0, 24, "mo", None)]),
        ("at week 12", [(12, 12, "wk", None)]),
        ("baseline, week 4, week 8", [(0, 0, "wk", "Baseline"), (4, 4, "wk", None), (8, 8, "wk", None)]),
        ("from randomization until progression, assessed up to 5 years", [(0, 5, "a", "Randomization")]),
        ("Week 52", [(52, 52, "wk", None)]),
        ("Baseline (Week 0)", [(0, 0, "wk", "Baseline")]),
        ("From Baseline to Week 12", [(0, 12, "wk", "Baseline")]),
        ("Baseline to Week 16", [(0, 16, "wk", "Baseline")]),
        ("Randomization to Week 12", [(0, 12, "wk", "Randomization")]),
        ("From study entry to week 48", [(0, 48, "wk", "Enrollment")]),
        ("From the first dose of study drug to Day 56", [(0, 56, "d", "First dose of study treatment")]),
        ("Day 1 to Day 21", [(1, 21, "d", None)]),
        ("Days 7, 14 and 28", [(7, 7, "d", None), (14, 14, "d", None), (28, 28, "d", None)]),
        (
            "At weeks 0, 4, 24, and 48",
            [(0, 0, "wk", None), (4, 4, "wk", None), (24, 24, "wk", None), (48, 48, "wk", None)],
        ),
        ("6 month, 12 month 24 month", [(6, 6, "mo", None), (12, 12, "mo", None), (24, 24, "mo", None)]),
        ("2 and16 weeks", [(2, 2, "wk", None), (16, 16, "wk", None)]),
        ("3-5 Days", [(3, 5, "d", None)]),
        ("2-year", [(2, 2, "a", None)]),
        ("Five years", [(5, 5, "a", None)]),
        ("15 minutes", [(15, 15, "min", None)]),
        ("Up to 90 days following participant randomization", [(0, 90, "d", "Randomization")]),
        ("Within 21 days post transfusion", [(0, 21, "d", "Transfusion")]),
        ("On Day 14 and 28 after Dose 2", [(14, 14, "d", "Second dose"), (28, 28, "d", "Second dose")]),
        (
            "Day 7/28 after second dose; month 6 after first dose",
            [(7, 7, "d", "Second dose"), (28, 28, "d", "Second dose"), (6, 6, "mo", "First dose of study treatment")],
        ),
        ("Through study completion, up to 1 year", [(0, 1, "a", None)]),
        ("From 14 day after Dose 2", [(14, None, "d", "Second dose")]),
        (
            "Measured from patient randomization to death or last follow-up for patient alive or consent withdrawal "
            "up to 15 months",
            [(0, 15, "mo", "Randomization")],
        ),
        # events named in one word after or before the time: "postpartum" (delivery), "postoperative" (surgery)
        ("1-month postpartum", [(1, 1, "mo", "Delivery")]),
        ("At 3-months postpartum.", [(3, 3, "mo", "Delivery")]),
        (
            "At admission, 1st postoperative day, 5th postoperative day, on discharge day",
            [
                (0, 0, "d", "Admission"),
                (1, 1, "d", "Surgery"),
                (5, 5, "d", "Surgery"),
                (0, 0, "d", "Hospital discharge"),
            ],
        ),
        # an event alone after "at"/"on" is its own time point
        ("At delivery", [(0, 0, "d", "Delivery")]),
        ("At Birth.", [(0, 0, "d", "Birth")]),
        # events added to the table
        ("One week after each vaccination", [(1, 1, "wk", "Each vaccination")]),
        ("28 days after each immunization", [(28, 28, "d", "Each vaccination")]),
        ("Day 28 after the second COVID-19 vaccine dose", [(28, 28, "d", "Second dose")]),
        ("60 days after receiving the second dose of the vaccine", [(60, 60, "d", "Second dose")]),
        ("Within 24 weeks after COVID-19 vaccination", [(0, 24, "wk", "COVID-19 vaccination")]),
        ("within two weeks after declared cured", [(0, 2, "wk", "Declared cured")]),
        ("Up to 6 months after end of study", [(0, 6, "mo", "End of study")]),
        ("24 hours after the epidural anesthesia", [(24, 24, "h", "Epidural anesthesia")]),
        ("Thirteen weeks after the beginning of study vaccination", [(13, 13, "wk", "Start of study vaccination")]),
        # a span from the end of surgery may end "N days after surgery" (counted from its end)
        ("From end of surgery until 30 days after surgery", [(0, 30, "d", "End of surgery")]),
        ("from end of the operation to postoperative 3 days", [(0, 3, "d", "End of surgery")]),
        (
            "From end of surgery until hospital discharge, up to 30 days after surgery.",
            [(0, 30, "d", "End of surgery")],
        ),
        ("During the first 5 days after surgery", [(0, 5, "d", "Surgery")]),
        # a span across units when one is a whole multiple of the other
        ("2 months to 3 years", [(2, 36, "mo", None)]),
        ("1 year to 18 months", [(12, 18, "mo", None)]),
        ("Change from baseline at 6 months", [(0, 0, "mo", "Baseline"), (6, 6, "mo", None)]),
        ("study day 49", [(49, 49, "d", None)]),
        ("Treatment period of 7 days", [(0, 7, "d", "First dose of study treatment")]),
        ("Through study completion (30 months)", [(0, 30, "mo", None)]),
        ("Through study completion, 100 days", [(0, 100, "d", None)]),
    ],
)
def test_time_points(text: str, expected: list[tuple[float | None, float | None, str, str | None]]) -> None:
    assert _flat(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "374",  # no unit
        "15 years 5 months",  # one duration, not two points
        "1 week up to 1 year",  # a span across units with no whole multiple
        "1 week to 1 year",
        "from randomization until progression",  # a condition with no bound
        "Up to 49 months; From Randomization to Data Cut-Off 17 March 2014",
        "Randomization until 199 deaths, up to November 2014, approximately 25 months",
        "through study completion, an average of 3 years",
        "Baseline and Week 12, ±3 days and Week 24, ±3 days",
        "Up to 2 months after creation of the registry",  # an event outside the table
        "2 year/end of study",  # "/" is "or" here: one time, written twice
        "pain at postoperative 24th hour",  # "pain" is no time word
        "Day 1 of enrollment",  # the day of enrollment or the day after: unclear
        "Treatment perriod of 7 days",
        "28 days of treatment",
        "on discharge day, on average 1 week",  # an average is no bound
        "Until patient discharge from the hospital (approximately 6 months)",
        "Six weeks after the beginning of study vaccination of the corresponding cluster",
        "From the beginning of the first dose to 12 months after vaccination",  # two events
        "From 22:00 on the day before surgery until 24 hours after surgery.",
        "From randomization",  # a start with no end
        "5 years prior to inclusion",
        "Every 1 to 3 months",
        "Pre-baseline (Month -6) to Month 12",
        "Median 2 years (from randomization to 16 March 2012; maximum 2.5 years)",
    ],
)
def test_unclear_text_stays_text(text: str) -> None:
    assert time_points(text) == []


def test_a_measure_states_its_time_point() -> None:
    (w,) = measure_time_points("6-month progression free survival rate (PFS6)")
    assert (w.low, w.high, w.unit) == (6, 6, "mo")
    assert measure_time_points("Overall survival") == []
    assert measure_time_points("6-month and 12-month PFS") == []


def test_r5_entries_keep_the_verbatim_text_first() -> None:
    entries = time_frame_elements(Outcome("Disease activity", time_frame="Baseline, Week 12"))
    assert entries == [
        {
            "description": "Baseline, Week 12",
            "eventCodeableConcept": {"text": "Baseline"},
            "quantity": {"value": 0, "system": UCUM, "code": "wk"},
        },
        {"quantity": {"value": 12, "system": UCUM, "code": "wk"}},
    ]  # built without empty elements (tests/test_coded.py: as prune left them)
    assert time_frame_elements(Outcome("x", time_frame="duration of the study")) == [
        {"description": "duration of the study"}
    ]
    span = time_frame_elements(Outcome("OS", time_frame="from randomization until death, assessed up to 5 years"))
    assert span[0]["range"] == {
        "low": {"value": 0, "system": UCUM, "code": "a"},
        "high": {"value": 5, "system": UCUM, "code": "a"},
    }
    assert time_frame_elements(Outcome("6-month progression free survival rate (PFS6)")) == [
        {"quantity": {"value": 6, "system": UCUM, "code": "mo"}}
    ]


def _trial(*outcomes: Outcome) -> Trial:
    return Trial(nct_id="NCT00000001", brief_title="t", overall_status="RECRUITING", outcomes=list(outcomes))


def test_r4_carries_the_points_and_reads_them_back() -> None:
    trial = _trial(
        Outcome("A", time_frame="Week 52"),
        Outcome("B", time_frame="Baseline, week 4, week 8"),
        Outcome("C", time_frame="12 months post enrollment"),
        Outcome("D", time_frame="Up to 90 days following participant randomization"),
        Outcome("6-month progression free survival rate (PFS6)"),
        Outcome("E", time_frame="duration of the study"),
    )
    r4 = to_bundle(trial, "R4")
    evs = {
        e["resource"]["title"]: e["resource"]
        for e in r4["entry"]
        if e["resource"]["resourceType"] == "EvidenceVariable"
    }
    # R4's Duration timeFromStart is not written: Medplum's R4 EvidenceVariable (R4B's shape) refuses it
    assert all("timeFromStart" not in ch for ev in evs.values() for ch in ev["characteristic"])
    r5 = to_bundle(trial, "R5")
    r5_evs = {
        e["resource"]["title"]: e["resource"]
        for e in r5["entry"]
        if e["resource"]["resourceType"] == "EvidenceVariable"
    }
    lifted = {k: r4_ev.lift(v) for k, v in evs.items()}
    for title, ev in r5_evs.items():
        if title in lifted:  # the outcomes (eligibility is a Group in R4)
            assert lifted[title]["characteristic"] == ev["characteristic"], title
    assert from_bundle(r4) == trial == from_bundle(r5)


def test_r4_outcomes_name_their_study_in_use_context() -> None:
    trial = _trial(Outcome("A", time_frame="Week 52"))
    r4 = to_bundle(trial, "R4")
    study = next(e for e in r4["entry"] if e["resource"]["resourceType"] == "ResearchStudy")
    (ev,) = [e["resource"] for e in r4["entry"] if e["resource"]["resourceType"] == "EvidenceVariable"]
    program = {
        "system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
        "code": "program",
        "display": "Program",
    }
    assert ev["useContext"] == [
        {
            "code": program,
            "valueCodeableConcept": {
                "coding": [{"system": "https://clinicaltrials.gov", "code": "NCT00000001"}],
                "text": "NCT00000001",
            },
        }
    ]
    assert study["resource"]["identifier"][0] == {
        "use": "official",
        "system": "https://clinicaltrials.gov",
        "value": "NCT00000001",
    }
    assert "useContext" not in r4_ev.lift(ev)


def _fixture_time_frames(folder: str) -> list[str]:
    return [
        o.time_frame
        for rec in read_records([DATA / folder])
        if rec.trial is not None
        for o in rec.trial.outcomes
        if o.time_frame
    ]


def test_every_fixture_time_frame_the_parser_should_handle_is_structured() -> None:
    text_only = set(json.loads(TEXT_ONLY.read_text(encoding="utf-8"))["text_only"])
    counts, wrong = {}, []
    for folder in FIXTURE_SETS:
        frames = _fixture_time_frames(folder)
        structured = [tf for tf in frames if time_points(tf)]
        counts[folder] = (len(structured), len(frames))
        wrong += [tf for tf in frames if bool(time_points(tf)) == (tf in text_only)]
    print("\n" + "\n".join(f"{k}: {n} of {m} time frames structured" for k, (n, m) in counts.items()))
    assert not wrong, sorted(set(wrong))[:20]
    assert (
        sum(n for n, _ in counts.values()) >= 647
    )  # measured: 376 + 44 + 227 + 0 (before the events of issue 10 item 4: 586)


def test_text_only_list_names_fixture_time_frames() -> None:
    frames = {tf for folder in FIXTURE_SETS for tf in _fixture_time_frames(folder)}
    assert set(json.loads(TEXT_ONLY.read_text(encoding="utf-8"))["text_only"]) <= frames


def test_the_seed_pfs6_gets_its_six_months() -> None:
    bundle = to_bundle(next(iter(read_records([REPO / "seeds" / "000_fdb36eec3c492087.txt"]))).trial, "R5")  # type: ignore[arg-type]
    evs = [e["resource"] for e in bundle["entry"] if e["resource"].get("title", "").startswith("6-month")]
    (ev,) = evs
    assert ev["characteristic"][0]["timeFromEvent"] == [{"quantity": {"value": 6, "system": UCUM, "code": "mo"}}]


def test_outcome_time_frame_table_is_data() -> None:
    table = json.loads((REPO / "mappings" / "outcome-time-frames.json").read_text(encoding="utf-8"))
    assert all(row["forms"] and row["text"] for k, row in table["events"].items() if not k.startswith("_"))
    assert Path(REPO / "mappings" / "ucum-units.json").is_file()
