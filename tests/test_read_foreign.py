"""``from_bundle`` reads other writers' FHIR (issue 11, "Read anyone's FHIR"): HL7's own ResearchStudy examples of the
R5 and R4 packages (tests/data/hl7-examples/README.md says where each file comes from), a FEvIR converter record,
HL7 codes without our extensions, contained resources, a server's searchset; what it does not understand is a
warning naming the FHIRPath, and a study that yields nothing is an error naming the record. ``pull`` writes any
server's trials, with or without an NCT id."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
import responses

from conftest import REPO
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.errors import MappingError
from fhir_adapter.fhir import foreign
from fhir_adapter.fhir.read_bundle import fhir_release
from fhir_adapter.model import DateInfo, Trial
from fhir_adapter.release import FhirRelease
from fhir_adapter.sinks.server import FhirClient, SearchQuery, pull
from fhir_adapter.sources import read_trials
from helpers import no_provenance_on_the_mocked_servers  # noqa: F401  (autouse fixture)

EXAMPLES = REPO / "tests" / "data" / "hl7-examples"
CTGOV_R5 = EXAMPLES / "r5" / "ResearchStudy-example-ctgov-study-record.json"
FEVIR = EXAMPLES / "fevir" / "researchstudy-ctgov-build-excerpt.json"
R4_EXAMPLE = EXAMPLES / "r4" / "ResearchStudy-example.json"
R5_PLACEHOLDER = EXAMPLES / "r5" / "researchstudy-example.json"
BASE = "http://fhir.test/fhir"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def _collection(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _warnings(t: Trial) -> dict[str, str]:
    return {i.location: i.message for i in t.issues if i.severity == "warning"}


# ----------------------------------------------------------------------------------------- HL7's own examples


@pytest.mark.parametrize("path", [CTGOV_R5, FEVIR, R4_EXAMPLE], ids=lambda p: p.name)
def test_every_official_example_reads_bare_and_in_a_bundle(path: Path) -> None:
    study = _load(path)
    bare = from_bundle(study)
    assert bare == from_bundle(_collection(study))
    assert bare != Trial()


def test_every_research_study_of_the_example_packages_is_vendored() -> None:
    """The README's claim: R5 5.0.0 has one ResearchStudy example (with a site study contained), R4 4.0.1 one."""
    assert sorted(p.name for p in (EXAMPLES / "r5").glob("ResearchStudy-*.json")) == [CTGOV_R5.name]
    assert sorted(p.name for p in (EXAMPLES / "r4").glob("*.json")) == [R4_EXAMPLE.name]
    contained = [c["resourceType"] for c in _load(CTGOV_R5)["contained"]]
    assert contained.count("ResearchStudy") == 1


def test_the_hl7_ctgov_example_reads_status_phase_dates_sponsor_and_sites() -> None:
    t = from_bundle(_load(CTGOV_R5))
    assert t.nct_id == "NCT05503693"
    assert t.brief_title == "A Safety, Tolerability, and Pharmacokinetics Study of AP303 in Healthy Subjects"
    assert t.overall_status == "RECRUITING"  # progressStatus research-study-status "recruiting"
    assert t.phases == ["PHASE1"]  # research-study-phase "phase-1" (terminology.hl7.org system)
    # the overall-study period, "actual": false
    assert t.start_date == DateInfo("2022-12-06", "ESTIMATED")
    assert t.completion_date == DateInfo("2023-06", "ESTIMATED")
    assert t.lead_sponsor is not None
    assert (t.lead_sponsor.name, t.lead_sponsor.agency_class) == ("Alebund Pty Ltd", "INDUSTRY")
    # site -> contained site ResearchStudy -> contained Location (#NCT05503693-Location-0)
    [site] = t.sites
    assert (site.facility, site.city, site.state, site.zip, site.country) == (
        "Nucleus Network Pty Ltd",
        "Melbourne",
        "Victoria",
        "3004",
        "Australia",
    )
    assert (site.latitude, site.longitude, site.status) == (-37.814, 144.96332, "RECRUITING")


