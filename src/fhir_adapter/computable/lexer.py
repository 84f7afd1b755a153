"""Words of a criterion -> lexical items: concepts of the table, numbers with their units and comparators,
time-window openers, results, negations, connectors, filler and blockers (the parser's input).

Every phrase is looked up in dictionaries built once from ``mappings/eligibility-concepts.json`` and
``mappings/ucum-units.json`` (longest phrase first, at most ``MAX_PHRASE`` words): the cost is linear in the number
of words, and the only regular expression is the word splitter. See the computable contract (docs/computable.md)."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from fhir_adapter.computable.vocabulary import _read, entries

__all__ = ["Item", "Token", "lex", "tokens", "tokens_of", "tokens_of_lower"]

# a word, a number (with its decimals: "1.5"), a run of other word characters, one other visible character or a
# circled number (① .. ⑳ separate sub-conditions and never join a word); no nested quantifier. The alternatives
# start with characters no other one starts with, except a number and the run (a number first), so their order
# changes no token: the word comes first as most tokens are words (the regex engine tries fewer alternatives)
_TOKEN = re.compile(
    r"[^\W\d_\u2460-\u24ff][^\W\u2460-\u24ff]*|\d+(?:\.\d+)?|[^\W\u2460-\u24ff]+|[^\w\s]|[\u2460-\u24ff]"
)
MAX_PHRASE = 9
_X_SPLIT = ("uln", "lln")
_UNIT_TOKEN_MAP = {"×": "x", "*": "x", "µ": "u", "μ": "u"}


class Token(NamedTuple):
    """One word or sign: its text, its lower-case comparison form and where it is in the criterion (a named tuple:
    one is made per word of every criterion, and a tuple is the cheapest immutable record to make)."""

    text: str
    low: str
    start: int
    end: int


_new_token = tuple.__new__  # Token(...) without the keyword handling of the generated __new__


@dataclass(slots=True)
class Item:
    """One lexical item: ``cat`` is concept, value, cmp, post, wopen, wrel, neg, prohibit, and, or, comma, event, qty,
    lparen, rparen, colon, semi, slash, stop, filler, blocker, bp (a systolic/diastolic pair's name) or word;
    ``data`` depends on it."""

    cat: str
    start: int
    end: int
    data: Any = None


def tokens(text: str) -> list[Token]:
    """The words and signs of ``text`` (numbers kept whole, '1.5' one token)."""
    out: list[Token] = []
    add, new = out.append, _new_token
    for m in _TOKEN.finditer(text):  # one token per word of every criterion: the plainest loop is the fastest
        word = m.group()
        start, end = m.span()
        add(new(Token, (word, word.lower(), start, end)))
    return out


def tokens_of(text: str, words: list[str]) -> list[Token]:
    """``tokens(text)`` from ``words_in(text)``, without a second regex pass: the token pattern matches every
    character but white space, so each word starts at the first non-space character after the one before it, which
    is where ``str.find`` finds it (a word holds no white space)."""
    out: list[Token] = []
    add, new, find = out.append, _new_token, text.find
    end = 0
    for word in words:
        start = find(word, end)
        end = start + len(word)
        add(new(Token, (word, word.lower(), start, end)))
    return out


def tokens_of_lower(text: str, lower: str, lows: list[str]) -> list[Token]:
    """``tokens(text)`` of an ASCII ``text`` from ``lows = words_in(lower)``, ``lower`` being ``text.lower()``:
    lowering ASCII letters changes no character's class, so these are the words of ``text`` lower-cased, at the same
    places (found in ``lower`` as ``tokens_of`` finds words, written as in ``text``)."""
    out: list[Token] = []
    add, new, find = out.append, _new_token, lower.find
    end = 0
    for low in lows:
        start = find(low, end)
        end = start + len(low)
        add(new(Token, (text[start:end], low, start, end)))
    return out


def words_in(text: str) -> list[str]:
    """The words and signs of ``text`` as written: the texts of ``tokens(text)``, without making tokens (the gate
    reads these, and most criteria are never lexed)."""
    return _TOKEN.findall(text)


def words_of(toks: list[Token], start: int, end: int) -> tuple[str, ...]:
    """The lower-case words of the tokens between ``start`` and ``end`` (a binary search: tokens are in order)."""
    k = bisect_left(toks, start, key=_token_start)
    out: list[str] = []
    while k < len(toks) and toks[k].end <= end:
        out.append(toks[k].low)
        k += 1
    return tuple(out)


_token_start = itemgetter(2)  # a token's start (Token.start): the key of a binary search, in C


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(t.low for t in tokens(text))


@cache
def _lexicon() -> dict[str, Any]:
    data: dict[str, Any] = _read("eligibility-concepts.json")["lexicon"]
    return data


@cache
def _general() -> dict[tuple[str, ...], tuple[str, Any]]:
    """Phrase -> (category, payload) for the phrases that mean the same wherever they stand; the first category
    registered for a phrase wins (concepts before connectors before filler)."""
    lex = _lexicon()
    table: dict[tuple[str, ...], tuple[str, Any]] = {}

    def add(cat: str, phrases: list[str], payload: Any = None) -> None:
        for p in phrases:
            table.setdefault(_phrase(p), (cat, payload if payload is not None else p))

    for e in entries().values():
        if e.kind not in ("event", "value"):
            add("concept", list(e.forms), e.key)
    for e in entries().values():
        if e.kind == "value":
            add("value", list(e.forms), e.key)
    add("bp", lex["blood_pressure"])
    for op, forms in lex["comparators"].items():
        add("cmp", forms, op)
    add("wopen", lex["window_openers"])
    add("prohibit", lex["prohibitions"])  # "may not be receiving": a negation in an inclusion only
    add("neg", lex["negations"])
    add("or", lex["or"])
    add("and", lex["and"])
    for e in entries().values():
        if e.kind == "event":
            add("event", list(e.forms), e.key)
    add("blocker", lex["blockers"])
    add("filler", lex["filler"])
    return table


@cache
def _case_sensitive() -> dict[tuple[str, ...], str]:
    return {tuple(t.text for t in tokens(f)): e.key for e in entries().values() for f in e.forms_case_sensitive}


@cache
def _events() -> dict[tuple[str, ...], str]:
    return {_phrase(f): e.key for e in entries().values() if e.kind == "event" for f in e.forms}


@cache
def _units() -> dict[tuple[str, ...], str]:
    rows: dict[str, list[str]] = _read("ucum-units.json")["units"]
    return {_unit_phrase(tokens(w)): ucum for ucum, written in rows.items() for w in written}


def _unit_phrase(toks: list[Token]) -> tuple[str, ...]:
    """Tokens of a unit reduced to compare: '^' dropped, '×'/'*' as 'x', superscripts as digits, 'x10' split."""
    if len(toks) == 1:
        return _unit_word(toks[0].low)
    return tuple(w for t in toks for w in _unit_word(t.low))


@lru_cache(maxsize=1 << 16)
def _unit_word(low: str) -> tuple[str, ...]:
    """One token's words as a unit compares them (none for '^', two for 'x10'); each token is reduced on its own,
    so a phrase's form is its tokens' forms end to end (cached: the same words recur in every criterion)."""
    low = unicodedata.normalize("NFKC", low)
    low = _UNIT_TOKEN_MAP.get(low, low).replace("μ", "u")
    if low == "^":
        return ()
    if len(low) > 1 and low[0] == "x" and (low[1:].isdigit() or low[1:] in _X_SPLIT):
        return ("x", low[1:])
    return (low,)


@cache
def _simple(section: str) -> dict[tuple[str, ...], str]:
    lex = _lexicon()[section]
    if isinstance(lex, dict):
        return {_phrase(f): op for op, forms in lex.items() for f in forms}
    return {_phrase(f): f for f in lex}


_NONE = object()  # a table value is never this: tells a missing phrase from one mapped to None
NO_PHRASE = _NONE  # the payload of a trie node where no phrase ends


def _first_words(table: dict[tuple[str, ...], Any]) -> dict[str, int]:
    """First word of every phrase of ``table`` -> the longest phrase starting with it (most words start none)."""
    index = _FIRST.get(id(table))
    if index is None:
        index = {}
        for key in table:
            if key:
                index[key[0]] = max(index.get(key[0], 0), len(key))
        _FIRST[id(table)] = index
    return index


_FIRST: dict[int, dict[str, int]] = {}  # by id of a cached (never freed) phrase table


def longest(toks: list[Token], i: int, table: dict[tuple[str, ...], Any], unit: bool = False) -> tuple[int, Any]:
    """The longest phrase of ``table`` starting at token ``i``: (number of tokens, payload), (0, None) if none."""
    if i >= len(toks):
        return 0, None
    if unit:
        return _longest_unit_phrase(toks, i, table)
    node = (_TRIES.get(id(table)) or _trie(table)).get(toks[i].low)
    return walk(toks, i, node) if node is not None else (0, None)


def walk(toks: list[Token], i: int, node: list[Any]) -> tuple[int, Any]:
    """The longest phrase from token ``i`` on, ``node`` being the trie node of word ``i``: word by word down the
    trie while the words so far start a phrase (most stop after one or two), the last phrase met wins."""
    payload, children = node
    found, n = (1, payload) if payload is not _NONE else (0, None), len(toks)
    j = i + 1
    while children and j < n:
        nxt = children.get(toks[j].low)
        if nxt is None:
            break
        payload, children = nxt
        j += 1
        if payload is not _NONE:
            found = (j - i, payload)
    return found


def _trie(table: dict[tuple[str, ...], Any]) -> dict[str, list[Any]]:
    """The phrases of ``table`` as a trie: word -> [payload of the phrase ending there (or ``_NONE``), the words
    that continue a phrase from there (the same kind of dict)]."""
    root: dict[str, list[Any]] = {}
    for key, value in table.items():
        if not key:
            continue
        children = root
        for word in key[:-1]:
            children = children.setdefault(word, [_NONE, {}])[1]
        children.setdefault(key[-1], [_NONE, {}])[0] = value
    _TRIES[id(table)] = root
    return root


_TRIES: dict[int, dict[str, list[Any]]] = {}  # by id of a cached (never freed) phrase table


def _longest_unit_phrase(toks: list[Token], i: int, table: dict[tuple[str, ...], Any]) -> tuple[int, Any]:
    """The longest unit of ``table`` at token ``i``, its tokens compared as ``_unit_word`` reduces them: down the
    trie of the table one reduced word at a time (a token may give none or two), the last phrase met wins."""
    first = _unit_word(toks[i].low)
    most = (_FIRST.get(id(table)) or _first_words(table)).get(first[0], 0) if first else MAX_PHRASE
    if not most:
        return 0, None
    children = _TRIES.get(id(table)) or _trie(table)
    payload: Any = _NONE
    found: tuple[int, Any] = (0, None)
    # a unit's words may shrink ('^' dropped) or grow ('x10' split) when compared: two words of slack
    for n, t in enumerate(toks[i : i + min(MAX_PHRASE, most + 2)], 1):
        for word in first if n == 1 else _unit_word(t.low):
            node = children.get(word)
            if node is None:
                return found  # no longer run of these tokens is a unit either
            payload, children = node
        if payload is not _NONE:
            found = (n, payload)
    return found


def longest_unit(toks: list[Token], i: int) -> tuple[int, str | None]:
    """The longest unit as written at token ``i`` (its UCUM code), allowing a trailing "(ULN)"."""
    n, code = _longest_unit_phrase(toks, i, _units()) if i < len(toks) else (0, None)
    if code in ("{ULN}", "{LLN}") and tuple(t.low for t in toks[i + n : i + n + 3]) in (
        ("(", "uln", ")"),
        ("(", "lln", ")"),
    ):
        n += 3
    return n, code


def event_at(toks: list[Token], i: int) -> tuple[int, str | None]:
    """The event named at token ``i`` ("the first dose of study drug" -> first-dose)."""
    j = i + 1 if i < len(toks) and toks[i].low in ("the", "their", "his", "her") else i
    n, key = longest(toks, j, _events())
    return (n + j - i, key) if n else (0, None)


def concept_of_phrase(words: tuple[str, ...]) -> str | None:
    """The concept key of a phrase of lower-case words ("bone", "marrow", "transplantation"), None if none."""
    hit = _general().get(words)
    return str(hit[1]) if hit is not None and hit[0] == "concept" else None


def general_at(toks: list[Token], i: int) -> tuple[int, tuple[str, Any] | None]:
    """The longest context-free phrase at token ``i``: case-sensitive abbreviations ("PT", "eGFR") first."""
    t = toks[i]
    node = _general_trie().get(t.low)
    most_cs = _first_words_cs().get(t.text, 0)
    if not most_cs:  # most words start no case-sensitive abbreviation
        return walk(toks, i, node) if node is not None else (0, None)
    n_cs, key = _longest_cs_of(toks, i, most_cs)
    n, hit = walk(toks, i, node) if node is not None else (0, None)
    if n_cs and n_cs >= n:
        return n_cs, ("concept", key)
    return n, hit


@cache
def _general_trie() -> dict[str, list[Any]]:
    return _trie(_general())


@cache
def general_first_words() -> tuple[dict[str, list[Any]], dict[str, int]]:
    """What ``general_at`` looks a word up in first: the lower-case first words of the context-free phrases and the
    first words, as written, of the case-sensitive abbreviations (a word in neither starts no phrase there)."""
    return _general_trie(), _first_words_cs()


@cache
def _first_words_cs() -> dict[str, int]:
    return _first_words(_case_sensitive())


def _longest_cs_of(toks: list[Token], i: int, most: int) -> tuple[int, str | None]:
    """The longest case-sensitive abbreviation at token ``i`` ("PT", "eGFR", "ER"), at most ``most`` words."""
    table = _case_sensitive()
    words = tuple([t.text for t in toks[i : i + most]])
    for n in range(len(words), 0, -1):
        key = words[:n]
        if key in table:
            return n, table[key]
    return 0, None


def simple(section: str) -> dict[tuple[str, ...], str]:
    """A phrase table of the lexicon (post_comparators, range_separators, window_relations) by phrase."""
    return _simple(section)


@cache
def phrase_trie(section: str) -> dict[str, list[Any]]:
    """``simple(section)`` as a trie (``_trie``): ``walk`` from the node of a word finds ``longest``'s phrase."""
    table = _simple(section)
    return _TRIES.get(id(table)) or _trie(table)


@cache
def modifiers() -> frozenset[str]:
    """Words before a condition that do not change which condition it is ("metastatic", "chronic", "early")."""
    return frozenset(_lexicon()["modifiers"])


@cache
def narrowing_modifiers() -> frozenset[str]:
    """Modifiers that narrow a disease ("stage", "III", "recurrent", "metastatic"): their alternatives narrow an
    exclusion ("recurrent or metastatic breast cancer"), so an exclusion with them stays text."""
    return frozenset(_lexicon()["narrowing_modifiers"])


@cache
def abbreviations() -> frozenset[str]:
    """Words whose following point ends no sentence ("St. John's Wort", "max. 1000 patients")."""
    return frozenset(_lexicon()["abbreviations"])


def word_numbers() -> dict[str, int]:
    """Number words ("one" .. "twelve") read as numbers before a time unit."""
    data: dict[str, int] = _lexicon()["word_numbers"]
    return data


def lex(text: str) -> tuple[list[Token], list[Item]]:
    """The tokens of ``text`` and its lexical items (numbers left as 'num' items for the quantity reader)."""
    from fhir_adapter.computable.quantities import read_items

    toks = tokens(text)
    return toks, read_items(toks)
