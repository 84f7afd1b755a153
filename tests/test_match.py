"""``fhir-adapter match`` and ``fhir_adapter.match``: every synthetic patient of tests/data/patients/ (R4 and R5)
against hand-made trials whose atoms use the concept codes of the vocabulary, with the verdicts written by hand in
tests/data/patients/expected.json; units, windows, ULN multiples, three-valued logic, bad input, the outputs."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fhir_adapter.bundle import to_bundle
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode, SourceError
from fhir_adapter.match import match, read_patient, resources_of
from fhir_adapter.match import values as match_values
from fhir_adapter.match.evaluate import evaluate_atom, window_span
from fhir_adapter.match.output import MATCH_GRADE, match_extension_url, to_json, to_searchset, to_table
from fhir_adapter.match.patient import full_urls_of
from fhir_adapter.match.units import convert
from fhir_adapter.match.verdict import combine
from fhir_adapter.model import (
    AgeLimit,
    Atom,
    AtomGroup,
    Code,
    Concept,
    Criterion,
    Eligibility,
    Quantity,
    TimeWindow,
    Trial,
)
from fhir_adapter.validate import validate

PATIENTS = Path(__file__).parent / "data" / "patients"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
ON = date(2026, 6, 15)  # the evaluation date of expected.json

# Codes of the test atoms: the same codes as the synthetic patients (tests/data/patients/README.md has the sources).
ANC, PLT, HB = Code("loinc", "751-8"), Code("loinc", "777-3"), Code("loinc", "718-7")
CREAT_MASS, CREAT_MOL = Code("loinc", "2160-0"), Code("loinc", "14682-9")
BILI, ALT, ECOG = Code("loinc", "1975-2"), Code("loinc", "1742-6"), Code("loinc", "89247-1")
SBP, DBP, HCG = Code("loinc", "8480-6"), Code("loinc", "8462-4"), Code("loinc", "2106-3")
PREGNANT, RADIOTHERAPY = Code("snomed", "77386006"), Code("snomed", "108290001")
NEGATIVE, POSITIVE = Code("snomed", "260385009"), Code("snomed", "10828004")
PROTEIN_KINASE_INHIBITORS, PACLITAXEL = Code("atc", "L01E"), Code("rxnorm", "56946")
FIRST_DOSE = Concept(text="first dose")


def _q(value: float, unit: str | None = None, comparator: str | None = None) -> Quantity:
    return Quantity(value, comparator, unit)


def _lab(code: Code | list[Code], comparator: str, value: float, unit: str, weeks: int = 4) -> Atom:
    codes = code if isinstance(code, list) else [code]
    window = [TimeWindow(low=-weeks, high=0, unit="wk", event=FIRST_DOSE)] if weeks else []
    return Atom("lab", Concept(codes), quantity=_q(value, unit, comparator), windows=window)


def _item(text: str, definition: Atom | AtomGroup | None = None, exclude: bool = False, **kw: Any) -> Criterion:
    return Criterion(text, exclude=exclude, definition=definition, **kw)


def trial_a() -> Trial:
    """The seeds' criteria (issue 9, "Done when"): ECOG 0-1, labs within 4 weeks, BP, VEGFR TKI, pregnancy."""
    labs = [
        _item("ANC >= 1.5 x 10^9/L", _lab(ANC, ">=", 1.5, "10*9/L")),
        _item("Platelets >= 100 x 10^9/L", _lab(PLT, ">=", 100, "10*9/L")),
        _item("Hemoglobin >= 90 g/L", _lab(HB, ">=", 90, "g/L")),
        _item("Creatinine <= 1.5 x ULN", _lab([CREAT_MASS, CREAT_MOL], "<=", 1.5, "{ULN}")),
        _item("Total bilirubin <= 1.5 x ULN", _lab(BILI, "<=", 1.5, "{ULN}")),
        _item("ALT <= 2.5 x ULN", _lab(ALT, "<=", 2.5, "{ULN}")),
    ]
    bp = AtomGroup(
        "any-of",
        [
            Atom("vital", Concept([SBP]), quantity=_q(140, "mm[Hg]", ">=")),
            Atom("vital", Concept([DBP]), quantity=_q(90, "mm[Hg]", ">=")),
        ],
    )
    criteria = [
        _item("ECOG 0 or 1", Atom("performance-status", Concept([ECOG]), low=_q(0), high=_q(1))),
        Criterion("Adequate organ function (within 4 weeks):", children=labs),
        _item("At least one measurable lesion per RECIST 1.1."),
        _item("Blood pressure >= 140/90 mmHg", bp, exclude=True),
        _item(
            "VEGFR TKI within 6 months",
            Atom(
                "therapy",
                Concept([PROTEIN_KINASE_INHIBITORS]),
                windows=[TimeWindow(low=-6, high=0, unit="mo", event=FIRST_DOSE)],
            ),
            exclude=True,
        ),
        _item("Pregnant", Atom("pregnancy", Concept([PREGNANT])), exclude=True),
        _item(
            "Radiotherapy within the past month",
            Atom("therapy", Concept([RADIOTHERAPY]), windows=[TimeWindow(low=-1, high=0, unit="mo")]),
            exclude=True,
        ),
    ]
    eligibility = Eligibility(criteria=criteria, minimum_age=AgeLimit(18), maximum_age=AgeLimit(75), sex="ALL")
    return Trial(nct_id="TEST-A", brief_title="Seed-like trial", overall_status="RECRUITING", eligibility=eligibility)


