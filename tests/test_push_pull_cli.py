"""push and pull through typer's CliRunner against ``responses`` (issue 12 items 4, 5, 6, 7, 10): the release the
server decides, stock R4 searches, search words, empty searches, the exit codes, the help. Real servers:
tests/integration/test_stock_r4.py."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import responses
from typer.testing import CliRunner

from fhir_adapter.cli import app
from fhir_adapter.cli.server_options import Throughput
from fhir_adapter.errors import ExitCode
from fhir_adapter.release import FhirRelease
from fhir_adapter.sinks.server import FhirClient, SearchQuery, search_params
from fhir_adapter.sinks.server.search import SearchWordError, phase_code, plan_search
from helpers import no_provenance_on_the_mocked_servers  # noqa: F401  (autouse fixture)

REPO = Path(__file__).resolve().parents[1]
GOLDEN_R4 = REPO / "tests/data/golden/r4"
BASE = "http://fhir.test/fhir"
SEED = sorted((REPO / "seeds").glob("*.txt"))[0]
CORE_R4_PARAMS = [
    "category",
    "date",
    "focus",
    "identifier",
    "keyword",
    "location",
    "partof",
    "principalinvestigator",
    "protocol",
    "site",
    "sponsor",
    "status",
    "title",
]
runner = CliRunner()


def capability(version: str, params: list[str] | None = None) -> dict[str, Any]:
    cs: dict[str, Any] = {"resourceType": "CapabilityStatement", "fhirVersion": version}
    if params is not None:
        cs["rest"] = [{"resource": [{"type": "ResearchStudy", "searchParam": [{"name": n} for n in params]}]}]
    return cs


def r4_bundles() -> dict[str, dict[str, Any]]:
    return {p.name.split(".")[0]: orjson.loads(p.read_bytes()) for p in sorted(GOLDEN_R4.glob("*.json"))}


def searchset(bundles: list[dict[str, Any]]) -> dict[str, Any]:
    """A searchset with each bundle's ResearchStudy as a match and the rest as includes (as HAPI's _include=*)."""
    entry = []
    for b in bundles:
        for e in b["entry"]:
            r = e["resource"]
            mode = "match" if r["resourceType"] == "ResearchStudy" else "include"
            entry.append({"resource": r, "search": {"mode": mode}})
    return {"resourceType": "Bundle", "type": "searchset", "entry": entry}


def search_calls() -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(str(c.request.url)).query)
        for c in responses.calls
        if c.request.method == "GET" and "/ResearchStudy" in (c.request.url or "")
    ]


def flat(text: str) -> str:
    """The text of a message as one line: click's boxed usage errors wrap it over several."""
    return " ".join(text.replace("│", " ").split())


def pulled(out: Path) -> set[str]:
    return {p.stem for p in out.glob("NCT*.json")}


# ---------------------------------------------------------------------------------------------- item 5: release


@pytest.mark.parametrize(
    ("word", "release"),
    [("r4", "R4"), ("R4", "R4"), ("4.0.1", "R4"), ("4.0", "R4"), ("r5", "R5"), ("R5", "R5"), ("5.0.0", "R5")],
)
@responses.activate
def test_fhir_version_takes_the_usual_spellings(word: str, release: str, tmp_path: Path) -> None:
    responses.get(f"{BASE}/metadata", json=capability("4.0.1" if release == "R4" else "5.0.0"))
    responses.get(f"{BASE}/ResearchStudy", json=searchset([]))
    result = runner.invoke(app, ["pull", "--server", BASE, "--fhir-version", word, "-o", str(tmp_path / "o")])
    assert result.exit_code == ExitCode.NO_INPUT, result.stderr  # accepted; the server holds nothing


def test_an_unknown_fhir_version_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pull", "--server", BASE, "--fhir-version", "3.0.2", "-o", str(tmp_path / "o")])
    assert result.exit_code == ExitCode.USAGE
    assert "is not a FHIR release fhir-adapter speaks (R4, r4, 4.0.1; R5, r5, 5.0.0)" in flat(result.stderr)


