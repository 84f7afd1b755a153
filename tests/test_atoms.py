"""The criterion -> atoms extractor (issue 9 item 2; the computable contract, docs/computable.md section 1):
vocabulary look-ups, the flat form, the patterns (comparators, units as written, ranges, x ULN, results,
presence, negation, windows, combinations), precision (text that cannot be accounted for stays text) and the seeds'
criteria as issue 9's "Done when" lists them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.computable import annotate_criteria, atom_issues, concept_for, concept_key, flat_atoms, kind_of
from fhir_adapter.computable.extract import definition_of
from fhir_adapter.computable.vocabulary import entries, ucum_unit
from fhir_adapter.model import Atom, AtomGroup, Code, Concept, Criterion
from fhir_adapter.sources import read_records
from fhir_adapter.terminology import system

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def atoms(text: str, exclude: bool = False) -> list[tuple[Any, ...]]:
    """(concept, comparator, value, low, high, unit, result, window, polarity) of every atom of ``text``."""
    crit = Criterion(text, exclude, definition=definition_of(text, exclude))
    return [
        (
            a["concept"],
            a["comparator"],
            a["value"],
            a["low"],
            a["high"],
            a["unit"],
            a["result"],
            None if a["window"] is None else (a["window"]["low"], a["window"]["unit"], a["window"]["event"]),
            a["polarity"],
        )
        for a in flat_atoms(crit)
    ]


# -- vocabulary -------------------------------------------------------------------------------------------------------


SHARED_KEYS = [
    "age",
    "sex",
    "ecog",
    "karnofsky",
    "lansky",
    "anc",
    "platelets",
    "hemoglobin",
    "wbc",
    "lymphocytes",
    "creatinine",
    "creatinine-clearance",
    "egfr",
    "bilirubin",
    "direct-bilirubin",
    "ast",
    "alt",
    "alkaline-phosphatase",
    "albumin",
    "inr",
    "aptt",
    "prothrombin-time",
    "lvef",
    "qtc",
    "qtcf",
    "systolic-bp",
    "diastolic-bp",
    "bmi",
    "body-weight",
    "hba1c",
    "glucose",
    "potassium",
    "magnesium",
    "calcium",
    "lipase",
    "amylase",
    "tsh",
    "hiv-viral-load",
    "hbv-dna",
    "hcv-rna",
    "cd4",
    "hiv-test",
    "hbsag",
    "hbcab",
    "hcv-antibody",
    "er-status",
    "pr-status",
    "her2-status",
    "pd-l1",
    "egfr-mutation",
    "alk-rearrangement",
    "kras-mutation",
    "braf-v600",
    "pregnancy-test",
    "pregnancy",
    "breastfeeding",
    "brain-metastases",
    "cns-metastases",
    "leptomeningeal-disease",
    "metastatic-disease",
    "hiv-infection",
    "hepatitis-b",
    "hepatitis-c",
    "active-infection",
    "tuberculosis",
    "organ-transplant",
    "stem-cell-transplant",
    "interstitial-lung-disease",
    "autoimmune-disease",
    "myocardial-infarction",
    "heart-failure",
    "unstable-angina",
    "stroke",
    "arrhythmia",
    "second-malignancy",
    "diabetes",
    "hypertension",
    "seizure-disorder",
    "bleeding-disorder",
    "thromboembolism",
    "gi-perforation",
    "drug-allergy",
    "systemic-therapy",
    "chemotherapy",
    "radiotherapy",
    "surgery",
    "immunotherapy",
    "anti-pd1-pdl1",
    "vegfr-tki",
    "tki",
    "corticosteroids",
    "immunosuppressants",
    "investigational-drug",
    "live-vaccine",
    "anticoagulants",
    "strong-cyp3a4-inhibitors",
    "life-expectancy",
    "measurable-disease",
    "first-dose",
    "randomization",
    "enrollment",
    "screening",
    "consent",
    "diagnosis",
    "negative",
    "positive",
    "present",
    "absent",
    "female",
    "male",
]


def test_every_shared_concept_key_is_in_the_table() -> None:
    """The keys the team's concept list names (the dev set's keys: tests/test_extraction_score.py)."""
    missing = [k for k in SHARED_KEYS if k not in entries()]
    assert not missing, missing


def test_every_code_has_a_known_system_and_a_source() -> None:
    import json

    from fhir_adapter.terminology import mappings_dir

    rows = json.loads((mappings_dir() / "eligibility-concepts.json").read_text(encoding="utf-8"))["concepts"]
    for key, row in rows.items():
        for code in row["codes"]:
            assert system(code["system"]).startswith("http"), key
            assert code["source"].startswith(("http", "repo:")) or ":" in code["source"], key
            assert code["code"] and code.get("display"), key


def test_concept_lookups_both_ways() -> None:
    for key in entries():
        concept = concept_for(key)
        assert concept_key(concept) == key
        assert kind_of(concept) == entries()[key].kind
    assert concept_key(Concept(text="Absolute neutrophil count")) == "anc"
    assert concept_key(Concept(codes=[Code("loinc", "no-such-code")])) is None
    assert kind_of(None) is None


@pytest.mark.parametrize(
    ("written", "ucum"),
    [
        ("x 10^9/L", "10*9/L"),
        ("× 10⁹/L", "10*9/L"),
        ("109/L", "10*9/L"),
        ("/mm3", "/mm3"),
        ("cells/uL", "/uL"),
        ("g/dL", "g/dL"),
        ("mL/min/1.73 m2", "mL/min/{1.73_m2}"),
        ("µmol/L", "umol/L"),
        ("weeks", "wk"),
        ("months", "mo"),
        ("years", "a"),
    ],
)
def test_units_as_written(written: str, ucum: str) -> None:
    assert ucum_unit(written) == ucum


# -- the flat form ----------------------------------------------------------------------------------------------------


def test_flat_form_composes_polarity_through_item_group_and_atom() -> None:
    absent = Atom("therapy", concept_for("systemic-therapy"), exclude=True)
    parent = Criterion("list:", True, children=[Criterion("x", False, definition=AtomGroup("all-of", [absent]))])
    assert [r["polarity"] for r in flat_atoms(parent)] == ["include"]  # exclusion item, absent atom: for entering
    carved = Criterion("x", True, definition=AtomGroup("any-of", [absent], exclude=True))
    assert [r["polarity"] for r in flat_atoms(carved)] == ["exclude"]  # True XOR True XOR True
    row = flat_atoms(Criterion("Pregnant", True, definition=Atom("pregnancy", concept_for("pregnancy"))))[0]
    assert row == {
        "kind": "pregnancy",
        "concept": "pregnancy",
        "comparator": None,
        "value": None,
        "low": None,
        "high": None,
        "unit": None,
        "result": None,
        "window": None,
        "polarity": "exclude",
    }


# -- patterns ---------------------------------------------------------------------------------------------------------

NO_WINDOW = None


@pytest.mark.parametrize(
    ("text", "exclude", "expected"),
    [
        ("ECOG PS 0 or 1 point", False, [("ecog", None, None, 0, 1, None, None, NO_WINDOW, "include")]),
        ("ECOG performance status ≤ 2", False, [("ecog", "<=", 2, None, None, None, None, NO_WINDOW, "include")]),
        (
            "Karnofsky performance status >= 70%",
            False,
            [("karnofsky", ">=", 70, None, None, "%", None, None, "include")],
        ),
        (
            "Absolute neutrophil count (ANC) ≥ 1.5 × 10⁹/L",
            False,
            [("anc", ">=", 1.5, None, None, "10*9/L", None, None, "include")],
        ),
        (
            "Platelets at least 100,000/mm^3",
            False,
            [("platelets", ">=", 100000, None, None, "/mm3", None, None, "include")],
        ),
        ("Hemoglobin \\>= 9 g/dL", False, [("hemoglobin", ">=", 9, None, None, "g/dL", None, None, "include")]),
        (
            "Creatinine no greater than 2.0 mg/dL",
            False,
            [("creatinine", "<=", 2, None, None, "mg/dL", None, None, "include")],
        ),
        ("Total bilirubin ≤1.5×ULN", False, [("bilirubin", "<=", 1.5, None, None, "{ULN}", None, None, "include")]),
        (
            "Serum creatinine ≤ 1.5 times the upper limit of normal",
            False,
            [("creatinine", "<=", 1.5, None, None, "{ULN}", None, None, "include")],
        ),
        (
            "ALT and AST ≤ 1.5 x ULN",
            False,
            [
                ("alt", "<=", 1.5, None, None, "{ULN}", None, None, "include"),
                ("ast", "<=", 1.5, None, None, "{ULN}", None, None, "include"),
            ],
        ),
        ("Age 18-75 years", False, [("age", None, None, 18, 75, "a", None, None, "include")]),
        ("18 years of age or older", False, [("age", ">=", 18, None, None, "a", None, None, "include")]),
        (
            "Life expectancy >= 12 weeks",
            False,
            [("life-expectancy", ">=", 12, None, None, "wk", None, None, "include")],
        ),
        ("Negative HIV test", False, [("hiv-test", None, None, None, None, None, "negative", None, "include")]),
        ("HBsAg positive", True, [("hbsag", None, None, None, None, None, "positive", None, "exclude")]),
        ("Known brain metastases", True, [("brain-metastases", None, None, None, None, None, None, None, "exclude")]),
        (
            "No prior systemic therapy",
            False,
            [("systemic-therapy", None, None, None, None, None, None, None, "exclude")],
        ),
        (
            "Received live attenuated vaccine within 1 month before enrollment.",
            True,
            [("live-vaccine", None, None, None, None, None, None, (-1, "mo", "enrollment"), "exclude")],
        ),
        (
            "Chemotherapy within 4 weeks before randomization",
            True,
            [("chemotherapy", None, None, None, None, None, None, (-4, "wk", "randomization"), "exclude")],
        ),
        (
            "Have measurable disease per RECIST v1.1",
            False,
            [("measurable-disease", None, None, None, None, None, None, None, "include")],
        ),
    ],
)
def test_patterns(text: str, exclude: bool, expected: list[tuple[Any, ...]]) -> None:
    assert atoms(text, exclude) == expected


def test_second_bound_and_windows_on_their_own_atoms() -> None:
    assert atoms("CRP > 50 and < 150 mg/l") == [
        ("crp", ">", 50, None, None, "mg/L", None, None, "include"),
        ("crp", "<", 150, None, None, "mg/L", None, None, "include"),
    ]
    window = (-14, "d", "randomization")
    text = (
        "Pregnant women, or women of childbearing potential without a negative pregnancy test within 14 days prior"
        " to randomization."
    )
    assert atoms(text, True) == [
        ("pregnancy", None, None, None, None, None, None, None, "exclude"),
        ("pregnancy-test", None, None, None, None, None, "negative", window, "include"),
    ]
    assert atoms("Total serum bilirubin ≤ ULN") == [("bilirubin", "<=", 1, None, None, "{ULN}", None, None, "include")]


def test_combinations() -> None:
    either = definition_of("Systolic blood pressure > 150 mmHg or diastolic blood pressure > 100 mmHg", True)
    assert isinstance(either, AtomGroup) and either.combine == "any-of" and len(either.members) == 2
    both = definition_of("ALT and AST ≤ 1.5 x ULN")
    assert isinstance(both, AtomGroup) and both.combine == "all-of"
    absent = definition_of("No prior systemic therapy")
    assert isinstance(absent, AtomGroup) and absent.combine == "all-of" and absent.members[0].exclude
    neither = definition_of("No brain metastases or leptomeningeal disease")
    assert isinstance(neither, AtomGroup) and neither.combine == "all-of"
    assert all(isinstance(m, Atom) and m.exclude for m in neither.members)


@pytest.mark.parametrize(
    "text",
    [
        "Adequate organ function",
        "Clinically significant cardiovascular disease",
        "Any condition that, in the investigator's opinion, makes the patient unsuitable",
        "Willing and able to provide written informed consent",
        "Women of childbearing potential must use effective contraception",
        "At least one lesion that can receive radiotherapy",
        "Platelets ≥ 100 × 10⁹/L unless due to bone marrow involvement",
        "Hemoglobin ≥ 9 g/dL (transfusion allowed) and 2 prior lines",
        "Prior radiotherapy is allowed",
        "History of allergy",
        "Chemotherapy:",
        "Creatinine clearance",
        "HER2",
        "Advanced or metastatic disease",
        "Platelet disorder or other bleeding disorder",
        "Nephrogenic diabetes insipidus",
        "ART naive (except for exposure to perinatal ART)",
        "No prior chemotherapy for current lung cancer",
        # a threshold with an alternative for a subgroup: the main one alone would rule the subgroup out wrongly
        "AST (SGOT) and ALT (SGPT) ≤ 2.5 × ULN or ≤ 5 × ULN (for patients with liver metastases)",
        "ALT ≤ 3 × ULN or ≤ 5 × ULN (in patients with liver metastases)",
        "Bilirubin ≤ 1.5 × ULN unless Gilbert's syndrome is present, in which case ≤ 3 × ULN",
        "INR ≤ 1.5 × ULN (unless the subject is receiving anticoagulant therapy, in which case INR must be in range)",
        "Continuation of a regimen is permitted, including targeted therapy",
        "Documented hepatitis B surface antigen, hepatitis C by serology, HIV by serology: all negative",
        "Diagnosis of diabetes for at least 3 years",
    ],
)
def test_unclear_text_stays_text(text: str) -> None:
    assert definition_of(text) is None
    assert definition_of(text, True) is None


def test_stage_alternatives_narrow_an_exclusion() -> None:
    assert definition_of("Stage I or IV breast cancer", True) is None
    assert definition_of("Recurrent or metastatic breast cancer", True) is None
    assert definition_of("ER+ and/or PR+, HER2-, early invasive breast cancer", True) is None  # grouping unknown


def test_an_alternative_part_of_an_inclusion_is_read_or_the_item_stays_text() -> None:
    assert (
        definition_of("Total bilirubin ≤ ULN; or total bilirubin ≤ 3 × ULN in patients with Gilbert's syndrome") is None
    )
    either = definition_of("ECOG 0-1; or Karnofsky ≥ 70%")
    assert isinstance(either, AtomGroup) and either.combine == "any-of"


def test_requirements_after_an_and_or_list() -> None:
    both = definition_of("ER+ and/or PR+, HER2-, early invasive breast cancer")
    assert isinstance(both, AtomGroup) and both.combine == "all-of"
    either = both.members[0]
    assert isinstance(either, AtomGroup) and either.combine == "any-of" and len(either.members) == 2
    assert atoms("ER+ and/or PR+, HER2-, early invasive breast cancer") == [
        ("er-status", None, None, None, None, None, "positive", None, "include"),
        ("pr-status", None, None, None, None, None, "positive", None, "include"),
        ("her2-status", None, None, None, None, None, "negative", None, "include"),
        ("breast-cancer", None, None, None, None, None, None, None, "include"),
    ]


def test_blood_pressure_pairs() -> None:
    high = definition_of("Blood pressure > 150/100 mmHg", True)
    assert isinstance(high, AtomGroup) and high.combine == "any-of"  # either value excludes
    low = definition_of("BP < 140/90 mmHg")
    assert isinstance(low, AtomGroup) and low.combine == "all-of"  # both are required
    assert atoms("Hypertension (BP persistently > 150/95 mmHg) or hypotension (BP < 85/55 mmHg)", True) == [
        ("systolic-bp", ">", 150, None, None, "mm[Hg]", None, None, "exclude"),
        ("diastolic-bp", ">", 95, None, None, "mm[Hg]", None, None, "exclude"),
        ("systolic-bp", "<", 85, None, None, "mm[Hg]", None, None, "exclude"),
        ("diastolic-bp", "<", 55, None, None, "mm[Hg]", None, None, "exclude"),
    ]
    assert definition_of("BP > 140 mmHg", True) is None  # which pressure is not written
    assert atoms("Systolic blood pressure (BP) ≥ 160 mmHg", True) == [
        ("systolic-bp", ">=", 160, None, None, "mm[Hg]", None, None, "exclude")
    ]


def test_an_item_with_children_has_no_definition_of_its_own() -> None:
    parent = Criterion("Adequate organ function: ANC ≥ 1.5 x 10^9/L", children=[Criterion("Platelets ≥ 100 x 10^9/L")])
    annotate_criteria([parent])
    assert parent.definition is None and parent.children[0].definition is not None


def test_atom_issues_say_which_words_gave_which_atom() -> None:
    crits = [Criterion("Absolute neutrophil count ≥ 1.5 × 109/L"), Criterion("Consent")]
    annotate_criteria(crits)
    (issue,) = atom_issues(crits, location="eligibilityCriteria")
    assert issue.severity == "information" and issue.code == "informational"
    assert issue.location == "eligibilityCriteria[0]"
    assert issue.message == "atom: lab anc >= 1.5 10*9/L <- 'Absolute neutrophil count ≥ 1.5 × 109/L'"


# -- the seeds: issue 9 "Done when" -----------------------------------------------------------------------------------


def _seed_atoms() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for record in read_records(SEEDS):
        assert record.trial is not None and record.trial.eligibility is not None
        for crit in record.trial.eligibility.criteria:
            rows += flat_atoms(crit)
    return rows


def _has(rows: list[dict[str, Any]], **want: Any) -> bool:
    return any(all(r.get(k) == v for k, v in want.items()) for r in rows)


def test_seed_criteria_are_exact() -> None:
    assert len(SEEDS) == 2
    rows = _seed_atoms()
    inc, exc = {"polarity": "include"}, {"polarity": "exclude"}
    assert _has(rows, concept="ecog", low=0, high=1, comparator=None, **inc)
    assert _has(rows, concept="anc", comparator=">=", value=1.5, unit="10*9/L", **inc)
    assert _has(rows, concept="platelets", comparator=">=", value=80, unit="10*9/L", **inc)
    assert _has(rows, concept="hemoglobin", comparator=">=", value=90, unit="g/L", **inc)
    for key in ("alt", "ast", "bilirubin", "creatinine"):
        assert _has(rows, concept=key, comparator="<=", value=1.5, unit="{ULN}", **inc), key
    assert _has(rows, concept="systolic-bp", comparator=">=", value=140, unit="mm[Hg]", **exc)
    assert _has(rows, concept="diastolic-bp", comparator=">=", value=90, unit="mm[Hg]", **exc)
    window = {"low": -6, "high": 0, "unit": "mo", "event": None}
    assert _has(rows, concept="vegfr-tki", window=window, **exc)
    assert _has(rows, concept="pregnancy", **exc) and _has(rows, concept="breastfeeding", **exc)


def test_seed_bp_and_pregnancy_are_alternatives() -> None:
    bp = definition_of(
        "Insufficient control of hypertension (systolic blood pressure ≥ 140mmHg or diastolic blood pressure ≥ 90mmHg)"
        " (based on the average of BP readings obtained from ≥ 2 measurements), allowing for the use of"
        " antihypertensive therapy to achieve the above parameters",
        True,
    )
    assert isinstance(bp, AtomGroup) and bp.combine == "any-of"
    pregnant = definition_of("Pregnant or lactating women", True)
    assert isinstance(pregnant, AtomGroup) and pregnant.combine == "any-of"


# -- lists, alternatives and carve-outs (general rules; each with a case the dev set does not hold) -----------------

ULN = "{ULN}"


@pytest.mark.parametrize(
    ("text", "exclude", "expected"),
    [
        (  # a subgroup that complements the first alternative: both alternatives
            "Creatinine ≤ 1.5 × ULN or creatinine clearance ≥ 50 mL/min for patients with creatinine above ULN",
            False,
            [
                ("creatinine", "<=", 1.5, None, None, ULN, None, None, "include"),
                ("creatinine-clearance", ">=", 50, None, None, "mL/min", None, None, "include"),
            ],
        ),
        (  # alternatives among qualifiers of one concept
            "Cytologically or histologically confirmed recurrent or metastatic melanoma",
            False,
            [("melanoma", None, None, None, None, None, None, None, "include")],
        ),
        (
            "Congenital or acquired immunodeficiency",
            True,
            [("immunodeficiency", None, None, None, None, None, None, None, "exclude")],
        ),
        (  # NYHA class in Roman numerals, with or without the scale's name
            "NYHA class III-IV heart failure",
            True,
            [
                ("nyha-class", None, None, 3, 4, None, None, None, "exclude"),
                ("heart-failure", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (
            "Class II or III congestive heart failure",
            True,
            [
                ("nyha-class", None, None, 2, 3, None, None, None, "exclude"),
                ("heart-failure", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (  # "at least N since prior X": no X in the past N
            "At least 4 weeks since prior radiotherapy",
            False,
            [("radiotherapy", None, None, None, None, None, None, (-4, "wk", None), "exclude")],
        ),
        (  # a requirement in brackets after a threshold is a further requirement
            "Hemoglobin ≥ 9 g/dL (no red blood cell transfusion within 7 days before enrollment)",
            False,
            [
                ("hemoglobin", ">=", 9, None, None, "g/dL", None, None, "include"),
                ("transfusion", None, None, None, None, None, None, (-7, "d", "enrollment"), "exclude"),
            ],
        ),
        (  # "X, including A, B": the named members when X is no concept, with X's window
            "Any anticancer treatment within 28 days, including chemotherapy or radiotherapy",
            True,
            [
                ("chemotherapy", None, None, None, None, None, None, (-28, "d", None), "exclude"),
                ("radiotherapy", None, None, None, None, None, None, (-28, "d", None), "exclude"),
            ],
        ),
        (  # ... and X alone when X is a concept
            "Autoimmune disease, including lupus or vasculitis",
            True,
            [("autoimmune-disease", None, None, None, None, None, None, None, "exclude")],
        ),
        (  # the exceptions of an exclusion are not read; the exclusion stays
            "Other malignancy within 2 years, except adequately treated carcinoma in situ of the cervix",
            True,
            [("second-malignancy", None, None, None, None, None, None, (-2, "a", None), "exclude")],
        ),
        (  # a future clause after 'or' keeps the alternatives before it
            "Women who are lactating, pregnant or plan to become pregnant",
            True,
            [
                ("breastfeeding", None, None, None, None, None, None, None, "exclude"),
                ("pregnancy", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (  # who an age criterion is about
            "Women aged 50 to 70 years",
            False,
            [
                ("age", None, None, 50, 70, "a", None, None, "include"),
                ("sex", None, None, None, None, None, "female", None, "include"),
            ],
        ),
        (
            "Serologically positive for HIV",
            True,
            [("hiv-test", None, None, None, None, None, "positive", None, "exclude")],
        ),
        (
            "Absence of EGFR mutation or ALK rearrangement",
            False,
            [
                ("egfr-mutation", None, None, None, None, None, "present", None, "exclude"),
                ("alk-rearrangement", None, None, None, None, None, "present", None, "exclude"),
            ],
        ),
        (  # words sharing a concept's words across 'or'
            "Cutaneous or mucosal melanoma",
            False,
            [
                ("melanoma", None, None, None, None, None, None, None, "include"),
                ("mucosal-melanoma", None, None, None, None, None, None, None, "include"),
            ],
        ),
        (
            "Chronic hepatitis B or C",
            True,
            [
                ("hepatitis-b", None, None, None, None, None, None, None, "exclude"),
                ("hepatitis-c", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (  # a result before a list of tests is each test's; a disease named before its test is the test
            "Negative HBsAg and anti-HCV",
            False,
            [
                ("hbsag", None, None, None, None, None, "negative", None, "include"),
                ("hcv-antibody", None, None, None, None, None, "negative", None, "include"),
            ],
        ),
        (
            "Negative hepatitis C (anti-HCV) test",
            False,
            [("hcv-antibody", None, None, None, None, None, "negative", None, "include")],
        ),
        (  # "received or will receive X": the exposure, the future dropped
            "Has received or will receive a live vaccine within 28 days before enrollment",
            True,
            [("live-vaccine", None, None, None, None, None, None, (-28, "d", "enrollment"), "exclude")],
        ),
        (  # a parenthetical that defines what is before it ("ie", "i.e.")
            "Adequate marrow recovery (i.e. ANC ≥ 1.0 × 10^9/L)",
            False,
            [("anc", ">=", 1, None, None, "10*9/L", None, None, "include")],
        ),
        (  # ", regardless of ..." adds no condition
            "Creatinine clearance < 30 mL/min, regardless of whether dialysis is needed",
            True,
            [("creatinine-clearance", "<", 30, None, None, "mL/min", None, None, "exclude")],
        ),
        (  # examples after 'including' are alternatives
            "Prior anticancer treatment, including chemotherapy, radiotherapy, immunotherapy, etc.",
            True,
            [
                ("chemotherapy", None, None, None, None, None, None, None, "exclude"),
                ("radiotherapy", None, None, None, None, None, None, None, "exclude"),
                ("immunotherapy", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (  # a required condition with another: both
            "Hypertension with diabetes",
            False,
            [
                ("hypertension", None, None, None, None, None, None, None, "include"),
                ("diabetes", None, None, None, None, None, None, None, "include"),
            ],
        ),
        (  # "a condition requiring systemic treatment with X within ...": exposure to X
            "Subjects with a condition requiring systemic treatment with corticosteroids within 14 days of"
            " randomization",
            True,
            [("corticosteroids", None, None, None, None, None, None, (-14, "d", "randomization"), "exclude")],
        ),
        (  # the same requirement for another subgroup goes
            "Negative pregnancy test within 7 days before enrollment, or in women with amenorrhea for 6 months",
            False,
            [("pregnancy-test", None, None, None, None, None, "negative", (-7, "d", "enrollment"), "include")],
        ),
        (  # "X patients on Y": both; a clause that says why adds no condition
            "HIV-positive patients on antiretroviral therapy are excluded because of drug interactions",
            True,
            [
                ("hiv-infection", None, None, None, None, None, None, None, "exclude"),
                ("antiretroviral-therapy", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (  # the point of an abbreviation ends no sentence
            "Strong CYP3A4 inducers (e.g. rifampicin, St. John's Wort)",
            True,
            [("strong-cyp3a4-inducers", None, None, None, None, None, None, None, "exclude")],
        ),
        (  # in an exclusion, ", and <new subject> ..." is another reason to exclude
            "Women who are pregnant or breastfeeding, and men who cannot comply with the requirements",
            True,
            [
                ("pregnancy", None, None, None, None, None, None, None, "exclude"),
                ("breastfeeding", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (
            "Positive blood screen for HIV-1/2 antibodies",
            True,
            [("hiv-test", None, None, None, None, None, "positive", None, "exclude")],
        ),
        (  # a version after its name in brackets is no number of the criterion
            "Measurable disease per Response Evaluation Criteria in Solid Tumors (RECIST) 1.1",
            False,
            [("measurable-disease", None, None, None, None, None, None, None, "include")],
        ),
        (  # the words after 'and/or' share the first words of the concept before it, several words long
            "Serology positive for hepatitis B surface antigen or C antibodies",
            True,
            [
                ("hbsag", None, None, None, None, None, "positive", None, "exclude"),
                ("hcv-antibody", None, None, None, None, None, "positive", None, "exclude"),
            ],
        ),
        (  # an exclusion's examples after a head that names no concept: the concrete, unqualified ones
            "Significant heart disease (e.g., myocardial infarction, severe arrhythmia, valve disease, or stroke) "
            "within the past 6 months",
            True,
            [
                ("myocardial-infarction", None, None, None, None, None, None, (-6, "mo", None), "exclude"),
                ("stroke", None, None, None, None, None, None, (-6, "mo", None), "exclude"),
            ],
        ),
        (
            "Infections such as tuberculosis, hepatitis B, etc.",
            True,
            [
                ("tuberculosis", None, None, None, None, None, None, None, "exclude"),
                ("hepatitis-b", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (  # examples with their own windows; a window belongs to the atoms before it that have none
            "Heart disease (e.g., unstable angina, stroke within 3 months, myocardial infarction within the past 6 "
            "months, or second-degree heart block)",
            True,
            [
                ("stroke", None, None, None, None, None, None, (-3, "mo", None), "exclude"),
                ("myocardial-infarction", None, None, None, None, None, None, (-6, "mo", None), "exclude"),
                ("unstable-angina", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (
            "Myocardial infarction within 6 months or stroke within 3 months",
            True,
            [
                ("myocardial-infarction", None, None, None, None, None, None, (-6, "mo", None), "exclude"),
                ("stroke", None, None, None, None, None, None, (-3, "mo", None), "exclude"),
            ],
        ),
        ("Prior anticancer therapy (e.g., chemotherapy or radiotherapy)", False, []),  # an inclusion's: text
        ("Any condition other than cancer (e.g., stroke)", True, []),  # a limited head: text
        ("Uncontrolled conditions such as hypertension or diabetes", True, []),  # the examples' state: text
        ("Chronic infections such as tuberculosis or hepatitis B", True, []),  # the examples' state: text
        (  # a bracketed list after a head that names no concept: its concrete members
            "Lung disease (interstitial lung disease, COPD, history of severe asthma)",
            True,
            [
                ("interstitial-lung-disease", None, None, None, None, None, None, None, "exclude"),
                ("copd", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (  # 'non-' before pregnancy or breastfeeding negates it
            "Non-pregnant and non-lactating women",
            False,
            [
                ("pregnancy", None, None, None, None, None, None, None, "exclude"),
                ("breastfeeding", None, None, None, None, None, None, None, "exclude"),
            ],
        ),
        (
            "Male or non-lactating females",
            False,
            [("breastfeeding", None, None, None, None, None, None, None, "exclude")],
        ),
        ("Non-small cell lung cancer", False, [("nsclc", None, None, None, None, None, None, None, "include")]),
        (  # a spelled-out abbreviation is a form of the concept
            "Prior deoxyribonucleic acid (DNA) modulation agents",
            True,
            [("hypomethylating-agents", None, None, None, None, None, None, None, "exclude")],
        ),
    ],
)
def test_general_rules(text: str, exclude: bool, expected: list[tuple[Any, ...]]) -> None:
    assert atoms(text, exclude) == expected


# -- rules of the recall pass (helper R): each a wording that recurs in trials -----------------------------------------

X = None  # a field the atom does not have


def _w(low: float, unit: str, event: str | None = None) -> tuple[float, str, str | None]:
    return (low, unit, event)


@pytest.mark.parametrize(
    ("text", "exclude", "expected"),
    [
        (  # an exclusion's alternative that cannot be read stays text; the others still exclude
            "Subjects with known Tuberculosis (TB) infection, at high risk of acquiring TB infection, or latent TB",
            True,
            [("tuberculosis", X, X, X, X, X, X, X, "exclude")],
        ),
        (  # a first alternative left out for its qualifier, before a threshold of its own
            "Subjects with symptomatic hypotension or systolic blood pressure <100 mmHg at screening",
            True,
            [("systolic-bp", "<", 100, X, X, "mm[Hg]", X, X, "exclude")],
        ),
        (  # the examples of a condition under an opening window, one of them a NYHA class with "heart disease"
            "Within the past 3 months, there has been severe cardiovascular disease (such as New York Heart Association"
            " Grade II or above heart disease, myocardial infarction, or cerebrovascular accident), unstable"
            " arrhythmia, or unstable angina pectoris",
            True,
            [
                ("nyha-class", ">=", 2, X, X, X, X, _w(-3, "mo"), "exclude"),
                ("myocardial-infarction", X, X, X, X, X, X, _w(-3, "mo"), "exclude"),
                ("stroke", X, X, X, X, X, X, _w(-3, "mo"), "exclude"),
                ("unstable-angina", X, X, X, X, X, X, _w(-3, "mo"), "exclude"),
            ],
        ),
        (  # a NYHA class named after the condition ("as defined by the NYHA classification"), in an example list
            "Cardiovascular disease (e.g., Class III or IV heart failure as defined by the New York Heart Association"
            " classification, myocardial infarction within the past 6 months)",
            True,
            [
                ("myocardial-infarction", X, X, X, X, X, X, _w(-6, "mo"), "exclude"),  # examples with a window first
                ("nyha-class", X, X, 3, 4, X, X, X, "exclude"),
                ("heart-failure", X, X, X, X, X, X, X, "exclude"),
            ],
        ),
        (  # a disease-free interval: the malignancy within that many years; the carve-out is dropped
            "Prior history of cancer, other than MDS, unless the subject has been free of the disease for ≥ 5 years.",
            True,
            [("second-malignancy", X, X, X, X, X, X, _w(-5, "a"), "exclude")],
        ),
        (
            "History of another malignancy unless the patient has been cured and has had no evidence of recurrence"
            " for 3 years",
            True,
            [("second-malignancy", X, X, X, X, X, X, _w(-3, "a"), "exclude")],
        ),
        (
            "No other malignancy unless disease-free for at least 3 years",
            False,
            [("second-malignancy", X, X, X, X, X, X, _w(-3, "a"), "exclude")],
        ),
        (
            "Currently receiving treatment for cancer or history of cancer in the last five years (except basal cell"
            " carcinoma of the skin)",
            True,
            [("second-malignancy", X, X, X, X, X, X, _w(-5, "a"), "exclude")],
        ),
        (  # a condition defined by its "(i.e. ...)"; the next sentence lost its full stop
            "Patients with known active hepatic disease (i.e., Hepatitis B or C) Systematic serologies to confirm"
            " the absence of these diseases are not required.",
            True,
            [
                ("hepatitis-b", X, X, X, X, X, X, X, "exclude"),
                ("hepatitis-c", X, X, X, X, X, X, X, "exclude"),
            ],
        ),
        (  # a severity defined by measurements: the measurements
            "Severe chronic liver disease (ALT or AST > 5 times the upper limit of normal)",
            True,
            [("alt", ">", 5, X, X, ULN, X, X, "exclude"), ("ast", ">", 5, X, X, ULN, X, X, "exclude")],
        ),
        (  # "may not be receiving": the exposure excludes; in an inclusion it is an absence
            "Patients may not be receiving any other investigational agents.",
            True,
            [("investigational-drug", X, X, X, X, X, X, X, "exclude")],
        ),
        (
            "Patients may not be receiving any other investigational agents.",
            False,
            [("investigational-drug", X, X, X, X, X, X, X, "exclude")],
        ),
        (  # "negative for" a condition without a test of its own: its absence; "per local ..." says how
            "Screen negative for Tuberculosis per local screening guidelines",
            False,
            [("tuberculosis", X, X, X, X, X, X, X, "exclude")],
        ),
        (  # an inclusion's "... and who agrees to ...": a requirement of its own (text)
            "Woman of childbearing potential who has a negative serum pregnancy test at screening and who agrees to"
            " take appropriate precautions to avoid pregnancy",
            False,
            [("pregnancy-test", X, X, X, X, X, "negative", X, "include")],
        ),
        (  # an inclusion's relative clause after a condition is a requirement of its own (here text)
            "Subjects with histologically or cytologically-documented squamous cell NSCLC who present with Stage"
            " IIIB/IV disease or with recurrent or progressive disease following multimodal therapy",
            False,
            [("nsclc", X, X, X, X, X, X, X, "include")],
        ),
        (
            "Patients with breast cancer who have not received chemotherapy",
            False,
            [("breast-cancer", X, X, X, X, X, X, X, "include"), ("chemotherapy", X, X, X, X, X, X, X, "exclude")],
        ),
        (  # an age with a condition: both required; the clause after the condition's bracket on its own
            "Male or female adults ages 18 to 64 years with Chronic AD (according to the American Academy of"
            " Dermatology Consensus Criteria) that has been present for at least 3 years before the screening visit",
            False,
            [("age", X, X, 18, 64, "a", X, X, "include"), ("atopic-dermatitis", X, X, X, X, X, X, X, "include")],
        ),
        (  # 'positive' after a list of conditions and tests: the conditions are present, the tests positive
            "HIV, HCV or HBsAg positive",
            True,
            [
                ("hiv-infection", X, X, X, X, X, X, X, "exclude"),
                ("hepatitis-c", X, X, X, X, X, X, X, "exclude"),
                ("hbsag", X, X, X, X, X, "positive", X, "exclude"),
            ],
        ),
    ],
)
def test_recall_rules(text: str, exclude: bool, expected: list[tuple[Any, ...]]) -> None:
    assert atoms(text, exclude) == expected


@pytest.mark.parametrize(
    "text",
    [
        # an alternative left out that limits the others, or a first one that may govern them
        "Malignancy, or prior malignancy unless curatively treated",
        "Hospitalization for myocardial infarction, stroke, or heart failure",
        "Active infection requiring intravenous antibiotics, antivirals, or antifungals",
        # a trailing window or qualifier may belong to every alternative
        "Current receipt of treatment for active TB or receipt of >14 days cumulative treatment for active TB within"
        " 96 weeks prior to study entry",
        "On anticoagulation or dual anti-platelet therapy with abnormal coagulation panel results",
        # an unknown name before a shared value
        "Alkaline phosphatase or AST > 5 x ULN, or symptomatic hepatitis",
        # examples of one alternative are no alternatives
        "Use of immunosuppressive medication, such as systemic corticosteroids or chemotherapy, or immunosuppressive"
        " diseases",
        # a disease-free clause that says more than the interval
        "Other malignancy unless treated with curative intent and disease-free for 3 years",
        "History of cancer unless disease-free for 5 years and approved by the sponsor",
        # "may not" outside a prohibition of an exposure
        "Patients with heart failure who may not tolerate fluid loading",
        # conditions of other people (the household, those one cares for) are not the participant's
        "Individuals living with immunocompromised people, pregnant women, or lactating women",
        "Exposure to someone with HIV",
        "Caregivers of pregnant women",
        "Household contacts of patients with tuberculosis",
    ],
)
def test_recall_rules_keep_unclear_text(text: str) -> None:
    assert definition_of(text, True) is None


def test_a_relative_clause_under_a_negation_stays_in_its_scope() -> None:
    # "no brain metastases that are untreated" does not rule out treated ones: the clause is not cut off
    assert definition_of("No brain metastases that are untreated", False) is None
    # in an exclusion both are required to exclude: the clause is not a part of its own
    assert definition_of("Patients with NSCLC who have received prior chemotherapy", True) is None
