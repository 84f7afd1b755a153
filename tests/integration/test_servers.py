"""Push -> pull round trips, idempotent re-push, updates and searches on real FHIR servers (see conftest.py).

For every seed page, every API v2 fixture, every legacy XML fixture (each must hold one readable trial) and every API
v1 study, pushed in chunks (conditional-PUT transactions) and pulled together: each trial comes back the same, with
the same resources (ignoring meta, ids and references' targets). Pushing twice leaves the
resource counts unchanged; a changed trial gets a new version of its one ResearchStudy; searches by condition,
status and phase return exactly the expected trials. ``push`` on raw input never sends a record that fails validation.

The records are read by session fixtures (``trial_of``, ``v1_trials`` in conftest.py, ``trials`` and ``rounds``
here), once per run and only when a test that needs them runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from typer.testing import CliRunner

from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode
from fhir_adapter.model import Trial
from fhir_adapter.sinks.server import FhirClient, PushResult, SearchQuery, TrialBundle, push_bundles
from fhir_adapter.sinks.server.search import stand_in_status
from integration.fhir_servers import REPO, Server

pytestmark = pytest.mark.slow

NCT = "https://clinicaltrials.gov"
INPUTS = [
    *sorted((REPO / "seeds").glob("*.txt")),
    *sorted((REPO / "tests/data/ctgov-v2").glob("*.json")),
    *sorted((REPO / "tests/data/ctgov-xml").glob("*.xml")),
]


@pytest.fixture(scope="session")
def trials(trial_of: Callable[[Path], Trial | None], v1_trials: tuple[Trial, ...]) -> list[Trial]:
    """One trial per NCT id from every seed and fixture (v2, legacy XML, API v1), read once per session."""
    seen: dict[str, Trial] = {}
    for p in INPUTS:
        t = trial_of(p)
        assert t is not None and t.nct_id
        seen.setdefault(t.nct_id, t)
    for t in v1_trials:
        assert t.nct_id
        seen.setdefault(t.nct_id, t)
    return list(seen.values())


def _bundle(trial: Trial, version: str) -> TrialBundle:
    assert trial.nct_id
    return TrialBundle(trial.nct_id, trial.nct_id, to_bundle(trial, version)["entry"])


def _push(server: Server, trials: list[Trial], batch_size: int = 5, mode: str = "transaction") -> list[PushResult]:
    results: list[PushResult] = []
    with FhirClient(server.base, fhir_version=server.fhir_version) as client:
        summary = push_bundles(
            client,
            [_bundle(t, server.fhir_version) for t in trials],
            mode=mode,
            batch_size=batch_size,
            on_result=results.append,
        )
    problems = [str(i) for r in results for i in r.issues]
    assert summary.failed == 0, problems[:20]
    return results


def _normal(resource: dict[str, Any]) -> bytes:
    """A resource without id, meta, text, with every reference reduced to its target's type, and every whole decimal
    written as an integer: Medplum keeps resources as JavaScript numbers, so a dose of ``200.0`` mg comes back as
    ``200`` (the same value; HAPI keeps the ``.0``)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "reference" and isinstance(v, str):
                    out[k] = v.replace("urn:uuid:", "").split("/")[-2] if "/" in v else "<urn>"
                elif k == "size" and isinstance(v, int):  # R5 Attachment.size is integer64, a JSON string; HAPI
                    out[k] = str(v)  # R5 answers it as a number (the same value)
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, float) and node.is_integer():
            return int(node)
        return node

    r = {k: v for k, v in resource.items() if k not in ("id", "meta", "text")}
    return orjson.dumps(walk(r), option=orjson.OPT_SORT_KEYS)


