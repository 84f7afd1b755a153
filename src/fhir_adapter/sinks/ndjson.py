"""NDJSON per resource type: the FHIR Bulk Data layout, one ``<ResourceType>.ndjson`` per type with one resource a
line, each file renamed into place when the run ends. https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-organization
"""

from __future__ import annotations

import re

from fhir_adapter.errors import OutputError
from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks.base import RecordNames, close_all
from fhir_adapter.sinks.files import LineFile, OutputFolder, display_id

# A resource type names a file: a FHIR type name, nothing else (https://hl7.org/fhir/R5/resourcelist.html).
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}")


class NdjsonFiles:
    """A ``RecordSink`` appending each resource of a record to the NDJSON file of its type."""

    def __init__(self, folder: OutputFolder) -> None:
        self.folder = folder
        self.names = RecordNames()  # ids are still checked, so that a repeated or unusable id is reported alike
        self.streams: dict[str, LineFile] = {}

    def write(self, outcome: Outcome) -> str:
        """Append the record's resources (``outcome.lines``) to their files; returns ``NDJSON``."""
        self.names.claim(outcome)
        for rtype, line in outcome.lines:
            self._stream(rtype).write(line + b"\n")
        return "NDJSON"

    def _stream(self, rtype: str) -> LineFile:
        stream = self.streams.get(rtype)
        if stream is None:
            if not _RESOURCE_TYPE.fullmatch(rtype):
                raise OutputError(f"not a FHIR resource type: {display_id(rtype)}")
            stream = self.streams[rtype] = LineFile(self.folder, f"{rtype}.ndjson")
        return stream

    def close(self) -> None:
        """Rename every file into place (the first failure is raised once all were tried)."""
        close_all(self.streams.values())


__all__ = ["NdjsonFiles"]