def test_the_hl7_ctgov_example_reads_its_parties_design_arms_and_outcomes() -> None:
    study = _load(CTGOV_R5)
    t = from_bundle(study)
    [contact] = t.central_contacts  # recruitment-contact -> contained Practitioner
    assert (contact.name, contact.phone, contact.email) == (
        "Zhen LIU",
        "86 021-60836212",
        "clinicaloperation@alebund.com",
    )
    assert [(o.name, o.role, o.affiliation) for o in t.officials] == [
        ("Sam Francis, Doctor", "PRINCIPAL_INVESTIGATOR", "Nucleus Network")
    ]
    assert t.study_type == "INTERVENTIONAL"  # "CT.gov StudyType: INTERVENTIONAL"
    assert (t.design.allocation, t.design.intervention_model, t.design.masking) == (
        "RANDOMIZED",
        "SEQUENTIAL",
        "QUADRUPLE",
    )
    assert t.design.who_masked == ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"]
    assert [(a.label, a.type) for a in t.arms] == [("AP303", "EXPERIMENTAL"), ("Placebo", "PLACEBO_COMPARATOR")]
    assert t.arms[0].intervention_names[0] == "Drug: AP303 50 μg"
    assert len(t.interventions) == 8 and {i.type for i in t.interventions} == {"DRUG"}
    assert t.interventions[0].arm_labels == ["AP303"]
    assert len(t.outcomes) == len(study["outcomeMeasure"])
    hl7_types = [m["type"][0]["coding"][0]["code"] for m in study["outcomeMeasure"]]
    assert [o.type.lower() for o in t.outcomes] == hl7_types  # research-study-objective-type primary/secondary
    assert t.enrollment_count == 62


@pytest.mark.parametrize("release", ["R5", "R4"])
@pytest.mark.parametrize("path", [CTGOV_R5, FEVIR], ids=lambda p: p.name)
def test_a_foreign_trial_written_by_fhir_adapter_reads_back_the_same(path: Path, release: str) -> None:
    trial = from_bundle(_load(path))
    assert from_bundle(to_bundle(trial, release)) == trial


def test_what_the_ctgov_example_holds_beyond_the_model_is_named() -> None:
    warnings = _warnings(from_bundle(_load(CTGOV_R5)))
    assert "ResearchStudy.url" in warnings and "ResearchStudy.name" in warnings
    assert "provenance" in warnings["ResearchStudy.relatedArtifact[0]"]
    assert "fevir.net" in warnings["ResearchStudy.recruitment.eligibility"]  # a reference to another server
    assert "Alebund Pharmaceuticals" in warnings["ResearchStudy.associatedParty[0]"]  # a sponsor beside the lead
    assert not any(loc.startswith("ResearchStudy.studyDesign") for loc in warnings)  # every design text understood


def test_a_fevir_record_of_the_current_build_reads_as_r5_with_its_contained_site() -> None:
    study = _load(FEVIR)
    assert fhir_release(study) is FhirRelease.R5  # comparisonGroup (R5) beside objective (R4 and the R6 build)
    t = from_bundle(study)
    assert (t.nct_id, t.overall_status) == ("NCT05503693", "COMPLETED")
    assert (t.start_date, t.completion_date) == (DateInfo("2022-12-06", "ACTUAL"), DateInfo("2023-07-21", "ACTUAL"))
    assert [s.facility for s in t.sites] == ["Nucleus Network Pty Ltd"]
    # ct.gov enumerations under the FEvIR spelling of the system
    assert (t.study_type, t.design.allocation, t.design.who_masked) == ("INTERVENTIONAL", "RANDOMIZED", ["PARTICIPANT"])
    warnings = _warnings(t)
    assert "SEVCO:01030" in warnings["ResearchStudy.phase"]  # a SEVCO phase has no ct.gov equivalent here
    # the R6 build's shapes: objective.outcomeMeasure.endpoint, comparisonGroup.eligibility -> contained Group
    assert "ResearchStudy.objective" not in warnings
    assert [(o.measure, o.type) for o in t.outcomes] == [
        ("Single Dose and Food Effect Safety Outcome Measures", "PRIMARY"),
        ("Effect of Food on the single dose Cmax", "SECONDARY"),
    ]
    assert [(a.label, a.type, a.intervention_names) for a in t.arms] == [
        ("AP303", "EXPERIMENTAL", ["Drug: AP303 50 μg"]),
        ("Placebo", "PLACEBO_COMPARATOR", ["Drug: Placebo 50 μg"]),
    ]


