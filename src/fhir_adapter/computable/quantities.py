"""Lexical items of a criterion: numbers with their units, ranges and comparators as written, time windows
("within the past 6 months", "within 4 weeks before randomization"), and the context-free phrases of the
vocabulary (the computable contract, docs/computable.md: "Units as written", time windows)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_adapter.computable.lexer import (
    NO_PHRASE,
    Item,
    Token,
    _units,
    abbreviations,
    event_at,
    general_at,
    general_first_words,
    longest,
    longest_unit,
    phrase_trie,
    simple,
    walk,
    word_numbers,
)

__all__ = ["Qty", "Window", "read_items"]

_PUNCT = {",": "comma", ";": "semi", ":": "colon", "(": "lparen", ")": "rparen", "[": "lparen", "]": "rparen"}
_PUNCT |= {"/": "slash", ".": "stop", "?": "stop", "!": "stop"}
_PUNCT |= {chr(c): "semi" for c in range(0x2460, 0x2474)}  # circled numbers ① .. ⑳ separate sub-conditions
_VERSION = {"recist", "ctcae", "version", "v", "v1", "v2", "v3", "v4", "v5", "iwg", "irecist", "mrecist", "rano"}
_TIME = {"h", "d", "wk", "mo", "a"}
_DIGITS = frozenset("0123456789.")
_DIGIT_CHARS = "0123456789."  # for str.strip
_SIGN_RESULTS = {"+": "positive", "-": "negative", "−": "negative"}
_ROMAN = {"i": 1.0, "ii": 2.0, "iii": 3.0, "iv": 4.0}
_CLASS_WORDS = {"class", "grade", "functional"}
_SPECIAL = frozenset({".", "class"})  # a point, "Class III heart failure"
_HEART_FAILURE = ("heart", "failure")
_NYHA = "nyha-class"
_NOT_PLAIN = frozenset(_VERSION | _SPECIAL | _SIGN_RESULTS.keys())  # words _item_at tests before phrases
# "NYHA grade II or above heart disease": the class of any heart disease, no condition of its own (labelling rules)
_HEART_DISEASE = (("heart", "disease"), ("cardiac", "disease"))


@dataclass(slots=True)
class Qty:
    """A number as written: ``value`` (and ``high`` for a range "0-1", "18 to 75"), the UCUM ``unit`` and its
    text, a comparator after it ("18 years or older") and whether it was "0 or 1"."""

    value: float
    high: float | None = None
    unit: str | None = None
    unit_text: str | None = None
    post: str | None = None
    or_range: bool = False
    cmp: str | None = None
    pair: float | None = None  # the diastolic value of "140/90 mmHg"
    aged: bool = False  # "years old", "years of age", "or older": an age even without the word "age"


@dataclass(slots=True)
class Window:
    """A time window before an event: ``low`` .. 0 in ``unit``, ``event`` a concept key or None."""

    low: float
    unit: str
    event: str | None


def _is_number(word: str) -> bool:
    """ASCII digits with at most one point ("1.5"; not "①", which str.isdigit accepts)."""
    return bool(word) and word.count(".") <= 1 and word.strip(".") == word and not word.strip(_DIGIT_CHARS)


def _number(toks: list[Token], i: int) -> tuple[int, float | None]:
    """The number at token ``i`` ("1,500" with its thousands comma; "1.5"), or (0, None)."""
    t = toks[i]
    if not (t.low[:1] in _DIGITS and _is_number(t.low)):
        return 0, None
    if (
        i + 2 < len(toks)
        and toks[i + 1].low == ","
        and toks[i + 1].start == t.end
        and toks[i + 2].start == toks[i + 1].end
        and len(toks[i + 2].low) == 3
        and _is_number(toks[i + 2].low)
        and _is_number(t.low)
        and "." not in t.low + toks[i + 2].low
    ):
        return 3, float(t.low + toks[i + 2].low)
    return 1, float(t.low)


def _unit(toks: list[Token], j: int) -> tuple[int, str | None, str | None]:
    n, code = longest_unit(toks, j) if j < len(toks) else (0, None)
    return (n, code, toks[j].text if n == 1 else _span_text(toks, j, j + n)) if n else (0, None, None)


def _span_text(toks: list[Token], i: int, j: int) -> str:
    """The tokens as written, with a space where the text had one."""
    return "".join((" " if k > i and toks[k - 1].end < t.start else "") + t.text for k, t in enumerate(toks[i:j], i))


def _range_end(toks: list[Token], j: int, first: float, between: bool) -> tuple[int, float | None, bool]:
    """The upper end of a range after the first number: "-75", "to 75", "and 75" (after 'between'), "or 1"."""
    if j >= len(toks):
        return 0, None, False
    word = toks[j].low
    node = phrase_trie("range_separators").get(word)
    n, sep = walk(toks, j, node) if node is not None else (0, None)  # most words after a number separate nothing
    if word == "or" and j + 1 < len(toks):
        k, v = _number(toks, j + 1)
        if k and v is not None and first.is_integer() and v == first + 1:
            return 1 + k, v, True
        return 0, None, False
    if not n or (sep == "and" and not between) or j + n >= len(toks):
        return 0, None, False
    k, v = _number(toks, j + n)
    return (n + k, v, False) if k else (0, None, False)


def _quantity(toks: list[Token], i: int, between: bool) -> tuple[int, Qty | None]:
    """The quantity at token ``i``: number [unit] [range end [unit]] [post-comparator]."""
    n, value = _number(toks, i)
    if value is None:
        return 0, None
    j = i + n
    pair = _pair_at(toks, j) if j < len(toks) and toks[j].low == "/" else None  # most numbers have no pair
    j += 2 if pair is not None else 0
    k, unit, unit_text = _unit(toks, j)
    j += k
    k, high, or_range = _range_end(toks, j, value, between) if pair is None else (0, None, False)
    j += k
    if k:
        k2, unit2, text2 = _unit(toks, j)
        if unit is not None and k2 and unit2 != unit:
            return 0, None
        j += k2
        unit, unit_text = unit or unit2, unit_text or text2
    q = Qty(value, high, unit, unit_text, or_range=or_range, pair=pair)
    if unit == "a":  # "18 years of age or older", "18 years old and above"
        k = _age_words(toks, j)
        q.aged, j = k > 0, j + k
    node = phrase_trie("post_comparators").get(toks[j].low) if j < len(toks) else None
    if node is not None:
        k, q.post = walk(toks, j, node)
        q.aged = q.aged or (k > 0 and toks[j + k - 1].low in ("older", "younger"))
        j += k
    return j - i, q


def _class_or_filler_at(toks: list[Token], i: int, last: Item | None) -> tuple[int, Item] | None:
    """A NYHA class in Roman numerals ("NYHA class II or III", "Class III or IV congestive heart failure"), or a
    number that is no quantity; called only where one can be (a number, a point, "class", after a NYHA class name)."""
    t = toks[i]
    nyha = last is not None and last.data == "nyha-class"
    if _not_a_quantity(toks, i):  # "(RECIST) 1.1", "3-dimensional", "8.2.3"
        return 1, Item("filler", t.start, t.end, t.text)
    nyha = nyha and last is not None and last.cat == "concept"
    if nyha and t.low in _CLASS_WORDS:
        return 1, Item("filler", t.start, t.end, t.text)  # "NYHA class", "New York Heart Association grade"
    if nyha and t.low in _ROMAN:
        n, q = _roman(toks, i)
        return n, Item("qty", t.start, toks[i + n - 1].end, q)
    if t.low == "class" and i + 1 < len(toks) and toks[i + 1].low in _ROMAN and _heart_failure_after(toks, i):
        return 1, Item("concept", t.start, t.end, "nyha-class")
    return None


def _not_a_quantity(toks: list[Token], i: int) -> bool:
    """A number that is a version after its name in brackets ("RECIST) 1.1"), part of a word ("3-dimensional") or
    of a section number ("8.2.3"); a point inside a section number is no full stop."""
    t = toks[i]
    if t.low != "." and t.low[:1] not in _DIGITS:
        return False  # most words: no number, no point
    prev, nxt = toks[i - 1] if i else None, toks[i + 1] if i + 1 < len(toks) else None
    if t.low == ".":
        if prev is not None and prev.end == t.start and prev.low in abbreviations():  # "St. John's Wort"
            return True
        return prev is not None and nxt is not None and prev.end == t.start and t.end == nxt.start and nxt.low.isdigit()
    if not _is_number(t.low):
        return False
    if prev is not None and prev.low == ")" and i > 1 and toks[i - 2].low in _VERSION:
        return True
    if nxt is None or nxt.low != "-" or nxt.start != t.end or i + 2 >= len(toks):
        return False
    word = toks[i + 2]
    return word.start == nxt.end and word.low.isalpha() and not _unit(toks, i + 2)[0]


def _roman(toks: list[Token], i: int) -> tuple[int, Qty]:
    """A NYHA class in Roman numerals: "II", "II or III", "III-IV", "II or above"."""
    q = Qty(_ROMAN[toks[i].low])
    j = i + 1
    sep = toks[j].low if j < len(toks) else ""
    if sep in ("or", "-", "to", "–") and j + 1 < len(toks) and toks[j + 1].low in _ROMAN:
        q.high, q.or_range, j = _ROMAN[toks[j + 1].low], sep == "or", j + 2
    elif j < len(toks):
        k, q.post = longest(toks, j, simple("post_comparators"))
        j += k
    if tuple(t.low for t in toks[j : j + 2]) in _HEART_DISEASE:
        j += 2
    return j - i, q


def _heart_failure_after(toks: list[Token], i: int) -> bool:
    words = [t.low for t in toks[i + 1 : i + 8]]
    return any(tuple(words[k : k + 2]) == _HEART_FAILURE for k in range(len(words) - 1))


def _pair_at(toks: list[Token], j: int) -> float | None:
    """The second number of "140/90" (written without spaces), or None."""
    if j + 1 >= len(toks) or toks[j].low != "/" or toks[j].start != toks[j - 1].end or toks[j + 1].start != toks[j].end:
        return None
    k, value = _number(toks, j + 1)
    return value if k == 1 else None


def _age_words(toks: list[Token], j: int) -> int:
    words = tuple(t.low for t in toks[j : j + 2])
    return 2 if words == ("of", "age") else 1 if words[:1] == ("old",) else 0


def _window(toks: list[Token], i: int, n_open: int) -> tuple[int, Window | None]:
    """A time window after its opener ("within [the past]"): number (or "one", "a", none) and time unit, then
    optionally a relation and an event ("before randomization")."""
    j = i + n_open
    if j < len(toks) and toks[j].low == "the":
        j += 1
    k, value = _number(toks, j) if j < len(toks) else (0, None)
    if not k and j < len(toks) and toks[j].low in word_numbers():
        k, value = 1, float(word_numbers()[toks[j].low])
    j += k
    u, unit, _ = _unit(toks, j)
    if not u or unit not in _TIME:
        return 0, None
    j += u
    low = -(value if value is not None else 1.0)
    for r in range(min(5, len(toks) - j), 0, -1):
        if tuple(t.low for t in toks[j : j + r]) in simple("window_relations"):
            e, event = event_at(toks, j + r)
            if e:
                return j + r + e - i, Window(low, unit or "d", event)
    return j - i, Window(low, unit or "d", None)


def _version(toks: list[Token], i: int) -> int:
    """A version or grading tag ("RECIST v1.1", "CTCAE 5.0", "version 1.1"): its tokens, read as filler."""
    j = i + 1
    while j < len(toks) and j - i < 5 and (toks[j].low in _VERSION or _is_number(toks[j].low)):
        j += 1
    while j < len(toks) and j - i < 6 and toks[j].low == "." and j + 1 < len(toks) and _is_number(toks[j + 1].low):
        j += 2
    return j - i


def read_items(toks: list[Token]) -> list[Item]:
    """Every lexical item of the tokens, in order (see ``Item.cat``)."""
    items: list[Item] = []
    add, i, end = items.append, 0, len(toks)
    last: Item | None = None
    after = False  # the last item is a comparator or a NYHA class name: _item_at reads the next word
    starts = _starts()
    while i < end:
        t = toks[i]
        low = t[1]
        entry = starts.get(low)
        if entry is None and not after and not "0" <= low < ":":  # no number, starts nothing: a sign or a word
            last = _sign_or_word(t)
            add(last)
            i += 1
            continue
        if entry is None or entry[0] is _OTHER_NODE or after:
            n, last = _other_item_at(toks, i, last, after)
        else:  # general_at and _phrase_item_at without their calls (the case-sensitive table has no say here)
            node, cat, data, flag = entry
            if node[1] and i + 1 < end and toks[i + 1][1] in node[1]:
                n, hit = walk(toks, i, node)
                if hit is None or hit[0] == "wopen":
                    n, last = _phrase_item_at(toks, i)
                else:
                    last = Item(hit[0], t[2], toks[i + n - 1][3], hit[1])
            elif cat is not None:  # a phrase of one word (most words that start a phrase end it)
                last = Item(cat, t[2], t[3], data)
                add(last)
                after = flag
                i += 1
                continue
            else:  # no phrase of one word, or a window opener
                n, last = _phrase_item_at(toks, i)
        data = last.data  # a Qty or Window is never the class name (and compares by a Python __eq__)
        after = last.cat == "cmp" or (data.__class__ is str and data == _NYHA)
        add(last)
        i += n
    return items


_OTHER_NODE: list[Any] = [NO_PHRASE, {}]  # told by identity: a list (a tuple compiled by mypyc is copied when boxed)
_OTHER = (_OTHER_NODE, None, None, False)  # in _starts: a word read_items leaves to _other_item_at


@cache
def _starts() -> dict[str, tuple[list[Any], str | None, Any, bool]]:
    """What read_items looks a word up in: by first word, the node of the general phrase trie, the category and
    payload of its phrase of one word (None: none, or a window opener) and whether that is a comparator or a NYHA
    class name; ``_OTHER`` for the words _item_at tests (version tags, a point, "class", signs), numbers and the
    case-sensitive abbreviations' first words in lower case (their words as written decide)."""
    phrases, abbreviations = general_first_words()
    table = {}
    for low, node in phrases.items():
        hit = None if node[0] is NO_PHRASE or node[0][0] == "wopen" else node[0]
        cat, data = hit if hit is not None else (None, None)
        table[low] = (node, cat, data, cat == "cmp" or data == _NYHA)
    table = {low: entry for low, entry in table.items() if not "0" <= low < ":"}
    return table | dict.fromkeys(_NOT_PLAIN | {text.lower() for text in abbreviations}, _OTHER)


