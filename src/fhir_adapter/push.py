"""Push trials to a FHIR server: :func:`push_paths`, :func:`push_bundles` (re-exported by ``fhir_adapter.client``).

Converted bundles (collection or transaction, any origin) or raw inputs (anything ``convert`` reads, mapped on the
fly with ``to_bundle(trial, fhir_version)``). Every entry gets a request that finds the resource again:
``PUT ResearchStudy?identifier=https://clinicaltrials.gov|NCT...`` and ``PUT Type?url=<canonical>`` (the resource
sent without ``id``: the server keeps its own), else ``PUT Type/<id>`` with the deterministic uuid5 id (a
conditional ``?_id=`` is refused by HAPI when it would create, and Medplum refuses a conditional create whose body
has an id). So pushing twice creates nothing new and a changed trial is updated in place (new versionId); a push
that stopped half-way is completed by running it again.

- ``mode="transaction"``: one transaction per chunk of ``batch_size`` trials, atomic; a failure names the entry
  (trial NCT id, entry index in the trial's bundle, request) from the OperationOutcome's ``Bundle.entry[i]``.
- ``mode="batch"``: entries independent. A batch cannot carry ``urn:uuid`` references between its entries and its
  entries may be processed in any order, so it goes in rounds, one batch request each: first the entries that
  reference nothing (Organization, Practitioner, Location, EvidenceVariable, PlanDefinition), then those whose
  targets are written (PractitionerRole), then the ResearchStudy, references made literal ``Type/id`` with the ids
  the server answered. Two or three requests per chunk.
- ``mode="resource"``: one request per resource, in the same dependency order (benchmarks).

**Accounting**: every trial ends in exactly one of three states, counted by :class:`PushSummary`:
*pushed* (the server answered success, or a read-back proved it holds what was sent), *failed* (with the reason:
the server's OperationOutcome, the transport error and what the read-back found, or an input that could not be
read or mapped) or *not attempted* (the push stopped before sending it; the reason is ``PushSummary.stopped``).
A failed chunk does not stop the others. What stops the push: credentials refused (HTTP 401/403), the client's
circuit breaker opening (the server has gone away: see ``fhir_adapter.client``), or the version check failing.

**Lost responses**: when a transaction got no HTTP answer (connection reset, read timeout, after the retries of
``fhir_adapter.client``), the server may have committed it. Before calling a trial failed, every entry is read back
(``GET ResearchStudy?identifier=...``, ``GET Type?url=...``, ``GET Type?_id=...``): the trial is pushed when each
search finds exactly one resource whose content, ``id`` and ``meta`` aside and references resolved to the
resources read back, is what was sent. A transaction is atomic, and this content is what the push had to leave on
the server, so it proves the write landed (this one or an earlier identical one; both end in the same state).
Anything absent, duplicated or different makes the trial failed, with what was found.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from fhir_adapter._http import FhirTransportError
from fhir_adapter.auth import redact
from fhir_adapter.bundle import transaction_request
from fhir_adapter.errors import FhirAdapterError, FhirAuthError, FhirServerError

if TYPE_CHECKING:
    from fhir_adapter.client import FhirClient

__all__ = [
    "PUSH_MODES",
    "EntryIssue",
    "PushResult",
    "PushSummary",
    "TrialBundle",
    "bundles_from_paths",
    "prepare",
    "push_bundles",
    "push_paths",
    "read_back",
]

log = logging.getLogger(__name__)

PUSH_MODES = ("transaction", "batch", "resource")
_ENTRY_INDEX = re.compile(r"[Ee]ntry\[(\d+)\]")
_TYPE_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


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

    trials: int = 0  # trials sent (pushed or failed), inputs that could not be read or mapped not included
    pushed: int = 0
    failed: int = 0  # trials not (fully) pushed, including inputs that could not be read or mapped
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


class _Stop:
    """Set when the push stops: from then on the inputs are only listed (not mapped) as not attempted."""

    reason: str | None = None


def _nct_of(resource: dict[str, Any]) -> str | None:
    from fhir_adapter.terminology import system

    nct = system("nct")
    return next((i.get("value") for i in resource.get("identifier", []) if i.get("system") == nct), None)


def _is_bundle_file(path: Path) -> dict[str, Any] | None:
    if path.suffix.lower() != ".json":
        return None
    try:
        with path.open("rb") as f:
            head = f.read(4096)
        if b'"Bundle"' not in head:
            return None
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("resourceType") == "Bundle" else None


def bundles_from_paths(
    paths: Iterable[str | Path], fhir_version: str, errors: list[str], names_only: Callable[[], bool] | None = None
) -> Iterator[TrialBundle]:
    """The trial bundles of the inputs: FHIR Bundle files as they are, other inputs read and mapped with
    ``to_bundle(trial, fhir_version)``. Unreadable / unmappable records are appended to ``errors`` (one line).
    While ``names_only()`` is true, records are not mapped: their bundles have no entries (listing what was not
    pushed must not cost a conversion)."""
    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.sources import input_files, read_records

    for path in input_files(paths):
        bundle = _is_bundle_file(path)
        if bundle is not None:
            studies = [
                e["resource"]
                for e in bundle.get("entry", [])
                if isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == "ResearchStudy"
            ]
            nct = _nct_of(studies[0]) if len(studies) == 1 else None
            if nct is None:
                errors.append(
                    f"{path}: a trial bundle needs exactly one ResearchStudy with an NCT id (found {len(studies)})"
                )
                continue
            yield TrialBundle(
                nct, str(path), [e for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
            )
            continue
        for record in read_records([path]):
            where = record.source.path + (f"#{record.source.index}" if record.source.index is not None else "")
            if record.error is not None:
                errors.append(record.error.describe())
                continue
            assert record.trial is not None
            if names_only is not None and names_only():
                yield TrialBundle(record.trial.nct_id or "", where, [])
                continue
            try:
                b = to_bundle(record.trial, fhir_version, "collection")
            except FhirAdapterError as e:
                errors.append(f"{where} {record.trial.nct_id or ''}: cannot map to FHIR {fhir_version}: {e}")
                continue
            yield TrialBundle(record.trial.nct_id or "", where, b["entry"])


@dataclass(slots=True)
class _Prepared:
    """One trial's entries with requests: ``fullUrl`` (urn:uuid), resource, request, and the literal ``Type/id``
    when it is known before sending (``PUT Type/id`` entries)."""

    nct_id: str
    entries: list[dict[str, Any]]
    literal: dict[str, str]  # fullUrl -> Type/id for PUT Type/id entries


def _conditional_request(resource: dict[str, Any]) -> tuple[str, bool]:
    """(request url, keeps its id) for one resource: ``bundle.transaction_request``, with a fresh id for a
    resource that has neither a business key nor an id (bundles written by other tools)."""
    if not resource.get("id"):
        resource["id"] = str(uuid.uuid4())
    return transaction_request(resource)


def _walk_refs(node: Any, fn: Callable[[str], str | None]) -> None:
    """Replace every ``reference`` string for which ``fn`` gives a new value."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str):
                new = fn(v)
                if new is not None:
                    node[k] = new
            else:
                _walk_refs(v, fn)
    elif isinstance(node, list):
        for v in node:
            _walk_refs(v, fn)


