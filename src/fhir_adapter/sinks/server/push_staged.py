"""The ``batch`` and ``resource`` push modes of :mod:`fhir_adapter.sinks.server.push`: entries sent in dependency
order, one batch (or one request per resource) per round, references made literal ``Type/id`` with the ids the
server answered. https://hl7.org/fhir/R5/http.html#brules

A batch cannot carry ``urn:uuid`` references between its entries and its entries may be processed in any order
(HAPI checks referential integrity on every write), so the push goes in rounds: first the entries that reference
nothing (Organization, Practitioner, Location, EvidenceVariable, PlanDefinition), then those whose targets are
written (PractitionerRole), then the ResearchStudy. Two or three requests per chunk in batch mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from fhir_adapter.errors import FhirAuthError, FhirServerError
from fhir_adapter.sinks.server.entries import (
    EntryIssue,
    Prepared,
    PushResult,
    entry_status,
    issue_text,
    issues_from,
    location_of,
    refs_of,
    request_text,
    walk_refs,
)

if TYPE_CHECKING:
    import requests

    from fhir_adapter.sinks.server.client import FhirClient

__all__ = ["push_staged"]

_CYCLE = "not sent: references between conditionally written entries form a cycle (use --mode transaction)"

# (trial, index of the entry in the trial, what is sent: request and resource with literal references)
_Sent = tuple[Prepared, int, dict[str, Any]]


@dataclass(slots=True)
class _Rounds:
    """The state of a staged push: the result so far, where the written entries are, which entries failed."""

    result: PushResult
    known: dict[str, str] = field(default_factory=dict)  # fullUrl -> Type/id on the server
    failed_urls: set[str] = field(default_factory=set)

    def fail(self, p: Prepared, i: int, message: str, severity: str = "error") -> None:
        self.result.issues.append(EntryIssue(p.nct_id, i, request_text(p.entries[i]), severity, message))
        self.result.failed_trials.add(p.nct_id)

    def sort(
        self, pending: list[tuple[Prepared, int]]
    ) -> tuple[list[tuple[Prepared, int]], list[tuple[Prepared, int]]]:
        """(entries ready to send, entries still waiting for a target); an entry whose target failed fails too."""
        ready, waiting = [], []
        for p, i in pending:
            refs = [r for r in refs_of(p.entries[i]["resource"]) if r.startswith("urn:uuid:")]
            if any(r in self.failed_urls for r in refs):
                self.fail(p, i, "not sent: an entry it references failed")
                self.failed_urls.add(p.entries[i]["fullUrl"])
            elif all(r in self.known for r in refs):
                ready.append((p, i))
            else:
                waiting.append((p, i))
        return ready, waiting

    def literal(self, ready: list[tuple[Prepared, int]]) -> list[_Sent]:
        """The ready entries as sent: references to written entries made literal ``Type/id``."""
        sent = []
        for p, i in ready:
            e = p.entries[i]
            resource = orjson.loads(orjson.dumps(e["resource"]))
            walk_refs(resource, lambda v: self.known.get(v))
            sent.append((p, i, {"request": e["request"], "resource": resource}))
        return sent

    def answered(self, p: Prepared, i: int, reply: dict[str, Any] | None) -> None:
        """Account for one entry's answer (``None``: its batch failed as a whole, already reported)."""
        e = p.entries[i]
        status = entry_status(reply) if reply is not None else 0
        if reply is None or status >= 400 or status == 0:
            self.failed_urls.add(e["fullUrl"])
            self.result.failed_trials.add(p.nct_id)
            if reply is not None:
                issues = issues_from(reply.get("response", {}).get("outcome")) or [
                    {"severity": "error", "diagnostics": f"HTTP {status or '?'}"}
                ]
                for issue in issues:
                    self.fail(p, i, issue_text(issue), str(issue.get("severity", "error")))
            return
        self.result.resources += 1
        self.result.created += status == 201
        self.result.updated += status == 200
        where = location_of(reply) or (e["request"]["url"] if "?" not in e["request"]["url"] else None)
        if where:
            self.known[e["fullUrl"]] = where


def push_staged(client: FhirClient, chunk: list[Prepared], mode: str) -> PushResult:
    """Batch or one-request-per-resource push: references made literal, dependencies sent first."""
    rounds = _Rounds(PushResult([p.nct_id for p in chunk], True))
    pending = [(p, i) for p in chunk for i in range(len(p.entries))]
    while pending:
        ready, pending = rounds.sort(pending)
        if not ready:
            for p, i in pending:  # a cycle of conditional entries: cannot be sent as a batch
                rounds.fail(p, i, _CYCLE)
            break
        sent = rounds.literal(ready)
        send = _send_batch if mode == "batch" else _send_each
        for (p, i, _), reply in zip(sent, send(client, sent, rounds.result), strict=True):
            rounds.answered(p, i, reply)
    result = rounds.result
    result.ok = not result.failed_trials and not result.issues
    return result


def _send_batch(client: FhirClient, sent: list[_Sent], result: PushResult) -> list[dict[str, Any] | None]:
    result.requests += 1
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [s[2] for s in sent]}
    try:
        reply = client.transaction(bundle)
    except FhirAuthError:
        raise
    except FhirServerError as e:
        for p, _i, _e in sent:
            result.failed_trials.add(p.nct_id)
        result.issues += [EntryIssue(None, None, "", "error", e.message)]
        return [None] * len(sent)
    got: list[dict[str, Any] | None] = list(reply.get("entry", []))
    return (got + [None] * len(sent))[: len(sent)]


def _send_each(client: FhirClient, sent: list[_Sent], result: PushResult) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for _p, _i, e in sent:
        result.requests += 1
        try:
            response = client.request("PUT", e["request"]["url"], body=e["resource"])
        except FhirAuthError:
            raise
        except FhirServerError as err:
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": err.issues or [{"severity": "error", "code": "exception", "diagnostics": err.message}],
            }
            out.append({"response": {"status": str(err.status or 0), "outcome": outcome}})
            continue
        out.append(
            {
                "response": {
                    "status": str(response.status_code),
                    "location": response.headers.get("Location")
                    or response.headers.get("Content-Location")
                    or _location_of_body(response),
                }
            }
        )
    return out


def _location_of_body(response: requests.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    return f"{body.get('resourceType')}/{body.get('id')}" if isinstance(body, dict) and body.get("id") else ""
