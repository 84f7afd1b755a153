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
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fhir_adapter.errors import SourceError, UnknownFormatError
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import Source, Trial

# Files picked up when a folder is given; a file named explicitly is read whatever its name.
FOLDER_SUFFIXES = frozenset({".json", ".txt", ".xml", ".zip", ".ndjson", ".jsonl"})
LINE_SUFFIXES = frozenset({".ndjson", ".jsonl"})
STDIN = "-"


@dataclass(slots=True)
class Record:
    """One input record: a Trial, or the error that kept it from being read."""

    source: Source
    trial: Trial | None = None
    error: SourceError | None = None

    @property
    def nct_id(self) -> str | None:
        return self.trial.nct_id if self.trial else self.error.nct_id if self.error else None


@dataclass(slots=True)
class Unit:
    """A piece of raw input: ``data`` bytes to detect and read, or an already parsed JSON ``study`` of a known
    ``format`` (cut out of a multi-study document), or an ``error`` met while cutting."""

    path: str
    index: int | None = None
    data: bytes | None = None
    study: Any = None
    format: str | None = None
    error: SourceError | None = None


def input_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, plus the readable files of folders (recursively, sorted, hidden files skipped)."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if f.is_file() and f.suffix.lower() in FOLDER_SUFFIXES and not any(
                        part.startswith(".") for part in rel.parts):
                    yield f
        else:
            yield p


def iter_units(paths: Iterable[str | Path], limits: Limits = DEFAULT_LIMITS) -> Iterator[Unit]:
    """The units of every input, in input order (see the module docstring)."""
    for item in paths:
        if str(item) == STDIN:
            yield from _stream_units(sys.stdin.buffer, STDIN)
            continue
        for f in input_files([item]):
            name = str(f)
            try:
                if f.suffix.lower() == ".zip":
                    yield from _zip_units(f)
                elif f.suffix.lower() in LINE_SUFFIXES:
                    with f.open("rb") as stream:
                        yield from _line_units(stream, name)
                else:
                    yield from _split(f.read_bytes(), name)
            except OSError as e:
                yield Unit(name, error=SourceError(f"cannot read file: {e.strerror or e}", path=name))
            except zipfile.BadZipFile as e:
                yield Unit(name, error=SourceError(f"not a readable ZIP archive: {e}", path=name))


def _zip_units(path: Path) -> Iterator[Unit]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or Path(info.filename).name.startswith("."):
                continue
            name = f"{path}!{info.filename}"
            if Path(info.filename).suffix.lower() in LINE_SUFFIXES:
                with archive.open(info) as stream:
                    yield from _line_units(stream, name)
            else:
                yield from _split(archive.read(info), name)


def _line_units(stream: Any, name: str) -> Iterator[Unit]:
    """One unit per non-empty line of a JSON-lines stream, read line by line (memory stays flat)."""
    for number, line in enumerate(stream, 1):
        if line.strip():
            yield Unit(name, index=number, data=line)


def _stream_units(stream: Any, name: str) -> Iterator[Unit]:
    """Standard input: JSON lines are streamed; anything else is read whole and split like a file."""
    first = stream.readline()
    rest_first = stream.readline()
    if _is_json_object_line(first) and (not rest_first.strip() or _is_json_object_line(rest_first)):
        for number, line in enumerate((first, rest_first), 1):
            if line.strip():
                yield Unit(name, index=number, data=line)
        for number, line in enumerate(stream, 3):
            if line.strip():
                yield Unit(name, index=number, data=line)
        return
    yield from _split(first + rest_first + stream.read(), name)


