"""The per-unit stages of the pipeline: read -> map -> validate -> serialise one unit, under its time limit.

What runs for one unit, in this process or in a worker (``fhir_adapter.pipeline.pool``): ``convert_unit`` does the
stages, ``run_unit`` runs it under the unit's ``Deadline`` and turns anything that escapes (an exception, even
``RecursionError`` or ``MemoryError``; the time limit) into a failed ``Outcome`` naming the stage. Both the
orchestration (``fhir_adapter.pipeline``) and the pool build on this module; it imports neither.
See docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import math
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

import orjson

from fhir_adapter.errors import FhirAdapterError, LimitExceeded
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.outcome import Outcome
from fhir_adapter.release import DEFAULT_RELEASE, FhirRelease
from fhir_adapter.sources import Record, Unit, read_unit


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    fhir_version: FhirRelease = DEFAULT_RELEASE  # a plain "R4" / "r5" is accepted and parsed
    bundle_type: str = "collection"
    ndjson: bool = False  # FHIR Bulk Data layout: one <ResourceType>.ndjson per type
    validate: bool = True
    workers: int = 1  # processes; 1 converts in this process
    indent: bool = True  # pretty-print bundle files (NDJSON lines are always compact)
    limits: Limits = DEFAULT_LIMITS  # per-record limits (size, time, JSON depth, list items, archives)
    explain: bool = False  # say which words of each criterion gave which atom (``convert -v``)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fhir_version", FhirRelease.parse(self.fhir_version))


# What converts one unit into its outcomes; ``convert_unit`` unless a caller (a test) passes another. In a pool it
# must be a module-level function, so that it can be sent to the worker processes.
ConvertFn = Callable[[Unit, ConvertOptions], list[Outcome]]


def internal_message(kind: str, e: BaseException) -> str:
    """The message of an unexpected exception in one stage (a bug, reported with the record)."""
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
            outcomes.append(unit_failure(unit, "read", internal_message("reader", e)))
            break
        if record is None:
            break
        outcomes.append(convert_record(record, options))
    return outcomes


def convert_record(record: Record, options: ConvertOptions) -> Outcome:
    """The outcome of one record read from a unit: mapped, validated and serialised, or failed at one stage."""
    from fhir_adapter.bundle import to_bundle  # the mappers load with the first record, not with the CLI

    src = record.source
    if record.error is not None:
        stage = "limit" if isinstance(record.error, LimitExceeded) else "read"
        return Outcome(src.path, src.index, record.error.nct_id, False, stage, [record.error.describe()])
    trial = record.trial
    assert trial is not None
    nct = trial.nct_id
    noted = [i for i in trial.issues if i.severity != "information"]
    warnings = [str(i) for i in noted]
    try:
        bundle = to_bundle(trial, options.fhir_version, options.bundle_type)
    except LimitExceeded:
        raise
    except FhirAdapterError as e:
        return Outcome(src.path, src.index, nct, False, "map", [str(e)])
    except Exception as e:  # a mapper bug must not stop the batch; report it with the record
        return Outcome(src.path, src.index, nct, False, "map", [internal_message("mapping", e)])
    try:
        errors = _validation_errors(bundle, options.fhir_version) if options.validate else []
    except LimitExceeded:
        raise
    except Exception as e:
        return Outcome(src.path, src.index, nct, False, "validate", [internal_message("validation", e)])
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
    out.warning_kinds = [warning_kind(i.location, i.message) for i in noted] if not errors else []
    if options.explain:
        from fhir_adapter.computable import atom_issues

        out.notes = [f"{i.location}: {i.message}" for i in atom_issues(trial.eligibility.criteria)]
    try:
        if options.ndjson:
            out.lines = [(e["resource"]["resourceType"], orjson.dumps(e["resource"])) for e in bundle["entry"]]
        else:
            out.payload = orjson.dumps(bundle, option=orjson.OPT_INDENT_2 if options.indent else 0) + b"\n"
    except Exception as e:  # orjson refuses a value (an integer beyond 64 bits, a non-string key ...)
        return Outcome(src.path, src.index, nct, False, "serialise", [f"cannot serialise the bundle: {e}"])
    return out


def _validation_errors(bundle: dict[str, Any], release: FhirRelease) -> list[str]:
    """The errors ``fhir_adapter.validate`` finds in a bundle (imported here: ``--no-validate`` never loads it)."""
    from fhir_adapter.validate import validate

    return [str(i) for i in validate(bundle, release) if i.is_error]


# A list index in a field's path (``armGroups[3]``) and an NCT id in a message: what varies between the records of
# one kind of warning, taken out so that the summary counts the kind once per field.
_INDEX = re.compile(r"\[[0-9]+\]")
_NCT_IN_TEXT = re.compile(r"NCT[0-9]{8}")


def warning_kind(location: str, message: str) -> tuple[str, str]:
    """(field, message) of a reader warning as the run's summary counts it: list indices and NCT ids left out."""
    return _INDEX.sub("", location), _NCT_IN_TEXT.sub("NCT…", message)


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
    """The message of a record over its time limit, naming the option that raises it."""
    return f"over the time limit of {seconds:g} s per record (raise it with --record-timeout)"


class Deadline:
    """Raises ``LimitExceeded`` in this thread when a record takes longer than its limit (SIGALRM), and again every
    second after that in case the record's code swallowed it. A no-op outside the main thread, where Python cannot
    take signals; the pool's watchdog (``fhir_adapter.pipeline.pool``) covers what a signal cannot interrupt."""

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
        return [unit_failure(unit, "convert", internal_message("conversion", e))]
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


__all__ = [
    "ConvertFn",
    "ConvertOptions",
    "Deadline",
    "convert_record",
    "convert_unit",
    "internal_message",
    "run_unit",
    "time_limit_message",
    "unit_failure",
    "unit_id",
    "warm_up",
    "warning_kind",
]
