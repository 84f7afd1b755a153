"""The conversion pipeline: read -> map -> validate -> serialise -> write, streamed and optionally parallel.

``convert_paths`` is what ``fhir-adapter convert`` (and ``fetch --convert``) run. Inputs are cut into units in
this process (``pipeline.inputs``); each unit is read, mapped, validated and serialised by ``pipeline.stages``, in
this process or in a worker of ``pipeline.pool``; results are written here in input order, by the sink this module
chooses (``fhir_adapter.sinks``), so the output does not depend on the number of workers. At most a bounded number
of units is in flight, so memory stays flat whatever the input size.

Every unit is isolated: whatever goes wrong with it (a reader, mapper, validator or serialiser exception, even
``RecursionError`` or ``MemoryError``; its time limit; a worker process killed while converting it) becomes a failed
``Outcome`` for that unit, with the stage it failed in, and the batch goes on. The modules depend one way only:
stages <- pool <- this module (docs/architecture.md).
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fhir_adapter.errors import OutputError
from fhir_adapter.outcome import Outcome
from fhir_adapter.pipeline.inputs import guarded_units, input_identities
from fhir_adapter.pipeline.stages import (
    ConvertFn,
    ConvertOptions,
    Deadline,
    convert_unit,
    run_unit,
    unit_failure,
    warm_up,
)
from fhir_adapter.sinks import (
    ERRORS_FILE,
    BundleFiles,
    BundleStream,
    ErrorLog,
    NdjsonFiles,
    OutputFolder,
    RecordSink,
    UnusableId,
    close_all,
    write_failure,
)
from fhir_adapter.sinks.stdout import ResourceStream

EMPTY_INPUT = "empty file"  # the reader's message for an input that holds nothing (fhir_adapter.sources.detect)
MAX_WARNING_KINDS = 1000  # distinct (field, message) pairs counted; hostile input could name endless fields
OTHER_KIND = ("(other fields)", "warnings past the first 1000 kinds")


@dataclass(slots=True)
class ConvertSummary:
    converted: int = 0
    failed: int = 0
    warnings: int = 0
    resources: int = 0
    errors_file: Path | None = None
    # reader warnings per (field, message): the summary counts them per field (hundreds of a few kinds are usual)
    warnings_by_field: dict[tuple[str, str], int] = field(default_factory=dict)
    empty: int = 0  # failures that are an empty input (a blank file, an empty standard input): no record at all

    @property
    def records(self) -> int:
        return self.converted + self.failed

    def count(self, outcome: Outcome) -> None:
        """Count one outcome (after it was written: a write failure is a failure)."""
        if outcome.ok:
            self.converted += 1
            self.resources += outcome.resources
            self.warnings += outcome.warnings
            for kind in outcome.warning_kinds:
                if kind not in self.warnings_by_field and len(self.warnings_by_field) >= MAX_WARNING_KINDS:
                    kind = OTHER_KIND
                self.warnings_by_field[kind] = self.warnings_by_field.get(kind, 0) + 1
        else:
            self.failed += 1
            self.empty += outcome.stage == "read" and outcome.messages[:1] == [f"{outcome.where}: {EMPTY_INPUT}"]


def iter_outcomes(
    inputs: Iterable[str | Path], options: ConvertOptions, convert: ConvertFn = convert_unit
) -> Generator[Outcome, None, None]:
    """Outcomes of every record, in input order, converted by ``options.workers`` processes with ``convert``
    (``convert_unit``; a test passes its own to crash or stall a worker). An input of one unit is converted in this
    process, as with one worker: starting a pool (forking, and warming each worker up) would cost more than the unit
    (issue 14: start-up)."""
    units = guarded_units(inputs, options.limits)
    first = next(units, None)
    if first is None:
        return
    second = next(units, None) if options.workers > 1 else None
    warm_up(options)
    units = itertools.chain([first], [] if second is None else [second], units)
    if options.workers <= 1 or second is None:
        for unit in units:
            yield from run_unit(unit, options, convert)
        return
    from fhir_adapter.pipeline.pool import iter_pool  # imported when used: a one-process run needs no pool

    yield from iter_pool(units, options, convert)


def record_sink(output: OutputFolder | BinaryIO, options: ConvertOptions) -> RecordSink:
    """The sink ``options`` ask for: NDJSON per resource type, or one bundle file per record, in a folder; one
    resource (``ndjson``) or one bundle a line on a stream."""
    if not isinstance(output, OutputFolder):
        return ResourceStream(output) if options.ndjson else BundleStream(output)
    return NdjsonFiles(output) if options.ndjson else BundleFiles(output)


def deliver(outcome: Outcome, sink: RecordSink, errors: ErrorLog | None) -> str | None:
    """Write one outcome; returns its target (file path, ``NDJSON`` or ``stdout``), or None for a failure. A record
    that cannot be written becomes a failure (stage ``write``). A bundle that failed validation is not written (only
    listed in the errors file, when there is one), so that nothing downstream picks it up. A closed stream
    (``BrokenPipeError``: the reader of ``-o -`` went away) is no record's failure: it ends the run."""
    if outcome.ok:
        try:
            return sink.write(outcome)
        except BrokenPipeError:
            raise
        except (OutputError, UnusableId, OSError) as e:
            outcome.ok, outcome.stage, outcome.messages = False, "write", [write_failure(e)]
            outcome.payload, outcome.lines = b"", []
    if errors is not None:
        errors.add(outcome)
    return None


