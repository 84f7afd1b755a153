"""split_criteria: polarity and combination follow what the text means (issue 9 item 1, docs/computable.md section 1
"Nesting and polarity"): sub-items relative to their parent, "except:" sub-lists carved out."""

from __future__ import annotations

import pytest

from fhir_adapter.model import Criterion
from fhir_adapter.sources.criteria import split_criteria


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
