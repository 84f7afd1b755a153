"""Push trial bundles to a FHIR server: :func:`push_bundles` (re-exported by ``fhir_adapter.sinks.server``).

The bundles come ready (:class:`~fhir_adapter.sinks.server.entries.TrialBundle`): converted, validated bundles
(``fhir_adapter.delivery`` reads, maps and validates raw inputs on the pipeline before they get here). Every entry
gets a request that finds the resource again: ``PUT ResearchStudy?identifier=https://clinicaltrials.gov|NCT...`` and
``PUT Type?url=<canonical>`` (the resource sent without ``id``: the server keeps its own), else ``PUT Type/<id>``
with the deterministic uuid5 id (a conditional ``?_id=`` is refused by HAPI when it would create, and Medplum
refuses a conditional create whose body has an id). So pushing twice creates nothing new and a changed trial is
updated in place (new versionId); a push that stopped half-way is completed by running it again.
https://hl7.org/fhir/R5/http.html#transaction

- ``mode="transaction"``: one transaction per chunk of ``batch_size`` trials, atomic; a failure names the entry
  (trial NCT id, entry index in the trial's bundle, request) from the OperationOutcome's ``Bundle.entry[i]``.
- ``mode="batch"`` and ``mode="resource"``: entries sent in dependency order (``sinks.server.push_staged``).

**Connections** (``connections``, default ``client.connections``; ``fhir-adapter push --connections``): chunks go on
that many requests at once (``sinks.server.push_pool``): never two chunks with a request URL in common at the same
time (no duplicate from two conditional creates, no version conflict), the first chunk alone (refused credentials
or a dead server fail one trial, as on one connection), results reported in input order.

**Accounting**: every trial ends in exactly one of three states, counted by :class:`PushSummary`:
*pushed* (the server answered success, or a read-back proved it holds what was sent), *failed* (with the reason:
the server's OperationOutcome, the transport error and what the read-back found; ``fhir_adapter.delivery`` adds
the inputs that could not be read, mapped or validated) or *not attempted* (the push stopped before sending it; the
reason is ``PushSummary.stopped``). A failed chunk does not stop the others. What stops the push: credentials
refused (HTTP 401/403), the client's circuit breaker opening (the server has gone away: see
``fhir_adapter.sinks.server.client``), or the version check failing.

**Lost responses**: when a transaction got no HTTP answer (connection reset, read timeout, after the retries of
``fhir_adapter.sinks.server.client``), the server may have committed it. Before calling a trial failed, every entry
is read back (``GET ResearchStudy?identifier=...``, ``GET Type?url=...``, ``GET Type?_id=...``): the trial is pushed
when each search finds exactly one resource whose content, ``id`` and ``meta`` aside and references resolved to the
resources read back, is what was sent. A transaction is atomic, and this content is what the push had to leave on
the server, so it proves the write landed (this one or an earlier identical one; both end in the same state).
Anything absent, duplicated or different makes the trial failed, with what was found.

**Definitions** (``definitions=True``): before each chunk, the published CodeSystems, ValueSets and extension
StructureDefinitions its bundles use (:func:`fhir_adapter.definitions.definitions_used`, of the server's release) that
this push has not sent yet go in one transaction of ``PUT <Type>?url=<canonical>`` (idempotent: pushing twice changes
nothing), so that the server knows our codes and extensions before the first resource that uses them; a definition
whose url begins another's is left out (Medplum searches uris by prefix: its conditional PUT would fail). They count
in the summary's resources, created, updated and requests, never as trials; a server that refuses them gets one
``FAILED (definitions)`` issue on the chunk's result, and the trials are pushed all the same.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from fhir_adapter._http import FhirTransportError
from fhir_adapter.errors import FhirAuthError, FhirServerError
from fhir_adapter.sinks.server.entries import (
    PUSH_MODES,
    EntryIssue,
    Prepared,
    PushResult,
    PushSummary,
    TrialBundle,
    entry_status,
    issue_text,
    prepare,
    request_text,
    walk_refs,
)
from fhir_adapter.sinks.server.push_pool import ChunkPool
from fhir_adapter.sinks.server.push_staged import push_staged

if TYPE_CHECKING:
    from fhir_adapter.sinks.server.client import FhirClient

__all__ = ["PushStop", "push_bundles", "read_back"]

_ENTRY_INDEX = re.compile(r"[Ee]ntry\[(\d+)\]")


class PushStop:
    """Set when the push stops (``reason``): a caller feeding the push lazily can stop preparing what will not be
    sent (``fhir_adapter.delivery`` then only lists the rest as not attempted)."""

    reason: str | None = None


def push_bundles(
    client: FhirClient,
    trials: Iterable[TrialBundle],
    *,
    mode: str = "transaction",
    batch_size: int = 1,
    on_result: Callable[[PushResult], None] | None = None,
    on_not_attempted: Callable[[str, str], None] | None = None,
    stop: PushStop | None = None,
    definitions: bool = False,
    connections: int | None = None,
) -> PushSummary:
    """Push trial bundles in chunks of ``batch_size`` trials (see the module docstring for the modes and the
    accounting). ``on_not_attempted(nct_id, reason)`` is called for each trial left out after the push stopped.
    With ``definitions``, the published definitions each chunk uses are sent before it (module docstring).
    ``connections``: chunks in flight at once (default: ``client.connections``), without races on shared keys and
    with results in input order (``sinks.server.push_pool``)."""
    if mode not in PUSH_MODES:
        raise ValueError(f"push mode {mode!r} is not supported (use {', '.join(PUSH_MODES)})")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    stop = stop or PushStop()
    summary = PushSummary()
    retries_before = client.breaker.retries
    pending = iter(trials)
    try:
        client.check_version()
    except FhirServerError as e:  # refused, unreachable or the wrong FHIR release: nothing is sent
        summary.stopped = stop.reason = e.message
    unsent: list[str] = []  # prepared, then left out: an answer said to stop while the chunk waited
    if summary.stopped is None:
        with ChunkPool(connections or client.connections, lambda chunk: _push_chunk(client, chunk, mode)) as pool:
            unsent = _feed(client, pool, pending, batch_size, summary, stop, definitions, on_result)
        stop.reason = summary.stopped = summary.stopped or pool.stopped
    if summary.stopped is not None:
        for nct_id in [*unsent, *(t.nct_id for t in pending)]:
            summary.not_attempted.append(nct_id)
            if on_not_attempted is not None:
                on_not_attempted(nct_id, summary.stopped)
    summary.retries = client.breaker.retries - retries_before
    return summary


def _feed(
    client: FhirClient,
    pool: ChunkPool,
    pending: Iterator[TrialBundle],
    batch_size: int,
    summary: PushSummary,
    stop: PushStop,
    definitions: bool,
    on_result: Callable[[PushResult], None] | None,
) -> list[str]:
    """Hand the trials to ``pool`` in chunks until they run out or the push stops; the NCT ids of the chunk that
    was prepared but not sent. The definitions a chunk uses are sent (here, on this thread) before it is handed."""
    chunk: list[Prepared] = []
    sent: set[str] | None = set() if definitions else None  # the canonical URLs of the definitions already sent
    while summary.stopped is None and pool.stopped is None:
        trial = next(pending, None)
        if trial is not None:
            chunk.append(prepare(trial))
        if chunk and (trial is None or len(chunk) >= batch_size):
            issues = _push_definitions(client, chunk, sent, summary)
            if not pool.submit(chunk, functools.partial(_done, summary, issues, on_result)):
                return [p.nct_id for p in chunk]
            chunk = []
            stop.reason = summary.stopped or pool.stopped
        if trial is None:
            break
    return [p.nct_id for p in chunk]


def _done(
    summary: PushSummary,
    issues: list[EntryIssue],
    on_result: Callable[[PushResult], None] | None,
    result: PushResult,
) -> None:
    """Account for one chunk's result, the definitions' issues first."""
    if issues:
        result.issues[:0] = issues
        result.ok = False  # said as FAILED (definitions); the trials' own state is in failed_trials
    _account(summary, result, on_result)


def _push_chunk(client: FhirClient, chunk: list[Prepared], mode: str) -> PushResult:
    """One chunk's result; credentials refused or the circuit breaker open make it failed and stop the push."""
    ids = [p.nct_id for p in chunk]
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


