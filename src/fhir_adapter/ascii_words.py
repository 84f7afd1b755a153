"""ASCII pre-filters: whether a case-blind pattern may match a text, decided by cheap tests on the lowered text.

A pattern compiled with ``re.IGNORECASE`` that can only match where one of a few words is written ("every" or
"each" for "every 3 months", "on day 1 of each cycle") need not run on a text that holds none of them. The test is
exact only on ASCII text, so every helper here answers "may match" (True) for any other text:

- In ASCII text a match is ASCII, and lowering ASCII maps each character to one character (same length, same
  offsets), so a match that holds a word case-blind leaves that word, lower case, in the lowered text.
- In other text neither holds: a case-blind pattern matches some non-ASCII characters as ASCII letters ("K", the
  Kelvin sign, as "k"; "ſ", the long s, as "s"; "İ" and "ı" as "i"), and lowering may change the length ("İ" lowers
  to two characters), so a substring test on the lowered text may miss a match, and offsets would not carry over.

The contract every caller keeps (``regimen``, ``sources.criteria`` and ``sources.criteria_polarity`` use it):

1. ``words`` are lower-case ASCII, and every match of the pattern gated holds one of them, ignoring case (a word
   that is part of every alternative of the pattern, or of what must precede or follow it).
2. False proves the pattern cannot match: the caller skips it; True only means "search": the pattern decides.
3. A text that is not ASCII is always searched (True), whatever it holds.
4. The lowered text of ``lower_ascii`` (None: not ASCII, search) may be reused for other tests on the same text
   (``str.endswith``, offsets of a word, sentences cut at the same offsets), under rule 3: None always means search.

``word_runs`` is the same rule at the level of words: for a table of phrases looked up word by word (no substring
inside a word matters), it gives the lowered runs of letters, digits and underscores of ASCII text, None for other
text.
"""

from __future__ import annotations

__all__ = ["holds_any", "lower_ascii", "may_contain", "word_runs"]


def lower_ascii(text: str) -> str | None:
    """``text`` lowered when it is ASCII (then substring tests decide whether a case-blind pattern may match), else
    None (then the pattern decides)."""
    return text.lower() if text.isascii() else None


def holds_any(low: str | None, words: tuple[str, ...]) -> bool:
    """Whether ``low`` (a text lowered by ``lower_ascii``) holds any of ``words`` (lower-case ASCII); always True for
    None (a text that is not ASCII). A tuple, not a string: the words are the tuple's items, never a string's
    characters."""
    return low is None or any(map(low.__contains__, words))


def may_contain(text: str, words: tuple[str, ...]) -> bool:
    """False only when ``text`` is ASCII and holds none of ``words`` (lower-case ASCII), ignoring case: then no
    case-blind pattern whose every match holds one of them can match ``text``. Always True for other text."""
    if not text.isascii():
        return True
    low = text.lower()
    return any(map(low.__contains__, words))  # holds_any(lower_ascii(text), words) in one call: gates run often


# Bytes -> themselves lowered when a letter, digit or underscore (what \w matches in ASCII), else a space.
_RUNS = bytes(c + 32 if 65 <= c <= 90 else c if (chr(c).isalnum() and c < 128) or c == 95 else 32 for c in range(256))


def word_runs(text: str) -> str | None:
    """``text`` with every character that is not an ASCII letter, digit or underscore (what ``\\w`` matches in
    ASCII) made a space and the letters lowered, same length (translated in C, by a byte table), when ``text`` is
    ASCII; else None (search). ``.split()`` gives its runs: a word found case-blind starts with one."""
    return text.encode("ascii").translate(_RUNS).decode("ascii") if text.isascii() else None
