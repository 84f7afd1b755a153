"""split_criteria: polarity and combination follow what the text means (issue 9 item 1, docs/computable.md section 1
"Nesting and polarity"): sub-items relative to their parent, "except:" sub-lists carved out, "any of the following"
sub-lists any-of, whole-item exclusions under the inclusion heading read as exclusions."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.bundle import to_bundle
from fhir_adapter.model import Criterion
from fhir_adapter.sources import read_bytes
from fhir_adapter.sources.criteria import split_criteria

DATA = Path(__file__).resolve().parent / "data"


def shape(criteria: list[Criterion]) -> list[tuple[str, bool, list[tuple[str, bool]]]]:
    return [(c.text, c.exclude, [(x.text, x.exclude) for x in c.children]) for c in criteria]


# -- sub-items are relative to their parent ------------------------------------------------------------------------
def test_children_of_an_exclusion_item_are_not_exclusions_themselves() -> None:
    crits, _ = split_criteria("Exclusion Criteria:\n* Inadequate organ function:\n  * ANC < 1.5\n  * Platelets < 100\n")
    assert shape(crits) == [("Inadequate organ function:", True, [("ANC < 1.5", False), ("Platelets < 100", False)])]


def test_children_of_an_inclusion_item_stay_false() -> None:
    crits, _ = split_criteria("Inclusion Criteria:\n* Labs:\n  * ANC >= 1.5\n")
    assert shape(crits) == [("Labs:", False, [("ANC >= 1.5", False)])]


LEGACY = """
        Exclusion Criteria:

          -  Prior malignancy, except:

               -  basal cell carcinoma of the skin

               -  carcinoma in situ of the cervix

          -  Pregnancy
"""


@pytest.mark.parametrize(
    "text",
    [
        "Exclusion Criteria:\n* Prior malignancy, except:\n  - basal cell carcinoma of the skin\n"
        "  - carcinoma in situ of the cervix\n* Pregnancy\n",
        LEGACY,
    ],
    ids=["v2-markdown", "legacy-xml"],
)
def test_except_sub_list_is_carved_out(text: str) -> None:
    crits, _ = split_criteria(text)
    assert shape(crits) == [
        (
            "Prior malignancy, except:",
            True,
            [("basal cell carcinoma of the skin", True), ("carcinoma in situ of the cervix", True)],
        ),
        ("Pregnancy", True, []),
    ]


@pytest.mark.parametrize(
    "lead",
    [
        "Prior malignancy except",
        "Prior malignancy except for:",
        "Prior malignancy, with the exception of:",
        "Prior malignancy with the exceptions of the following:",
        "Any malignancy other than:",
        "Any malignancy, excluding:",
        "Any malignancy apart from the following:",
        "Prior malignancy, EXCEPT :",
    ],
)
def test_carve_out_wordings(lead: str) -> None:
    crits, _ = split_criteria(f"Exclusion Criteria:\n* {lead}\n  - basal cell carcinoma\n")
    assert shape(crits) == [(lead, True, [("basal cell carcinoma", True)])]


@pytest.mark.parametrize(
    "lead",
    [
        "Prior malignancy except basal cell carcinoma, such as:",  # the exception is in the line, not the sub-list
        "Other malignancies (see below):",
        "Treatment with drugs listed below, except when approved:",  # 'except when ...' is not the sub-list
        "Conditions excepted by the sponsor:",
    ],
)
def test_no_carve_out_without_the_wording_at_the_end(lead: str) -> None:
    crits, _ = split_criteria(f"Exclusion Criteria:\n* {lead}\n  - basal cell carcinoma\n")
    assert shape(crits) == [(lead, True, [("basal cell carcinoma", False)])]


def test_carve_out_in_an_inclusion_item() -> None:
    crits, _ = split_criteria("Inclusion Criteria:\n* Any solid tumour, except:\n  - brain tumours\n")
    assert shape(crits) == [("Any solid tumour, except:", False, [("brain tumours", True)])]


def test_grandchildren_are_relative_to_their_own_parent() -> None:
    text = (
        "Exclusion Criteria:\n"
        "* Prior malignancy, except:\n"
        "  - skin cancers of these kinds:\n"
        "    - basal cell carcinoma\n"
        "  - cervical carcinoma in situ\n"
    )
    crits, _ = split_criteria(text)
    prior = crits[0]
    assert prior.exclude
    assert [(c.text, c.exclude) for c in prior.children] == [
        ("skin cancers of these kinds:", True),
        ("cervical carcinoma in situ", True),
    ]
    assert [(c.text, c.exclude) for c in prior.children[0].children] == [("basal cell carcinoma", False)]


def test_kept_exclusion_header_children_are_relative() -> None:
    crits, _ = split_criteria("Exclusion criteria for cohort B:\n- Prior anthracyclines\n- Other\n")
    assert shape(crits) == [
        ("Exclusion criteria for cohort B:", True, [("Prior anthracyclines", False), ("Other", False)])
    ]


# -- "any of the following" sub-lists are any-of (NCT03064438-like) -------------------------------------------------
V2_ANY_OF = (
    "Inclusion Criteria:\n\n"
    "* Patients must have any of the following:\n\n"
    "  * Histologically confirmed relapsed multiple myeloma\n"
    "  * Measurable serum M-protein \\>= 0.5 g/dL\n"
    "  * Urine M-protein \\>= 200 mg/24 h\n"
    "* ECOG performance status 0-2\n\n"
    "Exclusion Criteria:\n\n"
    "* Any of the following findings at screening:\n\n"
    "  * Positive HIV test\n"
    "  * Positive pregnancy test\n"
)
XML_ANY_OF = """
        Inclusion Criteria:

          -  Patients must have any of the following:

               1. Histologically confirmed relapsed multiple myeloma

               2. Measurable serum M-protein &gt;= 0.5 g/dL

               3. Urine M-protein &gt;= 200 mg/24 h

          -  ECOG performance status 0-2

        Exclusion Criteria:

          -  Any of the following findings at screening:

               -  Positive HIV test

               -  Positive pregnancy test
