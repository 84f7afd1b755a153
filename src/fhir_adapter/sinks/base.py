"""The one interface every record sink offers the pipeline, and the bookkeeping the file sinks share.

A sink takes the outcome of each converted record (``write``) and finishes its files (``close``). ``write`` returns
where the record went, for the per-record line, or raises ``OutputError`` / ``UnusableId`` / ``OSError`` when it
cannot be written; the pipeline then reports that record as failed (stage ``write``) in ``errors.jsonl``
(``fhir_adapter.sinks.error_log``). See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from fhir_adapter.errors import OutputError
from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks.files import display_id, output_stem


class RecordSink(Protocol):
    """Where the records that converted go (bundle files, NDJSON per resource type, standard output)."""

    def write(self, outcome: Outcome) -> str:
        """Write one record that converted; returns where it went (a path, ``NDJSON`` or ``stdout``)."""
        ...

    def close(self) -> None:
        """Put every file in place; ``OutputError`` when one cannot be."""
        ...


class Closable(Protocol):
    def close(self) -> None: ...


class RecordNames:
    """The file name stem of each record of a run: two different ids never share a stem, and a repeated id is
    written again (the later record wins) with a warning on its outcome that says what became of the earlier one
    (``consequence``: each sink says it its way)."""

    def __init__(self, consequence: str = "its file replaces the earlier one") -> None:
        self.names: dict[str, str] = {}  # file stem -> the record id it was made from
        self.consequence = consequence

    def claim(self, o: Outcome) -> str:
        """The stem for ``o``; ``UnusableId`` when its id cannot name a file, ``OutputError`` when the stem is taken
        by another id in this run."""
        stem = output_stem(o.nct_id)
        earlier = self.names.get(stem)
        if earlier is not None and earlier != o.nct_id:
            raise OutputError(f"output name {stem} is already taken by id {display_id(earlier)} in this run")
        if earlier is not None:
            o.messages.append(repeat_warning(o.nct_id, self.consequence))
        self.names[stem] = o.nct_id or ""
        return stem


def repeat_warning(record_id: str | None, consequence: str) -> str:
    """The warning on a record whose id an earlier record of the run had: the later record wins, and how."""
    return f"warning: NCT id {display_id(record_id)} seen before in this run; the later record wins: {consequence}"


def close_all(closables: Iterable[Closable]) -> None:
    """Close each one (every one is tried); the first ``OutputError`` is raised once all were."""
    problems: list[OutputError] = []
    for item in closables:
        try:
            item.close()
        except OutputError as e:
            problems.append(e)
    if problems:
        raise problems[0]


def write_failure(e: Exception) -> str:
    """The ``errors.jsonl`` message of a record that converted but could not be written."""
    if isinstance(e, OSError):
        return f"cannot write the output: {e.strerror or e}"
    return str(e)


__all__ = ["Closable", "RecordNames", "RecordSink", "close_all", "repeat_warning", "write_failure"]
