"""FhirClient, push and pull fault paths, offline with ``responses`` (and a scripted loopback server where urllib3's
own Retry-After sleeping must be seen; see tests/test_fetch.py for why). Real servers: tests/integration/."""

from __future__ import annotations

import logging
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jwt
import orjson
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from typer.testing import CliRunner

import scripted_http
from fhir_adapter.bundle import to_bundle
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode, FhirAuthError, FhirServerError, FhirVersionMismatch, PagingLoopError
from fhir_adapter.sinks.server import FhirClient, PushResult, SearchQuery, TrialBundle, pull, push_bundles
from fhir_adapter.sinks.server.auth import (
    ENV_PASSWORD,
    ENV_TOKEN,
    BasicAuth,
    BearerToken,
    SmartBackendAuth,
    credentials,
)
from fhir_adapter.sources import read_trials
from scripted_http import ScriptedServer

BASE = "http://fhir.test/fhir"
TOKEN = "s3cr3t-T0KEN-value-4242"
CS_R5 = {"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"}
CS_R4 = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}
SEEDS = sorted(Path(__file__).resolve().parents[1].joinpath("seeds").glob("*.txt"))
runner = CliRunner()


def trial_bundles() -> list[TrialBundle]:
    out = []
    for p in SEEDS:
        for t in read_trials(p):
            assert t.nct_id
            out.append(TrialBundle(t.nct_id, str(p), to_bundle(t)["entry"]))
    return out


def metadata(cs: dict[str, Any] = CS_R5) -> None:
    responses.get(f"{BASE}/metadata", json=cs)


def ok_reply(n: int, status: str = "201 Created") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": status}} for _ in range(n)],
    }


def outcome(*issues: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def client(**kw: Any) -> FhirClient:
    return FhirClient(BASE, **kw)


# ------------------------------------------------------------------------------------------------ retries


@responses.activate
def test_429_with_retry_after_then_success_is_retried() -> None:
    metadata()
    tb = trial_bundles()[:1]
    responses.post(BASE, status=429, headers={"Retry-After": "0"}, body="slow down")
    responses.post(BASE, json=ok_reply(len(tb[0].entries)))
    with client() as c:
        summary = push_bundles(c, tb)
    assert summary.failed == 0 and summary.created == len(tb[0].entries)
    assert [call.request.method for call in responses.calls] == ["GET", "POST", "POST"]


@responses.activate
def test_503_then_success_is_retried() -> None:
    responses.get(f"{BASE}/ResearchStudy/1", status=503)
    responses.get(f"{BASE}/ResearchStudy/1", status=503)
    responses.get(f"{BASE}/ResearchStudy/1", json={"resourceType": "ResearchStudy", "id": "1"})
    with client() as c:
        assert c.read("ResearchStudy", "1")["id"] == "1"
    assert len(responses.calls) == 3


@responses.activate
def test_503_for_good_is_a_clear_error_after_5_retries() -> None:
    responses.get(f"{BASE}/metadata", status=503, body="Service Unavailable")
    with client() as c, pytest.raises(FhirServerError) as e:
        c.check_version()
    assert len(responses.calls) == 6
    assert str(e.value) == f"GET {BASE}/metadata: HTTP 503: Service Unavailable (after 5 retries)"


@responses.activate
def test_a_non_idempotent_transaction_is_not_retried_on_503() -> None:
    responses.post(BASE, status=503, body="busy")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": {"resourceType": "Basic"}, "request": {"method": "POST", "url": "Basic"}}],
    }
    with client() as c, pytest.raises(FhirServerError, match="HTTP 503"):
        c.transaction(bundle)
    assert len(responses.calls) == 1


