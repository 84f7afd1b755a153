"""Regimens as PlanDefinition + ActivityDefinition (issue 10; the computable contract, docs/computable.md section 2),
R5 and R4, both ways, on hand-made regimens: the seed NCT07236528's three phases and a chemotherapy cycle with days,
an AUC dose, a dose escalation and a surgery."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import REPO, SEEDS
from fhir_adapter import terminology
from fhir_adapter.bundle import to_bundle
from fhir_adapter.fhir.common import JSON, Context
from fhir_adapter.fhir.r4 import convert
from fhir_adapter.fhir.r5.plan_definition import arm_interventions, regimen_of_plan, to_plan_definition
from fhir_adapter.model import (
    Arm,
    Count,
    DayRun,
    Dose,
    DrugActivity,
    Frequency,
    Phase,
    Quantity,
    Radiotherapy,
    Regimen,
    Sequencing,
    Surgery,
)
from helpers import trial_of

CARI = "Carilizumab 200mg, intravenous infusion, administered once every 2 weeks, with a 4-week cycle"
CARI_RT = "200mg of Carilizumab is administered intravenously once every 2 weeks, with a 4-week cycle"
APA = "Apatinib mesylate 500mg, oral, once daily, adjusted according to patient tolerance, with a 4-week cycle"
STOP = "Until tumor progression, intolerance, initiation of other anti-tumor treatments, loss to follow-up, or death."
AFTER_RT = "intravenous infusion of Carilizumab should be administered within 48 hours after the end of radiotherapy"


def _cari(text: str = CARI, sequencing: list[Sequencing] | None = None) -> DrugActivity:
    return DrugActivity(
        "Carilizumab",
        [Dose(200, unit="mg", unit_text="mg")],
        "intravenous",
        Frequency(1, 2, "wk", "once every 2 weeks"),
        sequencing=sequencing or [],
        text=text,
    )


def _apa() -> DrugActivity:
    return DrugActivity(
        "Apatinib mesylate", [Dose(500, unit="mg")], "oral", Frequency(1, 1, "d", "once daily"), text=APA
    )


RT = Radiotherapy(
    total_dose=Dose(low=18, high=25, unit="Gy", unit_text="Gy"),
    fractions=Count(3, 6),
    techniques=["3D-CRT", "IMRT"],
    text="18-25Gy/3-6f, or equivalent BED",
)
SEED = Regimen(
    [
        Phase("Induction phase", Count(2, 2), Quantity(28, unit="d"), activities=[_cari(), _apa()], text="(2 cycles)"),
        Phase(
            "Synchronous radiotherapy stage",
            cycle_length=Quantity(28, unit="d"),
            activities=[
                _cari(CARI_RT, [Sequencing("after-end", "radiotherapy", None, Quantity(48, unit="h"), AFTER_RT)]),
                _apa(),
                RT,
            ],
        ),
        Phase(
            "Maintenance phase",
            cycle_length=Quantity(28, unit="d"),
            stop_condition=STOP,
            max_duration=Quantity(2, unit="a", unit_text="years"),
            activities=[_cari(), _apa()],
        ),
    ]
)
CHEMO = Regimen(
    [
        Phase(
            "Treatment",
            Count(4, 6),
            Quantity(21, unit="d"),
            activities=[
                DrugActivity(
                    "Paclitaxel", [Dose(175, unit="mg/m2")], "intravenous", None, [DayRun(1, 1), DayRun(8, 8)]
                ),
                DrugActivity(
                    "Carboplatin", [Dose(5, unit="{AUC}", unit_text="AUC")], "intravenous", days=[DayRun(1, 1)]
                ),
                DrugActivity("Capecitabine", [Dose(1000, unit="mg/m2")], "oral", Frequency(2, 1, "d"), [DayRun(1, 14)]),
                DrugActivity(
                    "Olaparib",
                    [Dose(200, unit="mg"), Dose(400, unit="mg"), Dose(low=600, high=800, unit="mg")],
                    days=[DayRun(1, 3), DayRun(8, 8)],
                    text="escalation: 200, 400 or 600-800 mg",
                ),
                Surgery(
                    "radical cystectomy",
                    [Sequencing("after-end", "Paclitaxel", Quantity(2, unit="wk"), Quantity(4, unit="wk"))],
                    "surgery 2 to 4 weeks after the last paclitaxel",
                ),
            ],
        )
    ]
)


def _resources(regimen: Regimen | None, nct: str = "NCT07236528") -> tuple[JSON, dict[str, JSON]]:
    """(the PlanDefinition, every resource of the context by fullUrl) of one arm with ``regimen``."""
    ctx = Context(nct)
    ref = to_plan_definition(ctx, 0, Arm("Arm A", intervention_names=["Drug: Carilizumab"], regimen=regimen), {})
    return ctx.resources[ref["reference"]], ctx.resources


def _by_url(resources: dict[str, JSON]) -> dict[str, JSON]:
    return {r["url"]: r for r in resources.values() if "url" in r}


def _ad(resources: dict[str, JSON], url: str) -> JSON:
    return _by_url(resources)[url]


@pytest.mark.parametrize("regimen", [SEED, CHEMO], ids=["seed", "chemo"])
def test_r5_round_trip(regimen: Regimen) -> None:
    pd, resources = _resources(regimen)
    assert regimen_of_plan(pd, _by_url(resources).get) == regimen
    assert arm_interventions(pd) == ["Drug: Carilizumab"]  # the phase actions are not interventions


@pytest.mark.parametrize("regimen", [SEED, CHEMO], ids=["seed", "chemo"])
def test_r4_round_trip(regimen: Regimen) -> None:
    pd, resources = _resources(regimen)
    r4 = convert.to_r4({"urn:uuid:rs": {"resourceType": "ResearchStudy"}, **resources})
    r4_pd = r4[next(u for u, r in resources.items() if r is pd)]
    assert "linkId" not in json.dumps(r4_pd) and "targetId" not in json.dumps(r4_pd)
    assert [a.get("id") for a in r4_pd["action"]] == [None] + [f"phase-{n}" for n in range(1, len(regimen.phases) + 1)]
    lifted = {u: convert.lift_resource(r) for u, r in r4.items()}
    back_pd = lifted[next(u for u, r in resources.items() if r is pd)]
    assert regimen_of_plan(back_pd, _by_url({u: r for u, r in lifted.items() if r}).get) == regimen


def test_no_regimen_keeps_the_text_actions_only() -> None:
    pd, resources = _resources(None)
    assert [a["linkId"] for a in pd["action"]] == ["intervention-1"]
    assert len(resources) == 1 and regimen_of_plan(pd, _by_url(resources).get) is None


def test_seed_phases_in_order_with_cycles_stop_and_maximum() -> None:
    pd, _ = _resources(SEED)
    phases = pd["action"][1:]
    assert [p["title"] for p in phases] == ["Induction phase", "Synchronous radiotherapy stage", "Maintenance phase"]
    assert [p.get("relatedAction") for p in phases] == [
        None,
        [{"targetId": "phase-1", "relationship": "after-end"}],
        [{"targetId": "phase-2", "relationship": "after-end"}],
    ]
    assert phases[0]["timingTiming"] == {"repeat": {"count": 2, "period": 28, "periodUnit": "d"}}
    maintenance = phases[2]
    assert maintenance["timingTiming"]["repeat"]["boundsDuration"] == {
        "value": 2,
        "unit": "years",
        "system": "http://unitsofmeasure.org",
        "code": "a",
    }
    assert maintenance["condition"] == [
        {"kind": "stop", "expression": {"description": STOP, "language": "text/plain", "expression": STOP}}
    ]


def test_seed_radiotherapy_and_the_48_hours_after_it() -> None:
    pd, resources = _resources(SEED)
    cari, _, rt = pd["action"][2]["action"]
    assert rt["title"] == "radiotherapy" and rt["linkId"] == "phase-2-3"
    assert cari["relatedAction"] == [
        {
            "extension": [
                {"url": "https://fhir-adapter.dev/StructureDefinition/sequencing-text", "valueString": AFTER_RT}
            ],
            "targetId": "phase-2-3",
            "relationship": "after-end",
            "offsetRange": {"high": {"value": 48, "system": "http://unitsofmeasure.org", "code": "h"}},
        }
    ]
    ad = _ad(resources, rt["definitionCanonical"])
    assert ad["kind"] == "ServiceRequest" and ad["code"]["text"] == "radiotherapy"
    dosage = ad["dosage"][0]
    assert dosage["doseAndRate"] == [
        {
            "type": {"text": "total dose"},
            "doseRange": {
                "low": {"value": 18, "unit": "Gy", "system": "http://unitsofmeasure.org", "code": "Gy"},
                "high": {"value": 25, "unit": "Gy", "system": "http://unitsofmeasure.org", "code": "Gy"},
            },
        }
    ]
    assert dosage["timing"] == {"repeat": {"count": 3, "countMax": 6}}
    assert [i["text"] for i in dosage["additionalInstruction"]] == ["3D-CRT", "IMRT"]


def test_same_dosing_shares_one_activity_definition_and_ids_are_stable() -> None:
    pd, resources = _resources(SEED)
    canonicals = [[a["definitionCanonical"] for a in p["action"]] for p in pd["action"][1:]]
    assert canonicals[0] == canonicals[2] == canonicals[1][:2]  # Carilizumab and apatinib: one each for 3 phases
    assert sorted(r["resourceType"] for r in resources.values()) == ["ActivityDefinition"] * 3 + ["PlanDefinition"]
    assert _resources(SEED)[1] == resources  # deterministic ids and canonicals: a re-push changes nothing
    texts = [a["description"] for a in pd["action"][2]["action"][:1]]
    assert texts == [CARI_RT]  # the phase's own sentence stays on its action


def test_drug_activity_definition() -> None:
    pd, resources = _resources(SEED)
    ad = _ad(resources, pd["action"][1]["action"][0]["definitionCanonical"])
    assert ad["kind"] == "MedicationRequest"
    assert ad["productCodeableConcept"] == {"text": "Carilizumab"}  # no RxNorm concept confirmed: text only
    dosage = ad["dosage"][0]
    assert dosage["text"] == CARI
    assert dosage["timing"] == {
        "repeat": {"frequency": 1, "period": 2, "periodUnit": "wk"},
        "code": {"text": "once every 2 weeks"},
    }
    assert dosage["doseAndRate"] == [
        {"doseQuantity": {"value": 200, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}
    ]
    assert dosage["route"]["text"] == "intravenous"


def test_days_escalation_and_rxnorm() -> None:
    pd, resources = _resources(CHEMO)
    pacli, carbo, cape, olaparib, surgery = pd["action"][1]["action"]
    assert [(r["relationship"], r["targetId"], r["offsetDuration"]["value"]) for r in pacli["relatedAction"]] == [
        ("after-start", "phase-1", 0),
        ("after-start", "phase-1", 7),
    ]
    assert "timingTiming" not in pacli
    assert cape["timingTiming"] == {
        "repeat": {"boundsDuration": {"value": 14, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}}
    }
    product = _ad(resources, pacli["definitionCanonical"])["productCodeableConcept"]
    assert product["coding"] == [{"system": terminology.system("rxnorm"), "code": "56946", "display": "paclitaxel"}]
    assert product["text"] == "Paclitaxel"
    auc = _ad(resources, carbo["definitionCanonical"])["dosage"][0]["doseAndRate"][0]["doseQuantity"]
    assert auc == {"value": 5, "unit": "AUC", "system": "http://unitsofmeasure.org", "code": "{AUC}"}
    levels = _ad(resources, olaparib["definitionCanonical"])["dosage"]
    assert [list(d["doseAndRate"][0]) for d in levels] == [["doseQuantity"], ["doseQuantity"], ["doseRange"]]
    assert [r["relatedAction"][0]["targetId"] for r in (surgery,)] == ["phase-1-1"]
    assert _ad(resources, surgery["definitionCanonical"])["code"] == {"text": "radical cystectomy"}


def test_drug_table_codes_have_sources_and_known_systems() -> None:
    table: dict[str, Any] = json.loads((REPO / "mappings" / "regimen-drugs.json").read_text(encoding="utf-8"))
    forms: list[str] = []
    for key, entry in table["drugs"].items():
        assert entry["forms"] and all(f == f.lower().strip() for f in entry["forms"]), key
        forms += entry["forms"]
        for code in entry["codes"]:
            assert code["system"] == "rxnorm" and code["code"].isdigit() and code["source"], key
            terminology.system(code["system"])
    assert len(forms) == len(set(forms)), "a form names two drugs"


@pytest.mark.hapi
def test_hapi_finds_no_error_in_regimen_bundles() -> None:
    from fhir_adapter.validate import hapi

    bundles: dict[str, list[JSON]] = {"R5": [], "R4": []}
    for regimen in (SEED, CHEMO):
        _, resources = _resources(regimen)
        for release, res in (("R5", resources), ("R4", convert.to_r4(resources))):
            entries = [{"fullUrl": u, "resource": r} for u, r in res.items()]
            bundles[release].append({"resourceType": "Bundle", "type": "collection", "entry": entries})
    for release, items in bundles.items():
        for issues in hapi.hapi_validate(items, release):
            errors = [i for i in issues if i.severity in ("error", "fatal")]
            assert not errors, (release, [str(e) for e in errors])


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_seed_nct07236528_has_its_three_phases(release: str) -> None:
    """Issue 10's "Done when": the seed's arm, read from its page, goes out with its three phases in order."""
    trial = next(t for t in map(trial_of, SEEDS) if t.nct_id == "NCT07236528")
    resources = [e["resource"] for e in to_bundle(trial, release)["entry"]]
    by_url = {r["url"]: r for r in resources if "url" in r}
    pd = next(r for r in resources if r["resourceType"] == "PlanDefinition")
    phases = [a for a in pd["action"] if str(a.get("id", "")).startswith("phase-")]
    assert [p["title"] for p in phases] == ["Induction phase", "Synchronous radiotherapy stage", "Maintenance phase"]
    assert phases[0]["timingTiming"]["repeat"] == {"count": 2, "period": 28, "periodUnit": "d"}
    drugs = [by_url[a["definitionCanonical"]] for a in phases[0]["action"]]
    assert [(d["kind"], d["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"]) for d in drugs] == [
        ("MedicationRequest", 200),
        ("MedicationRequest", 500),
    ]
    assert [d["dosage"][0]["route"]["text"] for d in drugs] == ["intravenous", "oral"]
    cari, _, rt = phases[1]["action"]
    rt_dosage = by_url[rt["definitionCanonical"]]["dosage"][0]
    assert [rt_dosage["doseAndRate"][0]["doseRange"][k]["value"] for k in ("low", "high")] == [18, 25]
    assert rt_dosage["timing"]["repeat"] == {"count": 3, "countMax": 6}
    target = "actionId" if release == "R4" else "targetId"
    after_rt = cari["relatedAction"][0]
    assert (after_rt[target], after_rt["relationship"], after_rt["offsetRange"]["high"]["value"]) == (
        rt["id"],
        "after-end",
        48,
    )
    maintenance = phases[2]
    assert maintenance["timingTiming"]["repeat"]["boundsDuration"]["code"] == "a"
    assert maintenance["timingTiming"]["repeat"]["boundsDuration"]["value"] == 2
    assert maintenance["condition"][0]["kind"] == "stop"
