"""Bundle files: one ``<NCTID>.json`` FHIR Bundle per record in the output folder, each written atomically through
``OutputFolder`` (safe names, never an input overwritten). https://hl7.org/fhir/R5/bundle.html"""

from __future__ import annotations

from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks.base import RecordNames
from fhir_adapter.sinks.files import OutputFolder


class BundleFiles:
    """A ``RecordSink`` writing each record's serialised bundle as ``<stem>.json``."""

    def __init__(self, folder: OutputFolder) -> None:
        self.folder = folder
        self.names = RecordNames()

    def write(self, outcome: Outcome) -> str:
        """Write the record's bundle; returns the path of its file."""
        stem = self.names.claim(outcome)
        return str(self.folder.write_file(f"{stem}.json", outcome.payload, outcome.path))

    def close(self) -> None:
        """Nothing to finish: every bundle file is in place as soon as it is written."""


__all__ = ["BundleFiles"]
