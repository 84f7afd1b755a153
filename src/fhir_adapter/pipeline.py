"""The conversion pipeline: read -> map -> validate -> serialise -> write, streamed and optionally parallel.

``convert_paths`` is what ``fhir-adapter convert`` (and ``fetch --convert``) run. Inputs are cut into units in
this process (``sources.iter_units``); each unit is read, mapped, validated and serialised by a worker; results are
written here in input order, so the output does not depend on the number of workers. At most a bounded number of
units is in flight, so memory stays flat whatever the input size.

Every unit is isolated: whatever goes wrong with it (a reader, mapper, validator or serialiser exception, even
``RecursionError`` or ``MemoryError``; its time limit; a worker process killed while converting it) becomes a failed
``Outcome`` for that unit, with the stage it failed in, and the batch goes on. ``fhir_adapter.workers`` runs the
process pool that survives a worker's death; ``fhir_adapter.sinks`` writes the files.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

import orjson

from fhir_adapter.errors import FhirAdapterError, LimitExceeded
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks import ERRORS_FILE, OutcomeWriter, OutputFolder, input_identities
from fhir_adapter.sources import Record, Unit, iter_units, read_unit


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    fhir_version: str = "R5"
    bundle_type: str = "collection"
    ndjson: bool = False  # FHIR Bulk Data layout: one <ResourceType>.ndjson per type
    validate: bool = True
    workers: int = 1  # processes; 1 converts in this process
    indent: bool = True  # pretty-print bundle files (NDJSON lines are always compact)
    limits: Limits = DEFAULT_LIMITS  # per-record limits (size, time, JSON depth, list items, archives)


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


# What converts one unit into its outcomes; ``convert_unit`` unless a caller (a test) passes another. In a pool it
# must be a module-level function, so that it can be sent to the worker processes.
ConvertFn = Callable[[Unit, ConvertOptions], list[Outcome]]


def _internal(kind: str, e: BaseException) -> str:
    return f"internal {kind} error {type(e).__name__}: {e}"


def convert_unit(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    """Read, map, validate and serialise the record(s) of one unit (runs in a worker). Never raises, except
    ``LimitExceeded`` for its time limit (``run_unit`` reports it)."""
    outcomes: list[Outcome] = []
    records = read_unit(unit, options.limits)
    while True:
        try:
            record = next(records, None)
        except LimitExceeded:
            raise
        except Exception as e:  # a reader bug (or RecursionError, MemoryError) costs this unit only
            outcomes.append(unit_failure(unit, "read", _internal("reader", e)))
            break
        if record is None:
            break
        outcomes.append(_convert_record(record, options))
    return outcomes


def _convert_record(record: Record, options: ConvertOptions) -> Outcome:
    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.validate import validate

    src = record.source
    if record.error is not None:
        stage = "limit" if isinstance(record.error, LimitExceeded) else "read"
        return Outcome(src.path, src.index, record.error.nct_id, False, stage, [record.error.describe()])
    trial = record.trial
    assert trial is not None
    nct = trial.nct_id
    warnings = [f"{i.severity}: {i.location}: {i.message}" for i in trial.issues if i.severity != "information"]
    try:
        bundle = to_bundle(trial, options.fhir_version, options.bundle_type)
    except LimitExceeded:
        raise
    except FhirAdapterError as e:
        return Outcome(src.path, src.index, nct, False, "map", [str(e)])
    except Exception as e:  # a mapper bug must not stop the batch; report it with the record
        return Outcome(src.path, src.index, nct, False, "map", [_internal("mapping", e)])
    try:
        errors = [str(i) for i in validate(bundle, options.fhir_version) if i.is_error] if options.validate else []
    except LimitExceeded:
        raise
    except Exception as e:
        return Outcome(src.path, src.index, nct, False, "validate", [_internal("validation", e)])
    out = Outcome(
        src.path,
        src.index,
        nct,
        not errors,
        "validate" if errors else "",
        errors or warnings,
        len(warnings),
        len(bundle["entry"]),
    )
    try:
        if options.ndjson:
            out.lines = [(e["resource"]["resourceType"], orjson.dumps(e["resource"])) for e in bundle["entry"]]
        else:
            out.payload = orjson.dumps(bundle, option=orjson.OPT_INDENT_2 if options.indent else 0) + b"\n"
    except Exception as e:  # orjson refuses a value (an integer beyond 64 bits, a non-string key ...)
        return Outcome(src.path, src.index, nct, False, "serialise", [f"cannot serialise the bundle: {e}"])
    return out


# Where a study names its NCT id in the v2 and v1 JSON formats; only used to name a unit that failed as a whole.
_PEEK_ID = re.compile(rb'"(?:nctId|NCTId)"[ \t\r\n]*:[ \t\r\n]*"(NCT[0-9]{8})"')


def unit_id(unit: Unit) -> str | None:
    """The NCT id of a unit, when it is plain to see without reading the unit (for failure lines)."""
    study = unit.study
    for path in (
        ("protocolSection", "identificationModule", "nctId"),
        ("ProtocolSection", "IdentificationModule", "NCTId"),
    ):
        value = study
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    match = _PEEK_ID.search(unit.data[:65536]) if unit.data else None
    return match.group(1).decode() if match else None


def unit_failure(unit: Unit, stage: str, message: str) -> Outcome:
    """A unit that failed as a whole (its time limit, its worker, an unexpected error)."""
    return Outcome(unit.path, unit.index, unit_id(unit), False, stage, [message])


def time_limit_message(seconds: float) -> str:
    return f"over the time limit of {seconds:g} s per record (raise it with --record-timeout)"


class Deadline:
    """Raises ``LimitExceeded`` in this thread when a record takes longer than its limit (SIGALRM), and again every
    second after that in case the record's code swallowed it. A no-op outside the main thread, where Python cannot
    take signals; the pool's watchdog (``fhir_adapter.workers``) covers what a signal cannot interrupt."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.active = (
            0 < seconds < math.inf
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        self.previous: signal.Handlers | Callable[[int, FrameType | None], object] | int | None = None

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        self.expired = True
        raise LimitExceeded(time_limit_message(self.seconds))

    def __enter__(self) -> Deadline:
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 1.0)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous if self.previous is not None else signal.SIG_DFL)


