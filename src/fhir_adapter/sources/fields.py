"""What the ClinicalTrials.gov readers (API v2 and v1 JSON, legacy XML) share: reading a registry value (a code, a
yes/no flag) with the warning each reader gives when it cannot, typed access to a JSON study (``JsonReader``), and
keeping what no step reads.

Every field a reader does not map is kept verbatim in ``Trial.unmapped`` with a warning ``Issue`` (the mapper
writes it to ``ResearchStudy.note``, https://hl7.org/fhir/R5/researchstudy.html); docs/architecture.md has the
reader layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from functools import lru_cache
from typing import Any

import orjson

from fhir_adapter import terminology
from fhir_adapter.errors import SourceError
from fhir_adapter.issues import Issue
from fhir_adapter.limits import Limits
from fhir_adapter.model import DateInfo, Source, Trial
from fhir_adapter.sources.guards import check_items, unsigned_int

NOT_MAPPED = "field not mapped to FHIR; kept as text (ResearchStudy.note)"

# Registry yes/no wording: "Yes"/"No" (legacy XML, API v1), JSON-ish "true"/"false"; healthy volunteers also say
# "Accepts Healthy Volunteers" (legacy XML, API v1).
_YES = frozenset({"yes", "true"})
_NO = frozenset({"no", "false"})
HEALTHY_YES = frozenset({"accepts healthy volunteers"})

_SAMPLING_SEPARATORS = re.compile(r"[\s\-]+")
_EMPTY: tuple[Any, ...] = (None, "", [], {})  # values that are no field (never kept, never reported)


def record_error(message: str, source: Source, field: str) -> SourceError:
    """The error that refuses one record, naming its file, index and field."""
    return SourceError(message, path=source.path, index=source.index, field=field)


def warning(location: str, message: str, code: str = "value") -> Issue:
    """A reader's warning about one source field (``code``: the OperationOutcome issue type)."""
    return Issue("warning", location, message, code)


def yes_no(raw: str, also_yes: Collection[str] = ()) -> bool | None:
    """A registry yes/no value as a boolean; None when it is neither."""
    low = raw.strip().lower()
    if low in _YES or low in also_yes:
        return True
    if low in _NO:
        return False
    return None


def v2_token(axis: str, raw: str) -> str | None:
    """``terminology.normalize(axis, raw)``: the v2 token of a code in any registry spelling, or None."""
    return _short_token(axis, raw) if len(raw) <= _SHORT_CODE else terminology.normalize(axis, raw)


# A code's look-up is remembered for values up to this long (codes are a few words; a longer value is no code): the
# same few spellings come in every record, and the normalisation of a value costs more than finding it again.
_SHORT_CODE = 64


@lru_cache(maxsize=4096)
def _short_token(axis: str, raw: str) -> str | None:
    return terminology.normalize(axis, raw)


def code_or_given(axis: str, raw: str, location: str, issues: list[Issue]) -> str:
    """The v2 token of a code in any registry spelling (``v2_token``); an unknown code is kept as given, with a
    warning."""
    token = v2_token(axis, raw)
    if token is None:
        issues.append(warning(location, f"unknown {axis} code {raw[:40]!r}; kept as given"))
        return raw
    return token


def phases_or_given(raw: str, location: str, issues: list[Issue]) -> list[str]:
    """The v2 phase tokens of a phase in any spelling (``"Phase 1/Phase 2"`` is two); unknown: kept as given."""
    tokens = terminology.normalize_phase(raw)
    if not tokens:
        issues.append(warning(location, f"unknown phase {raw[:30]!r}; kept as given"))
        return [raw]
    return tokens


def sampling_token(raw: str) -> str:
    """API v2 SamplingMethod tokens are the legacy wording upper-cased with "_" ("Non-Probability Sample" ->
    "NON_PROBABILITY_SAMPLE")."""
    return _SAMPLING_SEPARATORS.sub("_", raw.strip()).upper()


