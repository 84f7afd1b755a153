"""The conversion pipeline: read -> map -> validate -> serialise -> write, streamed and optionally parallel.

``convert_paths`` is what ``fhir-adapter convert`` (and ``fetch --convert``) run. Inputs are cut into units in
this process (``sources.iter_units``); each unit is read, mapped, validated and serialised by a worker; results are
written here in input order, so the output does not depend on the number of workers. At most a bounded number of
units is in flight, so memory stays flat whatever the input size.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from fhir_adapter.errors import FhirAdapterError
from fhir_adapter.sources import Unit, iter_units, read_unit

ERRORS_FILE = "errors.jsonl"


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    fhir_version: str = "R5"
    bundle_type: str = "collection"
    ndjson: bool = False  # FHIR Bulk Data layout: one <ResourceType>.ndjson per type
    validate: bool = True
    workers: int = 1  # processes; 1 converts in this process
    indent: bool = True  # pretty-print bundle files (NDJSON lines are always compact)


@dataclass(slots=True)
class Outcome:
    """What became of one record. ``stage`` says where a failure happened: read, map, validate."""

    path: str
    index: int | None
    nct_id: str | None
    ok: bool
    stage: str = ""
    messages: list[str] = field(default_factory=list)  # errors (failure) or warnings (success), one line each
    warnings: int = 0
    resources: int = 0
    payload: bytes = b""  # the serialised bundle (bundle mode)
    lines: list[tuple[str, bytes]] = field(default_factory=list)  # (resource type, NDJSON line) in NDJSON mode

    @property
    def where(self) -> str:
        return self.path + (f"#{self.index}" if self.index is not None else "")


@dataclass(slots=True)
class ConvertSummary:
    converted: int = 0
    failed: int = 0
    warnings: int = 0
    resources: int = 0
    errors_file: Path | None = None

    @property
    def records(self) -> int:
        return self.converted + self.failed


def convert_unit(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    """Read, map, validate and serialise the record(s) of one unit (runs in a worker)."""
    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.validate import validate

    outcomes = []
    for record in read_unit(unit):
        src = record.source
        if record.error is not None:
            outcomes.append(Outcome(src.path, src.index, record.error.nct_id, False, "read", [record.error.describe()]))
            continue
        trial = record.trial
        assert trial is not None
        warnings = [f"{i.severity}: {i.location}: {i.message}" for i in trial.issues if i.severity != "information"]
        try:
            bundle = to_bundle(trial, options.fhir_version, options.bundle_type)
        except FhirAdapterError as e:
            outcomes.append(Outcome(src.path, src.index, trial.nct_id, False, "map", [str(e)]))
            continue
        except Exception as e:  # a mapper bug must not stop the batch; report it with the record
            outcomes.append(Outcome(src.path, src.index, trial.nct_id, False, "map",
                                    [f"internal mapping error {type(e).__name__}: {e}"]))
            continue
        errors = [str(i) for i in validate(bundle, options.fhir_version) if i.is_error] if options.validate else []
        out = Outcome(src.path, src.index, trial.nct_id, not errors, "validate" if errors else "",
                      errors or warnings, len(warnings), len(bundle["entry"]))
        if options.ndjson:
            out.lines = [(e["resource"]["resourceType"], orjson.dumps(e["resource"])) for e in bundle["entry"]]
        else:
            out.payload = orjson.dumps(bundle, option=orjson.OPT_INDENT_2 if options.indent else 0) + b"\n"
        outcomes.append(out)
    return outcomes


def _convert_chunk(units: list[Unit], options: ConvertOptions) -> list[Outcome]:
    return [o for u in units for o in convert_unit(u, options)]


def _chunks(units: Iterator[Unit], size: int) -> Iterator[list[Unit]]:
    chunk: list[Unit] = []
    for u in units:
        chunk.append(u)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def iter_outcomes(inputs: Iterable[str | Path], options: ConvertOptions) -> Iterator[Outcome]:
    """Outcomes of every record, in input order, converted by ``options.workers`` processes."""
    units = iter_units(inputs)
    if options.workers <= 1:
        for unit in units:
            yield from convert_unit(unit, options)
        return
    # Bounded window of in-flight chunks: ordered results, flat memory (Executor.map would read all input first).
    window = options.workers * 4
    with ProcessPoolExecutor(max_workers=options.workers) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        for chunk in _chunks(units, 8):
            pending.append(pool.submit(_convert_chunk, chunk, options))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


class _Writer:
    """Writes outcomes: bundle files or NDJSON per type, and the errors file (JSON lines) when anything failed."""

    def __init__(self, output: Path, options: ConvertOptions) -> None:
        self.output, self.options = output, options
        self.ndjson: dict[str, IO[bytes]] = {}
        self.errors: IO[bytes] | None = None
        self.seen: set[str] = set()

    def write(self, o: Outcome) -> str | None:
        """Write one outcome; returns the target (file name) or None for a failure. A bundle that failed
        validation is not written (only listed in the errors file), so that nothing downstream picks it up."""
        if not o.ok:
            self._error(o)
            return None
        if o.nct_id:
            if o.nct_id in self.seen:
                o.messages.append(f"warning: NCT id {o.nct_id} seen before in this run; the later record wins")
            self.seen.add(o.nct_id)
        if self.options.ndjson:
            for rtype, line in o.lines:
                if rtype not in self.ndjson:
                    self.ndjson[rtype] = (self.output / f"{rtype}.ndjson").open("wb")
                self.ndjson[rtype].write(line + b"\n")
            return "NDJSON"
        target = self.output / f"{o.nct_id}.json"
        target.write_bytes(o.payload)
        return str(target)

    def _error(self, o: Outcome) -> None:
        if self.errors is None:
            self.errors = (self.output / ERRORS_FILE).open("wb")
        for message in o.messages:
            self.errors.write(orjson.dumps({"source": o.path, "index": o.index, "nct_id": o.nct_id,
                                            "stage": o.stage, "message": message}) + b"\n")

    def close(self) -> None:
        for f in self.ndjson.values():
            f.close()
        if self.errors is not None:
            self.errors.close()


def convert_paths(inputs: Iterable[str | Path], output: Path, options: ConvertOptions,
                  on_outcome: Callable[[Outcome, str | None], None] | None = None) -> ConvertSummary:
    """Convert every record of the inputs into ``output``; ``on_outcome(outcome, target)`` is told of each.

    Failed records are listed in ``output/errors.jsonl`` (source, index, NCT id, stage, message), a stale errors
    file from an earlier run is removed first. Never raises for bad input."""
    output.mkdir(parents=True, exist_ok=True)
    (output / ERRORS_FILE).unlink(missing_ok=True)
    summary = ConvertSummary()
    writer = _Writer(output, options)
    try:
        for outcome in iter_outcomes(inputs, options):
            target = writer.write(outcome)
            if outcome.ok:
                summary.converted += 1
                summary.resources += outcome.resources
                summary.warnings += outcome.warnings
            else:
                summary.failed += 1
            if on_outcome is not None:
                on_outcome(outcome, target)
    finally:
        writer.close()
    if writer.errors is not None:
        summary.errors_file = output / ERRORS_FILE
    return summary


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


__all__ = ["ConvertOptions", "ConvertSummary", "Outcome", "convert_paths", "convert_unit", "default_workers",
           "iter_outcomes"]
