"""The scripts in examples/ run (issue 12 item 11): the offline ones as a user runs them, with this venv's python in
a subprocess; the server ones in-process against a scripted server (``responses``), whose answers are what a FHIR
server returns. The convert example counts warnings as ``fhir-adapter convert`` does."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import responses
from typer.testing import CliRunner

from fhir_adapter import read_trials, to_bundle
from fhir_adapter.cli import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SEEDS = REPO / "seeds"
BASE = "http://fhir.example.test/fhir"
_CLI_LINE = re.compile(r"^ok (NCT\d{8}) .*\((\d+) resources?, (\d+) warnings?\)$")
_EXAMPLE_LINE = re.compile(
    r"^(NCT\d{8}): (\d+) resources, (\d+) errors, round trip (\w+), (\d+) warnings, (\d+) notes$"
)
_URN = re.compile(r"urn:uuid:([0-9a-f-]{36})")


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def _load(script: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), EXAMPLES / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_says_how_to_run_it_with_the_venv() -> None:
    for script in sorted(EXAMPLES.glob("*.py")):
        doc = script.read_text(encoding="utf-8")
        assert f".venv/bin/python examples/{script.name}" in doc, script.name


@pytest.mark.parametrize("inputs", ["seeds", "tests/data/ctgov-v2", "tests/data/ctgov-xml"])
def test_convert_example_counts_warnings_as_the_cli(inputs: str, tmp_path: Path) -> None:
    done = _run("convert_and_check.py", inputs)
    assert done.returncode == 0, done.stderr
    example = [(m[1], int(m[2]), int(m[5])) for m in map(_EXAMPLE_LINE.match, done.stdout.splitlines()) if m]
    assert example and all(m is not None for m in map(_EXAMPLE_LINE.match, done.stdout.splitlines()))
    result = CliRunner().invoke(app, ["convert", str(REPO / inputs), "-o", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    cli = [(m[1], int(m[2]), int(m[3])) for m in map(_CLI_LINE.match, result.output.splitlines()) if m]
    assert sorted(cli) == sorted(example)  # per record: (NCT id, resources, warnings)
    total = re.search(r"(\d+) warnings?\s*$", result.output.strip().splitlines()[-1])
    assert total is not None and int(total[1]) == sum(w for _, _, w in example)


def test_match_example_screens_the_seeds_offline() -> None:
    done = _run("match_seeds.py")
    assert done.returncode == 0, done.stderr
    ids = {t.nct_id for t in read_trials(SEEDS)}
    assert "screened against 2 trials" in done.stdout and "searchset Bundle" in done.stdout
    assert all(f"  {nct}: search.score" in done.stdout for nct in ids)


@pytest.mark.parametrize("script", ["push_to_server.py", "pull_from_server.py"])
def test_server_examples_parse_their_arguments(script: str) -> None:
    done = _run(script, "--help")
    assert done.returncode == 0 and "FHIR base URL" in done.stdout
    done = _run(script)
    assert done.returncode == 2 and "required" in done.stderr


def _capability(version: str = "5.0.0") -> None:
    responses.get(f"{BASE}/metadata", json={"resourceType": "CapabilityStatement", "fhirVersion": version})


@responses.activate
def test_push_example_pushes_the_seeds(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FHIR_ADAPTER_TOKEN", raising=False)
    _capability()
    sizes = [len(to_bundle(t)["entry"]) for t in read_trials(SEEDS)]
    for n in sizes:  # one transaction per trial, each answered as created
        entries = [{"response": {"status": "201 Created"}} for _ in range(n)]
        responses.post(BASE, json={"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
    assert _load("push_to_server.py").main([BASE, str(SEEDS)]) == 0
    out = capsys.readouterr().out
    assert "2 trials pushed, 0 failed, 0 not attempted" in out
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 2


def _as_on_a_server(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """A collection bundle's resources as a server holds them: references ``Type/id`` instead of ``urn:uuid:``."""
    types = {e["resource"]["id"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    text = _URN.sub(lambda m: f"{types[m[1]]}/{m[1]}" if m[1] in types else m[0], json.dumps(bundle))
    return [e["resource"] for e in json.loads(text)["entry"]]


@responses.activate
def test_pull_example_reads_back_the_trials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FHIR_ADAPTER_TOKEN", raising=False)
    _capability()
    trial = next(read_trials(sorted(SEEDS.glob("*.txt"))[0]))
    resources = _as_on_a_server(to_bundle(trial))
    entries = [
        {
            "fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match" if r["resourceType"] == "ResearchStudy" else "include"},
        }
        for r in resources
    ]
    responses.get(f"{BASE}/ResearchStudy", json={"resourceType": "Bundle", "type": "searchset", "entry": entries})
    for r in resources:  # a reference not in the search's answer is fetched by id
        responses.get(f"{BASE}/{r['resourceType']}/{r['id']}", json=r)
    assert _load("pull_from_server.py").main([BASE, "-o", str(tmp_path / "pulled")]) == 0
    out = capsys.readouterr().out
    assert f"{trial.nct_id}: {trial.brief_title}" in out and "1 bundles written" in out
    assert (tmp_path / "pulled" / f"{trial.nct_id}.json").is_file()


def test_the_test_command_prints_its_duration_last(tmp_path: Path) -> None:
    """The README's test command ends with the suite's duration (tests/conftest.py), after pytest's own summary."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_hapi_setting.py"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout
    tail = done.stdout.strip().splitlines()[-2:]
    assert re.fullmatch(r"suite took \d+ s \(\d+\.\d min\) on 1 process\(es\); marked suites deselected", tail[0])
    assert re.search(r"\d+ passed in [\d.]+s", tail[1])
