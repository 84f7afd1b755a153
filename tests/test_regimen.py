"""The regimen reader (issue 10, ``fhir_adapter.regimen``): the seed NCT07236528's three phases, and the rules the
reader keeps (unclear text stays text, attribution to the right arm, the vocabulary's sources)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fhir_adapter import read_trials
from fhir_adapter.model import (
    Arm,
    Count,
    DayRun,
    Dose,
    DrugActivity,
    Frequency,
    Intervention,
    Quantity,
    Radiotherapy,
    Regimen,
    Sequencing,
    Trial,
)
from fhir_adapter.regimen import read_phases, regimen_of
from fhir_adapter.regimen.terms import terms
from fhir_adapter.terminology import mappings_dir

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_fdb36eec3c492087.txt"
DATA = REPO / "tests" / "data"


def _seed() -> tuple[Trial, Regimen]:
    trial = next(iter(read_trials(SEED)))
    return trial, regimen_of(trial, trial.arms[0])


def _drugs(regimen: Regimen, phase: int) -> dict[str, DrugActivity]:
    return {a.name: a for a in regimen.phases[phase].activities if isinstance(a, DrugActivity)}


def test_seed_has_three_ordered_phases() -> None:
    _, regimen = _seed()
    assert [p.title for p in regimen.phases] == [
        "Induction phase",
        "Synchronous radiotherapy stage",
        "Maintenance phase",
    ]


def test_seed_induction() -> None:
    _, regimen = _seed()
    induction = regimen.phases[0]
    assert induction.cycles == Count(2, 2)
    assert induction.cycle_length == Quantity(28.0, unit="d")
    drugs = _drugs(regimen, 0)
    cari, apa = drugs["Carilizumab"], drugs["Apatinib mesylate"]
    assert cari.doses == [Dose(value=200.0, unit="mg", unit_text="mg")]
    assert (cari.route, cari.frequency) == ("intravenous", Frequency(1, 2.0, "wk", "once every 2 weeks"))
    assert apa.doses[0].value == 500.0 and apa.doses[0].unit == "mg"
    assert (apa.route, apa.frequency) == ("oral", Frequency(1, 1.0, "d", "once daily"))


def test_seed_radiotherapy_stage() -> None:
    _, regimen = _seed()
    rt = next(a for a in regimen.phases[1].activities if isinstance(a, Radiotherapy))
    assert (rt.total_dose.low, rt.total_dose.high, rt.total_dose.unit) == (18.0, 25.0, "Gy")  # type: ignore[union-attr]
    assert rt.fractions == Count(3, 6)
    assert {"3D-CRT", "IMRT"} <= set(rt.techniques)
    cari = _drugs(regimen, 1)["Carilizumab"]
    [seq] = cari.sequencing
    assert (seq.relationship, seq.target, seq.offset_low) == ("after-end", "radiotherapy", None)
    assert seq.offset_high == Quantity(48.0, unit="h", unit_text="hours")
    assert isinstance(seq, Sequencing) and "48 hours" in seq.text


def test_seed_maintenance() -> None:
    _, regimen = _seed()
    maintenance = regimen.phases[2]
    assert maintenance.stop_condition is not None and maintenance.stop_condition.startswith("Until tumor progression")
    assert maintenance.max_duration is not None
    assert (maintenance.max_duration.value, maintenance.max_duration.unit) == (2.0, "a")
    assert set(_drugs(regimen, 2)) == {"Carilizumab", "Apatinib mesylate"}


def test_regimen_of_neither_changes_the_trial_nor_varies() -> None:
    trial, first = _seed()
    before = copy.deepcopy(trial)
    assert regimen_of(trial, trial.arms[0]) == first
    assert trial == before


NAMES = {"fluconazole": "fluconazole", "paclitaxel": "paclitaxel", "carboplatin": "carboplatin"}


def _one(text: str) -> DrugActivity:
    [phase] = read_phases(text, NAMES)
    [drug] = [a for a in phase.activities if isinstance(a, DrugActivity)]
    return drug


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("fluconazole 6mg/kg IV twice weekly", "intravenous"),
        ("fluconazole 6mg/kg IV or PO twice weekly", None),  # two routes: none
        ("fluconazole 6mg/kg IV/PO twice weekly", None),
        ("fluconazole 6mg/kg tablets twice weekly", None),  # a tablet is not a route
    ],
)
def test_route_only_when_one_is_written(text: str, route: str | None) -> None:
    assert _one(text).route == route


@pytest.mark.parametrize(
    ("text", "frequency"),
    [
        ("fluconazole 50 mg once every 3 weeks", Frequency(1, 3.0, "wk")),
        ("fluconazole 50 mg BID", Frequency(2, 1.0, "d")),
        ("fluconazole 50 mg three times a day", Frequency(3, 1.0, "d")),
        ("fluconazole 50 mg 3-4 times a day", None),  # a range of frequencies is not held
        ("fluconazole 50 mg 3 - 4 times a day", None),
        ("fluconazole 50 mg 2 or 3 times a day", None),
        ("fluconazole 50 mg two to three times per week", None),
        ("fluconazole 50 mg once or twice daily", None),  # a choice of frequencies neither
        ("fluconazole 50 mg daily or every other day", None),
        ("fluconazole 50 mg biweekly", None),  # twice a week or every two weeks: stays text
        ("fluconazole 50 mg 3 times a day for 3 to 5 days", Frequency(3, 1.0, "d")),
        ("fluconazole 50 mg/day", Frequency(1, 1.0, "d")),
    ],
)
def test_frequency(text: str, frequency: Frequency | None) -> None:
    found = _one(text).frequency
    got = (found.count, found.period, found.unit) if found else None
    assert got == ((frequency.count, frequency.period, frequency.unit) if frequency else None)


def test_no_dose_without_a_unit_or_after_more_than() -> None:
    assert _one("fluconazole 250 from day 2 to 5").doses == []
    assert _one("fluconazole with a meal of more than 20 grams of carbohydrate").doses == []
    assert _one("fluconazole, concentration 200 mg / ml").doses == []


@pytest.mark.parametrize(
    "text",
    [
        "fluconazole with a meal of more than 20 grams of carbohydrate",
        "fluconazole up to 4 g",
        "fluconazole, a maximum of 300 mg",
        "fluconazole after at least 20 grams of carbohydrate",
    ],
)
def test_a_bound_is_no_dose(text: str) -> None:
    assert _one(text).doses == []
    assert _one("fluconazole 400 mg up to day 5").doses[0].value == 400.0  # the bound of a day is no dose bound


def test_a_visit_schedule_is_no_dosing_frequency() -> None:
    drug = _one("fluconazole 400 mg once. Follow-up visits every 3 months.")
    assert drug.doses[0].value == 400.0 and drug.frequency is None


def test_dose_levels_of_an_escalation() -> None:
    drug = _one("fluconazole 1, 2 or 4 mg/kg IV every 3 weeks")
    assert [(d.value, d.unit) for d in drug.doses] == [(1.0, "mg/kg"), (2.0, "mg/kg"), (4.0, "mg/kg")]


def test_days_and_cycles() -> None:
    [phase] = read_phases("paclitaxel 80 mg/m2 on days 1, 8 and 15. Courses repeat every 28 days for 6 cycles.", NAMES)
    drug = phase.activities[0]
    assert isinstance(drug, DrugActivity)
    assert drug.days == [DayRun(1, 1), DayRun(8, 8), DayRun(15, 15)]
    assert phase.cycle_length == Quantity(28.0, unit="d") and phase.cycles == Count(6, 6)


def test_auc_dose_and_shared_days() -> None:
    [phase] = read_phases("paclitaxel 175 mg/m2 and carboplatin AUC 5 on day 1 of a 21-day cycle", NAMES)
    pac, carbo = phase.activities
    assert isinstance(pac, DrugActivity) and isinstance(carbo, DrugActivity)
    assert carbo.doses[0].value == 5.0 and carbo.doses[0].unit == "{AUC}"
    assert pac.days == carbo.days == [DayRun(1, 1)]
    assert phase.cycle_length == Quantity(21.0, unit="d")


def test_days_every_n_weeks_is_the_cycle() -> None:
    names = {"gemcitabine": "gemcitabine", "docetaxel": "docetaxel"}
    [phase] = read_phases("Gemcitabine 1000 mg/m2 IV on days 1, 8 and 15 every 4 weeks", names)
    [drug] = phase.activities
    assert isinstance(drug, DrugActivity) and drug.frequency is None and len(drug.days) == 3
    assert phase.cycle_length == Quantity(28.0, unit="d")
    text = "Patients receive docetaxel 75 mg/m2 IV on day 1. Treatment repeats every 3 weeks for up to 6 courses."
    [phase] = read_phases(text, names)
    assert phase.cycle_length == Quantity(21.0, unit="d") and phase.cycles == Count(1, 6)


def test_followed_by_cycles_is_a_new_phase() -> None:
    text = (
        "Temozolomide 75 mg/m2/day orally during radiotherapy (60 Gy/30 fractions), followed by 6 cycles of adjuvant"
        " temozolomide 150-200 mg/m2/day on days 1-5 every 28 days"
    )
    concurrent, adjuvant = read_phases(text, {"temozolomide": "temozolomide"})
    rt = next(a for a in concurrent.activities if isinstance(a, Radiotherapy))
    assert rt.total_dose is not None and rt.total_dose.value == 60.0 and rt.fractions == Count(30, 30)
    [tmz] = [a for a in adjuvant.activities if isinstance(a, DrugActivity)]
    assert (tmz.doses[0].low, tmz.doses[0].high, tmz.doses[0].unit) == (150.0, 200.0, "mg/m2")
    assert tmz.frequency is not None and (tmz.frequency.count, tmz.frequency.period, tmz.frequency.unit) == (
        1,
        1.0,
        "d",
    )
    assert tmz.days == [DayRun(1, 5)] and adjuvant.cycles == Count(6, 6)
    assert adjuvant.cycle_length == Quantity(28.0, unit="d")


def test_each_arm_reads_its_own_intervention_entry() -> None:
    trial = next(iter(read_trials(DATA / "ctgov-xml" / "NCT02260193.xml")))
    freqs = []
    for arm in trial.arms:
        [drug] = regimen_of(trial, arm).phases[0].activities
        assert isinstance(drug, DrugActivity) and drug.route == "oral"
        freqs.append((drug.frequency.count, drug.frequency.unit) if drug.frequency else None)
    assert freqs == [(1, "d"), (1, "d"), (3, "wk")]


def test_an_intervention_text_naming_several_arms_gives_each_its_section() -> None:
    text = "Cohort 1: 0.2 mg/kg IV every other week. Cohort 2: 0.2 mg/kg IV weekly."
    trial = Trial(
        arms=[Arm("Cohort 1", intervention_names=["Drug: X"]), Arm("Cohort 2", intervention_names=["Drug: X"])],
        interventions=[Intervention("X", "DRUG", text, arm_labels=["Cohort 1", "Cohort 2"])],
    )
    periods = []
    for arm in trial.arms:
        [drug] = regimen_of(trial, arm).phases[0].activities
        assert isinstance(drug, DrugActivity) and drug.frequency is not None
        periods.append(drug.frequency.period)
    assert periods == [2.0, 1.0]


def test_every_route_has_a_snomed_code_and_a_source() -> None:
    raw = json.loads((mappings_dir() / "regimen-terms.json").read_text(encoding="utf-8"))
    for key, entry in raw["routes"].items():
        assert entry["snomed"].isdigit() and entry["source"] and entry["words"], key
    for entry in raw["procedures"].values():
        assert entry["snomed"].isdigit() and entry["source"]
    assert terms().route_words["po"] == "oral"


def test_a_lone_trial_phase_heading_is_no_regimen_phase() -> None:
    # NCT00023673 (legacy v1): "Phase I: Three-dimensional conformal radiation therapy ..." is the trial's phase.
    [phase] = read_phases("Phase I: paclitaxel 50 mg/m2 weekly", NAMES)
    assert phase.title == "Treatment"
    first, second = read_phases("Phase 1: paclitaxel 50 mg/m2 weekly. Phase 2: carboplatin AUC 5 every 3 weeks", NAMES)
    assert (first.title, second.title) == ("Phase 1", "Phase 2")  # numbered phases of the regimen stay
    [phase] = read_phases("Phase I induction: paclitaxel 50 mg/m2 weekly", NAMES)
    assert phase.title == "Phase I induction"


def test_radiotherapy_unit_as_written_whole_clauses_one_name_per_technique() -> None:
    _, regimen = _seed()
    rt = next(a for a in regimen.phases[1].activities if isinstance(a, Radiotherapy))
    assert rt.total_dose is not None and rt.total_dose.unit_text == "Gy"
    assert rt.techniques == ["3D-CRT", "IMRT"]  # "intensity-modulated ... (IMRT)" is one technique
    assert rt.text.startswith("The radiation therapy plan") and rt.text.endswith("techniques are used for radiotherapy")
    text = "Intensity-modulated radiotherapy (IMRT) of 60 Gy in 30 fractions (2 Gy per fraction). " + "x" * 500
    [phase] = read_phases(text, NAMES)
    [imrt] = phase.activities
    assert isinstance(imrt, Radiotherapy) and imrt.techniques == ["IMRT"] and not imrt.text.endswith("x")
    assert imrt.dose_per_fraction is not None and imrt.dose_per_fraction.unit_text == "Gy"
    [phase] = read_phases("SBRT or IMRT to 50 Gy in 5 fractions", NAMES)
    assert phase.activities[0].techniques == ["SBRT", "IMRT"]  # type: ignore[union-attr]


def test_a_drugs_text_is_its_own_words() -> None:
    text = (
        "Three-dimensional conformal radiation therapy (3DRT) of 74 Gy given in 37 fractions (2.0 Gy per fraction) with"
        " concurrent chemotherapy consisting of weekly paclitaxel at 50mg/m2 and carboplatin at area under the curve"
        " 2mg/m2."
    )
    [phase] = read_phases(text, NAMES)
    pac, carbo = (a for a in phase.activities if isinstance(a, DrugActivity))
    assert pac.text == "concurrent chemotherapy consisting of weekly paclitaxel at 50mg/m2"
    assert carbo.text == "carboplatin at area under the curve 2mg/m2"
    names = {"Palbociclib": "Palbociclib", "standard adjuvant endocrine therapy": "endocrine"}
    text = (
        "Palbociclib at a dose of 125 mg orally once daily, Day 1 to Day 21 followed by 7 days off treatment in a"
        " 28-day cycle for a total duration of 2 years, in addition to standard adjuvant endocrine therapy for a"
        " duration of at least 5 years."
    )
    [phase] = read_phases(text, names)
    palbo, endocrine = phase.activities
    assert isinstance(palbo, DrugActivity) and isinstance(endocrine, DrugActivity)
    assert palbo.text.endswith("for a total duration of 2 years") and palbo.route == "oral"
    assert endocrine.text == "standard adjuvant endocrine therapy for a duration of at least 5 years"
    assert (endocrine.route, endocrine.frequency, endocrine.doses) == (None, None, [])


def test_a_drug_named_twice_has_each_of_its_words_once() -> None:
    _, regimen = _seed()
    cari = _drugs(regimen, 1)["Carilizumab"]
    assert cari.text.count("intravenous infusion of") == 1
    assert cari.text.startswith("200mg of Carilizumab") and cari.text.endswith("after the end of radiotherapy")


def test_days_hold_across_and_not_across_a_list() -> None:
    names = {n: n for n in ("paracetamol", "oseltamivir", "dabrafenib", "trametinib")}
    [phase] = read_phases("paracetamol 500 mg every 6 hours, oseltamivir 150 mg twice daily for 5 days", names)
    para, osel = phase.activities
    assert isinstance(para, DrugActivity) and isinstance(osel, DrugActivity)
    assert para.days == [] and osel.days == [DayRun(1, 5)]
    [phase] = read_phases("dabrafenib PO BID and trametinib PO QD on days 1-28", names)
    assert all(isinstance(a, DrugActivity) and a.days == [DayRun(1, 28)] for a in phase.activities)


def test_a_further_dose_after_a_joining_word_is_anothers() -> None:
    names = {"clarithromycin": "clarithromycin", "azithromycin": "azithromycin"}
    text = "clarithromycin 500 mg for 7 days, ascorbic acid 500 mg and cyanocobalamin IV once daily"
    [phase] = read_phases(text, names)
    [drug] = phase.activities
    assert isinstance(drug, DrugActivity) and drug.doses[0].value == 500.0
    assert (drug.route, drug.frequency) == (None, None)
    [phase] = read_phases("azithromycin 1 gm first day then 500 mg/day", names)
    [drug] = phase.activities
    assert isinstance(drug, DrugActivity) and drug.doses[0].unit == "g" and drug.frequency is None
    assert drug.days == [DayRun(1, 1)]
    drug = _one("fluconazole 600 mg daily (2 doses of 300 mg taken 12 hours apart) po")
    assert drug.doses[0].value == 300.0 and drug.route == "oral"  # a bracketed split of its own dose: no cut


def test_another_products_dose_and_route_are_not_the_drugs() -> None:
    text = (
        "Each subject will receive an I.M. injection of Lupron 3.75 mg. Four weeks after administration of Lupron,"
        " each subject will receive Letrozole 5mg for 14 days."
    )
    [phase] = read_phases(text, {"Letrozole": "Letrozole"}, "Letrozole")
    [drug] = phase.activities
    assert isinstance(drug, DrugActivity) and drug.doses[0].value == 5.0 and drug.route is None
    assert drug.days == [DayRun(1, 14)]


def test_dose_neighbours_are_names_not_labels() -> None:
    desc = "Investigational Drug by nebulization Dosage: 3ml Frequency and Duration: Three times a day for 7 days"
    trial = Trial(
        arms=[Arm("A", description=desc, intervention_names=["Drug: Drug X-0001"])],
        interventions=[Intervention("Drug X-0001", "DRUG", None, arm_labels=["A"])],
    )
    names = [a.name for p in regimen_of(trial, trial.arms[0]).phases for a in p.activities]
    assert "Frequency" not in names and "Dosage" not in names


def test_a_text_written_per_cohort_doses_no_arm_it_does_not_name() -> None:
    text = "Cohort 1: 0.2 mg/kg IV every other week. Cohort 2: 0.2 mg/kg IV weekly."
    trial = Trial(
        arms=[Arm("Replagal", intervention_names=["Drug: X"])],
        interventions=[Intervention("X", "DRUG", text, arm_labels=["Replagal"])],
    )
    [drug] = regimen_of(trial, trial.arms[0]).phases[0].activities
    assert isinstance(drug, DrugActivity) and (drug.doses, drug.frequency) == ([], None)


def test_a_maximum_the_phase_outlasts_is_no_phase_bound() -> None:
    names = {"Palbociclib": "Palbociclib", "endocrine therapy": "endocrine therapy"}
    text = "Palbociclib 125 mg orally once daily for a total duration of 2 years, in addition to endocrine therapy"
    [phase] = read_phases(text + " for a duration of at least 5 years.", names)
    assert phase.max_duration is None
    [phase] = read_phases(text + ".", names)
    assert phase.max_duration is not None and (phase.max_duration.value, phase.max_duration.unit) == (2.0, "a")


@pytest.mark.parametrize(
    ("text", "doses"),
    [
        ("fluconazole 50,000 IU weekly", [(50000.0, "[iU]")]),  # a thousands separator
        ("fluconazole 1,000 mg twice daily", [(1000.0, "mg")]),
        ("fluconazole 2,5 mg daily", []),  # a decimal comma: no "5 mg"
        ("fluconazole 250 mg/5 mL suspension", []),  # a concentration
        ("fluconazole 500 mg/12 h", [(500.0, "mg")]),  # a dose per interval stays
        ("fluconazole 81 mg or 325 mg daily", [(81.0, "mg"), (325.0, "mg")]),  # a choice of doses: its levels
        ("fluconazole 81 mg or 0.5 g daily", [(81.0, "mg")]),
    ],
)
def test_dose_numbers_and_choices(text: str, doses: list[tuple[float, str]]) -> None:
    assert [(d.value, d.unit) for d in _one(text).doses] == doses


def test_a_frequency_after_another_dosed_product_is_not_the_drugs() -> None:
    # NCT04981743 group 4: the drug's dose is in brackets before its name; vitamin D3's "once daily" is not its own.
    names = {"Nigella Sativa capsule": "Nigella Sativa capsule"}
    text = (
        "Patients will be administered a single dose (900 mg) of Nigella Sativa capsule, and single dose of vitamin D3"
        " tablet (2000 IU) once daily plus standard therapy."
    )
    [phase] = read_phases(text, names)
    [drug] = phase.activities
    assert isinstance(drug, DrugActivity) and drug.frequency is None


def test_a_daily_total_split_in_brackets_is_given_as_its_doses() -> None:
    text = "olaparib 600 mg daily (2 doses of 300 mg (2*2 tablets of 150 mg) taken approximately 12 hours apart) po"
    drug = read_phases(text, {"olaparib": "olaparib"})[0].activities[0]
    assert isinstance(drug, DrugActivity) and [d.value for d in drug.doses] == [300.0]
    assert drug.frequency is not None and (drug.frequency.count, drug.frequency.unit) == (2, "d")
    drug = read_phases("olaparib 600 mg daily (2 doses of 200 mg twice a day)", {"olaparib": "olaparib"})[0].activities[
        0
    ]
    assert isinstance(drug, DrugActivity) and [d.value for d in drug.doses] == [600.0]  # they do not add up: as written


def test_the_days_written_first_are_the_doses() -> None:
    names = {"azithromycin": "azithromycin", "hydroxychloroquine": "hydroxychloroquine"}
    [phase] = read_phases("azithromycin 500mg OD 1st day and 250 from day 2 to 5", names)
    assert isinstance(drug := phase.activities[0], DrugActivity) and drug.days == [DayRun(1, 1)]
    text = "hydroxychloroquine 200mg TID for 7 days plus Placebo 1 tab OD 1st day and 1 tab from day 2 to 5"
    [phase] = read_phases(text, names)
    assert isinstance(drug := phase.activities[0], DrugActivity) and drug.days == [DayRun(1, 7)]
    assert _one("fluconazole 400 mg on days 1-5 for 6 cycles").days == [DayRun(1, 5)]


def test_a_combinations_component_doses_are_not_the_products() -> None:
    text = (
        "Participants will take one tablet of Emtricitabine 200mg/tenofovir 300mg (FTC/TDF, Truvada) orally once daily"
    )
    [phase] = read_phases(text, {"Truvada": "Truvada"}, "Truvada")
    [drug] = phase.activities
    assert isinstance(drug, DrugActivity) and drug.doses == [] and drug.route == "oral"
    names = {"Lopinavir": "Lopinavir"}
    drug = read_phases("Lopinavir 400mg/Ritonavir 100 mg twice daily", names)[0].activities[0]
    assert isinstance(drug, DrugActivity) and [d.value for d in drug.doses] == [400.0]  # the named component's