def run_unit(unit: Unit, options: ConvertOptions, convert: ConvertFn = convert_unit) -> list[Outcome]:
    """``convert(unit, options)`` under the unit's time limit; any exception becomes a failed outcome."""
    deadline = Deadline(options.limits.max_record_seconds)
    try:
        with deadline:
            outcomes = convert(unit, options)
    except (Exception, SystemExit) as e:  # LimitExceeded, RecursionError, MemoryError; sys.exit() in a bug
        if deadline.expired:
            return [unit_failure(unit, "limit", time_limit_message(deadline.seconds))]
        if isinstance(e, LimitExceeded):
            return [unit_failure(unit, "limit", e.message)]
        return [unit_failure(unit, "convert", _internal("conversion", e))]
    if deadline.expired:  # the record's own code caught the first LimitExceeded
        return [unit_failure(unit, "limit", time_limit_message(deadline.seconds))]
    return outcomes


def warm_up(options: ConvertOptions) -> None:
    """Convert a minimal record once, so that lazy imports and caches are not charged to the first real record's
    time limit (and are inherited by forked workers)."""
    doc = b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000000", "briefTitle": "warm-up"}}}'
    # A warm-up failure shows up again, and is reported, with the first real record.
    with contextlib.suppress(Exception):
        convert_unit(Unit("<warm-up>", data=doc), options)


def _guarded_units(inputs: Iterable[str | Path], limits: Limits) -> Iterator[Unit]:
    """The units of each input; a reader bug while cutting an input costs the rest of that input only."""
    from fhir_adapter.errors import SourceError

    for item in inputs:
        units = iter_units([item], limits)
        while True:
            try:
                unit = next(units, None)
            except Exception as e:
                yield Unit(
                    str(item),
                    error=SourceError(f"{_internal('reader', e)}; the rest of this input was skipped", path=str(item)),
                )
                break
            if unit is None:
                break
            yield unit


def iter_outcomes(
    inputs: Iterable[str | Path], options: ConvertOptions, convert: ConvertFn = convert_unit
) -> Iterator[Outcome]:
    """Outcomes of every record, in input order, converted by ``options.workers`` processes with ``convert``
    (``convert_unit``; a test passes its own to crash or stall a worker)."""
    units = _guarded_units(inputs, options.limits)
    first = next(units, None)
    if first is None:
        return
    warm_up(options)
    units = itertools.chain([first], units)
    if options.workers <= 1:
        for unit in units:
            yield from run_unit(unit, options, convert)
        return
    from fhir_adapter.workers import iter_pool

    yield from iter_pool(units, options, convert)


def convert_paths(
    inputs: Iterable[str | Path],
    output: Path,
    options: ConvertOptions,
    on_outcome: Callable[[Outcome, str | None], None] | None = None,
    convert: ConvertFn = convert_unit,
) -> ConvertSummary:
    """Convert every record of the inputs into ``output``; ``on_outcome(outcome, target)`` is told of each.

    Failed records are listed in ``output/errors.jsonl`` (source, index, NCT id, stage, message), a stale errors
    file from an earlier run is removed first. Never raises for bad input; raises ``OutputError`` when ``output``
    cannot be used (a file, not creatable) or a file cannot be put in place at the end."""
    inputs = list(inputs)
    folder = OutputFolder(output)
    summary = ConvertSummary()
    try:
        folder.remove(ERRORS_FILE)
        folder.protected = input_identities(inputs, folder)
        writer = OutcomeWriter(folder, options.ndjson)
        try:
            for outcome in iter_outcomes(inputs, options, convert):
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
    finally:
        folder.close()
    if writer.errors_written:
        summary.errors_file = output / ERRORS_FILE
    return summary


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


__all__ = [
    "ConvertFn",
    "ConvertOptions",
    "ConvertSummary",
    "Deadline",
    "Outcome",
    "convert_paths",
    "convert_unit",
    "default_workers",
    "iter_outcomes",
    "run_unit",
    "unit_failure",
]
