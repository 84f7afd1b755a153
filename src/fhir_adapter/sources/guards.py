"""Checks of untrusted input against ``fhir_adapter.limits.Limits`` that run before (or instead of) parsing.

Each check is linear in the input size, so that a hostile document is refused in the time it takes to read it:
JSON nesting depth (before orjson parses a document and before anything is pickled to a worker), XML element and
attribute counts (before libxml2 parses: its duplicate-attribute check is quadratic), the items of one list-valued
field, integer fields in FHIR's ``unsignedInt`` range, and NCT ids free of control characters.

Messages name the field and the limit with the option that raises it; they never quote trial text.
"""

from __future__ import annotations

import math
import re
from itertools import accumulate
from typing import Any

from fhir_adapter.errors import LimitExceeded, SourceError
from fhir_adapter.limits import MB
from fhir_adapter.model import AgeLimit, Source
from fhir_adapter.sources.wording import parse_age

# The command-line option of each limit (named in messages so that the reader knows how to raise it).
OPTION = {
    "max_record_bytes": "--max-record-mb",
    "max_json_depth": "--max-json-depth",
    "max_list_items": "--max-list-items",
    "max_member_bytes": "--limit max-member-mb=N",
    "max_zip_ratio": "--limit max-zip-ratio=N",
    "max_archive_bytes": "--limit max-archive-mb=N",
    "max_xml_elements": "--limit max-xml-elements=N",
    "max_xml_attributes": "--limit max-xml-attributes=N",
    "fifo_wait_seconds": "--limit fifo-wait=N",
}

# FHIR unsignedInt (ResearchStudy.recruitment.targetNumber / actualNumber): 0 .. 2^31 - 1.
MAX_UNSIGNED_INT = 2**31 - 1

# A plausible record id: letters and digits, then letters, digits, '.', '_' or '-', 64 characters at most
# (ClinicalTrials.gov ids are NCT and 8 digits). One character class per position: linear.
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def over(what: str, amount: str, limit_name: str, limit: int | float, unit: str = "") -> str:
    """``what: 100000 items, over the limit of 20000 (--max-list-items)`` (no ``what: `` when ``what`` is empty:
    the error's field names it)."""
    shown = _size(limit) if unit == "bytes" else f"{limit:g}" if isinstance(limit, float) else str(limit)
    return f"{what + ': ' if what else ''}{amount}, over the limit of {shown} ({OPTION[limit_name]})"


def _size(n: int | float) -> str:
    return f"{n / MB:g} MB" if n >= MB else f"{int(n)} bytes"


def size_text(n: int) -> str:
    """A byte count for a message (``40 MB``, ``812 bytes``)."""
    return _size(n)


# ------------------------------------------------------------------------------------------------ JSON depth

# An escaped backslash or quote (``\\``, ``\"``), removed left to right in one pass: the same bytes go as when every
# escaped backslash, then every escaped quote is removed with ``bytes.replace`` (a removed pair never makes a new
# one), at a fifth of the cost (a two-byte ``replace`` scans slowly for a needle that ends in a frequent byte).
_ESCAPES = re.compile(rb'\\[\\"]')
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_LIST_MARKS = bytes(b for b in range(256) if b not in b'[]{}",')
_INNERMOST = re.compile(rb"\[,*\]")  # a container holding no container (its items' commas only)
_PEEL_PASSES = 128  # passes at most (each one linear): deeper documents are summed bracket by bracket
# +1 for an opening bracket, -1 for a closing one (indexed by byte value; only brackets are left when used).
_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


def json_depth(data: bytes) -> int:
    """The nesting depth of a JSON document (``{}`` is 1), from a linear scan that skips string contents.

    Escaped backslashes, then escaped quotes are removed, so that every remaining ``"`` opens or closes a string;
    the brackets outside strings are then summed. Exact for valid JSON; for invalid JSON a bound good enough to
    refuse it early (orjson reports the syntax error otherwise)."""
    if (few := _few_brackets(data)) is not None:
        return few
    plain = _ESCAPES.sub(b"", data)
    # only brackets and quotes are kept; two adjacent quotes (a string without brackets, or the end of one and the
    # start of the next) go together, which keeps every bracket on its side of the strings: few pieces to split
    marks = plain.translate(None, _NOT_MARKS).replace(b'""', b"")
    outside = b"".join(marks.split(b'"')[::2]) if b'"' in marks else marks
    if not outside:
        return 0
    return _peeled_depth(outside) or max(0, max(accumulate(map(_STEP.__getitem__, outside))))


def _few_brackets(data: bytes) -> int | None:
    """The number of opening brackets when there are at most one (the depth then), else None: found without
    counting them all."""
    square, curly = data.find(b"["), data.find(b"{")
    if square >= 0 and curly >= 0:
        return None
    first = max(square, curly)
    if first < 0:
        return 0
    return 1 if data.find(data[first : first + 1], first + 1) < 0 else None


