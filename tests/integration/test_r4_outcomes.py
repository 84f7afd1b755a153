"""Outcome measures reachable on a stock R4 server (issue 12, item 8): HAPI R4 started with
``--no-extra-search-params`` (only the search parameters of the R4 specification), a converted trial pushed as an
R4 transaction, its outcomes found and read back with the README's search ("Outcomes in R4") and without reading
any extension: ``EvidenceVariable?context=https://clinicaltrials.gov|<NCT id>``.

The server is this file's own (not the ``server`` fixture of conftest.py, which starts HAPI R4 with this repo's
extra search parameters), started with ``tools/fhir-server`` on a free port of 127.0.0.1 and stopped after.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fhir_adapter.bundle import to_bundle
from fhir_adapter.model import Trial
from fhir_adapter.sources import read_trials
from integration.fhir_servers import REPO, START_TIMEOUT, TOOL

pytestmark = pytest.mark.slow

NCT = "https://clinicaltrials.gov"
TRIALS = [REPO / "tests" / "data" / "ctgov-v2" / "NCT02552212.json", REPO / "seeds" / "000_fdb36eec3c492087.txt"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stock_r4(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a stock HAPI R4 server (no search parameter beyond the R4 specification's)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    log_path = tmp_path_factory.mktemp("stock-r4") / "hapi-r4-stock.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(TOOL), "hapi-r4", "--port", str(port), "--no-extra-search-params"],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT["hapi-r4"]
            while not _answers(base):
                assert proc.poll() is None, f"HAPI R4 exited with {proc.returncode}: {log_path.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"HAPI R4 did not answer within the start timeout; see {log_path}"
                time.sleep(0.5)
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/metadata", timeout=5).status_code == 200
    except requests.exceptions.RequestException:
        return False


def _search(base: str, resource_type: str, **params: str) -> list[dict[str, Any]]:
    r = requests.get(f"{base}/{resource_type}", params={**params, "_count": "500"}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    assert "next" not in {link.get("relation") for link in r.json().get("link", [])}
    return [e["resource"] for e in r.json().get("entry", [])]


@pytest.fixture(scope="module")
def pushed(stock_r4: str) -> list[Trial]:
    """The trials, each pushed as its R4 transaction Bundle (the one ``push`` sends)."""
    trials = [t for path in TRIALS for t in read_trials(path)]
    for t in trials:
        r = requests.post(
            stock_r4,
            json=to_bundle(t, "R4", "transaction"),
            headers={"Content-Type": "application/fhir+json"},
            timeout=300,
        )
        assert r.status_code == 200, r.text[:1000]
    return trials


def _plain(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as a client that ignores extensions reads it."""
    if isinstance(resource, dict):
        return {k: _plain(v) for k, v in resource.items() if k not in ("extension", "modifierExtension")}
    if isinstance(resource, list):
        return [_plain(v) for v in resource]  # type: ignore[return-value]
    return resource


def test_the_documented_search_finds_every_outcome_of_the_study(stock_r4: str, pushed: list[Trial]) -> None:
    for trial in pushed:
        (study,) = _search(stock_r4, "ResearchStudy", identifier=f"{NCT}|{trial.nct_id}")
        outcomes = [_plain(ev) for ev in _search(stock_r4, "EvidenceVariable", context=f"{NCT}|{trial.nct_id}")]
        # one EvidenceVariable per outcome measure of this study, and no other study's
        assert Counter(ev["title"] for ev in outcomes) == Counter(o.measure for o in trial.outcomes)
        assert Counter(ev["title"] for ev in outcomes) == Counter(o["name"] for o in _plain(study)["objective"])
        for ev in outcomes:
            assert ev["useContext"] == [
                {
                    "code": {
                        "system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
                        "code": "program",
                        "display": "Program",
                    },
                    "valueCodeableConcept": {"coding": [{"system": NCT, "code": trial.nct_id}], "text": trial.nct_id},
                }
            ]


def test_the_time_points_come_back_in_the_cross_version_extension(stock_r4: str, pushed: list[Trial]) -> None:
    """ "Week 52" (NCT02552212) and the seed's "6-month progression free survival rate (PFS6)": the server keeps the
    time point of the R5 ``timeFromEvent`` in its cross-version extension (R4 -> trial stays lossless)."""
    url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-EvidenceVariable.characteristic.timeFromEvent"
    by_nct = {t.nct_id: t for t in pushed}
    seen = {}
    for nct_id in by_nct:
        for ev in _search(stock_r4, "EvidenceVariable", context=f"{NCT}|{nct_id}"):
            ext = [e for e in ev["characteristic"][0].get("extension", []) if e["url"] == url]
            seen[(nct_id, ev["title"])] = {
                s["url"]: next(v for k, v in s.items() if k != "url") for s in ext[0]["extension"]
            }
    week_52 = next(o.measure for o in by_nct["NCT02552212"].outcomes if o.time_frame == "Week 52")
    ucum = "http://unitsofmeasure.org"
    assert seen[("NCT02552212", week_52)] == {
        "description": "Week 52",
        "quantity": {"value": 52, "system": ucum, "code": "wk"},
    }
    pfs6 = by_nct["NCT07236528"].outcomes[0].measure
    assert seen[("NCT07236528", pfs6)] == {"quantity": {"value": 6, "system": ucum, "code": "mo"}}


def test_the_search_uses_no_parameter_beyond_the_r4_specification(stock_r4: str) -> None:
    """The server is stock: ResearchStudy has no ``phase`` search parameter (this repo's HAPI adds one)."""
    r = requests.get(f"{stock_r4}/ResearchStudy", params={"phase": "phase-2"}, timeout=60)
    assert r.status_code == 400, r.text[:300]
