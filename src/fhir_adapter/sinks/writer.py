"""Writes the outcomes of a conversion run into the output folder: one bundle file per record (or NDJSON per
resource type) and ``errors.jsonl``, every file through ``OutputFolder`` (safe names, atomic, no symlink followed)."""

from __future__ import annotations

import re

import orjson

from fhir_adapter.errors import OutputError
from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks.files import OutputFolder, UnusableId, display_id, output_stem

ERRORS_FILE = "errors.jsonl"
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}")


class _Stream:
    """A file written line by line under a temporary name and renamed into place when closed."""

    def __init__(self, folder: OutputFolder, name: str) -> None:
        self.folder, self.name = folder, name
        folder.check_target(name)
        self.temp, self.file = folder.open_temp(name)

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def close(self) -> None:
        try:
            self.file.close()
        except OSError as e:
            self.folder.discard(self.temp)
            raise OutputError(f"cannot write {self.folder.path / self.name}: {e.strerror or e}") from None
        self.folder.commit(self.temp, self.name)


class ErrorLog:
    """``errors.jsonl`` of a run: one JSON line per message of a failed outcome (source, index, nct_id, stage,
    message), created at the first failure and renamed into place by ``close``."""

    def __init__(self, folder: OutputFolder) -> None:
        self.folder = folder
        self.stream: _Stream | None = None

    @property
    def written(self) -> bool:
        return self.stream is not None

    def add(self, o: Outcome) -> None:
        if self.stream is None:
            self.stream = _Stream(self.folder, ERRORS_FILE)
        for message in o.messages:
            self.stream.write(
                orjson.dumps(
                    {"source": o.path, "index": o.index, "nct_id": o.nct_id, "stage": o.stage, "message": message}
                )
                + b"\n"
            )

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


class OutcomeWriter:
    """Writes outcomes: bundle files or NDJSON per type, and the errors file (JSON lines) when anything failed.

    A record whose id cannot name a file, whose target is an input, or whose file cannot be written becomes a
    failure (stage ``write``) here; the caller counts outcomes after ``write``."""

    def __init__(self, folder: OutputFolder, ndjson: bool) -> None:
        self.folder, self.ndjson = folder, ndjson
        self.streams: dict[str, _Stream] = {}
        self.errors = ErrorLog(folder)
        self.names: dict[str, str] = {}  # file stem -> the record id it was made from

    @property
    def errors_written(self) -> bool:
        return self.errors.written

    def write(self, o: Outcome) -> str | None:
        """Write one outcome; returns the target (file path or "NDJSON") or None for a failure. A bundle that failed
        validation is not written (only listed in the errors file), so that nothing downstream picks it up."""
        if o.ok:
            try:
                return self._write_ok(o)
            except (OutputError, UnusableId, OSError) as e:
                o.ok, o.stage, o.messages = False, "write", [_message(e)]
                o.payload, o.lines = b"", []
        self.errors.add(o)
        return None

    def _write_ok(self, o: Outcome) -> str:
        stem = output_stem(o.nct_id)
        earlier = self.names.get(stem)
        if earlier is not None and earlier != o.nct_id:
            raise OutputError(f"output name {stem} is already taken by id {display_id(earlier)} in this run")
        if earlier is not None:
            o.messages.append(f"warning: NCT id {o.nct_id} seen before in this run; the later record wins")
        self.names[stem] = o.nct_id or ""
        if self.ndjson:
            for rtype, line in o.lines:
                self._stream(rtype).write(line + b"\n")
            return "NDJSON"
        return str(self.folder.write_file(f"{stem}.json", o.payload, o.path))

    def _stream(self, rtype: str) -> _Stream:
        stream = self.streams.get(rtype)
        if stream is None:
            if not _RESOURCE_TYPE.fullmatch(rtype):
                raise OutputError(f"not a FHIR resource type: {display_id(rtype)}")
            stream = self.streams[rtype] = _Stream(self.folder, f"{rtype}.ndjson")
        return stream

    def close(self) -> None:
        """Rename every stream into place (the first failure is raised once all were tried)."""
        problems: list[OutputError] = []
        closers: list[_Stream | ErrorLog] = [*self.streams.values(), self.errors]
        for stream in closers:
            try:
                stream.close()
            except OutputError as e:
                problems.append(e)
        if problems:
            raise problems[0]


def _message(e: Exception) -> str:
    if isinstance(e, OSError):
        return f"cannot write the output: {e.strerror or e}"
    return str(e)


__all__ = ["ERRORS_FILE", "ErrorLog", "OutcomeWriter"]
