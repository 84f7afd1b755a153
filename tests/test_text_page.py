"""read_text_page on the two seed pages (every field, explicit values) and on minimal pages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from fhir_adapter import read_trials, to_bundle
from fhir_adapter.errors import SourceError
from fhir_adapter.model import AgeLimit, Criterion, DateInfo, Organization, SecondaryId, Trial
from fhir_adapter.sources.text_page import looks_like_text_page, read_text_page
from fhir_adapter.terminology import enum_values

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

CHROME = [
    "Get a concise snapshot of the trial",
    "Review the sponsor-provided synopsis",
    "Dive into the extended narrative",
    "See the medical conditions",
    "Understand how the trial is structured",
    "Review each arm or cohort",
    "Learn about the drugs",
    "Check the participation requirements",
    "Meet the organizations",
    "Identify the individual or organization",
    "Reach out to these primary contacts",
    "Review additional registry numbers",
    "Check back later",
    "The study team has not published",
    "More Related Trials",
    "Additional clinical trials",
    "Browse More Trials",
    "Trial data from ClinicalTrials.gov",
    "This site does not provide medical advice",
]


def seed(prefix: str) -> Trial:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return read_text_page(path.read_text(encoding="utf-8"), str(path))


def all_strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return [s for f in dataclasses.fields(node) if f.compare for s in all_strings(getattr(node, f.name))]
    if isinstance(node, list | tuple):
        return [s for x in node for s in all_strings(x)]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [str(k), *all_strings(v)]]
    return []


def flat(criteria: list[Criterion]) -> list[Criterion]:
    return [x for c in criteria for x in [c, *flat(c.children)]]


@pytest.mark.parametrize("prefix", ["000", "001"])
def test_no_chrome_in_data(prefix: str) -> None:
    t = seed(prefix)
    for s in all_strings(t):
        for chrome in CHROME:
            assert chrome not in s, (chrome, s[:80])


def test_seed_000_layout_a() -> None:
    t = seed("000")
    assert t.source is not None and t.source.format == "text-page"
    assert t.nct_id == "NCT07236528"
    assert t.brief_title == "Combination of Carilizumab, Apatinib, and Radiotherapy for Advanced Mucosal Melanoma"
    assert t.official_title is None and t.acronym is None
    assert t.last_update_posted_date == DateInfo("2025-11-19", None)
    assert t.has_results is False
    assert t.overall_status == "NOT_YET_RECRUITING"
    assert t.phases == ["PHASE2"]
    assert t.enrollment_count == 30 and t.enrollment_type is None
    assert t.study_type == "INTERVENTIONAL"
    assert t.start_date == DateInfo("2025-11-30", None)
    assert t.completion_date == DateInfo("2028-05-31", None)
    assert t.primary_completion_date is None
    assert t.brief_summary is not None and t.brief_summary.startswith("This study is a prospective, multicenter")
    assert t.brief_summary.endswith("for advanced mucosal melanoma.")
    assert t.detailed_description is not None and "18-25Gy/3-6f" in t.detailed_description
    assert t.detailed_description.endswith("termination of the study by the researcher.")
    assert t.conditions == ["Mucosal Melanoma"]
    d = t.design
    assert (d.allocation, d.intervention_model, d.primary_purpose, d.masking) == (
        "NA",
        "SINGLE_GROUP",
        "TREATMENT",
        "NONE",
    )
    assert len(t.arms) == 1
    arm = t.arms[0]
    assert arm.label == "Combination of Carilizumab with Apatinib Mesylate and Radiotherapy"
    assert arm.type == "EXPERIMENTAL"
    assert arm.description is None  # the text under the arm is the intervention's own description
    assert arm.intervention_names == ["Drug: Carilizumab and Apatinib"]
    assert len(t.interventions) == 1
    iv = t.interventions[0]
    assert (iv.name, iv.type) == ("Carilizumab and Apatinib", "DRUG")
    assert iv.description is not None and iv.description.startswith("Carilizumab 200mg, intravenous infusion")
    assert iv.arm_labels == [arm.label]
    assert t.lead_sponsor == Organization(
        "The Affiliated Nanjing Drum Tower Hospital of Nanjing University Medical School", "OTHER"
    )
    assert t.collaborators == []
    rp = t.responsible_party
    assert rp is not None and (rp.type, rp.name, rp.title) == ("PRINCIPAL_INVESTIGATOR", "Zhengyun Zou", "professor")
    assert t.officials == []
    assert len(t.central_contacts) == 1
    c = t.central_contacts[0]
    assert (c.name, c.role, c.phone, c.email) == ("Zou Zhengyun", "CONTACT", "+8613815891858", None)
    assert t.org_study_id == SecondaryId("2025-0433-01")
    assert t.secondary_ids == []
    el = t.eligibility
    assert el.criteria_text is not None and el.criteria_text.startswith("Inclusion Criteria\n\n1. Age ≥ 18 years old")
    assert el.criteria_text.endswith("not suitable for inclusion in the study.")
    assert "Minimum Eligible Age" not in el.criteria_text
    inc = [x.text for x in el.criteria if not x.exclude]
    exc = [x.text for x in el.criteria if x.exclude]
    assert len(inc) == 12 and len(exc) == 19
    assert inc[0] == "Age ≥ 18 years old, ≤ 80 years old, gender not limited"
    assert inc[10].endswith("within 12 months after the last dose.")
    assert inc[-1] == (
        "Participants voluntarily join the study, sign informed consent forms, have good compliance, and cooperate"
        " with follow-up."
    )
    assert exc[0].startswith("Patients who have received VEGFR TKI treatment")
    assert exc[16] == "Individuals known to be allergic to any investigational drug or excipient"
    assert exc[-1] == "Researchers determine other situations that are not suitable for inclusion in the study."
    assert el.minimum_age == AgeLimit(18, "years") and el.maximum_age == AgeLimit(80, "years")
    assert el.sex == "ALL" and el.healthy_volunteers is False
    assert [(o.measure, o.type) for o in t.outcomes] == [("6-month progression free survival rate (PFS6)", "PRIMARY")]
    assert t.outcomes[0].description is not None
    assert t.outcomes[0].description.startswith("The study will use the 6-month progression free survival rate")
    assert t.unmapped == {}
    assert not [i for i in t.issues if i.severity in ("warning", "error", "fatal")]


def test_seed_001_layout_b() -> None:
    t = seed("001")
    assert t.nct_id == "NCT07586904"
    assert t.brief_title == (
        "Efficacy and Safety of Neoadjuvant Cadonilimab Plus High-Dose Recombinant Human Interferon α1b in Stage"
        " III/IV Melanoma."
    )
    assert t.brief_summary is not None and t.brief_summary.startswith("1. Primary Objective To evaluate")
    assert t.brief_summary.endswith("in support of future multicenter clinical studies.")
    assert t.detailed_description is None
    assert t.conditions == []  # "Conditions2" lists no names; not taken from the title
    assert any(i.severity == "warning" and i.location == "Conditions2" for i in t.issues)
    for attr in (
        "overall_status",
        "enrollment_count",
        "study_type",
        "start_date",
        "lead_sponsor",
        "org_study_id",
        "responsible_party",
        "last_update_posted_date",
        "has_results",
    ):
        assert getattr(t, attr) is None, attr
    assert t.phases == [] and t.arms == [] and t.interventions == [] and t.central_contacts == []
    el = t.eligibility
    assert el.criteria_text is not None and el.criteria_text.startswith("Inclusion Criteria:\n* Voluntarily")
    assert el.criteria_text.endswith("could interfere with the interpretation of study results.")
    inc = [x.text for x in flat(el.criteria) if not x.exclude]
    exc = [x.text for x in flat(el.criteria) if x.exclude]
    assert len(inc) == 9 + 9 and len(exc) == 12 + 2  # two inclusion-heading items read as exclusions (issue 9)
    assert "Mucosal or ocular melanomas are excluded." in exc
    assert "Melanomas of unknown primary origin are excluded." in exc
    assert sum(1 for i in t.issues if i.severity == "warning" and "reads as an exclusion" in i.message) == 2
    assert el.minimum_age == AgeLimit(18, "years") and el.maximum_age == AgeLimit(75, "years")
    assert any(i.severity == "information" and "age limits" in i.message for i in t.issues)
    assert el.sex is None and el.healthy_volunteers is None
    assert [(o.measure, o.type) for o in t.outcomes] == [
        (
            "Target lesion response (complete response \\[CR\\], partial response \\[PR\\], stable disease \\[SD\\],"
            " progressive disease \\[PD\\])",
            "PRIMARY",
        ),
        ("Objective response rate (ORR)", "PRIMARY"),
        (
            "Pathological response rate (pathological complete response \\[pCR\\], near pCR, pathological partial"
            " response \\[pPR\\], pathological non-response \\[pNR\\])",
            "PRIMARY",
        ),
        ("Incidence of all adverse events (AEs) and serious adverse events (SAEs)", "PRIMARY"),
        ("Changes from baseline in physical examinations, vital signs, and laboratory test results", "PRIMARY"),
        ("PD-L1 expression in tumor tissue", "OTHER_PRE_SPECIFIED"),
        ("CD8+ T-cell infiltration", "OTHER_PRE_SPECIFIED"),
        ("Tumor mutational burden (TMB)", "OTHER_PRE_SPECIFIED"),
    ]
    for o in t.outcomes:
        assert o.measure in t.brief_summary
    assert t.unmapped == {}


def test_minimal_page() -> None:
    t = read_text_page("A tiny trial\nNCT ID: NCT01234567\n")
    assert t.nct_id == "NCT01234567" and t.brief_title == "A tiny trial"
    assert t.source is not None and t.source.path == "<memory>"
    empty = Trial(nct_id="NCT01234567", brief_title="A tiny trial")
    assert t == empty
    assert t.issues == []


def test_unknown_section_goes_to_unmapped_with_warning() -> None:
    page = "A trial\nNCT ID: NCT01234567\n\nRecruitment Status\n\nRECRUITING\n\nFunding Notes\n\nPaid by a grant.\n"
    t = read_text_page(page, "x.txt")
    assert t.overall_status == "RECRUITING"
    assert t.unmapped == {"Funding Notes": "Paid by a grant."}
    assert [(i.severity, i.location) for i in t.issues] == [("warning", "Funding Notes")]


def test_phases_combined_and_dates_with_type() -> None:
    page = (
        "T\nNCT ID: NCT01234567\nClinical Phase\nPHASE1, PHASE2\nStudy Start Date\n2024-01 (Actual)\n"
        "Total Enrollment\n120 participants (Estimated)\n"
    )
    t = read_text_page(page)
    assert t.phases == ["PHASE1", "PHASE2"]
    assert t.start_date == DateInfo("2024-01", "ACTUAL")
    assert (t.enrollment_count, t.enrollment_type) == (120, "ESTIMATED")
    assert read_text_page("T\nNCT01234567\nClinical Phase\nPHASE1/PHASE2\n").phases == ["PHASE1", "PHASE2"]


@pytest.mark.parametrize(
    ("label", "axis"), [("Recruitment Status", "overall-status"), ("Clinical Phase", "phase")], ids=["status", "phase"]
)
def test_codes_are_the_enums_of_the_mappings(label: str, axis: str) -> None:
    # the page reader keeps no code list of its own: every API v2 token of mappings/ctgov-enums.json is accepted
    for token in enum_values(axis):
        t = read_text_page(f"T\nNCT01234567\n{label}\n{token}\n")
        assert (t.overall_status if axis == "overall-status" else t.phases) in (token, [token])
        assert t.issues == [], token
    t = read_text_page(f"T\nNCT01234567\n{label}\nNOT_A_CODE\n")
    assert [(i.code, i.location) for i in t.issues] == [("code-invalid", label)]


def test_sponsor_classes_are_the_enum_of_the_mappings() -> None:
    for token in enum_values("sponsor-class"):
        t = read_text_page(f"T\nNCT01234567\nSponsors\nAcme\n{token}\nSponsor Role lead\n")
        assert t.lead_sponsor == Organization(name="Acme", agency_class=token)
    t = read_text_page("T\nNCT01234567\nSponsors\nAcme\nUniversity\nSponsor Role lead\n")
    assert t.lead_sponsor == Organization(name="Acme") and t.unmapped == {"Sponsors": "University"}


def test_ages_and_sex_wording() -> None:
    page = "T\nNCT01234567\nMinimum Eligible Age\n18years\nMaximum Eligible Age\n2.5 Months\nEligible Sex\nBoth\n"
    el = read_text_page(page).eligibility
    assert (el.minimum_age, el.maximum_age, el.sex) == (AgeLimit(18, "years"), AgeLimit(2.5, "months"), "ALL")
    el = read_text_page("T\nNCT01234567\nMinimum Eligible Age\nN/A\nEligible Sex\nfemale\n").eligibility
    assert (el.minimum_age, el.sex) == (None, "FEMALE")
    t = read_text_page("T\nNCT01234567\nMinimum Eligible Age\n18 Years and older\n")
    assert t.eligibility.minimum_age is None and t.unmapped == {"Minimum Eligible Age": "18 Years and older"}


def test_prose_endpoint_rules() -> None:
    page = (
        "T\nNCT01234567\nSummary\nThe primary endpoint is overall survival. Secondary endpoints include objective"
        " response rate, duration of response and safety.\n"
    )
    t = read_text_page(page)
    assert [(o.measure, o.type) for o in t.outcomes] == [
        ("overall survival", "PRIMARY"),
        ("objective response rate", "SECONDARY"),
        ("duration of response", "SECONDARY"),
        ("safety", "SECONDARY"),
    ]


def test_no_nct_id_raises() -> None:
    with pytest.raises(SourceError) as e:
        read_text_page("Just a title\nSome text\n", "p.txt")
    assert e.value.path == "p.txt" and e.value.field == "NCT ID" and e.value.message == "no NCT id found"


def test_looks_like_text_page() -> None:
    assert looks_like_text_page("Title\nNCT ID: NCT01234567\n")
    assert not looks_like_text_page('{"nct": "NCT01234567"}')
    assert not looks_like_text_page("  [1]")
    assert not looks_like_text_page("<x>NCT01234567</x>")
    assert not looks_like_text_page("no id here")


def test_prose_endpoint_description_is_its_sentence() -> None:
    page = "T\nNCT01234567\nSummary\nWe enrol adults. The primary endpoint is overall survival. Follow-up is 2 years.\n"
    (outcome,) = read_text_page(page).outcomes
    assert outcome.description == "The primary endpoint is overall survival."


def amplification_page(size: int) -> str:
    """A page whose description lists many endpoints in one paragraph without a sentence break (issue 8)."""
    head = "Amplification\n\nNCT ID: NCT09999999\n\nRecruitment Status\n\nRECRUITING\n\nDetailed Description\n\n"
    clauses: list[str] = []
    n = total = 0
    while total < size:
        n += 1
        clause = (
            f"in cohort {n} the participants receive the study drug once daily for twelve weeks with imaging"
            f" every eight weeks and the investigators will use the response rate at week {n} as the secondary"
            f" endpoint, while the primary endpoint is overall survival at month {n}; "
        )
        clauses.append(clause)
        total += len(clause)
    return head + "".join(clauses) + "\n\nConditions\n\nMelanoma\n"


def test_bundle_is_linear_in_the_page(tmp_path: Path) -> None:
    """Each endpoint's description is bounded by its own sentence, never the paragraph repeated per endpoint:
    a 136 KB page with 1,000 prose endpoints gave a 285 MB bundle, it must stay a small multiple of the page."""
    path = tmp_path / "page.txt"
    path.write_text(amplification_page(136_000), encoding="utf-8")
    (trial,) = read_trials(path)
    assert len(trial.outcomes) > 1_000
    assert all(o.description and len(o.description) <= 1_000 for o in trial.outcomes)
    size = len(json.dumps(to_bundle(trial)).encode())
    assert size <= 20 * path.stat().st_size