def test_the_r4_placeholder_reads_its_status_under_its_own_id() -> None:
    t = from_bundle(_load(R4_EXAMPLE))
    assert (t.nct_id, t.overall_status) == (None, "COMPLETED")
    assert any(i.severity == "information" and "ResearchStudy-example" in i.message for i in t.issues)


def test_a_study_that_yields_nothing_is_an_error_naming_it() -> None:
    """HL7's R5 placeholder has only a publication status: nothing about a trial."""
    with pytest.raises(MappingError, match="ResearchStudy/example"):
        from_bundle(_load(R5_PLACEHOLDER))


# ------------------------------------------------------------------------------------ shapes of other writers


@pytest.mark.parametrize(
    "ident",
    [
        {"system": "https://clinicaltrials.gov/nctid", "value": "NCT01234567"},
        {"system": "http://clinicaltrials.gov/", "value": "NCT01234567"},
        {"system": "https://clinicaltrials.gov", "value": "NCT01234567"},
        {"value": "NCT01234567"},
    ],
)
def test_the_nct_id_under_any_spelling_of_its_system(ident: dict[str, str]) -> None:
    t = from_bundle({"resourceType": "ResearchStudy", "identifier": [ident], "title": "T"})
    assert (t.nct_id, t.secondary_ids) == ("NCT01234567", [])


def test_a_study_without_nct_id_keeps_its_own_identifier() -> None:
    study = {
        "resourceType": "ResearchStudy",
        "id": "s1",
        "identifier": [{"use": "official", "system": "https://www.isrctn.com", "value": "ISRCTN12345678"}],
        "title": "Elsewhere",
    }
    t = from_bundle(study)
    assert t.nct_id is None and [s.id for s in t.secondary_ids] == ["ISRCTN12345678"]
    assert foreign.study_key(study) == "ISRCTN12345678"
    with pytest.raises(MappingError, match="NCT id"):  # ids are derived from the NCT id (docs/architecture.md)
        to_bundle(t)


def _r4_server_searchset() -> dict[str, Any]:
    """An R4 server's answer to ``ResearchStudy?_include=*``: HL7 codes only, relative references."""
    study: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": "rs1",
        "identifier": [{"system": "https://clinicaltrials.gov/nctid", "value": "NCT07654321"}],
        "title": "A study from elsewhere",
        "status": "completed",
        "phase": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/research-study-phase", "code": "phase-2"}]
        },
        "sponsor": {"reference": "Organization/org1"},
        "site": [{"reference": f"{BASE}/Location/loc1"}],
        "period": {"start": "2020-01-15", "end": "2022-06"},
        "principalInvestigator": {"reference": "Practitioner/pi1"},
        "contact": [{"name": "Trial desk", "telecom": [{"system": "email", "value": "desk@example.org"}]}],
        "extension": [{"url": "http://example.org/fhir/StructureDefinition/local-flag", "valueBoolean": True}],
    }
    org = {"resourceType": "Organization", "id": "org1", "name": "Example University"}
    loc = {"resourceType": "Location", "id": "loc1", "name": "Example Hospital", "address": {"city": "Lyon"}}
    site_study = {"resourceType": "ResearchStudy", "id": "rs2", "partOf": [{"reference": "ResearchStudy/rs1"}]}
    entries: list[tuple[dict[str, Any], str]] = [
        (study, "match"),
        (org, "include"),
        (loc, "include"),
        (site_study, "include"),
        ({"resourceType": "Practitioner", "id": "pi1", "name": [{"family": "Doe", "given": ["Jane"]}]}, "include"),
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": mode}}
            for r, mode in entries
        ],
    }


