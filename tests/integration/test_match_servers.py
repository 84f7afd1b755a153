"""``match`` on a patient read from a real FHIR server (the EHR use: pull, then screen), see conftest.py.

Every synthetic patient of tests/data/patients/ whose release the server speaks is pushed (its bundle, transaction
or collection, turned into one transaction of ``PUT Type/id`` entries with new ids and its references rewritten),
and so are the trials of expected.json (the seeds and tests/test_match.py's hand-made ones, converted); then
``match`` reads the patient with ``--server``/``--patient-id`` (and the trials with ``--trials-from-server``) and
must give each trial the verdict of tests/data/patients/expected.json, the verdict it gives on the patient's file.
"""

from __future__ import annotations

import uuid
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from typer.testing import CliRunner

from fhir_adapter.bundle import to_bundle
from fhir_adapter.cli import app
from fhir_adapter.match import CriterionResult, TrialMatch, match, resources_of
from fhir_adapter.match.server import patient_resources_from_server, trials_from_server
from fhir_adapter.model import Trial
from fhir_adapter.release import FhirRelease
from fhir_adapter.sinks.server import FhirClient, TrialBundle, push_bundles
from fhir_adapter.sinks.server.entries import type_id, walk_refs
from fhir_adapter.sources import read_records
from integration.fhir_servers import REPO, Server

pytestmark = pytest.mark.slow

PATIENTS = REPO / "tests/data/patients"
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
ON = date(2026, 6, 15)  # the evaluation date of the synthetic patients (tests/data/patients/build.py)
_IDS = uuid.UUID("6f1c1a52-1f4e-4d2a-9a55-3b7f0f3f9c11")  # namespace of the ids given to pushed resources


@cache
def _expected() -> dict[str, dict[str, str]]:
    """``{patient file name: {NCT id: trial verdict}}``."""
    expected: dict[str, dict[str, str]] = orjson.loads((PATIENTS / "expected.json").read_bytes())
    return expected


@cache
def _trials() -> tuple[Trial, ...]:
    """The trials of expected.json: the seeds, and the hand-made trials of tests/test_match.py (whose atoms cover
    every kind: labs with units and ULN multiples, vitals, coded results, pregnancy, therapies with windows)."""
    from test_match import TRIALS

    seeds = [r.trial for p in SEEDS for r in read_records([p]) if r.trial is not None]
    assert len(seeds) == len(SEEDS)
    return (*seeds, *(make() for make in TRIALS))


def _patients(release: FhirRelease) -> list[Path]:
    """The patient files of ``release`` (``pNN-name.r4.json``, ``pNN-name.r5.json``: tests/data/patients/build.py)."""
    return sorted(PATIENTS.glob(f"p*.{release.value.lower()}.json"))


def _as_transaction(bundle: dict[str, Any], name: str) -> tuple[dict[str, Any], str]:
    """(a transaction of ``PUT Type/id`` entries holding the bundle's resources under new ids, with every reference
    between them rewritten, and the new id of the Patient). The ids are uuid5 of the file name and the resource's
    own key, so both servers accept them and a second push changes nothing."""
    new: dict[str, str] = {}  # fullUrl or Type/id -> the new Type/id
    keys = []
    for n, entry in enumerate(bundle["entry"]):
        r = entry["resource"]
        own = entry.get("fullUrl") or r.get("id") or str(n)
        keys.append(f"{r['resourceType']}/{uuid.uuid5(_IDS, f'{name}|{own}')}")
        for old in (entry.get("fullUrl"), f"{r['resourceType']}/{r['id']}" if r.get("id") else None):
            if old:
                new[old] = keys[-1]
    copy: list[dict[str, Any]] = orjson.loads(orjson.dumps([e["resource"] for e in bundle["entry"]]))

    def rewrite(ref: str) -> str | None:
        return new.get(ref) or new.get(type_id(ref) or "")

    entries = []
    for key, r in zip(keys, copy, strict=True):
        walk_refs(r, rewrite)
        r["id"] = key.partition("/")[2]
        entries.append({"resource": r, "request": {"method": "PUT", "url": key}})
    patient = next(r["id"] for r in copy if r["resourceType"] == "Patient")
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}, patient


def _push_patients(server: Server, release: FhirRelease) -> dict[str, str]:
    """Every patient of ``release`` pushed: ``{file name: Patient id on the server}``."""
    ids = {}
    for path in _patients(release):
        transaction, patient = _as_transaction(orjson.loads(path.read_bytes()), path.name)
        r = requests.post(server.base, json=transaction, timeout=120, headers={"Content-Type": "application/fhir+json"})
        assert r.status_code == 200, f"{server.kind} refused {path.name}: HTTP {r.status_code}: {r.text[:1000]}"
        ids[path.name] = patient
    assert ids, f"no {release} patient in {PATIENTS}"
    return ids


