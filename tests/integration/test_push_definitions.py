"""push_bundles(definitions=True) on real servers (HAPI R4, HAPI R5, Medplum): the published definitions a trial uses
are stored before it, each once, and pushing twice stores nothing new (conditional PUT by url)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from fhir_adapter.bundle import to_bundle
from fhir_adapter.definitions import definition_urls, definitions_used
from fhir_adapter.sinks.server import FhirClient, PushResult, TrialBundle, push_bundles
from fhir_adapter.sources import read_trials
from integration.fhir_servers import REPO, Server

pytestmark = pytest.mark.slow

SEED = sorted((REPO / "seeds").glob("*.txt"))[0]


def _push(server: Server, bundle: TrialBundle) -> list[PushResult]:
    results: list[PushResult] = []
    with FhirClient(server.base, fhir_version=server.fhir_version) as client:
        summary = push_bundles(client, [bundle], definitions=True, on_result=results.append)
    assert summary.failed == 0 and summary.pushed == 1
    assert [str(i) for r in results for i in r.issues] == []
    return results


def test_definitions_are_stored_once_before_the_trial(fresh: Server, tmp_path: Path) -> None:
    trial = next(iter(read_trials(SEED)))
    assert trial.nct_id
    bundle = to_bundle(trial, fresh.fhir_version)
    used = definitions_used([e["resource"] for e in bundle["entry"]], fresh.fhir_version)
    assert used, "a trial uses some of our definitions"
    for _ in range(2):  # the second push finds each definition by its url and changes nothing
        _push(fresh, TrialBundle(trial.nct_id, str(SEED), bundle["entry"]))
    urls = definition_urls(fresh.fhir_version)
    for definition in used:
        if any(u != definition["url"] and u.startswith(definition["url"]) for u in urls):
            continue  # not pushed (Medplum searches uris by prefix; sinks.server.push)
        search = f"{fresh.base}/{definition['resourceType']}?url={quote(definition['url'], safe='')}"
        found = requests.get(search, headers={"Accept": "application/fhir+json"}, timeout=60).json()
        assert len(found.get("entry", [])) == 1, definition["url"]