def test_an_r4_searchset_with_hl7_codes_only_reads_status_phase_sponsor_site() -> None:
    t = from_bundle(_r4_server_searchset())
    assert (t.nct_id, t.overall_status, t.phases) == ("NCT07654321", "COMPLETED", ["PHASE2"])
    assert t.lead_sponsor is not None and t.lead_sponsor.name == "Example University"
    assert [(s.facility, s.city) for s in t.sites] == [("Example Hospital", "Lyon")]
    assert (t.start_date, t.completion_date) == (DateInfo("2020-01-15"), DateInfo("2022-06"))
    assert [(o.name, o.role) for o in t.officials] == [("Jane Doe", "PRINCIPAL_INVESTIGATOR")]
    assert [(c.name, c.email) for c in t.central_contacts] == [("Trial desk", "desk@example.org")]
    assert "ResearchStudy.extension('http://example.org/fhir/StructureDefinition/local-flag')" in _warnings(t)


def test_a_partial_read_names_each_element_it_did_not_understand() -> None:
    study = {
        "resourceType": "ResearchStudy",
        "title": "T",
        "date": "2024-01-01",
        "relatesTo": [{"type": "derived-from", "targetUri": "http://example.org"}],
        "progressStatus": [{"state": {"text": "ongoing"}}],
        "site": [{"reference": "#nowhere"}],
    }
    warnings = _warnings(from_bundle(study))
    assert {"ResearchStudy.date", "ResearchStudy.relatesTo", "ResearchStudy.progressStatus"} <= set(warnings)
    assert "#nowhere" in warnings["ResearchStudy.site[0]"]


def test_a_mapper_failure_on_a_foreign_shape_leaves_out_that_element_only() -> None:
    study = {"resourceType": "ResearchStudy", "title": "T", "label": [{"type": "not a concept", "value": "x"}]}
    t = from_bundle(study)
    assert t.brief_title == "T"
    assert "left out" in _warnings(t)["ResearchStudy.label"]


def test_our_own_bundles_are_ours_and_read_without_warnings() -> None:
    trial = next(iter(read_trials(REPO / "seeds" / "000_fdb36eec3c492087.txt")))
    for release in ("R5", "R4"):
        bundle = to_bundle(trial, release)
        study = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy")
        assert foreign.is_ours(study)
        assert from_bundle(bundle) == trial
        assert not [i for i in from_bundle(bundle).issues if i.severity == "warning"]


# ------------------------------------------------------------------------------------------------------- pull


@responses.activate
def test_pull_writes_a_foreign_trial_under_its_own_identifier(tmp_path: Path) -> None:
    """A server's trial without NCT id: written as <identifier>.json with what it references on this server; a
    reference to another server is a problem line, never fetched here; the contained Location travels inside."""
    study = {
        "resourceType": "ResearchStudy",
        "id": "x1",
        "identifier": [{"use": "official", "system": "https://www.isrctn.com", "value": "ISRCTN12345678"}],
        "title": "From elsewhere",
        "contained": [{"resourceType": "Location", "id": "l1", "name": "Contained Clinic"}],
        "site": [{"reference": "#l1"}],
        "associatedParty": [
            {
                "role": {
                    "coding": [{"system": "http://hl7.org/fhir/research-study-party-role", "code": "lead-sponsor"}]
                },
                "party": {"reference": "Organization/o1"},
            }
        ],
        "recruitment": {"eligibility": {"reference": "https://other.example/fhir/Group/g9"}},
    }
    org = {"resourceType": "Organization", "id": "o1", "name": "Sponsor Inc"}
    responses.get(f"{BASE}/metadata", json={"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"})
    page = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": copy.deepcopy(study)}]}
    responses.get(f"{BASE}/ResearchStudy", json=page)
    responses.get(
        f"{BASE}/Organization", json={"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": org}]}
    )
    with FhirClient(BASE) as client:
        summary = pull(client, tmp_path, SearchQuery(condition="anything"))
    assert summary.pulled == ["ISRCTN12345678"]
    assert summary.problems == ["https://other.example/fhir/Group/g9: on another server; not followed"]
    bundle = orjson.loads((tmp_path / "ISRCTN12345678.json").read_bytes())
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["ResearchStudy", "Organization"]
    t = from_bundle(bundle)
    assert t.lead_sponsor is not None and t.lead_sponsor.name == "Sponsor Inc"
    assert [s.facility for s in t.sites] == ["Contained Clinic"]