def not_mapped_sections(results: tuple[str, bool], documents: tuple[str, bool]) -> list[Issue]:
    """The information issues for a record with results or study documents (named as the reader's source names
    them): neither is mapped to FHIR."""
    out = []
    if results[1]:
        out.append(Issue("information", results[0], "results are not mapped to FHIR (hasResults is)", "not-supported"))
    if documents[1]:
        out.append(Issue("information", documents[0], "study documents are not mapped", "not-supported"))
    return out


def keep_unmapped(trial: Trial, issues: list[Issue], path: str, value: Any) -> None:
    """Keep a value no step read in ``Trial.unmapped`` (text as given, anything else as JSON), with a warning."""
    trial.unmapped[path] = value if isinstance(value, str) else orjson.dumps(value).decode()
    issues.append(warning(path, NOT_MAPPED, "not-supported"))


class JsonReader:
    """Typed access to one JSON study by dotted paths (``a.b[2].c``): a value of the wrong type is reported and
    left for ``Trial.unmapped``; every path read is remembered (``used``, ``seen``). Each accessor has an ``_at``
    form that takes the value already found (``JsonObject`` reads its own dict: no walk from the root per field).
    A field asked for but not there is not remembered: the unmapped-field walk goes through the values that are
    there."""

    def __init__(
        self,
        study: dict[str, Any],
        source: Source,
        limits: Limits,
        criteria_text: Callable[[str], str],
    ) -> None:
        self.study = study
        self.source = source
        self.limits = limits
        self.criteria_text = criteria_text  # the criteria text as split into items
        self.issues: list[Issue] = []
        self.used: set[str] = set()  # values consumed
        self.seen: set[str] = set()  # objects and lists looked into (a rejected object is seen, not used)
        self.nct_id: str | None = None

    # -- typed access -------------------------------------------------------------------------------------------
    def node(self, path: str) -> Any:
        """The value at a dotted path with list indices (``a.b[2].c``), or None."""
        cur: Any = self.study
        for name, i in _steps(path):
            if not isinstance(cur, dict):
                return None
            cur = cur.get(name)
            if i >= 0:
                cur = cur[i] if isinstance(cur, list) and i < len(cur) else None
        return cur

    def warn(self, path: str, message: str) -> None:
        self.issues.append(warning(path, message))

    def text(self, path: str) -> str | None:
        return self.text_at(path, self.node(path))

    def noted(self, path: str, value: Any) -> bool:
        """Whether there is a ``value`` at ``path``; its path is then remembered as read (``used``)."""
        if value is None:
            return False
        self.used.add(path)
        return True

    def text_at(self, path: str, value: Any) -> str | None:
        if not self.noted(path, value):
            return None
        if isinstance(value, str):  # the common case first (same result as below)
            return value.strip() or None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.warn(path, f"expected text, got {type(value).__name__}; value kept in unmapped")
            self.used.discard(path)
            return None
        text = str(value).strip()
        return text or None

    def flag(self, path: str) -> bool | None:
        return self.flag_at(path, self.node(path))

    def flag_at(self, path: str, value: Any) -> bool | None:
        if not self.noted(path, value):
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and (flag := yes_no(value)) is not None:
            return flag
        self.warn(path, f"expected a boolean, got {type(value).__name__}; value kept in unmapped")
        self.used.discard(path)
        return None

    def items(self, path: str) -> list[tuple[str, Any]]:
        """The elements of a list with their own paths (``path[3]``); a non-list is reported, a list over
        ``limits.max_list_items`` raises ``LimitExceeded`` (every list-valued field is read here)."""
        return self.items_at(path, self.node(path))

    def items_at(self, path: str, value: Any) -> list[tuple[str, Any]]:
        if not self.noted(path, value):
            return []
        if not isinstance(value, list):
            self.warn(path, f"expected a list, got {type(value).__name__}; value kept in unmapped")
            self.used.discard(path)
            return []
        check_items(len(value), path, self.limits.max_list_items, self.source, self.nct_id)
        self.seen.add(path)
        return [(f"{path}[{i}]", v) for i, v in enumerate(value)]

    def texts(self, path: str) -> list[str]:
        return self.texts_at(path, self.node(path))

    def texts_at(self, path: str, value: Any) -> list[str]:
        out = []
        for p, v in self.items_at(path, value):
            if isinstance(v, str):
                self.used.add(p)
                if v.strip():
                    out.append(v.strip())
            elif v is not None:
                self.warn(p, f"expected text, got {type(v).__name__}; value kept in unmapped")
        return out

    def objects(self, path: str) -> list[JsonObject]:
        return self.objects_at(path, self.node(path))

    def objects_at(self, path: str, value: Any) -> list[JsonObject]:
        out = []
        for p, v in self.items_at(path, value):
            if isinstance(v, dict):
                out.append(JsonObject(self, p, v))
            else:
                self.warn(p, f"expected an object, got {type(v).__name__}; value kept in unmapped")
        return out

    def sub(self, path: str) -> JsonObject | None:
        return self.sub_at(path, self.node(path))

    def module(self, path: str) -> JsonObject:
        """The object at ``path`` (a module) to read fields of, each as ``node`` finds it below ``path`` but without a
        walk from the root per field; when there is no object there, an empty view (its fields are absent) that
        leaves the value to the unmapped-field walk."""
        value = self.node(path)
        return JsonObject(self, path, value) if isinstance(value, dict) else JsonObject(self, path, {}, remember=False)

    def sub_at(self, path: str, value: Any) -> JsonObject | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.warn(path, f"expected an object, got {type(value).__name__}; value kept in unmapped")
            return None
        return JsonObject(self, path, value)

    def code(self, axis: str, path: str) -> str | None:
        return self.code_at(axis, path, self.node(path))

    def code_at(self, axis: str, path: str, value: Any) -> str | None:
        raw = self.text_at(path, value)
        return None if raw is None else code_or_given(axis, raw, path, self.issues)

    def codes(self, axis: str, path: str) -> list[str]:
        return [code for p, v in self.items(path) if (code := self.code_at(axis, p, v))]

    def date(self, path: str) -> DateInfo | None:
        return _date_of(self.sub(path))


