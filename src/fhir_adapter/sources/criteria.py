"""Split a free-text eligibility section into ordered ``Criterion`` items.

Used by every reader: ClinicalTrials.gov API v2 ``eligibilityCriteria`` (markdown), the legacy XML
``eligibility/criteria/textblock`` (indented with spaces, ``-`` bullets, wrapped lines), API v1
``EligibilityCriteria`` and the eligibility section of trial pages.

The rules, all mechanical so that every result can be explained from the text:

* **Headers** switch polarity: a line reading "Inclusion Criteria", "Key Inclusion Criteria:", "INCLUSION
  CRITERIA:", "Exclusion criteria", "Non-inclusion criteria:" ... A header with a qualifier ("Exclusion criteria
  for cohort B:") or a short paragraph ending in "... inclusion criteria" ("Part 2 inclusion criteria") switches
  polarity too and is kept as a criterion whose children are the items up to the next header. A header followed
  by text on the same line ("Exclusion Criteria: 1. Age < 40") yields the header and an item. Items before any
  header are inclusion (with an ``information`` issue).
* **Items** start with a bullet (``*``, ``-``, ``+``, ``•``, ``·`` ...), a number (``1.``, ``1)``, ``(1)``,
  ``18\\.``, ``8.Female`` -- no space needed before a capital letter), a letter (``a.``, ``a)``, ``(a)``) or a roman
  numeral (``i.``, ``iv)``). Circled numbers inside a line (``... function: ① ANC ② Platelets``) are *not* split:
  such a criterion is one item, verbatim. An unmarked paragraph is an item of its own.
* **Text** is verbatim: the item as written minus its list marker and surrounding whitespace; wrapped lines are
  joined with one space; markdown escapes (``\\[``, ``\\>``) are kept. A line without a marker continues the
  item above it when it follows without a blank line and either is indented deeper than the item's start, starts
  in lower case, or the line above is long (a wrapped line); after a blank line it continues the item only when
  indented at least to the item's text column (legacy XML paragraphs inside an item).
* **Nesting**: an item indented deeper than the one above is its child. At the same indentation, an item whose
  marker type differs from that of an item (or paragraph) ending with ":" becomes its child; once such a nested
  list has started, consecutive items with the nested marker type stay nested until an item with another
  marker type (a bullet returning after a numbered sub-list) or a header comes. So in NCT07586904 the lab list
  ``1.``-``7.`` and also ``8.Female ...`` and ``9.Female ...`` are children of the bullet "Have adequate organ
  function ...:" -- the rule does not look at content.
* **Polarity and combination of sub-items** follow the parent's wording (the computable contract,
  docs/computable.md section 1; the readings are in ``criteria_polarity``): a sub-item's ``exclude`` is relative
  to the item holding it, so ``False`` under an exclusion item or a kept exclusion header, unless the parent's line
  carves the sub-list out ("Prior malignancy, except:", "must not have any of the following:"). The parent's
  ``combine`` is ``any-of`` when its line says the sub-items are alternatives ("any of the following", "one of the
  following", "at least one of", "either:") and under a kept exclusion header (each item excludes on its own),
  else ``all-of``.
* **Inline numbering**: inside a numbered item, "``. 11. Capital``" (a full stop, a number, a full stop, a capital)
  starts a new item when the number equals the item's own number or the next one (the list's own numbering), so
  "... after the last dose. 11. Participants ..." splits while "≥ 1.5 × ULN", "RECIST v1.1", "CTCAE 5.0 grade" or
  "Grade 2. Patients" (inside item 5) do not.
* **Numbering** is taken as written ("176\\." after "16." is item 176); gaps and repeats give ``information`` issues.
* An item that means inclusion in its place but as a whole says it excludes ("Mucosal or ocular melanomas are
  excluded.", "Patients who ... are not eligible.") is read as an exclusion, as the text says (``exclude=True``; at
  the top level ``heading_exclude=False`` keeps the heading it sat under) with a ``warning`` issue; one that only
  mentions an exclusion ("...; patients that are pregnant are excluded; ...", "Not eligible: x") stays inclusion,
  also with a ``warning``.

Everything is line-based with anchored or bounded regular expressions: linear in the size of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fhir_adapter.ascii_words import may_contain
from fhir_adapter.computable import annotate_criteria
from fhir_adapter.issues import Issue
from fhir_adapter.model import Criterion
from fhir_adapter.sources.criteria_polarity import (
    header_sub_list,
    may_say_excluded,
    mentions_exclusion,
    sub_list,
    whole_item_exclusion,
)

__all__ = ["split_criteria"]

_BULLETS_TIGHT = "•·▪●◦‣○■□➢►✓"  # may touch the text: "•Typical cDGA"
_ROMAN = {"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii", "xiii", "xiv", "xv"}

_MARKER = re.compile(
    r"(?:"
    rf"(?P<tight>[{_BULLETS_TIGHT}])\s*"
    r"|(?P<bullet>[*+\-–])(?:\s+|(?=[A-Z]))"
    r"|\((?P<pnum>\d{1,3})\)\s*"
    r"|(?P<num>\d{1,3})\\?(?P<ndelim>[.)])(?:\s+|(?=[A-Z]))"
    r"|\((?P<plet>[ivx]{1,4}|[a-zA-Z])\)\s+"
    r"|(?P<let>[ivx]{1,4}|[IVX]{1,4}|[a-zA-Z])(?P<ldelim>[.)])\s+"
    r"|(?P<circled>[①-⑳])\s*"
    r")"
)
_HEADER = re.compile(
    r"(?:(?:key|main|general|major|specific|additional|study)\s+)?"
    r"(?P<kind>inclusion|exclusion|non[\s-]?inclusion)(?P<crit>\s+criteria)?\b(?P<rest>.*)",
    re.IGNORECASE,
)
# Matched against the qualifier *without* its trailing "<spaces>:<spaces>" (cut by _without_colon_tail): a
# pattern ending in `[^.]{0,100}\s*:?\s*` backtracks over every way of sharing a long run of spaces between its
# three runs (quadratic, and 100 times that), the cut in Python is linear and accepts the same texts.
_QUALIFIER = re.compile(r"\s*(?:\([^()]{0,80}\)|(?:for|in|of|applicable|specific)\b[^.]{0,100}|[-–—][^.]{0,100})")
_ENDS_HEADER = re.compile(
    r"(?<![/\w-])(?P<kind>inclusion|exclusion|non[\s-]?inclusion)(?:\s+criteria)?\s*(?::\s*)?$", re.IGNORECASE
)
_HEADER_WORDS = ("clusion",)  # in every match of _HEADER and _ENDS_HEADER: the ascii_words gate
_DECORATION = " \t*_#"
# "... dose. 11. Participants" inside a "num." item, "... dose. 11) Participants" inside a "num)" item
_INLINE_NUMBER_DOT = re.compile(r"(?<=\.)\s+(\d{1,3})\\?\.\s+(?=[A-Z])")
_INLINE_NUMBER_PAREN = re.compile(r"(?<=\.)\s+(\d{1,3})\\?\)\s+(?=[A-Z])")
_LONG_LINE = 60  # a line at least this long that is followed by an unmarked line is taken as wrapped


@dataclass(slots=True)
class _Block:
    kind: str  # "item", "text" or "header"
    indent: int
    text_col: int
    mtype: str  # marker type ("bullet*", "num.", "(num)", "alpha.", "roman)", "text", ...)
    number: int | None = None
    letter: str | None = None
    lines: list[str] = field(default_factory=list)
    last_line_len: int = 0
    exclude: bool = False  # header polarity
    keep: bool = False  # header kept as a criterion (qualified header)
    text: str = ""


@dataclass(slots=True)
class _Open:
    """An entry of the nesting stack."""

    block: _Block
    crit: Criterion
    loc: str
    nest_type: str | None = None
    last_child: _Block | None = None
    child_exclude: bool = False  # the ``exclude`` of its sub-items, relative to it ("except:" sub-lists: True)
    combine: str = "all-of"  # how its sub-items combine, set on the criterion with its first sub-item
    effective: bool = False  # what it means once its ancestors are read: True counts against entering
    read: bool = True  # child_exclude and combine are set (an item's are read from its line with its first sub-item)

    def sub_items(self) -> _Open:
        """The entry, with how its sub-items read (``sub_list`` of its line, once: most items have none)."""
        if not self.read:
            self.child_exclude, self.combine = sub_list(self.block.text, excluding=self.effective)
            self.read = True
        return self


def _header_of(content: str) -> tuple[bool, bool, str | None] | None:
    """(exclude, keep_as_item, rest_item) when the line is a header, else None."""
    return _header_match(content) if _may_be_a_header(content) else None  # most lines: None at the gate


def _header_match(content: str) -> tuple[bool, bool, str | None] | None:
    """``_header_of(content)`` past its gate (``_may_be_a_header(content)`` already said True)."""
    plain = content.strip(_DECORATION)
    m = _HEADER.fullmatch(plain)
    if m is None:
        return None
    exclude = not m.group("kind").lower().startswith("inclusion")
    rest = m.group("rest").strip(_DECORATION)
    if rest in ("", ":", "："):
        return exclude, False, None
    if rest.startswith((":", "：")):
        after = rest[1:].strip(_DECORATION)
        return exclude, False, after
    if m.group("crit") and _QUALIFIER.fullmatch(_without_colon_tail(rest)):
        return exclude, True, None
    return None


def _may_be_a_header(text: str) -> bool:
    """False when the text cannot match ``_HEADER`` or ``_ENDS_HEADER`` (each match holds "clusion"), by the rule of
    ``ascii_words``."""
    return may_contain(text, _HEADER_WORDS)


def _without_colon_tail(text: str) -> str:
    """``text`` without its longest suffix of the form spaces, an optional ":", spaces (str.isspace is \\s)."""
    text = text.rstrip()
    return text[:-1].rstrip() if text.endswith(":") else text


def _parse_marker(content: str, prev: _Block | None) -> tuple[str, int | None, str | None, int] | None:
    """(marker type, number, letter, length of the marker) or None for an unmarked line."""
    m = _MARKER.match(content)
    if m is None:
        return None
    end = m.end()
    if end >= len(content):  # a marker alone on a line carries no text
        return None
    kind = m.lastgroup  # the alternative that matched: its last group ("ndelim" for a number, "ldelim" a letter)
    if kind == "tight":
        return "bullet" + m.group("tight"), None, None, end
    if kind == "bullet":
        b = m.group("bullet")
        return "bullet" + ("-" if b == "–" else b), None, None, end
    if kind == "pnum":
        return "(num)", int(m.group("pnum")), None, end
    if kind == "ndelim":
        return "num" + m.group("ndelim"), int(m.group("num")), None, end
    if kind == "circled":
        return "circled", ord(m.group("circled")) - ord("①") + 1, None, end
    letter = m.group("plet") or m.group("let")
    style = "(" if m.group("plet") else m.group("ldelim")
    low = letter.lower()
    if len(letter) > 1 and low not in _ROMAN:
        return None
    is_roman = len(letter) > 1 or (
        low in ("i", "v", "x")
        and (
            (prev is not None and prev.mtype.startswith("roman"))
            or (low == "i" and not (prev is not None and prev.mtype.startswith("alpha") and prev.letter == "h"))
        )
    )
    return ("roman" if is_roman else "alpha") + style, None, low, end


def _inline_split(block: _Block) -> list[_Block]:
    """Split "... dose. 11. Participants ..." inside numbered item 11 (or 10) into two items."""
    if block.number is None or block.mtype not in ("num.", "num)"):
        return [block]
    pattern = _INLINE_NUMBER_DOT if block.mtype == "num." else _INLINE_NUMBER_PAREN
    out: list[_Block] = []
    current = block.number
    start = 0
    text = block.text
    pieces: list[tuple[int, int, int]] = []  # (start of marker, start of text, number)
    for m in pattern.finditer(text):
        n = int(m.group(1))
        if n in (current, current + 1):
            pieces.append((m.start(), m.end(), n))
            current = n
    if not pieces:
        return [block]
    number = block.number
    for mstart, tstart, n in pieces:
        out.append(_derived(block, text[start:mstart].strip(), number))
        start, number = tstart, n
    out.append(_derived(block, text[start:].strip(), number))
    return out


def _derived(block: _Block, text: str, number: int) -> _Block:
    return _Block("item", block.indent, block.text_col, block.mtype, number, None, [], 0, text=text)


def _close_siblings(stack: list[_Open], block: _Block) -> None:
    """Pop the open items that ``block`` does not nest under: those indented as deep or deeper, except an item at the
    same indentation whose nested list ``block`` continues or starts (a different marker after a ":" item)."""
    while stack:
        entry = stack[-1]
        ob = entry.block
        if block.indent > ob.indent:
            return
        if block.indent == ob.indent:
            if entry.nest_type is not None and block.mtype == entry.nest_type:
                return
            if entry.nest_type is None and block.mtype != ob.mtype and entry.crit.text.endswith(":"):
                entry.nest_type = block.mtype
                return
        stack.pop()


def _criterion(block: _Block, parent: _Open | None, heading: bool, loc: str) -> tuple[Criterion, bool, Issue | None]:
    """The item's criterion, what it means once its ancestors are read (True: counts against entering) and the
    warning its wording earns, if any.

    ``exclude`` is relative to the parent (top level: the heading). An item that means inclusion in its place but
    as a whole says it excludes ("Mucosal melanomas are excluded.") is read as an exclusion, as the text says; at
    the top level it keeps its heading in ``heading_exclude`` (docs/computable.md section 1)."""
    own = parent.child_exclude if parent is not None else heading
    effective = (parent.effective if parent is not None else False) != own
    crit = Criterion(block.text, own)
    if effective or not may_say_excluded(block.text):
        return crit, effective, None
    if whole_item_exclusion(block.text):
        crit.exclude = not own
        if parent is None:
            crit.heading_exclude = heading
        message = "criterion listed under inclusion reads as an exclusion; read as an exclusion, as the text says"
        return crit, True, Issue("warning", loc, message + " (kept under its heading)", "business-rule")
    if mentions_exclusion(block.text):
        message = "part of a criterion listed under inclusion reads as an exclusion; kept as inclusion, as listed"
        return crit, effective, Issue("warning", loc, message, "business-rule")
    return crit, effective, None


class _Splitter:
    def __init__(self, text: str, location: str) -> None:
        self.text = text
        self.location = location
        self.blocks: list[_Block] = []
        self.issues: list[Issue] = []
        self.inline_splits: set[int] = set()  # ids of blocks that came out of an inline split
        self.warned_no_header = False

    # -- pass 1: lines to blocks ---------------------------------------------------------------------------
    def scan(self) -> None:
        cur: _Block | None = None
        after_blank = False
        prev_item: _Block | None = None
        for raw in self.text.splitlines():
            line = raw.expandtabs(4).rstrip()
            content = line.lstrip()
            if not content:
                after_blank = True
                continue
            indent = len(line) - len(content)
            maybe = _may_be_a_header(content)  # nor is any part of it, then (most lines)
            header = _header_match(content) if maybe else None  # the gate of _header_of, not made twice
            marker = None if header else _parse_marker(content, prev_item)
            if header is None and marker is not None and maybe:
                inner = _header_of(content[marker[3] :])
                if inner is not None and inner[2] is None:  # "* Inclusion Criteria:" as a bullet
                    header, marker = inner, None
            if header is not None:
                self._finish(cur)
                exclude, keep, rest = header
                hb = _Block("header", indent, indent, "header", exclude=exclude, keep=keep, text=content)
                self.blocks.append(hb)
                cur = None
                if rest:
                    rm = _parse_marker(rest, None)
                    if rm is not None:
                        cur = _Block("item", indent, indent, rm[0], rm[1], rm[2], [rest[rm[3] :].strip()])
                    else:
                        cur = _Block("text", indent, indent, "text", lines=[rest])
                    cur.last_line_len = len(line)
                after_blank = False
                continue
            if marker is not None:
                self._finish(cur)
                mtype, number, letter, mlen = marker
                cur = _Block("item", indent, indent + mlen, mtype, number, letter, [content[mlen:].strip()])
                cur.last_line_len = len(line)
                prev_item = cur
                after_blank = False
                continue
            # unmarked line
            joins = False
            if cur is not None:
                if after_blank:
                    joins = cur.kind == "item" and indent >= cur.text_col and indent > 0
                else:
                    joins = indent > cur.indent or cur.last_line_len >= _LONG_LINE or not content[0].isupper()
            if joins and cur is not None:
                cur.lines.append(content)
                cur.last_line_len = len(line)
            else:
                self._finish(cur)
                cur = _Block("text", indent, indent, "text", lines=[content])
                cur.last_line_len = len(line)
            after_blank = False
        self._finish(cur)

    def _finish(self, block: _Block | None) -> None:
        if block is None:
            return
        block.text = " ".join(filter(None, block.lines))  # the non-empty lines
        if not block.text:
            return
        if block.kind == "text" and len(block.text) <= 200 and ". " not in block.text and _may_be_a_header(block.text):
            m = _ENDS_HEADER.search(block.text)
            if m is not None:
                block.kind = "header"
                block.mtype = "header"
                block.exclude = not m.group("kind").lower().startswith("inclusion")
                block.keep = True
                self.blocks.append(block)
                return
        parts = _inline_split(block) if block.kind == "item" else [block]
        if len(parts) > 1:
            self.inline_splits.update(id(p) for p in parts[1:])
        self.blocks.extend(parts)

    # -- pass 2: blocks to a tree ------------------------------------------------------------------------------
    def build(self) -> list[Criterion]:
        top: list[Criterion] = []
        stack: list[_Open] = []
        exclude = False
        seen_header = False
        last_top: _Block | None = None
        for block in self.blocks:
            if block.kind == "header":
                exclude, seen_header, last_top = block.exclude, True, None
                stack.clear()
                if block.keep:
                    crit = Criterion(block.text, exclude)
                    child_exclude, combine = header_sub_list(exclude)
                    hb = _Block("header", -1, -1, "header")
                    loc = f"{self.location}[{len(top)}]"
                    stack.append(_Open(hb, crit, loc, None, None, child_exclude, combine, exclude))
                    top.append(crit)
                continue
            _close_siblings(stack, block)
            parent = stack[-1].sub_items() if stack else None
            if parent is not None:
                loc = f"{parent.loc}.children[{len(parent.crit.children)}]"
                prev = parent.last_child
            else:
                loc = f"{self.location}[{len(top)}]"
                prev = last_top
            crit, effective, polarity_issue = _criterion(block, parent, exclude, loc)
            if parent is not None:
                parent.crit.children.append(crit)
                parent.crit.combine = parent.combine
                parent.last_child = block
            else:
                top.append(crit)
                last_top = block
            if not seen_header:
                self._no_header_yet()
            self._check_numbering(block, prev, loc)
            if polarity_issue is not None:
                self.issues.append(polarity_issue)
            stack.append(_Open(block, crit, loc, None, None, effective=effective, read=False))
        return top

    def _no_header_yet(self) -> None:
        """An item before any header: said once."""
        if self.warned_no_header:
            return
        self.warned_no_header = True
        self.issues.append(
            Issue(
                "information",
                self.location,
                "no inclusion/exclusion header before the first item: items before a header are read as"
                " inclusion criteria",
                "incomplete",
            )
        )

    def _check_numbering(self, block: _Block, prev: _Block | None, loc: str) -> None:
        if id(block) in self.inline_splits:
            self.issues.append(
                Issue(
                    "information",
                    loc,
                    f"item {block.number} was written inside the previous item's line; split into its own item",
                    "informational",
                )
            )
        if block.number is None or prev is None or prev.number is None or prev.mtype != block.mtype:
            return
        if block.number != prev.number + 1:
            self.issues.append(
                Issue(
                    "information",
                    loc,
                    f"list numbering goes from {prev.number} to {block.number}; kept as written",
                    "informational",
                )
            )


def split_criteria(text: str, *, location: str = "eligibilityCriteria") -> tuple[list[Criterion], list[Issue]]:
    """Split an eligibility text into ordered criteria (see the module docstring for the rules).

    Returns the top-level criteria in source order (nested lists in ``children``, polarity relative) and the issues
    found; issue locations are ``location[i]`` for top-level item ``i`` and ``location[i].children[j]`` below.
    """
    splitter = _Splitter(text, location)
    splitter.scan()
    criteria = splitter.build()
    return criteria, splitter.issues + annotate_criteria(criteria, location=location)