def _other_item_at(toks: list[Token], i: int, last: Item | None, after: bool) -> tuple[int, Item]:
    """read_items' item at a number, a word in ``_NOT_PLAIN`` or after a comparator or a NYHA class name (``after``):
    ``_item_at``; else at a case-sensitive abbreviation's first word: ``_phrase_item_at``. A number and a full stop
    (most of these words) take the shortcuts of ``_number_at`` and ``_point_at`` where they give ``_item_at``'s
    item."""
    low = toks[i].low
    if "0" <= low[:1] <= "9":
        hit = _number_at(toks, i, last)
        if hit is not None:
            return hit
    elif low == "." and not after:
        return _point_at(toks, i)
    if after or low in _NOT_PLAIN or low[:1] in _DIGITS:
        return _item_at(toks, i, last)
    return _phrase_item_at(toks, i)


def _number_at(toks: list[Token], i: int, last: Item | None) -> tuple[int, Item] | None:
    """``_item_at``'s quantity at a number, without its tests for other words (a version tag, a NYHA class, a sign:
    none of them is a number); None where it has more to test (a version number, "3-dimensional", a limit of
    normal right after a comparator) or reads no quantity (no number: "1٢")."""
    t = toks[i]
    if i > 1 and toks[i - 1].low == ")" and toks[i - 2].low in _VERSION:
        return None
    if i + 2 < len(toks) and toks[i + 1].low == "-" and toks[i + 1].start == t.end and toks[i + 2].low.isalpha():
        return None  # perhaps a part of a word ("3-dimensional"): _not_a_quantity decides
    if last is not None and last.cat == "cmp" and t.low in _uln_first_words():
        return None
    between = last is not None and last.cat == "filler" and last.data == "between"
    n, q = _quantity(toks, i, between)
    return (n, Item("qty", t.start, toks[i + n - 1].end, q)) if q is not None else None


