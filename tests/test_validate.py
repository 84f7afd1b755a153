"""Offline FHIR R5 validation (fhir_adapter.validate): layers 1-3, every issue collected, with its location."""

from __future__ import annotations

import copy
import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.errors import FhirAdapterError
from fhir_adapter.issues import Issue
from fhir_adapter.release import FhirRelease
from fhir_adapter.validate import has_errors, profile, to_operation_outcome, validate
from fhir_adapter.validate.profile import SKIPPED_CONSTRAINTS, check_profile

DATA = Path(__file__).parent / "data" / "validate"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


@pytest.fixture
def study() -> dict[str, Any]:
    return load("valid_research_study.json")


@pytest.fixture
def bundle() -> dict[str, Any]:
    return load("valid_bundle.json")


def errors(issues: list[Issue]) -> dict[str, Issue]:
    return {i.location: i for i in issues if i.is_error}


def entry_of(bundle: dict[str, Any], resource_type: str) -> tuple[int, dict[str, Any]]:
    for i, entry in enumerate(bundle["entry"]):
        if entry["resource"]["resourceType"] == resource_type:
            return i, entry["resource"]
    raise AssertionError(resource_type)


# --- valid content ------------------------------------------------------------------------------------------------


def test_valid_research_study_has_no_issues(study: dict[str, Any]) -> None:
    assert validate(study) == []


def test_valid_bundle_has_no_issues(bundle: dict[str, Any]) -> None:
    assert len(bundle["entry"]) == 20
    assert validate(bundle) == []
    assert not has_errors(validate(bundle))


def test_validate_does_not_modify_input(bundle: dict[str, Any]) -> None:
    before = copy.deepcopy(bundle)
    validate(bundle)
    assert bundle == before


# --- layer 1: structure -------------------------------------------------------------------------------------------


def test_missing_required_status(study: dict[str, Any]) -> None:
    del study["status"]
    found = errors(validate(study))
    assert found["ResearchStudy.status"].code == "required"


def test_wrong_primitive_type(study: dict[str, Any]) -> None:
    study["title"] = 42
    issue = errors(validate(study))["ResearchStudy.title"]
    assert "string" in issue.message


def test_missing_required_nested_element_has_indexed_location(bundle: dict[str, Any]) -> None:
    i, rs = entry_of(bundle, "ResearchStudy")
    del rs["comparisonGroup"][1]["name"]
    assert f"Bundle.entry[{i}].resource.comparisonGroup[1].name" in errors(validate(bundle))


def test_unknown_and_missing_resource_type() -> None:
    assert errors(validate({"resourceType": "Foo"}))["resourceType"].code == "structure"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Foo"}}, {"resource": {"status": "active"}}],
    }
    found = errors(validate(bundle))
    assert "Bundle.entry[0].resource.resourceType" in found
    assert found["Bundle.entry[1].resource.resourceType"].code == "required"


def test_errors_in_two_entries_are_both_reported(bundle: dict[str, Any]) -> None:
    i, rs = entry_of(bundle, "ResearchStudy")
    j, org = entry_of(bundle, "Organization")
    rs["title"] = 42  # a type error in one entry ...
    del org["name"]
    org["name"] = ["not a string"]  # ... and another in a second one
    found = errors(validate(bundle))
    assert f"Bundle.entry[{i}].resource.title" in found
    assert f"Bundle.entry[{j}].resource.name" in found


# --- layer 2: required bindings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda rs: rs.update(status="bogus"), "ResearchStudy.status"),
        (lambda rs: rs["identifier"][0].update(use="primary"), "ResearchStudy.identifier[0].use"),
    ],
)
def test_bad_code_in_required_binding(study: dict[str, Any], change: Any, location: str) -> None:
    change(study)
    issue = errors(validate(study))[location]
    assert issue.code == "code-invalid"
    assert "required value set" in issue.message


def test_bundle_type_bad_code(bundle: dict[str, Any]) -> None:
    bundle["type"] = "trans"
    issue = errors(validate(bundle))["Bundle.type"]
    assert "bundle-type" in issue.message


def test_quantity_comparator_and_combination_code(bundle: dict[str, Any]) -> None:
    i, ev = entry_of(bundle, "EvidenceVariable")
    ev["characteristic"][1]["definitionByTypeAndValue"]["valueQuantity"]["comparator"] = "~"
    ev["characteristic"][2]["definitionByCombination"]["code"] = "some-of"
    found = errors(validate(bundle))
    base = f"Bundle.entry[{i}].resource.characteristic"
    assert found[f"{base}[1].definitionByTypeAndValue.valueQuantity.comparator"].code == "code-invalid"
    assert found[f"{base}[2].definitionByCombination.code"].code == "code-invalid"


def test_coding_with_required_binding_checks_system_and_code() -> None:
    oo = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "details": {"text": "x"}}],
    }
    assert validate(oo) == []
    oo["issue"][0]["severity"] = "severe"
    assert "OperationOutcome.issue[0].severity" in errors(validate(oo))


# --- layer 2: invariants ------------------------------------------------------------------------------------------


