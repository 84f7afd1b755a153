"""The study's schedule of assessments (issue 10 item 3): reader (fhir_adapter.regimen.schedule) and FHIR
(fhir_adapter.fhir.r5.schedule, R4 through fhir.r4), on sentences hand-labelled from real fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, REPO
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.model import Assessment, Quantity, Trial
from fhir_adapter.regimen.schedule import assessments_of_sentence, schedule_of
from fhir_adapter.sources import read_records

SEED = REPO / "seeds" / "000_fdb36eec3c492087.txt"  # NCT07236528


def _q(value: float, unit: str) -> Quantity:
    return Quantity(value, unit=unit)


# (fixture, sentence verbatim, the assessments a person reads in it: name, every, every_cycles, cycle_day, duration,
# applies, stop, follows). Labelled by hand.
LABELLED: list[tuple[str, str, list[tuple[Any, ...]]]] = [
    (
        "seed NCT07236528",
        "Within 12 months after the first administration, imaging examinations should be conducted every 2 cycles "
        "(± 7 days)",
        [("imaging examinations", None, 2, None, None, "Within 12 months after the first administration", None, False)],
    ),
    (
        "seed NCT07236528",
        "After 12 months, imaging examinations should be conducted every 3 cycles (± 7 days)",
        [("imaging examinations", None, 3, None, None, "After 12 months", None, False)],
    ),
    (
        "seed NCT07236528",
        "Survival follow-up: After the completion or withdrawal of the study, survival and post study information "
        "will be collected through telephone follow-up every 3 months until death, loss to follow-up, withdrawal of "
        "informed consent, observation for 1 year, or termination of the study by the researcher.",
        [
            (
                "Survival follow-up",
                _q(3, "mo"),
                None,
                None,
                None,
                None,
                "until death, loss to follow-up, withdrawal of informed consent, observation for 1 year, or "
                "termination of the study by the researcher",
                False,
            )
        ],
    ),
    (
        "ctgov-v2 NCT00763412",
        "Patients will monitor their blood glucose daily and will be followed every 3 months for 2 years to determine "
        "changes in nutritional status by BMI and DEXA",
        [("be followed", _q(3, "mo"), None, None, _q(2, "a"), None, None, False)],
    ),
    (
        "ctgov-xml NCT00023673",
        "Patients are followed every 3 months for 1 year, every 4 months for 1 year, every 6 months for 3-5 years, "
        "and then annually thereafter",
        [
            ("are followed", _q(3, "mo"), None, None, _q(1, "a"), None, None, False),
            ("are followed", _q(4, "mo"), None, None, _q(1, "a"), None, None, True),
            ("are followed", _q(6, "mo"), None, None, None, None, None, True),  # "3-5 years": a range, text only
        ],
    ),
    (
        "ctgov-xml NCT01642004",
        "Participants underwent radiographic tumor assessments every 6 weeks (+/- 5 days) from week 9 (+/- 5 days) "
        "for the first year on treatment, then every 12 weeks after the first year on treatment until documented "
        "disease progression",
        [
            ("radiographic tumor assessments", _q(6, "wk"), None, None, _q(1, "a"), "from week 9", None, False),
            (
                "radiographic tumor assessments",
                _q(12, "wk"),
                None,
                None,
                None,
                None,
                "until documented disease progression",
                True,
            ),
        ],
    ),
    (
        "ctgov-xml NCT02465060",
        "After completion of study treatment, patients are followed up every 3 months for 2 years and then every 6 "
        "months for 1 year.",
        [
            (
                "are followed up",
                _q(3, "mo"),
                None,
                None,
                _q(2, "a"),
                "After completion of study treatment",
                None,
                False,
            ),
            ("are followed up", _q(6, "mo"), None, None, _q(1, "a"), None, None, True),
        ],
    ),
    (
        "ctgov-xml NCT02679963",
        "Disease will be assessed every 2 cycles by CTscan (MRI or PET-scan if the scan is not contributive) and "
        "treatment will be administered until disease progression or unacceptable toxicity",
        [("assessed", None, 2, None, None, None, None, False)],  # the "until" is the treatment's, not the scans'
    ),
    (
        "ctgov-xml NCT02028676",
        "In both groups, tests for toxicity (standard haematology and biochemistry panels) and efficacy (lymphocyte "
        "subsets including CD4 count) will be done every 12 weeks",
        [("tests for toxicity", _q(12, "wk"), None, None, None, None, None, False)],
    ),
    (
        "ctgov-v1 NCT04691895",
        "Subsequently, patients will be contacted every 6 months for a total of 12 months",
        [("contacted", _q(6, "mo"), None, None, _q(12, "mo"), None, None, False)],
    ),
    (
        "ctgov-v1 NCT04424004",
        "Specimens will be collected at baseline and every 2 weeks in conjunction with questionnaire administration",
        [("Specimens will be collected", _q(2, "wk"), None, None, None, None, None, False)],
    ),
    (
        "ctgov-v1 NCT04355897",
        "These laboratory tests which reflect inflammation, thrombosis and myocardial dysfunction (in addition hsTPN "
        "which reflects myocardial necrosis) will be repeated every 2 days during hospitalization",
        [("laboratory tests", _q(2, "d"), None, None, None, None, None, False)],
    ),
    # the brief's own examples
    (
        "issue 10",
        "Tumor assessment (CT/MRI) every 2 cycles",
        [("Tumor assessment", None, 2, None, None, None, None, False)],
    ),
    ("issue 10", "Safety visits on day 1 of each cycle", [("Safety visits", None, 1, 1, None, None, None, False)]),
    (
        "issue 10",
        "Survival follow-up every 12 weeks",
        [("Survival follow-up", _q(12, "wk"), None, None, None, None, None, False)],
    ),
]

# Sentences from real fixtures with a period that is no schedule of assessments, or a schedule too unclear to
# structure: they stay text.
KEEP_AS_TEXT = [
    # dosing (ctgov-v2 NCT02552212, ctgov-xml NCT01642004, NCT02465060, NCT00023673, the seed)
    "Certolizumab Pegol (CZP) 400 mg subcutaneous (sc) on Weeks 0, 2 and 4, followed by 200 mg CZP sc every 2 weeks "
    "(Q2W) from Week 6 onwards.",
    "Matching placebo to Certolizumab Pegol (CZP) injections are administered every 2 weeks from Week 0 onwards.",
    "Nivolumab 3 mg/kg solution intravenously (IV) every 2 weeks until documented disease progression, discontinuation "
    "due to toxicity, withdrawal of consent or the study ends",
    "Courses repeat every 28 days in the absence of disease progression or unacceptable toxicity.",
    "Treatment with paclitaxel and carboplatin may repeat every 3 weeks for up to 2 courses",
    "Maintenance phase: Carilizumab 200mg, intravenous infusion, administered once every 2 weeks, with a 4-week cycle",
    # two periods offered (ctgov-v1 NCT05520918)
    "Together with a range of conventional haematological tests and clinical observations, the LIT test was performed "
    "every day or every other day until death or discharge from the ICU",
    # no period (ctgov-v1 NCT05595538, NCT04565522, NCT04691895)
    "Every patient will have a follow-up from the consent day to day 60",
    "At every hospital visit for patients on peritoneal dialysis",
    "REDCap platform, to manage identity of people involved in the study, generates a unique identification number "
    "associated at every eCRF of the subject",
    # a follow-up visit at a point in time is no recurrence
    "A follow-up visit is scheduled 30 days after the last dose.",
]


@pytest.mark.parametrize(
    ("where", "sentence", "expected"), LABELLED, ids=[f"{w}-{i}" for i, (w, _, _) in enumerate(LABELLED)]
)
def test_labelled_sentence(where: str, sentence: str, expected: list[tuple[Any, ...]]) -> None:
    got = assessments_of_sentence(sentence)
    assert [Assessment(*e, text=sentence) for e in expected] == got  # type: ignore[misc]


@pytest.mark.parametrize("sentence", KEEP_AS_TEXT)
def test_unclear_or_dosing_text_stays_text(sentence: str) -> None:
    assert assessments_of_sentence(sentence) == []


def test_the_labelled_set_is_large_enough() -> None:
    from_fixtures = [w for w, _, _ in LABELLED if w != "issue 10"]
    assert len(from_fixtures) >= 10 and len(KEEP_AS_TEXT) >= 8


# Per fixture set: (trials whose texts state a recurring schedule of assessments, by hand; of them, trials with a
# structured schedule; assessments structured). Unstructured: ctgov-v1 NCT05520918 ("every day or every other day").
FIXTURE_SETS = {
    "seeds": (REPO / "seeds", "*.txt", 1, 1, 3),
    "ctgov-v2": (DATA / "ctgov-v2", "*.json", 1, 1, 1),
    "ctgov-xml": (DATA / "ctgov-xml", "*.xml", 5, 5, 10),
    "ctgov-v1": (DATA / "ctgov-v1", "*.json", 6, 5, 8),
}


@pytest.mark.parametrize("name", FIXTURE_SETS)
def test_fixture_counts(name: str) -> None:
    folder, pattern, stated, structured, assessments = FIXTURE_SETS[name]
    trials = [r.trial for p in sorted(folder.glob(pattern)) for r in read_records([p]) if r.trial is not None]
    scheduled = [t for t in trials if t.schedule]
    assert len(scheduled) == structured <= stated
    assert sum(len(t.schedule) for t in trials) == assessments
    assert all(t.schedule == schedule_of(t) for t in trials)  # attached where every format's Trial is made


def _seed() -> Trial:
    trial = next(r.trial for r in read_records([SEED]) if r.trial is not None)
    return trial


def _schedule_plan(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"].get("name") == "ScheduleOfActivities")


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_seed_schedule_is_one_plan_definition_in_the_protocol(release: str) -> None:
    trial = _seed()
    bundle = to_bundle(trial, release)
    study = bundle["entry"][0]["resource"]
    plan = _schedule_plan(bundle)
    full_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is plan)
    assert study["protocol"][-1] == {"reference": full_url}
    assert len(study["protocol"]) == len(trial.arms) + 1
    assert plan["type"]["coding"][0]["code"] == "clinical-protocol"
    titles = [a["title"] for a in plan["action"]]
    assert titles == ["imaging examinations", "imaging examinations", "Survival follow-up"]
    assert plan["action"][2]["timingTiming"] == {"repeat": {"frequency": 1, "period": 3, "periodUnit": "mo"}}
    assert [e["valuePositiveInt"] for a in plan["action"][:2] for e in a["extension"]] == [2, 3]
    assert from_bundle(bundle) == trial


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_every_field_round_trips(release: str) -> None:
    schedule = [
        Assessment("Safety visits", every_cycles=1, cycle_day=1, text="Safety visits on day 1 of each cycle"),
        Assessment("follow-up", every=_q(3, "mo"), duration=_q(2, "a"), applies="After treatment", text="x"),
        Assessment("follow-up", every=_q(6, "mo"), stop="until death", follows=True, text="x"),
        Assessment("scans", duration=_q(15, "mo"), text="y"),
    ]
    trial = Trial(nct_id="NCT00000010", overall_status="RECRUITING", schedule=schedule)  # R4 status is required
    bundle = to_bundle(trial, release)
    plan = _schedule_plan(bundle)
    assert plan["action"][2]["relatedAction"][0]["relationship"] == "after-end"
    assert from_bundle(bundle) == trial


def test_no_schedule_no_plan_definition() -> None:
    bundle = to_bundle(Trial(nct_id="NCT00000011"))
    assert not [e for e in bundle["entry"] if e["resource"]["resourceType"] == "PlanDefinition"]


def test_reader_is_linear_enough_on_long_text(tmp_path: Path) -> None:
    """A long description of repeated schedule sentences reads in well under a second."""
    import time

    text = "Patients are followed every 3 months for 2 years. " * 2000
    begin = time.perf_counter()
    assert len(schedule_of(Trial(detailed_description=text))) == 1  # one sentence, repeated: counted once
    assert time.perf_counter() - begin < 1.0
