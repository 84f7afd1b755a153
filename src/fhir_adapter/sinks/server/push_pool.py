"""Concurrent push: :class:`ChunkPool` sends the chunks of :func:`fhir_adapter.sinks.server.push.push_bundles` on up
to ``connections`` requests at once, keeping what a one-connection push guarantees.

- **No race on a shared key.** A chunk's keys are its entries' request URLs (``ResearchStudy?identifier=...``,
  ``Type?url=...``, ``Type/id``): what the server looks the resource up by. A chunk is never started while a chunk in
  flight has a key in common with it; it waits for that chunk to be answered. Two conditional PUTs on the same key
  sent at once would both find nothing and both create (a duplicate), and two PUTs of the same ``Type/id`` may meet
  in a version conflict (https://hl7.org/fhir/R5/http.html#concurrency). Serialised, the second finds the first's
  resource and changes nothing, as on one connection. Our ids and canonicals are minted from the NCT id
  (``fhir_adapter.fhir.ids``), so trials share keys only when the same trial comes twice in the inputs; the
  definitions that many trials share (``--definitions``) are sent by the caller, on its own thread, before the first
  chunk that uses them is handed over, so they are stored before any trial that uses them.
- **One request first.** Until a chunk has been answered without a reason to stop (credentials refused, the server
  gone), one chunk at a time is in flight: bad credentials or a dead server fail the first trial and leave the
  others not attempted, as on one connection. A stop seen later lets the chunks in flight finish (each then ends
  pushed or failed with its own reason) and starts no more.
- **Results in input order.** Each chunk's :class:`PushResult` goes to ``on_done`` in the order the chunks were
  handed over (a short wait-list holds the results that came back early), so the per-trial lines, the progress line
  and the summary read as on one connection.

Each request still has its own retries and backoff (``fhir_adapter.sinks.server.client``); the circuit breaker is
shared by every connection. With ``connections=1`` nothing runs on another thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from fhir_adapter.sinks.server.entries import Prepared, PushResult

__all__ = ["ChunkPool", "chunk_keys"]

BACKLOG = 4  # results held back at most, per connection, while an earlier chunk is still in flight


def chunk_keys(chunk: list[Prepared]) -> frozenset[str]:
    """The keys the server finds a chunk's resources by: its entries' request URLs."""
    return frozenset(e["request"]["url"] for p in chunk for e in p.entries)


@dataclass(slots=True)
class _Handed:
    future: Future[PushResult]
    keys: frozenset[str]
    done: Callable[[PushResult], None]


class ChunkPool:
    """Sends chunks with ``send`` on up to ``connections`` threads (module docstring: keys, first request, order).
    Use as a context manager: leaving it waits for every chunk handed over and reports it."""

    def __init__(self, connections: int, send: Callable[[list[Prepared]], PushResult]) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        self.connections = connections
        self.send = send
        self.stopped: str | None = None  # the first stop reason any answered chunk gave
        self.answered = False  # a chunk was answered without a reason to stop: open all connections
        self.handed: deque[_Handed] = deque()  # handed over, not reported yet, in order
        self.executor = ThreadPoolExecutor(connections, "fhir-push") if connections > 1 else None

    def __enter__(self) -> ChunkPool:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                while self.handed:
                    self._wait([self.handed[0].future])
                    self._report()
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, chunk: list[Prepared], done: Callable[[PushResult], None]) -> bool:
        """Whether ``chunk`` was sent: it goes when a connection is free and no chunk in flight shares a key with
        it, and ``done`` gets its result, in the order of the calls (results that came back meanwhile are reported
        first); it is not sent (False) when an answer while it waited said to stop."""
        keys = chunk_keys(chunk)
        while True:
            self._report()
            if self.stopped is not None:
                return False
            busy = [h.future for h in self.handed if not h.future.done()]
            clash = [h.future for h in self.handed if not h.future.done() and h.keys & keys]
            limit = self.connections if self.answered else 1
            if clash or len(busy) >= limit:
                self._wait(clash or busy)
            elif len(self.handed) >= BACKLOG * self.connections:
                self._wait([self.handed[0].future])
            else:
                break
        if self.executor is None:
            future: Future[PushResult] = Future()
            future.set_result(self.send(chunk))
        else:
            future = self.executor.submit(self.send, chunk)
        self.handed.append(_Handed(future, keys, done))
        self._report()
        return True

    def _answered(self, future: Future[PushResult]) -> None:
        """Note what an answered chunk tells (looked at on the caller's thread, so that ``stopped`` is set before
        the caller decides whether to hand over more)."""
        if future.exception() is not None:
            return
        stop = future.result().stop
        if stop is None:
            self.answered = True
        elif self.stopped is None:
            self.stopped = stop

    def _wait(self, futures: list[Future[PushResult]]) -> None:
        wait(futures, return_when=FIRST_COMPLETED)

    def _report(self) -> None:
        """Note what every answered chunk tells, and hand the answered results at the head of the line to their
        ``done`` (an exception raised by ``send`` comes out here)."""
        for h in self.handed:
            if h.future.done():
                self._answered(h.future)
        while self.handed and self.handed[0].future.done():
            handed = self.handed.popleft()
            handed.done(handed.future.result())
