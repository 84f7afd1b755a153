"""``pull`` brings back what a trial's PlanDefinitions name by canonical (issue 10: each arm's actions point at
ActivityDefinitions by ``definitionCanonical``), and ``pull -o -`` writes the bundles to standard output (issue 12).

The server here is ``responses`` answering from the seed NCT07236528's own bundle (its three phases, drugs and
radiotherapy as ActivityDefinitions), with references rewritten to ``Type/id`` as a server stores them: it shows the
requests (``ActivityDefinition?url=a,b,c``, batched) that a real server hides. The real round trip (push -> pull ->
same Trial, HAPI R4, HAPI R5, Medplum) is tests/integration/test_servers.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import responses
from typer.testing import CliRunner

from conftest import REPO
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.cli import app
from fhir_adapter.model import Trial
from fhir_adapter.sinks.server import FhirClient, SearchQuery, pull
from fhir_adapter.sinks.server.entries import walk_refs
from fhir_adapter.sources import read_trials

BASE = "http://fhir.test/fhir"
SEED = REPO / "seeds" / "000_fdb36eec3c492087.txt"  # NCT07236528: induction, radiotherapy, maintenance
runner = CliRunner()


def _seed() -> Trial:
    trial = next(t for t in read_trials(SEED) if t.nct_id == "NCT07236528")
    assert trial.arms and any(a.regimen for a in trial.arms)
    return trial


class _Server:
    """The seed's resources as a server stores them (``Type/id`` references), searched by ``_id``, ``url`` and
    anything else (the ResearchStudy search: the study)."""

    def __init__(self, release: str) -> None:
        bundle = to_bundle(_seed(), release)
        where = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
        self.resources: list[dict[str, Any]] = []
        for e in bundle["entry"]:
            r = orjson.loads(orjson.dumps(e["resource"]))
            walk_refs(r, where.get)
            self.resources.append(r)
        self.release = release
        self.searches: list[tuple[str, dict[str, list[str]]]] = []

    def serve(self) -> None:
        version = "4.0.1" if self.release == "R4" else "5.0.0"
        responses.get(f"{BASE}/metadata", json={"resourceType": "CapabilityStatement", "fhirVersion": version})
        for rtype in {r["resourceType"] for r in self.resources}:
            responses.add_callback(responses.GET, f"{BASE}/{rtype}", callback=self._search)

    def _search(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url)
        rtype = parts.path.rsplit("/", 1)[1]
        query = parse_qs(parts.query)
        self.searches.append((rtype, query))
        found = [r for r in self.resources if r["resourceType"] == rtype]
        if "_id" in query:
            found = [r for r in found if r["id"] in query["_id"][0].split(",")]
        if "url" in query:
            found = [r for r in found if r.get("url") in query["url"][0].split(",")]
        if "_include" in query:
            return 400, {}, b'{"resourceType": "OperationOutcome", "issue": []}'  # as Medplum: fetched by id
        page = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]}
        return 200, {"Content-Type": "application/fhir+json"}, orjson.dumps(page)

    def url_searches(self) -> list[list[str]]:
        return [q["url"][0].split(",") for t, q in self.searches if t == "ActivityDefinition" and "url" in q]


@pytest.mark.parametrize("release", ["R5", "R4"])
@responses.activate
def test_pull_fetches_the_activity_definitions_so_the_trial_keeps_its_dosing(tmp_path: Path, release: str) -> None:
    server = _Server(release)
    server.serve()
    with FhirClient(BASE) as client:
        summary = pull(client, tmp_path, SearchQuery(identifiers=["NCT07236528"]))
    assert not summary.problems, summary.problems
    pulled = orjson.loads((tmp_path / "NCT07236528.json").read_bytes())
    types = [e["resource"]["resourceType"] for e in pulled["entry"]]
    definitions = [r for r in server.resources if r["resourceType"] == "ActivityDefinition"]
    assert definitions and types.count("ActivityDefinition") == len(definitions)
    assert from_bundle(pulled) == from_bundle(to_bundle(_seed(), release))
    # one batched search for every canonical of the level, never one request per ActivityDefinition
    batches = server.url_searches()
    assert len(batches) == 1 and sorted(batches[0]) == sorted(r["url"] for r in definitions)


@responses.activate
def test_a_canonical_the_server_does_not_hold_is_a_problem(tmp_path: Path) -> None:
    server = _Server("R5")
    lost = next(r for r in server.resources if r["resourceType"] == "ActivityDefinition")
    server.resources.remove(lost)
    server.serve()
    with FhirClient(BASE) as client:
        summary = pull(client, tmp_path, SearchQuery(identifiers=["NCT07236528"]))
    assert summary.problems == [f"{lost['url']}: canonical referenced but not found on the server"]
    # looked for as an ActivityDefinition, then as a PlanDefinition (the other definition an action may name)
    assert [t for t, q in server.searches if "url" in q] == ["ActivityDefinition", "PlanDefinition"]


@responses.activate
def test_pull_to_stdout_writes_one_bundle_a_line_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pull -o -`` as ``convert -o -`` (the README's contract): one compact Bundle a line on stdout; the per-study
    line and the summary on stderr; no folder named ``-``."""
    _Server("R5").serve()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["pull", "--server", BASE, "--identifier", "NCT07236528", "-o", "-"])
    assert not list(tmp_path.iterdir())
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    bundle = orjson.loads(lines[0])
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert from_bundle(bundle) == from_bundle(to_bundle(_seed(), "R5"))
    assert "ok NCT07236528 -> stdout" in result.stderr and "1 studies pulled" in result.stderr
