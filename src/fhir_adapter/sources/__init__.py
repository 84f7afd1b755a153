"""Readers: each input format -> ``Trial`` objects. Format detection lets ``convert`` take any mix of inputs.

Formats: ClinicalTrials.gov API v2 study JSON (one study, a list, a search page, or JSON lines), the retired API v1
``FullStudiesResponse`` JSON, legacy ``clinical_study`` XML, plain-text trial pages; inside folders, ZIP archives,
NDJSON / JSON-lines files, or ``-`` for standard input.

Reading happens in two steps so that large inputs stream and can be spread over processes:

1. ``iter_units(paths)`` cuts the inputs into *units*, small pieces of raw input (a file, a ZIP member, a line of
   an NDJSON file, one study of a multi-study JSON document), without keeping more than one file's worth in memory;
2. ``read_unit(unit)`` detects the unit's format and reads its record(s): the formats, how each is recognised and
   the function that reads it are one table, ``detect.FORMATS``.

A record that cannot be read becomes a ``Record`` with an ``error`` (file, index, NCT id, field); the other
records of the batch go on.

Every input is untrusted: both steps take a ``fhir_adapter.limits.Limits`` and report a record over one of its
limits as ``LimitExceeded`` (naming the field, the limit and the option that raises it). Cutting (``units``, with
``lines`` for bounded stream reading) enforces record size, ZIP inflation and JSON depth; ``guards`` holds the
linear pre-parse checks; the format readers enforce list items per field, integer ranges and NCT id sanity.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fhir_adapter.errors import LimitExceeded, SourceError
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import Source, Trial
from fhir_adapter.sources.guards import over, size_text
from fhir_adapter.sources.lines import strip_bom
from fhir_adapter.sources.units import FOLDER_SUFFIXES, LINE_SUFFIXES, STDIN, Unit, input_files, iter_units, split

if TYPE_CHECKING:
    from fhir_adapter.sources.detect import Format

__all__ = [
    "FOLDER_SUFFIXES",
    "LINE_SUFFIXES",
    "STDIN",
    "Record",
    "Unit",
    "input_files",
    "iter_units",
    "read_bytes",
    "read_records",
    "read_trials",
    "read_unit",
]


@dataclass(slots=True)
class Record:
    """One input record: a Trial, or the error that kept it from being read."""

    source: Source
    trial: Trial | None = None
    error: SourceError | None = None

    @property
    def nct_id(self) -> str | None:
        return self.trial.nct_id if self.trial else self.error.nct_id if self.error else None


def read_unit(unit: Unit, limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    """The record(s) of one unit. Never raises for bad input: errors become ``Record.error``."""
    if unit.error is not None:
        yield Record(Source("unknown", unit.path, unit.index), error=unit.error)
        return
    if unit.format is not None:
        from fhir_adapter.sources import detect  # the readers load on the first read (see detect)

        yield _read_study(
            detect.format_named(unit.format), unit.study, Source(unit.format, unit.path, unit.index), limits
        )
        return
    yield from read_bytes(unit.data or b"", unit.path, unit.index, limits=limits)


def with_regimens(trial: Trial) -> Trial:
    """``trial`` with each arm's regimen read from its texts (``fhir_adapter.regimen``, issue 10), the one place every
    format's Trial passes; None for an arm whose texts give no phase structure."""
    from fhir_adapter.regimen import regimen_of
    from fhir_adapter.regimen.schedule import schedule_of

    for arm in trial.arms:
        regimen = regimen_of(trial, arm)
        arm.regimen = regimen if regimen.phases else None
    trial.schedule = schedule_of(trial)  # the study's schedule of assessments (issue 10 item 3)
    return trial


def _read_study(fmt: Format, study: Any, source: Source, limits: Limits) -> Record:
    try:
        return Record(source, trial=with_regimens(fmt.read(study, source, limits)))
    except SourceError as e:
        return Record(source, error=e)
    except Exception as e:  # a reader bug must not stop the batch; report it with the record
        return Record(
            source,
            error=SourceError(
                f"internal reader error {type(e).__name__}: {e}",
                path=source.path,
                index=source.index,
                nct_id=_nct_of(study),
            ),
        )


def read_records(paths: Iterable[str | Path], *, limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every record of every input, in input order. Never raises for bad input: errors are ``Record.error``."""
    for unit in iter_units(paths, limits):
        yield from read_unit(unit, limits)


def read_bytes(
    data: bytes, path: str = "<memory>", index: int | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record]:
    """The records of one input given as bytes (format detected from the content by ``detect``; a UTF-8 byte-order
    mark is accepted). Input over ``limits.max_record_bytes`` is reported, not read."""
    from fhir_adapter.sources import detect

    try:
        if len(data) > limits.max_record_bytes:
            raise LimitExceeded(
                over("record size", size_text(len(data)), "max_record_bytes", limits.max_record_bytes, "bytes"),
                path=path,
                index=index,
            )
        data = strip_bom(data)
        doc = detect.Document(data, detect.decode(data, path, index))
        fmt = detect.document_format(doc, path, index)
        if fmt is None:  # JSON: cut into studies, each read by the JSON format that recognised the document
            for unit in split(data, path, limits, index):
                if unit.data is data:  # the document as a whole is no study document
                    raise detect.json_error(doc.text, path, index)
                if unit.index is None:
                    unit.index = index
                yield from read_unit(unit, limits)
        else:
            source = Source(fmt.name, path, index)
            yield Record(source, trial=with_regimens(fmt.read(doc, source, limits)))
    except SourceError as e:
        yield Record(Source("unknown", path, index), error=e)


def _nct_of(study: Any) -> str | None:
    """The NCT id of a raw study, if it has one where the v2 format puts it (for error lines)."""
    try:
        value = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def read_trials(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> Iterator[Trial]:
    """The trials in a file or folder. Raises ``SourceError`` at the first record that cannot be read; use
    ``read_records`` to go on past bad records."""
    for record in read_records([path], limits=limits):
        if record.error is not None:
            raise record.error
        assert record.trial is not None
        yield record.trial
