"""Bundle NDJSON on a stream: each record's Bundle as one compact JSON line, for ``fhir-adapter convert -o -``
(standard output). Nothing is written to disk, so there is no ``errors.jsonl`` either: failures are only reported.

One line per Bundle is the NDJSON format of FHIR (https://hl7.org/fhir/R5/nd-json.html); the Bundle is the one the
bundle files hold (https://hl7.org/fhir/R5/bundle.html), without the indentation.
"""

from __future__ import annotations

from typing import BinaryIO

import orjson

from fhir_adapter.outcome import Outcome

STREAM_TARGET = "stdout"  # where ``write`` says a record went, for the per-record line


def bundle_line(payload: bytes) -> bytes:
    """A serialised bundle as one NDJSON line: compact, ending in exactly one newline. A pretty-printed payload is
    compacted (JSON escapes every newline inside a string, so a raw newline is always indentation)."""
    line = payload.rstrip(b"\n")
    if b"\n" in line:
        line = orjson.dumps(orjson.loads(line))
    return line + b"\n"


class BundleStream:
    """A ``RecordSink`` writing each record's bundle as one line of a binary stream, in the order given, flushed per
    record so that a reader downstream gets each record as soon as it converted.

    Ids need not name a file, so every record that converted is written, a repeated id too (both lines). A
    ``BrokenPipeError`` (the reader went away, e.g. ``| head -1``) is raised as it is: the run ends there."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def write(self, outcome: Outcome) -> str:
        """Write the record's bundle as one line and flush it; returns ``stdout``."""
        self.stream.write(bundle_line(outcome.payload))
        self.stream.flush()
        return STREAM_TARGET

    def close(self) -> None:
        """Flush the stream (it is the caller's: it stays open)."""
        self.stream.flush()


__all__ = ["STREAM_TARGET", "BundleStream", "bundle_line"]
