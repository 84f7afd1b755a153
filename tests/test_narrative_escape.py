"""``fhir.narrative``'s list sections escape each text as ``esc`` does, whether the list is tested as a whole (no
character to escape in any text) or text by text."""

from __future__ import annotations

import random

from fhir_adapter.fhir.narrative import _section, esc

_PIECES = ("a", "b c", "&", "<", ">", "\t", "\n", "\x00", "\x0b", "\ufffe", "é", "≥ 18", "&amp;", "<li>", "")


def _expected(heading: str, texts: list[str], ordered: bool) -> str:
    tag = "ol" if ordered else "ul"
    return f"<p><b>{heading}</b></p><{tag}>" + "".join(f"<li>{esc(t)}</li>" for t in texts) + f"</{tag}>"


def test_sections_escape_every_text() -> None:
    rng = random.Random(14)
    for _ in range(3000):
        texts = ["".join(rng.choices(_PIECES, k=rng.randrange(4))) for _ in range(rng.randrange(1, 5))]
        ordered = rng.random() < 0.5
        assert _section("Heading", texts, ordered) == _expected("Heading", texts, ordered), texts
    assert _section("Heading", [], True) == ""
