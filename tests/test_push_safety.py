"""Push safety (issue 8): nothing lost silently, secrets never shown, TLS as the flag says, a dead server costs
seconds. Faults a real server cannot be made to show, with ``responses`` or a scripted loopback server; the
fault-injection run against a real server is tests/integration/test_fault_push.py."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

import scripted_http
from fhir_adapter.bundle import to_bundle
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode, FhirServerError
from fhir_adapter.sinks.server import FhirClient, FhirTransportError, PushResult, TrialBundle, prepare, push_bundles
from fhir_adapter.sinks.server.auth import ENV_PASSWORD, ENV_TOKEN, SmartBackendAuth, credentials, redact
from fhir_adapter.sources import read_trials
from fhir_adapter.sources.ctgov_api import CtgovApiError, CtgovClient
from scripted_http import ScriptedServer

BASE = "http://fhir.test/fhir"
CS = {"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"}
REPO = Path(__file__).resolve().parents[1]
COVID = REPO / "tests/data/ctgov-v1/covid-19-search-page.json"
runner = CliRunner()


def trial_bundles(n: int) -> list[TrialBundle]:
    out = []
    for t in read_trials(COVID):
        assert t.nct_id
        out.append(TrialBundle(t.nct_id, str(COVID), to_bundle(t)["entry"]))
        if len(out) == n:
            break
    return out


def ok_reply(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created"}} for _ in range(n)],
    }


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------------------ accounting


@responses.activate
def test_a_401_mid_run_stops_the_push_and_lists_every_trial_not_attempted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_TOKEN, "Tk9vP2wX8mQ4rZ6y")
    responses.get(f"{BASE}/metadata", json=CS)
    every = [t.nct_id for t in read_trials(COVID)]
    entries = [len(t.entries) for t in trial_bundles(2)]
    responses.post(BASE, json=ok_reply(entries[0]))
    responses.post(BASE, json=ok_reply(entries[1]))
    responses.post(BASE, status=401, body="token expired")
    result = runner.invoke(app, ["push", str(COVID), "--server", BASE])
    assert result.exit_code == ExitCode.FAILED
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 3  # nothing sent after the 401
    not_attempted = [
        line.split()[2].rstrip(":") for line in result.stderr.splitlines() if line.startswith("NOT ATTEMPTED ")
    ]
    assert not_attempted == every[3:]
    assert f"FAILED {every[2]}: not pushed" in result.stderr
    assert "error: push stopped: POST http://fhir.test/fhir: HTTP 401 Unauthorized" in result.stderr
    assert last_line(result.stdout).startswith(f"2 trials pushed, 1 failed, {len(every) - 3} not attempted;")


@responses.activate
def test_a_500_on_metadata_is_retried_and_the_push_goes_on() -> None:
    responses.get(f"{BASE}/metadata", status=500, body="boom")
    responses.get(f"{BASE}/metadata", json=CS)
    tb = trial_bundles(1)
    responses.post(BASE, json=ok_reply(len(tb[0].entries)))
    with FhirClient(BASE) as c:
        summary = push_bundles(c, tb)
    assert summary.pushed == 1 and summary.failed == 0 and not summary.not_attempted and summary.stopped is None
    assert summary.retries == 1


def _stored(tb: TrialBundle) -> dict[str, dict[str, Any]]:
    """What a server that committed the trial holds, by request URL: ids given, references made literal."""
    p = prepare(tb)
    ids = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['request']['url'].partition('/')[2] or i}"
        for i, e in enumerate(p.entries)
    }
    out = {}
    for e in p.entries:
        r = orjson.loads(orjson.dumps(e["resource"]))
        r["id"] = ids[e["fullUrl"]].partition("/")[2]
        r["meta"] = {"versionId": "1"}
        text = orjson.dumps(r).decode()
        for full, where in ids.items():
            text = text.replace(f'"{full}"', f'"{where}"')
        url = e["request"]["url"]
        out[url if "?" in url else f"{r['resourceType']}?_id={r['id']}"] = orjson.loads(text)
    return out


def _search_callback(stored: dict[str, dict[str, Any]]) -> Any:
    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        key = unquote(str(request.url).removeprefix(BASE + "/"))
        hit = next((r for k, r in stored.items() if unquote(k) == key), None)
        return (
            200,
            {},
            orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": hit}] if hit else []}),
        )

    return answer


@pytest.mark.parametrize("committed", [True, False])
@responses.activate
def test_a_lost_response_is_read_back_before_the_trial_is_called_failed(committed: bool) -> None:
    responses.get(f"{BASE}/metadata", json=CS)
    [tb] = trial_bundles(1)
    responses.post(BASE, body=requests.exceptions.ConnectionError(ConnectionResetError(104, "reset by peer")))
    stored = _stored(tb) if committed else {}
    responses.add_callback(responses.GET, scripted_re(BASE), callback=_search_callback(stored))
    results: list[PushResult] = []
    with FhirClient(BASE) as c:
        summary = push_bundles(c, [tb], on_result=results.append)
    assert summary.read_back == 1
    if committed:
        assert summary.pushed == summary.verified == 1 and summary.failed == 0
    else:
        assert summary.pushed == 0 and summary.failed == 1
        [issue] = results[0].issues
        assert "(not retried)" in issue.message and "after 5 retries" not in issue.message
        assert "read back: PUT ResearchStudy?identifier=" in issue.message and "absent on the server" in issue.message


def scripted_re(base: str) -> Any:
    import re

    return re.compile(re.escape(base) + r"/[A-Z].*")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    return scripted_http.recorded_sleeps(monkeypatch)


def test_a_server_gone_mid_run_trips_the_circuit_breaker(sleeps: list[float]) -> None:
    tbs = trial_bundles(10)
    server = ScriptedServer(
        [("s", 200, {}, orjson.dumps(CS)), ("s", 200, {}, orjson.dumps(ok_reply(len(tbs[0].entries))))], "/fhir"
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def gone(result: PushResult) -> None:
        if server.calls and len(server.calls) == 2:  # after the first trial: the server goes away
            server.shutdown()
            server.server_close()

    with FhirClient(server.base) as c:
        summary = push_bundles(c, tbs, on_result=gone)
        assert c.breaker.failures == 8  # the second trial's 6 attempts, 2 of its read-back: then nothing more
    assert len(sleeps) == 4 and sum(sleeps) < 17  # backoff 0 (not slept), 1, 2, 4, 8 s, then 0 for the read-back
    assert summary.pushed == 1 and summary.failed == 1
    assert summary.not_attempted == [t.nct_id for t in tbs[2:]]
    assert summary.stopped is not None and "circuit breaker open: 8 transport failures in a row" in summary.stopped


# ------------------------------------------------------------------------------------------------ secrets

TOKEN = "Zq7xK9wPm2vR4tY8nB3c"
PASSWORD = "Hj5sLq2Wz8Xc"
SHORT = "Vx"
COOKIE = "Kq8ZpW3xT7sessionQ"


def _substrings(secret: str) -> list[str]:
    return [secret[i : i + 4] for i in range(len(secret) - 3)] or [secret]


def _assert_clean(text: str, *secrets: str) -> None:
    for s in secrets:
        for piece in _substrings(s):
            assert piece not in text, f"{piece!r} (of a secret) in {text!r}"


EXCERPT = 300  # characters of an error body a message quotes
ECHO_HEAD = "request was: Authorization: "


def _echo(status: int, *, cut: int | None = None) -> Any:
    """A server that echoes the request's headers and body in its error body (some proxies and test servers do);
    ``cut``: padded so that a 300-character excerpt ends ``cut`` characters into the Authorization value."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        first = ("Authorization", "Cookie")
        headers = [f"{k}: {request.headers[k]}" for k in first if k in request.headers]
        headers += [f"{k}: {v}" for k, v in request.headers.items() if k not in first]
        pad = "" if cut is None else "x" * (EXCERPT - len(ECHO_HEAD) - cut - 1) + " "
        return (
            status,
            {"Set-Cookie": f"sid={COOKIE}; Path=/"},
            pad + "request was:\n" + "\n".join(headers) + f"\n{request.body!r}",
        )

    return answer


