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

from fhir_adapter.computable.lexer import Token, _case_sensitive, _general, _unit_phrase, _units

__all__ = ["could_name_a_concept"]

# the lexical categories an atom can come from (atoms.py reads a "bp" item as systolic blood pressure)
_ATOM_CATEGORIES = frozenset({"concept", "bp"})


@cache
def _atom_phrases() -> dict[str, tuple[tuple[int, frozenset[tuple[str, ...]]], ...]]:
    """First word -> (number of words, the lower-case concept and blood-pressure phrases of the context-free table
    of that length starting with it), shortest first: one set lookup per length, not one comparison per phrase."""
    by_first: dict[str, dict[int, set[tuple[str, ...]]]] = {}
    for phrase, (cat, _) in _general().items():
        if phrase and cat in _ATOM_CATEGORIES:
            by_first.setdefault(phrase[0], {}).setdefault(len(phrase), set()).add(phrase)
    return {
        first: tuple((n, frozenset(phrases)) for n, phrases in sorted(by_length.items()))
        for first, by_length in by_first.items()
    }


def _starts_a_phrase(toks: list[Token], i: int) -> bool:
    # any length, not only the longest: whatever the lexer then takes at i, no concept can start here otherwise
    by_length = _atom_phrases().get(toks[i].low)
    if by_length is None:
        return False
    words = tuple([t.low for t in toks[i : i + by_length[-1][0]]])
    return any(words[:n] in phrases for n, phrases in by_length)


@cache
def _first_words_case_sensitive() -> frozenset[str]:
    """The first word, as written, of every case-sensitive abbreviation ("PT", "eGFR")."""
    return frozenset(phrase[0] for phrase in _case_sensitive() if phrase)


@cache
def _first_words_of_years() -> frozenset[str]:
    """The first word of every unit of years as written ("years", "yrs", "y"), compared as units are."""
    return frozenset(phrase[0] for phrase, ucum in _units().items() if phrase and ucum == "a")


def _as_unit(t: Token) -> str:
    # units compare NFKC-normalised ("ｙｅａｒｓ"); plain ASCII words need no normalising
    if t.low.isascii():
        return t.low
    reduced = _unit_phrase([t])
    return reduced[0] if reduced else t.low


def could_name_a_concept(toks: list[Token]) -> bool:
    """False when no token can start a concept phrase or a unit of years: then the criterion has no atom, and
    lexing is skipped."""
    first_cs, years, firsts = _first_words_case_sensitive(), _first_words_of_years(), _atom_phrases()
    for i, t in enumerate(toks):
        if t.text in first_cs or _as_unit(t) in years or (t.low in firsts and _starts_a_phrase(toks, i)):
            return True
    return False