def test_evv1_two_definitions_in_one_characteristic(bundle: dict[str, Any]) -> None:
    i, ev = entry_of(bundle, "EvidenceVariable")
    ev["characteristic"][0]["definitionCodeableConcept"] = {"text": "adult"}
    issue = errors(validate(bundle))[f"Bundle.entry[{i}].resource.characteristic[0]"]
    assert issue.code == "invariant"
    assert issue.message.startswith("constraint evv-1 failed")


def test_rng2_low_above_high(bundle: dict[str, Any]) -> None:
    i, ev = entry_of(bundle, "EvidenceVariable")
    rng = ev["characteristic"][0]["definitionByTypeAndValue"]["valueRange"]
    rng["low"]["value"], rng["high"]["value"] = 85, 18
    location = f"Bundle.entry[{i}].resource.characteristic[0].definitionByTypeAndValue.valueRange"
    issue = errors(validate(bundle))[location]
    assert "rng-2" in issue.message


def test_rng2_and_per1_pass_for_ordered_values(study: dict[str, Any]) -> None:
    rng = {"low": {"value": 18.5, "unit": "a"}, "high": {"value": 18.5, "unit": "a"}}
    ev = {
        "resourceType": "EvidenceVariable",
        "status": "active",
        "characteristic": [{"definitionByTypeAndValue": {"type": {"text": "age"}, "valueRange": rng}}],
    }
    assert validate(ev) == []
    study["period"] = {"start": "2020-01-01", "end": "2019-12"}  # no time zone: the boundaries overlap by hours
    assert validate(study) == []
    study["period"] = {"start": "2020-02-01", "end": "2019-12"}
    assert "per-1" in errors(validate(study))["ResearchStudy.period"].message


def test_ele1_empty_object_reported_once(study: dict[str, Any]) -> None:
    study["meta"] = {}
    issues = validate(study)
    assert [i.location for i in issues] == ["ResearchStudy.meta"]
    assert "ele-1" in issues[0].message


def test_empty_string_and_array_reported_once(study: dict[str, Any]) -> None:
    study["title"] = ""
    study["keyword"] = []
    study["comparisonGroup"][0]["description"] = "   "
    issues = validate(study)
    locations = [i.location for i in issues]
    assert sorted(locations) == sorted(
        ["ResearchStudy.title", "ResearchStudy.keyword", "ResearchStudy.comparisonGroup[0].description"]
    )
    assert all(i.is_error for i in issues)


def test_ext1_extension_without_value(study: dict[str, Any]) -> None:
    study["extension"][0].pop("valueCode")
    issues = [i for i in validate(study) if "ext-1" in i.message]
    assert [i.location for i in issues] == ["ResearchStudy.extension[0]"]


def test_contained_reference_ref1(study: dict[str, Any]) -> None:
    study["recruitment"]["eligibility"] = {"reference": "#missing"}
    assert "ref-1" in errors(validate(study))["ResearchStudy.recruitment.eligibility"].message


# --- layer 3: bundle checks ---------------------------------------------------------------------------------------


def test_dangling_reference(bundle: dict[str, Any]) -> None:
    i, rs = entry_of(bundle, "ResearchStudy")
    rs["recruitment"]["eligibility"]["reference"] = "EvidenceVariable/nope"
    issue = errors(validate(bundle))[f"Bundle.entry[{i}].resource.recruitment.eligibility.reference"]
    assert issue.code == "not-found"


def test_unresolved_absolute_url_is_a_warning(bundle: dict[str, Any]) -> None:
    _, rs = entry_of(bundle, "ResearchStudy")
    rs["associatedParty"][0]["party"]["reference"] = "https://other.example/fhir/Organization/x"
    issues = validate(bundle)
    assert not has_errors(issues)
    assert [(i.severity, i.code) for i in issues] == [("warning", "not-found")]


def test_urn_references_resolve_to_full_urls() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:9b3e5d2c-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Organization", "name": "Acme"},
                "request": {"method": "POST", "url": "Organization"},
            },
            {
                "fullUrl": "urn:uuid:9b3e5d2c-0000-4000-8000-000000000002",
                "resource": {
                    "resourceType": "Location",
                    "name": "Site",
                    "managingOrganization": {"reference": "urn:uuid:9b3e5d2c-0000-4000-8000-000000000001"},
                },
                "request": {"method": "POST", "url": "Location"},
            },
        ],
    }
    assert validate(bundle) == []
    bundle["entry"][1]["resource"]["managingOrganization"]["reference"] = "urn:uuid:nope"
    assert "Bundle.entry[1].resource.managingOrganization.reference" in errors(validate(bundle))
    del bundle["entry"][0]["request"]
    assert "Bundle.entry[0].request" in errors(validate(bundle))


def test_duplicate_full_url_and_type_id(bundle: dict[str, Any]) -> None:
    bundle["entry"][5]["fullUrl"] = bundle["entry"][4]["fullUrl"]
    bundle["entry"][7]["resource"]["id"] = bundle["entry"][6]["resource"]["id"] = "same"
    bundle["entry"][7]["resource"]["resourceType"] = bundle["entry"][6]["resource"]["resourceType"]
    found = errors(validate(bundle))
    assert found["Bundle.entry[5].fullUrl"].code == "duplicate"
    assert found["Bundle.entry[7].resource.id"].code == "duplicate"


