"""``errors.jsonl``: one JSON line per message of a record that failed (source, index, nct_id, stage, message), for
``convert``, ``fetch --convert`` and ``push -o DIR`` alike."""

from __future__ import annotations

import orjson

from fhir_adapter.outcome import Outcome
from fhir_adapter.sinks.files import LineFile, OutputFolder

ERRORS_FILE = "errors.jsonl"


class ErrorLog:
    """``errors.jsonl`` of a run, created at the first failure and renamed into place by ``close``."""

    def __init__(self, folder: OutputFolder) -> None:
        self.folder = folder
        self.stream: LineFile | None = None

    @property
    def written(self) -> bool:
        """Whether any failure was logged (the file exists once closed)."""
        return self.stream is not None

    def add(self, o: Outcome) -> None:
        """Log every message of a failed outcome, one line each."""
        if self.stream is None:
            self.stream = LineFile(self.folder, ERRORS_FILE)
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


__all__ = ["ERRORS_FILE", "ErrorLog"]
