"""Tests on a run of a criterion's lexical items, shared by the rewrites before the atoms are read (``prepare``):
whether a phrase of a lexicon section starts at an item and how many items it takes, the concepts named, where a
bracket closes."""

from __future__ import annotations

from bisect import bisect_left
from functools import cache
from typing import Any

from fhir_adapter.computable.lexer import NO_PHRASE, Item, Token, _lexicon, _token_start, _trie, tokens, words_of

_DEPTH = {"lparen": 1, "rparen": -1}  # an item's change of the bracket depth, by category (0 for the others)


@cache
def _phrases(section: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(t.low for t in tokens(p)) for p in _lexicon()[section])


@cache
def _first_words(section: str) -> frozenset[str]:
    return frozenset(p[0] for p in _phrases(section) if p)


@cache
def _firsts(section: str) -> frozenset[tuple[str, ...]]:
    return frozenset(p[:1] for p in _phrases(section))


def _words(toks: list[Token], item: Item) -> tuple[str, ...]:
    return words_of(toks, item.start, item.end)


def _paren_end(items: list[Item], k: int) -> int:
    """The index of the ')' closing the '(' at ``k`` (nesting counted), or -1."""
    depth = 0
    for m in range(k, len(items)):
        depth += _DEPTH.get(items[m].cat, 0)
        if depth == 0:
            return m
    return -1


def _closings(items: list[Item]) -> list[int]:
    """For every '(' the index of the ')' closing it (as ``_paren_end``), -1 elsewhere: one pass, so that many
    unclosed brackets cost linear time."""
    ends = [-1] * len(items)
    opened: list[int] = []
    for m, it in enumerate(items):
        if it.cat == "lparen":
            opened.append(m)
        elif it.cat == "rparen" and opened:
            ends[opened.pop()] = m
    return ends


def _first_word(toks: list[Token], item: Item) -> tuple[str, ...]:
    """``_words(toks, item)[:1]`` without the item's other words (a phrase rarely starts: most tests stop here)."""
    k = bisect_left(toks, item.start, key=_token_start)
    return (toks[k].low,) if k < len(toks) and toks[k].end <= item.end else ()


def _starts_with(toks: list[Token], items: list[Item], section: str, at: int = 0) -> bool:
    """Whether a phrase of ``section`` starts at ``items[at]``."""
    if at >= len(items) or _first_word(toks, items[at]) not in _firsts(section):
        return False
    # down the section's trie along the words of the next four items: a phrase of at most six words ends there
    children, depth = _trie_of(section), 0
    for it in items[at : at + 4]:
        for word in _words(toks, it):
            node = children.get(word)
            if node is None or depth == 6:
                return False
            ends, children = node
            depth += 1
            if ends is not NO_PHRASE:
                return True
    return False


@cache
def _table_of(section: str) -> dict[tuple[str, ...], bool]:
    return dict.fromkeys(_phrases(section), True)


@cache
def _trie_of(section: str) -> dict[str, list[Any]]:
    """The phrases of ``section`` as a trie (``lexer._trie``, of a table kept alive by ``_table_of``'s cache)."""
    return _trie(_table_of(section))


def _matched(toks: list[Token], items: list[Item], section: str) -> int:
    """How many items the longest phrase of ``section`` at the start of ``items`` takes."""
    allowed, best = _phrases(section), 0
    words: tuple[str, ...] = ()
    for n, it in enumerate(items[:4], 1):
        words += _words(toks, it)
        if words in allowed:
            best = n
    return best


def _concepts(items: list[Item]) -> set[str]:
    return {str(it.data) for it in items if it.cat == "concept"}


@cache
def _phrases_flat(section: str) -> frozenset[str]:
    return frozenset(_lexicon()[section])
