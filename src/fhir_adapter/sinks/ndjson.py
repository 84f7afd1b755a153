"""NDJSON per resource type: the FHIR Bulk Data layout, one ``<ResourceType>.ndjson`` per type with one resource a
line, each file renamed into place when the run ends. https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-organization
"""

from __future__ import annotations

import re
from array import array
from itertools import groupby
from operator import itemgetter

from fhir_adapter.errors import OutputError
from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks.base import RecordNames, close_all
from fhir_adapter.sinks.files import LineFile, OutputFolder, display_id

# A resource type names a file: a FHIR type name, nothing else (https://hl7.org/fhir/R5/resourcelist.html).
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}")
_TYPE, _LINE = itemgetter(0), itemgetter(1)  # of a (resource type, line) pair
REPLACED = "its resources replace the earlier record's in the NDJSON files"


class NdjsonFiles:
    """A ``RecordSink`` appending each resource of a record to the NDJSON file of its type.

    A record whose id an earlier record of the run had wins over it here too, as it does for bundle files: the
    earlier record's lines are removed from every type's file when the run ends (``LineFile.drop``: a second pass
    over the written file, only for the types that hold such lines). What is kept in memory meanwhile is an index,
    never the resources: per record its number, and per type file where each record's lines start (a record's lines
    of one type are written together, so they are one byte range)."""

    def __init__(self, folder: OutputFolder) -> None:
        self.folder = folder
        self.names = RecordNames(REPLACED)  # ids are still checked, so that a repeated or unusable id is reported alike
        self.streams: dict[str, LineFile] = {}
        self.sizes: dict[str, int] = {}  # bytes written to each type's file
        self.starts: dict[str, array[int]] = {}  # per type: record number, offset of its first line, ...
        self.latest: dict[str, int] = {}  # file stem of a record id -> number of the record that wins
        self.superseded: set[int] = set()  # numbers of the records a later one replaced
        self.records = 0

    def write(self, outcome: Outcome) -> str:
        """Append the record's resources (``outcome.lines``) to their files; returns ``NDJSON``."""
        stem = self.names.claim(outcome)
        number, self.records = self.records, self.records + 1
        earlier = self.latest.get(stem)
        if earlier is not None:
            self.superseded.add(earlier)
        self.latest[stem] = number
        # One write per run of lines of one type (a trial's resources come grouped by type: a few runs of dozens of
        # lines), joined in C. Nothing else writes to a type's file meanwhile, so a record's lines of one type stay
        # one byte range of it.
        for rtype, run in groupby(outcome.lines, key=_TYPE):
            stream = self._stream(rtype)
            starts = self.starts[rtype]
            if not starts or starts[-2] != number:
                starts.extend((number, self.sizes[rtype]))
            data = b"\n".join(map(_LINE, run)) + b"\n"
            stream.write(data)
            self.sizes[rtype] += len(data)
        return "NDJSON"

    def _stream(self, rtype: str) -> LineFile:
        stream = self.streams.get(rtype)
        if stream is None:
            if not _RESOURCE_TYPE.fullmatch(rtype):
                raise OutputError(f"not a FHIR resource type: {display_id(rtype)}")
            stream = self.streams[rtype] = LineFile(self.folder, f"{rtype}.ndjson")
            self.sizes[rtype], self.starts[rtype] = 0, array("q")
        return stream

    def superseded_ranges(self, rtype: str) -> list[tuple[int, int]]:
        """The byte ranges of ``rtype``'s file that hold lines of records a later record replaced."""
        starts, ranges = self.starts[rtype], []
        for i in range(0, len(starts), 2):
            if starts[i] in self.superseded:
                end = starts[i + 3] if i + 3 < len(starts) else self.sizes[rtype]
                ranges.append((starts[i + 1], end))
        return ranges

    def close(self) -> None:
        """Drop the lines of replaced records, then rename every file into place (the first failure is raised once
        all were tried)."""
        try:
            for rtype, stream in self.streams.items() if self.superseded else ():
                ranges = self.superseded_ranges(rtype)
                if ranges:
                    stream.drop(ranges)
        finally:
            close_all(self.streams.values())


__all__ = ["NdjsonFiles"]
