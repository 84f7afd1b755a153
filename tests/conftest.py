"""Shared fixtures: where the test inputs live, and the ``--regen-golden`` switch.

Inputs are copies inside the repo (``seeds/``, ``tests/data/``), so the suite runs from a fresh clone alone.
Golden files are compared after parsing; ``--regen-golden`` rewrites them, and the diff must be reviewed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.model import Trial
from fhir_adapter.validate.hapi import BUILD_COMMAND, JAR_ENV, JAR_NAME

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
V2_FIXTURES = sorted((DATA / "ctgov-v2").glob("*.json"))
GOLDEN = DATA / "golden"
HAPI_JAR_BUILT = REPO / "validators" / "hapi" / "target" / JAR_NAME  # where BUILD_COMMAND writes the jar


# Suites behind marks: deselected by a plain ``pytest`` (the fast suite a developer runs all day), run by
# ``pytest --all`` (what CI and the README's test command run) or by naming them with ``-m``.
HEAVY_MARKS = ("slow", "hapi", "hostile")
# ``--all`` runs the suites on two pytest-xdist workers: the real servers (mostly waiting on Java and Node) beside
# the CPU-bound rest. More would only compete for the two cores of CI's machine.
ALL_WORKERS = 2


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true", help="rewrite golden files (review the diff!)")
    parser.addoption(
        "--all",
        action="store_true",
        dest="run_all",
        help=f"also run the suites marked {', '.join(HEAVY_MARKS)} (what CI runs)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``--all`` runs on ``ALL_WORKERS`` pytest-xdist workers with ``--dist loadgroup``, the groups of
    ``xdist_group_of``, unless ``-n`` is given (``-n 0``: one process, as before)."""
    if (
        config.getoption("run_all")
        and not hasattr(config, "workerinput")
        and getattr(config.option, "numprocesses", False) is None  # xdist installed, -n not given
    ):
        config.option.numprocesses = ALL_WORKERS
        config.option.dist = "loadgroup"


def xdist_group_of(nodeid: str) -> str:
    """The pytest-xdist group of a test (one worker runs a whole group): the real-server tests of one server kind
    (that server starts once, and the files in tests/integration share it; two kinds may run side by side on two
    workers, one kind never twice), the hostile suite (one background session of its cases), else the test module
    (its module fixtures, e.g. one HAPI validator run, are built once)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith("tests/hostile/"):
        return "hostile"
    if path.startswith("tests/integration/"):
        from integration.fhir_servers import KINDS

        params = nodeid.rpartition("[")[2] if nodeid.endswith("]") else ""
        kind = next((k for k in KINDS if params.startswith((f"{k}-", f"{k}]"))), "")
        return f"integration-{kind}" if kind else "integration"
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with the groups of ``xdist_group_of``, handed out in collection order (the hostile
    suite and the server kinds, the longest groups, come first). pytest-xdist 3.8's own loadgroup marks groups by
    rewriting ``item._nodeid``, which pytest 9 no longer reads, so the groups are told to the scheduler here."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

    config.option.loadscopereorder = False
    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("run_all") or config.getoption("markexpr"):
        return
    heavy = [i for i in items if any(i.get_closest_marker(m) for m in HEAVY_MARKS)]
    if heavy:
        config.hook.pytest_deselected(items=heavy)
        items[:] = [i for i in items if not any(i.get_closest_marker(m) for m in HEAVY_MARKS)]


@pytest.fixture(scope="session")
def hapi_jar() -> Iterator[Path]:
    """HAPI's validator jar: ``FHIR_ADAPTER_HAPI_JAR`` if set, else the one ``BUILD_COMMAND`` wrote in this checkout.

    Exported as ``FHIR_ADAPTER_HAPI_JAR`` for the session, so library calls (``hapi_validate``, ``validate(...,
    authoritative=True)``, the CLI in-process) find it. A missing jar FAILS the test, naming the build command: the
    tests never build Java and never skip.
    """
    jar = Path(os.environ.get(JAR_ENV) or HAPI_JAR_BUILT)
    if not jar.is_file():
        pytest.fail(f"HAPI's validator jar {jar} is missing: build it with `{BUILD_COMMAND}` (or set {JAR_ENV})")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(JAR_ENV, str(jar))
        yield jar


@pytest.fixture(autouse=True)
def _hapi_marked_tests_get_the_jar(request: pytest.FixtureRequest) -> None:
    """Every test marked ``hapi`` runs with ``hapi_jar`` (the setting exported, or a loud failure naming the build
    command), also when it calls the library or the CLI without asking for the fixture."""
    if request.node.get_closest_marker("hapi") is not None:
        request.getfixturevalue("hapi_jar")


@pytest.fixture(scope="session")
def reference_trials() -> dict[Path, Trial]:
    """The one trial of every reference input (``all_inputs()``), read once per session when a test first asks."""
    from helpers import trial_of

    return {path: trial_of(path) for path in all_inputs()}


@pytest.fixture(scope="session")
def reference_bundles(reference_trials: dict[Path, Trial]) -> dict[Path, dict[str, Any]]:
    """The R5 collection Bundle of every reference input, built once per session."""
    from fhir_adapter.bundle import to_bundle

    return {path: to_bundle(trial) for path, trial in reference_trials.items()}


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


def all_inputs() -> list[Path]:
    """Every reference input: the seed pages and the v2 fixtures."""
    return [*SEEDS, *V2_FIXTURES]


# The suite's wall time, printed last (issue 12: the README's test command prints its duration), from the start of
# the session (collection included) on the controlling process; pytest-xdist workers print nothing.
_SESSION_START: list[float] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    import time

    _SESSION_START.append(time.monotonic())


@pytest.hookimpl(trylast=True)  # after the other summaries (e.g. --durations): the duration is the last line
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _SESSION_START:
        return
    import time

    took = time.monotonic() - _SESSION_START[0]
    which = "every suite (--all)" if config.getoption("run_all") else "marked suites deselected"
    if config.getoption("markexpr") and not config.getoption("run_all"):
        which = f"-m {config.getoption('markexpr')}"
    workers = getattr(config.option, "numprocesses", None) or 1
    terminalreporter.write_line(f"suite took {took:.0f} s ({took / 60:.1f} min) on {workers} process(es); {which}")
