"""Issue 11 (ResearchStudy): HL7's own systems, codes and extensions instead of fhir-adapter's, both directions, R5
and R4; status that never misleads; what fhir-adapter wrote before still reads.

Codes and sources: mappings/research-study-registration.json, mappings/ctgov-overall-status-r4.conceptmap.json.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, REPO
from fhir_adapter import terminology
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.model import DataSharing, DateInfo, Mesh, Organization, Oversight, SecondaryId, Trial
from fhir_adapter.sources import read_records

SOURCES = [REPO / "seeds", DATA / "ctgov-v2", DATA / "ctgov-xml", DATA / "ctgov-v1"]
PRE_ISSUE_11 = DATA / "pre-issue-11"  # bundles fhir-adapter wrote before issue 11 (copies of the goldens of 9d7aabd)
MESH = "https://www.nlm.nih.gov/mesh"
OLD_MESH = "http://www.nlm.nih.gov/research/umls/mesh"
STATUS = "http://hl7.org/fhir/research-study-status"
REGISTRATION = "http://hl7.org/fhir/StructureDefinition/researchStudy-studyRegistration"
ACTIVITY = "http://hl7.org/fhir/research-study-registration-activity"
CLASSIFIERS = "http://hl7.org/fhir/research-study-classifiers"
EXT = "https://fhir-adapter.dev/StructureDefinition/"
# research-study-status codes that say a study is open to enrolment (R5) / R4's one such code
OPEN_R5 = {"recruiting", "enrolling-by-invitation", "active", "not-yet-recruiting"}
OPEN_STATUSES = {"RECRUITING", "ENROLLING_BY_INVITATION", "AVAILABLE", "NOT_YET_RECRUITING"}


@pytest.fixture(scope="module")
def records() -> list[Trial]:
    return [r.trial for r in read_records(SOURCES) if r.trial is not None and r.trial.nct_id]


def _study(bundle: dict[str, Any]) -> dict[str, Any]:
    rs: dict[str, Any] = bundle["entry"][0]["resource"]
    assert rs["resourceType"] == "ResearchStudy"
    return rs


def _both(trial: Trial) -> None:
    """trial -> R5 -> trial and trial -> R4 -> trial are exact."""
    assert from_bundle(to_bundle(trial, "R5")) == trial
    assert from_bundle(to_bundle(trial, "R4")) == trial


def _trial(**kw: Any) -> Trial:
    return Trial(nct_id="NCT09999999", brief_title="A study", **kw)


# ------------------------------------------------------------------------------------------------------ MeSH


def test_mesh_is_hl7_terminology_system_and_the_old_uri_still_reads() -> None:
    trial = _trial(condition_meshes=[Mesh("D003550", "Cystic Fibrosis")], intervention_meshes=[Mesh("D008687", "M")])
    for release in ("R5", "R4"):
        text = json.dumps(to_bundle(trial, release))
        assert MESH in text and OLD_MESH not in text
        assert from_bundle(json.loads(text.replace(MESH, OLD_MESH))) == trial
    _both(trial)


# ------------------------------------------------------------------------------------------------------ dates


def _dated() -> Trial:
    return _trial(
        overall_status="COMPLETED",
        start_date=DateInfo("2020-01", "ACTUAL"),
        primary_completion_date=DateInfo("2021-06-30", "ACTUAL"),
        completion_date=DateInfo("2021-12", "ESTIMATED"),
        first_submitted_date="2019-11-02",
        first_posted_date=DateInfo("2019-11-05", "ACTUAL"),
        last_update_posted_date=DateInfo("2022-01-10", "ACTUAL"),
        results_first_posted_date=DateInfo("2022-01-10", None),
        status_verified_date="2022-01",
    )


def test_milestones_are_hl7_registration_activities_and_overall_study() -> None:
    rs = _study(to_bundle(_dated()))
    assert "ctgov-milestone" not in json.dumps(rs)
    regs = [e for e in rs["extension"] if e["url"] == REGISTRATION]
    codes = {
        s["valueCodeableConcept"]["coding"][0]["code"]: e
        for e in regs
        for s in e["extension"]
        if s["url"] == "activity"
    }
    table = terminology.registration_table()["registration"]
    assert set(codes) == {r["code"] for r in table}
    assert all(
        s["valueCodeableConcept"]["coding"][0]["system"] == ACTIVITY
        for e in regs
        for s in e["extension"]
        if s["url"] == "activity"
    )
    primary = {s["url"]: s for s in codes["primary-outcome-data-collection"]["extension"]}
    assert primary["period"]["valuePeriod"] == {"end": "2021-06-30"} and primary["actual"]["valueBoolean"] is True
    overall = [p for p in rs["progressStatus"] if p["state"]["coding"][0]["code"] == "overall-study"]
    # start ACTUAL and completion ESTIMATED: one entry each (actual is one flag per entry)
    assert [(p["period"], p["actual"]) for p in overall] == [({"start": "2020-01"}, True), ({"end": "2021-12"}, False)]
    _both(_dated())


def test_equally_certain_start_and_completion_share_one_overall_study_entry() -> None:
    trial = _trial(start_date=DateInfo("2020-01", "ACTUAL"), completion_date=DateInfo("2021-12", "ACTUAL"))
    overall = [
        p for p in _study(to_bundle(trial))["progressStatus"] if p["state"]["coding"][0]["code"] == "overall-study"
    ]
    assert overall == [
        {
            "state": {"coding": [{"system": STATUS, "code": "overall-study", "display": "Overall study"}]},
            "actual": True,
            "period": {"start": "2020-01", "end": "2021-12"},
        }
    ]
    _both(trial)


def test_registration_codes_are_sourced() -> None:
    table = terminology.registration_table()
    assert "hl7.fhir.uv.extensions.r5@1.0.0" in table["sources"]["registration-activity"]
    assert all(r["ctgov"] for r in table["registration"])
    assert terminology.system("research-study-registration-activity") == ACTIVITY


# ------------------------------------------------------------------------------------------------------ status


def _states(rs: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in rs.get("progressStatus", []) if p["state"].get("coding", [{}])[0].get("code") != "overall-study"]


def test_no_unknown_study_reads_as_recruiting(records: list[Trial]) -> None:
    """Over every seed and fixture: a study reads as open (R5 state with actual true, R4 status active) only if the
    registry says so today; UNKNOWN, missing and code-less statuses never do."""
    unknown = 0
    for trial in records:
        rs5, rs4 = _study(to_bundle(trial, "R5")), _study(to_bundle(trial, "R4"))
        open_now = {
            c["code"]
            for p in _states(rs5)
            if p.get("actual") is True
            for c in p["state"]["coding"]
            if c["system"] == STATUS
        } & OPEN_R5
        if trial.overall_status not in OPEN_STATUSES:
            assert not open_now, trial.nct_id
            assert rs4["status"] != "active", trial.nct_id
        if trial.overall_status == "UNKNOWN":
            unknown += 1
            assert rs4["status"] == "closed-to-accrual" and "_status" in rs4
            # a research-study-status code on an UNKNOWN study only on its history entry (actual false), never on
            # the current state
            current = [p for p in _states(rs5) if p.get("actual") is not False and p.get("state")]
            assert not any(
                c["system"] == STATUS and c["code"] != "overall-study"
                for p in current
                for c in p["state"].get("coding", [])
            ), trial.nct_id
    assert unknown >= 10  # the fixtures do hold UNKNOWN studies


def test_unknown_study_says_what_is_known() -> None:
    trial = _trial(overall_status="UNKNOWN", last_known_status="RECRUITING", status_verified_date="2019-03")
    rs = _study(to_bundle(trial))
    current, last = _states(rs)
    assert current["actual"] is True and current["state"]["coding"][0]["code"] == "UNKNOWN"
    assert "not verified" in current["state"]["text"]
    assert last["actual"] is False and last["period"] == {"start": "2019-03"}
    assert last["state"]["coding"] == [  # the history entry (docs/architecture.md; the oracle checks the code)
        {"system": STATUS, "code": "recruiting", "display": "Recruiting"},
        {"system": terminology.ctgov_system("overall-status"), "code": "RECRUITING", "display": "Recruiting"},
    ]
    assert "Last known status" in last["state"]["text"] and "2019-03" in last["state"]["text"]
    rs4 = _study(to_bundle(trial, "R4"))
    assert rs4["status"] == "closed-to-accrual"
    assert rs4["_status"]["extension"][0]["url"] == EXT + "r4-status-reason"
    _both(trial)


def test_current_state_is_actual_and_no_status_invents_none() -> None:
    rs = _study(to_bundle(_trial(overall_status="RECRUITING")))
    assert _states(rs)[0]["actual"] is True and _states(rs)[0]["state"]["coding"][0]["code"] == "recruiting"
    bare = _trial()
    assert _states(_study(to_bundle(bare))) == []
    rs4 = _study(to_bundle(bare, "R4"))
    assert rs4["status"] == "closed-to-accrual" and "no overall status" in rs4["_status"]["extension"][0]["valueString"]
    _both(bare)
    _both(_trial(overall_status="WITHHELD"))
    assert _study(to_bundle(_trial(overall_status="WITHHELD"), "R4"))["status"] == "closed-to-accrual"


def test_r4_status_map_documents_unknown() -> None:
    cm = json.loads((REPO / "mappings" / "ctgov-overall-status-r4.conceptmap.json").read_text())
    row = next(e for e in cm["group"][0]["element"] if e["code"] == "UNKNOWN")
    assert row["target"][0]["code"] == "closed-to-accrual" and "never read as recruiting" in row["target"][0]["comment"]


# ------------------------------------------------------------------------------------------------------ classifiers


@pytest.mark.parametrize("value", [True, False, None])
def test_oversight_and_has_results_are_classifiers(value: bool | None) -> None:
    oversight = Oversight(
        has_dmc=value,
        fda_regulated_drug=value,
        fda_regulated_device=not value if value is not None else None,
        unapproved_device=value,
        ppsd=value,
        us_export=value,
        fdaaa801_violation=value,
    )
    trial = _trial(oversight=oversight, has_results=value)
    rs = _study(to_bundle(trial))
    if value is None:
        assert "classifier" not in rs
    else:
        texts = [c["text"] for c in rs["classifier"]]
        assert len(texts) == 8 and all(t.endswith((": yes", ": no")) for t in texts)
        coded = {c["code"] for cc in rs["classifier"] for c in cc.get("coding", [])}
        assert coded == {"fda-regulated-drug" if value else "fda-regulated-device"}
        assert all(c["system"] == CLASSIFIERS for cc in rs["classifier"] for c in cc.get("coding", []))
    assert not any(e["url"] == EXT + "has-results" for e in rs.get("extension", []))
    _both(trial)


def test_hl7_example_classifier_texts_and_bare_codes_read() -> None:
    bundle = to_bundle(_trial())
    rs = _study(bundle)
    rs["classifier"] = [
        {"text": "Has Results: False"},
        {"text": "Oversight Classifier: oversightHasDmc True"},
        {"text": "Oversight Classifier: isFdaRegulatedDrug False"},
        {"coding": [{"system": CLASSIFIERS, "code": "fda-regulated-device"}]},
    ]
    t = from_bundle(bundle)
    assert t.has_results is False
    assert t.oversight == Oversight(has_dmc=True, fda_regulated_drug=False, fda_regulated_device=True)


@pytest.mark.parametrize(
    "sharing",
    [
        None,
        DataSharing(),
        DataSharing(ipd_sharing="NO"),
        DataSharing(
            ipd_sharing="YES",
            description="De-identified data",
            info_types=["STUDY_PROTOCOL", "SAP"],
            time_frame="After publication",
            access_criteria="On request",
            url="https://example.org/ipd",
        ),
    ],
)
def test_data_sharing_is_readable_text(sharing: DataSharing | None) -> None:
    trial = _trial(data_sharing=sharing)
    notes = _study(to_bundle(trial)).get("note", [])
    if sharing is None:
        assert notes == []
    else:
        (note,) = notes
        assert note["text"].startswith("Individual participant data") and "{" not in note["text"]
        if sharing.info_types:
            assert "Statistical Analysis Plan (SAP)" in note["text"] and "Plan to share IPD: Yes" in note["text"]
    _both(trial)


# ------------------------------------------------------------------------------------------------------ identifiers


def test_registering_organization_is_the_org_study_id_assigner() -> None:
    org = Organization("Acme Pharma", "INDUSTRY")
    trial = _trial(organization=org, org_study_id=SecondaryId("ACME-001"))
    bundle = to_bundle(trial)
    rs = _study(bundle)
    usual = next(i for i in rs["identifier"] if i.get("use") == "usual")
    target = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == usual["assigner"]["reference"])
    assert target["resourceType"] == "Organization" and target["name"] == "Acme Pharma"
    assert not any(e["url"] == EXT + "registering-organization" for e in rs.get("extension", []))
    _both(trial)
    _both(_trial(organization=org))  # no org study id: the extension stays
    _both(_trial(organization=org, org_study_id=SecondaryId("X-1", domain="Acme registry")))


# ------------------------------------------------------------------------------------------------------ R4 description


@pytest.mark.parametrize(
    ("summary", "detail"), [("Brief.", None), ("Brief.", "Detailed."), (None, "Detailed."), ("Same.", "Same.")]
)
def test_r4_description_is_never_empty_when_a_summary_exists(summary: str | None, detail: str | None) -> None:
    trial = _trial(brief_summary=summary, detailed_description=detail)
    rs4 = _study(to_bundle(trial, "R4"))
    assert rs4["description"] == (detail or summary)
    assert ("_description" in rs4) == (detail is None)
    _both(trial)


# ------------------------------------------------------------------------------------------------------ region


def test_region_carries_the_country() -> None:
    from fhir_adapter.model import Site

    trial = _trial(sites=[Site(facility="Hospital", city="Paris", country="France")])
    region = _study(to_bundle(trial))["region"]
    assert region[0]["text"] == "France"
    assert _study(to_bundle(trial, "R4"))["location"] == region
    _both(trial)


# ------------------------------------------------------------------------------------------------------ before issue 11


def _old_form(trial: Trial) -> dict[str, Any]:
    """The ResearchStudy as fhir-adapter wrote it before issue 11 (ctgov-milestone states, the last-known-status,
    has-results and registering-organization extensions, the UMLS MeSH URI)."""
    bundle = to_bundle(trial)
    rs = _study(bundle)
    milestone = "https://fhir-adapter.dev/CodeSystem/ctgov-milestone"
    old_codes = {v: k for k, v in terminology.registration_table()["oldMilestones"]["codes"].items()}
    rs["progressStatus"] = [
        {"state": {"coding": [{"system": STATUS, "code": "recruiting"}, *_states(rs)[0]["state"]["coding"]]}}
    ]
    for attr, code in old_codes.items():
        value = getattr(trial, attr)
        if value is not None:
            date = value if isinstance(value, DateInfo) else DateInfo(value)
            entry: dict[str, Any] = {"state": {"coding": [{"system": milestone, "code": code}]}}
            entry["period"] = {"start": date.date}
            if date.type:
                entry["actual"] = date.type == "ACTUAL"
            rs["progressStatus"].append(entry)
    usual = next(i for i in rs["identifier"] if i.get("use") == "usual")
    reference = usual.pop("assigner")
    rs["extension"] = [
        {"url": EXT + "registering-organization", "valueReference": reference},
        {
            "url": EXT + "last-known-status",
            "valueCodeableConcept": {
                "coding": [{"system": terminology.ctgov_system("overall-status"), "code": trial.last_known_status}]
            },
        },
        {"url": EXT + "has-results", "valueBoolean": trial.has_results},
    ]
    rs.pop("classifier", None)
    return json.loads(json.dumps(bundle).replace(MESH, OLD_MESH))


def test_the_forms_written_before_issue_11_still_read() -> None:
    trial = copy.deepcopy(_dated())
    trial.overall_status, trial.last_known_status, trial.has_results = "UNKNOWN", "RECRUITING", True
    trial.organization, trial.org_study_id = Organization("Acme"), SecondaryId("A-1")
    trial.condition_meshes = [Mesh("D003550", "Cystic Fibrosis")]  # NLM's UI; the old bundle has API v2's padded id
    old = json.loads(json.dumps(_old_form(trial)).replace('"D003550"', '"D000003550"'))
    assert from_bundle(old) == trial


@pytest.mark.parametrize("release", ["r5", "r4"])
def test_real_pre_issue_11_bundles_read(release: str) -> None:
    old = from_bundle(json.loads((PRE_ISSUE_11 / f"NCT00763412.{release}.bundle.json").read_text()))
    new = from_bundle(to_bundle(next(r.trial for r in read_records([DATA / "ctgov-v2" / "NCT00763412.json"]))))
    fields = [
        "nct_id",
        "overall_status",
        "last_known_status",
        "status_verified_date",
        "start_date",
        "primary_completion_date",
        "completion_date",
        "first_submitted_date",
        "first_posted_date",
        "last_update_posted_date",
        "results_first_posted_date",
        "has_results",
        "organization",
        "org_study_id",
        "condition_meshes",
        "intervention_meshes",
    ]
    assert {f: getattr(old, f) for f in fields} == {f: getattr(new, f) for f in fields}
    assert old.condition_meshes and old.organization is not None and old.has_results is True


def test_pre_issue_11_copies_are_in_the_old_form() -> None:
    text = (PRE_ISSUE_11 / "NCT00763412.r5.bundle.json").read_text()
    assert OLD_MESH in text and "ctgov-milestone" in text and "registering-organization" in text


def test_files_exist() -> None:
    assert Path(terminology.mappings_dir() / "research-study-registration.json").is_file()


def test_r4_overall_study_is_its_text() -> None:
    """R4's research-study-status (4.0.1) has no overall-study: the R4 extension keeps its text; it lifts back."""
    rs4 = _study(to_bundle(_dated(), "R4"))
    states = [
        s["valueCodeableConcept"]
        for e in rs4["extension"]
        if e["url"].endswith("ResearchStudy.progressStatus")
        for s in e["extension"]
        if s["url"] == "state"
    ]
    assert {"text": "Overall study"} in states
    assert "overall-study" not in json.dumps(rs4)
    _both(_dated())


