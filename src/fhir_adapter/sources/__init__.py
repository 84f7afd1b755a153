"""Readers: each input format -> ``Trial`` objects. Format detection lets ``convert`` take any mix of inputs.

Supported now: ClinicalTrials.gov API v2 study JSON (one study, a list, a search page) and plain-text trial pages.
A record that cannot be read becomes a ``Record`` with an ``error`` (file, index, NCT id, field); the other records
of the batch go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fhir_adapter.errors import SourceError, UnknownFormatError
from fhir_adapter.model import Source, Trial

# Files picked up when a folder is given; a file named explicitly is read whatever its name.
FOLDER_SUFFIXES = frozenset({".json", ".txt"})


@dataclass(slots=True)
class Record:
    """One input record: a Trial, or the error that kept it from being read."""

    source: Source
    trial: Trial | None = None
    error: SourceError | None = None

    @property
    def nct_id(self) -> str | None:
        return self.trial.nct_id if self.trial else self.error.nct_id if self.error else None


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


def read_records(paths: Iterable[str | Path]) -> Iterator[Record]:
    """Every record of every input, in input order. Never raises for bad input: errors are ``Record.error``."""
    for f in input_files(paths):
        try:
            data = f.read_bytes()
        except OSError as e:
            yield Record(Source("unknown", str(f)), error=SourceError(f"cannot read file: {e.strerror}", path=str(f)))
            continue
        yield from read_bytes(data, str(f))


def read_bytes(data: bytes, path: str = "<memory>") -> Iterator[Record]:
    """The records of one input given as bytes (format detected from the content)."""
    from fhir_adapter.sources import text_page  # readers load on first use

    try:
        text = _decode(data, path)
        first = text.lstrip()[:1]
        if first in ("{", "["):
            yield from _json_records(text, path)
        elif first == "<":
            raise UnknownFormatError("XML input is not supported yet", path=path)
        elif text_page.looks_like_text_page(text):
            source = Source("text-page", path)
            yield Record(source, trial=text_page.read_text_page(text, path))
        else:
            raise UnknownFormatError("unknown format: not ClinicalTrials.gov JSON, XML or a trial page with an NCT id",
                                     path=path)
    except SourceError as e:
        yield Record(Source("unknown", path), error=e)


def _decode(data: bytes, path: str) -> str:
    if not data.strip():
        raise SourceError("empty file", path=path)
    if b"\x00" in data[:8192]:
        raise UnknownFormatError("binary file (NUL bytes), not a trial record", path=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnknownFormatError(f"not UTF-8 text (byte {e.start})", path=path) from None


def _json_records(text: str, path: str) -> Iterator[Record]:
    from fhir_adapter.sources import ctgov_json

    try:
        doc: Any = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise SourceError(f"invalid JSON: {e}", path=path) from None
    if not ctgov_json.looks_like_ctgov_json(doc):
        raise UnknownFormatError("JSON is not a ClinicalTrials.gov API v2 study, list of studies or search page",
                                 path=path)
    for index, study in ctgov_json.iter_studies(doc, path):
        source = Source("ctgov-json", path, index)
        try:
            yield Record(source, trial=ctgov_json.read_study(study, source))
        except SourceError as e:
            yield Record(source, error=e)
        except Exception as e:  # a reader bug must not stop the batch; report it with the record
            nct = _nct_of(study)
            yield Record(source, error=SourceError(f"internal reader error {type(e).__name__}: {e}", path=path,
                                                   index=index, nct_id=nct))


def _nct_of(study: Any) -> str | None:
    """The NCT id of a raw study, if it has one where the v2 format puts it (for error lines)."""
    try:
        value = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def read_trials(path: str | Path) -> Iterator[Trial]:
    """The trials in a file or folder. Raises ``SourceError`` at the first record that cannot be read; use
    ``read_records`` to go on past bad records."""
    for record in read_records([path]):
        if record.error is not None:
            raise record.error
        assert record.trial is not None
        yield record.trial