@cache
def _uln_first_words() -> frozenset[str]:
    """The first words of the units that are a limit of normal ("x ULN", "upper limit of normal")."""
    return frozenset(phrase[0] for phrase, code in _units().items() if phrase and code in ("{ULN}", "{LLN}"))


def _point_at(toks: list[Token], i: int) -> tuple[int, Item]:
    """``_item_at``'s item at a point not after a comparator or a NYHA class name: filler inside a section number or
    after an abbreviation ("8.2.3", "St. John's Wort"), else the phrase or sign there (a full stop)."""
    t = toks[i]
    if _not_a_quantity(toks, i):
        return 1, Item("filler", t.start, t.end, t.text)
    return _phrase_item_at(toks, i) if _a_phrase_starts_with_a_point() else (1, _sign_or_word(t))


@cache
def _a_phrase_starts_with_a_point() -> bool:
    """Whether a context-free phrase or a case-sensitive abbreviation starts with '.' (none does: ``general_at``
    finds nothing there, and a point is a sign)."""
    phrases, abbreviations = general_first_words()
    return "." in phrases or "." in abbreviations


def _item_at(toks: list[Token], i: int, last: Item | None) -> tuple[int, Item]:
    t = toks[i]
    if t.low in _VERSION and i + 1 < len(toks) and (_is_number(toks[i + 1].low) or toks[i + 1].low in _VERSION):
        n = _version(toks, i)
        return n, Item("filler", t.start, toks[i + n - 1].end, "version")
    # most words are no number, point or "class" and follow no NYHA class name: no call for them
    special = (
        _class_or_filler_at(toks, i, last)
        if t.low[:1] in _DIGITS or t.low in _SPECIAL or (last is not None and last.data == "nyha-class")
        else None
    )
    if special is not None:
        return special
    if last is not None and last.cat == "cmp":  # "≤ ULN", "below the upper limit of normal": one times the limit
        k, unit, text = _unit(toks, i)
        if unit in ("{ULN}", "{LLN}"):
            return k, Item("qty", t.start, toks[i + k - 1].end, Qty(1.0, None, unit, text))
    if t.low in _SIGN_RESULTS and last is not None and last.cat == "concept" and last.end == t.start:
        return 1, Item("value", t.start, t.end, _SIGN_RESULTS[t.low])  # "ER+", "HER2-": read by the parser
    if t.low[:1] in _DIGITS:  # a quantity starts with a number (most words are none: no call for them)
        between = last is not None and last.cat == "filler" and last.data == "between"
        n, q = _quantity(toks, i, between)
        if q is not None:
            return n, Item("qty", t.start, toks[i + n - 1].end, q)
    return _phrase_item_at(toks, i)


def _phrase_item_at(toks: list[Token], i: int) -> tuple[int, Item]:
    """The item at token ``i`` where no quantity starts: a phrase of the vocabulary, a time window, a sign or a word."""
    t = toks[i]
    n, hit = general_at(toks, i)
    if hit is None:
        return 1, _sign_or_word(t)
    if hit[0] == "wopen":
        k, w = _window(toks, i, n)
        if w is not None:
            return k, Item("window", t.start, toks[i + k - 1].end, w)
    return n, Item(hit[0], t.start, toks[i + n - 1].end, hit[1])


def _sign_or_word(t: Token) -> Item:
    """The item of a token that starts no phrase: a sign (",", "(" ...), other punctuation or a word."""
    cat = _PUNCT.get(t.low)
    if cat is None:
        cat = "word" if t.low[:1].isalnum() else "filler"  # quotes, dashes, footnote marks: filler
    return Item(cat, t.start, t.end, t.text)
