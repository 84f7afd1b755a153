"""``match``'s server reader (``fhir_adapter.match.server``) on the faults a real server cannot be made to show,
offline with ``responses``: 401, a ``next`` link to another host (never followed with the credentials), the paging
and resource limits, a paging loop, a 500 retried. Real servers: tests/integration/test_match_servers.py."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import responses
from responses import matchers
from typer.testing import CliRunner

from conftest import REPO
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode, FhirAuthError, FhirServerError, PagingLoopError
from fhir_adapter.match.server import (
    PATIENT_DATA_TYPES,
    PatientDataLimit,
    ServerLimits,
    full_urls_on_server,
    patient_resources_from_server,
)
from fhir_adapter.sinks.server import FhirClient
from fhir_adapter.sinks.server.auth import ENV_TOKEN, credentials

BASE = "http://ehr.test/fhir"
OTHER = "http://elsewhere.test/fhir"
TOKEN = "ehr-s3cr3t-T0KEN-4242"
PID = "p1"
CS = {"R4": {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}}
CS["R5"] = {"resourceType": "CapabilityStatement", "fhirVersion": "5.0.0"}


def _client(release: str = "R4", **kw: Any) -> FhirClient:
    return FhirClient(BASE, fhir_version=release, backoff_factor=0, backoff_jitter=0, **kw)


def _serve_patient(release: str = "R4") -> None:
    responses.get(f"{BASE}/metadata", json=CS[release])
    responses.get(f"{BASE}/Patient/{PID}", json={"resourceType": "Patient", "id": PID, "gender": "female"})


def _resource(rtype: str, rid: str, subject: str = f"Patient/{PID}", **more: Any) -> dict[str, Any]:
    return {"resourceType": rtype, "id": rid, "subject": {"reference": subject}, **more}


def _page(resources: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }
    if next_url:
        page["link"] = [{"relation": "next", "url": next_url}]
    return page


def _search(rtype: str, body: dict[str, Any], *, status: int = 200) -> None:
    """The first page of ``rtype``'s patient search."""
    responses.get(
        f"{BASE}/{rtype}",
        json=body,
        status=status,
        match=[matchers.query_param_matcher({"patient": f"Patient/{PID}"}, strict_match=False)],
    )


def _empty_searches(but: tuple[str, ...] = ()) -> None:
    for rtype in PATIENT_DATA_TYPES:
        if rtype not in but:
            _search(rtype, _page([]))


# ------------------------------------------------------------------------------------------------ what is read


@pytest.mark.parametrize("release", ["R4", "R5"])
@responses.activate
def test_every_type_is_searched_pages_followed_and_medications_resolved(release: str) -> None:
    _serve_patient(release)
    page2 = f"{BASE}?_getpages=abc&_offset=1"  # HAPI's shape: the base URL with a paging id
    _search("Observation", _page([_resource("Observation", "o1")], page2))
    responses.get(page2, json=_page([_resource("Observation", "o2")]))
    # R4 names the Medication in medicationReference, R5 in medication.reference (a CodeableReference)
    med = (
        {"medicationReference": {"reference": "Medication/m1"}}
        if release == "R4"
        else {"medication": {"reference": {"reference": "Medication/m1"}}}
    )
    _search("MedicationStatement", _page([_resource("MedicationStatement", "s1", **med)]))
    _empty_searches(but=("Observation", "MedicationStatement"))
    responses.get(
        f"{BASE}/Medication",
        json=_page([{"resourceType": "Medication", "id": "m1"}]),
        match=[matchers.query_param_matcher({"_id": "m1", "_count": "1"})],
    )
    with _client(release) as c:
        got = patient_resources_from_server(c, PID)
    assert [f"{r['resourceType']}/{r['id']}" for r in got] == [
        f"Patient/{PID}",
        "Observation/o1",
        "Observation/o2",
        "MedicationStatement/s1",
        "Medication/m1",
    ]
    searched = [str(call.request.url).split("?")[0].rsplit("/", 1)[-1] for call in responses.calls]
    assert [t for t in searched if t in PATIENT_DATA_TYPES] == ["Observation", *PATIENT_DATA_TYPES[1:]]


def test_the_results_cite_the_resources_by_their_url_on_the_server() -> None:
    resources = [{"resourceType": "Patient", "id": PID}, _resource("Observation", "o1"), {"resourceType": "Basic"}]
    with _client() as c:
        assert full_urls_on_server(c, resources) == {
            f"Patient/{PID}": f"{BASE}/Patient/{PID}",
            "Observation/o1": f"{BASE}/Observation/o1",
        }


