"""What became of one record on its way through the pipeline: shared by the pipeline, its workers and the sinks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Outcome:
    """What became of one record. ``stage`` says where a failure happened: read, limit, map, validate, serialise,
    convert (an unexpected error around the stages), worker (the worker process died or the record could not be
    sent to it or back), write (the output file)."""

    path: str
    index: int | None
    nct_id: str | None
    ok: bool
    stage: str = ""
    messages: list[str] = field(default_factory=list)  # errors (failure) or warnings (success), one line each
    warnings: int = 0
    resources: int = 0
    payload: bytes = b""  # the serialised bundle (bundle mode)
    lines: list[tuple[str, bytes]] = field(default_factory=list)  # (resource type, NDJSON line) in NDJSON mode
    notes: list[str] = field(default_factory=list)  # explanations for ``-v`` (which words gave which atom)
    # (field, message) of each warning, the field without list indices: what the run's summary counts per field
    warning_kinds: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return self.path + (f"#{self.index}" if self.index is not None else "")


__all__ = ["Outcome"]
