"""Real FHIR servers for the integration tests, started here on free ports of 127.0.0.1 and stopped after.

Each server kind is one session fixture: ``tools/fhir-server <kind> --port <p>`` (which builds what it needs on
first use) in its own process group, polled on ``/fhir/metadata`` until it answers (HAPI: up to 180 s), killed at
the end of the session. Between tests the store is emptied with the server's documented test-only reset:
Medplum ``DELETE /fhir/$reset``, HAPI ``POST /fhir/$expunge`` with ``expungeEverything=true``. Never a fake server.

Which kinds run: ``FHIR_ADAPTER_SERVERS`` (comma-separated; default ``hapi-r5,hapi-r4,medplum``). A kind whose
release has no mapping in ``fhir_adapter.bundle.FHIR_VERSIONS`` fails its tests before its server is started.
Under ``pytest --all`` (pytest-xdist) every test in this folder runs on one worker (``xdist_group_of`` in
tests/conftest.py), so each server kind starts once per run, shared by all the files here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest
import requests

from fhir_adapter.model import Trial
from fhir_adapter.sources import read_records
from integration.fhir_servers import KINDS, REPO, START_TIMEOUT, TOOL, Server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _kinds() -> list[str]:
    wanted = os.environ.get("FHIR_ADAPTER_SERVERS", ",".join(KINDS))
    return [k.strip() for k in wanted.split(",") if k.strip() in KINDS]


def _start(kind: str, log_dir: Path) -> Iterator[Server]:
    from fhir_adapter.bundle import FHIR_VERSIONS

    version = KINDS[kind]
    if version not in FHIR_VERSIONS:  # fail, never skip: a missing mapping must not pass as a green run
        pytest.fail(f"{kind}: fhir_adapter.bundle has no {version} mapping (FHIR_VERSIONS={FHIR_VERSIONS})")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    log = (log_dir / f"{kind}.log").open("wb")
    proc = subprocess.Popen(
        [str(TOOL), kind, "--port", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT[kind]
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{kind} exited with {proc.returncode} before answering; see {log.name}:\n"
                    + Path(log.name).read_text(errors="replace")[-3000:]
                )
            try:
                if requests.get(f"{base}/metadata", timeout=5).status_code == 200:
                    break
            except requests.exceptions.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{kind} did not answer {base}/metadata within {START_TIMEOUT[kind]:.0f} s; see {log.name}"
                )
            time.sleep(0.5)
        yield Server(kind, base, version)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="session", params=_kinds())
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per kind (tests are grouped by kind, so at most one runs at a time)."""
    yield from _start(request.param, tmp_path_factory.mktemp("servers"))


@pytest.fixture
def fresh(server: Server) -> Server:
    """The server, emptied."""
    server.reset()
    return server


# The test records: read by session fixtures, on first use, never at import (collection lists file names only).


@pytest.fixture(scope="session")
def trial_of() -> Callable[[Path], Trial | None]:
    """The reader of an input's one trial: the single readable record of the file, with an NCT id, else None; each
    file read once per session."""

    @cache
    def read(path: Path) -> Trial | None:
        records = list(read_records([path]))
        if len(records) != 1 or records[0].trial is None or not records[0].trial.nct_id:
            return None
        return records[0].trial

    return read


@pytest.fixture(scope="session")
def v1_trials() -> tuple[Trial, ...]:
    """The API v1 fixtures: one page of 100 COVID-19 studies and two single studies."""
    records = list(read_records([REPO / "tests/data/ctgov-v1"]))
    assert records and all(r.trial is not None for r in records)
    return tuple(r.trial for r in records if r.trial is not None)
