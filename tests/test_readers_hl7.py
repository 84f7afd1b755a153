"""The readers' side of issue 11: canonical MeSH ids, oversight and data-sharing facts, posted results and documents
kept verbatim, the 2014-era ``<study_design>`` string, outcome descriptions of the text page, and no invented status
(API v2 and v1 JSON, legacy XML, the text page)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from conftest import DATA
from fhir_adapter.errors import LimitExceeded
from fhir_adapter.limits import Limits
from fhir_adapter.model import DataSharing, Design, Oversight, Source, Trial
from fhir_adapter.sources.ctgov_json import read_study
from fhir_adapter.sources.ctgov_v1 import iter_v1_studies, read_v1_study
from fhir_adapter.sources.ctgov_xml import read_clinical_study
from fhir_adapter.sources.ctgov_xml_design import design_parts
from fhir_adapter.sources.mesh import canonical_mesh_ui
from fhir_adapter.sources.text_page import read_text_page

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
V2 = DATA / "ctgov-v2"


def v2(**modules: Any) -> dict[str, Any]:
    ps: dict[str, Any] = {"identificationModule": {"nctId": "NCT00000001"}}
    ps.update(modules)
    return {"protocolSection": ps}


def read_v2(doc: dict[str, Any], limits: Limits | None = None) -> Trial:
    source = Source("ctgov-json", "t.json")
    return read_study(doc, source) if limits is None else read_study(doc, source, limits=limits)


def xml(body: str) -> Trial:
    data = f"<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info>{body}</clinical_study>".encode()
    return read_clinical_study(data, Source("ctgov-xml", "t.xml"))


def v1(**modules: Any) -> Trial:
    ps: dict[str, Any] = {"IdentificationModule": {"NCTId": "NCT00000001"}}
    ps.update(modules)
    return read_v1_study({"ProtocolSection": ps}, Source("ctgov-v1", "t.json"))


def warned(t: Trial, location: str) -> bool:
    return any(i.location == location and i.severity == "warning" for i in t.issues)


# ------------------------------------------------------------------------------------------------------ MeSH ids


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("D000003731", "D003731"),  # API v2 padding of a 7-character descriptor id
        ("D000000001", "D000001"),
        ("D000064418", "D064418"),  # the bulletin's own example of an existing 7-character id
        ("D000086382", "D000086382"),  # a real 10-character descriptor id (given out after 2014)
        ("D000066388", "D000066388"),
        ("D000064419", "D000064419"),  # between the bulletin's example and the first long ids: kept as given
        ("C000072379", "C072379"),  # supplementary concept records: the same padding and rule
        ("C000578561", "C578561"),
        ("C000578562", "C000578562"),
        ("C000589078", "C000589078"),
        ("D003731", "D003731"),  # already canonical
        (" D000003731 ", "D003731"),
        ("D100003731", "D100003731"),  # not a padded id
        ("Q000008", "Q000008"),  # qualifiers are not read by any reader; left alone
        ("", ""),
    ],
)
def test_canonical_mesh_ui(given: str, canonical: str) -> None:
    assert canonical_mesh_ui(given) == canonical


def test_every_reader_gives_canonical_mesh_ids() -> None:
    t = read_v2(
        {
            **v2(),
            "derivedSection": {
                "conditionBrowseModule": {"meshes": [{"id": "D000003731", "term": "Dental Caries"}]},
                "interventionBrowseModule": {"meshes": [{"id": "D000086382", "term": "COVID-19 Vaccines"}]},
            },
        }
    )
    assert [m.id for m in t.condition_meshes] == ["D003731"]
    assert [m.id for m in t.intervention_meshes] == ["D000086382"]
    ids: list[str] = []
    for path in sorted(V2.glob("*.json")):
        ids += [m.id for m in _meshes(read_v2(json.loads(path.read_bytes())))]
    for path in sorted((DATA / "ctgov-v1").glob("*.json")):
        for index, record in iter_v1_studies(json.loads(path.read_bytes()), str(path)):
            ids += [m.id for m in _meshes(read_v1_study(record, Source("ctgov-v1", str(path), index)))]
    assert len(ids) > 100
    assert all(re.fullmatch(r"[CD]\d{6}", i) or int(i[1:]) > 64418 for i in ids), ids
    assert {"D003920", "D000068582"} <= set(ids)  # both kinds occur in the fixtures


def _meshes(t: Trial) -> list[Any]:
    return t.condition_meshes + t.intervention_meshes


# ------------------------------------------------------------------------------------------ oversight, data sharing


def test_v2_oversight_and_data_sharing() -> None:
    t = read_v2(
        v2(
            oversightModule={"oversightHasDmc": True, "isFdaRegulatedDrug": False, "isUsExport": "maybe", "x": 1},
            ipdSharingStatementModule={
                "ipdSharing": "YES",
                "description": "De-identified data.",
                "infoTypes": ["STUDY_PROTOCOL", "SAP", "NEW_KIND"],
                "timeFrame": "After publication",
                "accessCriteria": "On request",
                "url": "https://example.org/ipd",
            },
        )
    )
    assert t.oversight == Oversight(has_dmc=True, fda_regulated_drug=False)
    assert t.data_sharing == DataSharing(
        "YES", "De-identified data.", ["STUDY_PROTOCOL", "SAP", "NEW_KIND"], "After publication", "On request",
        "https://example.org/ipd",
    )  # fmt: skip
    # what cannot be read or has no place stays in unmapped, with a warning; an unknown code is kept as given
    assert t.unmapped == {
        "protocolSection.oversightModule.isUsExport": "maybe",
        "protocolSection.oversightModule.x": "1",
    }
    assert all(warned(t, k) for k in t.unmapped)
    assert warned(t, "protocolSection.ipdSharingStatementModule.infoTypes[2]")


def test_no_module_no_facts() -> None:
    t = read_v2(v2())
    assert t.oversight == Oversight() and t.data_sharing is None
    assert read_v2(v2(ipdSharingStatementModule={})).data_sharing is None


def test_v1_oversight_and_data_sharing_legacy_wording() -> None:
    t = v1(
        OversightModule={"OversightHasDMC": "Yes", "IsFDARegulatedDevice": "No", "IsPPSD": "No"},
        IPDSharingStatementModule={
            "IPDSharing": "Undecided",
            "IPDSharingInfoTypeList": {"IPDSharingInfoType": ["Study Protocol", "Analytic Code"]},
            "IPDSharingURL": "https://example.org",
        },
    )
    assert t.oversight == Oversight(has_dmc=True, fda_regulated_device=False, ppsd=False)
    assert t.data_sharing == DataSharing(
        "UNDECIDED", info_types=["STUDY_PROTOCOL", "ANALYTIC_CODE"], url="https://example.org"
    )
    assert t.unmapped == {} and not [i for i in t.issues if i.severity == "warning"]


def test_v1_fixture_page_data_sharing_is_read_whole() -> None:
    path = DATA / "ctgov-v1" / "covid-19-search-page.json"
    trials = [
        read_v1_study(r, Source("ctgov-v1", str(path), i))
        for i, r in iter_v1_studies(json.loads(path.read_bytes()), str(path))
    ]
    assert sum(t.data_sharing is not None for t in trials) == 82
    assert sum(t.oversight.has_dmc is not None for t in trials) == 89
    assert not any(
        k.startswith(("ProtocolSection.OversightModule", "ProtocolSection.IPDSharing"))
        for t in trials
        for k in t.unmapped
    )
    kinds = {k for t in trials if t.data_sharing for k in [t.data_sharing.ipd_sharing, *t.data_sharing.info_types]}
    assert kinds == {"YES", "NO", "UNDECIDED", "STUDY_PROTOCOL", "SAP", "ICF", "CSR", "ANALYTIC_CODE"}


def test_xml_patient_data_and_oversight() -> None:
    t = xml(
        "<oversight_info><has_dmc>No</has_dmc><is_fda_regulated_drug>Yes</is_fda_regulated_drug>"
        "<is_fda_regulated_device>No</is_fda_regulated_device><is_unapproved_device>No</is_unapproved_device>"
        "<is_ppsd>No</is_ppsd><is_us_export>Yes</is_us_export></oversight_info>"
        "<patient_data><sharing_ipd>Yes</sharing_ipd><ipd_description>All IPD after publication.</ipd_description>"
        "<ipd_info_type>Study Protocol</ipd_info_type><ipd_info_type>Clinical Study Report (CSR)</ipd_info_type>"
        "<ipd_time_frame>5 years</ipd_time_frame><ipd_access_criteria>Signed agreement</ipd_access_criteria>"
        "<ipd_url>https://example.org</ipd_url></patient_data>"
    )
    assert t.oversight == Oversight(False, True, False, False, False, True, None)
    assert t.data_sharing == DataSharing(
        "YES", "All IPD after publication.", ["STUDY_PROTOCOL", "CSR"], "5 years", "Signed agreement",
        "https://example.org",
    )  # fmt: skip
    assert t.unmapped == {}
    odd = xml("<patient_data><sharing_ipd>Perhaps</sharing_ipd><ipd_other>x</ipd_other></patient_data>")
    assert odd.data_sharing == DataSharing("Perhaps") and warned(odd, "patient_data/sharing_ipd")
    assert odd.unmapped == {"patient_data/ipd_other": "x"}


def test_xml_fixture_oversight_leaves_nothing_of_it_unmapped() -> None:
    trials = [
        read_clinical_study(p.read_bytes(), Source("ctgov-xml", str(p)))
        for p in sorted((DATA / "ctgov-xml").glob("*.xml"))
    ]
    assert sum(t.oversight.has_dmc is not None for t in trials) == 47
    assert sum(t.data_sharing is not None for t in trials) == 18
    left = {k for t in trials for k in t.unmapped if k.startswith(("oversight_info", "patient_data"))}
    assert left <= {"oversight_info/authority", "oversight_info/regulatory_authority"}, left


# ------------------------------------------------------------------------------------------ results and documents


def test_v2_results_and_documents_are_kept_verbatim() -> None:
    raw = (V2 / "NCT02513394.json").read_bytes()
    study = json.loads(raw)
    t = read_v2(study)
    assert t.results == orjson.dumps(study["resultsSection"]).decode()
    assert t.documents == orjson.dumps(study["documentSection"]).decode()
    assert list(orjson.loads(t.results)) == list(study["resultsSection"])  # keys in source order
    assert len(t.results) > 40_000
    kept = {i.location: i for i in t.issues if i.severity == "information"}
    assert "kept verbatim" in kept["resultsSection"].message and "kept verbatim" in kept["documentSection"].message
    assert not any(k.startswith(("resultsSection", "documentSection")) for k in t.unmapped)


def test_v2_results_lists_are_bounded() -> None:
    doc = {**v2(), "resultsSection": {"adverseEventsModule": {"seriousEvents": [{"term": str(i)} for i in range(5)]}}}
    assert read_v2(doc, Limits(max_list_items=5)).results is not None
    with pytest.raises(LimitExceeded) as e:
        read_v2(doc, Limits(max_list_items=4))
    assert e.value.field == "resultsSection.adverseEventsModule.seriousEvents"


def test_v1_and_xml_results_are_reported_not_kept() -> None:
    t = read_v1_study(
        {"ProtocolSection": {"IdentificationModule": {"NCTId": "NCT00000001"}}, "ResultsSection": {"A": {"B": "c"}}},
        Source("ctgov-v1", "t.json"),
    )
    assert t.results is None and t.has_results is True
    assert any(i.location == "ResultsSection" and i.severity == "information" for i in t.issues)
    x = xml("<clinical_results><participant_flow/></clinical_results>")
    assert x.results is None and x.has_results is True


# ---------------------------------------------------------------------------------------------- <study_design>

STUDY_DESIGN_2014 = (
    "Allocation: Randomized, Endpoint Classification: Safety/Efficacy Study, Intervention Model: Parallel"
    " Assignment, Masking: Double Blind (Subject, Investigator), Primary Purpose: Treatment"
)


def test_design_parts_keep_a_masking_list_whole() -> None:
    assert design_parts(STUDY_DESIGN_2014) == [
        ("Allocation", "Randomized"),
        ("Endpoint Classification", "Safety/Efficacy Study"),
        ("Intervention Model", "Parallel Assignment"),
        ("Masking", "Double Blind (Subject, Investigator)"),
        ("Primary Purpose", "Treatment"),
    ]
    assert design_parts("odd, Allocation: N/A") == [(None, "odd"), ("Allocation", "N/A")]


def test_study_design_string_fills_the_design() -> None:
    t = xml(f"<study_type>Interventional</study_type><study_design>{STUDY_DESIGN_2014}</study_design>")
    assert t.design == Design(
        allocation="RANDOMIZED",
        intervention_model="PARALLEL",
        primary_purpose="TREATMENT",
        masking="DOUBLE",
        who_masked=["PARTICIPANT", "INVESTIGATOR"],
    )
    assert t.unmapped == {"study_design": "Endpoint Classification: Safety/Efficacy Study"}
    assert warned(t, "study_design")


def test_study_design_unknown_value_or_disagreement_stays_text() -> None:
    t = xml(
        "<study_design>Allocation: Sometimes, Time Perspective: Prospective, Primary Purpose: Treatment</study_design>"
        "<study_design_info><primary_purpose>Prevention</primary_purpose></study_design_info>"
    )
    assert (t.design.allocation, t.design.time_perspective, t.design.primary_purpose) == (
        None,
        "PROSPECTIVE",
        "PREVENTION",
    )
    assert t.unmapped == {"study_design": "Allocation: Sometimes, Primary Purpose: Treatment"}


def test_study_design_of_the_2016_bulk_records() -> None:
    with zipfile.ZipFile(DATA / "bulk" / "ctgov-xml-download.zip") as z:
        trials = {n: read_clinical_study(z.read(n), Source("ctgov-xml", n)) for n in z.namelist()}
    designs = {n: (t.design.observational_model, t.design.time_perspective) for n, t in trials.items()}
    assert designs == {"NCT00513591.xml": ("COHORT", "PROSPECTIVE"), "NCT00482794.xml": ("COHORT", None)}
    assert not any("study_design" in t.unmapped for t in trials.values())


# ----------------------------------------------------------------------------------------------- the text page


def _seed(prefix: str) -> tuple[str, Trial]:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    text = path.read_text(encoding="utf-8")
    return text, read_text_page(text, str(path))


def test_seed_001_exploratory_description_is_whole() -> None:
    _, t = _seed("001")
    exploratory = [o for o in t.outcomes if o.type == "OTHER_PRE_SPECIFIED"]
    assert len(exploratory) == 3
    for o in exploratory:  # was "... between treatment efficacy/patient" (the list word rule ate "outcomes")
        assert o.description == "To investigate the correlation between treatment efficacy/patient outcomes"


# What may follow a description in the page: the end of its sentence, or the words that open the list it states.
_AFTER_DESCRIPTION = re.compile(r"(?:$|\s|\s*+(?:Assessments\s++)?(?:and|include|includes|are)\s*+:)")


@pytest.mark.parametrize("prefix", ["000", "001"])
def test_no_outcome_description_is_cut(prefix: str) -> None:
    text, t = _seed(prefix)
    flat = " ".join(text.split())
    assert t.outcomes
    for o in t.outcomes:
        assert o.description, o.measure
        at = flat.index(" ".join(o.description.split()))
        rest = flat[at + len(" ".join(o.description.split())) :]
        ended = o.description.endswith(".") and _AFTER_DESCRIPTION.match(rest)
        assert ended or re.match(r"\s*+(?:Assessments\s++)?(?:and|include|includes|are)\s*+:", rest), (
            o.description,
            rest[:40],
        )


def test_text_page_prose_descriptions_are_whole_sentences_or_statements() -> None:
    page = (
        "T\nNCT01234567\nSummary\n1. Primary Objective To test the drug. Assessments include: Overall survival"
        " Response rate. 2. Exploratory Objectives To relate biomarkers to patient outcomes and:PD-L1 level Tumor"
        " burden. 3. Other\n"
    )
    t = read_text_page(page)
    assert {(o.type, o.description) for o in t.outcomes} == {
        ("PRIMARY", "To test the drug."),
        ("OTHER_PRE_SPECIFIED", "To relate biomarkers to patient outcomes"),
    }


# ------------------------------------------------------------------------------------------ no invented status

STATUS_FIELDS = (
    "overall_status",
    "last_known_status",
    "why_stopped",
    "status_verified_date",
    "start_date",
    "primary_completion_date",
    "completion_date",
    "first_submitted_date",
    "first_posted_date",
    "last_update_posted_date",
    "results_first_posted_date",
)


def _no_status(t: Trial) -> bool:
    return all(getattr(t, f) is None for f in STATUS_FIELDS)


def test_no_status_data_no_status() -> None:
    assert _no_status(read_v2(v2(descriptionModule={"briefSummary": "Recruiting now; completed soon."})))
    assert _no_status(read_v2(v2(statusModule={})))
    assert _no_status(v1(DescriptionModule={"BriefSummary": "Recruiting now."}, StatusModule={}))
    assert _no_status(xml("<brief_title>A recruiting study, completed 2020</brief_title>"))
    pages = [
        "A trial\nNCT ID: NCT01234567\n",
        "Recruiting adults\nNCT01234567\nSummary\nThis study is recruiting; it was completed in 2020-01.\n",
        "T\nNCT01234567\nRecruitment Status\n\nStudy Start Date\n\nStudy Results\nNo results posted\n",
    ]
    for page in pages:
        t = read_text_page(page)
        assert _no_status(t), page
    # the seed without a status section gets none (its summary and eligibility speak of stages and dates)
    assert _no_status(_seed("001")[1])