@pytest.mark.parametrize("error", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
@responses.activate
def test_timeout_is_a_clear_error(error: type[Exception]) -> None:
    # ``responses`` raises the error past urllib3's Retry: no retry is made, and the message says so
    responses.get(f"{BASE}/metadata", body=error("timed out"))
    with client() as c, pytest.raises(FhirServerError) as e:
        c.check_version()
    assert str(e.value).startswith(f"GET {BASE}/metadata: timed out (not retried) (connect 5 s, read 120 s)")


@responses.activate
def test_connection_reset_is_a_clear_error() -> None:
    reset = requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    responses.get(f"{BASE}/metadata", body=reset)
    with client() as c, pytest.raises(FhirServerError) as e:
        c.check_version()
    assert str(e.value) == (
        f"GET {BASE}/metadata: could not reach the FHIR server (not retried): "
        "ConnectionResetError: [Errno 104] Connection reset by peer"
    )


# urllib3 itself: Retry-After sleeps and retried connection resets, on a scripted loopback server


def serve(*script: tuple[Any, ...]) -> AbstractContextManager[ScriptedServer]:
    return scripted_http.serve(*script, base_path="/fhir")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return scripted_http.recorded_sleeps(monkeypatch)


CS_BYTES = orjson.dumps(CS_R5)


def test_retry_after_is_honoured_on_a_transaction_post(sleeps: list[float]) -> None:
    tb = trial_bundles()[:1]
    with (
        serve(
            ("s", 200, {}, CS_BYTES),
            ("s", 429, {"Retry-After": "3"}, b"slow down"),
            ("s", 200, {"Content-Type": "application/fhir+json"}, orjson.dumps(ok_reply(len(tb[0].entries)))),
        ) as server,
        FhirClient(server.base, backoff_jitter=0) as c,
    ):
        summary = push_bundles(c, tb)
        assert server.calls == ["GET /fhir/metadata", "POST /fhir", "POST /fhir"]
    assert summary.failed == 0
    assert sleeps == [3]  # what the server asked for


def test_backoff_is_exponential_with_jitter(sleeps: list[float]) -> None:
    with (
        serve(("s", 503, {}, b""), ("s", 502, {}, b""), ("s", 504, {}, b""), ("s", 200, {}, CS_BYTES)) as server,
        FhirClient(server.base) as c,
    ):
        assert c.check_version() == "5.0.0"
        assert len(server.calls) == 4
    assert len(sleeps) == 2  # urllib3: no sleep before the first retry, then 1 s, 2 s (+ up to 0.5 s jitter)
    assert 1.0 <= sleeps[0] <= 1.5 and 2.0 <= sleeps[1] <= 2.5


def test_connection_reset_then_success(sleeps: list[float]) -> None:
    with serve(("reset",), ("s", 200, {}, CS_BYTES)) as server, FhirClient(server.base) as c:
        assert c.check_version() == "5.0.0"
        assert len(server.calls) == 2
        assert c.breaker.retries == 1 and c.breaker.failures == 0  # the answer ended the run of failures


def test_resets_for_good_name_the_retries_really_made(sleeps: list[float]) -> None:
    with serve(("reset",)) as server, FhirClient(server.base) as c:
        with pytest.raises(FhirServerError) as e:
            c.check_version()
        assert len(server.calls) == 6
        assert "could not reach the FHIR server after 5 retries: " in str(e.value)
        with pytest.raises(FhirServerError) as e:
            c.read("ResearchStudy", "1")
        assert len(server.calls) == 8  # the circuit breaker opened at the 8th failure in a row
        assert "gave up after 1 retry: circuit breaker open: 8 transport failures in a row" in str(e.value)
        with pytest.raises(FhirServerError, match="not sent: circuit breaker open"):
            c.read("ResearchStudy", "1")
        assert len(server.calls) == 8


# ------------------------------------------------------------------------------------------------ server errors


@responses.activate
def test_400_operation_outcome_names_the_trial_and_the_entry() -> None:
    metadata()
    tbs = trial_bundles()
    assert len(tbs) == 2
    first = len(tbs[0].entries)
    bad = first + 1  # the second entry of the second trial, as the server counts in the chunk
    responses.post(
        BASE,
        status=400,
        json=outcome(
            {
                "severity": "error",
                "code": "structure",
                "diagnostics": "Missing required property",
                "expression": [f"Bundle.entry[{bad}].resource.status"],
            }
        ),
    )
    results: list[PushResult] = []
    with client() as c:
        summary = push_bundles(c, tbs, batch_size=2, on_result=results.append)
    assert summary.failed == 2  # a transaction is atomic: both trials of the chunk failed
    [issue] = results[0].issues
    assert issue.nct_id == tbs[1].nct_id and issue.entry == 1
    assert str(issue).startswith(f"{tbs[1].nct_id} entry[1] PUT ")
    assert "Missing required property at Bundle.entry" in str(issue)


@responses.activate
def test_a_failed_chunk_does_not_stop_the_others_and_the_exit_code_says_so(tmp_path: Path) -> None:
    metadata()
    tbs = trial_bundles()
    responses.post(
        BASE,
        status=412,
        json=outcome({"severity": "error", "code": "conflict", "diagnostics": "Precondition failed: multiple matches"}),
    )
    responses.post(BASE, json=ok_reply(len(tbs[1].entries)))
    result = runner.invoke(app, ["push", *map(str, SEEDS), "--server", BASE])
    assert result.exit_code == ExitCode.FAILED
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 2
    assert f"FAILED {tbs[0].nct_id}: error: HTTP 412: [conflict] Precondition failed: multiple matches" in result.stderr
    assert f"ok {tbs[1].nct_id}" in result.stdout
    assert "1 trials pushed, 1 failed" in result.stdout


@responses.activate
def test_batch_mode_reports_each_failed_entry_and_keeps_the_others() -> None:
    metadata()
    tb = trial_bundles()[1]
    n = len(tb.entries)
    # first batch: every entry but the ResearchStudy (which references conditionally written ones), then the study
    first: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [{"response": {"status": "201 Created", "location": f"X/{i}"}} for i in range(n - 1)],
    }
    first["entry"][0] = {
        "response": {
            "status": "400",
            "outcome": outcome({"severity": "error", "code": "invalid", "diagnostics": "bad value"}),
        }
    }
    responses.post(BASE, json=first)
    with client() as c:
        results: list[PushResult] = []
        summary = push_bundles(c, [tb], mode="batch", on_result=results.append)
    assert summary.failed == 1
    messages = [str(i) for i in results[0].issues]
    assert messages[0].startswith(f"{tb.nct_id} entry[1] PUT ") and "[invalid] bad value" in messages[0]
    assert any("not sent: an entry it references failed" in m for m in messages)
    # not written: the failed entry, the ResearchStudy and the Provenance (both reference the failed entry)
    assert results[0].resources == n - 3


