"""The words of outcome time frames (``mappings/outcome-time-frames.json``) for
:mod:`fhir_adapter.computable.timeframe`: numbers, time units (UCUM), the events a time frame is measured from and
the words that name the time after one ("postpartum", "postoperative").

https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.characteristic.timeFromEvent; see the
computable contract (docs/computable.md) and docs/architecture.md.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from fhir_adapter.computable.vocabulary import ucum_unit
from fhir_adapter.terminology import mappings_dir

__all__ = ["counts", "ends_at", "event_names", "event_words", "events", "exact", "numbers", "time_unit", "tokens"]

# a decimal number, a number, a word, or one other visible character; no nested quantifier
_TOKEN = re.compile(r"\d+\.\d+|\d+|[a-z]+|[^\sa-z\d]")
_TIME_UNITS = frozenset({"a", "mo", "wk", "d", "h", "min", "s"})


def _read() -> Any:
    import json

    with (mappings_dir() / "outcome-time-frames.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


@cache
def _own_units() -> dict[str, str]:
    rows = {k: v for k, v in _read()["units"].items() if not k.startswith("_")}
    return {form: ucum for ucum, forms in rows.items() for form in forms}


@cache
def numbers() -> dict[str, int]:
    return {k: int(v) for k, v in _read()["numbers"].items() if not k.startswith("_")}


@cache
def events() -> dict[tuple[str, ...], str]:
    rows = {k: v for k, v in _read()["events"].items() if not k.startswith("_")}
    return {tuple(tokens(form)): key for key, row in rows.items() for form in row["forms"]}


@cache
def event_words(field: str) -> dict[str, str]:
    """One word that is the time after an event, written after the time ("after": "postpartum", after delivery)
    or before it or its unit ("before": "postoperative 1 day", "1st postoperative day", after surgery)."""
    rows = {k: v for k, v in _read()["events"].items() if not k.startswith("_")}
    return {word: key for key, row in rows.items() for word in row.get(field, [])}


@cache
def counts() -> dict[str, frozenset[str]]:
    rows = {k: v for k, v in _read()["events"].items() if not k.startswith("_")}
    return {key: frozenset(row.get("counts", [])) for key, row in rows.items()}


def ends_at(start: str | None, event: str | None) -> bool:
    """Whether a span from ``start`` may end at a time after ``event``: the same event, or one the start's row
    counts ("from end of surgery until 30 days after surgery")."""
    return event is None or start in (None, event) or event in counts().get(start or "", frozenset())


@cache
def exact() -> dict[str, tuple[str, int]]:
    """The smaller unit a unit is a whole multiple of ("a" -> ("mo", 12))."""
    return {k: (v[0], int(v[1])) for k, v in _read()["exact"].items() if not k.startswith("_")}


@cache
def event_names() -> dict[str, str]:
    return {k: v["text"] for k, v in _read()["events"].items() if not k.startswith("_")}


def time_unit(word: str) -> str | None:
    """The UCUM time unit a word names ("months" -> mo), None for any other word."""
    if not word.isalpha():
        return None
    code = _own_units().get(word) or ucum_unit(word)
    return code if code in _TIME_UNITS else None
