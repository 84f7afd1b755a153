"""The worker pool of the pipeline: units converted by processes, results in input order, and no unit able to cost
another its result.

Units go to the workers in chunks, with a bounded window in flight. What can go wrong with a chunk, and what
happens then:

- a record over its time limit is stopped in the worker (SIGALRM, ``stages.Deadline``); where a signal cannot
  interrupt it (a loop in C), the parent's watchdog gives up on a chunk in flight for longer than its budget
  (units x limit + slack), kills the workers and retries that chunk's units one by one;
- a worker that dies (SIGKILL, the kernel's OOM killer, a crash) breaks the whole pool: the pool is rebuilt and
  every chunk that was in flight is retried once; a chunk that breaks the pool again is retried unit by unit, each
  unit alone in the pool, so that exactly the guilty unit is reported (stage ``worker``, with the signal);
- a chunk that cannot be sent to a worker, or whose result cannot be sent back (pickling), is retried unit by unit
  and the unit that cannot travel is reported.

The pool runs ``fhir_adapter.pipeline.stages.run_unit`` in each worker; ``fhir_adapter.pipeline.iter_outcomes``
drives it. See docs/architecture.md.
"""

from __future__ import annotations

import gc
import math
import signal
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

from fhir_adapter.outcome import Outcome
from fhir_adapter.pipeline.stages import ConvertFn, ConvertOptions, run_unit, time_limit_message, unit_failure, warm_up
from fhir_adapter.sources import Unit

CHUNK = 8  # units per chunk: few enough to keep a retry cheap, enough to keep the queues' overhead low
# A chunk also ends once its units hold this many input bytes: a few large records (a trial with 1,000 sites) make a
# chunk of their own, so that one worker is not left with a long chunk while the other waits at the end of the run
# or behind the head of the window.
CHUNK_BYTES = 256 * 1024
SLACK_SECONDS = 2.0  # the watchdog's margin over the per-record limits (process start, queues, scheduling)
STOP_WAIT_SECONDS = 10.0  # how long a broken pool may take to stop its other workers before they are killed


def _worker_init(options: ConvertOptions) -> None:
    """In each worker: Ctrl-C is the parent's to handle (no traceback per worker), and caches are warm."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up(options)


def _run_chunk(units: list[Unit], options: ConvertOptions, convert: ConvertFn) -> list[Outcome]:
    return [o for u in units for o in run_unit(u, options, convert)]


@dataclass(slots=True, eq=False)
class _Job:
    units: list[Unit]
    retried: bool = False  # already retried once after a pool break
    alone: bool = False  # runs with nothing else in flight, so that a pool break is its own doing
    future: Future[list[Outcome]] | None = None
    outcomes: list[Outcome] | None = None  # settled here, without a worker

    def in_flight(self) -> bool:
        return self.future is not None and not self.future.done()


def _alone(job: _Job) -> list[_Job]:
    return [_Job([u], retried=True, alone=True) for u in job.units]


def _death_message(codes: list[int]) -> str:
    """What became of the worker, from the exit codes of the pool's dead processes (SIGTERM: the pool's own
    clean-up of the other workers)."""
    own = [c for c in codes if c not in (0, -signal.SIGTERM)] or [c for c in codes if c != 0]
    if not own:
        return "the worker's result could not be received (the worker pool broke)"
    code = own[0]
    return f"worker process died (signal {-code})" if code < 0 else f"worker process exited with code {code}"


class _Pool:
    """A ``ProcessPoolExecutor`` that is rebuilt when it breaks, with the bookkeeping to attribute the break."""

    def __init__(self, options: ConvertOptions, convert: ConvertFn) -> None:
        self.options, self.convert = options, convert
        self.executor = self._new()
        self.processes: dict[int, BaseProcess] = {}

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.options.workers, initializer=_worker_init, initargs=(self.options,))

    def budget(self, job: _Job) -> float | None:
        """Seconds the parent waits for a chunk it is waiting on before it stops the workers."""
        limit = self.options.limits.max_record_seconds
        if not 0 < limit < math.inf:
            return None
        return len(job.units) * limit + limit + SLACK_SECONDS

    def submit_ready(self, pending: deque[_Job]) -> None:
        """Submit the jobs not yet submitted, in order; a job that must run alone waits for an empty pool, and
        nothing is submitted while it runs."""
        if any(j.alone and j.in_flight() for j in pending):
            return
        for job in pending:
            if job.future is not None or job.outcomes is not None:
                continue
            if job.alone and any(j.in_flight() for j in pending):
                return
            try:
                job.future = self.executor.submit(_run_chunk, job.units, self.options, self.convert)
            except (BrokenProcessPool, RuntimeError):
                return  # the pool broke meanwhile: the head's wait sees it and recovers
            self.processes.update(self.executor._processes)
            if job.alone:
                return

    def settle(self, head: _Job, pending: deque[_Job]) -> list[Outcome] | None:
        """The head job's outcomes, or None when the pool had to be rebuilt (``pending`` is rearranged)."""
        if head.outcomes is not None:
            return head.outcomes
        if head.future is None:  # could not be submitted: the pool is broken
            self.recover(pending, None)
            return None
        start = time.monotonic()
        budget = self.budget(head)
        try:
            return head.future.result(timeout=budget)
        except TimeoutError:
            self.recover(pending, head, waited=time.monotonic() - start)
            return None
        except BrokenProcessPool:
            self.recover(pending, None)
            return None
        except Exception as e:  # the chunk or its result could not be pickled; the pool itself is fine
            if len(head.units) > 1:
                pending.popleft()
                pending.extendleft(reversed([_Job([u], retried=True) for u in head.units]))
                return None
            return [
                unit_failure(
                    head.units[0],
                    "worker",
                    f"the record could not be passed to or from a worker process: {type(e).__name__}: {e}",
                )
            ]

    def recover(self, pending: deque[_Job], stalled: _Job | None, waited: float = 0.0) -> None:
        """Stop and rebuild the pool; decide what becomes of every job that was in it (see the module docstring)."""
        codes = self._stop(kill_all=stalled is not None)
        redo: list[_Job] = []
        for job in pending:
            f = job.future
            if (
                f is None
                or job.outcomes is not None
                or (f.done() and not f.cancelled() and not isinstance(f.exception(), BrokenProcessPool))
            ):
                redo.append(job)  # not submitted, or settled: stays as it is
                continue
            job.future = None
            if job is stalled:
                if job.alone:
                    limit = self.options.limits.max_record_seconds
                    job.outcomes = [
                        unit_failure(
                            job.units[0], "limit", time_limit_message(limit) + f"; stopped after {waited:.0f} s"
                        )
                    ]
                    redo.append(job)
                else:
                    redo.extend(_alone(job))
            elif job.alone and stalled is None:
                job.outcomes = [unit_failure(job.units[0], "worker", _death_message(codes))]
                redo.append(job)
            elif f.cancelled() or not job.retried:
                job.retried = job.retried or not f.cancelled()
                redo.append(job)
            else:
                redo.extend(_alone(job))
        pending.clear()
        pending.extend(redo)
        self.executor = self._new()
        self.processes = {}

    def _stop(self, kill_all: bool) -> list[int]:
        """Shut the broken (or stalled) pool down; returns the exit codes of the workers that had died on their own."""
        procs = list({**self.processes, **self.executor._processes}.values())
        if not kill_all:
            # The broken pool stops its other workers itself; wait for that (bounded), so that every exit code is
            # known: reading one while the pool's thread is reaping that process would give None.
            until = time.monotonic() + STOP_WAIT_SECONDS
            while any(p.exitcode is None for p in procs) and time.monotonic() < until:
                time.sleep(0.02)
        codes = [p.exitcode for p in procs]
        _kill(self.executor, [p for p in procs if kill_all or p.exitcode is None])
        self.executor.shutdown(wait=True, cancel_futures=True)
        return [c for c in codes if c is not None] if not kill_all else []

    def close(self, abort: bool) -> None:
        if abort:
            _kill(self.executor, list(self.executor._processes.values()))
        self.executor.shutdown(wait=True, cancel_futures=True)


