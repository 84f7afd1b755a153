"""``fhir-adapter fetch`` and the ClinicalTrials.gov API v2 client, offline.

Most tests mock the API with ``responses`` on real payload shapes (the v2 fixtures; a search page is
``{"studies": [...], "nextPageToken": ...}``). ``responses`` replaces ``HTTPAdapter.send``: it replays urllib3's
``Retry`` for status codes (so call counts are real) but never sleeps and never retries an exception it raises.
The tests that must see urllib3 itself at work (Retry-After and backoff sleeps, retried timeouts and connection
resets) therefore talk to a scripted HTTP server on 127.0.0.1, with urllib3's sleep replaced by a recorder.
"""

from __future__ import annotations

import json
import socket
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from responses import matchers
from typer.testing import CliRunner

import scripted_http
from conftest import V2_FIXTURES
from fhir_adapter import __version__
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode, FhirAdapterError
from fhir_adapter.sources.ctgov_api import (
    DEFAULT_BASE_URL,
    ENV_BASE_URL,
    CtgovApiError,
    CtgovClient,
    StudyNotFound,
    normalize_statuses,
)
from scripted_http import ScriptedServer

BASE = DEFAULT_BASE_URL
STUDIES = {p.stem: p.read_bytes() for p in V2_FIXTURES}
IDS = sorted(STUDIES)  # NCT00763412, NCT02210780, NCT02513394, NCT02552212
ONE = "NCT02513394"
UNKNOWN = "NCT09999999"
NOT_FOUND_BODY = f"Study not found: {UNKNOWN}"  # the shape of the API's 404 answer (text/plain)

runner = CliRunner()


def run(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["fetch", *(str(a) for a in args)])


def study(nct_id: str) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(STUDIES[nct_id])
    return parsed


def page(ids: list[str], token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"studies": [study(i) for i in ids]}
    if token is not None:
        body["nextPageToken"] = token
    return body


def add_study(nct_id: str, base: str = BASE) -> None:
    responses.get(f"{base}/studies/{nct_id}", body=STUDIES[nct_id], content_type="application/json")


def expected_raw(nct_id: str) -> bytes:
    return orjson.dumps(study(nct_id), option=orjson.OPT_INDENT_2) + b"\n"


@pytest.fixture(autouse=True)
def _default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_BASE_URL, raising=False)


# --------------------------------------------------------------------------------------------- by NCT id


@responses.activate
def test_fetch_one_study_saves_the_raw_json(tmp_path: Path) -> None:
    add_study(ONE)
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.OK, result.output
    raw = tmp_path / "raw" / f"{ONE}.json"
    assert raw.read_bytes() == expected_raw(ONE)  # the API's document, re-serialised (orjson, indent 2)
    assert json.loads(raw.read_bytes()) == json.loads(STUDIES[ONE])
    assert f"fetched {ONE} -> {raw}" in result.stdout
    assert "1 fetched, 0 failed" in result.stdout
    assert [p.name for p in (tmp_path / "raw").iterdir()] == [f"{ONE}.json"]  # no temporary file left
    request = responses.calls[0].request
    assert request.headers["User-Agent"] == f"fhir-adapter/{__version__} (+https://fhir-adapter.dev)"
    assert request.params == {"format": "json"}  # type: ignore[attr-defined]
    assert request.req_kwargs["timeout"] == (10.0, 60.0)  # type: ignore[attr-defined]
    verify = request.req_kwargs["verify"]  # type: ignore[attr-defined]
    assert verify is True or (isinstance(verify, str) and verify)  # TLS verified (a CA bundle path counts)


@responses.activate
def test_a_symlink_planted_in_the_raw_folder_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_bytes(b"keep me")
    (tmp_path / "out" / "raw").mkdir(parents=True)
    (tmp_path / "out" / "raw" / f"{ONE}.json").symlink_to(outside)
    add_study(ONE)
    result = run(ONE, "-o", tmp_path / "out")
    assert result.exit_code == ExitCode.OK, result.output
    assert outside.read_bytes() == b"keep me"
    raw = tmp_path / "out" / "raw" / f"{ONE}.json"
    assert not raw.is_symlink() and raw.read_bytes() == expected_raw(ONE)


