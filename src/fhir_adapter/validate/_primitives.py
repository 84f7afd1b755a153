"""The JSON representation of the FHIR R5 primitive types: JSON type, value range and the official regex.

https://hl7.org/fhir/R5/datatypes.html#primitive and https://hl7.org/fhir/R5/json.html#primitive: booleans are JSON
booleans, integer / unsignedInt / positiveInt JSON numbers without a fraction (in range), decimal a JSON number,
integer64 and every other primitive a JSON string matching the type's regex.

The regexes are the official ones (the ``http://hl7.org/fhir/StructureDefinition/regex`` extension on the type of
``<type>.value`` in each primitive's StructureDefinition, kept in the definitions subset as ``primitiveRegexes``),
written here as module-level constants so ``tests/test_regex_linear.py`` proves each runs in linear time;
``tests/test_validate_fast.py`` checks each accepts exactly what the official one accepts on samples. Two differ
in form only: base64Binary's ``(?:[A-Za-z0-9+/]{4})*...`` is the alphabet then at most two ``=`` with a length
that is a multiple of 4, and oid's repeated groups are checked arc by arc. decimal's official regex cannot match
a JSON number's text as published (``{1,9}}``: a stray brace) and is not used: a JSON number is a decimal.
Strings must also not be empty or whitespace only (ele-1), as the bundle layer requires of every string; dates must
be days of the calendar and a dateTime with a time must have a timezone offset (SHALLs of the datatypes' definitions
that their regexes leave out).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Set
from typing import Any

from fhir_adapter.validate._common import short

Check = Callable[[Any], str | None]

_YEAR = r"(?:[0-9](?:[0-9](?:[0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?"
_OFFSET = r"(?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)"
_MONTH = r"(?:0[1-9]|1[0-2])"
_DAY = r"(?:0[1-9]|[1-2][0-9]|3[0-1])"

PATTERNS: dict[str, re.Pattern[str]] = {
    "base64Binary": re.compile(r"[A-Za-z0-9+/]*={0,2}"),
    "canonical": re.compile(r"\S*"),
    "code": re.compile(r"[^\s]+(?: [^\s]+)*"),
    "date": re.compile(_YEAR + r"(?:-" + _MONTH + r"(?:-" + _DAY + r")?)?"),
    "dateTime": re.compile(
        # the official regex: the offset after + or - is optional, and a zone may follow a year-month
        _YEAR + r"(?:-" + _MONTH + r"(?:-" + _DAY + r"(?:T" + _TIME + r")?)?(?:Z|[+-]" + _OFFSET + r"?)?)?"
    ),
    "id": re.compile(r"[A-Za-z0-9\-\.]{1,64}"),
    "instant": re.compile(_YEAR + "-" + _MONTH + "-" + _DAY + "T" + _TIME + r"(?:Z|[+-]" + _OFFSET + ")"),
    "integer64": re.compile(r"[0]|[-+]?[1-9][0-9]*"),
    "oid": re.compile(r"urn:oid:[0-2](?:\.[0-9]+)+"),
    "time": re.compile(_TIME),
    "uri": re.compile(r"\S*"),
    "url": re.compile(r"\S*"),
    "uuid": re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
}
_ELE1 = "(ele-1: all FHIR elements must have a @value or children)"
_RANGES = {
    "integer": (-(2**31), 2**31 - 1),
    "unsignedInt": (0, 2**31 - 1),
    "positiveInt": (1, 2**31 - 1),
}
_INTEGER64 = (-(2**63), 2**63 - 1)


def _blank(value: str) -> str:
    what = "empty string" if not value else "whitespace-only string"
    return f"{what} {_ELE1}"


# Short values that passed a regex check, per check: codes, dates and ids repeat across a bulk run, and a set lookup
# costs a fraction of the match. Bounded, so a run of distinct values cannot grow it without end.
_KNOWN_MAX_CHARS = 64
_KNOWN_MAX_VALUES = 50_000


def _string_check(tcode: str, known: set[str] | None = None) -> Check:
    """The check of a string type; ``known``: where it remembers the values it passed (its own set if None)."""
    pattern = PATTERNS.get(tcode)
    known = set() if known is None else known

    def check(value: Any) -> str | None:
        if type(value) is not str:
            return f"expected a JSON string ({tcode}), got {short(value)}"
        if value in known:
            return None
        if not value or value.isspace():
            return _blank(value)
        if pattern is not None:
            if pattern.fullmatch(value) is None:
                return f"not a valid {tcode}: {short(value)}"
            if len(value) <= _KNOWN_MAX_CHARS and len(known) < _KNOWN_MAX_VALUES:
                known.add(value)
        return None

    return check


def _boolean(value: Any) -> str | None:
    return None if type(value) is bool else f"expected a JSON boolean, got {short(value)}"


def _decimal(value: Any) -> str | None:
    if type(value) is int or type(value) is float:
        return None
    return f"expected a JSON number (decimal), got {short(value)}"


def _integer_check(tcode: str) -> Check:
    low, high = _RANGES[tcode]

    def check(value: Any) -> str | None:
        if type(value) is not int:
            return f"expected a JSON integer ({tcode}), got {short(value)}"
        if not low <= value <= high:
            return f"{tcode} out of range [{low}, {high}]: {value}"
        return None

    return check


_base64 = _string_check("base64Binary")
_integer64 = _string_check("integer64")


def _base64_binary(value: Any) -> str | None:
    problem = _base64(value)
    if problem is None and len(value) % 4:
        return f"not a valid base64Binary (length not a multiple of 4): {short(value)}"
    return problem


def _oid(value: Any) -> str | None:
    problem = _oid_text(value)
    if problem is None and any(arc.startswith("0") and arc != "0" for arc in value[8:].split(".")):
        return f"not a valid oid (leading zero): {short(value)}"
    return problem


_oid_text = _string_check("oid")


def _integer64_text(value: Any) -> str | None:
    problem = _integer64(value)
    if problem is None and not _INTEGER64[0] <= int(value) <= _INTEGER64[1]:
        return f"integer64 out of range: {short(value)}"
    return problem


def _impossible_day(value: str) -> bool:
    """True for a day the month does not have (2021-02-29, 2020-04-31); ``value`` matched a date regex."""
    if len(value) < 10 or value[8:10] <= "28":
        return False
    try:
        datetime.date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return True
    return False


def _calendar_check(tcode: str, known: set[str]) -> Check:
    text = _string_check(tcode)

    def check(value: Any) -> str | None:
        if type(value) is str and value in known:
            return None
        # https://hl7.org/fhir/R5/datatypes.html#date: dates SHALL be valid dates (the regex allows 02-31);
        # #dateTime: "If hours and minutes are specified, a timezone offset SHALL be populated" (the regex alone
        # allows a time without one, and a bare + or -).
        problem = text(value)
        if problem is not None:
            return problem
        if _impossible_day(value):
            return f"not a valid {tcode} (no such day): {short(value)}"
        if tcode == "dateTime" and "T" in value and not (value[-1] == "Z" or value[-6:-5] in ("+", "-")):
            return f"not a valid dateTime (a time needs a timezone offset): {short(value)}"
        if len(known) < _KNOWN_MAX_VALUES:
            known.add(value)  # matched a date regex: short
        return None

    return check


def checker(tcode: str) -> Check:
    """The check of a primitive type's JSON value: None if valid, else the problem (for the issue message)."""
    return primitive(tcode)[0]


_SPECIAL: dict[str, Check] = {"base64Binary": _base64_binary, "oid": _oid, "integer64": _integer64_text}
_NONE: frozenset[str] = frozenset()


def primitive(tcode: str) -> tuple[Check, Set[str], bool]:
    """A new check of a primitive type's JSON value (see ``checker``) and what lets a caller skip calling it for a
    JSON string it would pass: the values it has passed so far (the set grows as it checks; empty for the types
    whose checks test more after the regex: oid, base64Binary, integer64), and whether it passes any non-blank
    string (no regex: string, markdown, xhtml, System.String)."""
    if tcode == "boolean":
        return _boolean, _NONE, False
    if tcode == "decimal":
        return _decimal, _NONE, False
    if tcode in _RANGES:
        return _integer_check(tcode), _NONE, False
    if tcode in _SPECIAL:
        return _SPECIAL[tcode], _NONE, False
    known: set[str] = set()
    if tcode in ("date", "dateTime", "instant"):
        return _calendar_check(tcode, known), known, False
    return _string_check(tcode, known), known, tcode not in PATTERNS