def trial_b() -> Trial:
    """Women only, a negative pregnancy test within 7 days before the first dose (a coded result)."""
    test = Atom(
        "result",
        Concept([HCG]),
        value=Concept([NEGATIVE], "Negative"),
        windows=[TimeWindow(low=-7, high=0, unit="d", event=FIRST_DOSE)],
    )
    eligibility = Eligibility(criteria=[_item("Negative pregnancy test", test)], minimum_age=AgeLimit(18), sex="FEMALE")
    return Trial(nct_id="TEST-B", brief_title="Pregnancy test trial", eligibility=eligibility)


def trial_c() -> Trial:
    """Creatinine in umol/L (a mg/dL result needs a molar mass: unknown) and no prior paclitaxel (RxNorm)."""
    criteria = [
        _item("Creatinine <= 133 umol/L", _lab([CREAT_MASS, CREAT_MOL], "<=", 133, "umol/L", weeks=0)),
        _item("Prior paclitaxel", Atom("therapy", Concept([PACLITAXEL])), exclude=True),
    ]
    eligibility = Eligibility(criteria=criteria, minimum_age=AgeLimit(18))
    return Trial(nct_id="TEST-C", brief_title="Units and drugs trial", eligibility=eligibility)


TRIALS = (trial_a, trial_b, trial_c)


@cache
def _expected() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads((PATIENTS / "expected.json").read_text(encoding="utf-8"))
    return data


def _resources(name: str) -> list[dict[str, Any]]:
    return resources_of(json.loads((PATIENTS / name).read_text(encoding="utf-8")), name)


PATIENT_FILES = sorted(p.name for p in PATIENTS.glob("p*.json"))


def test_there_are_at_least_22_patients_in_r4_and_r5_each_with_expected_verdicts() -> None:
    stems = {n.rsplit(".", 2)[0] for n in PATIENT_FILES}
    assert len(stems) >= 22
    assert set(PATIENT_FILES) == {f"{s}.{r}.json" for s in stems for r in ("r4", "r5")}
    assert set(_expected()) == set(PATIENT_FILES)


@pytest.mark.parametrize("name", PATIENT_FILES)
def test_each_patient_gets_the_verdicts_written_by_hand(name: str) -> None:
    trials = [make() for make in TRIALS]
    got = {m.nct_id: m.verdict for m in match(_resources(name), trials, on=ON)}
    wanted = {k: v for k, v in _expected()[name].items() if k in got}
    assert got == wanted


@pytest.mark.parametrize("stem", sorted({n.rsplit(".", 2)[0] for n in PATIENT_FILES}))
def test_r4_and_r5_variants_give_the_same_results_criterion_by_criterion(stem: str) -> None:
    trials = [make() for make in TRIALS]
    r4 = to_json(match(_resources(f"{stem}.r4.json"), trials, on=ON))
    r5 = to_json(match(_resources(f"{stem}.r5.json"), trials, on=ON))
    assert r4 == r5


@pytest.mark.parametrize("name", [n for n in PATIENT_FILES if n.startswith("p01")])
def test_the_patient_files_are_valid_fhir(name: str) -> None:
    release = "R4" if ".r4." in name else "R5"
    doc = json.loads((PATIENTS / name).read_text(encoding="utf-8"))
    assert [str(i) for i in validate(doc, release) if i.is_error] == []