def _refs_of(node: Any) -> list[str]:
    found: list[str] = []

    def take(v: str) -> str | None:
        found.append(v)
        return None

    _walk_refs(node, take)
    return found


def prepare(trial: TrialBundle) -> _Prepared:
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
        _walk_refs(resource, lambda v: rename.get(v) or rename.get(_type_id(v) or ""))
    return _Prepared(trial.nct_id, entries, literal)


def _type_id(ref: str) -> str | None:
    m = _TYPE_ID.search(ref.split("?")[0])
    return f"{m.group(1)}/{m.group(2)}" if m else None


def _location(entry: dict[str, Any]) -> str | None:
    loc = entry.get("response", {}).get("location") or ""
    return _type_id(loc) if loc else None


def _status(entry: dict[str, Any]) -> int:
    text = str(entry.get("response", {}).get("status", "")).strip()
    m = re.match(r"\d{3}", text)
    return int(m.group(0)) if m else 0


def _issues_from(outcome: Any) -> list[dict[str, Any]]:
    if isinstance(outcome, dict) and outcome.get("resourceType") == "OperationOutcome":
        return [i for i in outcome.get("issue", []) if isinstance(i, dict)]
    return []


def push_bundles(
    client: FhirClient,
    trials: Iterable[TrialBundle],
    *,
    mode: str = "transaction",
    batch_size: int = 1,
    on_result: Callable[[PushResult], None] | None = None,
    on_not_attempted: Callable[[str, str], None] | None = None,
    _stop: _Stop | None = None,
) -> PushSummary:
    """Push trial bundles in chunks of ``batch_size`` trials (see the module docstring for the modes and the
    accounting). ``on_not_attempted(nct_id, reason)`` is called for each trial left out after the push stopped."""
    if mode not in PUSH_MODES:
        raise ValueError(f"push mode {mode!r} is not supported (use {', '.join(PUSH_MODES)})")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    stop = _stop or _Stop()
    summary = PushSummary()
    retries_before = client.breaker.retries
    pending = iter(trials)
    try:
        client.check_version()
    except FhirServerError as e:  # refused, unreachable or the wrong FHIR release: nothing is sent
        summary.stopped = stop.reason = e.message
    chunk: list[_Prepared] = []
    while summary.stopped is None:
        trial = next(pending, None)
        if trial is not None:
            chunk.append(prepare(trial))
        if chunk and (trial is None or len(chunk) >= batch_size):
            _account(summary, _push_chunk(client, chunk, mode), on_result)
            chunk = []
            stop.reason = summary.stopped
        if trial is None:
            break
    if summary.stopped is not None:
        for trial in pending:
            summary.not_attempted.append(trial.nct_id)
            if on_not_attempted is not None:
                on_not_attempted(trial.nct_id, summary.stopped)
    summary.retries = client.breaker.retries - retries_before
    return summary