def _is_json_object_line(line: bytes) -> bool:
    if not line.strip().startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def _split(data: bytes, name: str) -> Iterator[Unit]:
    """A whole document: multi-study JSON is cut into one unit per study; everything else is one unit."""
    if data.lstrip()[:1] not in (b"{", b"["):
        yield Unit(name, data=data)
        return
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        if b"\n{" in data.strip():  # JSON lines in a file without the .ndjson suffix
            yield from _line_units(iter(data.splitlines(keepends=True)), name)
        else:
            yield Unit(name, data=data)  # read_unit reports the JSON error with its position
        return
    fmt, studies = _studies_of(doc, name)
    if fmt is None:
        yield Unit(name, data=data)
        return
    for index, study in studies:
        yield Unit(name, index=index, study=study, format=fmt)


def _studies_of(doc: Any, name: str) -> tuple[str | None, Iterator[tuple[int | None, Any]]]:
    from fhir_adapter.sources import ctgov_json, ctgov_v1

    if ctgov_json.looks_like_ctgov_json(doc):
        return "ctgov-json", ctgov_json.iter_studies(doc, name)
    if ctgov_v1.looks_like_ctgov_v1(doc):
        return "ctgov-v1", ctgov_v1.iter_v1_studies(doc, name)
    return None, iter(())


def read_unit(unit: Unit, limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    """The record(s) of one unit. Never raises for bad input: errors become ``Record.error``."""
    if unit.error is not None:
        yield Record(Source("unknown", unit.path, unit.index), error=unit.error)
        return
    if unit.format is not None:
        yield _read_study(unit.format, unit.study, Source(unit.format, unit.path, unit.index))
        return
    yield from read_bytes(unit.data or b"", unit.path, unit.index, limits=limits)


def _read_study(fmt: str, study: Any, source: Source) -> Record:
    from fhir_adapter.sources import ctgov_json, ctgov_v1

    reader = ctgov_json.read_study if fmt == "ctgov-json" else ctgov_v1.read_v1_study
    try:
        return Record(source, trial=reader(study, source))
    except SourceError as e:
        return Record(source, error=e)
    except Exception as e:  # a reader bug must not stop the batch; report it with the record
        return Record(source, error=SourceError(f"internal reader error {type(e).__name__}: {e}", path=source.path,
                                                index=source.index, nct_id=_nct_of(study)))


def read_records(paths: Iterable[str | Path], *, limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every record of every input, in input order. Never raises for bad input: errors are ``Record.error``."""
    for unit in iter_units(paths, limits):
        yield from read_unit(unit, limits)


def read_bytes(data: bytes, path: str = "<memory>", index: int | None = None, *,
               limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    """The records of one input given as bytes (format detected from the content)."""
    from fhir_adapter.sources import ctgov_xml, text_page

    try:
        text = _decode(data, path, index)
        first = text.lstrip()[:1]
        if first in ("{", "["):
            for unit in _split(data, path):
                if unit.data is data:  # the document as a whole is no study document
                    _json_error(text, path, index)
                if unit.index is None:
                    unit.index = index
                yield from read_unit(unit, limits)
        elif first == "<":
            if not ctgov_xml.looks_like_ctgov_xml(data[:4096]):
                raise UnknownFormatError("XML that is not a ClinicalTrials.gov clinical_study", path=path, index=index)
            yield Record(Source("ctgov-xml", path, index),
                         trial=ctgov_xml.read_clinical_study(data, Source("ctgov-xml", path, index)))
        elif text_page.looks_like_text_page(text):
            yield Record(Source("text-page", path, index), trial=text_page.read_text_page(text, path))
        else:
            raise UnknownFormatError("unknown format: not ClinicalTrials.gov JSON, XML or a trial page with an NCT id",
                                     path=path, index=index)
    except SourceError as e:
        yield Record(Source("unknown", path, index), error=e)


def _json_error(text: str, path: str, index: int | None) -> None:
    """Raise the right error for JSON that is not a study document."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise SourceError(f"invalid JSON: {e}", path=path, index=index) from None
    raise UnknownFormatError("JSON is not a ClinicalTrials.gov study (API v2 study, list, search page or v1 "
                             "FullStudiesResponse)", path=path, index=index)


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