"""


def any_of_shape(criteria: list[Criterion]) -> list[tuple[str, bool, str, int]]:
    return [(c.text, c.exclude, c.combine, len(c.children)) for c in criteria]


ANY_OF_EXPECTED = [
    ("Patients must have any of the following:", False, "any-of", 3),
    ("ECOG performance status 0-2", False, "all-of", 0),
    ("Any of the following findings at screening:", True, "any-of", 2),
]


def test_any_of_sub_list_v2_markdown() -> None:
    crits, _ = split_criteria(V2_ANY_OF)
    assert any_of_shape(crits) == ANY_OF_EXPECTED
    assert [c.exclude for c in crits[2].children] == [False, False]  # relative: each finding excludes via the item


def test_any_of_sub_list_legacy_xml_layout() -> None:
    crits, _ = split_criteria(html.unescape(XML_ANY_OF))
    assert any_of_shape(crits) == ANY_OF_EXPECTED
    assert crits[0].children[1].text == "Measurable serum M-protein >= 0.5 g/dL"


def _v2_study(criteria: str) -> bytes:
    return json.dumps(
        {
            "protocolSection": {
                "identificationModule": {"nctId": "NCT03064438", "briefTitle": "Any-of sub-lists"},
                "eligibilityModule": {"eligibilityCriteria": criteria},
            }
        }
    ).encode()


def _xml_study(criteria: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<clinical_study>\n'
        "  <id_info><nct_id>NCT03064438</nct_id></id_info>\n  <brief_title>Any-of sub-lists</brief_title>\n"
        f"  <eligibility><criteria><textblock>{criteria}</textblock></criteria></eligibility>\n</clinical_study>\n"
    ).encode()


def _eligibility_characteristics(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    evs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "EvidenceVariable"]
    ev = next(r for r in evs if any(c.get("linkId", "").startswith(("inc-", "exc-")) for c in r["characteristic"]))
    return [c for c in ev["characteristic"] if c.get("linkId", "").startswith(("inc-", "exc-"))]


@pytest.mark.parametrize("data", [_v2_study(V2_ANY_OF), _xml_study(XML_ANY_OF)], ids=["ctgov-v2", "ctgov-xml"])
def test_any_of_reaches_r5_through_the_readers(data: bytes) -> None:
    (record,) = read_bytes(data, "t")
    assert record.trial is not None
    assert any_of_shape(record.trial.eligibility.criteria) == ANY_OF_EXPECTED
    chars = _eligibility_characteristics(to_bundle(record.trial))
    combos = [(c.get("exclude", False), (c.get("definitionByCombination") or {}).get("code")) for c in chars]
    assert combos == [(False, "any-of"), (False, None), (True, "any-of")]
    nested = chars[2]["definitionByCombination"]["characteristic"]
    assert [c.get("exclude", False) for c in nested] == [False, False]  # no double negation


@pytest.mark.parametrize(
    "lead",
    [
        "Patients must have any of the following:",
        "Presence of symptoms, defined as any of the following:",
        "Any one of the following:",
        "Patients must meet one of the following criteria:",
        "Based on 1 of the following criteria:",
        "Evidence of involvement including 1 of the following:",
        "At least one of the following:",
        "Antibodies, as defined by one or both of the following criteria:",
        "One or more of the following:",
        "Either of the following:",
        "An adult carer in the household who is either:",
        "Treatment with any of the medications listed below within 1 week prior to Visit 1:",
        "ANY OF THE FOLLOWING:",
    ],
)
def test_alternatives_wordings_are_any_of(lead: str) -> None:
    crits, _ = split_criteria(f"Inclusion Criteria:\n* {lead}\n  - a\n  - b\n")
    assert any_of_shape(crits) == [(lead, False, "any-of", 2)]
    assert [c.exclude for c in crits[0].children] == [False, False]


@pytest.mark.parametrize(
    "lead",
    [
        "Patients must meet all of the following:",
        "Adequate organ function:",
        "Evidence of cardiac involvement including any 2 of the following:",  # at least two: not any-of
        "At least two of the following:",
        "Exactly one of the following:",
        "Only one of the following:",
        "Patients with no more than one of the following:",  # at most one: not any-of
        "At most one of the following:",
        "Patients who are not pregnant and have any of the following:",  # a negation further away: left as a list
        "Results from one of the designated outside laboratories; the following requirements apply:",
        "Creatinine clearance either measured or estimated as follows:",  # 'either' inside the line
        "Any prior therapy with the following:",
    ],
)
def test_other_lists_stay_all_of(lead: str) -> None:
    crits, _ = split_criteria(f"Inclusion Criteria:\n* {lead}\n  - a\n  - b\n")
    assert any_of_shape(crits) == [(lead, False, "all-of", 2)]
    assert [c.exclude for c in crits[0].children] == [False, False]


@pytest.mark.parametrize(
    "lead",
    [
        "Patients must not have any of the following:",
        "No history of any of the following:",
        "Patients without any of the following:",
        "None of the following:",
        "Neither of the following:",
    ],
)
def test_negated_alternatives_are_each_carved_out(lead: str) -> None:
    # "must not have any of A, B" = has neither: all-of [A exclude, B exclude], the item itself stays inclusion
    crits, _ = split_criteria(f"Inclusion Criteria:\n* {lead}\n  - a\n  - b\n")
    assert any_of_shape(crits) == [(lead, False, "all-of", 2)]
    assert [c.exclude for c in crits[0].children] == [True, True]


def test_any_of_without_sub_items_keeps_the_default() -> None:
    crits, _ = split_criteria("Exclusion Criteria:\n* Any of the following: HIV, HBV or HCV infection\n")
    assert any_of_shape(crits) == [("Any of the following: HIV, HBV or HCV infection", True, "all-of", 0)]


def test_kept_headers_combine_by_their_polarity() -> None:
    text = "Inclusion criteria for cohort A:\n- a\n- b\nExclusion criteria for cohort A:\n- c\n- d\n"
    crits, _ = split_criteria(text)
    assert any_of_shape(crits) == [
        ("Inclusion criteria for cohort A:", False, "all-of", 2),
        ("Exclusion criteria for cohort A:", True, "any-of", 2),  # each of its items excludes on its own
    ]


def _fixture_criteria(name: str) -> list[Criterion]:
    root = ET.parse(DATA / "ctgov-xml" / name).getroot()
    crits, _ = split_criteria(root.findtext("eligibility/criteria/textblock") or "")
    return crits


def test_real_any_of_lists() -> None:
    aps = _fixture_criteria("NCT00482794.xml")
    assert [(c.combine, len(c.children)) for c in aps[:2]] == [("any-of", 2), ("any-of", 3)]
    assert aps[1].text.endswith("pregnancy morbidity, defined as any of the following:")
    covid = _fixture_criteria("NCT04452435_covid_19.xml")
    findings = next(c for c in covid if c.text == "Any of the following findings at Visit 1:")
    assert (findings.exclude, findings.combine, [c.exclude for c in findings.children]) == (True, "any-of", [False] * 2)
    fabry = _fixture_criteria("NCT01298141.xml")[0].children[2]
    assert fabry.combine == "any-of"
    cardiac = next(c for c in fabry.children if "any 2 of the following" in c.text)
    assert cardiac.combine == "all-of"  # "any 2 of": neither all-of nor any-of, left as written


# -- a whole-item exclusion under the inclusion heading is an exclusion ---------------------------------------------
@pytest.mark.parametrize(
    "item",
    [
        "Mucosal or ocular melanomas are excluded.",
        "Melanomas of unknown primary origin are excluded.",
        "Patients with Stage I or IV breast cancer are not eligible.",
        "Patients who have received prior anti-PD-1 therapy are not eligible",
        "Patients with a history of any malignancy are ineligible",
        "A patient with active hepatitis B is not eligible.",
        "Patients who are unable to give consent will be excluded",
        "Pregnant women are excluded from the study.",
        "Patients with brain metastases will also be excluded from participation.",
        "Smokers are therefore excluded",
        "HIV-positive patients are not eligible for this trial.",
    ],
)
def test_whole_item_exclusion_under_inclusion_is_an_exclusion(item: str) -> None:
    crits, issues = split_criteria(f"Inclusion Criteria:\n* Adults\n* {item}\nExclusion Criteria:\n* Pregnancy\n")
    assert [(c.text, c.exclude, c.heading_exclude) for c in crits] == [
        ("Adults", False, None),
        (item, True, False),  # keeps the heading it sat under (linkId inc-), means an exclusion
        ("Pregnancy", True, None),
    ]
    assert [(i.severity, i.location) for i in issues] == [("warning", "eligibilityCriteria[1]")]
    assert "read as an exclusion, as the text says" in issues[0].message


@pytest.mark.parametrize(
    "item",
    [
        "Patients must not have been excluded from a prior trial of this drug",
        "Patients must not be excluded from standard therapy",
        "Patients who are not eligible for surgery",  # an inclusion: ineligible for surgery, eligible here
        "Patients who are ineligible for cisplatin",
        "Patients not eligible for or refusing transplantation",
        "Patients previously excluded from other studies are eligible.",
        "Women of childbearing potential must have a negative pregnancy test; patients that are pregnant or breast"
        " feeding are excluded; a female of childbearing potential is any woman who meets the following criteria",
        "Patients must be able to swallow tablets; a patient with any gastrointestinal disease that would impair"
        " absorption is not eligible",
        "Subjects with untreated CNS metastases are excluded. Subjects are eligible if CNS metastases are treated.",
        "Not eligible: x",
        "Exclusion of other causes is not required",
        "Brain metastases are not excluded.",
    ],
)
def test_an_inclusion_that_mentions_exclusion_does_not_flip(item: str) -> None:
    crits, _ = split_criteria(f"Inclusion Criteria:\n* {item}\n")
    assert [(c.text, c.exclude, c.heading_exclude) for c in crits] == [(item, False, None)]


def test_whole_item_exclusion_under_the_exclusion_heading_stays_as_it_is() -> None:
    crits, issues = split_criteria("Exclusion Criteria:\n* Patients with Stage IV cancer are not eligible.\n")
    assert [(c.exclude, c.heading_exclude) for c in crits] == [(True, None)]
    assert not issues


def test_whole_item_exclusion_as_a_sub_item_is_relative_to_its_parent() -> None:
    text = "Inclusion Criteria:\n* Melanoma of the skin:\n  - stage III or IV\n  - Mucosal melanomas are excluded.\n"
    crits, issues = split_criteria(text)
    assert [(c.text, c.exclude, c.heading_exclude) for c in crits[0].children] == [
        ("stage III or IV", False, None),
        ("Mucosal melanomas are excluded.", True, None),  # carved out of its inclusion parent
    ]
    assert [i.location for i in issues] == ["eligibilityCriteria[0].children[1]"]
    # under an exclusion item the same sub-item already means an exclusion: nothing to flip
    crits, issues = split_criteria(text.replace("Inclusion", "Exclusion"))
    assert [c.exclude for c in crits[0].children] == [False, False]
    assert not issues


def test_whole_item_exclusion_with_a_sub_list() -> None:
    text = "Inclusion Criteria:\n* A subject who meets any of the following criteria will be excluded:\n  - a\n  - b\n"
    crits, _ = split_criteria(text)
    (item,) = crits
    assert (item.exclude, item.heading_exclude, item.combine) == (True, False, "any-of")
    assert [c.exclude for c in item.children] == [False, False]


def test_seed_001_melanomas_are_exclusions_kept_under_inclusion() -> None:
    (record,) = read_bytes(next((DATA.parents[1] / "seeds").glob("001_*.txt")).read_bytes(), "seed")
    assert record.trial is not None
    crits = record.trial.eligibility.criteria
    flipped = [(c.text, c.exclude, c.heading_exclude) for c in crits if c.heading_exclude is not None]
    assert flipped == [
        ("Mucosal or ocular melanomas are excluded.", True, False),
        ("Melanomas of unknown primary origin are excluded.", True, False),
    ]
    chars = _eligibility_characteristics(to_bundle(record.trial))
    melanoma = [c for c in chars if c.get("description", "").endswith("are excluded.")]
    assert [(c["linkId"][:4], c.get("exclude")) for c in melanoma] == [("inc-", True), ("inc-", True)]


def test_polarity_warning_follows_the_no_header_information() -> None:
    crits, issues = split_criteria("- Patients with Stage IV cancer are not eligible.\n- Age over 18\n")
    assert [(c.exclude, c.heading_exclude) for c in crits] == [(True, False), (False, None)]
    assert [(i.severity, i.location) for i in issues] == [
        ("information", "eligibilityCriteria"),
        ("warning", "eligibilityCriteria[0]"),
    ]


# -- a plain sub-list reads by its parent's polarity -----------------------------------------------------------------
@pytest.mark.parametrize(
    "lead",
    ["Diagnoses of the following conditions:", "Inadequate organ function, defined as:", "Cardiac disease:"],
)
def test_plain_list_under_an_exclusion_item_is_any_of(lead: str) -> None:
    # each sub-item is a reason to exclude: excluded when any holds, not only when all do
    crits, _ = split_criteria(f"Exclusion Criteria:\n* {lead}\n  - a\n  - b\n")
    assert any_of_shape(crits) == [(lead, True, "any-of", 2)]
    assert [c.exclude for c in crits[0].children] == [False, False]


def test_all_of_under_an_exclusion_item_stays_all_of() -> None:
    lead = "Patients with all of the following:"
    crits, _ = split_criteria(f"Exclusion Criteria:\n* {lead}\n  - a\n  - b\n")
    assert any_of_shape(crits) == [(lead, True, "all-of", 2)]


def test_plain_list_under_an_inclusion_item_read_as_an_exclusion_is_any_of() -> None:
    # the effective polarity counts, not the heading: the item is read as an exclusion, so are its sub-items' reasons
    crits, _ = split_criteria("Inclusion Criteria:\n* Patients with the following are not eligible:\n  - a\n  - b\n")
    assert [(c.exclude, c.heading_exclude, c.combine) for c in crits] == [(True, False, "any-of")]