def _results(name: str, trial: Trial) -> dict[str, Any]:
    [m] = match(_resources(name), [trial], on=ON)
    return {r.link_id: r for r in m.criteria} | {c.link_id: c for r in m.criteria for c in r.children}


def test_every_atom_kind_is_met_not_met_and_unknown_somewhere() -> None:
    seen: dict[str, set[str]] = {}
    kinds = {"inc-1": "performance-status", "inc-2.1": "lab", "inc-2.6": "lab-uln", "exc-1": "vital"}
    kinds |= {"exc-2": "therapy-atc", "exc-3": "pregnancy", "exc-4": "procedure", "age": "age"}
    for name in PATIENT_FILES:
        for trial, table in ((trial_a(), kinds), (trial_b(), {"sex": "sex", "inc-1": "result"})):
            results = _results(name, trial)
            for link, kind in table.items():
                seen.setdefault(kind, set()).add(results[link].status)
        c = _results(name, trial_c())
        seen.setdefault("drug-rxnorm", set()).add(c["exc-1"].status)
        seen.setdefault("lab-molar", set()).add(c["inc-1"].status)
    for kind, statuses in seen.items():
        wanted = {"met", "unknown"} if kind in ("result", "lab-molar") else {"met", "not-met", "unknown"}
        assert wanted <= statuses, f"{kind}: {sorted(statuses)}"


def test_evidence_and_reason_name_the_resource_value_and_date() -> None:
    results = _results("p07-alt-3uln.r5.json", trial_a())
    alt = results["inc-2.6"]
    assert alt.status == "not-met"
    [evidence] = alt.evidence
    assert (evidence.reference, evidence.date) == ("Observation/p07-alt", "2026-06-01")
    assert evidence.value == "130 U/L = 3.25 x ULN"
    assert "does not meet" in alt.reason
    assert results["inc-3"].status == "unknown" and "needs a person" in results["inc-3"].reason


def test_units_convert_within_a_dimension_only() -> None:
    assert convert(1.5, "10*9/L", "/uL") == pytest.approx(1500)
    assert convert(90, "10*3/uL", "10*9/L") == pytest.approx(90)
    assert convert(8.5, "g/dL", "g/L") == pytest.approx(85)
    assert convert(1.0, "mg/dL", "umol/L") is None  # creatinine needs a molar mass: not a unit conversion
    assert convert(60, "mL/min", "mL/min/{1.73_m2}") is None  # different annotations: different measurements
    assert convert(1, "{ULN}", "1") is None
    assert convert(1, "not-a-unit", "g") is None


def test_unknown_units_and_stale_data_are_unknown_never_met() -> None:
    for name, reason in (("p18-unit-not-ucum.r4.json", "is not a UCUM code"), ("p09-stale.r4.json", "stale")):
        anc = _results(name, trial_a())["inc-2.1"]
        assert anc.status == "unknown" and reason in anc.reason, (name, anc.reason)


def test_a_censored_value_decides_only_when_every_value_it_stands_for_agrees() -> None:
    anc = _results("p19-censored.r4.json", trial_a())["inc-2.1"]  # "<0.5" against ">= 1.5"
    assert anc.status == "not-met" and anc.evidence[0].value == "<0.5 10*9/L"
    patient = read_patient(_resources("p19-censored.r4.json"))
    fact = next(f for f in patient.facts if ("loinc", "751-8") in f.codes)
    assert fact.quantity is not None
    above = type(fact.quantity)(0.5, "10*9/L", "10*9/L", ">")  # somewhere above 0.5: may or may not be >= 1.5
    patient.facts[patient.facts.index(fact)] = type(fact)(**{**_fields(fact), "quantity": above})  # type: ignore[misc]
    atom = _lab(ANC, ">=", 1.5, "10*9/L")
    outcome = evaluate_atom(atom, patient, ON)
    assert outcome.truth is None and "censored" in outcome.reason


def test_uln_needs_a_reference_range() -> None:
    alt = _results("p08-alt-no-range.r4.json", trial_a())["inc-2.6"]
    assert alt.status == "unknown" and "referenceRange.high" in alt.reason


