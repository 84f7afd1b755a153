"""Text helpers of the regimen reader: words with their offsets, table phrases found in a stretch of text, clause
boundaries outside parentheses. No vocabulary here: the words come from ``mappings/regimen-terms.json``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from fhir_adapter.regimen.terms import key

__all__ = ["Span", "clause_ends", "find_phrases", "first_phrase", "normalise", "paren_depths"]

T = TypeVar("T")
Span = tuple[int, int]

# A word: letters, digits and the inner punctuation of "i.v.", "3D-CRT", "IV/PO", "once-daily".
WORD = re.compile(r"[\w.'/-]+")
MAX_PHRASE_WORDS = 4
# What separates clauses: a full stop before a space or the end, a semicolon, a line break, a middle dot or bullet.
CLAUSE_END = re.compile(r"\.(?=\s|$)|[;\n·•]")


def normalise(text: str) -> str:
    """The text with superscript two and unusual spaces written plainly, same length (offsets stay valid)."""
    return text.replace("²", "2").replace("\u00a0", " ").replace("\u2009", " ").replace("–", "-").replace("\u2011", "-")


def _words(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in WORD.finditer(text):
        word = m.group().strip(".'/-")
        if word:
            start = m.start() + m.group().index(word)
            out.append((start, start + len(word), key(word)))
    return out


def find_phrases(text: str, table: Mapping[str, T]) -> list[tuple[int, int, T]]:
    """Every phrase of ``table`` (keys in look-up form, up to four words) in ``text``, longest first at each word,
    not overlapping, in text order, as (start, end, value)."""
    words = _words(text)
    found: list[tuple[int, int, T]] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            phrase = " ".join(w[2] for w in words[i : i + n])
            if phrase in table:
                found.append((words[i][0], words[i + n - 1][1], table[phrase]))
                i += n
                break
        else:
            i += 1
    return found


def first_phrase(text: str, table: Mapping[str, T]) -> T | None:
    """The value of the first phrase of ``table`` in ``text``, None when there is none."""
    found = find_phrases(text, table)
    return found[0][2] if found else None


def paren_depths(text: str) -> list[int]:
    """The bracket depth at every offset of ``text`` (round and square brackets)."""
    depths, depth = [], 0
    for ch in text:
        if ch in "([":
            depth += 1
        depths.append(depth)
        if ch in ")]" and depth:
            depth -= 1
    return depths


def clause_ends(text: str) -> list[int]:
    """The offsets where a clause ends, outside brackets ("(Eurartesim®; Sigma Tau)" does not end one)."""
    depths = paren_depths(text)
    return [m.start() for m in CLAUSE_END.finditer(text) if depths[m.start()] == 0]