@responses.activate
def test_push_without_fhir_version_converts_for_the_servers_release() -> None:
    responses.get(f"{BASE}/metadata", json=capability("4.0.1"))
    responses.post(BASE, json={"resourceType": "Bundle", "type": "transaction-response", "entry": []})
    result = runner.invoke(app, ["push", str(SEED), "--server", BASE])
    assert result.exit_code == 0, result.stderr
    body = next(c.request.body for c in responses.calls if c.request.method == "POST")
    assert body is not None
    sent = orjson.loads(body)
    study = next(e["resource"] for e in sent["entry"] if e["resource"]["resourceType"] == "ResearchStudy")
    assert "enrollment" in study and "progressStatus" not in study  # R4's elements, not R5's


@responses.activate
def test_an_r5_bundle_file_for_an_r4_server_is_one_clear_usage_error(tmp_path: Path) -> None:
    responses.get(f"{BASE}/metadata", json=capability("4.0.1"))
    converted = tmp_path / "r5"
    assert runner.invoke(app, ["convert", str(SEED), "-o", str(converted)]).exit_code == 0
    result = runner.invoke(app, ["push", str(converted), "--server", BASE])
    assert result.exit_code == ExitCode.USAGE, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "is a FHIR R5 bundle and the server speaks R4" in errors[0]
    assert "fhir-adapter convert INPUT... --fhir-version R4 -o DIR" in errors[0]
    assert [c.request.method for c in responses.calls] == ["GET"]  # nothing was sent


# ---------------------------------------------------------------------------------------------- item 4: exit codes


@responses.activate
def test_push_of_an_empty_folder_is_no_input(tmp_path: Path) -> None:
    responses.get(f"{BASE}/metadata", json=capability("5.0.0"))
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["push", str(tmp_path / "empty"), "--server", BASE])
    assert result.exit_code == ExitCode.NO_INPUT
    assert "error: no trial in the inputs" in result.stderr


