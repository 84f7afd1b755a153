"""What push, staged push and pull share: the trial bundle to send (:class:`TrialBundle`), its entries with their
``PUT`` requests (:func:`prepare`), the results (:class:`PushResult`, :class:`PushSummary`, :class:`EntryIssue`),
and the reference and OperationOutcome helpers.

Every entry gets a request that finds the resource again (``fhir_adapter.bundle.transaction_request``):
``PUT ResearchStudy?identifier=...``, ``PUT Type?url=<canonical>`` (sent without ``id``), else ``PUT Type/<id>``.
https://hl7.org/fhir/R5/http.html#cond-update
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from fhir_adapter.bundle import transaction_request
from fhir_adapter.sinks.server.auth import redact

__all__ = [
    "PUSH_MODES",
    "EntryIssue",
    "Prepared",
    "PushResult",
    "PushSummary",
    "TrialBundle",
    "canonicals_of",
    "entry_status",
    "issue_text",
    "issues_from",
    "location_of",
    "nct_of",
    "prepare",
    "refs_of",
    "request_text",
    "type_id",
    "walk_refs",
]

PUSH_MODES = ("transaction", "batch", "resource")
_TYPE_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_STATUS = re.compile(r"\d{3}")
# The canonical elements pull follows (a PlanDefinition action's ActivityDefinition, R4 and R5):
# https://hl7.org/fhir/R5/plandefinition-definitions.html#PlanDefinition.action.definition_x_
CANONICAL_KEYS = frozenset({"definitionCanonical"})


@dataclass(slots=True)
class TrialBundle:
    """One trial's resources, ready to be pushed: entries with ``fullUrl`` and ``resource``."""

    nct_id: str
    source: str
    entries: list[dict[str, Any]]


@dataclass(slots=True)
class EntryIssue:
    """One server OperationOutcome issue, tied to the trial and the entry it is about (when the server says)."""

    nct_id: str | None
    entry: int | None  # index in the trial's own bundle
    request: str  # "PUT ResearchStudy?identifier=..."
    severity: str
    message: str

    def __str__(self) -> str:
        where = " ".join(
            p for p in (self.nct_id, f"entry[{self.entry}]" if self.entry is not None else "", self.request) if p
        )
        return f"{where}: {self.severity}: {self.message}" if where else f"{self.severity}: {self.message}"


@dataclass(slots=True)
class PushResult:
    """What became of one chunk (transaction/batch mode) or one trial."""

    nct_ids: list[str]
    ok: bool
    resources: int = 0
    created: int = 0
    updated: int = 0  # 200: updated or unchanged (servers do not say which)
    requests: int = 0
    issues: list[EntryIssue] = field(default_factory=list)
    failed_trials: set[str] = field(default_factory=set)
    verified: set[str] = field(default_factory=set)  # pushed, as a read-back after a lost response proved
    read_back: int = 0  # trials read back
    stop: str | None = None  # why the push must stop after this chunk


@dataclass(slots=True)
class PushSummary:
    """The whole push: ``pushed + failed + len(not_attempted)`` is every trial of the input."""

    trials: int = 0  # trials sent (pushed or failed), inputs that could not be read, mapped or validated not included
    pushed: int = 0
    failed: int = 0  # trials not (fully) pushed, including inputs that could not be read, mapped or validated
    not_attempted: list[str] = field(default_factory=list)  # NCT ids never sent: the push stopped before them
    stopped: str | None = None  # why the push stopped early
    verified: int = 0  # of the pushed: proved by a read-back after a lost response
    read_back: int = 0  # trials read back after a lost response
    retries: int = 0  # retries the client really made (HTTP 429/5xx answers, connection and read errors)
    resources: int = 0
    created: int = 0
    updated: int = 0
    requests: int = 0
    input_errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Prepared:
    """One trial's entries with requests: ``fullUrl`` (urn:uuid), resource, request, and the literal ``Type/id``
    when it is known before sending (``PUT Type/id`` entries)."""

    nct_id: str
    entries: list[dict[str, Any]]
    literal: dict[str, str]  # fullUrl -> Type/id for PUT Type/id entries


def nct_of(resource: dict[str, Any]) -> str | None:
    """The NCT id among a ResearchStudy's identifiers (system ``https://clinicaltrials.gov``)."""
    from fhir_adapter.terminology import system

    nct = system("nct")
    return next((i.get("value") for i in resource.get("identifier", []) if i.get("system") == nct), None)