@pytest.mark.parametrize("status", [400, 500])
@pytest.mark.parametrize("cut", [None, 3, 9, 16])  # where the excerpt ends: after, or inside the credential
@pytest.mark.parametrize("how", ["bearer", "basic", "short-bearer", "short-password"])
@responses.activate
def test_an_echoed_request_shows_no_secret(
    how: str, cut: int | None, status: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = {"bearer": TOKEN, "short-bearer": SHORT, "basic": PASSWORD, "short-password": SHORT}[how]
    args = []
    if how.endswith("bearer"):
        monkeypatch.setenv(ENV_TOKEN, secret)
    else:
        monkeypatch.setenv(ENV_PASSWORD, secret)
        args = ["--user", "alice"]
    wire = base64.b64encode(f"alice:{secret}".encode()).decode()
    responses.get(f"{BASE}/metadata", json=CS, headers={"Set-Cookie": f"sid={COOKIE}; Path=/"})
    responses.add_callback(responses.POST, BASE, callback=_echo(status, cut=cut))
    result = runner.invoke(app, ["push", str(REPO / "seeds"), "--server", BASE, *args])
    assert result.exit_code == ExitCode.FAILED
    sent = responses.calls[1].request.headers
    assert "Authorization" in sent and f"sid={COOKIE}" in sent.get("Cookie", "")  # they were on the wire
    output = result.stdout + result.stderr
    assert "request was:" in output  # the echo is shown, masked
    _assert_clean(output, wire, COOKIE, *([secret] if len(secret) >= 4 else []))
    if len(secret) < 4:
        assert f"Bearer {secret}" not in output and f": {secret}" not in output
    with FhirClient(BASE, auth=credentials(user="alice" if args else None)) as c, pytest.raises(FhirServerError) as e:
        c.transaction({"resourceType": "Bundle", "type": "transaction", "entry": []})
    _assert_clean(str(e.value) + repr(e.value), wire, COOKIE, *([secret] if len(secret) >= 4 else []))


def test_short_secrets_are_masked_where_they_stand_as_values_only() -> None:
    credentials(environ={ENV_TOKEN: "ab"})
    text = redact('grab a cab: {"token": "ab", "x": "Bearer ab"} token=ab&y=1 Authorization: Bearer ab')
    assert text == 'grab a cab: {"token": "***", "x": "Bearer ***"} token=***&y=1 Authorization: ***'


def _pem(key: Any) -> bytes:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem


@responses.activate
def test_smart_assertion_and_access_token_are_masked(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(_pem(ec.generate_private_key(ec.SECP384R1())))
    access = "At9Qm4Lx7Rp2Wn6Kz"
    token_url = "http://auth.test/token"
    responses.post(token_url, json={"access_token": access, "expires_in": 300})
    responses.get(f"{BASE}/metadata", json=CS)
    responses.add_callback(responses.POST, BASE, callback=_echo(500, cut=12))
    auth = SmartBackendAuth("my-app", key_file, "ES384", token_url=token_url)
    with FhirClient(BASE, auth=auth) as c:
        c.check_version()
        with pytest.raises(FhirServerError) as e:
            c.transaction({"resourceType": "Bundle", "type": "transaction", "entry": []})
    assertion = unquote(str(responses.calls[0].request.body).split("client_assertion=")[1].split("&")[0])
    _assert_clean(str(e.value), access)
    assert assertion not in redact(f"invalid client_assertion={assertion} and {assertion}")
    assert assertion.split(".")[2][:8] not in redact(f"echo {assertion}")


# ------------------------------------------------------------------------------------------------ TLS


def _ca(name: str) -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key: Any, ca_cert: x509.Certificate) -> tuple[Any, x509.Certificate]:
    key = rsa.generate_private_key(65537, 2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two throwaway CAs: ``good`` signed the server's certificate, ``other`` did not."""
    d = tmp_path_factory.mktemp("pki")
    good_key, good = _ca("fhir-adapter test CA")
    _, other = _ca("another CA")
    key, cert = _leaf(good_key, good)
    files = {"good": d / "good.pem", "other": d / "other.pem", "cert": d / "server.pem", "key": d / "server.key"}
    files["good"].write_bytes(good.public_bytes(serialization.Encoding.PEM))
    files["other"].write_bytes(other.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(_pem(key))
    return files


@pytest.fixture
def https(pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> Iterator[ScriptedServer]:
    """A real HTTPS server on 127.0.0.1 with the ``good`` CA's certificate, answering a CapabilityStatement."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    server = ScriptedServer([("s", 200, {}, orjson.dumps(CS))], "/fhir")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ScriptedServer) -> str:
    return server.base.replace("http://", "https://")


def test_the_flag_ca_is_trusted_and_wins_over_the_environment(
    https: ScriptedServer, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["other"]))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(pki["other"]))
    with FhirClient(_url(https), ca_bundle=pki["good"]) as c:
        assert c.check_version() == "5.0.0"


def test_an_environment_ca_is_not_trusted_when_the_flag_names_another(
    https: ScriptedServer, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["good"]))
    with FhirClient(_url(https), ca_bundle=pki["other"]) as c, pytest.raises(FhirTransportError) as e:
        c.check_version()
    assert e.value.tls and e.value.retries == 0 and sleeps == []
    assert f"TLS certificate verification failed (trusting --ca-bundle {pki['other']}" in str(e.value)
    assert "(not retried)" in str(e.value) and "CERTIFICATE_VERIFY_FAILED" in str(e.value)


def test_without_the_flag_the_environment_ca_is_honoured(
    https: ScriptedServer, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["good"]))
    with FhirClient(_url(https)) as c:
        assert c.check_version() == "5.0.0"


def test_no_ca_is_a_clear_failure_at_once(https: ScriptedServer, sleeps: list[float]) -> None:
    result = runner.invoke(app, ["push", str(REPO / "seeds"), "--server", _url(https)])
    assert result.exit_code == ExitCode.FAILED
    assert "error: push stopped: GET https://127.0.0.1:" in result.stderr
    assert (
        "TLS certificate verification failed (trusting the default CA store (certifi); give the server's CA "
        "with --ca-bundle) (not retried)" in result.stderr
    )
    assert sleeps == []
    assert last_line(result.stdout).startswith("0 trials pushed, 0 failed, 2 not attempted;")


def test_the_ctgov_client_pins_its_ca_too(
    https: ScriptedServer, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _url(https).removesuffix("/fhir")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["good"]))
    with (
        CtgovClient(base, ca_bundle=pki["other"]) as api,
        pytest.raises(CtgovApiError, match="TLS certificate verification failed"),
    ):
        api._get(f"{base}/studies", {})
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki["other"]))
    with CtgovClient(base, ca_bundle=pki["good"]) as api:
        assert api._get(f"{base}/studies", {}).status_code == 200


def test_a_missing_ca_file_named_in_the_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nope.pem"))
    result = runner.invoke(app, ["push", str(REPO / "seeds"), "--server", BASE])
    assert result.exit_code == ExitCode.USAGE  # like a --ca-bundle that does not exist: before any request
    assert (
        result.stderr.strip() == f"error: TLS: REQUESTS_CA_BUNDLE={tmp_path / 'nope.pem'}: no such file "
        "(unset it or give --ca-bundle)"
    )


# ------------------------------------------------------------------------------------------------ broken bodies


class _CutServer(threading.Thread):
    """Raw sockets on 127.0.0.1: the first ``cuts`` answers break off in the middle of the body (RST), then whole
    answers: what a reset mid-response looks like (urllib3's Retry never sees it: requests reads the body later)."""

    def __init__(self, cuts: int, body: bytes) -> None:
        super().__init__(daemon=True)
        self.cuts, self.body, self.calls = cuts, body, 0
        self.sock = socket.create_server(("127.0.0.1", 0))

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.calls += 1
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode()
                if self.calls <= self.cuts:
                    conn.sendall(head + self.body[: len(self.body) // 2])
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    conn.sendall(head + self.body)


@pytest.mark.parametrize("cuts", [1, 3])
def test_an_answer_cut_in_the_middle_of_its_body_is_retried(
    cuts: int, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fhir_adapter.sinks.server.client.time.sleep", sleeps.append)
    server = _CutServer(cuts, orjson.dumps(CS))
    server.start()
    with FhirClient(f"http://127.0.0.1:{server.sock.getsockname()[1]}/fhir") as c:
        assert c.check_version() == "5.0.0"
        assert server.calls == cuts + 1 and c.breaker.retries == cuts
    server.sock.close()


@responses.activate
def test_the_cli_says_which_trials_a_read_back_found_pushed() -> None:
    responses.get(f"{BASE}/metadata", json=CS)
    seeds = sorted((REPO / "seeds").glob("*.txt"))
    tbs = [TrialBundle(t.nct_id or "", str(p), to_bundle(t)["entry"]) for p in seeds for t in read_trials(p)]
    responses.post(BASE, body=requests.exceptions.ConnectionError(ConnectionResetError(104, "reset by peer")))
    stored = {k: v for tb in tbs for k, v in _stored(tb).items()}
    responses.add_callback(responses.GET, scripted_re(BASE), callback=_search_callback(stored))
    result = runner.invoke(app, ["push", *map(str, seeds), "--server", BASE])
    assert result.exit_code == ExitCode.OK, result.stderr
    for tb in tbs:
        assert f"the answer was lost, read back: {tb.nct_id} on the server as sent" in result.stdout
    assert last_line(result.stdout).startswith(f"{len(tbs)} trials pushed, 0 failed, 0 not attempted;")
    assert last_line(result.stdout).endswith(f"{len(tbs)} trials read back ({len(tbs)} found pushed)")
