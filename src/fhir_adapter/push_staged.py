"""The ``batch`` and ``resource`` push modes of :mod:`fhir_adapter.push`: entries sent in dependency order, one batch
(or one request per resource) per round, references made literal ``Type/id`` with the ids the server answered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from fhir_adapter.errors import FhirAuthError, FhirServerError
from fhir_adapter.push import (
    EntryIssue,
    PushResult,
    _issue_text,
    _issues_from,
    _location,
    _Prepared,
    _refs_of,
    _request_text,
    _status,
    _walk_refs,
)

if TYPE_CHECKING:
    import requests

    from fhir_adapter.client import FhirClient

__all__ = ["push_staged"]


def push_staged(client: FhirClient, chunk: list[_Prepared], mode: str) -> PushResult:
    """Batch or one-request-per-resource push: references made literal, dependencies sent first."""
    result = PushResult([p.nct_id for p in chunk], True)
    # an entry is sent only after every entry it references was written (HAPI checks referential integrity on
    # every write and may run a batch's entries in any order), so references can be made literal ``Type/id``
    known: dict[str, str] = {}
    pending = [(p, i) for p in chunk for i in range(len(p.entries))]
    failed_urls: set[str] = set()
    while pending:
        ready, waiting = [], []
        for p, i in pending:
            refs = [r for r in _refs_of(p.entries[i]["resource"]) if r.startswith("urn:uuid:")]
            if any(r in failed_urls for r in refs):
                result.issues.append(
                    EntryIssue(
                        p.nct_id, i, _request_text(p.entries[i]), "error", "not sent: an entry it references failed"
                    )
                )
                result.failed_trials.add(p.nct_id)
                failed_urls.add(p.entries[i]["fullUrl"])
            elif all(r in known for r in refs):
                ready.append((p, i))
            else:
                waiting.append((p, i))
        if not ready:
            for p, i in waiting:  # a cycle of conditional entries: cannot be sent as a batch
                result.issues.append(
                    EntryIssue(
                        p.nct_id,
                        i,
                        _request_text(p.entries[i]),
                        "error",
                        "not sent: references between conditionally written entries form "
                        "a cycle (use --mode transaction)",
                    )
                )
                result.failed_trials.add(p.nct_id)
            break
        pending = waiting
        sent = []
        for p, i in ready:
            e = p.entries[i]
            resource = orjson.loads(orjson.dumps(e["resource"]))
            _walk_refs(resource, lambda v: known.get(v))
            sent.append((p, i, {"request": e["request"], "resource": resource}))
        replies = _send_batch(client, sent, result) if mode == "batch" else _send_each(client, sent, result)
        for (p, i, _), reply in zip(sent, replies, strict=True):
            e = p.entries[i]
            status = _status(reply) if reply is not None else 0
            if reply is None or status >= 400 or status == 0:
                failed_urls.add(e["fullUrl"])
                result.failed_trials.add(p.nct_id)
                if reply is not None:
                    issues = _issues_from(reply.get("response", {}).get("outcome")) or [
                        {"severity": "error", "diagnostics": f"HTTP {status or '?'}"}
                    ]
                    for issue in issues:
                        result.issues.append(
                            EntryIssue(
                                p.nct_id, i, _request_text(e), str(issue.get("severity", "error")), _issue_text(issue)
                            )
                        )
                continue
            result.resources += 1
            result.created += status == 201
            result.updated += status == 200
            where = _location(reply) or (e["request"]["url"] if "?" not in e["request"]["url"] else None)
            if where:
                known[e["fullUrl"]] = where
    result.ok = not result.failed_trials and not result.issues
    return result


def _send_batch(
    client: FhirClient, sent: list[tuple[_Prepared, int, dict[str, Any]]], result: PushResult
) -> list[dict[str, Any] | None]:
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


def _send_each(
    client: FhirClient, sent: list[tuple[_Prepared, int, dict[str, Any]]], result: PushResult
) -> list[dict[str, Any] | None]:
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
