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

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
    ErrorLog,
    NdjsonFiles,
    OutputFolder,
    RecordSink,
    UnusableId,
    close_all,
    write_failure,
)


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

    def count(self, outcome: Outcome) -> None:
        """Count one outcome (after it was written: a write failure is a failure)."""
        if outcome.ok:
            self.converted += 1
            self.resources += outcome.resources
            self.warnings += outcome.warnings
        else:
            self.failed += 1


def iter_outcomes(
    inputs: Iterable[str | Path], options: ConvertOptions, convert: ConvertFn = convert_unit
) -> Iterator[Outcome]:
    """Outcomes of every record, in input order, converted by ``options.workers`` processes with ``convert``
    (``convert_unit``; a test passes its own to crash or stall a worker)."""
    units = guarded_units(inputs, options.limits)
    first = next(units, None)
    if first is None:
        return
    warm_up(options)
    units = itertools.chain([first], units)
    if options.workers <= 1:
        for unit in units:
            yield from run_unit(unit, options, convert)
        return
    from fhir_adapter.pipeline.pool import iter_pool  # imported when used: a one-process run needs no pool

    yield from iter_pool(units, options, convert)


def record_sink(folder: OutputFolder, options: ConvertOptions) -> RecordSink:
    """The sink ``options`` ask for: NDJSON per resource type, or one bundle file per record."""
    return NdjsonFiles(folder) if options.ndjson else BundleFiles(folder)


def deliver(outcome: Outcome, sink: RecordSink, errors: ErrorLog) -> str | None:
    """Write one outcome; returns its target (file path or ``NDJSON``), or None for a failure. A record that cannot
    be written becomes a failure (stage ``write``). A bundle that failed validation is not written (only listed in
    the errors file), so that nothing downstream picks it up."""
    if outcome.ok:
        try:
            return sink.write(outcome)
        except (OutputError, UnusableId, OSError) as e:
            outcome.ok, outcome.stage, outcome.messages = False, "write", [write_failure(e)]
            outcome.payload, outcome.lines = b"", []
    errors.add(outcome)
    return None


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
        sink, errors = record_sink(folder, options), ErrorLog(folder)
        try:
            for outcome in iter_outcomes(inputs, options, convert):
                target = deliver(outcome, sink, errors)
                summary.count(outcome)
                if on_outcome is not None:
                    on_outcome(outcome, target)
        finally:
            close_all([sink, errors])
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
]