def test_lln_uses_the_reference_range_low() -> None:
    patient = read_patient(_resources("p01-eligible.r4.json"))
    hb = next(f for f in patient.facts if ("loinc", "718-7") in f.codes)
    patient.facts[patient.facts.index(hb)] = type(hb)(**{**_fields(hb), "low": type(hb.quantity)(120.0, "g/L")})  # type: ignore[misc]
    atom = Atom("lab", Concept([HB]), quantity=_q(1, "{LLN}", ">="))
    outcome = evaluate_atom(atom, patient, ON)
    assert outcome.truth is True and "x LLN" in (outcome.evidence[0].value or "")


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def test_a_window_relative_to_another_event_is_unknown() -> None:
    window = TimeWindow(low=-6, high=0, unit="mo", event=Concept(text="diagnosis"))
    assert window_span([window], ON) is None
    atom = Atom("therapy", Concept([PACLITAXEL]), windows=[window])
    outcome = evaluate_atom(atom, read_patient(_resources("p20-paclitaxel.r4.json")), ON)
    assert outcome.truth is None and "needs a person" in outcome.reason


def test_kleene_logic_and_exclude() -> None:
    assert combine("all-of", [True, None]) is None and combine("all-of", [False, None]) is False
    assert combine("any-of", [True, None]) is True and combine("any-of", [False, None]) is None
    assert combine("any-of", [False, False]) is False
    # "no prior paclitaxel" inside an inclusion: an excluded atom in a one-member all-of group.
    no_prior = AtomGroup("all-of", [Atom("therapy", Concept([PACLITAXEL]), exclude=True)])
    trial = Trial(nct_id="TEST-D", eligibility=Eligibility(criteria=[_item("No prior paclitaxel", no_prior)]))
    verdicts = {
        n: match(_resources(n), [trial], on=ON)[0].verdict
        for n in ("p20-paclitaxel.r5.json", "p21-paclitaxel-not-taken.r5.json", "p01-eligible.r5.json")
    }
    assert verdicts == {
        "p20-paclitaxel.r5.json": "ineligible",
        "p21-paclitaxel-not-taken.r5.json": "eligible-so-far",
        "p01-eligible.r5.json": "unknown",
    }


def test_an_except_sub_item_of_an_exclusion_is_carved_out() -> None:
    # Exclusion: "Any of: prior radiotherapy, or prior VEGFR TKI, except: pregnancy" (child exclude relative to it).
    children = [
        Criterion("prior radiotherapy", definition=Atom("therapy", Concept([RADIOTHERAPY]))),
        Criterion("not pregnant", exclude=True, definition=Atom("pregnancy", Concept([PREGNANT]))),
    ]
    trial = Trial(
        nct_id="TEST-E",
        eligibility=Eligibility(criteria=[Criterion("Any of", exclude=True, children=children, combine="all-of")]),
    )
    [m] = match(_resources("p01-eligible.r4.json"), [trial], on=ON)
    item = m.criteria[0]
    assert [c.status for c in item.children] == ["met", "not-met"]
    assert item.status == "met" and m.verdict == "ineligible"


def test_a_coded_result_opposite_to_the_criterion_is_not_met(monkeypatch: pytest.MonkeyPatch) -> None:
    # Which codes are each other's opposite is the concept table's knowledge; here it is given.
    table = {("snomed", "260385009"): "negative", ("snomed", "10828004"): "positive"}

    vocabulary_key = match_values._vocabulary_key

    def key(concept: Concept) -> str | None:
        found = next((table[(c.system, c.code)] for c in concept.codes if (c.system, c.code) in table), None)
        return found or vocabulary_key(concept)

    monkeypatch.setattr(match_values, "_vocabulary_key", key)
    patient = read_patient(_resources("p01-eligible.r5.json"))
    hcg = next(f for f in patient.facts if ("loinc", "2106-3") in f.codes)
    positive = type(hcg)(**{**_fields(hcg), "value_codes": frozenset({("snomed", "10828004")})})  # type: ignore[misc]
    patient.facts[patient.facts.index(hcg)] = positive
    atom = trial_b().eligibility.criteria[0].definition
    assert isinstance(atom, Atom)
    assert evaluate_atom(atom, patient, ON).truth is False
    other = type(hcg)(**{**_fields(hcg), "value_codes": frozenset({("snomed", "82334004")})})  # type: ignore[misc]
    patient.facts[patient.facts.index(positive)] = other
    assert evaluate_atom(atom, patient, ON).truth is None  # a result outside the table: unknown


