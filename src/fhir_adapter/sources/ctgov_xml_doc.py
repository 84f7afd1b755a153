"""Legacy ClinicalTrials.gov ``<clinical_study>`` XML as a document: recognised by its first element, parsed with a
hardened parser, and its ``textblock`` s reflowed as API v2 shows the same text (``ctgov_xml`` reads the record).

Parsing is hardened: lxml with no entity resolution, no DTD loading, no network and no huge trees, and a document
that declares entities in a DOCTYPE is refused before it is parsed (external entities, billion laughs).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any, cast

from lxml import etree

from fhir_adapter.errors import SourceError
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import Source
from fhir_adapter.sources.guards import check_xml_counts

__all__ = ["ROOT", "looks_like_ctgov_xml", "parse_clinical_study", "reflow_textblock", "text_of"]

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "dtd_validation": False,
    "remove_comments": True,
    "remove_pis": True,
}
_HEAD_BYTES = 4096
ROOT = "clinical_study"
_FIRST_ELEMENT = re.compile(
    rb"\s*(?:<\?[^?]*\?>\s*|<!--(?:[^-]|-(?!->))*-->\s*|<!DOCTYPE[^\[>]*+(?:\[[^\]]*\])?\s*>\s*)*<(?P<name>[\w.:-]+)"
)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


# Width of the legacy textblock rendering (line length including the indentation): a line break is a wrap made by
# the renderer when the next word would not have fitted on the line.
_WRAP_WIDTH = 99
_LIST_MARKER = re.compile(
    r"(?P<marker>[-*+•·▪●◦]|\d{1,3}[.)]|\(\d{1,3}\)|[a-zA-Z][.)]|\([a-zA-Z]\)|[ivxIVX]{2,4}[.)])(?P<space>\s+)(?=\S)"
)
_BULLETS = "-*+•·▪●◦"


# ------------------------------------------------------------------------------------------------ detection


def looks_like_ctgov_xml(head: bytes) -> bool:
    """True when the first element of the document is ``<clinical_study>`` (looks at the first 4 KB only)."""
    text = _as_utf8(head[:_HEAD_BYTES])
    m = _FIRST_ELEMENT.match(text)
    return m is not None and m.group("name") == ROOT.encode()


def _as_utf8(data: bytes) -> bytes:
    """UTF-16/32 input (by BOM or NUL bytes) re-encoded as UTF-8 for the byte-level checks; others as given."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(enc, errors="ignore").encode()
    if len(data) >= 4 and b"\x00" in data[:4]:
        enc = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return data.decode(enc, errors="ignore").encode()
    return data


# ------------------------------------------------------------------------------------------------ parsing


def parse_clinical_study(data: bytes, source: Source, limits: Limits = DEFAULT_LIMITS) -> etree._Element:
    """The root element, parsed with the hardened parser; entity declarations, and documents with more elements or
    attributes on one element than the limits allow, are refused before parsing (libxml2's duplicate-attribute
    check is quadratic in the attributes of an element)."""
    checked = _as_utf8(data)
    if b"<!" in checked and _DOCTYPE.search(checked) and _ENTITY.search(checked):  # "<!": a cheap first test
        raise SourceError(
            "XML with entity declarations is refused (XXE / entity expansion)",
            path=source.path,
            index=source.index,
            field="DOCTYPE",
        )
    check_xml_counts(checked, limits.max_xml_elements, limits.max_xml_attributes, source)
    parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        line, column = e.position
        raise SourceError(
            f"malformed XML at line {line}, column {column}: {e.msg}", path=source.path, index=source.index
        ) from None
    if root is None:
        raise SourceError("empty XML document", path=source.path, index=source.index)
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in cast(Any, dtd).iterentities()):  # belt and braces
        raise SourceError(
            "XML with entity declarations is refused (XXE / entity expansion)",
            path=source.path,
            index=source.index,
            field="DOCTYPE",
        )
    if root.tag != ROOT:
        raise SourceError(
            f"root element is <{root.tag}>, not <{ROOT}>", path=source.path, index=source.index, field=str(root.tag)
        )
    return root


# ------------------------------------------------------------------------------------------------ textblocks


@dataclass(slots=True)
class _Entry:
    """One paragraph or list item of a textblock: its indent (below the common one), the column its text starts
    in, its list marker, its text (wrapped lines joined) and the number of the blank-line separated block."""

    kind: str  # "item" or "para"
    indent: int
    text_col: int
    marker: str
    text: str
    block: int


def reflow_textblock(raw: str) -> str | None:
    """A legacy ``textblock`` as ClinicalTrials.gov API v2 shows the same text.

    The common indentation is removed; lines wrapped by the legacy renderer (99 columns) are joined with one space,
    other line breaks in a paragraph are kept; list items (``-``, ``*``, ``1.``, ``a)`` ...) start a line, ``-`` /
    ``+`` / ``•`` bullets become ``*`` (numbers and letters are kept as written), nested items are indented by two
    spaces per level, and a paragraph indented under an item stays indented under it. Paragraphs are separated by a
    blank line, consecutive list items by a line break. None for a blank textblock.
    """
    lines = [line.expandtabs(8).rstrip() for line in raw.splitlines()]
    indents = [len(line) - len(line.lstrip()) for line in lines if line]
    if not indents:
        return None
    text = _rendered(_entries(lines, min(indents))).strip()
    return text or None


def _entries(lines: list[str], base: int) -> list[_Entry]:
    """The paragraphs and list items of the lines of a textblock (``base``: the common indentation)."""
    entries: list[_Entry] = []
    block = 0
    prev_line = ""
    for line in lines:
        if not line:
            block += 1
            prev_line = ""
            continue
        indent = len(line) - len(line.lstrip()) - base
        content = line.strip()
        m = _LIST_MARKER.match(content)
        if m is not None:
            entries.append(_Entry("item", indent, indent + m.end(), m.group("marker"), content[m.end() :], block))
        elif entries and entries[-1].block == block:
            last = entries[-1]
            wrapped = len(prev_line) + 1 + len(content.split(None, 1)[0]) > _WRAP_WIDTH
            sep = " " if wrapped or last.kind == "item" else "\n"
            last.text = f"{last.text}{sep}{content}"
        else:
            entries.append(_Entry("para", indent, indent, "", content, block))
        prev_line = line
    return entries


def _rendered(entries: list[_Entry]) -> str:
    """The entries as API v2 text: items and paragraphs indented two spaces per open list level."""
    out: list[str] = []
    stack: list[tuple[int, int]] = []  # (indent, text column) of the open list items
    prev: _Entry | None = None
    for e in entries:
        if e.kind == "item":
            while stack and e.indent <= stack[-1][0]:
                stack.pop()
            shown = "*" if e.marker in _BULLETS else e.marker
            piece = "  " * len(stack) + f"{shown} {e.text}"
            stack.append((e.indent, e.text_col))
        else:
            while stack and e.indent < stack[-1][1]:
                stack.pop()
            piece = "  " * len(stack) + e.text
        if prev is not None:
            both_items = e.kind == "item" and prev.kind == "item"
            out.append("\n" if both_items or prev.block == e.block else "\n\n")
        out.append(piece)
        prev = e
    return "".join(out)


def text_of(el: etree._Element) -> str:
    """All text inside an element (comments and processing instructions are removed by the parser)."""
    if not len(el):  # a leaf (most elements): its own text is all of it
        return el.text or ""
    return "".join(p if isinstance(p, str) else p.decode() for p in el.itertext())