@responses.activate
def test_412_is_a_clear_error() -> None:
    responses.put(
        f"{BASE}/ResearchStudy/1",
        status=412,
        json=outcome({"severity": "error", "code": "conflict", "diagnostics": "version conflict"}),
    )
    with client() as c, pytest.raises(FhirServerError) as e:
        c.request("PUT", "ResearchStudy/1", body={"resourceType": "ResearchStudy", "id": "1"})
    assert e.value.status == 412
    assert str(e.value) == f"PUT {BASE}/ResearchStudy/1: HTTP 412: [conflict] version conflict"
    assert len(responses.calls) == 1


@responses.activate
def test_malformed_json_reply_is_a_clear_error() -> None:
    responses.get(f"{BASE}/metadata", body='{"resourceType": "Capab', content_type="application/fhir+json")
    with client() as c, pytest.raises(FhirServerError, match=r"HTTP 200 but the reply is not JSON"):
        c.check_version()


@responses.activate
def test_a_next_link_that_loops_is_an_error(tmp_path: Path) -> None:
    metadata()
    page2 = f"{BASE}/ResearchStudy?_getpages=abc&_offset=100"
    responses.get(
        f"{BASE}/ResearchStudy",
        match=[responses.matchers.query_param_matcher({"_count": "100", "_include": "*"})],
        json={"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next", "url": page2}], "entry": []},
    )
    responses.get(
        page2,
        json={"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next", "url": page2}], "entry": []},
    )
    with client() as c, pytest.raises(PagingLoopError, match="links back to a page already read"):
        pull(c, tmp_path, SearchQuery())
    assert len(responses.calls) == 3