def test_results_and_documents_are_wired_both_ways() -> None:
    """E's fhir.r5.results through the ResearchStudy mapper: ``result`` and the document artifacts, R5 and R4."""
    import orjson

    for path in sorted((DATA / "ctgov-v2").glob("*.json")):
        raw = orjson.loads(path.read_bytes())
        for study in raw.get("studies", [raw]) if isinstance(raw, dict) else raw:
            if "resultsSection" not in study and "documentSection" not in study:
                continue
            trial = next(r.trial for r in read_records([path]) if r.trial is not None)
            trial.results = orjson.dumps(study["resultsSection"]).decode() if "resultsSection" in study else None
            trial.documents = orjson.dumps(study["documentSection"]).decode() if "documentSection" in study else None
            rs = _study(to_bundle(trial))
            assert bool(rs.get("result")) == (trial.results is not None)
            _both(trial)
            return
    pytest.fail("no v2 fixture with results or documents")


def test_a_value_outside_the_ct_gov_enum_is_no_invalid_enum_code() -> None:
    """Legacy XML's study type "N/A" (NCT03182660, a withheld record) is kept as given, in the legacy-wording system
    (published as a fragment), not as a code of the complete StudyType enum system; it reads back exactly."""
    from fhir_adapter import from_bundle, read_trials, to_bundle
    from fhir_adapter.terminology import ctgov_system, system

    trial = next(read_trials(Path(__file__).parent / "data" / "ctgov-xml" / "NCT03182660.xml"))
    assert trial.study_type == "N/A"
    for release in ("R5", "R4"):
        bundle = to_bundle(trial, release)
        study = bundle["entry"][0]["resource"]
        designs = study.get("studyDesign") or study.get("category") or []
        codings = [c for cc in designs for c in cc.get("coding", [])]
        assert {"system": system("ctgov-legacy-study-type"), "code": "N/A", "display": "N/A"} in codings
        assert not [c for c in codings if c["system"] == ctgov_system("study-type")]
        assert from_bundle(bundle).study_type == "N/A"
