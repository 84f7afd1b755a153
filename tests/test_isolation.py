"""Every record is isolated: an exception, a time limit, a worker killed by a signal or a record that cannot travel to
a worker costs that record only; the others come back, in input order, whatever the number of workers.

The misbehaving conversions are injected through ``iter_outcomes(..., convert=...)`` with the module-level functions
below (they must be importable by the worker processes); each misbehaves only for a unit holding its marker."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.limits import Limits
from fhir_adapter.model import Source, Trial
from fhir_adapter.pipeline import ConvertOptions, Outcome, convert_paths, convert_unit, iter_outcomes
from fhir_adapter.pipeline.pool import iter_pool
from fhir_adapter.pipeline.stages import convert_record
from fhir_adapter.sources import Record, Unit

HANG_CEILING = 240  # seconds: a run that takes longer is a hang (a generous ceiling, not a timing assertion)


def _study(nct: str, marker: str = "") -> str:
    return json.dumps({"protocolSection": {"identificationModule": {"nctId": nct, "briefTitle": f"t {marker}"}}})


def _input(tmp_path: Path, n: int, marked: dict[int, str]) -> tuple[Path, list[str]]:
    """An NDJSON file of n minimal studies; line i (1-based) carries marked[i] in its title."""
    ids = [f"NCT{95000000 + i:08d}" for i in range(1, n + 1)]
    src = tmp_path / "in.ndjson"
    src.write_text("\n".join(_study(nct, marked.get(i, "")) for i, nct in enumerate(ids, 1)) + "\n")
    return src, ids


def _sigkill_on_marker(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    if unit.data and b"KILLME" in unit.data:
        os.kill(os.getpid(), signal.SIGKILL)
    return convert_unit(unit, options)


def _sleep_on_marker(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    if unit.data and b"SLEEPY" in unit.data:
        time.sleep(60)
    return convert_unit(unit, options)


def _stall_on_marker(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    """Stands in for a loop in C that a signal handler cannot interrupt: SIGALRM is blocked, so only the parent's
    watchdog can stop it."""
    if unit.data and b"STALL" in unit.data:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(120)
    return convert_unit(unit, options)


def _raise_on_marker(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    if unit.data and b"RECURSE" in unit.data:
        raise RecursionError("maximum recursion depth exceeded")
    if unit.data and b"NOMEMORY" in unit.data:
        raise MemoryError()
    if unit.data and b"EXITS" in unit.data:
        sys.exit(3)
    return convert_unit(unit, options)


def _unpicklable_result_on_marker(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    outcomes = convert_unit(unit, options)
    if unit.data and b"NOPICKLE" in unit.data:
        outcomes[0].messages.append(lambda: None)  # type: ignore[arg-type]  # a result that cannot go back
    return outcomes


def _collect(run: Callable[[], Iterator[Outcome]]) -> list[Outcome]:
    """The outcomes of ``run()``, collected in a thread so that a hang fails the test instead of blocking it."""
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(list(run()))
        except BaseException as e:  # handed to the test thread
            box.append(e)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_CEILING)
    assert not thread.is_alive(), f"no result after {HANG_CEILING} s"
    if isinstance(box[0], BaseException):
        raise box[0]
    result: list[Outcome] = box[0]
    return result


def _check(outcomes: list[Outcome], ids: list[str], bad: dict[str, str], messages: dict[str, str]) -> None:
    """Every record in input order; the bad ones failed at the given stage with the given words, the others ok."""
    assert [o.nct_id for o in outcomes] == ids
    for o in outcomes:
        if o.nct_id in bad:
            assert (o.ok, o.stage) == (False, bad[o.nct_id]), (o.nct_id, o.stage, o.messages)
            assert messages[o.nct_id] in o.messages[0], o.messages
        else:
            assert o.ok, (o.nct_id, o.stage, o.messages)


def test_a_worker_killed_by_sigkill_costs_its_record_only(tmp_path: Path) -> None:
    src, ids = _input(tmp_path, 20, {11: "KILLME"})
    outcomes = _collect(lambda: iter_outcomes([src], ConvertOptions(workers=2), _sigkill_on_marker))
    _check(outcomes, ids, {ids[10]: "worker"}, {ids[10]: f"worker process died (signal {int(signal.SIGKILL)})"})


def test_two_killers_in_flight_are_both_found(tmp_path: Path) -> None:
    src, ids = _input(tmp_path, 24, {3: "KILLME", 14: "KILLME"})
    outcomes = _collect(lambda: iter_outcomes([src], ConvertOptions(workers=2), _sigkill_on_marker))
    _check(outcomes, ids, {ids[2]: "worker", ids[13]: "worker"}, {ids[2]: "died", ids[13]: "died"})


@pytest.mark.parametrize("workers", [1, 2])
def test_a_record_over_its_time_limit_is_stopped_in_the_worker(tmp_path: Path, workers: int) -> None:
    src, ids = _input(tmp_path, 10, {4: "SLEEPY"})
    options = ConvertOptions(workers=workers, limits=Limits(max_record_seconds=1.0))
    run = lambda: iter_outcomes([src], options, _sleep_on_marker)  # noqa: E731
    outcomes = list(run()) if workers == 1 else _collect(run)  # SIGALRM needs the main thread in-process
    _check(outcomes, ids, {ids[3]: "limit"}, {ids[3]: "over the time limit of 1 s"})


def test_a_record_a_signal_cannot_stop_is_stopped_by_the_watchdog(tmp_path: Path) -> None:
    src, ids = _input(tmp_path, 3, {2: "STALL"})
    options = ConvertOptions(workers=2, limits=Limits(max_record_seconds=1.0))
    outcomes = _collect(lambda: iter_outcomes([src], options, _stall_on_marker))
    _check(outcomes, ids, {ids[1]: "limit"}, {ids[1]: "stopped after"})


@pytest.mark.parametrize("workers", [1, 2])
def test_recursion_and_memory_errors_cost_their_record_only(tmp_path: Path, workers: int) -> None:
    src, ids = _input(tmp_path, 12, {2: "RECURSE", 9: "NOMEMORY", 11: "EXITS"})
    outcomes = _collect(lambda: iter_outcomes([src], ConvertOptions(workers=workers), _raise_on_marker))
    _check(
        outcomes,
        ids,
        {ids[1]: "convert", ids[8]: "convert", ids[10]: "convert"},
        {ids[1]: "RecursionError", ids[8]: "MemoryError", ids[10]: "SystemExit"},
    )


def test_a_result_that_cannot_travel_back_costs_its_record_only(tmp_path: Path) -> None:
    src, ids = _input(tmp_path, 12, {5: "NOPICKLE"})
    outcomes = _collect(lambda: iter_outcomes([src], ConvertOptions(workers=2), _unpicklable_result_on_marker))
    _check(outcomes, ids, {ids[4]: "worker"}, {ids[4]: "could not be passed"})


def test_a_unit_that_cannot_be_sent_to_a_worker_costs_itself_only() -> None:
    units = [Unit("mem", index=i, data=_study(f"NCT{96000000 + i:08d}").encode()) for i in range(10)]
    units[6] = Unit("mem", index=6, study={"protocolSection": {"x": lambda: None}}, format="ctgov-json")
    outcomes = _collect(lambda: iter_pool(iter(units), ConvertOptions(workers=2), convert_unit))
    assert [o.index for o in outcomes] == list(range(10))
    assert [o.ok for o in outcomes] == [i != 6 for i in range(10)]
    assert outcomes[6].stage == "worker" and "could not be passed" in outcomes[6].messages[0]


def test_a_value_orjson_refuses_fails_at_the_serialise_stage() -> None:
    trial = Trial(nct_id="NCT00000007", brief_title="t", enrollment_count=10**30)  # beyond 64 bits
    outcome = convert_record(Record(Source("test", "mem"), trial=trial), ConvertOptions(validate=False))
    assert (outcome.ok, outcome.stage) == (False, "serialise"), outcome.messages
    assert "64-bit" in outcome.messages[0] or "Integer" in outcome.messages[0]


def test_killed_worker_through_convert_paths_writes_the_others_and_reports_it(tmp_path: Path) -> None:
    src, ids = _input(tmp_path, 10, {7: "KILLME"})
    out = tmp_path / "out"
    box: list[Any] = []
    thread = threading.Thread(
        target=lambda: box.append(convert_paths([src], out, ConvertOptions(workers=2), convert=_sigkill_on_marker)),
        daemon=True,
    )
    thread.start()
    thread.join(HANG_CEILING)
    assert box, "convert_paths did not finish"
    assert (box[0].converted, box[0].failed) == (9, 1)
    assert sorted(p.name for p in out.glob("NCT*.json")) == sorted(f"{i}.json" for i in ids if i != ids[6])
    (error,) = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert (error["source"], error["index"], error["nct_id"], error["stage"]) == (str(src), 7, ids[6], "worker")
