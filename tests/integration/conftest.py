"""Real FHIR servers for the integration tests, started here on free ports of 127.0.0.1 and stopped after.

Each server kind is one session fixture: ``tools/fhir-server <kind> --port <p>`` (which builds what it needs on
first use) in its own process group, polled on ``/fhir/metadata`` until it answers (HAPI: up to 180 s), killed at
the end of the session. Between tests the store is emptied with the server's documented test-only reset:
Medplum ``DELETE /fhir/$reset``, HAPI ``POST /fhir/$expunge`` with ``expungeEverything=true``. Never a fake server.

While a server builds or starts, a line every 15 s on the terminal names the step and the time spent (a first HAPI
build downloads HAPI FHIR from Maven Central for minutes; the build's output is in the server's log file).

``stock_r4`` is a second HAPI R4 started with ``--no-extra-search-params``: R4 core search parameters only, as a
hospital's HAPI (no ``condition``, no ``phase`` on ResearchStudy); tests/integration/test_stock_r4.py.

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
import sys
import time
from collections.abc import Callable, Iterator, Sequence
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


HEARTBEAT = 15.0  # seconds between two progress lines while a server builds or starts


class _Heartbeat:
    """A line on the terminal every ``HEARTBEAT`` seconds while a server is not up: which server, which step (the
    build, told by the tool's "building" line in the log, or the start), the time so far and the log's last line.
    pytest captures the test output, so the lines go out with capturing suspended."""

    def __init__(self, config: pytest.Config, kind: str, log: Path) -> None:
        self.capture = config.pluginmanager.getplugin("capturemanager")
        self.kind = kind
        self.log = log
        self.start = self.last = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last < HEARTBEAT:
            return
        self.last = now
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        step = "building the server (Maven)" if "building" in text and "ready at" not in text else "starting"
        tail = text.strip().splitlines()[-1][:120] if text.strip() else ""
        line = f"[{self.kind}] {step}: {now - self.start:.0f} s so far{f' -- {tail}' if tail else ''}"
        if self.capture is not None:
            with self.capture.global_and_fixture_disabled():
                print(line, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


def _start(
    kind: str, log_dir: Path, config: pytest.Config, extra: Sequence[str] = (), name: str | None = None
) -> Iterator[Server]:
    from fhir_adapter.bundle import FHIR_VERSIONS

    version = KINDS[kind]
    if version not in FHIR_VERSIONS:  # fail, never skip: a missing mapping must not pass as a green run
        pytest.fail(f"{kind}: fhir_adapter.bundle has no {version} mapping (FHIR_VERSIONS={FHIR_VERSIONS})")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    log = (log_dir / f"{name or kind}.log").open("wb")
    heartbeat = _Heartbeat(config, name or kind, Path(log.name))
    proc = subprocess.Popen(
        [str(TOOL), kind, "--port", str(port), *extra],
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
            heartbeat.tick()
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
    yield from _start(request.param, tmp_path_factory.mktemp("servers"), request.config)


@pytest.fixture(scope="session")
def stock_r4(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """HAPI R4 with the core search parameters only (``--no-extra-search-params``), as a hospital runs it."""
    yield from _start(
        "hapi-r4", tmp_path_factory.mktemp("servers"), request.config, ["--no-extra-search-params"], "hapi-r4-stock"
    )


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