@pytest.mark.parametrize(
    ("cs", "asked", "message"),
    [
        (CS_R4, "R5", "speaks FHIR 4.0.1 (R4), not R5 (5.0.x): use --fhir-version R4"),
        (CS_R5, "R4", "speaks FHIR 5.0.0 (R5), not R4 (4.0.x): use --fhir-version R5"),
        (
            {"resourceType": "CapabilityStatement", "fhirVersion": "4.3.0"},
            "R4",
            "speaks FHIR 4.3.0, not R4 (4.0.x): fhir-adapter speaks R4 (4.0.x) and R5 (5.0.x)",
        ),
    ],
)
@responses.activate
def test_fhir_version_mismatch_is_refused_before_any_write(cs: dict[str, Any], asked: str, message: str) -> None:
    metadata(cs)
    with client(fhir_version=asked) as c, pytest.raises(FhirVersionMismatch) as e:
        c.check_version()
    assert str(e.value) == f"{BASE} {message}"
    with client(fhir_version=asked) as c:
        summary = push_bundles(c, trial_bundles())
    assert summary.stopped == f"{BASE} {message}"
    assert summary.pushed == summary.failed == 0 and summary.not_attempted == [t.nct_id for t in trial_bundles()]
    assert [call.request.method for call in responses.calls] == ["GET", "GET"]


@responses.activate
def test_version_mismatch_in_the_cli_is_one_line_and_the_trials_are_not_attempted() -> None:
    metadata(CS_R4)
    result = runner.invoke(app, ["push", str(SEEDS[0]), "--server", BASE, "--fhir-version", "R5"])
    assert result.exit_code == ExitCode.FAILED
    nct = trial_bundles()[0].nct_id
    assert result.stderr.splitlines() == [
        f"error: push stopped: {BASE} speaks FHIR 4.0.1 (R4), not R5 (5.0.x): use --fhir-version R4",
        f"NOT ATTEMPTED {nct}: the push stopped before it was sent",
    ]
    assert result.stdout.splitlines()[-1].startswith("0 trials pushed, 0 failed, 1 not attempted;")