def _date_of(sub: JsonObject | None) -> DateInfo | None:
    """A date struct (``{"date": ..., "type": ...}``) as ``DateInfo``."""
    if sub is None:
        return None
    date = sub.text("date")
    if date is None:
        return None
    return DateInfo(date=date, type=sub.code("date-type", "type"))


@lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[tuple[str, int], ...]:
    """The steps of a dotted path: each key with the list index after it (-1: none). Cached: the readers ask for
    the same paths in every record."""
    out = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        out.append((name, int(index.rstrip("]")) if index else -1))
    return tuple(out)


class JsonObject:
    """A view of one nested object, sharing the reader's issue list and used-field bookkeeping. Its fields are read
    from ``data`` (the value the reader finds at ``path``; ``remember``: False for an empty view of no object)."""

    __slots__ = ("data", "path", "reader")

    def __init__(self, reader: JsonReader, path: str, data: dict[str, Any], remember: bool = True) -> None:
        self.reader, self.path, self.data = reader, path, data
        if remember:
            reader.used.add(path)  # the object itself; its unread children are still reported
            reader.seen.add(path)

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}"

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if type(value) is str:  # the common case, as ``text_at`` reads it (without the call)
            self.reader.used.add(f"{self.path}.{key}")
            return value.strip() or None
        if value is None:  # (no path built)
            return None
        return self.reader.text_at(f"{self.path}.{key}", value)

    def flag(self, key: str) -> bool | None:
        return self.reader.flag_at(f"{self.path}.{key}", self.data.get(key))

    def texts(self, key: str) -> list[str]:
        return self.reader.texts_at(f"{self.path}.{key}", self.data.get(key))

    def code(self, axis: str, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:  # (no path built)
            return None
        return self.reader.code_at(axis, f"{self.path}.{key}", value)

    def sub(self, key: str) -> JsonObject | None:
        return self.reader.sub_at(f"{self.path}.{key}", self.data.get(key))

    def date(self, key: str) -> DateInfo | None:
        return _date_of(self.sub(key))

    def items(self, key: str) -> list[tuple[str, Any]]:
        return self.reader.items_at(f"{self.path}.{key}", self.data.get(key))

    def codes(self, axis: str, key: str) -> list[str]:
        reader = self.reader
        return [code for p, v in self.items(key) if (code := reader.code_at(axis, p, v))]

    def objects(self, key: str) -> list[JsonObject]:
        return self.reader.objects_at(f"{self.path}.{key}", self.data.get(key))

    def number(self, key: str, bound: float) -> float | None:
        """A number from -bound to bound (coordinates); anything else is reported and kept in unmapped."""
        value = self.data.get(key)
        if not self.reader.noted(self._p(key), value):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.reader.warn(self._p(key), f"expected a number, got {type(value).__name__}")
            self.reader.used.discard(self._p(key))
            return None
        if not -bound <= value <= bound:
            self.reader.warn(self._p(key), f"expected a number from -{bound:g} to {bound:g}; value kept in unmapped")
            self.reader.used.discard(self._p(key))
            return None
        return float(value)

    def count(self, key: str) -> int | None:
        """An integer field (FHIR unsignedInt, 0 .. 2^31-1); anything else is reported and kept in unmapped."""
        value = self.data.get(key)
        if not self.reader.noted(self._p(key), value):
            return None
        count = unsigned_int(value)
        if count is None:
            kind = (
                "number out of range or not whole"
                if isinstance(value, int | float) and not isinstance(value, bool)
                else type(value).__name__
            )
            self.reader.warn(self._p(key), f"expected a whole number 0..2147483647, got {kind}; value kept in unmapped")
            self.reader.used.discard(self._p(key))
        return count


def indexed_records(doc: Any, path: str, expected: str) -> Iterator[tuple[int | None, Any]]:
    """The records of a parsed JSON document that is not a search page: the elements of a list (with their
    index), or the document itself (index None); ``SourceError`` for anything else."""
    if isinstance(doc, list):
        yield from enumerate(doc)
    elif isinstance(doc, dict):
        yield None, doc
    else:
        raise SourceError(f"expected {expected}, got {type(doc).__name__}", path=path)


def collect_json_unmapped(
    doc: dict[str, Any],
    trial: Trial,
    issues: list[Issue],
    *,
    seen: Callable[[str], bool],
    used: Callable[[str], bool],
    ignored: frozenset[str],
) -> None:
    """Every value of a JSON study that no step read is kept (``keep_unmapped``). The walk goes into sections and
    modules and into the objects and lists a step looked into (``seen``); anything else not ``used`` is kept
    whole."""

    def is_ignored(path: str) -> bool:
        return path in ignored or any(path.startswith((p + ".", p + "[")) for p in ignored)

    def walk(path: str, node: Any, plain: bool) -> None:
        # ``plain``: no key on the way here holds "." or "[", so the only paths an ignored prefix can match are
        # this path's ancestors, already found not ignored: a set look-up decides (the full test otherwise)
        if node in _EMPTY or (path in ignored if plain else is_ignored(path)):
            return
        known = seen(path) or (path.count(".") < 2 and "[" not in path)
        if isinstance(node, dict) and known:
            for k, v in node.items():
                child = f"{path}.{k}" if path else k
                # a used scalar is never kept (the common case: decided here, without a call)
                if not isinstance(v, _CONTAINERS) and used(child):
                    continue
                walk(child, v, plain and "." not in k and "[" not in k)
        elif isinstance(node, list) and known:
            for i, v in enumerate(node):
                child = f"{path}[{i}]"
                if not isinstance(v, _CONTAINERS) and used(child):
                    continue
                walk(child, v, plain)
        elif not used(path):
            keep_unmapped(trial, issues, path, node)

    walk("", doc, True)


_CONTAINERS = (dict, list)  # the JSON values that hold other values