def _push_chunk(client: FhirClient, chunk: list[_Prepared], mode: str) -> PushResult:
    """One chunk's result; credentials refused or the circuit breaker open make it failed and stop the push."""
    ids = [p.nct_id for p in chunk]
    from fhir_adapter.push_staged import push_staged

    try:
        result = _push_transaction(client, chunk) if mode == "transaction" else push_staged(client, chunk, mode)
    except FhirAuthError as e:
        result = PushResult(
            ids,
            False,
            requests=1,
            failed_trials=set(ids),
            stop=e.message,
            issues=[EntryIssue(None if len(chunk) > 1 else ids[0], None, "", "error", e.message)],
        )
    if result.stop is None and client.breaker.reason is not None:
        result.stop = client.breaker.reason
    return result


def _account(summary: PushSummary, result: PushResult, on_result: Callable[[PushResult], None] | None) -> None:
    summary.trials += len(result.nct_ids)
    summary.failed += len(result.failed_trials)
    summary.pushed += len(result.nct_ids) - len(result.failed_trials)
    summary.verified += len(result.verified)
    summary.read_back += result.read_back
    summary.resources += result.resources
    summary.created += result.created
    summary.updated += result.updated
    summary.requests += result.requests
    summary.stopped = summary.stopped or result.stop
    if on_result is not None:
        on_result(result)


def push_paths(
    client: FhirClient,
    paths: Iterable[str | Path],
    *,
    mode: str = "transaction",
    batch_size: int = 1,
    on_result: Callable[[PushResult], None] | None = None,
    on_input_error: Callable[[str], None] | None = None,
    on_not_attempted: Callable[[str, str], None] | None = None,
) -> PushSummary:
    """Read/convert the inputs and push them; unreadable or unmappable records count as failed trials. After the
    push stopped, the rest of the inputs is read only to list its trials as not attempted (not mapped)."""
    errors: list[str] = []
    stop = _Stop()

    def trials() -> Iterator[TrialBundle]:
        for t in bundles_from_paths(paths, client.fhir_version, errors, names_only=lambda: stop.reason is not None):
            _report_input_errors()
            yield t
        _report_input_errors()

    reported = 0

    def _report_input_errors() -> None:
        nonlocal reported
        for line in errors[reported:]:
            if on_input_error is not None:
                on_input_error(line)
        reported = len(errors)

    summary = push_bundles(
        client,
        trials(),
        mode=mode,
        batch_size=batch_size,
        on_result=on_result,
        on_not_attempted=on_not_attempted,
        _stop=stop,
    )
    summary.input_errors = errors
    summary.failed += len(errors)
    return summary


def _entry_owner(chunk: list[_Prepared], index: int) -> tuple[_Prepared, int] | None:
    for p in chunk:
        if index < len(p.entries):
            return p, index
        index -= len(p.entries)
    return None


def _request_text(entry: dict[str, Any]) -> str:
    r = entry.get("request", {})
    return f"{r.get('method', '')} {r.get('url', '')}".strip()


def _push_transaction(client: FhirClient, chunk: list[_Prepared]) -> PushResult:
    entries = [e for p in chunk for e in p.entries]
    result = PushResult([p.nct_id for p in chunk], True, requests=1)
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    try:
        reply = client.transaction(bundle)
    except FhirAuthError:
        raise
    except FhirServerError as e:
        if isinstance(e, FhirTransportError) or e.status is None or e.status < 300:
            return _lost(client, chunk, result, e)  # no answer, or an unreadable one: it may have been committed
        result.ok = False
        result.failed_trials = set(result.nct_ids)
        result.issues = _chunk_issues(chunk, e)
        return result
    for answer in reply.get("entry", []):
        status = _status(answer)
        result.created += status == 201
        result.updated += status == 200
    result.resources = len(entries)
    return result


