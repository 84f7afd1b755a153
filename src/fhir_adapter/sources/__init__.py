"""Readers: each input format -> ``Trial`` objects. Format detection lets ``convert`` take any mix of inputs.

Formats: ClinicalTrials.gov API v2 study JSON (one study, a list, a search page, or JSON lines), the retired API v1
``FullStudiesResponse`` JSON, legacy ``clinical_study`` XML, plain-text trial pages; inside folders, ZIP archives,
NDJSON / JSON-lines files, or ``-`` for standard input.

Reading happens in two steps so that large inputs stream and can be spread over processes:

1. ``iter_units(paths)`` cuts the inputs into *units*, small pieces of raw input (a file, a ZIP member, a line of
   an NDJSON file, one study of a multi-study JSON document), without keeping more than one file's worth in memory;
2. ``read_unit(unit)`` detects the unit's format and reads its record(s).

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
from typing import Any

import orjson

from fhir_adapter.errors import LimitExceeded, SourceError, UnknownFormatError
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import Source, Trial
from fhir_adapter.sources.guards import check_text_items, over, size_text
from fhir_adapter.sources.lines import strip_bom
from fhir_adapter.sources.units import FOLDER_SUFFIXES, LINE_SUFFIXES, STDIN, Unit, input_files, iter_units, split

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
        yield _read_study(unit.format, unit.study, Source(unit.format, unit.path, unit.index), limits)
        return
    yield from read_bytes(unit.data or b"", unit.path, unit.index, limits=limits)


def _read_study(fmt: str, study: Any, source: Source, limits: Limits) -> Record:
    from fhir_adapter.sources import ctgov_json, ctgov_v1

    reader = ctgov_json.read_study if fmt == "ctgov-json" else ctgov_v1.read_v1_study
    try:
        return Record(source, trial=reader(study, source, limits=limits))
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
    """The records of one input given as bytes (format detected from the content; a UTF-8 byte-order mark is
    accepted). Input over ``limits.max_record_bytes`` is reported, not read."""
    from fhir_adapter.sources import ctgov_xml, text_page

    try:
        if len(data) > limits.max_record_bytes:
            raise LimitExceeded(
                over("record size", size_text(len(data)), "max_record_bytes", limits.max_record_bytes, "bytes"),
                path=path,
                index=index,
            )
        data = strip_bom(data)
        text = _decode(data, path, index)
        first = text.lstrip()[:1]
        if first in ("{", "["):
            for unit in split(data, path, limits, index):
                if unit.data is data:  # the document as a whole is no study document
                    _json_error(text, path, index)
                if unit.index is None:
                    unit.index = index
                yield from read_unit(unit, limits)
        elif first == "<":
            if not ctgov_xml.looks_like_ctgov_xml(data[:4096]):
                raise UnknownFormatError("XML that is not a ClinicalTrials.gov clinical_study", path=path, index=index)
            source = Source("ctgov-xml", path, index)
            yield Record(source, trial=ctgov_xml.read_clinical_study(data, source, limits=limits))
        elif first == '"' and _is_json(data):  # a JSON string that happens to hold an NCT id is no trial page
            raise UnknownFormatError("JSON is a string, not a ClinicalTrials.gov study", path=path, index=index)
        elif text_page.looks_like_text_page(text):
            # a page lists one item a line: its lines bound every list on it (checked before the page is read)
            check_text_items(text, "(trial page)", limits.max_list_items, Source("text-page", path, index), None)
            yield Record(Source("text-page", path, index), trial=text_page.read_text_page(text, path))
        else:
            raise UnknownFormatError(
                "unknown format: not ClinicalTrials.gov JSON, XML or a trial page with an NCT id",
                path=path,
                index=index,
            )
    except SourceError as e:
        yield Record(Source("unknown", path, index), error=e)


def _is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def _json_error(text: str, path: str, index: int | None) -> None:
    """Raise the right error for JSON that is not a study document."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise SourceError(f"invalid JSON: {e}", path=path, index=index) from None
    raise UnknownFormatError(
        "JSON is not a ClinicalTrials.gov study (API v2 study, list, search page or v1 FullStudiesResponse)",
        path=path,
        index=index,
    )


def _decode(data: bytes, path: str, index: int | None) -> str:
    if not data.strip():
        raise SourceError("empty file", path=path, index=index)
    if b"\x00" in data[:8192]:
        raise UnknownFormatError("binary file (NUL bytes), not a trial record", path=path, index=index)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnknownFormatError(f"not UTF-8 text (byte {e.start})", path=path, index=index) from None


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