def _by_type(bundle: dict[str, Any]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for e in bundle["entry"]:
        out.setdefault(e["resource"]["resourceType"], []).append(_normal(e["resource"]))
    return {k: sorted(v) for k, v in out.items()}


def _ref_types(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Our bundle's references as ``Type`` (urn:uuid targets looked up), for comparison with the pulled one."""
    types = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "reference" and isinstance(v, str) and v in types:
                    node[k] = f"{types[v]}/x"
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    copy: dict[str, Any] = orjson.loads(orjson.dumps(bundle))
    walk(copy)
    return copy


def _offline(trial: Trial, version: str) -> Trial:
    return from_bundle(to_bundle(trial, version))


def _diff(trial: Trial, back: Trial) -> list[str]:
    return [
        f"{f.name}: {getattr(trial, f.name)!r:.300} != {getattr(back, f.name)!r:.300}"
        for f in dataclasses.fields(trial)
        if getattr(trial, f.name) != getattr(back, f.name)
    ]


# ------------------------------------------------------------------------------------------------ round trips


@pytest.fixture(scope="session")
def rounds(trial_of: Callable[[Path], Trial | None], v1_trials: tuple[Trial, ...]) -> list[dict[str, Trial]]:
    """Every trial of ``INPUTS`` and of the API v1 fixtures, by input name, in rounds of distinct NCT ids (a round
    is pushed together; the same trial from a second format, e.g. NCT02513394 as API v2 JSON and legacy XML, goes
    to a later round, as pushing it beside the first would update that one in place)."""
    named = [(p.name, trial_of(p)) for p in INPUTS] + [(f"ctgov-v1/{t.nct_id}", t) for t in v1_trials]
    out: list[dict[str, Trial]] = []
    for name, trial in named:
        assert trial is not None and trial.nct_id, name
        free = next((r for r in out if all(t.nct_id != trial.nct_id for t in r.values())), None)
        if free is None:
            out.append(free := {})
        free[name] = trial
    return out


def test_push_in_chunks_then_pull_gives_every_trial_and_its_resources(
    server: Server, tmp_path: Path, rounds: list[dict[str, Trial]], v1_trials: tuple[Trial, ...]
) -> None:
    """Each round of trials pushed in chunks of 7 (conditional-PUT transactions) on an emptied server, then pulled
    together (following next links, _count 100 per page): each trial comes back equal to what the offline round trip
    gives (the Trial itself except where the mapper is known to be lossy, a matter for tests/test_roundtrip.py), with
    the same resources (ignoring meta, ids and references' targets). The server must lose nothing."""
    assert sum(map(len, rounds)) == len(INPUTS) + len(v1_trials)  # every input file and every API v1 study
    for n, named in enumerate(rounds):
        server.reset()
        trials = list(named.values())
        results = _push(server, trials, batch_size=7)
        assert len(results) == -(-len(trials) // 7)  # one request per chunk of 7 trials
        pulled = server.pulled(tmp_path / str(n), SearchQuery())
        assert sorted(pulled) == sorted(t.nct_id for t in trials if t.nct_id)
        for name, trial in named.items():
            assert trial.nct_id
            back, expected = from_bundle(pulled[trial.nct_id]), _offline(trial, server.fhir_version)
            assert back == expected, (name, _diff(expected, back))
            ours = _by_type(_ref_types(to_bundle(trial, server.fhir_version)))
            assert _by_type(pulled[trial.nct_id]) == ours, name


def _counts(server: Server) -> dict[str, int]:
    types = [
        "ResearchStudy",
        "EvidenceVariable",
        "PlanDefinition",
        "ActivityDefinition",
        "Location",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Group",
        "Provenance",  # one per trial
        *(("DiagnosticReport",) if server.fhir_version == "R4" else ("EvidenceReport", "Evidence")),  # results
    ]
    return {t: server.count(t) for t in types}


@pytest.mark.parametrize("mode", ["transaction", "batch"])
def test_pushing_twice_creates_nothing_new(fresh: Server, mode: str, trials: list[Trial]) -> None:
    # every fourth trial (seeds, API v2, legacy XML and API v1 alike, 40 trials of every resource type): each is
    # pushed three times here, and the whole set took up to 4 minutes a mode on HAPI in CI
    some = trials[::4]
    first = _push(fresh, some, mode=mode)
    counts = _counts(fresh)
    assert counts["ResearchStudy"] == len(some)
    assert sum(r.created for r in first) == sum(counts.values())
    again = _push(fresh, some, mode=mode)
    assert _counts(fresh) == counts
    assert sum(r.created for r in again) == 0
    # the other mode on top: still the same resources (both modes find resources the same way)
    _push(fresh, some, mode="batch" if mode == "transaction" else "transaction")
    assert _counts(fresh) == counts


def test_a_changed_trial_is_updated_in_place(fresh: Server, tmp_path: Path, trials: list[Trial]) -> None:
    trial = next(t for t in trials if t.brief_title)
    assert trial.nct_id
    _push(fresh, [trial])
    search = {"identifier": f"{NCT}|{trial.nct_id}"}
    first = requests.get(f"{fresh.base}/ResearchStudy", params=search, timeout=30).json()["entry"][0]["resource"]
    _push(fresh, [trial])  # unchanged: same version
    same = requests.get(f"{fresh.base}/ResearchStudy", params=search, timeout=30).json()["entry"][0]["resource"]
    assert same["meta"]["versionId"] == first["meta"]["versionId"]
    changed = dataclasses.replace(trial, brief_title=f"{trial.brief_title} (amended)")
    _push(fresh, [changed])
    found = requests.get(f"{fresh.base}/ResearchStudy", params=search, timeout=30).json()
    assert found["total"] == 1  # never a second ResearchStudy for one NCT id
    now = found["entry"][0]["resource"]
    assert now["id"] == first["id"]
    assert now["meta"]["versionId"] != first["meta"]["versionId"]
    assert fresh.count("ResearchStudy") == 1
    back = from_bundle(fresh.pulled(tmp_path, SearchQuery(identifiers=[trial.nct_id]))[trial.nct_id])
    assert back == _offline(changed, fresh.fhir_version)


# ------------------------------------------------------------------------------------------------ searches


def _condition_texts(bundle: dict[str, Any]) -> list[str]:
    rs = bundle["entry"][0]["resource"]
    texts = []
    for c in rs.get("condition", []):
        texts.append(c.get("text", ""))
        texts += [d.get("display", "") for d in c.get("coding", [])]
    return [t.lower() for t in texts if t]


def _status_codes(bundle: dict[str, Any], version: str) -> set[str]:
    """The study's own status codes: R4 ``status`` unless it is the flagged stand-in for an UNKNOWN or missing
    registry status; R5 the current state (not the ``overall-study`` periods, not an ``actual: false`` history
    entry such as an UNKNOWN study's last known status)."""
    rs = bundle["entry"][0]["resource"]
    if version == "R4":
        return set() if stand_in_status(rs) else {rs.get("status", "")}
    return {
        c["code"]
        for ps in rs.get("progressStatus", [])
        if ps.get("actual") is not False
        for c in ps.get("state", {}).get("coding", [])
        if c.get("system") == "http://hl7.org/fhir/research-study-status" and c.get("code") != "overall-study"
    }


def _phase_codes(bundle: dict[str, Any]) -> set[str]:
    rs = bundle["entry"][0]["resource"]
    return {c["code"] for c in rs.get("phase", {}).get("coding", [])}


def test_searches_by_condition_status_and_phase_return_exactly_the_expected_trials(
    fresh: Server, tmp_path: Path, trials: list[Trial]
) -> None:
    _push(fresh, trials, batch_size=10)
    bundles = {t.nct_id: to_bundle(t, fresh.fhir_version) for t in trials}
    checked = 0
    # condition:text is a prefix match on HAPI and a substring match on the Medplum front: use texts on which
    # both agree, so that the expected set is exact on every server
    for query in ("breast cancer", "atopic dermatitis", "axial spondyloarthritis", "melanoma", "diabetes"):
        prefix = {n for n, b in bundles.items() if any(t.startswith(query) for t in _condition_texts(b))}
        sub = {n for n, b in bundles.items() if any(query in t for t in _condition_texts(b))}
        if prefix != sub or not prefix:
            continue
        got = fresh.pulled(tmp_path / f"c-{query}", SearchQuery(condition=query))
        assert set(got) == prefix, query
        checked += 1
    assert checked >= 2
    statuses = {c for b in bundles.values() for c in _status_codes(b, fresh.fhir_version)}
    for status in sorted(statuses):
        expected = {n for n, b in bundles.items() if status in _status_codes(b, fresh.fhir_version)}
        got = fresh.pulled(tmp_path / f"s-{status}", SearchQuery(status=status))
        assert set(got) == expected, status
    phases = {c for b in bundles.values() for c in _phase_codes(b) if c.startswith(("phase-", "n-a", "early"))}
    assert phases
    for phase in sorted(phases):
        expected = {n for n, b in bundles.items() if phase in _phase_codes(b)}
        got = fresh.pulled(tmp_path / f"p-{phase}", SearchQuery(phase=phase))
        assert set(got) == expected, phase
    got = fresh.pulled(tmp_path / "updated", SearchQuery(updated_since="2000-01-01"))
    assert set(got) == set(bundles)
    assert fresh.pulled(tmp_path / "future", SearchQuery(updated_since="2999-01-01")) == {}


# ------------------------------------------------------------------------------------------------ push validates

BAD_RAW, BAD_BUNDLE = "NCT99000001", "NCT99000002"
NO_SUCH_DAY = "2020-13-45"


def test_push_never_sends_a_record_that_fails_validation(
    fresh: Server, tmp_path: Path, trial_of: Callable[[Path], Trial | None]
) -> None:
    """``push`` on raw input runs convert's pipeline: a record that reads and maps but fails validation (a start
    date that is no day) is not sent and is listed in errors.jsonl, while the good one is pushed. An invalid Bundle
    file is refused the same way."""
    good = orjson.loads((REPO / "tests/data/ctgov-v2/NCT00763412.json").read_bytes())
    bad = orjson.loads(orjson.dumps(good))
    bad["protocolSection"]["identificationModule"]["nctId"] = BAD_RAW
    bad["protocolSection"]["statusModule"]["startDateStruct"] = {"date": NO_SUCH_DAY}
    raw = tmp_path / "in.ndjson"
    raw.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    # a converted bundle, then broken: another NCT id and the same impossible day on the ResearchStudy
    other = trial_of(REPO / "tests/data/ctgov-v2/NCT02513394.json")
    assert other is not None
    bundle = to_bundle(other, fresh.fhir_version)
    study = bundle["entry"][0]["resource"]
    assert study["resourceType"] == "ResearchStudy"
    next(i for i in study["identifier"] if i.get("system") == NCT)["value"] = BAD_BUNDLE
    study["period"] = {"start": NO_SUCH_DAY}
    bad_bundle = tmp_path / f"{BAD_BUNDLE}.json"
    bad_bundle.write_bytes(orjson.dumps(bundle))

    args = ["push", str(raw), str(bad_bundle), "--server", fresh.base, "--fhir-version", fresh.fhir_version]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "report")])

    assert result.exit_code == ExitCode.FAILED, result.output
    assert "1 trials pushed, 2 failed, 0 not attempted" in result.stdout
    assert f"FAILED {raw}#2 {BAD_RAW}: validate: " in result.stderr
    errors = [orjson.loads(line) for line in (tmp_path / "report" / "errors.jsonl").read_bytes().splitlines()]
    assert {(e["nct_id"], e["stage"]) for e in errors} == {(BAD_RAW, "validate"), (BAD_BUNDLE, "validate")}
    assert {e["source"] for e in errors} == {str(raw), str(bad_bundle)}
    # what the server holds: the good trial, nothing of either bad one
    assert fresh.count("ResearchStudy", identifier=f"{NCT}|NCT00763412") == 1
    assert fresh.count("ResearchStudy", identifier=f"{NCT}|{BAD_RAW}") == 0
    assert fresh.count("ResearchStudy", identifier=f"{NCT}|{BAD_BUNDLE}") == 0
    assert fresh.count("ResearchStudy") == 1