def test_age_is_taken_at_the_evaluation_date_which_defaults_to_the_clock() -> None:
    trial = trial_b()
    resources = _resources("p01-eligible.r4.json")  # born 1970-03-10
    [young] = match(resources, [trial], clock=lambda: date(1988, 3, 9))
    [adult] = match(resources, [trial], clock=lambda: date(1988, 3, 10))
    assert young.criteria[0].status == "not-met" and adult.criteria[0].status == "met"
    assert young.evaluated_on == date(1988, 3, 9)


def test_bad_patient_input_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="not FHIR"):
        resources_of({"protocolSection": {}}, "x.json")
    with pytest.raises(SourceError, match="no Patient"):
        match([{"resourceType": "Observation", "status": "final", "code": {}}], [trial_a()])
    two = [{"resourceType": "Patient", "id": "a"}, {"resourceType": "Patient", "id": "b"}]
    with pytest.raises(SourceError, match="2 Patient resources"):
        match(two, [trial_a()])


def test_score_and_ranking() -> None:
    matches = match(_resources("p01-eligible.r5.json"), [make() for make in TRIALS], on=ON)
    by_id = {m.nct_id: m for m in matches}
    assert by_id["TEST-A"].score == pytest.approx(7 / 8)
    assert by_id["TEST-B"].score == 1.0
    assert [t["nct_id"] for t in to_json(matches)["trials"]] == ["TEST-B", "TEST-A", "TEST-C"]
    assert to_table(matches)[-1] == "2 eligible-so-far, 1 unknown, 0 ineligible"


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_the_searchset_bundle_is_valid_and_carries_scores_and_results(release: str) -> None:
    seed_like = trial_a()
    seed_like.nct_id = "NCT07236528"
    document = json.loads((PATIENTS / "p07-alt-3uln.r4.json").read_text(encoding="utf-8"))
    matches = match(resources_of(document), [seed_like, trial_b()], on=ON)
    bundle = to_searchset(matches, release, full_urls=full_urls_of(document))
    assert [i for i in validate(bundle, release) if i.is_error] == []
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    first, second = bundle["entry"]
    assert first["resource"]["resourceType"] == "ResearchStudy" and first["search"]["score"] == 1.0
    grade = {e["url"]: e for e in second["search"]["extension"]}
    assert grade[MATCH_GRADE]["valueCode"] == "certainly-not"
    parts = grade[match_extension_url()]["extension"]
    assert {"url": "verdict", "valueCode": "ineligible"} in parts
    criteria = [p for p in parts if p["url"] == "criterion"]
    alt = next(c for c in criteria if {"url": "linkId", "valueString": "inc-2.6"} in c["extension"])
    assert {"url": "status", "valueCode": "not-met"} in alt["extension"]
    url = "https://example.org/fhir/Observation/p07-alt"
    assert any(p.get("valueReference", {}).get("reference") == url for p in alt["extension"])
    without = to_searchset(matches, release)["entry"][1]["search"]["extension"][1]["extension"]
    assert {"url": "patient", "valueReference": {"type": "Patient", "display": "Patient/p07"}} in without
    assert second["resource"]["identifier"][0]["value"] == "NCT07236528"


# ------------------------------------------------------------------------------------------------------ the CLI


def _seed() -> Path:
    return sorted(SEEDS.glob("*.txt"))[0]


def test_cli_table_json_and_fhir(tmp_path: Path) -> None:
    runner = CliRunner()
    patient = str(PATIENTS / "p01-eligible.r5.json")
    table = runner.invoke(app, ["match", "--patient", patient, str(_seed()), "--on", "2026-06-15"])
    assert table.exit_code == 0, table.output
    assert "score" in table.output and "NCT07236528" in table.output
    as_json = runner.invoke(
        app, ["match", "--patient", patient, str(_seed()), "--format", "json", "--on", "2026-06-15"]
    )
    report = json.loads(as_json.stdout)
    assert report["evaluatedOn"] == "2026-06-15" and report["patient"] == "Patient/p01"
    assert report["trials"][0]["nct_id"] == "NCT07236528"
    target = tmp_path / "out.json"
    fhir = runner.invoke(app, ["match", "--patient", patient, str(_seed()), "--format", "fhir", "-o", str(target)])
    assert fhir.exit_code == 0, fhir.output
    assert json.loads(target.read_text())["type"] == "searchset"