def _push_definitions(
    client: FhirClient, chunk: list[Prepared], sent: set[str] | None, summary: PushSummary
) -> list[EntryIssue]:
    """Send the published definitions the chunk uses and ``sent`` lacks (one transaction, conditional PUTs by url),
    counted in ``summary``; the issue saying why when the server refused them (the trials go on regardless)."""
    if sent is None:
        return []
    from fhir_adapter.definitions import definition_urls, definitions_used

    used = definitions_used((e["resource"] for p in chunk for e in p.entries), client.fhir_version)
    urls = definition_urls(client.fhir_version)
    # Medplum searches a uri by prefix: ``CodeSystem?url=https://clinicaltrials.gov`` (the NCT Number system) also
    # finds every ct.gov enum system and the conditional PUT fails (412); such a definition is not pushed.
    wanted = [
        d for d in used if d["url"] not in sent and not any(u.startswith(d["url"]) and u != d["url"] for u in urls)
    ]
    if not wanted:
        return []
    sent.update(d["url"] for d in wanted)
    entries = prepare(TrialBundle("", "definitions", [{"fullUrl": d["url"], "resource": d} for d in wanted])).entries
    summary.requests += 1
    try:
        reply = client.transaction({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    except FhirServerError as e:  # refused credentials included: the chunk's own request then stops the push
        return [EntryIssue(None, None, "(definitions)", "error", f"{len(entries)} definitions not stored: {e.message}")]
    statuses = [entry_status(answer) for answer in reply.get("entry", [])]
    summary.resources += len(entries)
    summary.created += statuses.count(201)
    summary.updated += statuses.count(200)
    return []


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


def _entry_owner(chunk: list[Prepared], index: int) -> tuple[Prepared, int] | None:
    for p in chunk:
        if index < len(p.entries):
            return p, index
        index -= len(p.entries)
    return None


def _push_transaction(client: FhirClient, chunk: list[Prepared]) -> PushResult:
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
        status = entry_status(answer)
        result.created += status == 201
        result.updated += status == 200
    result.resources = len(entries)
    return result


def _lost(client: FhirClient, chunk: list[Prepared], result: PushResult, error: FhirServerError) -> PushResult:
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


def read_back(client: FhirClient, p: Prepared, gets: list[str] | None = None) -> tuple[bool, str]:
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
            return False, f"{request_text(e)}: {'absent' if not found else f'{len(found)} matches'} on the server"
        stored[e["fullUrl"]] = found[0]
    where = {full: f"{r['resourceType']}/{r.get('id')}" for full, r in stored.items()}
    for e in p.entries:
        sent = orjson.loads(orjson.dumps(e["resource"]))
        walk_refs(sent, lambda v: where.get(v))
        if _content(sent) != _content(stored[e["fullUrl"]]):
            return False, f"{request_text(e)}: the server holds other content"
    return True, "every resource is on the server as sent"


def _content(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("id", "meta")}


def _chunk_issues(chunk: list[Prepared], error: FhirServerError) -> list[EntryIssue]:
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
                    p.nct_id, i, request_text(p.entries[i]), str(issue.get("severity", "error")), issue_text(issue)
                )
            )
        else:
            nct = next((p.nct_id for p in chunk if p.nct_id and p.nct_id in text), None)
            if nct is None and len(chunk) == 1:
                nct = chunk[0].nct_id
            out.append(
                EntryIssue(
                    nct, None, "", str(issue.get("severity", "error")), f"HTTP {error.status}: {issue_text(issue)}"
                )
            )
    return out
