"""The input formats: one table (``FORMATS``), each with how it is recognised and the function that reads it, and
the functions that pick one (``document_format`` for a whole document, ``study_format`` for parsed JSON).

| format | syntax | recognised by | read by |
|---|---|---|---|
| ``ctgov-json`` | JSON | ``ctgov_json.looks_like_ctgov_json`` (study, list, page) | ``ctgov_json.read_study`` |
| ``ctgov-v1`` | JSON | ``ctgov_v1.looks_like_ctgov_v1`` (``FullStudiesResponse``) | ``ctgov_v1.read_v1_study`` |
| ``ctgov-xml`` | XML | ``ctgov_xml.looks_like_ctgov_xml`` (first element) | ``ctgov_xml.read_clinical_study`` |
| ``text-page`` | text | ``text_page.looks_like_text_page`` (an NCT id) | ``text_page.read_text_page`` |

``fhir_adapter.sources`` imports this module only when it reads, and this module imports a reader only when a
document of its syntax is seen (``_reader``): a run over v2 JSON loads neither the XML reader (lxml) nor the page
reader, and the v1 reader only when a JSON document is not v2. Cutting inputs into units and listing input files
load no reader.

The syntax is told by the first character of the text: ``{`` or ``[`` JSON, ``<`` XML, anything else text. A JSON
document is cut into studies (``fhir_adapter.sources.units.split``) and each study is read by the JSON format that
recognised the document; an XML or text document is one record. See docs/architecture.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import orjson

from fhir_adapter.errors import SourceError, UnknownFormatError
from fhir_adapter.limits import Limits
from fhir_adapter.model import Source, Trial
from fhir_adapter.sources.guards import check_text_items

__all__ = [
    "FORMATS",
    "Document",
    "Format",
    "decode",
    "document_format",
    "format_named",
    "is_json",
    "json_error",
    "study_format",
]

JSON, XML, TEXT = "json", "xml", "text"
# What a document of each syntax that no format recognises is told.
_NOT_RECOGNISED = {
    XML: "XML that is not a ClinicalTrials.gov clinical_study",
    TEXT: "unknown format: not ClinicalTrials.gov JSON, XML or a trial page with an NCT id",
}
_XML_HEAD = 4096  # bytes looked at to recognise XML


@dataclass(frozen=True, slots=True)
class Document:
    """A whole input document (an XML or text format's input), as bytes and as decoded text."""

    data: bytes
    text: str


@dataclass(frozen=True, slots=True)
class Format:
    """One input format: its name (``Source.format`` of its records), its syntax, how it is recognised and how it
    is read. A JSON format recognises and reads parsed JSON (a document, then each of its ``studies``); an XML or
    text format recognises and reads a ``Document``."""

    name: str
    syntax: str
    recognises: Callable[[Any], bool]
    read: Callable[[Any, Source, Limits], Trial]
    studies: Callable[[Any, str], Iterator[tuple[int | None, Any]]] | None = None


def _reader(name: str) -> ModuleType:
    """The reader module ``fhir_adapter.sources.<name>``, imported on first use (see the module docstring)."""
    return importlib.import_module(f"fhir_adapter.sources.{name}")


def _read_page(doc: Document, source: Source, limits: Limits) -> Trial:
    # a page lists one item a line: its lines bound every list on it (checked before the page is read)
    check_text_items(doc.text, "(trial page)", limits.max_list_items, source, None)
    trial: Trial = _reader("text_page").read_text_page(doc.text, source.path)
    return trial


FORMATS: tuple[Format, ...] = (
    Format(
        "ctgov-json",
        JSON,
        lambda doc: bool(_reader("ctgov_json").looks_like_ctgov_json(doc)),
        lambda study, source, limits: _reader("ctgov_json").read_study(study, source, limits=limits),
        lambda doc, name: _reader("ctgov_json").iter_studies(doc, name),
    ),
    Format(
        "ctgov-v1",
        JSON,
        lambda doc: bool(_reader("ctgov_v1").looks_like_ctgov_v1(doc)),
        lambda study, source, limits: _reader("ctgov_v1").read_v1_study(study, source, limits=limits),
        lambda doc, name: _reader("ctgov_v1").iter_v1_studies(doc, name),
    ),
    Format(
        "ctgov-xml",
        XML,
        lambda doc: bool(_reader("ctgov_xml").looks_like_ctgov_xml(doc.data[:_XML_HEAD])),
        lambda doc, source, limits: _reader("ctgov_xml").read_clinical_study(doc.data, source, limits=limits),
    ),
    Format("text-page", TEXT, lambda doc: bool(_reader("text_page").looks_like_text_page(doc.text)), _read_page),
)
_BY_NAME = {f.name: f for f in FORMATS}


def format_named(name: str) -> Format:
    """The format of a name (``Unit.format``, ``Source.format``)."""
    return _BY_NAME[name]


def study_format(doc: Any) -> Format | None:
    """The JSON format that recognises a parsed document, or None."""
    return next((f for f in FORMATS if f.syntax == JSON and f.recognises(doc)), None)


def syntax_of(text: str) -> str:
    """JSON, XML or text, by the first character that is not white space."""
    first = text.lstrip()[:1]
    return JSON if first in ("{", "[") else XML if first == "<" else TEXT


def document_format(doc: Document, path: str, index: int | None) -> Format | None:
    """The XML or text format of a document; None for JSON (its format is picked after parsing: ``study_format``).
    Raises ``UnknownFormatError`` saying what the document is not."""
    syntax = syntax_of(doc.text)
    if syntax == JSON:
        return None
    if syntax == TEXT and doc.text.lstrip().startswith('"') and is_json(doc.data):
        # a JSON string that happens to hold an NCT id is no trial page
        raise UnknownFormatError("JSON is a string, not a ClinicalTrials.gov study", path=path, index=index)
    found = next((f for f in FORMATS if f.syntax == syntax and f.recognises(doc)), None)
    if found is None:
        raise UnknownFormatError(_NOT_RECOGNISED[syntax], path=path, index=index)
    return found


def decode(data: bytes, path: str, index: int | None) -> str:
    """The text of an input: ``SourceError`` for an empty one, ``UnknownFormatError`` for binary or non-UTF-8."""
    if not data.strip():
        raise SourceError("empty file", path=path, index=index)
    if b"\x00" in data[:8192]:
        raise UnknownFormatError("binary file (NUL bytes), not a trial record", path=path, index=index)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnknownFormatError(f"not UTF-8 text (byte {e.start})", path=path, index=index) from None


def is_json(data: bytes) -> bool:
    """True when ``data`` is one whole JSON document."""
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def json_error(text: str, path: str, index: int | None) -> SourceError:
    """The error of JSON that is not a study document: invalid JSON, or JSON no format recognises."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as e:
        return SourceError(f"invalid JSON: {e}", path=path, index=index)
    return UnknownFormatError(
        "JSON is not a ClinicalTrials.gov study (API v2 study, list, search page or v1 FullStudiesResponse)",
        path=path,
        index=index,
    )
