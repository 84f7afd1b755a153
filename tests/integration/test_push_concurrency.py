"""Push on 4 connections to real servers (HAPI R5, HAPI R4, Medplum; see conftest.py): no duplicates, a second push
changes nothing, and a pull gives back what a 1-connection push gives.

What trials can share on a server: our ids and canonicals are minted from the NCT id (``fhir_adapter.fhir.ids``), so
two trials meet on a key only when the same trial comes twice in the inputs (two exports of one study), and on the
published definitions (``--definitions``) that every trial uses. The definitions are sent on the caller's thread
before the first chunk that uses them is handed to a connection, as on one connection (tests/test_push_concurrency.py
checks the order; tests/integration/test_push_definitions.py that each is stored once): they are left out here, for
CI's time (they cost HAPI about 10 s). The input: 3 API v1 studies, the second coming again while it is in flight.
Kept small: 8 to 19 s a server on this busy machine.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.model import Trial
from fhir_adapter.sinks.server import (
    FhirClient,
    PushResult,
    PushSummary,
    SearchQuery,
    TrialBundle,
    prepare,
    push_bundles,
)
from integration.fhir_servers import Server

pytestmark = pytest.mark.slow

TRIALS = 3
CONNECTIONS = 4


def _bundles(trials: tuple[Trial, ...], version: str) -> list[TrialBundle]:
    """The first ``TRIALS`` studies, then the second again (the same trial in two inputs): the first goes alone, then
    the others at once, the second's copy waiting for it (``sinks.server.push_pool``)."""
    out = []
    for t in trials[:TRIALS]:
        assert t.nct_id
        out.append(TrialBundle(t.nct_id, t.nct_id, to_bundle(t, version)["entry"]))
    return [*out, out[1]]


def _push(server: Server, bundles: list[TrialBundle], connections: int) -> PushSummary:
    results: list[PushResult] = []
    with FhirClient(server.base, fhir_version=server.fhir_version, connections=connections) as client:
        summary = push_bundles(client, bundles, on_result=results.append)
    problems = [str(i) for r in results for i in r.issues]
    assert summary.failed == 0 and summary.pushed == len(bundles) and summary.stopped is None, (summary, problems)
    return summary


def _versions(server: Server, types: set[str]) -> dict[str, str]:
    """``Type/id`` -> ``meta.versionId`` of every resource of ``types``."""
    out: dict[str, str] = {}
    with FhirClient(server.base, fhir_version=server.fhir_version) as client:
        for rtype in sorted(types):
            for page in client.search_pages(rtype, {"_count": "500", "_elements": "id"}):
                for e in page.get("entry", []):
                    r: dict[str, Any] = e.get("resource", {})
                    if r.get("resourceType") == rtype:
                        out[f"{rtype}/{r['id']}"] = str(r.get("meta", {}).get("versionId"))
    return out


def _normal(bundle: dict[str, Any]) -> list[bytes]:
    """A pulled bundle's resources without ids and meta, references reduced to their target's type, sorted."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (v.split("/")[-2] if k == "reference" and isinstance(v, str) and "/" in v else walk(v))
                for k, v in node.items()
                if k not in ("id", "meta")
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return sorted(orjson.dumps(walk(e["resource"]), option=orjson.OPT_SORT_KEYS) for e in bundle["entry"])


def test_four_connections_make_no_duplicate_and_a_second_push_changes_nothing(
    fresh: Server, tmp_path: Path, v1_trials: tuple[Trial, ...]
) -> None:
    bundles = _bundles(v1_trials, fresh.fhir_version)
    keys = {(e["resource"]["resourceType"], e["request"]["url"]) for b in bundles for e in prepare(b).entries}
    expected = Counter(rtype for rtype, _ in keys)

    first = _push(fresh, bundles, CONNECTIONS)
    stored = _versions(fresh, set(expected))
    assert Counter(k.partition("/")[0] for k in stored) == expected  # one resource per key: no duplicate
    # at most one creation per key (a retried transaction or a read-back may count fewer): the copy of a trial
    # found its resources; what the server holds is checked next
    assert first.created <= len(keys), first

    again = _push(fresh, bundles, CONNECTIONS)
    assert again.created == 0, again
    assert _versions(fresh, set(expected)) == stored  # nothing changed: every versionId as it was

    concurrent = fresh.pulled(tmp_path / "four", SearchQuery())
    fresh.reset()
    _push(fresh, bundles, 1)
    # another query than the first pull's: a server may answer a search it saw a moment ago from its cache (HAPI)
    serial = fresh.pulled(tmp_path / "one", SearchQuery(identifiers=sorted({b.nct_id for b in bundles})))
    assert sorted(concurrent) == sorted(serial) == sorted({b.nct_id for b in bundles})
    for nct, bundle in serial.items():
        assert from_bundle(concurrent[nct]) == from_bundle(bundle), nct
        assert _normal(concurrent[nct]) == _normal(bundle), nct
