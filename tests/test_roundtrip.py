"""trial -> FHIR -> trial is equal on every mapped field, for every seed and fixture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.bundle import Bundle

from conftest import all_inputs
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.model import Criterion, Trial


@pytest.mark.parametrize("path", all_inputs(), ids=lambda p: p.name)
def test_trial_fhir_trial(
    path: Path, reference_trials: dict[Path, Trial], reference_bundles: dict[Path, dict[str, Any]]
) -> None:
    assert from_bundle(reference_bundles[path]) == reference_trials[path]


@pytest.mark.parametrize("path", all_inputs(), ids=lambda p: p.name)
def test_roundtrip_through_json_and_the_fhir_models(path: Path, reference_trials: dict[Path, Trial]) -> None:
    """The same after serialising and after fhir.resources parses and re-emits it (normalised decimals etc.)."""
    trial = reference_trials[path]
    bundle = to_bundle(trial, bundle_type="transaction")
    via_json = orjson.loads(orjson.dumps(bundle))
    via_models = json.loads(Bundle.model_validate(via_json).model_dump_json(exclude_none=True))
    assert from_bundle(via_json) == trial
    assert from_bundle(via_models) == trial


def test_roundtrip_is_not_vacuous(reference_trials: dict[Path, Trial]) -> None:
    """A changed field must make the comparison fail (guards against an equality that ignores content)."""
    trial = reference_trials[all_inputs()[0]]
    back = from_bundle(to_bundle(trial))
    back.eligibility.criteria[0] = Criterion(back.eligibility.criteria[0].text + " changed")
    assert back != trial
    assert Trial(nct_id="NCT1") != Trial(nct_id="NCT2")


def test_age_bounds_in_different_units_become_two_ranges() -> None:
    """3 months to 17 years: one Range per bound (rng-2 cannot compare across units offline), same trial back."""
    from fhir_adapter.model import AgeLimit, Eligibility

    trial = Trial(
        nct_id="NCT00000009",
        eligibility=Eligibility(minimum_age=AgeLimit(3, "months"), maximum_age=AgeLimit(17, "years")),
    )
    bundle = to_bundle(trial)
    ev = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "EvidenceVariable")
    ranges = {c["linkId"]: c["definitionByTypeAndValue"]["valueRange"] for c in ev["characteristic"]}
    assert ranges == {
        "age": {"low": {"value": 3, "unit": "months", "system": "http://unitsofmeasure.org", "code": "mo"}},
        "age-max": {"high": {"value": 17, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}},
    }
    assert from_bundle(bundle) == trial
    same_unit = Trial(nct_id="NCT00000009", eligibility=Eligibility(minimum_age=AgeLimit(18), maximum_age=AgeLimit(65)))
    assert [c["linkId"] for c in to_bundle(same_unit)["entry"][1]["resource"]["characteristic"]] == ["age"]
