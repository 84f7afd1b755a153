"""The ASCII pre-filters of ``fhir_adapter.ascii_words``: a False proves a case-blind pattern cannot match; text that
is not ASCII is always searched."""

from __future__ import annotations

import re

import pytest

from fhir_adapter.ascii_words import holds_any, lower_ascii, may_contain, word_runs

EVERY = re.compile(r"\bevery \d+ (?:days|weeks)\b|\beach cycle\b", re.IGNORECASE)
WORDS = ("every", "each")


def test_ascii_hit() -> None:
    assert may_contain("Imaging every 6 weeks.", WORDS)
    assert may_contain("on day 1 of each cycle", WORDS)


def test_ascii_miss() -> None:
    assert not may_contain("Imaging at baseline and at progression.", WORDS)
    assert not may_contain("", WORDS)


def test_case_blind() -> None:
    assert may_contain("IMAGING EVERY 6 WEEKS", WORDS)
    assert may_contain("Each Cycle", WORDS)


@pytest.mark.parametrize(
    "text",
    [
        "Imaging at baseline ≥ 18 years",  # no word at all, but not ASCII
        "Imaging \u212aeeps every",  # the Kelvin sign
        "ſtage",  # the long s, which a case-blind "s" matches
        "é",
    ],
)
def test_non_ascii_text_is_always_searched(text: str) -> None:
    assert may_contain(text, WORDS)
    assert lower_ascii(text) is None
    assert holds_any(None, WORDS)
    assert word_runs(text) is None


def test_a_case_blind_match_is_only_missed_where_the_pattern_cannot_match() -> None:
    # The contract: where the pre-filter says False, the case-blind pattern finds nothing.
    for text in ["Scans EVERY 3 Weeks", "scans weekly", "EACH CYCLE", "tumour \u212aeeps every 3 days", "nothing"]:
        if EVERY.search(text):
            assert may_contain(text, WORDS)
    # A non-ASCII character a case-blind pattern reads as an ASCII letter: the text is searched, and matches.
    assert re.search("s", "ſ", re.IGNORECASE) is not None
    assert may_contain("every ſ", ("s",))


def test_lower_ascii_keeps_offsets() -> None:
    text = "Induction Phase: DAYS 1-5"
    low = lower_ascii(text)
    assert low == text.lower()
    assert low is not None and len(low) == len(text)
    assert holds_any(low, ("phase",))
    assert not holds_any(low, ("maintenance",))


def test_holds_any_takes_words_not_characters() -> None:
    assert not holds_any("abc", ("ab c",))
    assert holds_any("day 1", ("day",))


def test_word_runs() -> None:
    runs = word_runs("Given I.V. (or p.o.) on Day_1-3")
    assert runs is not None
    assert len(runs) == len("Given I.V. (or p.o.) on Day_1-3")
    assert runs.split() == ["given", "i", "v", "or", "p", "o", "on", "day_1", "3"]
    assert word_runs("µg") is None
