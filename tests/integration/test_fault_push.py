"""1,000 trials pushed through a fault-injecting proxy (tests/integration/fault_proxy.py) to a real FHIR server.

The trials: 50 API v1 COVID-19 studies of tests/data (16 resources each on average: ResearchStudy, eligibility
Group, EvidenceVariables, PlanDefinitions, Organizations, Practitioners and their roles, Locations, all tied by
``urn:uuid`` references) and 950 minimal generated ones (a ResearchStudy alone), so that the run stays near three
minutes on a loaded 2-core machine (Medplum takes about 0.3 s per full trial, 0.03 s per minimal one).
The proxy, seeded, answers 500, 503 and 429 (``Retry-After``) in the server's stead, resets connections in the middle
of an answer, holds answers back (less, and more, than the client's read timeout) and forwards requests while
dropping the answer; two transactions (one of full trials, one of minimal ones) lose every answer of every attempt,
so that only a read-back can tell what became of them.

What must hold: every trial is reported pushed, failed or not attempted; a trial reported pushed is on the server,
one reported failed is as the read-back said; the server ends with exactly 1,000 ResearchStudies and no duplicate
NCT identifier; and a re-push through the proxy with the faults off changes nothing (same versionIds, same counts).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from fhir_adapter.bundle import to_bundle
from fhir_adapter.sinks.server import FhirClient, PushResult, PushSummary, TrialBundle, push_bundles
from fhir_adapter.sources import read_trials
from integration.fault_proxy import FaultProxy, Schedule
from integration.fhir_servers import REPO, Server

pytestmark = pytest.mark.slow

TRIALS = 1000
FULL = 50
BATCH = 5
NCT = "https://clinicaltrials.gov"
SCHEDULE = Schedule(
    seed=8,
    rates={"500": 0.03, "503": 0.03, "429": 0.03, "reset": 0.03, "drop": 0.03, "delay": 0.02, "timeout": 0.004},
    persistent_drops=frozenset({3, 61}),
    retry_after="1",
    delay_s=0.3,
    timeout_s=9.0,
)
READ_TIMEOUT = 8.0  # a transaction of 5 full trials takes up to ~3 s on Medplum under load


def _trials(version: str) -> list[TrialBundle]:
    full = list(read_trials(REPO / "tests/data/ctgov-v1/covid-19-search-page.json"))[:FULL]
    out = [TrialBundle(t.nct_id or "", "v1", to_bundle(t, version)["entry"]) for t in full]
    return out + [_minimal(i) for i in range(TRIALS - FULL)]


def _minimal(i: int) -> TrialBundle:
    nct = f"NCT9{i:07d}"
    study = {
        "resourceType": "ResearchStudy",
        "identifier": [{"system": NCT, "value": nct}],
        "status": "active",
        "title": f"Generated trial {i}",
    }
    return TrialBundle(
        nct, "generated", [{"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, nct)}", "resource": study}]
    )


@pytest.fixture
def proxy(fresh: Server) -> Iterator[FaultProxy]:
    server = FaultProxy(fresh.base, dataclasses.replace(SCHEDULE))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


def _studies(server: Server) -> dict[str, list[tuple[str, str]]]:
    """NCT id -> [(id, versionId)] of every ResearchStudy on the server (read directly, not through the proxy)."""
    found: dict[str, list[tuple[str, str]]] = {}
    url: str | None = f"{server.base}/ResearchStudy"
    params: dict[str, str] | None = {"_count": "200", "_elements": "identifier"}
    while url:
        page = requests.get(url, params=params, timeout=60).json()
        for e in page.get("entry", []):
            r = e["resource"]
            nct = next((i["value"] for i in r.get("identifier", []) if i.get("system") == NCT), "?")
            found.setdefault(nct, []).append((r["id"], r.get("meta", {}).get("versionId", "")))
        url = next((lk["url"] for lk in page.get("link", []) if lk["relation"] == "next"), None)
        params = None
    return found


def _counts(server: Server) -> dict[str, int]:
    kinds = (
        "ResearchStudy",
        "EvidenceVariable",
        "PlanDefinition",
        "Group",
        "Organization",
        "Location",
        "Practitioner",
        "PractitionerRole",
    )
    return {k: server.count(k) for k in kinds}


def _push(proxy: FaultProxy, server: Server, trials: list[TrialBundle]) -> tuple[PushSummary, list[PushResult]]:
    results: list[PushResult] = []
    with FhirClient(
        proxy.base, fhir_version=server.fhir_version, read_timeout=READ_TIMEOUT, backoff_factor=0.2, backoff_jitter=0.1
    ) as client:
        summary = push_bundles(client, trials, batch_size=BATCH, on_result=results.append)
    return summary, results


def test_1000_trials_through_faults_lose_nothing_and_a_repush_changes_nothing(
    proxy: FaultProxy, fresh: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    trials = _trials(fresh.fhir_version)
    ids = [t.nct_id for t in trials]
    assert len(set(ids)) == TRIALS
    started = time.monotonic()
    summary, results = _push(proxy, fresh, trials)
    faulted_s = time.monotonic() - started

    # the report is honest: each trial in exactly one state, and the server agrees with it
    failed = {n for r in results for n in r.failed_trials}
    pushed = {n for r in results for n in r.nct_ids} - failed
    assert summary.pushed + summary.failed + len(summary.not_attempted) == TRIALS
    assert pushed | failed | set(summary.not_attempted) == set(ids)
    assert summary.stopped is None, summary.stopped
    on_server = _studies(fresh)
    assert all(len(v) == 1 for v in on_server.values()), "duplicate NCT identifiers"
    assert pushed <= set(on_server)
    problems: dict[str, str] = {i.nct_id or "": i.message for r in results for i in r.issues}
    for nct in failed:  # what the read-back said is what the server holds
        said = problems[nct]
        if "absent on the server" in said or "nothing was sent" in said:
            assert nct not in on_server, said
    # the faults were met, and the lost answers read back
    assert {"500", "503", "429", "reset", "drop", "delay", "timeout"} <= set(proxy.faults), proxy.faults
    assert summary.read_back >= 2 * BATCH and summary.verified >= 2 * BATCH and summary.retries > 0

    # a re-push without faults completes what failed and changes nothing that was there (same versionIds)
    proxy.enabled = False
    counts = _counts(fresh)
    started = time.monotonic()
    repush, _ = _push(proxy, fresh, trials)
    clean_s = time.monotonic() - started
    assert repush.pushed == TRIALS and repush.failed == 0 and repush.retries == 0
    after = _studies(fresh)
    assert len(after) == TRIALS and all(len(v) == 1 for v in after.values())
    assert {n: v for n, v in after.items() if n in on_server} == on_server
    completed = _counts(fresh)
    assert completed["ResearchStudy"] == TRIALS
    if not failed:
        assert completed == counts

    with capsys.disabled():
        print(
            f"\n{fresh.kind}: {TRIALS} trials, batch {BATCH}, faults {dict(sorted(proxy.faults.items()))} over "
            f"{len(proxy.log)} requests; faulted push {faulted_s:.1f} s: {summary.pushed} pushed "
            f"({summary.verified} proved by read-back), {summary.failed} failed, {len(summary.not_attempted)} not "
            f"attempted, {summary.retries} retries, {summary.read_back} trials read back, {summary.requests} "
            f"requests; clean re-push {clean_s:.1f} s; server: {completed}"
        )
        for nct in sorted(failed):
            print(f"  FAILED {nct}: {problems[nct]}")
