"""Text helpers of the regimen reader: words with their offsets, table phrases found in a stretch of text, clause
boundaries outside parentheses. No vocabulary here: the words come from ``mappings/regimen-terms.json``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from itertools import accumulate
from typing import Any, TypeVar

from fhir_adapter.ascii_words import word_runs

__all__ = [
    "Span",
    "clause_ends",
    "ends_phrase",
    "find_phrases",
    "first_phrase",
    "has_any",
    "may_hold_phrase",
    "normalise",
    "paren_depths",
    "starts_in",
    "trim_joins",
]

T = TypeVar("T")
D = TypeVar("D")
Span = tuple[int, int]

# A word: letters, digits and the inner punctuation of "i.v.", "3D-CRT", "IV/PO", "once-daily", without the
# punctuation at its edges ("i.v." -> "i.v"): from the first to the last letter or digit of a run of those
# characters. Captured, so that ``split`` gives the words and the text between them, and so their offsets.
KEYED = re.compile(r"(\w(?:[\w.'/-]*\w)?)")
INNER_MARKS = ".'/-"  # the punctuation a word may hold inside ("i.v", "3d-crt"), never at its edges
MAX_PHRASE_WORDS = 4
BRACKET = re.compile(r"[()\[\]]")
# What separates clauses: a full stop before a space or the end, a semicolon, a line break, a middle dot or bullet.
# One character class first (then, for a full stop, what follows it): the engine jumps to the candidates instead of
# trying both alternatives at every character; the same ends as "\.(?=\s|$)|[;\n·•]".
CLAUSE_END = re.compile(r"[.;\n·•](?:(?<=[;\n·•])|(?=\s|$))")
# Words that join a drug to the next one: not part of either drug's text at its edges.
JOIN_WORDS = ("in addition to", "in combination with", "followed by", "and", "plus", "with", "or", "then")
EDGE_MARKS = " ,;.+:\n\t"
_JOIN_ENDS = tuple(" " + word for word in JOIN_WORDS)  # one C-level test before the word-by-word search
_JOIN_STARTS = tuple(word + " " for word in JOIN_WORDS)


def starts_in(low: str, word: str) -> list[int]:
    """The offsets where ``word`` (lower case) starts in ``low``, a text lowered (one lowering for several words):
    where a keyword-led pattern is matched, so that the cost follows the keyword's occurrences, not the text's
    length."""
    out: list[int] = []
    i = 0
    while (i := low.find(word, i)) >= 0:
        if i == 0 or not low[i - 1].isalnum():
            out.append(i)
        i += len(word)
    return out


def has_any(text: str, *words: str) -> bool:
    """Whether ``text`` holds any of ``words`` (lower case), ignoring case: the gate before a pattern runs."""
    low = text.lower()
    return any(map(low.__contains__, words))  # no generator: a gate runs on every phase, several times


def normalise(text: str) -> str:
    """The text with superscript two and unusual spaces written plainly, same length (offsets stay valid)."""
    return text.replace("²", "2").replace("\u00a0", " ").replace("\u2009", " ").replace("–", "-").replace("\u2011", "-")


@lru_cache(maxsize=256)
def _words(text: str) -> tuple[list[str], list[int]]:
    # (look-up forms, offsets): word k is keys[k], from offsets[2k] to offsets[2k + 1]. Split and measured in C (no
    # Python step per word): a word is KEYED's. ASCII text is lowered whole (same length); other text word by word, as
    # lowering may depend on a letter's neighbours (a final sigma).
    if text.isascii():
        parts = KEYED.split(text.lower())
        keys = parts[1::2]
    else:
        parts = KEYED.split(text)
        keys = [w.lower() for w in parts[1::2]]
    return keys, list(accumulate(map(len, parts)))


_DERIVED: dict[tuple[Callable[..., object], int], tuple[Mapping[str, object], Any]] = {}


def _derived(build: Callable[[Mapping[str, T]], D], table: Mapping[str, T]) -> D:
    """``build(table)``, computed once per table: kept by the table's identity (the tables are read once and live as
    long as the process)."""
    cached = _DERIVED.get((build, id(table)))
    if cached is None or cached[0] is not table:
        cached = _DERIVED[(build, id(table))] = (table, build(table))
    derived: D = cached[1]
    return derived


def _heads(table: Mapping[str, T]) -> dict[str, int]:
    # First word of each phrase -> the most words a phrase starting with it has: most words start none, and cost
    # one look-up.
    heads: dict[str, int] = {}
    for phrase in table:
        first, n = phrase.split(" ", 1)[0], phrase.count(" ") + 1
        heads[first] = max(heads.get(first, 0), n)
    return heads


def find_phrases(text: str, table: Mapping[str, T]) -> list[tuple[int, int, T]]:
    """Every phrase of ``table`` (keys in look-up form, up to four words) in ``text``, longest first at each word,
    not overlapping, in text order, as (start, end, value)."""
    (keys, offsets), heads = _words(text), _derived(_heads, table)
    if heads.keys().isdisjoint(keys):
        return []  # no word starts a phrase of the table (most texts, for most tables)
    found: list[tuple[int, int, T]] = []
    after = 0  # the first word not inside a phrase found
    # only the words that start a phrase of the table are tried (most start none), in text order
    for i in [i for i, k in enumerate(keys) if k in heads]:
        if i < after:
            continue
        for n in range(min(heads[keys[i]], MAX_PHRASE_WORDS, len(keys) - i), 0, -1):
            phrase = " ".join(keys[i : i + n])
            if phrase in table:
                found.append((offsets[2 * i], offsets[2 * (i + n) - 1], table[phrase]))
                after = i + n
                break
    return found


def may_hold_phrase(text: str, table: Mapping[str, T]) -> bool:
    """False when ``find_phrases(text, table)`` surely finds nothing: in ASCII text, when no run of letters, digits
    and underscores (``ascii_words.word_runs``) is the first such run of a phrase of the table. A word (KEYED) starts
    with such a run, which stands alone in the text, so a word that starts a phrase leaves one."""
    firsts = _derived(_firsts, table)
    if firsts is None or (runs := word_runs(text)) is None:
        return True
    return not firsts.isdisjoint(runs.split())


def _firsts(table: Mapping[str, T]) -> frozenset[str] | None:
    # The first run of letters, digits and underscores of each phrase (a phrase starting otherwise matches no word);
    # None (no gate) for a table with a phrase that is not ASCII.
    runs = [word_runs(phrase) for phrase in table]
    if None in runs:
        return None
    return frozenset(r.split(" ", 1)[0] for r in runs if r is not None and r[:1] != " ")


def ends_phrase(text: str, table: Mapping[str, T]) -> bool:
    """Whether a phrase of ``table`` may end ``text`` (before trailing white space): False when the text ends with
    something other than a letter or digit (the punctuation after a word is no part of it), or with a word that
    ends no phrase of the table."""
    end = len(text.rstrip())
    if not end or not _is_word_char(text[end - 1]):
        return False
    start = end - 1
    while start and (_is_word_char(text[start - 1]) or text[start - 1] in INNER_MARKS):
        start -= 1
    return text[start:end].lstrip(INNER_MARKS).lower() in _derived(_tails, table)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what \w matches


def _tails(table: Mapping[str, T]) -> frozenset[str]:
    # The last word of each phrase of the table.
    return frozenset(phrase.rsplit(" ", 1)[-1] for phrase in table)


def first_phrase(text: str, table: Mapping[str, T]) -> T | None:
    """The value of the first phrase of ``table`` in ``text``, None when there is none."""
    found = find_phrases(text, table)
    return found[0][2] if found else None


@lru_cache(maxsize=256)
def paren_depths(text: str) -> tuple[int, ...]:
    """The bracket depth at every offset of ``text`` (round and square brackets)."""
    if "(" not in text and "[" not in text:
        return (0,) * len(text)
    # One step per bracket, not per character: the text between two brackets is at one depth.
    depths: list[int] = []
    depth = done = 0
    for m in BRACKET.finditer(text):
        at = m.start()
        depths += [depth] * (at - done)
        if m.group() in "([":
            depth += 1
            depths.append(depth)
        else:
            depths.append(depth)
            depth -= 1 if depth else 0
        done = at + 1
    depths += [depth] * (len(text) - done)
    return tuple(depths)


@lru_cache(maxsize=256)
def clause_ends(text: str) -> tuple[int, ...]:
    """The offsets where a clause ends, outside brackets ("(Eurartesim®; Sigma Tau)" does not end one)."""
    depths = paren_depths(text)
    return tuple(m.start() for m in CLAUSE_END.finditer(text) if depths[m.start()] == 0)


def trim_joins(text: str) -> str:
    """``text`` without the punctuation and joining words at its edges ("at 50mg/m2 and" -> "at 50mg/m2", "+
    magnesium sulphate" -> "magnesium sulphate")."""
    before = None
    while before != text:
        before = text = text.strip(EDGE_MARKS)
        low = text.lower()
        if not (low.endswith(_JOIN_ENDS) or low.startswith(_JOIN_STARTS)):
            break  # no joining word at either edge (most texts): the loop below would find none
        for word in JOIN_WORDS:
            if low.endswith(" " + word):
                text = text[: -len(word)]
                break
            if low.startswith(word + " "):
                text = text[len(word) :]
                break
    return text
