"""Push on several connections (``sinks.server.push_pool``): what only a mocked server can show (answers in another
order than asked, a trial twice in flight, refusals and 503s landing on concurrent requests). The real-server test
(no duplicates, a second push changes nothing, the same trials pulled back) is
tests/integration/test_push_concurrency.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import requests
import responses
from typer.testing import CliRunner

from fhir_adapter.bundle import to_bundle
from fhir_adapter.cli import app
from fhir_adapter.cli import push as push_cli
from fhir_adapter.definitions import definitions_used
from fhir_adapter.errors import ExitCode
from fhir_adapter.sinks.server import FhirClient, PushResult, TrialBundle, push_bundles
from fhir_adapter.sinks.server.client import MAX_CONNECTIONS
from fhir_adapter.sources import read_trials

BASE = "http://fhir.test/fhir"
CS = {"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"}
NCT = "https://clinicaltrials.gov"
REPO = Path(__file__).resolve().parents[1]
COVID = REPO / "tests/data/ctgov-v1/covid-19-search-page.json"
runner = CliRunner()


def trial(n: int) -> TrialBundle:
    """A small trial: a ResearchStudy (conditional PUT on its NCT id) and its sponsor Organization (PUT by id)."""
    nct = f"NCT{n:08d}"
    org = {"resourceType": "Organization", "id": f"org-{n}", "name": f"Sponsor {n}"}
    study = {
        "resourceType": "ResearchStudy",
        "id": f"rs-{n}",
        "identifier": [{"system": NCT, "value": nct}],
        "status": "active",
        "associatedParty": [{"party": {"reference": f"urn:uuid:00000000-0000-4000-8000-{n:012d}"}}],
    }
    entries = [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n:012d}", "resource": org},
        {"fullUrl": f"urn:uuid:00000000-0000-4000-9000-{n:012d}", "resource": study},
    ]
    return TrialBundle(nct, "test", entries)


class Server:
    """A transaction endpoint that records which trials are in flight at once; ``answer(nct, attempt)`` gives the
    (status, delay) of each POST."""

    def __init__(self, answer: Callable[[str, int], tuple[int, float]] = lambda nct, attempt: (200, 0.05)) -> None:
        self.answer = answer
        self.lock = threading.Lock()
        self.flying: list[str] = []
        self.most = 0  # most transactions in flight at once
        self.clashes: list[str] = []  # a trial sent while the same trial was in flight
        self.attempts: dict[str, int] = {}
        self.events: list[tuple[str, str]] = []  # ("start"|"end", what) in the order they happened

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        bundle = orjson.loads(request.body or b"{}")
        urls = [e["request"]["url"] for e in bundle["entry"]]
        what = next((u.rpartition("|")[2] for u in urls if u.startswith("ResearchStudy?")), "definitions")
        with self.lock:
            self.attempts[what] = attempt = self.attempts.get(what, 0) + 1
            if what in self.flying:
                self.clashes.append(what)
            self.flying.append(what)
            self.most = max(self.most, len(self.flying))
            self.events.append(("start", what))
        status, delay = self.answer(what, attempt)
        time.sleep(delay)
        with self.lock:
            self.flying.remove(what)
            self.events.append(("end", what))
        if status >= 400:
            outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
            return status, {}, orjson.dumps(outcome)
        reply = {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [{"response": {"status": "201 Created"}} for _ in urls],
        }
        return 200, {}, orjson.dumps(reply)


def _serve(server: Server) -> None:
    responses.get(f"{BASE}/metadata", json=CS)
    responses.add_callback(responses.POST, BASE, callback=server)


def _client(connections: int) -> FhirClient:
    return FhirClient(BASE, connections=connections, backoff_factor=0, backoff_jitter=0)


@responses.activate
def test_answers_out_of_order_are_reported_in_input_order() -> None:
    trials = [trial(i) for i in range(8)]
    server = Server(lambda nct, attempt: (200, 0.02 * (8 - int(nct[3:]))))  # the first trials answer last
    _serve(server)
    results: list[PushResult] = []
    with _client(4) as client:
        summary = push_bundles(client, trials, on_result=results.append)
    assert [r.nct_ids for r in results] == [[t.nct_id] for t in trials]
    assert summary.pushed == 8 and summary.failed == 0 and summary.requests == 8 and summary.resources == 16
    assert server.most > 1  # they did go at once


@responses.activate
def test_a_trial_that_comes_twice_is_never_in_flight_twice() -> None:
    """The same trial twice (two inputs holding it) shares every request URL: its second push waits for the first,
    else two conditional PUTs on one identifier would both create."""
    a, b, c = trial(1), trial(2), trial(3)
    server = Server(lambda nct, attempt: (200, 0.1 if nct == a.nct_id else 0.01))
    _serve(server)
    with _client(4) as client:
        summary = push_bundles(client, [a, b, a, c, a, b], on_result=lambda r: None)
    assert server.clashes == []
    assert server.attempts == {a.nct_id: 3, b.nct_id: 2, c.nct_id: 1}
    assert summary.pushed == 6


@responses.activate
def test_refused_credentials_fail_the_first_trial_and_send_no_other() -> None:
    server = Server(lambda nct, attempt: (401, 0))
    _serve(server)
    not_attempted: list[str] = []
    trials = [trial(i) for i in range(6)]
    with _client(4) as client:
        summary = push_bundles(client, trials, on_not_attempted=lambda nct, why: not_attempted.append(nct))
    assert sum(server.attempts.values()) == 1  # the first request goes alone
    assert summary.failed == 1 and summary.pushed == 0
    assert summary.not_attempted == not_attempted == [t.nct_id for t in trials[1:]]
    assert summary.stopped is not None and "HTTP 401" in summary.stopped


@responses.activate
def test_a_refusal_mid_push_lets_the_requests_in_flight_finish_and_sends_no_more() -> None:
    trials = [trial(i) for i in range(16)]
    refused_from = 4  # the token expires: every request from the 4th on is refused
    count = [0]
    lock = threading.Lock()

    def answer(nct: str, attempt: int) -> tuple[int, float]:
        with lock:
            count[0] += 1
            n = count[0]
        return (401 if n >= refused_from else 200), 0.05

    server = Server(answer)
    _serve(server)
    results: list[PushResult] = []
    with _client(4) as client:
        summary = push_bundles(client, trials, on_result=results.append)
    sent = sum(server.attempts.values())
    assert refused_from <= sent < refused_from + 4  # at most the requests then in flight went after the refusal
    assert summary.pushed + summary.failed == sent == len(results)
    assert summary.pushed == refused_from - 1
    assert summary.not_attempted == [t.nct_id for t in trials[sent:]]  # every trial accounted for, in order
    assert [r.nct_ids[0] for r in results] == [t.nct_id for t in trials[:sent]]


@responses.activate
def test_a_503_on_each_connection_is_retried_with_its_own_budget() -> None:
    server = Server(lambda nct, attempt: ((503 if attempt == 1 else 200), 0.02))
    _serve(server)
    trials = [trial(i) for i in range(8)]
    with _client(4) as client:
        summary = push_bundles(client, trials)
    assert summary.pushed == 8 and summary.failed == 0
    assert summary.retries == 8 and all(n == 2 for n in server.attempts.values())


@responses.activate
def test_definitions_are_stored_before_any_trial_that_uses_them_goes() -> None:
    """Definitions are shared by trials: the ones a chunk uses are sent, and answered, before it is handed to a
    connection."""
    trials: list[TrialBundle] = []
    for study in list(read_trials(COVID))[:6]:
        assert study.nct_id
        trials.append(TrialBundle(study.nct_id, str(COVID), to_bundle(study)["entry"]))
    server = Server(lambda nct, attempt: (200, 0.02))
    stored: list[set[str]] = []  # the definition urls of each definitions transaction, in the order sent

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        entries = orjson.loads(request.body or b"{}")["entry"]
        if not any(e["request"]["url"].startswith("ResearchStudy?") for e in entries):
            stored.append({e["resource"]["url"] for e in entries})
        return server(request)

    responses.get(f"{BASE}/metadata", json=CS)
    responses.add_callback(responses.POST, BASE, callback=callback)
    with _client(4) as client:
        summary = push_bundles(client, trials, definitions=True)
    assert summary.pushed == 6 and stored
    events = server.events
    for t in trials:
        start = events.index(("start", t.nct_id))
        used = {str(d["url"]) for d in definitions_used((e["resource"] for e in t.entries), "R5")}
        for n, urls in enumerate(stored):
            if urls & used:  # the definitions transaction that brought some of them ended before the trial began
                assert _nth(events, ("end", "definitions"), n) < start


def _nth(events: list[tuple[str, str]], event: tuple[str, str], n: int) -> int:
    return [i for i, e in enumerate(events) if e == event][n]


@responses.activate
def test_the_cli_pushes_on_several_connections_and_prints_trials_in_order(tmp_path: Path) -> None:
    inputs = [*sorted((REPO / "seeds").glob("*.txt")), *sorted((REPO / "tests/data/ctgov-v2").glob("*.json"))[:4]]
    server = Server(lambda nct, attempt: (200, 0.02))
    _serve(server)
    result = runner.invoke(app, ["push", *map(str, inputs), "--server", BASE, "--connections", "3"])
    assert result.exit_code == ExitCode.OK, result.output
    ok = [line.split()[1].rstrip(":") for line in result.output.splitlines() if line.startswith("ok ")]
    assert ok == [t.nct_id for path in inputs for t in read_trials(path)]
    assert f"{len(inputs)} trials pushed, 0 failed, 0 not attempted" in result.output


@pytest.mark.parametrize("bad", ["0", str(MAX_CONNECTIONS + 1)])
def test_connections_out_of_range_is_a_usage_error(bad: str) -> None:
    result = runner.invoke(app, ["push", str(REPO / "seeds"), "--server", BASE, "--connections", bad])
    assert result.exit_code == ExitCode.USAGE


def test_the_cli_bound_is_the_client_s() -> None:
    assert push_cli.MAX_CONNECTIONS == MAX_CONNECTIONS
    assert 1 <= push_cli.DEFAULT_CONNECTIONS <= MAX_CONNECTIONS
    with pytest.raises(ValueError, match="connections"):
        FhirClient(BASE, connections=MAX_CONNECTIONS + 1)