def _peeled_depth(brackets: bytes) -> int:
    """The depth of balanced brackets as the number of passes that remove every innermost pair (``[]``, ``{}``, or
    mismatched: every opening bracket counts +1 and every closing one -1, as in ``json_depth``); 0 when they are
    not balanced or nest deeper than ``_PEEL_PASSES`` (the caller then sums them one by one)."""
    rest = brackets.translate(_SQUARE)
    for passes in range(1, _PEEL_PASSES + 1):
        peeled = rest.replace(b"[]", b"")
        if not peeled:
            return passes
        if len(peeled) == len(rest):
            return 0
        rest = peeled
    return 0


def check_json_depth(data: bytes, max_depth: int, path: str, index: int | None) -> None:
    """Raise ``LimitExceeded`` for a document nested deeper than ``max_depth`` (checked before parsing)."""
    depth = json_depth(data)
    if depth > max_depth:
        raise LimitExceeded(
            over("JSON nesting", f"{depth} levels deep", "max_json_depth", max_depth), path=path, index=index
        )


def may_hold_long_list(data: bytes, max_items: int) -> bool:
    """False when no JSON list in ``data`` (valid JSON, as orjson writes it) can have more than ``max_items`` items;
    True when one may (the caller then counts them). A list of n items holds n - 1 commas: with string contents
    removed, containers whose items are all scalars are peeled off one level per pass, and a list over the limit
    shows, at the latest when it is innermost, as a run of ``max_items`` commas. A large object (or more passes
    than ``_PEEL_PASSES``) may answer True: never False for a list over the limit."""
    if data.count(b",") < max_items:
        return False
    plain = _ESCAPES.sub(b"", data)
    marks = plain.translate(_SQUARE, _NOT_LIST_MARKS).replace(b'""', b"")
    skeleton = b"".join(marks.split(b'"')[::2]) if b'"' in marks else marks
    run = b"," * max_items
    for _ in range(_PEEL_PASSES):
        if run in skeleton:
            return True
        peeled = _INNERMOST.sub(b"", skeleton)
        if not peeled:
            return False
        if len(peeled) == len(skeleton):
            return True  # not balanced: undecided
        skeleton = peeled
    return True


# Structural bytes of JSON, and the key that names a list of studies (v2 search page, v1 FullStudiesResponse).
_JSON_TOKEN = re.compile(rb'[\[\]{},"\\]')
_STUDIES_KEY = re.compile(rb'"(?:studies|FullStudies)"\s*:\s*$')


def deep_items(data: bytes, max_depth: int) -> list[tuple[int, int, int, int]] | None:
    """For a document deeper than ``max_depth`` whose depth is all inside items of its list of studies (a JSON
    list, or ``studies`` / ``FullStudies``), the ``(start, end, item index, depth)`` of each item too deep; None
    when the depth is elsewhere (the document is refused whole). One linear pass over the structural bytes, used
    only for documents already found too deep."""
    depth, in_string, skip = 0, False, -1
    container, closed = -1, False  # depth inside the list of studies, once found; whether it has ended
    start = index = item_depth = 0
    out: list[tuple[int, int, int, int]] = []
    for m in _JSON_TOKEN.finditer(data):
        pos = m.start()
        c = data[pos]
        if pos == skip or (in_string and c not in b'"\\'):
            continue
        if c == 0x5C:  # a backslash escapes the next byte (only inside strings in valid JSON)
            skip = pos + 1
        elif c == 0x22:
            in_string = not in_string
        elif c in b"[{":
            if (
                container < 0
                and c == 0x5B
                and (depth == 0 or (depth <= 2 and _STUDIES_KEY.search(data, max(0, pos - 64), pos)))
            ):
                container, start = depth + 1, pos + 1
            depth += 1
            item_depth = max(item_depth, depth)
            if depth > max_depth and (container < 0 or closed):
                return None
        elif c in b"]}" or (c == 0x2C and depth == container):
            if depth == container:  # the end of an item of the list of studies
                if item_depth > max_depth:
                    out.append((start, pos, index, item_depth))
                start, index, item_depth = pos + 1, index + 1, 0
                closed = c != 0x2C
            if c != 0x2C:
                depth -= 1
    return out or None


# ------------------------------------------------------------------------------------------------ XML counts

# Inside a start tag: a quoted attribute value or the tag's end. The classes exclude their own delimiter: linear.
_TAG_TOKEN = re.compile(rb""""[^"]*"|'[^']*'|>""")
_NAME_START = re.compile(rb"[A-Za-z_:]")
# An attribute takes at least 5 bytes of a start tag (whitespace, a 1-character name, '=' and two quotes).
_MIN_ATTRIBUTE_BYTES = 4


