"""What the ClinicalTrials.gov readers (API v2 and v1 JSON, legacy XML) share: reading a registry value (a code, a
yes/no flag) with the warning each reader gives when it cannot, and keeping what no step reads.

Every field a reader does not map is kept verbatim in ``Trial.unmapped`` with a warning ``Issue`` (the mapper
writes it to ``ResearchStudy.note``, https://hl7.org/fhir/R5/researchstudy.html); docs/architecture.md has the
reader layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import orjson

from fhir_adapter import terminology
from fhir_adapter.issues import Issue
from fhir_adapter.model import Trial

NOT_MAPPED = "field not mapped to FHIR; kept as text (ResearchStudy.note)"

# Registry yes/no wording: "Yes"/"No" (legacy XML, API v1), JSON-ish "true"/"false"; healthy volunteers also say
# "Accepts Healthy Volunteers" (legacy XML, API v1).
_YES = frozenset({"yes", "true"})
_NO = frozenset({"no", "false"})
HEALTHY_YES = frozenset({"accepts healthy volunteers"})

_SAMPLING_SEPARATORS = re.compile(r"[\s\-]+")


def warning(location: str, message: str, code: str = "value") -> Issue:
    return Issue("warning", location, message, code)


def yes_no(raw: str, also_yes: Collection[str] = ()) -> bool | None:
    """A registry yes/no value as a boolean; None when it is neither."""
    low = raw.strip().lower()
    if low in _YES or low in also_yes:
        return True
    if low in _NO:
        return False
    return None


def code_or_given(axis: str, raw: str, location: str, issues: list[Issue]) -> str:
    """The v2 token of a code in any registry spelling (``terminology.normalize``); an unknown code is kept as
    given, with a warning."""
    token = terminology.normalize(axis, raw)
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


def keep_unmapped(trial: Trial, issues: list[Issue], path: str, value: Any, note: str = NOT_MAPPED) -> None:
    """Keep a value no step read in ``Trial.unmapped`` (text as given, anything else as JSON), with a warning."""
    trial.unmapped[path] = value if isinstance(value, str) else orjson.dumps(value).decode()
    issues.append(warning(path, note, "not-supported"))


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

    def walk(path: str, node: Any) -> None:
        if node in (None, "", [], {}) or is_ignored(path):
            return
        known = seen(path) or (path.count(".") < 2 and "[" not in path)
        if isinstance(node, dict) and known:
            for k, v in node.items():
                walk(f"{path}.{k}" if path else k, v)
        elif isinstance(node, list) and known:
            for i, v in enumerate(node):
                walk(f"{path}[{i}]", v)
        elif not used(path):
            keep_unmapped(trial, issues, path, node)

    walk("", doc)