@responses.activate
def test_a_study_id_from_the_api_never_names_a_path(tmp_path: Path) -> None:
    """A search answer is untrusted too: a study whose id is ``../../x`` is reported, never saved by that name."""
    hostile = orjson.loads(STUDIES[ONE])
    hostile["protocolSection"]["identificationModule"]["nctId"] = "../../escaped"
    responses.get(f"{BASE}/studies", json={"studies": [hostile, study(IDS[0])]})
    result = run("--query", "x", "-o", tmp_path / "out")
    assert result.exit_code == ExitCode.FAILED
    assert "FAILED search result #0" in result.stderr
    assert not (tmp_path / "escaped.json").exists() and not (tmp_path.parent / "escaped.json").exists()
    assert [p.name for p in (tmp_path / "out" / "raw").iterdir()] == [f"{IDS[0]}.json"]


@responses.activate
def test_unknown_id_is_one_clear_line_and_the_others_are_fetched(tmp_path: Path) -> None:
    add_study(IDS[0])
    responses.get(f"{BASE}/studies/{UNKNOWN}", status=404, body=NOT_FOUND_BODY, content_type="text/plain")
    add_study(IDS[1])
    result = run(IDS[0], UNKNOWN, IDS[1], "-o", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.strip() == f"FAILED {UNKNOWN}: not found on ClinicalTrials.gov"
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [f"{IDS[0]}.json", f"{IDS[1]}.json"]
    assert "2 fetched, 1 failed" in result.stdout
    assert len(responses.calls) == 3  # a 404 is not retried


@responses.activate
def test_library_raises_study_not_found_naming_the_id() -> None:
    responses.get(f"{BASE}/studies/{UNKNOWN}", status=404, body=NOT_FOUND_BODY)
    with CtgovClient() as api, pytest.raises(StudyNotFound) as e:
        api.get_study(UNKNOWN)
    assert isinstance(e.value, CtgovApiError) and isinstance(e.value, FhirAdapterError)
    assert e.value.nct_id == UNKNOWN and e.value.status == 404
    assert str(e.value) == f"{UNKNOWN}: not found on ClinicalTrials.gov"


@responses.activate
def test_a_bad_nct_id_is_a_usage_error_before_any_request(tmp_path: Path) -> None:
    """A bad NCT id is exit 2 in every command (issue 12): one line per bad id, nothing fetched."""
    add_study(ONE)
    result = run("NCT123", "12345678", ONE.lower(), "-o", tmp_path)
    assert result.exit_code == ExitCode.USAGE
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("error: 'NCT123' is not an NCT id") and "NCT followed by 8 digits" in lines[0]
    assert lines[1].startswith("error: '12345678' is not an NCT id")
    assert len(responses.calls) == 0 and result.stdout == "" and not (tmp_path / "raw").exists()
    assert run(ONE.lower(), "-o", tmp_path).exit_code == ExitCode.OK  # case and spaces are forgiven
    assert [c.request.url for c in responses.calls] == [f"{BASE}/studies/{ONE}?format=json"]
    with CtgovClient() as api, pytest.raises(ValueError, match="not an NCT id"):
        api.get_study("NCT0000000/../x")
    assert len(responses.calls) == 1


@pytest.mark.parametrize("url", ["clinicaltrials.gov/api/v2", "ftp://clinicaltrials.gov/api/v2", "https://"])
@responses.activate
def test_a_base_url_without_an_http_scheme_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv(ENV_BASE_URL, url)
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip() == (
        f"error: {ENV_BASE_URL}={url!r} is not an http:// or https:// URL (e.g. https://clinicaltrials.gov/api/v2)"
    )
    assert len(responses.calls) == 0 and "retr" not in result.output


@responses.activate
def test_a_search_that_finds_nothing_is_empty_input(tmp_path: Path) -> None:
    responses.get(f"{BASE}/studies", json={"studies": []})
    result = run("--query", "no such disease", "-o", tmp_path)
    assert result.exit_code == ExitCode.NO_INPUT
    assert "0 fetched, 0 failed" in result.stdout and "no study matched" in result.stderr


@responses.activate
def test_other_http_error_names_status_and_the_start_of_the_body(tmp_path: Path) -> None:
    body = "Bad request: " + "x" * 500
    responses.get(f"{BASE}/studies/{ONE}", status=400, body=body)
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    line = result.stderr.strip()
    assert line.startswith(f"FAILED {ONE}: {BASE}/studies/{ONE}: HTTP 400: Bad request: xxx")
    assert line.endswith(body[:200]) and body[:201] not in line
    assert "Traceback" not in result.output


@responses.activate
def test_non_json_answer_is_a_clear_error() -> None:
    responses.get(f"{BASE}/studies/{ONE}", body="<html>maintenance</html>", content_type="text/html")
    with CtgovClient() as api, pytest.raises(CtgovApiError, match="not JSON"):
        api.get_study(ONE)


def test_neither_ids_nor_search_is_a_usage_error(tmp_path: Path) -> None:
    result = run("-o", tmp_path)
    assert result.exit_code == ExitCode.USAGE
    assert "give NCT ids, or --query / --status / --updated-since" in result.output


def test_unknown_status_is_a_usage_error(tmp_path: Path) -> None:
    result = run("--status", "RECRUITNG", "-o", tmp_path)
    assert result.exit_code == ExitCode.USAGE
    assert "--status" in result.output and "RECRUITNG" in result.output


def test_statuses_are_checked_against_the_v2_enum() -> None:
    assert normalize_statuses(["recruiting", "Active, not recruiting", "COMPLETED"]) == [
        "RECRUITING",
        "ACTIVE_NOT_RECRUITING",
        "COMPLETED",
    ]
    with pytest.raises(ValueError, match="not an overall status"):
        normalize_statuses(["OPEN"])


# --------------------------------------------------------------------------------------------- search


def search_params(token: str | None = None) -> dict[str, str]:
    params = {
        "format": "json",
        "pageSize": "2",
        "query.term": "cystic fibrosis",
        "filter.overallStatus": "RECRUITING,ACTIVE_NOT_RECRUITING",
        "filter.advanced": "AREA[LastUpdatePostDate]RANGE[2024-01-31,MAX]",
    }
    if token is not None:
        params["pageToken"] = token
    return params


@responses.activate
def test_search_follows_page_tokens_and_saves_every_study(tmp_path: Path) -> None:
    url = f"{BASE}/studies"
    responses.get(url, json=page(IDS[:2], "tok-2"), match=[matchers.query_param_matcher(search_params())])
    responses.get(url, json=page(IDS[2:3], "tok-3"), match=[matchers.query_param_matcher(search_params("tok-2"))])
    responses.get(url, json=page(IDS[3:]), match=[matchers.query_param_matcher(search_params("tok-3"))])
    result = run(
        "--query",
        "cystic fibrosis",
        "--status",
        "RECRUITING",
        "--status",
        "Active, not recruiting",
        "--updated-since",
        "2024-01-31",
        "--page-size",
        "2",
        "-o",
        tmp_path,
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert len(responses.calls) == 3
    assert [c.request.params.get("pageToken") for c in responses.calls] == [None, "tok-2", "tok-3"]  # type: ignore[attr-defined]
    for nct_id in IDS:
        assert (tmp_path / "raw" / f"{nct_id}.json").read_bytes() == expected_raw(nct_id)
    assert [line.split()[1] for line in result.stdout.splitlines() if line.startswith("fetched")] == IDS
    assert "4 fetched, 0 failed" in result.stdout


@responses.activate
def test_search_streams_one_page_at_a_time() -> None:
    url = f"{BASE}/studies"
    first = {"format": "json", "pageSize": "1000", "query.term": "asthma"}
    responses.get(url, json=page(IDS[:2], "tok-2"), match=[matchers.query_param_matcher(first)])
    responses.get(url, json=page(IDS[2:]), match=[matchers.query_param_matcher({**first, "pageToken": "tok-2"})])
    with CtgovClient() as api:
        studies = api.search("asthma")
        assert len(responses.calls) == 0  # nothing is asked before the first study is wanted
        assert next(studies)["protocolSection"]["identificationModule"]["nctId"] == IDS[0]
        next(studies)
        assert len(responses.calls) == 1  # page 2 only once page 1 is used up
        assert [s["protocolSection"]["identificationModule"]["nctId"] for s in studies] == IDS[2:]
    assert len(responses.calls) == 2


def register_repeating_token() -> None:
    url = f"{BASE}/studies"
    first = {"format": "json", "pageSize": "1000", "filter.overallStatus": "RECRUITING"}
    responses.get(url, json=page(IDS[:1], "same"), match=[matchers.query_param_matcher(first)])
    again = {**first, "pageToken": "same"}
    responses.get(url, json=page(IDS[1:2], "same"), match=[matchers.query_param_matcher(again)])


@responses.activate
def test_repeated_page_token_is_an_error() -> None:
    register_repeating_token()
    with CtgovClient() as api, pytest.raises(CtgovApiError, match="repeats the page token 'same'"):
        list(api.search(None, ["RECRUITING"]))
    assert len(responses.calls) == 2


@responses.activate
def test_repeated_page_token_in_the_cli_keeps_what_was_fetched(tmp_path: Path) -> None:
    register_repeating_token()
    result = run("--status", "RECRUITING", "-o", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.startswith("FAILED search (after 2 studies): ") and "repeats the page token" in result.stderr
    assert {p.name for p in (tmp_path / "raw").iterdir()} == {f"{IDS[0]}.json", f"{IDS[1]}.json"}
    assert "Traceback" not in result.output


def test_search_arguments_are_checked_before_any_request() -> None:
    with CtgovClient("http://127.0.0.1:9") as api:
        with pytest.raises(ValueError, match="page_size"):
            next(api.search("x", page_size=1001))
        with pytest.raises(ValueError, match="not an overall status"):
            next(api.search(None, ["OPEN"], date(2024, 1, 1)))


# --------------------------------------------------------------------------------------------- retries (responses)


@responses.activate
def test_429_with_retry_after_then_200(tmp_path: Path) -> None:
    responses.get(f"{BASE}/studies/{ONE}", status=429, headers={"Retry-After": "1"}, body="slow down")
    add_study(ONE)
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.OK, result.output
    assert len(responses.calls) == 2
    assert (tmp_path / "raw" / f"{ONE}.json").exists()


@responses.activate
def test_503_twice_then_200(tmp_path: Path) -> None:
    responses.get(f"{BASE}/studies/{ONE}", status=503)
    responses.get(f"{BASE}/studies/{ONE}", status=503)
    add_study(ONE)
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.OK, result.output
    assert len(responses.calls) == 3


@responses.activate
def test_503_for_good_is_retried_five_times_then_a_clear_error(tmp_path: Path) -> None:
    responses.get(f"{BASE}/studies/{ONE}", status=503, body="Service Unavailable")
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    assert len(responses.calls) == 6  # the first try and 5 retries
    assert result.stderr.strip() == f"FAILED {ONE}: {BASE}/studies/{ONE}: HTTP 503: Service Unavailable"


@pytest.mark.parametrize("error", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
@responses.activate
def test_timeout_is_a_clear_error(tmp_path: Path, error: type[Exception]) -> None:
    responses.get(f"{BASE}/studies/{UNKNOWN}", body=error("timed out"))
    add_study(ONE)
    result = run(UNKNOWN, ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    # responses raises the timeout itself, past urllib3's retries: the message must not claim retries
    assert result.stderr.startswith(f"FAILED {UNKNOWN}: {BASE}/studies/{UNKNOWN}: timed out (not retried)")
    assert "Traceback" not in result.output
    assert (tmp_path / "raw" / f"{ONE}.json").exists()  # the rest goes on


@responses.activate
def test_connection_reset_is_a_clear_error(tmp_path: Path) -> None:
    reset = requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    responses.get(f"{BASE}/studies/{ONE}", body=reset)
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.strip() == (
        f"FAILED {ONE}: {BASE}/studies/{ONE}: could not reach ClinicalTrials.gov "
        "(not retried): ConnectionResetError: [Errno 104] Connection reset by peer"
    )


# --------------------------------------------------------------------------------------------- retries (urllib3 itself)


def serve(*script: tuple[Any, ...]) -> AbstractContextManager[ScriptedServer]:
    return scripted_http.serve(*script, base_path="/api/v2")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """urllib3's sleeps between retries, recorded instead of slept."""
    return scripted_http.recorded_sleeps(monkeypatch)


def ok(nct_id: str) -> tuple[Any, ...]:
    return ("status", 200, {"Content-Type": "application/json"}, STUDIES[nct_id])


def test_retry_after_is_honoured(sleeps: list[float], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(("status", 429, {"Retry-After": "1"}, b"slow down"), ok(ONE)) as server:
        monkeypatch.setenv(ENV_BASE_URL, server.base)
        result = run(ONE, "-o", tmp_path)
        assert result.exit_code == ExitCode.OK, result.output
        assert server.paths == [f"/api/v2/studies/{ONE}?format=json"] * 2
    assert sleeps == [1]  # what the server asked for, not the backoff (which is 0 before the first retry)
    assert (tmp_path / "raw" / f"{ONE}.json").read_bytes() == expected_raw(ONE)


def test_5xx_backs_off_exponentially(sleeps: list[float]) -> None:
    with serve(("status", 503, {}, b""), ("status", 502, {}, b""), ("status", 500, {}, b""), ok(ONE)) as server:
        with CtgovClient(server.base) as api:
            assert api.get_study(ONE) == study(ONE)
        assert len(server.paths) == 4
    assert sleeps == [1.0, 2.0]  # backoff_factor 0.5: 0 s, 1 s, 2 s, (4 s, 8 s)


def test_read_timeout_is_retried_then_a_clear_error(sleeps: list[float]) -> None:
    with serve(("hang", 5.0)) as server:
        with CtgovClient(server.base, read_timeout=0.2) as api, pytest.raises(CtgovApiError) as e:
            api.get_study(ONE)
        assert len(server.paths) == 6  # the first try and 5 retries
    assert str(e.value) == (
        f"{server.base}/studies/{ONE}: timed out after 5 retries (connect 10 s, read 0.2 s): "
        "ReadTimeoutError: Read timed out. (read timeout=0.2)"
    )
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_read_timeout_then_success(sleeps: list[float]) -> None:
    with serve(("hang", 5.0), ok(ONE)) as server:
        with CtgovClient(server.base, read_timeout=0.2) as api:
            assert api.get_study(ONE) == study(ONE)
        assert len(server.paths) == 2


def test_connection_reset_is_retried_then_a_clear_error(
    sleeps: list[float], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(("reset",)) as server:
        monkeypatch.setenv(ENV_BASE_URL, server.base)
        result = run(ONE, "-o", tmp_path)
        assert len(server.paths) == 6
    assert result.exit_code == ExitCode.FAILED
    line = result.stderr.strip()
    assert line.startswith(
        f"FAILED {ONE}: {server.base}/studies/{ONE}: could not reach ClinicalTrials.gov after 5 retries: "
    )
    assert "\n" not in line and "Traceback" not in result.output


def test_connection_reset_then_success(sleeps: list[float]) -> None:
    with serve(("reset",), ("reset",), ok(ONE)) as server:
        with CtgovClient(server.base) as api:
            assert api.get_study(ONE) == study(ONE)
        assert len(server.paths) == 3


def test_connection_refused_is_retried_then_a_clear_error(sleeps: list[float]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with CtgovClient(f"http://127.0.0.1:{port}/api/v2") as api, pytest.raises(CtgovApiError) as e:
        api.get_study(ONE)
    assert str(e.value).endswith(
        "could not reach ClinicalTrials.gov after 5 retries: NewConnectionError: Failed to "
        "establish a new connection: [Errno 111] Connection refused"
    )
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


# --------------------------------------------------------------------------------------------- configuration


@responses.activate
def test_base_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = "https://ctgov-mirror.example.org/api/v2"
    monkeypatch.setenv(ENV_BASE_URL, mirror + "/")
    add_study(ONE, base=mirror)
    result = run(ONE, "-o", tmp_path)
    assert result.exit_code == ExitCode.OK, result.output
    assert responses.calls[0].request.url == f"{mirror}/studies/{ONE}?format=json"
    assert CtgovClient().base_url == mirror
    assert CtgovClient("https://other.example/v2").base_url == "https://other.example/v2"  # the argument wins


def test_client_configuration() -> None:
    api = CtgovClient(connect_timeout=3, read_timeout=7)
    assert api.base_url == DEFAULT_BASE_URL and api.timeout == (3, 7)
    adapter = api.session.get_adapter(DEFAULT_BASE_URL)
    assert isinstance(adapter, HTTPAdapter) and adapter.max_retries is api.retry
    retry = api.retry
    assert retry.total == 5 and retry.backoff_factor == 0.5 and retry.respect_retry_after_header
    assert set(retry.status_forcelist or ()) == {429, 500, 502, 503, 504}
    assert retry.allowed_methods == frozenset({"GET"})
    assert api.session.verify is True


# --------------------------------------------------------------------------------------------- --convert


@responses.activate
def test_convert_writes_a_bundle_per_study(tmp_path: Path) -> None:
    for nct_id in IDS[:2]:
        add_study(nct_id)
    result = run(*IDS[:2], "-o", tmp_path, "--convert")
    assert result.exit_code == ExitCode.OK, result.output
    for nct_id in IDS[:2]:
        bundle = json.loads((tmp_path / f"{nct_id}.json").read_bytes())
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
        study_resource = bundle["entry"][0]["resource"]
        assert study_resource["resourceType"] == "ResearchStudy"
        assert any(i.get("value") == nct_id for i in study_resource["identifier"])
        assert f"ok {nct_id} -> " in result.stdout
    assert "2 fetched, 0 failed" in result.stdout and "2 converted, 0 failed" in result.stdout


@responses.activate
def test_alias_id_is_saved_under_the_id_the_api_answers_with(tmp_path: Path) -> None:
    responses.get(f"{BASE}/studies/NCT00000001", body=STUDIES[ONE], content_type="application/json")
    result = run("NCT00000001", "-o", tmp_path)
    assert result.exit_code == ExitCode.OK, result.output
    assert f"warning: NCT00000001: ClinicalTrials.gov answered with {ONE}" in result.stderr
    assert (tmp_path / "raw" / f"{ONE}.json").read_bytes() == expected_raw(ONE)


@responses.activate
def test_search_result_without_an_nct_id_is_one_failed_line(tmp_path: Path) -> None:
    broken = {"protocolSection": {"identificationModule": {"nctId": "../../etc/passwd"}}}
    responses.get(f"{BASE}/studies", json={"studies": [broken, study(ONE)]})
    result = run("--query", "x", "-o", tmp_path)
    assert result.exit_code == ExitCode.FAILED
    assert result.stderr.strip() == "FAILED search result #0: no protocolSection.identificationModule.nctId"
    assert [p.name for p in (tmp_path / "raw").iterdir()] == [f"{ONE}.json"]


def test_ca_bundle_must_exist(tmp_path: Path) -> None:
    result = run(ONE, "-o", tmp_path, "--ca-bundle", tmp_path / "missing.pem")
    assert result.exit_code == ExitCode.USAGE and "--ca-bundle" in result.output


@responses.activate
def test_ca_bundle_reaches_every_request(tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n")  # never parsed: responses answers before any TLS
    add_study(ONE)
    assert run(ONE, "-o", tmp_path / "out", "--ca-bundle", pem).exit_code == ExitCode.OK
    assert responses.calls[0].request.req_kwargs["verify"] == str(pem)  # type: ignore[attr-defined]