def _lost(client: FhirClient, chunk: list[_Prepared], result: PushResult, error: FhirServerError) -> PushResult:
    """The transaction got no usable answer: each trial is read back before it is called pushed or failed."""
    tls = isinstance(error, FhirTransportError) and error.tls
    for p in chunk:
        if tls:  # the handshake failed: nothing was sent
            verdict = "nothing was sent"
        elif client.breaker.reason is not None:
            verdict = "not read back (the circuit breaker is open): the server's state is unknown; push again"
        else:
            result.read_back += 1
            gets: list[str] = []
            try:
                present, found = read_back(client, p, gets)
                verdict = f"read back: {found}"
            except FhirServerError as e:
                present, verdict = False, f"could not be read back ({e.message}): the server's state is unknown"
            result.requests += len(gets)
            if present:
                result.verified.add(p.nct_id)
                result.resources += len(p.entries)
                continue
        result.failed_trials.add(p.nct_id)
        result.issues.append(EntryIssue(p.nct_id, None, "", "error", f"{error.message}; {verdict}"))
    result.ok = not result.failed_trials
    return result


def read_back(client: FhirClient, p: _Prepared, gets: list[str] | None = None) -> tuple[bool, str]:
    """(whether the server holds exactly what ``p`` sends, what was found): each entry searched by the key its
    request writes it under, then compared, ``id`` and ``meta`` aside, references resolved to what was read back.
    The searches made are appended to ``gets``."""
    stored: dict[str, dict[str, Any]] = {}
    for e in p.entries:
        rtype, url = e["resource"]["resourceType"], e["request"]["url"]
        search = url if "?" in url else f"{rtype}?_id={url.partition('/')[2]}"
        if gets is not None:
            gets.append(search)
        page = client.json("GET", search)
        found = (
            [
                x["resource"]
                for x in page.get("entry", [])
                if isinstance(x.get("resource"), dict) and x["resource"].get("resourceType") == rtype
            ]
            if isinstance(page, dict)
            else []
        )
        if len(found) != 1:
            return False, f"{_request_text(e)}: {'absent' if not found else f'{len(found)} matches'} on the server"
        stored[e["fullUrl"]] = found[0]
    where = {full: f"{r['resourceType']}/{r.get('id')}" for full, r in stored.items()}
    for e in p.entries:
        sent = orjson.loads(orjson.dumps(e["resource"]))
        _walk_refs(sent, lambda v: where.get(v))
        if _content(sent) != _content(stored[e["fullUrl"]]):
            return False, f"{_request_text(e)}: the server holds other content"
    return True, "every resource is on the server as sent"


def _content(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("id", "meta")}


def _chunk_issues(chunk: list[_Prepared], error: FhirServerError) -> list[EntryIssue]:
    """The server's issues, each tied to its trial and entry when the OperationOutcome names ``entry[i]``."""
    if not error.issues:
        return [EntryIssue(None if len(chunk) > 1 else chunk[0].nct_id, None, "", "error", error.message)]
    out = []
    for issue in error.issues:
        where: list[Any] = [*(issue.get("expression") or []), *(issue.get("location") or [])]
        text = " ".join(str(x) for x in (*where, issue.get("diagnostics", "")))
        m = _ENTRY_INDEX.search(text)
        owner = _entry_owner(chunk, int(m.group(1))) if m else None
        if owner is not None:
            p, i = owner
            out.append(
                EntryIssue(
                    p.nct_id, i, _request_text(p.entries[i]), str(issue.get("severity", "error")), _issue_text(issue)
                )
            )
        else:
            nct = next((p.nct_id for p in chunk if p.nct_id and p.nct_id in text), None)
            if nct is None and len(chunk) == 1:
                nct = chunk[0].nct_id
            out.append(
                EntryIssue(
                    nct, None, "", str(issue.get("severity", "error")), f"HTTP {error.status}: {_issue_text(issue)}"
                )
            )
    return out


def _issue_text(issue: dict[str, Any]) -> str:
    details = issue.get("details", {}).get("text") if isinstance(issue.get("details"), dict) else None
    text = " ".join(str(issue.get("diagnostics") or details or issue.get("code") or "").split())
    where = issue.get("expression") or issue.get("location") or []
    code = issue.get("code")
    parts = [f"[{code}]" if code else "", text, f"at {', '.join(map(str, where))}" if where else ""]
    return redact(" ".join(p for p in parts if p))