def _push_trials(server: Server) -> None:
    bundles = []
    for t in _trials():
        assert t.nct_id
        bundles.append(TrialBundle(t.nct_id, t.nct_id, to_bundle(t, server.fhir_version)["entry"]))
    with FhirClient(server.base, fhir_version=server.fhir_version) as client:
        summary = push_bundles(client, bundles, mode="transaction", batch_size=5)
    assert summary.failed == 0


def _verdicts(matches: list[TrialMatch]) -> dict[str, str]:
    return {str(m.nct_id): m.verdict for m in matches}


def _wrong_verdicts(name: str, got: dict[str, str]) -> list[str]:
    """One line per trial whose verdict is not expected.json's (every trial of expected.json is pushed)."""
    wanted = _expected()[name]
    return [
        f"{name} {nct}: {got.get(nct, 'not screened')}, expected {wanted.get(nct, 'not screened')}"
        for nct in sorted(set(got) | set(wanted))
        if got.get(nct) != wanted.get(nct)
    ]


# ------------------------------------------------------------------------------------------------ the API


def test_match_on_the_pushed_patients_gives_the_expected_verdicts(fresh: Server) -> None:
    """Per patient: what the server gives back is the whole record (no more, no less), screened criterion by
    criterion as the file is, and every trial gets the verdict of expected.json."""
    release = FhirRelease(fresh.fhir_version)
    _push_trials(fresh)
    ids = _push_patients(fresh, release)
    with FhirClient(fresh.base, fhir_version=release) as client:
        pulled = trials_from_server(client)
        assert not pulled.problems
        assert sorted(t.nct_id or "" for t in pulled.trials) == sorted(t.nct_id or "" for t in _trials())
        unlike_the_file: dict[str, Any] = {}
        wrong: list[str] = []
        for name, patient_id in ids.items():
            resources = patient_resources_from_server(client, patient_id)
            local = orjson.loads((PATIENTS / name).read_bytes())
            assert len(resources) == len(local["entry"]), name
            on_server = match(resources, pulled.trials, on=ON)
            on_file = match(resources_of(local, name), list(_trials()), on=ON)
            if _outcomes(on_server) != _outcomes(on_file):
                unlike_the_file[name] = _differences(_outcomes(on_file), _outcomes(on_server))
            wrong += _wrong_verdicts(name, _verdicts(on_server))
    assert not unlike_the_file, unlike_the_file
    assert not wrong, "\n".join(wrong)


def _outcomes(matches: list[TrialMatch]) -> dict[str, tuple[str, tuple[tuple[Any, Any], ...]]]:
    """``{"NCT/linkId": (status, ((value, date) of each evidence))}``: a result without the resource ids, which
    the server chose."""
    out = {}

    def walk(nct: str | None, results: list[CriterionResult]) -> None:
        for r in results:
            out[f"{nct}/{r.link_id}"] = (r.status, tuple((e.value, e.date) for e in r.evidence))
            walk(nct, r.children)

    for m in matches:
        walk(m.nct_id, m.criteria)
    return out


def _differences(file: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"file": file.get(k), "server": server.get(k)}
        for k in sorted(set(file) | set(server))
        if file.get(k) != server.get(k)
    }


# ------------------------------------------------------------------------------------------------ the command


def test_the_match_command_with_server_and_patient_id_gives_the_expected_verdicts(
    fresh: Server, tmp_path: Path
) -> None:
    release = FhirRelease(fresh.fhir_version)
    _push_trials(fresh)
    ids = _push_patients(fresh, release)
    runner = CliRunner()
    wrong: list[str] = []
    for name, patient_id in ids.items():
        out = tmp_path / f"{name}.json"
        args = ["match", "--server", fresh.base, "--fhir-version", release.value, "--patient-id", patient_id]
        more = ["--trials-from-server", "--on", ON.isoformat(), "--format", "json", "-o", str(out)]
        result = runner.invoke(app, [*args, *more])
        assert result.exit_code == 0, f"{name}: {result.output}"
        wrong += _wrong_verdicts(name, _verdicts_of_json(orjson.loads(out.read_bytes())))
    assert not wrong, "\n".join(wrong)


def _verdicts_of_json(report: Any) -> dict[str, str]:
    return {t["nct_id"]: t["verdict"] for t in report["trials"]}