@responses.activate
def test_a_resource_of_another_subject_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    """A server that ignores the ``patient`` parameter must not mix another person's data into the screening."""
    _serve_patient()
    _search("Condition", _page([_resource("Condition", "c1"), _resource("Condition", "c2", subject="Patient/p2")]))
    _empty_searches(but=("Condition",))
    with _client() as c, caplog.at_level(logging.WARNING):
        got = patient_resources_from_server(c, PID)
    assert [r["id"] for r in got] == [PID, "c1"]
    assert "Condition/c2: its subject is Patient/p2, not Patient/p1: left out" in caplog.text


@responses.activate
def test_an_id_that_is_no_fhir_id_is_refused_before_any_request() -> None:
    with _client() as c, pytest.raises(ValueError, match="is not a FHIR id"):
        patient_resources_from_server(c, "../Observation?code=x")
    assert len(responses.calls) == 0


@responses.activate
def test_no_such_patient_is_one_clear_line() -> None:
    responses.get(f"{BASE}/metadata", json=CS["R4"])
    responses.get(f"{BASE}/Patient/{PID}", status=404, json={"resourceType": "OperationOutcome", "issue": []})
    with _client() as c, pytest.raises(FhirServerError) as e:
        patient_resources_from_server(c, PID)
    assert str(e.value) == f"{BASE}: no Patient/{PID} on the server (HTTP 404)"


# ------------------------------------------------------------------------------------------------ faults


@responses.activate
def test_401_is_an_auth_error_not_retried_and_never_shows_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    responses.get(f"{BASE}/metadata", json=CS["R4"])
    responses.get(f"{BASE}/Patient/{PID}", status=401, body=f"invalid token {TOKEN}")
    with _client(auth=credentials()) as c, pytest.raises(FhirAuthError) as e:
        patient_resources_from_server(c, PID)
    assert [call.request.url for call in responses.calls] == [f"{BASE}/metadata", f"{BASE}/Patient/{PID}"]
    assert str(e.value).startswith(f"GET {BASE}/Patient/{PID}: HTTP 401 Unauthorized: the server refused the bearer")
    assert TOKEN not in str(e.value)