@pytest.mark.parametrize("command", ["push", "pull"])
@pytest.mark.parametrize("url", ["127.0.0.1:8080/fhir", "localhost/fhir", "ftp://x/fhir", "http:///fhir"])
@responses.activate
def test_a_server_url_without_http_scheme_is_a_usage_error_and_sends_nothing(
    command: str, url: str, tmp_path: Path
) -> None:
    args = [command, str(SEED)] if command == "push" else [command, "-o", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--server", url])
    assert result.exit_code == ExitCode.USAGE
    assert "is not an http:// or https:// URL" in flat(result.stderr) and "retr" not in result.stderr
    assert not responses.calls


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_input_is_a_usage_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_bytes(SEED.read_bytes())
    locked.chmod(0)
    result = runner.invoke(app, ["push", str(locked), "--server", BASE])
    assert result.exit_code == ExitCode.USAGE
    assert f"error: {locked}: cannot be read" in flat(result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token-file", "/no/such/token"], "cannot read the token file /no/such/token"),
        (["--user", "alice", "--password-file", "/no/such/pw"], "cannot read the password file /no/such/pw"),
        (["--user", "alice"], "--user needs a password: set FHIR_ADAPTER_PASSWORD or give --password-file"),
        (["--smart-client-id", "c", "--smart-key", "/no/such/key"], "cannot read the SMART private key file"),
    ],
)
@responses.activate
def test_a_credential_that_cannot_be_read_is_a_usage_error_before_any_request(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FHIR_ADAPTER_PASSWORD", raising=False)
    monkeypatch.delenv("FHIR_ADAPTER_TOKEN", raising=False)
    for command in (["push", str(SEED)], ["pull", "-o", str(tmp_path / "o")]):
        result = runner.invoke(app, [*command, "--server", BASE, *args])
        assert result.exit_code == ExitCode.USAGE, result.stderr
        assert message in result.stderr and not responses.calls


def test_pull_into_an_existing_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_text("{}")
    result = runner.invoke(app, ["pull", "--server", BASE, "-o", str(target)])
    assert result.exit_code == ExitCode.USAGE
    assert "Traceback" not in result.output + result.stderr


@pytest.fixture
def resetting_server() -> Iterator[int]:
    """A TCP server that resets every connection at once: a TLS handshake to it breaks."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            conn.recv(16)  # the client's hello: the TCP connection is made, the handshake has begun
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def test_a_broken_tls_handshake_fails_at_once_without_retries(resetting_server: int, tmp_path: Path) -> None:
    started = time.monotonic()
    url = f"https://127.0.0.1:{resetting_server}/fhir"
    result = runner.invoke(app, ["pull", "--server", url, "-o", str(tmp_path / "o")])
    assert time.monotonic() - started < 5  # it was 17 s of retries
    assert result.exit_code == ExitCode.FAILED
    assert "TLS handshake failed" in result.stderr and "(not retried)" in result.stderr


# ---------------------------------------------------------------------------------------------- items 6, 7: search


@responses.activate
def test_a_stock_r4_server_gets_no_condition_or_phase_and_they_are_checked_here(tmp_path: Path) -> None:
    bundles = r4_bundles()
    responses.get(f"{BASE}/metadata", json=capability("4.0.1", CORE_R4_PARAMS))
    responses.get(f"{BASE}/ResearchStudy", json=searchset(list(bundles.values())))
    out = tmp_path / "melanoma"
    result = runner.invoke(app, ["pull", "--server", BASE, "--condition", "melanoma", "--phase", "2", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert pulled(out) == {"NCT07236528"}  # Mucosal Melanoma, phase 2
    (query,) = search_calls()
    assert not {"condition", "condition:text", "phase"} & set(query)
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 2 and all("checked here" in n and "servers/search-parameters-r4.json" in n for n in notes)


@responses.activate
def test_a_server_offering_condition_and_phase_searches_them(tmp_path: Path) -> None:
    responses.get(f"{BASE}/metadata", json=capability("4.0.1", [*CORE_R4_PARAMS, "condition", "phase"]))
    responses.get(f"{BASE}/ResearchStudy", json=searchset([r4_bundles()["NCT07236528"]]))
    result = runner.invoke(
        app, ["pull", "--server", BASE, "--condition", "melanoma", "--phase", "II", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.stderr
    (query,) = search_calls()
    assert query["condition:text"] == ["melanoma"] and query["phase"] == ["phase-2"]
    assert "note:" not in result.stderr


@pytest.mark.parametrize("word", ["recruiting", "RECRUITING", "Recruiting"])
@responses.activate
def test_status_words_are_mapped_to_r4_codes_and_narrowed_by_the_registry_status(word: str, tmp_path: Path) -> None:
    """The server's status=active match is narrowed here: a NOT_YET_RECRUITING study (R4 approved) and a study whose
    R4 status is the stand-in for a missing registry status (seed 001: closed-to-accrual, flagged) are not kept."""
    from fhir_adapter import read_trials, to_bundle

    bundles = r4_bundles()
    recruiting = next(read_trials(REPO / "tests/data/ctgov-v2/NCT02552212.json"))
    recruiting.overall_status = "RECRUITING"
    found = [bundles["NCT07586904"], bundles["NCT07236528"], to_bundle(recruiting, "R4")]
    responses.get(f"{BASE}/metadata", json=capability("4.0.1", CORE_R4_PARAMS))
    responses.get(f"{BASE}/ResearchStudy", json=searchset(found))
    out = tmp_path / "o"
    result = runner.invoke(app, ["pull", "--server", BASE, "--status", word, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert search_calls()[0]["status"] == ["active"]  # R4's code for recruiting
    assert pulled(out) == {"NCT02552212"}


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("2", "phase-2"),
        ("phase 2", "phase-2"),
        ("phase2", "phase-2"),
        ("Phase 2", "phase-2"),
        ("PHASE2", "phase-2"),
        ("phase-2", "phase-2"),
        ("II", "phase-2"),
        ("ii", "phase-2"),
        ("1/2", "phase-1-phase-2"),
        ("I/II", "phase-1-phase-2"),
        ("Phase 2/Phase 3", "phase-2-phase-3"),
        ("early 1", "early-phase-1"),
        ("0", "early-phase-1"),
        ("NA", "n-a"),
        ("IV", "phase-4"),
    ],
)
def test_phase_words(word: str, code: str) -> None:
    assert phase_code(word, FhirRelease.R4) == code
    assert phase_code(word, FhirRelease.R5) == code


@pytest.mark.parametrize(("option", "word"), [("--phase", "7"), ("--phase", "two"), ("--status", "open-ish")])
def test_a_word_that_names_nothing_is_a_usage_error_before_any_request(option: str, word: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["pull", "--server", BASE, option, word, "-o", str(tmp_path / "o")])
    assert result.exit_code == ExitCode.USAGE
    assert "names no" in flat(result.stderr)


def test_search_params_of_a_query_on_r5_and_r4() -> None:
    query = SearchQuery(status="recruiting", phase="2", condition="melanoma")
    (r5,) = search_params(query, "R5")
    assert r5["phase"] == "phase-2" and r5["condition:text"] == "melanoma" and "status" not in r5
    (r4,) = search_params(query, "R4", frozenset(CORE_R4_PARAMS))
    assert r4["status"] == "active" and "phase" not in r4 and "condition:text" not in r4
    plan = plan_search(condition=None, status="closed-to-accrual", phase=None, release=FhirRelease.R4, offered=None)
    assert plan.params == {"status": "closed-to-accrual"}
    assert [f.what for f in plan.filters] == ["a status of the study's own (not a stand-in)"]
    with pytest.raises(SearchWordError):
        plan_search(condition=None, status="nonsense", phase=None, release=FhirRelease.R5, offered=None)


@responses.activate
def test_an_empty_search_warns_on_stderr_and_exits_3(tmp_path: Path) -> None:
    responses.get(f"{BASE}/metadata", json=capability("4.0.1", CORE_R4_PARAMS))
    responses.get(f"{BASE}/ResearchStudy", json=searchset([r4_bundles()["NCT00763412"]]))
    result = runner.invoke(app, ["pull", "--server", BASE, "--phase", "phase 2", "-o", str(tmp_path / "o")])
    assert result.exit_code == ExitCode.NO_INPUT  # as fetch: a search that found nothing
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "no study matched (1 returned by the server, none kept by the checks made here)" in warning
    assert "phase phase-2 (checked here)" in warning
    assert result.stdout.splitlines()[-1].startswith("0 studies pulled")


# ---------------------------------------------------------------------------------------------- item 10: the CLI


@responses.activate
def test_the_server_comes_from_fhir_adapter_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FHIR_ADAPTER_SERVER", BASE)
    responses.get(f"{BASE}/metadata", json=capability("5.0.0"))
    responses.get(f"{BASE}/ResearchStudy", json=searchset([r4_bundles()["NCT00763412"]]))
    result = runner.invoke(app, ["pull", "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("command", ["push", "pull"])
def test_help_groups_the_options_names_the_environment_and_shows_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0
    text = result.stdout
    for panel in ("Server", "Authentication", "TLS", "Output"):
        assert panel in text
    assert "Search" in text if command == "pull" else "Push" in text
    for name in ("FHIR_ADAPTER_SERVER", "FHIR_ADAPTER_TOKEN", "FHIR_ADAPTER_PASSWORD", "REQUESTS_CA_BUNDLE"):
        assert name in text
    assert f"Example: fhir-adapter {command} " in text


@responses.activate
def test_push_and_pull_print_their_throughput_on_stderr(tmp_path: Path) -> None:
    responses.get(f"{BASE}/metadata", json=capability("4.0.1", CORE_R4_PARAMS))
    responses.post(BASE, json={"resourceType": "Bundle", "type": "transaction-response", "entry": []})
    responses.get(f"{BASE}/ResearchStudy", json=searchset(list(r4_bundles().values())))
    pushed = runner.invoke(app, ["push", str(SEED), "--server", BASE])
    assert pushed.exit_code == 0, pushed.stderr
    assert any(line.startswith("push: 1 trials in ") and "trials/s)" in line for line in pushed.stderr.splitlines())
    assert "push:" not in pushed.stdout  # the per-trial lines stay on stdout, apart
    result = runner.invoke(app, ["pull", "--server", BASE, "-o", str(tmp_path / "o")])
    assert any(line.startswith("pull: 6 trials in ") for line in result.stderr.splitlines()), result.stderr


def test_throughput_prints_a_progress_line_every_interval(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    progress = Throughput("push", every=10, clock=lambda: now[0])
    for _ in range(30):
        now[0] += 1
        progress.add()
    progress.finish()
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "push: 10 trials so far, 1.0 trials/s",
        "push: 20 trials so far, 1.0 trials/s",
        "push: 30 trials so far, 1.0 trials/s",
        "push: 30 trials in 30.0 s (1.0 trials/s)",
    ]


@responses.activate
def test_the_client_takes_the_servers_release_and_keeps_what_it_offers() -> None:
    responses.get(f"{BASE}/metadata", json=capability("4.0.1", CORE_R4_PARAMS))
    with FhirClient(BASE) as c:
        before = c.fhir_version
        c.check_version()
        assert (before, c.fhir_version) == (FhirRelease.R5, FhirRelease.R4)  # R5 until the server has said
        assert c.search_parameters("ResearchStudy") == frozenset(CORE_R4_PARAMS)
        assert c.search_parameters("Patient") is None


def r5_bundles() -> dict[str, dict[str, Any]]:
    golden = REPO / "tests/data/golden"
    return {p.name.split(".")[0]: orjson.loads(p.read_bytes()) for p in sorted(golden.glob("NCT*.bundle.json"))}


@pytest.mark.parametrize(
    ("release", "word", "expected"),
    [
        ("R5", "not yet recruiting", {"NCT07236528"}),
        ("R5", "NOT_YET_RECRUITING", {"NCT07236528"}),
        ("R5", "not-yet-recruiting", {"NCT07236528"}),
        ("R5", "active, not recruiting", {"NCT02513394"}),
        ("R5", "completed", {"NCT00763412", "NCT02210780", "NCT02552212"}),
        ("R4", "active, not recruiting", {"NCT02513394"}),
        ("R4", "closed-to-accrual", {"NCT02513394"}),
        ("R4", "Not yet recruiting", {"NCT07236528"}),
    ],
)
@responses.activate
def test_status_words_on_both_releases(release: str, word: str, expected: set[str], tmp_path: Path) -> None:
    """On R5 the state is checked here (R5 has no search parameter on progressStatus); on R4 the server searches
    the R4 code, narrowed here by the ClinicalTrials.gov status the studies carry."""
    bundles = r5_bundles() if release == "R5" else r4_bundles()
    responses.get(f"{BASE}/metadata", json=capability("5.0.0" if release == "R5" else "4.0.1"))

    def search(request: Any) -> tuple[int, dict[str, str], bytes]:  # a server that honours R4's status parameter
        status = parse_qs(urlsplit(str(request.url)).query).get("status")
        found = [b for b in bundles.values() if not status or b["entry"][0]["resource"].get("status") in status]
        return 200, {}, orjson.dumps(searchset(found))

    responses.add_callback(responses.GET, f"{BASE}/ResearchStudy", callback=search)
    out = tmp_path / "o"
    result = runner.invoke(app, ["pull", "--server", BASE, "--status", word, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert pulled(out) == expected
    (query,) = search_calls()
    assert "status" not in query if release == "R5" else query["status"][0] in ("closed-to-accrual", "approved")
