"""Reader for the retired ClinicalTrials.gov API v1 ``FullStudiesResponse`` JSON (``/api/query/full_studies``).

API v1 (retired in 2023) sent the same study modules as API v2 under PascalCase names, with every list wrapped in
an object (``ConditionList: {Condition: [...]}``), every value a string (``"63"``, ``"Yes"``) and the legacy
wording of the classic site (``"Not yet recruiting"``, ``"Phase 2"``, ``"None (Open Label)"``, dates like
``"March 4, 2021"``). So a v1 study is renamed into the v2 shape (the table ``mappings/ctgov-v1-renames.json``; dates,
counts, flags, ages, masking and sampling wording rewritten on the way) and read by the v2 reader
(``fhir_adapter.sources.ctgov_json``): it gives the ``Trial`` a v2 record of the same study gives.

A value that cannot be read (unknown code: kept as given; unreadable date, count or flag; wrong JSON type) and every
field no step reads is reported as an ``Issue`` on the trial and, when not used, kept verbatim in
``Trial.unmapped``, both under the v1 path relative to the study object (``ProtocolSection.OversightModule.
OversightHasDMC``). Registry bookkeeping listed in ``IGNORED`` is left out on purpose.

Shapes read (:func:`iter_v1_studies`): a ``{"FullStudiesResponse": {..., "FullStudies": [{"Rank": 1, "Study":
{...}}, ...]}}`` page (what the API sent, for one study too), a ``{"FullStudy": {"Rank": .., "Study": {...}}}`` or
``{"Study": {...}}`` wrapper, a bare study object (``{"ProtocolSection": ...}``), or a JSON list of any of these.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from fhir_adapter import terminology
from fhir_adapter.errors import SourceError
from fhir_adapter.issues import Issue
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import Source, Trial
from fhir_adapter.sources.ctgov_json import reading_of
from fhir_adapter.sources.fields import (
    HEALTHY_YES,
    collect_json_unmapped,
    indexed_records,
    keep_unmapped,
    record_error,
    sampling_token,
    warning,
    yes_no,
)
from fhir_adapter.sources.guards import check_items, check_nct_id, parse_count
from fhir_adapter.sources.wording import parse_registry_date

__all__ = [
    "IGNORED",
    "PAGE_KEYS",
    "iter_v1_studies",
    "looks_like_ctgov_v1",
    "one_item_per_line",
    "read_v1_study",
]

# Search-page metadata of a FullStudiesResponse (not about any one study) and the bookkeeping key of each
# FullStudies entry: read past on purpose, never reported.
PAGE_KEYS = frozenset(
    {
        "APIVrs",
        "DataVrs",
        "Expression",
        "NStudiesAvail",
        "NStudiesFound",
        "MinRank",
        "MaxRank",
        "NStudiesReturned",
        "FullStudies",
    }
)
_ENTRY_BOOKKEEPING = frozenset({"Rank"})

# Study fields left out without a report: registry bookkeeping (QC and submission dates, version info, MeSH tree
# context), the same set the v2 reader ignores, under their v1 names. Results and documents are not mapped (an
# ``information`` issue says so, as for v2).
IGNORED = frozenset(
    {
        "ProtocolSection.StatusModule.StudyFirstSubmitQCDate",
        "ProtocolSection.StatusModule.ResultsFirstSubmitDate",
        "ProtocolSection.StatusModule.ResultsFirstSubmitQCDate",
        "ProtocolSection.StatusModule.LastUpdateSubmitDate",
        "ProtocolSection.StatusModule.DispFirstSubmitDate",
        "ProtocolSection.StatusModule.DispFirstSubmitQCDate",
        "ProtocolSection.StatusModule.DispFirstPostDateStruct",
        "DerivedSection.MiscInfoModule",
        "DerivedSection.ConditionBrowseModule.ConditionAncestorList",
        "DerivedSection.ConditionBrowseModule.ConditionBrowseLeafList",
        "DerivedSection.ConditionBrowseModule.ConditionBrowseBranchList",
        "DerivedSection.InterventionBrowseModule.InterventionAncestorList",
        "DerivedSection.InterventionBrowseModule.InterventionBrowseLeafList",
        "DerivedSection.InterventionBrowseModule.InterventionBrowseBranchList",
        "ResultsSection",
        "DocumentSection",
    }
)


# Age wording that means "no limit" (v2 leaves the field out).
_NO_AGE_LIMIT = frozenset({"n/a", "none"})
# API v2 SamplingMethod enum (not a mappings/ axis: the model keeps sampling method as text).
_SAMPLING_METHODS = frozenset({"PROBABILITY_SAMPLE", "NON_PROBABILITY_SAMPLE"})
_LEFT_OUT = object()  # a converter's "nothing for v2"
_ABSENT = object()  # a key an object does not have


@cache
def _renames() -> dict[str, Any]:
    """The v1 -> v2 rename table (``mappings/ctgov-v1-renames.json``, which says what its entries mean)."""
    with (terminology.mappings_dir() / "ctgov-v1-renames.json").open(encoding="utf-8") as fh:
        table: dict[str, Any] = json.load(fh)["renames"]
    return table


@dataclass(frozen=True, slots=True)
class _Field:
    """One entry of the rename table, parsed once: the v1 key, the v2 name, the wording ``kind`` of a value
    (``leaf``), the item name of a list wrapper (``item``, ``first``) and the fields of an object or list item."""

    key: str
    name: str
    leaf: bool
    kind: str
    item: str | None
    first: bool
    fields: _Fields | None

    def origin(self, k1: str) -> str:
        """The v1 path this field's v2 value comes from: the list inside a wrapper (its first item for a
        ``first`` list)."""
        if self.item is None:
            return k1
        return f"{k1}.{self.item}" + ("[0]" if self.first else "")


@dataclass(frozen=True, slots=True)
class _Fields:
    """The fields of one v1 object in table order, and each key's position (so that an object with few of the
    table's keys is read in the table's order without a look-up per table entry)."""

    order: tuple[_Field, ...]
    position: dict[str, int]

    def present(self, v1: dict[str, Any]) -> Iterable[_Field]:
        """The fields of ``v1`` that the table names, in table order (or all fields, for an object with as many
        keys as the table)."""
        if len(v1) >= len(self.order):
            return self.order
        position = self.position
        found = sorted(position[k] for k in v1 if k in position)
        return [self.order[i] for i in found]


def _compiled(table: dict[str, Any]) -> _Fields:
    """The rename table (or one object's part of it) as ``_Fields``."""
    order = []
    for key, spec in table.items():
        if isinstance(spec, str):
            name, _, kind = spec.partition(":")
            order.append(_Field(key, name, True, kind, None, False, None))
        else:
            fields = _compiled(spec["fields"]) if "fields" in spec else None
            order.append(_Field(key, spec["to"], False, "", spec.get("item"), bool(spec.get("first")), fields))
    return _Fields(tuple(order), {f.key: i for i, f in enumerate(order)})


@cache
def _table() -> _Fields:
    return _compiled(_renames())


class _Renamer:
    """Renames one v1 study into the v2 shape, remembering where each v2 path came from (``origin``), the v1
    objects and lists it looked into (``seen``), the v1 values it consumed itself (``used``) and its issues."""

    def __init__(self, source: Source, nct_id: str, limits: Limits) -> None:
        self.source, self.nct_id, self.limits = source, nct_id, limits
        self.issues: list[Issue] = []
        self.origin: dict[str, str] = {}
        self.seen: set[str] = set()
        self.used: set[str] = set()
        self.who_masked: list[str] = []
        # v2 paths of values made from other fields (no v1 key holds them), with their number of list items
        self.derived: list[tuple[str, int]] = []

    def warn(self, path: str, message: str) -> None:
        self.issues.append(warning(path, message))

    def v1_path(self, path: str) -> str:
        """The v1 path of a v2 path (a path below a renamed one keeps its tail, ``...EligibilityCriteria[2]``)."""
        origin = self.origin
        if path in origin:
            return origin[path]
        i = len(path)
        while (i := max(path.rfind(".", 0, i), path.rfind("[", 0, i))) > 0:  # the longest renamed head
            if path[:i] in origin:
                return origin[path[:i]] + path[i:]
        return path

    def v1_paths(self, paths: set[str]) -> set[str]:
        """``v1_path`` of each path: most are renamed paths themselves (one look-up each, in C); only when some are
        not are those looked for again."""
        origin = self.origin
        out: set[str | None] = set(map(origin.get, paths))
        if None in out:
            out.discard(None)
            out.update(self.v1_path(p) for p in paths if p not in origin)
        return cast(set[str], out)

    def forget_derived(self, paths: set[str]) -> None:
        """Take the paths of derived values and their items out of ``paths`` (the v2 reader's): they name no v1
        value, and their v1 paths would name a key so spelled that v1 does not have (an unknown one)."""
        for path, items in self.derived:
            paths.discard(path)
            paths.difference_update(f"{path}[{i}]" for i in range(items))

    def obj(self, v1: dict[str, Any], fields: _Fields, p1: str, p2: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        head1, head2 = f"{p1}." if p1 else "", f"{p2}." if p2 else ""
        for f in fields.present(v1):
            value = v1.get(f.key, _ABSENT)
            if value is _ABSENT or value is None:
                continue
            k1, k2 = head1 + f.key, head2 + f.name
            if f.leaf:
                if f.kind:  # a value without a kind is copied as it is (``leaf``)
                    value = self.leaf(value, f.kind, k1)
            elif f.item is not None:
                value = self.wrapped(value, f, k1, k2)
            elif isinstance(value, dict):
                assert f.fields is not None  # the table gives every object its fields
                value = self.obj(value, f.fields, k1, k2)
            else:
                self.warn(k1, f"expected an object, got {type(value).__name__}; value kept in unmapped")
                value = _LEFT_OUT
            if value is not _LEFT_OUT:
                out[f.name], self.origin[k2] = value, k1 if f.item is None else f.origin(k1)
        who = self.who_masked
        if who:
            self.who_masked = []
            if not out.get("whoMasked"):  # the masking wording names who is masked: v2 lists them
                out["whoMasked"] = who
                self.derived.append((head2 + "whoMasked", len(who)))
        return out

    def wrapped(self, wrapper: Any, spec: _Field, k1: str, k2: str) -> Any:
        """``XxxList: {Xxx: [...]}`` -> the list (its items renamed), or its first item for a ``first`` list."""
        if not isinstance(wrapper, dict):
            self.warn(k1, f"expected an object, got {type(wrapper).__name__}; value kept in unmapped")
            return _LEFT_OUT
        self.seen.add(k1)
        k1 = f"{k1}.{spec.item}"
        items = wrapper.get(spec.item)
        if items is None:
            return _LEFT_OUT
        if not isinstance(items, list):
            self.warn(k1, f"expected a list, got {type(items).__name__}; value kept in unmapped")
            return _LEFT_OUT
        check_items(len(items), k1, self.limits.max_list_items, self.source, self.nct_id)
        if spec.first:
            return self.first(items, k1)
        fields = spec.fields
        out = []
        for i, item in enumerate(items):
            step = f"[{i}]"
            i1 = self.origin[k2 + step] = k1 + step
            if fields is not None and isinstance(item, dict):
                item = self.obj(item, fields, i1, k2 + step)
            out.append(item)  # anything else as it is: the v2 reader reports it
        return out

    def first(self, items: list[Any], k1: str) -> Any:
        """A v1 list (``DesignObservationalModelList``) that v2 holds as one value: the first; more are reported."""
        self.seen.add(k1)
        if len(items) > 1:
            self.warn(k1, f"{len(items)} values where API v2 has one; the first is mapped, the others kept in unmapped")
        return items[0] if items else _LEFT_OUT

    def leaf(self, value: Any, kind: str, k1: str) -> Any:
        """A value, rewritten from v1 wording by its ``kind``; ``_LEFT_OUT`` when there is nothing for v2 (reported
        when it cannot be read: then it stays in ``Trial.unmapped``)."""
        if not kind:
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.warn(k1, f"expected text, got {type(value).__name__}; value kept in unmapped")
            return _LEFT_OUT
        raw = str(value).strip()
        if not raw or (kind == "age" and raw.lower() in _NO_AGE_LIMIT):  # read: there is no value
            self.used.add(k1)
            return _LEFT_OUT
        if kind in _UNREADABLE:
            converted = _UNREADABLE[kind][0](raw)
            if converted is None:
                self.warn(k1, _UNREADABLE[kind][1].replace("{raw}", repr(raw[:40])))
                return _LEFT_OUT
            self.used.add(k1)
            return converted
        if kind == "masking":
            token, self.who_masked = terminology.legacy_masking(raw)
            return token or raw  # unknown: the v2 reader reports it as an unknown masking code
        if kind == "sampling" and sampling_token(raw) not in _SAMPLING_METHODS:
            self.warn(k1, f"unknown sampling method {raw[:40]!r}; kept as given")
            return raw
        return sampling_token(raw) if kind == "sampling" else raw  # age: read by the v2 reader


# v1 wording rewritten to a v2 value, and the warning when it cannot be read (the value stays in Trial.unmapped).
_UNREADABLE: dict[str, tuple[Callable[[str], Any], str]] = {
    "date": (parse_registry_date, "cannot read date {raw}; kept in unmapped"),
    "count": (parse_count, "cannot read count (a whole number 0..2147483647); kept in unmapped"),
    "flag": (lambda raw: yes_no(raw, HEALTHY_YES), "cannot read yes/no value {raw}; kept in unmapped"),
}


# --------------------------------------------------------------------------------------------------- documents


def _unwrap(obj: Any) -> Any:
    """A FullStudy / FullStudies entry / Study wrapper -> the study object (``{"ProtocolSection": ...}``)."""
    if isinstance(obj, dict) and isinstance(obj.get("FullStudy"), dict) and "ProtocolSection" not in obj:
        obj = obj["FullStudy"]
    if isinstance(obj, dict) and isinstance(obj.get("Study"), dict) and "ProtocolSection" not in obj:
        obj = obj["Study"]
    return obj


def _is_v1_study(obj: Any) -> bool:
    obj = _unwrap(obj)
    return isinstance(obj, dict) and isinstance(obj.get("ProtocolSection"), dict)


def iter_v1_studies(doc: Any, path: str) -> Iterator[tuple[int | None, Any]]:
    """The study records of a parsed v1 document, with their index in it (None for a single study).

    A ``FullStudiesResponse`` page yields its ``FullStudies`` entries (``{"Rank", "Study"}``, indices from 0; a page
    with no ``FullStudies`` -- zero hits -- yields nothing); a JSON list yields its elements; a ``FullStudy`` or
    ``Study`` wrapper or a bare study yields itself. :func:`read_v1_study` takes each record as yielded.
    """
    if isinstance(doc, dict) and "FullStudiesResponse" in doc:
        page = doc["FullStudiesResponse"]
        if not isinstance(page, dict):
            raise SourceError(
                f"FullStudiesResponse is a {type(page).__name__}, expected an object",
                path=path,
                field="FullStudiesResponse",
            )
        studies = page.get("FullStudies")
        if studies is None:
            return
        if not isinstance(studies, list):
            raise SourceError(
                f"FullStudies is a {type(studies).__name__}, expected a list",
                path=path,
                field="FullStudiesResponse.FullStudies",
            )
        yield from enumerate(studies)
    else:
        yield from indexed_records(doc, path, "a v1 FullStudiesResponse, study or list")


def looks_like_ctgov_v1(doc: Any) -> bool:
    """True for a v1 ``FullStudiesResponse`` page (even one with no studies), a ``FullStudy``/``Study`` wrapper, a
    bare v1 study (``ProtocolSection``, PascalCase) or a list whose first element is one of these."""
    if isinstance(doc, dict) and isinstance(doc.get("FullStudiesResponse"), dict):
        return True
    if isinstance(doc, list):
        doc = doc[0] if doc else None
    return _is_v1_study(doc)


def _nct_of(study: Any) -> str | None:
    try:
        value = study["ProtocolSection"]["IdentificationModule"]["NCTId"]
    except (KeyError, TypeError):
        return None
    return (value.strip() or None) if isinstance(value, str) else None


def read_v1_study(study: Any, source: Source, *, limits: Limits = DEFAULT_LIMITS) -> Trial:
    """One v1 study record (a ``FullStudies`` entry, a ``FullStudy``/``Study`` wrapper or the study object) ->
    Trial. Raises ``SourceError`` (with path, index, field) when it is not a study or has no plausible NCT id,
    ``LimitExceeded`` for a list-valued field over ``limits.max_list_items``."""
    wrapper_extra: dict[str, Any] = {}
    if isinstance(study, dict) and "ProtocolSection" not in study:
        inner = study.get("FullStudy", study)
        if isinstance(inner, dict):
            wrapper_extra = {k: v for k, v in inner.items() if k != "Study" and k not in _ENTRY_BOOKKEEPING}
    study = _unwrap(study)
    if not isinstance(study, dict) or not isinstance(study.get("ProtocolSection"), dict):
        raise record_error("not a ClinicalTrials.gov API v1 study (no ProtocolSection)", source, "ProtocolSection")
    nct = _nct_of(study)
    if not nct:
        raise record_error("study has no NCT id", source, "ProtocolSection.IdentificationModule.NCTId")
    nct = check_nct_id(nct, "ProtocolSection.IdentificationModule.NCTId", source)
    renamer = _Renamer(source, nct, limits)
    v2 = renamer.obj(study, _table(), "", "")
    v2["hasResults"] = bool(study.get("ResultsSection"))  # v1 has no such field: it sends results when there are
    try:
        # only the values the v2 reader found are read: a v1 key the table does not name (even one spelled like the
        # v2 field the reader asked for, ``city``) is not in ``v2`` and stays unmapped
        reading = reading_of(v2, source, limits, one_item_per_line, keep_sections=False)
    except SourceError as e:  # named by its v1 path
        field = renamer.v1_path(e.field) if e.field else None
        raise type(e)(e.message, path=e.path, index=e.index, nct_id=e.nct_id, field=field) from None
    t = reading.trial
    t.issues = renamer.issues + [Issue(i.severity, renamer.v1_path(i.location), i.message, i.code) for i in t.issues]
    renamer.derived.append(("hasResults", 0))
    for paths in (reading.seen, reading.used):
        renamer.forget_derived(paths)
    seen, used = renamer.v1_paths(reading.seen), renamer.v1_paths(reading.used)
    seen |= renamer.seen  # (the renamer's few paths into the reader's many: no copy of those)
    used |= renamer.used
    collect_json_unmapped(study, t, t.issues, seen=seen.__contains__, used=used.__contains__, ignored=IGNORED)
    for key, value in wrapper_extra.items():  # unknown keys next to "Study" in a FullStudies entry
        if value not in (None, "", [], {}):
            keep_unmapped(t, t.issues, key, value)
    return t


def one_item_per_line(text: str) -> str:
    """API v1 criteria text has one list item per line, list markers and indentation stripped, never wrapped (in
    NCT00023673 every line is exactly one item of the legacy XML list). ``split_criteria`` would join a line to a
    long line above it as a wrapped continuation, so each line is made a paragraph of its own before splitting;
    ``criteria_text`` keeps the text as sent. (The nesting the markers showed is not in the v1 text.)"""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