@pytest.mark.parametrize(
    "elsewhere",
    [f"{OTHER}/Observation?page=2", "https://ehr.test/fhir/Observation?page=2", "http://ehr.test:8080/fhir/x"],
    ids=["other-host", "other-scheme", "other-port"],
)
@responses.activate
def test_a_next_link_to_another_origin_is_not_followed(elsewhere: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session would send it the credentials of the EHR; and what another server holds is not this record."""
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    _serve_patient()
    _search("Observation", _page([_resource("Observation", "o1")], elsewhere))
    with _client(auth=credentials()) as c, pytest.raises(FhirServerError) as e:
        patient_resources_from_server(c, PID)
    assert "links to another server" in str(e.value) and "not followed" in str(e.value)
    assert all(str(call.request.url).startswith(f"{BASE}/") for call in responses.calls)
    assert all(call.request.headers["Authorization"] == f"Bearer {TOKEN}" for call in responses.calls)
    assert len(responses.calls) == 3  # metadata, Patient, the first Observation page: nothing sent elsewhere


@responses.activate
def test_a_search_longer_than_the_page_limit_is_an_error_not_a_cut() -> None:
    _serve_patient()
    for n in range(1, 6):  # every page links to the next one, for ever
        body = _page([_resource("Observation", f"o{n}")], f"{BASE}?_getpages=x&_offset={n}")
        if n == 1:
            _search("Observation", body)
        else:
            responses.get(f"{BASE}?_getpages=x&_offset={n - 1}", json=body)
    with _client() as c, pytest.raises(PatientDataLimit, match=r"more than 3 pages of 1 \(ServerLimits.max_pages\)"):
        patient_resources_from_server(c, PID, limits=ServerLimits(page_size=1, max_pages=3))
    assert len(responses.calls) == 2 + 3  # metadata, Patient, 3 pages: the 4th is never asked for


@responses.activate
def test_more_resources_than_the_limit_is_an_error_not_a_cut() -> None:
    _serve_patient()
    _search("Observation", _page([_resource("Observation", f"o{n}") for n in range(5)]))
    with _client() as c, pytest.raises(PatientDataLimit, match=r"Patient/p1 has more than 4 resources"):
        patient_resources_from_server(c, PID, limits=ServerLimits(max_resources=4))


@responses.activate
def test_a_next_link_that_loops_is_an_error() -> None:
    _serve_patient()
    again = f"{BASE}?_getpages=x&_offset=1"
    _search("Observation", _page([], again))
    responses.get(again, json=_page([], again))
    with _client() as c, pytest.raises(PagingLoopError, match="links back to a page already read"):
        patient_resources_from_server(c, PID)


@responses.activate
def test_a_500_on_a_page_is_retried_and_the_record_is_complete() -> None:
    _serve_patient()
    page2 = f"{BASE}?_getpages=x&_offset=1"
    _search("Observation", _page([_resource("Observation", "o1")], page2))
    responses.get(page2, status=500, body="busy")
    responses.get(page2, json=_page([_resource("Observation", "o2")]))
    _empty_searches(but=("Observation",))
    with _client() as c:
        got = patient_resources_from_server(c, PID)
    assert [r["id"] for r in got] == [PID, "o1", "o2"]
    statuses = [getattr(call.response, "status_code", None) for call in responses.calls if call.request.url == page2]
    assert statuses == [500, 200]


@responses.activate
def test_a_500_for_good_is_a_clear_error_after_the_retries() -> None:
    _serve_patient()
    _search("Observation", {}, status=500)
    with _client() as c, pytest.raises(FhirServerError, match=r"HTTP 500: .*\(after 5 retries\)"):
        patient_resources_from_server(c, PID)


# ------------------------------------------------------------------------------------------------ the command


@responses.activate
def test_the_command_on_a_401_is_one_line_exit_failed_and_never_shows_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    responses.get(f"{BASE}/metadata", json=CS["R4"])
    responses.get(f"{BASE}/Patient/{PID}", status=401, body=f"invalid token {TOKEN}")
    args = ["match", "--server", BASE, "--fhir-version", "R4", "--patient-id", PID, "--trials-from-server"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.FAILED, result.output
    assert result.stderr.startswith(f"error: GET {BASE}/Patient/{PID}: HTTP 401 Unauthorized: the server refused")
    assert TOKEN not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", BASE], "--server needs --patient-id"),
        (["--patient-id", PID, "--trials-from-server"], "need --server"),
        ([], "give --patient FILE, or --server URL with --patient-id ID"),
    ],
    ids=["no-patient-id", "no-server", "neither"],
)
def test_the_command_says_which_options_go_together(args: list[str], message: str) -> None:
    with responses.RequestsMock():  # no request may be made
        result = CliRunner().invoke(app, ["match", *args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in " ".join(result.output.replace("│", " ").split())  # the usage box wraps lines


@responses.activate
def test_pull_never_follows_a_next_link_to_another_origin(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same walker serves pull (and match --trials-from-server): the credentials never leave the base URL."""
    from fhir_adapter.sinks.server import SearchQuery, pull

    monkeypatch.setenv(ENV_TOKEN, TOKEN)
    responses.get(f"{BASE}/metadata", json=CS["R4"])
    responses.get(f"{BASE}/ResearchStudy", json=_page([], f"{OTHER}/ResearchStudy?page=2"))
    with _client(auth=credentials()) as c, pytest.raises(FhirServerError, match="links to another server"):
        pull(c, tmp_path / "out", SearchQuery())
    assert all(str(call.request.url).startswith(f"{BASE}/") for call in responses.calls)


@responses.activate
def test_a_search_past_its_page_limit_is_an_error() -> None:
    from fhir_adapter.errors import PagingLimitError

    for n in range(1, 4):
        nxt = f"{BASE}/ResearchStudy?page={n + 1}"
        url = f"{BASE}/ResearchStudy" + ("" if n == 1 else f"?page={n}")
        responses.get(url, json=_page([], nxt))
    with _client() as c, pytest.raises(PagingLimitError, match="more than 2 pages"):
        list(c.search_pages("ResearchStudy", {}, max_pages=2))
    assert len(responses.calls) == 2


@pytest.mark.parametrize("release", ["R4", "R5"])
@responses.activate
def test_format_fhir_speaks_the_servers_release_and_dash_is_stdout(
    release: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--fhir-version``, ``--format fhir`` writes the release the server's CapabilityStatement names (an
    R4 EHR gets R4 ResearchStudies), and ``-o -`` is standard output, as without ``-o`` (no file named ``-``)."""
    import orjson

    from fhir_adapter.bundle import fhir_release

    _serve_patient(release)
    _empty_searches()
    monkeypatch.chdir(tmp_path)
    seed = str(REPO / "seeds" / "000_fdb36eec3c492087.txt")
    args = ["match", "--server", BASE, "--patient-id", PID, "--format", "fhir", "-o", "-", seed]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.OK, result.output
    assert not list(tmp_path.iterdir())
    searchset = orjson.loads(result.stdout)
    studies = [e["resource"] for e in searchset["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    assert studies and {fhir_release(s) for s in studies} == {release}
