"""``read_trials``: the trials of a file or folder, or of content already in memory (the public API's reader).

The input may be

- a path (``str`` or ``os.PathLike``): a file or folder, read as ``convert`` reads it (``fhir_adapter.sources``);
- ``bytes`` or a ``str`` holding a document: ClinicalTrials.gov API v2 JSON (a study, a list, a ``/studies`` page,
  JSON lines), API v1 JSON, legacy XML or a plain-text trial page. The format is detected from the content exactly
  as for a file (``fhir_adapter.sources.detect``). A ``str`` is content when it holds a line break or starts with
  ``{``, ``[`` or ``<`` (after spaces or a byte-order mark), else it is a path;
- a ``dict`` (or a ``list`` of them): parsed JSON, e.g. ``requests.get(...).json()``: read as that JSON document.

Content is subject to the same limits as a file (``fhir_adapter.limits``). The first record that cannot be read
raises ``SourceError``; ``fhir_adapter.sources.read_records`` goes on past bad records instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir_adapter.errors import SourceError
from fhir_adapter.issues import Issue
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import Trial

__all__ = ["TrialInput", "read_trials", "warnings_of"]

TrialInput = str | os.PathLike[str] | bytes | dict[str, Any] | list[Any]
_CONTENT_START = ("{", "[", "<")
_BOM = "\ufeff"


def is_content(text: str) -> bool:
    """True when a ``str`` given to ``read_trials`` is a document rather than a path: it holds a line break or
    starts like JSON or XML (a path holds neither)."""
    head = text.lstrip(_BOM + " \t")
    return "\n" in text or "\r" in text or head.startswith(_CONTENT_START)


def content_of(source: TrialInput) -> tuple[bytes, str] | None:
    """The bytes of an in-memory input and the label its messages name it by; None for a path."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "<bytes>"
    if isinstance(source, dict | list):
        import orjson

        try:
            return orjson.dumps(source), f"<{type(source).__name__}>"
        except TypeError as e:  # a value JSON cannot hold (a set, a date ...): this is no JSON document
            raise SourceError(f"not a JSON document: {e}", path=f"<{type(source).__name__}>") from None
    if isinstance(source, str) and is_content(source):
        return source.encode("utf-8", "surrogatepass"), "<str>"
    return None


def read_trials(source: TrialInput, *, limits: Limits = DEFAULT_LIMITS) -> Iterator[Trial]:
    """The trials of ``source``: a path, ``bytes`` or ``str`` content, or parsed JSON (see the module docstring).
    Raises ``SourceError`` at the first record that cannot be read (a path that does not exist too)."""
    from fhir_adapter.sources import read_bytes, read_records

    content = content_of(source)
    if content is None:
        if not isinstance(source, str | os.PathLike):
            raise TypeError(f"read_trials takes a path, bytes, str, dict or list, not {type(source).__name__}")
        records = read_records([Path(source)], limits=limits)
    else:
        records = read_bytes(content[0], content[1], limits=limits)
    for record in records:
        if record.error is not None:
            raise record.error
        assert record.trial is not None
        yield record.trial


def warnings_of(trial: Trial) -> list[Issue]:
    """The reader's findings on a trial that a conversion reports as warnings (the "N warnings" of each
    ``fhir-adapter convert`` line): every issue but the information-level notes."""
    return [issue for issue in trial.issues if issue.severity != "information"]
