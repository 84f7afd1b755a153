"""NDJSON on a stream, for ``fhir-adapter convert -o -`` (standard output): each record's Bundle as one compact JSON
line, or with ``--ndjson`` each of its resources as one line. Nothing is written to disk, so there is no
``errors.jsonl`` either: failures are only reported.

One line per Bundle or resource is the NDJSON format of FHIR (https://hl7.org/fhir/R5/nd-json.html); the Bundle is
the one the bundle files hold (https://hl7.org/fhir/R5/bundle.html), without the indentation, and the resource lines
are the ones the ``<ResourceType>.ndjson`` files hold, in the record's order.

A line once written cannot be taken back: a record whose id an earlier record of the run had is written again,
with a warning saying that the later lines win (what a reader applying them in order, as updates, gets).
"""

from __future__ import annotations

from typing import BinaryIO

import orjson

from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks.base import repeat_warning

STREAM_TARGET = "stdout"  # where ``write`` says a record went, for the per-record line
WRITTEN_AGAIN = "written again on standard output, whose reader should keep the later lines"


def bundle_line(payload: bytes) -> bytes:
    """A serialised bundle as one NDJSON line: compact, ending in exactly one newline. A pretty-printed payload is
    compacted (JSON escapes every newline inside a string, so a raw newline is always indentation)."""
    line = payload.rstrip(b"\n")
    if b"\n" in line:
        line = orjson.dumps(orjson.loads(line))
    return line + b"\n"


class _Repeats:
    """The record ids a stream has written, to warn on a repeated one (ids only: never the records)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def note(self, outcome: Outcome) -> None:
        key = outcome.nct_id or ""
        if key and key in self.seen:
            outcome.messages.append(repeat_warning(outcome.nct_id, WRITTEN_AGAIN))
        self.seen.add(key)


class BundleStream:
    """A ``RecordSink`` writing each record's bundle as one line of a binary stream, in the order given, flushed per
    record so that a reader downstream gets each record as soon as it converted.

    Ids need not name a file, so every record that converted is written, a repeated id too (both lines, the later
    with a warning). A ``BrokenPipeError`` (the reader went away, e.g. ``| head -1``) is raised as it is: the run
    ends there."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.repeats = _Repeats()

    def write(self, outcome: Outcome) -> str:
        """Write the record's bundle as one line and flush it; returns ``stdout``."""
        self.repeats.note(outcome)
        self.stream.write(bundle_line(outcome.payload))
        self.stream.flush()
        return STREAM_TARGET

    def close(self) -> None:
        """Flush the stream (it is the caller's: it stays open)."""
        self.stream.flush()


class ResourceStream(BundleStream):
    """A ``RecordSink`` writing each resource of a record (``outcome.lines``) as one line of a binary stream, the
    resources of all types mixed in the record's order, flushed per record (``convert --ndjson -o -``)."""

    def write(self, outcome: Outcome) -> str:
        """Write the record's resources, one line each, and flush; returns ``stdout``."""
        self.repeats.note(outcome)
        self.stream.write(b"".join(line + b"\n" for _, line in outcome.lines))
        self.stream.flush()
        return STREAM_TARGET


__all__ = ["STREAM_TARGET", "BundleStream", "ResourceStream", "bundle_line"]
