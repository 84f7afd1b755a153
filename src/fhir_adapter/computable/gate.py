"""A cheap test that runs before lexing: can any word of a criterion start a concept? Most criteria (about 60 % of
the fixtures' ones) name no concept of the vocabulary, and lexing them costs two thirds of the extractor's time for
nothing. An atom always comes from a concept item (a phrase of ``mappings/eligibility-concepts.json``, a
case-sensitive abbreviation, or a blood-pressure name) or from a number of years (a bare "18 years or older" is an
age), and every such item starts where one of those phrases, or a unit of years, starts: a criterion where none starts
has no definition, so the gate is exact, never a guess (tests/test_atoms_gate.py
compares it with the full extractor on every criterion of the fixtures).
See docs/computable.md, section 1."""

from __future__ import annotations

from functools import cache
from typing import Any

from fhir_adapter.computable.lexer import NO_PHRASE, _case_sensitive, _general, _trie, _unit_word, _units, words_in

__all__ = ["could_name_a_concept", "could_name_a_concept_in_ascii"]

# the lexical categories an atom can come from (atoms.py reads a "bp" item as systolic blood pressure)
_ATOM_CATEGORIES = frozenset({"concept", "bp"})


@cache
def _atom_phrases() -> dict[tuple[str, ...], bool]:
    """The lower-case concept and blood-pressure phrases of the context-free table."""
    return {phrase: True for phrase, (cat, _) in _general().items() if phrase and cat in _ATOM_CATEGORIES}


@cache
def _atom_trie() -> dict[str, list[Any]]:
    """``_atom_phrases`` as a trie (``lexer._trie``): one lookup per word, however many phrases start with it."""
    return _trie(_atom_phrases())


@cache
def _one_word_phrases() -> frozenset[str]:
    """The atom phrases of one word ("anc", "pregnant"): a criterion with one of them passes the gate at once."""
    return frozenset(phrase[0] for phrase in _atom_phrases() if len(phrase) == 1)


def _starts_a_phrase(lows: list[str], i: int, node: list[Any]) -> bool:
    """Whether a phrase of any length (not only the longest: whatever the lexer then takes at ``i``, no concept can
    start here otherwise) starts at word ``i``, ``node`` being its word's node of ``_atom_trie``."""
    ends, children = node
    j = i + 1
    while ends is NO_PHRASE and children and j < len(lows):
        nxt = children.get(lows[j])
        if nxt is None:
            return False
        ends, children = nxt
        j += 1
    return ends is not NO_PHRASE


@cache
def _first_words_case_sensitive() -> frozenset[str]:
    """The first word, as written, of every case-sensitive abbreviation ("PT", "eGFR")."""
    return frozenset(phrase[0] for phrase in _case_sensitive() if phrase)


@cache
def _first_words_of_years() -> frozenset[str]:
    """The first word of every unit of years as written ("years", "yrs", "y"), compared as units are."""
    return frozenset(phrase[0] for phrase, ucum in _units().items() if phrase and ucum == "a")


def _as_unit(low: str) -> str:
    # units compare NFKC-normalised ("ｙｅａｒｓ"); plain ASCII words need no normalising
    if low.isascii():
        return low
    reduced = _unit_word(low)
    return reduced[0] if reduced else low


def could_name_a_concept(words: list[str]) -> bool:
    """False when no word (``lexer.words_in``: the tokens' texts) can start a concept phrase or a unit of years:
    then the criterion has no atom, and lexing is skipped. Set tests first (most words start nothing)."""
    if not _first_words_case_sensitive().isdisjoint(words):
        return True
    lows = list(map(str.lower, words))
    return _could_start(lows, "".join(lows).isascii())


def could_name_a_concept_in_ascii(text: str, lows: list[str]) -> bool:
    """``could_name_a_concept(words_in(text))`` of an ASCII ``text`` from ``lows``, the words of ``text.lower()``
    (its words lower-cased, ``lexer.tokens_of_lower``): the words as written are split from ``text`` only where one
    of ``lows`` is a case-sensitive abbreviation's first word lower-cased (few criteria)."""
    if not _first_words_case_sensitive_lower().isdisjoint(lows) and not _first_words_case_sensitive().isdisjoint(
        words_in(text)
    ):
        return True
    return _could_start(lows, True)


@cache
def _first_words_case_sensitive_lower() -> frozenset[str]:
    return frozenset(word.lower() for word in _first_words_case_sensitive())


def _could_start(lows: list[str], ascii: bool) -> bool:
    """Whether a concept phrase or a unit of years can start at a word of ``lows`` (lower-case words; ``ascii``:
    all of them ASCII, which units compare without normalising)."""
    years = _first_words_of_years()
    if not years.isdisjoint(lows):
        return True
    if not ascii and any(_as_unit(low) in years for low in lows):
        return True
    if not _one_word_phrases().isdisjoint(lows):
        return True  # a one-word phrase starts where its word stands
    firsts = _atom_trie()
    if firsts.keys().isdisjoint(lows):
        return False
    starts = [i for i, low in enumerate(lows) if low in firsts]  # a few words: the walks below are few
    return any(_starts_a_phrase(lows, i, firsts[lows[i]]) for i in starts)
