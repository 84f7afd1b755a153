"""The Provenance of a trial's bundle (fhir/r5/provenance.py, fhir/r4/provenance.py): its source record, agent,
time from an injectable clock (deterministic by default), targets, idempotent transaction request, no local path."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import fhir_adapter
from conftest import all_inputs
from fhir_adapter.bundle import to_bundle, transaction_request
from fhir_adapter.fhir.ids import resource_id
from fhir_adapter.model import DateInfo, Trial
from fhir_adapter.release import FhirRelease
from fhir_adapter.trials import read_trials
from fhir_adapter.validate import validate


def _provenance(bundle: dict[str, Any]) -> dict[str, Any]:
    provs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"]
    assert len(provs) == 1
    assert bundle["entry"][-1]["resource"] is provs[0]  # last, after what it is about
    prov: dict[str, Any] = provs[0]
    return prov


@pytest.mark.parametrize("release", list(FhirRelease))
@pytest.mark.parametrize("path", all_inputs(), ids=lambda p: p.name)
def test_one_provenance_targets_every_other_resource(
    path: Path, release: FhirRelease, reference_trials: dict[Path, Trial]
) -> None:
    trial = reference_trials[path]
    assert trial.nct_id
    bundle = to_bundle(trial, release)
    prov = _provenance(bundle)
    assert prov["id"] == resource_id(trial.nct_id, "Provenance", "")
    assert [t["reference"] for t in prov["target"]] == [e["fullUrl"] for e in bundle["entry"][:-1]]
    what = prov["entity"][0]["what"]
    assert prov["entity"][0]["role"] == "source" and len(prov["entity"]) == 1
    assert what["identifier"] == {"system": "https://clinicaltrials.gov", "value": trial.nct_id}
    assert what["display"].endswith(f": https://clinicaltrials.gov/study/{trial.nct_id}")
    if trial.last_update_posted_date:
        assert f"last update posted {trial.last_update_posted_date.date}" in what["display"]
    assert "contained" not in prov  # logical references: every reference of a bundle is one of its fullUrls
    assert trial.nct_id in prov["text"]["div"]
    assert not [i for i in validate(bundle, release) if i.is_error]


def test_agent_is_fhir_adapter_with_its_version(reference_trials: dict[Path, Trial]) -> None:
    trial = reference_trials[all_inputs()[0]]
    r5, r4 = _provenance(to_bundle(trial)), _provenance(to_bundle(trial, "R4"))
    for prov in (r5, r4):
        assert prov["agent"] == [
            {"type": prov["agent"][0]["type"], "who": {"display": f"fhir-adapter {fhir_adapter.__version__}"}}
        ]
        assert prov["agent"][0]["type"]["text"] == "assembler"
    assert {k: v for k, v in r4.items() if k != "target"} == {k: v for k, v in r5.items() if k != "target"}


def test_recorded_is_the_record_date_by_default_else_the_clock(
    reference_trials: dict[Path, Trial], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    trial = copy.deepcopy(reference_trials[all_inputs()[0]])
    trial.last_update_posted_date = DateInfo("2025-11-19", "ACTUAL")
    first = to_bundle(trial)
    assert _provenance(first)["recorded"] == "2025-11-19T00:00:00Z"
    assert "timestamp" not in first
    assert to_bundle(trial) == first  # byte-stable: the same twice
    clock = datetime(2026, 12, 3, 9, 30, 5, tzinfo=UTC)
    stamped = to_bundle(trial, clock=clock)
    assert _provenance(stamped)["recorded"] == stamped["timestamp"] == "2026-12-03T09:30:05Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(clock.timestamp())))
    assert _provenance(to_bundle(trial, "R4"))["recorded"] == "2026-12-03T09:30:05Z"
    trial.last_update_posted_date = DateInfo("2024-02")  # a month: its first day
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert _provenance(to_bundle(trial))["recorded"] == "2024-02-01T00:00:00Z"
    trial.last_update_posted_date = trial.first_posted_date = None
    trial.status_verified_date = trial.first_submitted_date = None
    assert "recorded" not in _provenance(to_bundle(trial))  # no date known: R5 leaves the optional element out
    assert _provenance(to_bundle(trial, "R4"))["recorded"] == "1970-01-01T00:00:00Z"  # R4 requires one


def test_transaction_writes_it_at_its_id(reference_trials: dict[Path, Trial]) -> None:
    bundle = to_bundle(reference_trials[all_inputs()[0]], bundle_type="transaction")
    entry = bundle["entry"][-1]
    prov = entry["resource"]
    assert entry["request"] == {"method": "PUT", "url": f"Provenance/{prov['id']}"}
    assert transaction_request(prov) == (f"Provenance/{prov['id']}", True)
    assert not [i for i in validate(bundle) if i.is_error]


def test_what_was_derived_is_said(reference_trials: dict[Path, Trial]) -> None:
    trial = reference_trials[all_inputs()[0]]
    activity = _provenance(to_bundle(trial))["activity"]
    # the v3-DataOperation CREATE coding is written once mappings/systems.json lists the system
    assert activity.get("coding", [{"code": "CREATE"}])[0]["code"] == "CREATE"
    assert "computable eligibility criteria" in activity["text"] and "free text" in activity["text"]


def test_no_local_path_is_written(tmp_path: Path) -> None:
    """A hospital's security review: the folder (and user) a record was read from never reaches the server."""
    folder = tmp_path / "home-jdoe-secret-folder"
    folder.mkdir()
    source = all_inputs()[-1]
    (folder / "record-file-name.json").write_bytes(source.read_bytes())
    trial = next(iter(read_trials(folder)))
    assert trial.source is not None and "secret" in trial.source.path
    for release in FhirRelease:
        text = json.dumps(to_bundle(trial, release))
        assert "secret" not in text and "record-file-name" not in text and str(tmp_path) not in text