def write_outcomes(
    inputs: list[str | Path],
    sink: RecordSink,
    errors: ErrorLog | None,
    options: ConvertOptions,
    on_outcome: Callable[[Outcome, str | None], None] | None = None,
    convert: ConvertFn = convert_unit,
) -> ConvertSummary:
    """The summary of converting every record of the inputs into ``sink`` (failures into ``errors``, when given);
    both are closed at the end, whatever happens. The workers are stopped as soon as the run ends, even early."""
    summary = ConvertSummary()
    try:
        with contextlib.closing(iter_outcomes(inputs, options, convert)) as outcomes:
            for outcome in outcomes:
                target = deliver(outcome, sink, errors)
                summary.count(outcome)
                if on_outcome is not None:
                    on_outcome(outcome, target)
    finally:
        close_all([sink] if errors is None else [sink, errors])
    return summary


def convert_paths(
    inputs: Iterable[str | Path],
    output: Path | BinaryIO,
    options: ConvertOptions,
    on_outcome: Callable[[Outcome, str | None], None] | None = None,
    convert: ConvertFn = convert_unit,
) -> ConvertSummary:
    """Convert every record of the inputs into ``output``; ``on_outcome(outcome, target)`` is told of each.

    ``output`` is a folder (a ``Path``): bundle or NDJSON files, and failed records listed in
    ``output/errors.jsonl`` (source, index, NCT id, stage, message), a stale errors file from an earlier run removed
    first. Or it is a binary stream (standard output for ``-o -``): one compact bundle (or with ``ndjson`` one
    resource) a line, in input order, nothing on disk, failures only told to ``on_outcome``. Never raises for bad
    input; raises ``OutputError`` when ``output`` cannot be used (a file, not creatable) or a file cannot be put in
    place at the end, and ``BrokenPipeError`` when the stream's reader went away."""
    inputs = list(inputs)
    if not isinstance(output, Path):
        return write_outcomes(inputs, record_sink(output, options), None, options, on_outcome, convert)
    folder = OutputFolder(output)
    try:
        folder.remove(ERRORS_FILE)
        folder.protected = input_identities(inputs, folder)
        errors = ErrorLog(folder)
        summary = write_outcomes(inputs, record_sink(folder, options), errors, options, on_outcome, convert)
    finally:
        folder.close()
    if errors.written:
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
    "deliver",
    "iter_outcomes",
    "record_sink",
    "run_unit",
    "unit_failure",
    "warm_up",
    "write_outcomes",
]