# ------------------------------------------------------------------------------------------------ auth


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_401_403_are_clear_not_retried_and_never_show_the_token(
    status: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    responses.get(
        f"{BASE}/metadata",
        status=status,
        json=outcome({"severity": "error", "code": "login", "diagnostics": f"invalid token {TOKEN}"}),
    )
    c = FhirClient(BASE, auth=credentials())
    with c, pytest.raises(FhirAuthError) as e:
        c.check_version()
    assert len(responses.calls) == 1  # never retried
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    reason = "Unauthorized" if status == 401 else "Forbidden"
    assert str(e.value).startswith(
        f"GET {BASE}/metadata: HTTP {status} {reason}: the server refused the bearer token from {ENV_TOKEN}"
    )
    assert "invalid token ***" in str(e.value)  # the server echoed it: redacted
    for text in (str(e.value), repr(e.value), repr(c), repr(c.auth), caplog.text):
        assert TOKEN not in text


def test_the_token_never_reaches_argv_or_the_cli_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/metadata", status=401, body="no")
        result = runner.invoke(app, ["push", str(SEEDS[0]), "--server", BASE, "--token-file", str(token_file)])
        assert mock.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.exit_code == ExitCode.FAILED
    assert TOKEN not in result.output and f"bearer token from {token_file}" in result.stderr
    # there is no option that takes a token value
    assert "--token " not in runner.invoke(app, ["push", "--help"]).output


@responses.activate
def test_no_credentials_401_says_how_to_give_them() -> None:
    responses.get(f"{BASE}/metadata", status=401)
    with client() as c, pytest.raises(FhirAuthError, match=r"no credentials were given \(set FHIR_ADAPTER_TOKEN"):
        c.check_version()


def test_credentials_precedence_and_sources(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("hunter22\n")
    basic = credentials(user="alice", password_file=pw, environ={ENV_TOKEN: TOKEN})
    assert isinstance(basic, BasicAuth) and basic.password.reveal() == "hunter22"
    assert "hunter22" not in repr(basic)
    basic_env = credentials(user="alice", environ={ENV_PASSWORD: "pw-from-env"})
    assert isinstance(basic_env, BasicAuth) and basic_env.source == ENV_PASSWORD
    bearer = credentials(environ={ENV_TOKEN: TOKEN})
    assert isinstance(bearer, BearerToken) and TOKEN not in repr(bearer)
    assert credentials(environ={}) is None
    with pytest.raises(FhirAuthError, match="--user needs a password"):
        credentials(user="alice", environ={})
    with pytest.raises(FhirAuthError, match="cannot read the token file"):
        credentials(token_file=tmp_path / "missing", environ={})


@responses.activate
def test_basic_auth_header() -> None:
    metadata()
    auth = credentials(user="alice", environ={ENV_PASSWORD: "pw-from-env"})
    with FhirClient(BASE, auth=auth) as c:
        c.check_version()
    assert responses.calls[0].request.headers["Authorization"] == "Basic YWxpY2U6cHctZnJvbS1lbnY="


def _pem(key: Any) -> bytes:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
@responses.activate
def test_smart_backend_services(alg: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = rsa.generate_private_key(65537, 2048) if alg == "RS384" else ec.generate_private_key(ec.SECP384R1())
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(_pem(key))
    token_url = "http://auth.test/token"
    responses.get(f"{BASE}/.well-known/smart-configuration", json={"token_endpoint": token_url})
    responses.post(token_url, json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 300})
    metadata()
    responses.get(f"{BASE}/ResearchStudy/1", json={"resourceType": "ResearchStudy", "id": "1"})
    auth = credentials(smart_client_id="my-app", smart_key_file=key_file, smart_algorithm=alg, smart_kid="k1")
    assert isinstance(auth, SmartBackendAuth)
    with FhirClient(BASE, auth=auth) as c:
        c.check_version()
        c.read("ResearchStudy", "1")
        assert TOKEN not in repr(c) and "BEGIN" not in repr(auth)
    calls = [(call.request.method, call.request.url) for call in responses.calls]
    assert calls.count(("POST", token_url)) == 1  # cached for the second request
    form = dict(re.findall(r"([^&=]+)=([^&]*)", str(responses.calls[1].request.body)))
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    assertion = unquote(form["client_assertion"])
    header = jwt.get_unverified_header(assertion)
    assert header["alg"] == alg and header["kid"] == "k1"
    claims = jwt.decode(assertion, key.public_key(), algorithms=[alg], audience=token_url)
    assert claims["iss"] == claims["sub"] == "my-app" and claims["exp"] - claims["iat"] == 300
    assert "Authorization" not in responses.calls[1].request.headers  # no token sent to the token endpoint
    assert responses.calls[2].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text


@responses.activate
def test_smart_token_endpoint_refusal_is_an_auth_error(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(_pem(rsa.generate_private_key(65537, 2048)))
    responses.post("http://auth.test/token", status=401, json={"error": "invalid_client"})
    auth = SmartBackendAuth("my-app", key_file, token_url="http://auth.test/token")
    with FhirClient(BASE, auth=auth) as c, pytest.raises(FhirAuthError) as e:
        c.check_version()
    assert str(e.value) == (
        "http://auth.test/token: HTTP 401: the token endpoint refused client 'my-app': invalid_client"
    )


def test_tls_verification_is_on_and_a_ca_bundle_can_be_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with FhirClient(BASE) as c:
        assert c.session.verify is True
        assert str(c.session.headers["User-Agent"]).startswith("fhir-adapter/")
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    with FhirClient(BASE, ca_bundle=ca) as c:
        assert c.session.verify == str(ca)


@responses.activate
def test_pull_never_lets_a_server_identifier_name_a_path(tmp_path: Path) -> None:
    """Identifiers come from the server, which is untrusted: ``../../x`` cannot write outside ``-o``, and a
    symlink planted in ``-o`` is replaced, not written through."""
    metadata()
    studies = [
        {
            "resourceType": "ResearchStudy",
            "id": str(n),
            "status": "active",
            "identifier": [{"system": "https://clinicaltrials.gov", "value": value}],
        }
        for n, value in enumerate(["../../escaped", "NCT00000001", "bad\nname"])
    ]
    responses.get(
        f"{BASE}/ResearchStudy",
        json={
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": s, "search": {"mode": "match"}} for s in studies],
        },
    )
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    outside = tmp_path / "outside.json"
    outside.write_bytes(b"keep me")
    (out / "NCT00000001.json").symlink_to(outside)
    with client() as c:
        summary = pull(c, out, SearchQuery())
    assert outside.read_bytes() == b"keep me"
    assert not (out / "NCT00000001.json").is_symlink()
    assert not list(tmp_path.glob("escaped*")) and not list((tmp_path / "deep").glob("escaped*"))
    assert all(p.parent == out for p in summary.written)
    assert {p.name for p in out.iterdir()} == {p.name for p in summary.written}
    assert any("cannot write its bundle" in line for line in summary.problems)  # the newline id is refused
