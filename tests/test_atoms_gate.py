"""The extractor's pre-check (``fhir_adapter.computable.gate``) is exact: on every criterion of the repository's
records, a criterion it lets skip lexing has no concept item when lexed and no definition from the full extractor,
and the gated extractor gives the same definition as the ungated one everywhere."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fhir_adapter.computable import extract
from fhir_adapter.computable.gate import could_name_a_concept, could_name_a_concept_in_ascii
from fhir_adapter.computable.lexer import Item, lex, tokens, tokens_of, tokens_of_lower, words_in
from fhir_adapter.model import Criterion
from fhir_adapter.sources import read_records

ROOT = Path(__file__).resolve().parents[1]
RECORDS = [ROOT / "tests" / "data" / d for d in ("ctgov-v2", "ctgov-xml", "ctgov-v1", "criteria")] + [ROOT / "seeds"]


def _leaves(criteria: list[Criterion]) -> Iterator[Criterion]:
    for c in criteria:
        yield from _leaves(c.children) if c.children else [c]


@pytest.fixture(scope="module")
def criteria() -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    for base in RECORDS:
        for path in sorted(p for p in base.rglob("*") if p.suffix in {".json", ".xml", ".txt"}):
            for record in read_records([path]):
                if record.trial is not None and record.trial.eligibility is not None:
                    found += [(c.text, c.exclude) for c in _leaves(record.trial.eligibility.criteria)]
    assert len(found) > 1000, "the records under tests/data are missing"
    return found


def test_a_skipped_criterion_names_no_concept(criteria: list[tuple[str, bool]]) -> None:
    skipped = [text for text, _ in criteria if not could_name_a_concept(words_in(text))]
    assert len(skipped) > len(criteria) // 3  # the gate earns its place: most criteria name no concept
    for text in skipped:
        _, items = lex(text)
        assert not [it for it in items if it.cat in ("concept", "bp")], text


def test_the_gated_extractor_equals_the_ungated_one(
    criteria: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = [extract.definition_of(text, exclude) for text, exclude in criteria]
    monkeypatch.setattr(extract, "could_name_a_concept", lambda words: True)
    monkeypatch.setattr(extract, "could_name_a_concept_in_ascii", lambda text, lows: True)
    ungated = [extract.definition_of(text, exclude) for text, exclude in criteria]
    assert sum(d is not None for d in gated) > 100
    assert gated == ungated


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Signed informed consent", False),
        ("18 years or older", True),  # a bare number of years is an age
        ("Patients ≥18 ｙｅａｒｓ old", True),  # units compare NFKC-normalised
        ("ECOG performance status 0-1", True),
        ("eGFR ≥ 60 mL/min", True),  # a case-sensitive abbreviation
    ],
)
def test_the_gate_on_single_criteria(text: str, expected: bool) -> None:
    assert could_name_a_concept(words_in(text)) is expected


def test_tokens_from_the_gate_words_are_the_lexer_tokens(criteria: list[tuple[str, bool]]) -> None:
    """``tokens_of(text, words_in(text))`` (the extractor reuses the gate's words) is ``tokens(text)``: on every
    criterion of the records and on white space, signs and circled numbers the token pattern treats apart."""
    odd = ["", "  ", "a\u00a0b\tc\n d", "①ANC ≥1.5×10⁹/L", "x_y 1.5.2 3..4 __ _a", "e.g., (i.e.) ｙｅａｒｓ İstanbul"]
    for text in [t for t, _ in criteria] + odd:
        assert tokens_of(text, words_in(text)) == tokens(text), text


def test_the_token_pattern_splits_as_the_numbers_first_one(criteria: list[tuple[str, bool]]) -> None:
    """``lexer._TOKEN`` tries a word first and reads a number with its decimals in one alternative (fewer
    alternatives tried per token); it splits every text as the pattern written numbers first did: on every criterion
    of the records and on mixed word characters, digits, signs and circled numbers."""
    numbers_first = re.compile(
        r"\d+\.\d+|\d+|[^\W\d_\u2460-\u24ff][^\W\u2460-\u24ff]*|[^\W\u2460-\u24ff]+|[^\w\s]|[\u2460-\u24ff]"
    )
    chars = "aZ19._-,;:/ \t²½①⑳é_İ٣(µ×\u00a0x"
    rng = random.Random(14)
    odd = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for text in [t for t, _ in criteria] + odd:
        assert words_in(text) == numbers_first.findall(text), text


def test_an_ascii_criterion_is_gated_and_split_from_its_lower_case_words(criteria: list[tuple[str, bool]]) -> None:
    """An ASCII criterion's gate and tokens from the words of its lower-case text (``could_name_a_concept_in_ascii``,
    ``tokens_of_lower``: the extractor's path for most criteria) are those from its words as written: on every ASCII
    criterion of the records and on mixed-case abbreviations ("PT", "pt", "eGFR", "EGFR"), digits and signs."""
    odd = ["", "  ", "PT 1.5 x ULN", "pt and Pt", "eGFR 60; EGFR+; egfr", "ER/PR+ HER2-", "A_b 3..4 (i.e.) e.g.,", "Σ"]
    texts = [t for t, _ in criteria if t.isascii()] + [t for t in odd if t.isascii()]
    assert len(texts) > 1000
    for text in texts:
        lows = words_in(text.lower())
        assert could_name_a_concept_in_ascii(text, lows) is could_name_a_concept(words_in(text)), text
        assert tokens_of_lower(text, text.lower(), lows) == tokens(text), text


def test_a_criterion_without_split_points_in_its_words_has_none_in_its_items(
    criteria: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prepare._may_split`` (the criterion's categories and words) says False only where ``_split_points`` (the
    items split) would: on every criterion of the records, both polarities; only the one-word phrases "who" and
    "that" of the vocabulary give an item those data."""
    from fhir_adapter.computable import prepare
    from fhir_adapter.computable.lexer import _case_sensitive, _general

    clauses = {phrase for phrase, (_, data) in _general().items() if data in ("who", "that")}
    assert clauses == {("who",), ("that",)}
    assert not [key for key in _case_sensitive().values() if key in ("who", "that")]
    real, calls = prepare._may_split, [0, 0]

    def checked(items: list[Item], found: tuple[set[str], frozenset[str]], exclude: bool) -> bool:
        may = real(items, found, exclude)
        calls[may] += 1
        assert may or not prepare._split_points(items, exclude), [it.data for it in items]
        return may

    monkeypatch.setattr(prepare, "_may_split", checked)
    for text, exclude in criteria:
        extract.definition_of(text, exclude)
        extract.definition_of(text, not exclude)
    assert calls[0] > 100 and calls[1] > 100