def test_cli_reads_our_bundles_r4_and_r5(tmp_path: Path) -> None:
    from fhir_adapter.sources import read_trials

    trial = next(read_trials(_seed()))
    for release in ("R5", "R4"):
        (tmp_path / f"{release}.json").write_text(json.dumps(to_bundle(trial, release)))
    result = CliRunner().invoke(
        app, ["match", "--patient", str(PATIENTS / "p22-male.r4.json"), str(tmp_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert [t["nct_id"] for t in json.loads(result.stdout)["trials"]] == [trial.nct_id, trial.nct_id]


def test_cli_reads_a_bare_research_study_of_another_writer() -> None:
    """HL7's own ct.gov example (a bare R5 ResearchStudy, no fhir-adapter extensions) is a trial to match against,
    not a file the registry readers fail on."""
    example = Path(__file__).parent / "data" / "hl7-examples" / "r5" / "ResearchStudy-example-ctgov-study-record.json"
    result = CliRunner().invoke(
        app, ["match", "--patient", str(PATIENTS / "p22-male.r4.json"), str(example), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert [t["nct_id"] for t in json.loads(result.stdout)["trials"]] == ["NCT05503693"]


def test_cli_errors_name_the_file_and_field(tmp_path: Path) -> None:
    runner = CliRunner()
    not_fhir = tmp_path / "not-fhir.json"
    not_fhir.write_text('{"protocolSection": {}}')
    no_patient = tmp_path / "no-patient.json"
    no_patient.write_text('{"resourceType": "Bundle", "type": "collection", "entry": []}')
    bad = runner.invoke(app, ["match", "--patient", str(not_fhir), str(_seed())])
    assert bad.exit_code == ExitCode.FAILED and f"{not_fhir}: not FHIR" in bad.output
    empty = runner.invoke(app, ["match", "--patient", str(no_patient), str(_seed())])
    assert empty.exit_code == ExitCode.FAILED
    missing = runner.invoke(app, ["match", "--patient", str(tmp_path / "nope.json"), str(_seed())])
    assert missing.exit_code == ExitCode.NO_INPUT and "nope.json: no such file" in missing.output
    day = runner.invoke(app, ["match", "--patient", str(PATIENTS / "p01-eligible.r4.json"), str(_seed()), "--on", "x"])
    assert day.exit_code == ExitCode.USAGE


def test_life_expectancy_needs_a_person_and_a_concept_without_code_keeps_the_verdict_unknown() -> None:
    ecog = _item("ECOG 0 or 1", Atom("performance-status", Concept([ECOG]), low=_q(0), high=_q(1)))
    life = _item(
        "Life expectancy >= 12 weeks", Atom("life-expectancy", Concept(text="Life expectancy"), _q(12, "wk", ">="))
    )
    uncoded = _item("No drug allergy", Atom("condition", Concept(text="Hypersensitivity")), exclude=True)
    resources = _resources("p01-eligible.r5.json")
    [m] = match(resources, [Trial(nct_id="TEST-F", eligibility=Eligibility(criteria=[ecog, life]))], on=ON)
    assert m.verdict == "eligible-so-far" and not m.criteria[1].computable
    [m] = match(resources, [Trial(nct_id="TEST-G", eligibility=Eligibility(criteria=[ecog, uncoded]))], on=ON)
    assert m.verdict == "unknown" and m.criteria[1].computable


def test_the_package_is_callable_as_match() -> None:
    import fhir_adapter.match as package

    [m] = package(_resources("p01-eligible.r4.json"), [trial_a()], on=ON)  # type: ignore[operator]
    assert m.verdict == "eligible-so-far"


def test_a_karnofsky_score_recorded_as_a_plain_number_is_its_percentage() -> None:
    patient = read_patient(_resources("p01-eligible.r4.json"))
    ecog = next(f for f in patient.facts if ("loinc", "89247-1") in f.codes)
    karnofsky = Code("test", "performance-score")  # not a real code: the rule is about the unit, not the concept
    score = type(ecog)(**{**_fields(ecog), "codes": frozenset({("test", "performance-score")})})  # type: ignore[misc]
    patient.facts.append(score)
    assert score.quantity is not None and score.quantity.unit is None
    atom = Atom("performance-status", Concept([karnofsky]), quantity=_q(70, "%", ">="))
    assert evaluate_atom(atom, patient, ON).truth is False  # 0 (as recorded for ECOG here) < 70
    lab = Atom("lab", Concept([karnofsky]), quantity=_q(70, "%", ">="))
    assert evaluate_atom(lab, patient, ON).truth is None  # elsewhere a number without a unit is not a percentage