def check_xml_counts(data: bytes, max_elements: int, max_attributes: int, source: Source) -> None:
    """Raise ``LimitExceeded`` before parsing for a document with more than ``max_elements`` elements or an element
    with more than ``max_attributes`` attributes (``data`` is UTF-8 or ASCII-compatible)."""
    # Every start or empty-element tag begins with '<' not followed by '/', '!' or '?' (an upper bound: '<' in
    # comments and CDATA are counted too). The tags are counted only when the '<' alone are over the limit.
    opening = data.count(b"<")
    elements = (
        opening if opening <= max_elements else opening - data.count(b"</") - data.count(b"<!") - data.count(b"<?")
    )
    if elements > max_elements:
        raise LimitExceeded(
            over("XML elements", f"about {elements} elements", "max_xml_elements", max_elements),
            path=source.path,
            index=source.index,
        )
    if not _more_than(data, b"=", max_attributes):
        return  # each attribute has an '=': no element can be over the limit
    shortest = _MIN_ATTRIBUTE_BYTES * max_attributes
    for piece in data.split(b"<"):
        if len(piece) <= shortest or not _NAME_START.match(piece):
            continue
        for count, token in enumerate(_TAG_TOKEN.finditer(piece), 1):
            if token.group() == b">":
                break
            if count > max_attributes:
                name = re.match(rb"[^\s/>]{1,64}", piece)
                tag = name.group().decode("utf-8", "replace") if name else "?"
                raise LimitExceeded(
                    over(
                        "",
                        f"more than {max_attributes} attributes on one element",
                        "max_xml_attributes",
                        max_attributes,
                    ),
                    path=source.path,
                    index=source.index,
                    field=tag,
                )


def _more_than(data: bytes, byte: bytes, limit: int) -> bool:
    """Whether ``byte`` occurs more than ``limit`` times in ``data`` (``data.count(byte) > limit``), found without
    counting past the limit (most documents hold a few)."""
    at = -1
    for _ in range(limit + 1):
        at = data.find(byte, at + 1)
        if at < 0:
            return False
    return True


# ------------------------------------------------------------------------------------------------ fields


def check_items(
    count: int, field: str, max_items: int, source: Source, nct_id: str | None, what: str = "items"
) -> None:
    """Raise ``LimitExceeded`` for a list-valued field with more than ``max_items`` items (``what`` names what was
    counted in the message)."""
    if count > max_items:
        raise LimitExceeded(
            over("", f"{count} {what}", "max_list_items", max_items),
            path=source.path,
            index=source.index,
            nct_id=nct_id,
            field=field,
        )


def check_text_items(text: str, field: str, max_items: int, source: Source, nct_id: str | None) -> None:
    """Raise ``LimitExceeded`` for a text split into items (eligibility criteria) with more lines than
    ``max_items``: each item starts a line, so this bounds the items before the text is split."""
    lines = text.count("\n") + text.count("\r") - text.count("\r\n") + 1
    check_items(lines, field, max_items, source, nct_id, "lines (list items)")


def unsigned_int(value: Any) -> int | None:
    """``value`` as a FHIR unsignedInt (0 .. 2^31-1), or None: an int or an integral finite float in range (JSON
    ``63.0``); booleans, NaN, infinities, negative, fractional and larger numbers are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_UNSIGNED_INT:
        return value
    return None


def read_age(raw: str) -> AgeLimit | None:
    """``parse_age`` of the registry wording, kept only for a finite value from 0 to 2^31-1 (``"1e308 Years"`` and
    ``"inf Years"`` are not ages: they would reach FHIR's Quantity.value as an infinite or 300-digit number)."""
    age = parse_age(raw)
    if age is None or not math.isfinite(age.value) or not 0 <= age.value <= MAX_UNSIGNED_INT:
        return None
    return age


_DIGITS = re.compile(r"[0-9]{1,12}")


def parse_count(raw: str) -> int | None:
    """A count written as text (``"63"``, ``"1,200"``, legacy ``"63.0"``) as an unsignedInt, or None."""
    text = raw.strip().replace(",", "")
    if text.endswith(".0"):
        text = text[:-2]
    if not _DIGITS.fullmatch(text):
        return None
    return unsigned_int(int(text))


def check_nct_id(value: str, field: str, source: Source) -> str:
    """The record id, or ``SourceError`` naming the field for one with control characters or otherwise not a
    plausible id (letters, digits, '.', '_', '-'; 64 characters at most). The id is not quoted: it is what is
    wrong."""
    if _PLAUSIBLE_ID.fullmatch(value):
        return value
    why = (
        "control characters"
        if any(ord(c) < 32 or ord(c) == 127 for c in value)
        else "characters other than letters, digits, '.', '_' and '-'"
        if len(value) <= 64
        else "more than 64 characters"
    )
    raise SourceError(f"implausible NCT id ({why})", path=source.path, index=source.index, field=field)


__all__ = [
    "MAX_UNSIGNED_INT",
    "OPTION",
    "check_items",
    "check_json_depth",
    "check_nct_id",
    "check_text_items",
    "check_xml_counts",
    "deep_items",
    "json_depth",
    "may_hold_long_list",
    "over",
    "parse_count",
    "read_age",
    "size_text",
    "unsigned_int",
]
