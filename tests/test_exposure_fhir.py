"""Issue 11, EvidenceVariable hygiene and R4 placement: no facts in ``EvidenceVariable.category``, an exposure
characteristic, arms tied to their PlanDefinition by reference, and cross-version extensions only where HL7's
validator allows them; the forms written before issue 11 still read."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conftest import DATA
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.fhir.common import ext_url
from fhir_adapter.fhir.r4 import comparison, group
from fhir_adapter.fhir.r4.common import OFFICIAL_XVER_BASE
from fhir_adapter.fhir.r5 import evidence_variable as ev
from fhir_adapter.model import Trial
from helpers import trial_of

JSON = dict[str, Any]
SOURCE = DATA / "ctgov-v2" / "NCT02513394.json"  # 2 arms with regimens, interventions with arm labels, sex ALL


def _trial() -> Trial:
    return trial_of(SOURCE)


def _resources(bundle: JSON, rtype: str) -> list[JSON]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def _study(bundle: JSON) -> JSON:
    return _resources(bundle, "ResearchStudy")[0]


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_no_evidence_variable_category(release: str) -> None:
    bundle = to_bundle(_trial(), release)
    assert [r.get("category") for r in _resources(bundle, "EvidenceVariable") if r.get("category")] == []
    assert from_bundle(bundle) == _trial()


def test_eligibility_facts_are_extensions() -> None:
    trial = _trial()
    (elig,) = [r for r in _resources(to_bundle(trial), "EvidenceVariable") if r["title"].startswith("Eligibility")]
    urls = {e["url"]: e for e in elig["extension"]}
    assert urls[ext_url("healthy-volunteers")]["valueBoolean"] is trial.eligibility.healthy_volunteers
    if trial.eligibility.sex == "ALL":  # no restriction: no characteristic, which a matcher would have to evaluate
        assert ext_url("eligible-sex") in urls
        assert "sex" not in [c.get("linkId") for c in elig["characteristic"]]


def test_exposure_has_its_intervention_as_characteristic() -> None:
    trial = _trial()
    exposures = [
        r
        for r in _resources(to_bundle(trial), "EvidenceVariable")
        if r.get("title") in {i.name for i in trial.interventions}
    ]
    assert len(exposures) == len(trial.interventions)
    for res, iv in zip(exposures, trial.interventions, strict=True):
        (ch,) = res["characteristic"]
        assert ch == {"linkId": "intervention", "description": iv.name, "definitionCodeableConcept": {"text": iv.name}}
        assert ev.intervention_type_of(res) == iv.type
        labels = [e["valueString"] for e in res.get("extension", []) if e["url"] == ext_url("arm-group-label")]
        assert labels == iv.arm_labels


def test_old_category_form_still_reads() -> None:
    """Eligibility and exposure EvidenceVariables as fhir-adapter wrote them before issue 11."""
    yes = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "Y"}]}
    old_elig = {
        "category": [
            {"name": "sex", "valueCodeableConcept": {"coding": [{"system": _ctgov("Sex"), "code": "ALL"}]}},
            {"name": "healthy-volunteers", "valueCodeableConcept": yes},
            {"name": "study-population", "valueCodeableConcept": {"text": "Adults"}},
            {
                "name": "std-age",
                "valueCodeableConcept": {"coding": [{"system": _ctgov("StandardAge"), "code": "ADULT"}]},
            },
        ]
    }
    e = ev.from_eligibility(old_elig)
    assert (e.sex, e.healthy_volunteers, e.study_population, e.std_ages) == ("ALL", True, "Adults", ["ADULT"])
    old_exposure = {
        "title": "Placebo",
        "category": [
            {
                "name": "intervention-type",
                "valueCodeableConcept": {"coding": [{"system": _ctgov("InterventionType"), "code": "DRUG"}]},
            },
            {"name": "other-name", "valueCodeableConcept": {"text": "Sugar pill"}},
            {"name": "arm-group-label", "valueCodeableConcept": {"text": "Control"}},
        ],
    }
    i = ev.from_exposure(old_exposure)
    assert (i.name, i.type, i.other_names, i.arm_labels) == ("Placebo", "DRUG", ["Sugar pill"], ["Control"])


def _ctgov(enum: str) -> str:
    return f"https://clinicaltrials.gov/data-api/api#enum-{enum}"


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_arm_names_its_protocol_by_reference(release: str) -> None:
    """Reversing ``ResearchStudy.protocol`` changes nothing: each arm finds its PlanDefinition by reference."""
    trial = _trial()
    assert len(trial.arms) > 1 and any(a.intervention_names for a in trial.arms)
    bundle = to_bundle(trial, release)
    study = _study(bundle)
    arms = study.get("comparisonGroup") or study["arm"]
    refs = [next(e for e in a["extension"] if e["url"] == ext_url("arm-protocol"))["valueReference"] for a in arms]
    plans = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert [plans[r["reference"]]["title"] for r in refs] == [a.label for a in trial.arms]
    study["protocol"] = study["protocol"][::-1]
    assert from_bundle(bundle).arms == trial.arms


def test_old_r5_arms_pair_with_protocols_in_order() -> None:
    trial = _trial()
    bundle = to_bundle(trial)
    for g in _study(bundle)["comparisonGroup"]:
        del g["extension"]
    assert from_bundle(bundle).arms == trial.arms


def test_r4_cross_version_extensions_only_where_allowed() -> None:
    """HL7's validator gives the extension of R5 ``X.y.z`` the context ``X.y``: none on an arm, an objective or a
    Group characteristic; linkIds as element ids."""
    bundle = to_bundle(_trial(), "R4")
    study = _study(bundle)
    for element in [*study.get("arm", []), *study.get("objective", [])]:
        assert not [e for e in element.get("extension", []) if e["url"].startswith(OFFICIAL_XVER_BASE)]
    roots = [e["url"].removeprefix(OFFICIAL_XVER_BASE) for e in study["extension"]]
    assert roots.count("ResearchStudy.comparisonGroup") == len(study["arm"])
    assert roots.count("ResearchStudy.outcomeMeasure") == len(study["objective"])
    (grp,) = _resources(bundle, "Group")
    for ch in grp["characteristic"]:
        assert ch.get("id")
        assert not [e for e in ch.get("extension", []) if e["url"].startswith(OFFICIAL_XVER_BASE)]


def _old_r4(bundle: JSON) -> JSON:
    """The R4 bundle in the placement before issue 11: arm / objective children on each arm and objective, the
    linkId of each Group characteristic in the EvidenceVariable.characteristic.linkId extension."""
    old = copy.deepcopy(bundle)
    study = _study(old)
    kept = []
    arms, objectives = iter(study["arm"]), iter(study["objective"])
    for ext in study["extension"]:
        url = ext["url"].removeprefix(OFFICIAL_XVER_BASE)
        if url not in ("ResearchStudy.comparisonGroup", "ResearchStudy.outcomeMeasure"):
            kept.append(ext)
            continue
        holder = next(arms if url.endswith("comparisonGroup") else objectives)
        for sub in ext["extension"]:
            if sub["url"] != "name":
                holder.setdefault("extension", []).append({**sub, "url": f"{ext['url']}.{sub['url']}"})
    study["extension"] = kept
    (grp,) = _resources(old, "Group")
    for ch in grp["characteristic"]:
        link = f"{OFFICIAL_XVER_BASE}EvidenceVariable.characteristic.linkId"
        ch["extension"] = [{"url": link, "valueId": ch.pop("id")}, *ch.get("extension", [])]
    return old


def test_old_r4_placement_still_reads() -> None:
    trial = _trial()
    old = _old_r4(to_bundle(trial, "R4"))
    assert not [e for e in _study(old)["extension"] if "comparisonGroup" in e["url"]]
    assert from_bundle(old) == trial


def test_lift_pairs_root_extensions_with_arms_in_order() -> None:
    arm = {"name": "A", "extension": [{"url": ext_url("arm-protocol"), "valueReference": {"reference": "x"}}]}
    root = {
        "url": f"{OFFICIAL_XVER_BASE}ResearchStudy.comparisonGroup",
        "extension": [
            {"url": "linkId", "valueId": "arm-0"},
            {"url": "name", "valueString": "A"},
            {"url": "intendedExposure", "valueReference": {"reference": "e1"}},
            {"url": "intendedExposure", "valueReference": {"reference": "e2"}},
        ],
    }
    lifted = comparison.lift_comparisons({"arm": [arm], "extension": [root]})
    (g,) = lifted["comparisonGroup"]
    assert g["linkId"] == "arm-0" and g["intendedExposure"] == [{"reference": "e1"}, {"reference": "e2"}]
    assert g["extension"] == arm["extension"]


def test_split_age_bounds_have_distinct_ids_and_merge_back() -> None:
    """An R5 age range whose bounds have different units (older bundles) becomes two Group characteristics."""
    loinc = {"coding": [{"system": "http://loinc.org", "code": "30525-0"}]}
    rng = {"low": {"value": 3, "code": "mo"}, "high": {"value": 17, "code": "a"}}
    r5 = {"characteristic": [{"linkId": "age", "definitionByTypeAndValue": {"type": loinc, "valueRange": rng}}]}
    g = group.down(r5, "NCT00000001")
    assert [c["id"] for c in g["characteristic"]] == ["age", "age.high"]
    back = group.lift(g)
    assert back["characteristic"][0]["definitionByTypeAndValue"]["valueRange"] == rng