def test_empty_string_in_bundle_entry(bundle: dict[str, Any]) -> None:
    j, org = entry_of(bundle, "Organization")
    org["contact"][0]["address"]["city"] = ""
    issues = validate(bundle)
    assert [i.location for i in issues] == [f"Bundle.entry[{j}].resource.contact[0].address.city"]


# --- API ----------------------------------------------------------------------------------------------------------


def test_unknown_release_is_refused(study: dict[str, Any]) -> None:
    with pytest.raises(FhirAdapterError, match="R6"):
        validate(study, fhir_version="R6")


def test_r4_fast_check_tells_r4_from_r5() -> None:
    r4_study = {"resourceType": "ResearchStudy", "status": "active"}
    assert not any(i.is_error for i in validate(r4_study, fhir_version="R4"))
    r5_only = {"resourceType": "ResearchStudy", "status": "active", "progressStatus": [{"actual": True}]}
    assert any(i.is_error and "progressStatus" in i.location for i in validate(r5_only, fhir_version="R4"))
    # a release is a FhirRelease or its name, in any case
    assert validate(r5_only, FhirRelease.R4) == validate(r5_only, "r4") == validate(r5_only, "R4")
    assert validate(r4_study, FhirRelease.R5) == validate(r4_study, "r5")


def test_operation_outcome_validates(study: dict[str, Any]) -> None:
    study["status"] = "bogus"
    study["title"] = 42
    issues = validate(study)
    outcome = to_operation_outcome(issues)
    assert validate(outcome) == []
    assert [x["expression"] for x in outcome["issue"]] == [[i.location] for i in issues]
    assert {x["code"] for x in outcome["issue"]} == {"code-invalid", "value"}
    empty = to_operation_outcome([])
    assert empty["issue"] == [{"severity": "information", "code": "informational", "diagnostics": "No issues"}]
    assert validate(empty) == []


def test_long_values_are_cut_in_messages(study: dict[str, Any]) -> None:
    study["status"] = "x" * 500
    (issue,) = validate(study)
    assert len(issue.message) < 300


def test_not_an_object() -> None:
    assert has_errors(validate([]))  # type: ignore[arg-type]


# --- definitions and the profile layer itself ---------------------------------------------------------------------


def test_definitions_subset_metadata_and_size() -> None:
    path = profile.DEFINITIONS
    assert path.stat().st_size < 1_000_000
    meta = json.loads(gzip.decompress(path.read_bytes()))["metadata"]
    assert (meta["package"], meta["version"]) == ("hl7.fhir.r5.core", "5.0.0")
    assert len(meta["package_json_sha256"]) == 64


def test_skipped_constraints_are_exactly_the_unevaluable_ones(bundle: dict[str, Any]) -> None:
    assert set(SKIPPED_CONSTRAINTS) == {"ele-1", "bdl-7", "txt-1", "txt-2"}
    profile.EVALUATION_FAILURES.clear()
    broken = copy.deepcopy(bundle)
    _, ev = entry_of(broken, "EvidenceVariable")
    ev["characteristic"][0]["definitionByTypeAndValue"]["valueRange"]["low"]["value"] = 99
    assert check_profile(bundle) == []
    assert [i.message.split()[1] for i in check_profile(broken)] == ["rng-2"]
    assert not profile.EVALUATION_FAILURES  # every constraint that ran was evaluated by fhirpathpy
    # every skipped key exists in the definitions; the fhirpathpy ones really cannot be evaluated
    declared = {
        c["key"]: c["expression"]
        for sd in profile._raw()["types"].values()
        for el in sd["elements"]
        for c in el.get("constraint", [])
    }
    assert set(SKIPPED_CONSTRAINTS) <= set(declared)
    for key in ("txt-1", "txt-2"):
        with pytest.raises(Exception, match="htmlChecks"):
            profile._compile(key, "", declared[key]).fn({"div": "<div/>"}, {})


def test_profile_layer_speed(bundle: dict[str, Any]) -> None:
    check_profile(bundle)  # compile and cache
    runs = 20
    start = time.perf_counter()
    for _ in range(runs):
        check_profile(bundle)
    per_bundle = (time.perf_counter() - start) / runs
    assert per_bundle < 0.05  # ~4.5 ms measured for 20 resources; generous bound for slow CI machines


def test_nulls_are_reported_without_hiding_other_errors(study: dict[str, Any]) -> None:
    study["comparisonGroup"].insert(0, None)
    study["comparisonGroup"][2]["name"] = 7
    study["period"] = None
    found = errors(validate(study))
    assert "null" in found["ResearchStudy.comparisonGroup[0]"].message
    assert "null" in found["ResearchStudy.period"].message
    assert "ResearchStudy.comparisonGroup[2].name" in found  # original index, after the null