def _conditional_request(resource: dict[str, Any]) -> tuple[str, bool]:
    """(request url, keeps its id) for one resource: ``bundle.transaction_request``, with a fresh id for a
    resource that has neither a business key nor an id (bundles written by other tools)."""
    if not resource.get("id"):
        resource["id"] = str(uuid.uuid4())
    return transaction_request(resource)


def walk_refs(node: Any, fn: Callable[[str], str | None]) -> None:
    """Replace every ``reference`` string for which ``fn`` gives a new value."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                new = fn(v)
                if new is not None:
                    node[k] = new
            else:
                walk_refs(v, fn)
    elif isinstance(node, list):
        for v in node:
            walk_refs(v, fn)


def refs_of(node: Any) -> list[str]:
    """Every ``reference`` string in ``node``, in document order."""
    found: list[str] = []

    def take(v: str) -> str | None:
        found.append(v)
        return None

    walk_refs(node, take)
    return found


def canonicals_of(node: Any) -> list[str]:
    """Every canonical URL in ``node`` under a key of :data:`CANONICAL_KEYS` (``definitionCanonical``), in document
    order, without its ``|version`` (https://hl7.org/fhir/R5/references.html#canonical)."""
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for k, v in item.items():
                if k in CANONICAL_KEYS and isinstance(v, str) and v:
                    found.append(v.partition("|")[0])
                else:
                    walk(v)
        elif isinstance(item, list):
            for v in item:
                walk(v)

    walk(node)
    return found


def prepare(trial: TrialBundle) -> Prepared:
    """The trial's entries with ``PUT`` requests, ``urn:uuid`` fullUrls and references rewritten to them."""
    entries: list[dict[str, Any]] = []
    rename: dict[str, str] = {}
    for e in trial.entries:
        resource = orjson.loads(orjson.dumps(e["resource"]))  # a copy we may change
        old = e.get("fullUrl") or ""
        full = old if old.startswith("urn:uuid:") else f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, old or str(id(e)))}"
        if old:
            rename[old] = full
        if resource.get("id"):
            rename[f"{resource['resourceType']}/{resource['id']}"] = full
        resource.pop("meta", None)
        entries.append({"fullUrl": full, "resource": resource})
    literal: dict[str, str] = {}
    for e in entries:
        resource = e["resource"]
        url, keeps_id = _conditional_request(resource)
        if keeps_id:
            literal[e["fullUrl"]] = url
        else:
            resource.pop("id", None)
        e["request"] = {"method": "PUT", "url": url}
        walk_refs(resource, lambda v: rename.get(v) or rename.get(type_id(v) or ""))
    return Prepared(trial.nct_id, entries, literal)


def type_id(ref: str) -> str | None:
    """The ``Type/id`` a literal reference (relative, absolute or versioned) points at; None for other references."""
    m = _TYPE_ID.search(ref.split("?")[0])
    return f"{m.group(1)}/{m.group(2)}" if m else None


def location_of(entry: dict[str, Any]) -> str | None:
    """The ``Type/id`` of a transaction/batch response entry's ``response.location``."""
    loc = entry.get("response", {}).get("location") or ""
    return type_id(loc) if loc else None


def entry_status(entry: dict[str, Any]) -> int:
    """The HTTP status code of a transaction/batch response entry (``response.status`` "201 Created"), else 0."""
    text = str(entry.get("response", {}).get("status", "")).strip()
    m = _STATUS.match(text)
    return int(m.group(0)) if m else 0


def request_text(entry: dict[str, Any]) -> str:
    """``METHOD url`` of a bundle entry's request."""
    r = entry.get("request", {})
    return f"{r.get('method', '')} {r.get('url', '')}".strip()


def issues_from(outcome: Any) -> list[dict[str, Any]]:
    """The issues of an OperationOutcome (https://hl7.org/fhir/R5/operationoutcome.html); [] for anything else."""
    if isinstance(outcome, dict) and outcome.get("resourceType") == "OperationOutcome":
        return [i for i in outcome.get("issue", []) if isinstance(i, dict)]
    return []


def issue_text(issue: dict[str, Any]) -> str:
    """One OperationOutcome issue in one line: ``[code] diagnostics at expression``, secrets masked."""
    details = issue.get("details", {}).get("text") if isinstance(issue.get("details"), dict) else None
    text = " ".join(str(issue.get("diagnostics") or details or issue.get("code") or "").split())
    where = issue.get("expression") or issue.get("location") or []
    code = issue.get("code")
    parts = [f"[{code}]" if code else "", text, f"at {', '.join(map(str, where))}" if where else ""]
    return redact(" ".join(p for p in parts if p))
