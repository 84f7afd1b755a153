"""Behaviour of ``fhir_adapter.terminology`` (the API over ``mappings/``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter import terminology as t
from fhir_adapter.release import FhirRelease

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def _lossless_rows() -> list[tuple[str, str, str, str]]:
    """(axis, token, FHIR code, release) for every equivalent row of every ConceptMap."""
    rows = []
    for path in sorted(MAPPINGS.glob("*.conceptmap.json")):
        data: dict[str, Any] = json.loads(path.read_text())
        axis = data["id"].removeprefix("ctgov-").removesuffix("-r4")
        release = "R4" if data["id"].endswith("-r4") else "R5"
        by_code: dict[str, int] = {}
        elements = [e for e in data["group"][0]["element"] if not e.get("noMap")]
        for element in elements:
            by_code[element["target"][0]["code"]] = by_code.get(element["target"][0]["code"], 0) + 1
        for element in elements:
            target = element["target"][0]
            if target["relationship"] == "equivalent" and by_code[target["code"]] == 1:
                rows.append((axis, element["code"], target["code"], release))
    return rows


@pytest.mark.parametrize(("axis", "token", "code", "release"), _lossless_rows())
def test_round_trip_lossless_rows(axis: str, token: str, code: str, release: str) -> None:
    coding = t.to_fhir(axis, token, release)
    assert coding is not None
    assert coding.code == code
    assert t.from_fhir(axis, code, release) == token


def test_systems() -> None:
    assert t.system("nct") == "https://clinicaltrials.gov"
    assert t.system("mesh") == "https://www.nlm.nih.gov/mesh"  # HL7 Terminology (issue 11)
    assert t.system("mesh-umls") == "http://www.nlm.nih.gov/research/umls/mesh"  # read only: bundles written before
    assert t.system("iso3166") == "urn:iso:std:iso:3166"
    assert t.system("ctgov-milestone") == "https://fhir-adapter.dev/CodeSystem/ctgov-milestone"
    assert t.ctgov_system("phase") == "https://clinicaltrials.gov/data-api/api#enum-Phase"
    assert t.ctgov_system("overall-status") == "https://clinicaltrials.gov/data-api/api#enum-Status"
    assert "http://loinc.org" in t.all_systems()
    with pytest.raises(LookupError, match="no-such-system"):
        t.system("no-such-system")
    with pytest.raises(LookupError, match="unknown terminology axis"):
        t.ctgov_system("colour")


def test_status_r5_and_r4() -> None:
    assert t.to_fhir("overall-status", "NOT_YET_RECRUITING") == t.Coding(
        "http://hl7.org/fhir/research-study-status", "not-yet-recruiting", "Not yet recruiting"
    )
    assert t.to_fhir("overall-status", "ACTIVE_NOT_RECRUITING", "R4") == t.Coding(
        "http://hl7.org/fhir/research-study-status", "closed-to-accrual", "Closed to Accrual"
    )
    assert t.to_fhir("overall-status", "TERMINATED", "R4B") is not None
    assert t.to_fhir("overall-status", "UNKNOWN") is None
    # R4 status is required: an UNKNOWN study gets the least misleading code, never active (issue 11)
    assert t.to_fhir("overall-status", "UNKNOWN", "R4") == t.Coding(
        "http://hl7.org/fhir/research-study-status", "closed-to-accrual", "Closed to Accrual"
    )
    # many-to-one: the canonical reverse wins
    assert t.from_fhir("overall-status", "temporarily-closed-to-accrual") == "SUSPENDED"
    assert t.from_fhir("overall-status", "active", "R4") == "RECRUITING"
    assert t.from_fhir("outcome-type", "exploratory") == "OTHER_PRE_SPECIFIED"
    assert t.from_fhir("sponsor-class", "government") == "OTHER_GOV"
    with pytest.raises(ValueError, match="release"):
        t.to_fhir("overall-status", "RECRUITING", "R6")


def test_release_is_an_enum_or_its_name() -> None:
    r4 = t.to_fhir("phase", "PHASE2", FhirRelease.R4)
    assert r4 is not None and r4 == t.to_fhir("phase", "PHASE2", "r4") == t.to_fhir("phase", "PHASE2", "R4B")
    assert t.from_fhir("overall-status", "active", FhirRelease.R4) == "RECRUITING"
    assert t.phase_tokens("phase-2", FhirRelease.R5) == ["PHASE2"]


def test_release_specific_systems() -> None:
    r5 = t.to_fhir("phase", "PHASE2")
    r4 = t.to_fhir("phase", "PHASE2", "R4")
    assert r5 is not None and r4 is not None
    assert r5.system == "http://hl7.org/fhir/research-study-phase"
    assert r4.system == "http://terminology.hl7.org/CodeSystem/research-study-phase"
    pp = t.to_fhir("primary-purpose", "TREATMENT", "R4")
    assert pp is not None and pp.system == "http://terminology.hl7.org/CodeSystem/research-study-prim-purp-type"
    # axes without an R4 table use the R5 one
    assert t.to_fhir("arm-type", "OTHER", "R4") == t.to_fhir("arm-type", "OTHER")


def test_coding_to_fhir() -> None:
    assert t.Coding("s", "c", "d").to_fhir() == {"system": "s", "code": "c", "display": "d"}
    assert t.Coding("s", "c", None).to_fhir() == {"system": "s", "code": "c"}


@pytest.mark.parametrize(
    ("axis", "value", "token"),
    [
        ("overall-status", "Not yet recruiting", "NOT_YET_RECRUITING"),
        ("overall-status", "  active, NOT recruiting ", "ACTIVE_NOT_RECRUITING"),
        ("overall-status", "Unknown status", "UNKNOWN"),
        ("overall-status", "recruiting", "RECRUITING"),
        ("phase", "N/A", "NA"),
        ("phase", "Not Applicable", "NA"),
        ("phase", "Early Phase 1", "EARLY_PHASE1"),
        ("phase", "Phase 1/Phase 2", "PHASE1|PHASE2"),
        ("phase", "PHASE3", "PHASE3"),
        ("study-type", "Observational [Patient Registry]", "OBSERVATIONAL"),
        ("study-type", "Expanded Access", "EXPANDED_ACCESS"),
        ("allocation", "Non-Randomized", "NON_RANDOMIZED"),
        ("allocation", "N/A", "NA"),
        ("intervention-model", "Single Group Assignment", "SINGLE_GROUP"),
        ("observational-model", "Case Control", "CASE_CONTROL"),
        ("observational-model", "Case-Control", "CASE_CONTROL"),
        ("observational-model", "Ecologic or Community", "ECOLOGIC_OR_COMMUNITY"),
        ("time-perspective", "Cross-Sectional", "CROSS_SECTIONAL"),
        ("primary-purpose", "Educational/Counseling/Training", "ECT"),
        ("primary-purpose", "Supportive Care", "SUPPORTIVE_CARE"),
        ("arm-type", "Placebo Comparator", "PLACEBO_COMPARATOR"),
        ("intervention-type", "Dietary Supplement", "DIETARY_SUPPLEMENT"),
        ("sex", "Both", "ALL"),
        ("sex", "female", "FEMALE"),
        ("sponsor-class", "U.S. Fed", "FED"),
        ("sponsor-class", "OTHER_GOV", "OTHER_GOV"),
        ("official-role", "Principal Investigator", "PRINCIPAL_INVESTIGATOR"),
        ("contact-role", "Sub-Investigator", "SUB_INVESTIGATOR"),
        ("contact-role", "Contact", "CONTACT"),
        ("responsible-party-type", "Sponsor-Investigator", "SPONSOR_INVESTIGATOR"),
        ("date-type", "Anticipated", "ESTIMATED"),
        ("date-type", "Actual", "ACTUAL"),
        ("recruitment-status", "Suspended", "SUSPENDED"),
        ("std-age", "Older Adult", "OLDER_ADULT"),
        ("reference-type", "background", "BACKGROUND"),
        ("secondary-id-type", "Registry Identifier", "REGISTRY"),
        ("secondary-id-type", "EudraCT Number", "EUDRACT_NUMBER"),
        ("outcome-type", "Other Pre-specified", "OTHER_PRE_SPECIFIED"),
        ("who-masked", "Outcomes Assessor", "OUTCOMES_ASSESSOR"),
        ("masking", "None (Open Label)", "NONE"),
    ],
)
def test_normalize(axis: str, value: str, token: str) -> None:
    assert t.normalize(axis, value) == token


def test_normalize_unknown() -> None:
    assert t.normalize("overall-status", "Sleeping") is None
    assert t.normalize("study-type", "N/A") is None  # known legacy wording without a v2 token
    assert t.normalize("phase", "") is None
    with pytest.raises(LookupError):
        t.normalize("colour", "red")


def test_phases() -> None:
    coding = t.phase_code(["PHASE2", "PHASE1"])
    assert coding is not None and coding.code == "phase-1-phase-2"
    coding = t.phase_code(["PHASE2", "PHASE3"], "R4")
    assert coding is not None
    assert (coding.system, coding.code) == (
        "http://terminology.hl7.org/CodeSystem/research-study-phase",
        "phase-2-phase-3",
    )
    single = t.phase_code(["PHASE4"])
    assert single is not None and single.code == "phase-4"
    legacy = t.phase_code(["Phase 1/Phase 2"])
    assert legacy is not None and legacy.code == "phase-1-phase-2"
    assert t.phase_code([]) is None
    assert t.phase_code(["PHASE1", "PHASE3"]) is None  # no FHIR code for that pair
    assert t.phase_tokens("phase-1-phase-2") == ["PHASE1", "PHASE2"]
    assert t.phase_tokens("n-a") == ["NA"]
    assert t.phase_tokens("phase-9") == []
    assert t.normalize_phase("Phase 2/Phase 3") == ["PHASE2", "PHASE3"]
    assert t.normalize_phase("Phase 0") == ["EARLY_PHASE1"]
    assert t.normalize_phase("nonsense") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("None (Open Label)", ("NONE", [])),
        ("Single (Participant)", ("SINGLE", ["PARTICIPANT"])),
        ("Single (Outcomes Assessor)", ("SINGLE", ["OUTCOMES_ASSESSOR"])),
        ("Double (Participant, Investigator)", ("DOUBLE", ["PARTICIPANT", "INVESTIGATOR"])),
        ("Double (Investigator, Outcomes Assessor)", ("DOUBLE", ["INVESTIGATOR", "OUTCOMES_ASSESSOR"])),
        (
            "Triple (Participant, Care Provider, Investigator)",
            ("TRIPLE", ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR"]),
        ),
        (
            "Quadruple (Participant, Care Provider, Investigator, Outcomes Assessor)",
            ("QUADRUPLE", ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"]),
        ),
        (
            "Double Blind (Subject, Caregiver, Investigator, Outcomes Assessor)",
            ("DOUBLE", ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"]),
        ),
        ("Open Label", ("NONE", [])),
        ("Double", ("DOUBLE", [])),
        ("QUADRUPLE", ("QUADRUPLE", [])),
        ("", (None, [])),
        ("Blindfolded (Participant)", (None, ["PARTICIPANT"])),
    ],
)
def test_legacy_masking(text: str, expected: tuple[str | None, list[str]]) -> None:
    assert t.legacy_masking(text) == expected


def test_enum_values_and_displays() -> None:
    assert t.enum_values("phase") == ("NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4")
    assert "WITHHELD" in t.enum_values("overall-status")
    assert t.enum_values("date-type") == ("ACTUAL", "ESTIMATED")
    assert t.ctgov_display("overall-status", "NOT_YET_RECRUITING") == "Not yet recruiting"
    assert t.ctgov_display("phase", "PHASE1|PHASE2") == "Phase 1/Phase 2"
    assert t.ctgov_display("arm-type", "NO_SUCH") == "NO_SUCH"
    for axis in t.axes():
        for token in t.enum_values(axis):
            display = t.ctgov_display(axis, token)
            assert display
            assert "_" not in display, (axis, token)


def test_nomap_rows() -> None:
    assert t.to_fhir("sex", "ALL") is None
    assert t.to_fhir("primary-purpose", "ECT") is None
    assert t.to_fhir("intervention-type", "DRUG") is None
    assert t.to_fhir("who-masked", "INVESTIGATOR") is None
    assert t.to_fhir("phase", "PHASE7") is None
    assert t.from_fhir("phase", "phase-7") is None
    coding = t.ctgov_coding("intervention-type", "DRUG")
    assert coding == t.Coding("https://clinicaltrials.gov/data-api/api#enum-InterventionType", "DRUG", "Drug")


def test_study_design_uses_r5_system() -> None:
    coding = t.to_fhir("allocation", "RANDOMIZED")
    assert coding is not None
    assert (coding.system, coding.code) == ("http://hl7.org/fhir/study-design", "SEVCO:01003")


def test_mappings_dir() -> None:
    assert (t.mappings_dir() / "systems.json").is_file()