def _kill(executor: ProcessPoolExecutor, procs: list[BaseProcess]) -> None:
    """Kill worker processes so that the executor can still shut down.

    A worker killed while sending a result larger than a pipe buffer leaves half a message in the result pipe, and
    the executor's manager thread, already reading it, would wait for the rest forever: this process holds the
    pipe's write end too (CPython 3.11), so the read never sees the end of the file, and ``shutdown(wait=True)``
    would hang (the closed-pipe test's hang, ``convert -o - | head -1``). Closing this process's write end once the
    workers are dead ends that read (EOF), which the executor takes for a broken pool and cleans up; nothing in this
    process writes results."""
    if not procs:
        return
    for p in procs:
        p.kill()
    for p in procs:
        p.join(STOP_WAIT_SECONDS)
    result_queue = getattr(executor, "_result_queue", None)
    writer = getattr(result_queue, "_writer", None)
    if writer is not None:
        writer.close()


def _next_chunk(units: Iterator[Unit]) -> tuple[list[Unit], bool]:
    """The next chunk: up to ``CHUNK`` units, fewer when they hold ``CHUNK_BYTES`` of input; and whether the input
    ended."""
    chunk: list[Unit] = []
    size = 0
    for unit in units:
        chunk.append(unit)
        size += len(unit.data) if unit.data is not None else 0
        if len(chunk) >= CHUNK or size >= CHUNK_BYTES:
            return chunk, False
    return chunk, True


def iter_pool(units: Iterator[Unit], options: ConvertOptions, convert: ConvertFn) -> Iterator[Outcome]:
    """Outcomes of every unit in input order, converted by ``options.workers`` processes (see the module docstring).
    At most ``workers x 4`` chunks are in flight (``Executor.map`` would read all the input first).

    The objects alive now (the modules and caches ``warm_up`` loaded) are frozen out of the garbage collector
    before the workers are forked: a worker's collections then never walk them, which would cost CPU and copy
    every page they live on into the worker (copy-on-write). https://docs.python.org/3/library/gc.html#gc.freeze"""
    window = options.workers * 4
    gc.freeze()
    pool = _Pool(options, convert)
    pending: deque[_Job] = deque()
    exhausted, done = False, False
    try:
        while True:
            while not exhausted and len(pending) < window:
                chunk, exhausted = _next_chunk(units)
                if chunk:
                    pending.append(_Job(chunk))
            if not pending:
                done = True
                return
            pool.submit_ready(pending)
            outcomes = pool.settle(pending[0], pending)
            if outcomes is not None:
                pending.popleft()
                yield from outcomes
    finally:
        pool.close(abort=not done)
        gc.unfreeze()


__all__ = ["CHUNK", "CHUNK_BYTES", "SLACK_SECONDS", "iter_pool"]
