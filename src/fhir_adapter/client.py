"""Push trials to a FHIR server and pull them back: :class:`FhirClient`, :func:`push_paths`, :func:`pull`.

::

    with FhirClient("http://127.0.0.1:8080/fhir", fhir_version="R5", auth=credentials()) as fhir:
        summary = push_paths(fhir, ["out/"], mode="transaction", batch_size=10)
        pulled = pull(fhir, Path("back/"), SearchQuery(identifiers=["NCT02513394"]))

**Transport** (one ``requests.Session``): TLS certificates verified (``ca_bundle`` for a private CA), a
User-Agent, timeouts (connect 10 s, read 120 s), and urllib3 ``Retry`` mounted on the adapter: 5 retries on 429, 502,
503, 504 and connection errors, exponential backoff (factor 0.5: 0, 1, 2, 4, 8 s) plus up to 0.5 s of random
jitter, ``Retry-After`` honoured (capped at 300 s). 401/403 are never retried and become :class:`FhirAuthError`.

**Retrying a POST**: a transaction or batch is POSTed, which HTTP does not call idempotent. Every bundle this module
sends is made of ``PUT`` entries only (conditional ``PUT Type?identifier=`` / ``?url=``, or ``PUT Type/id`` with
the deterministic uuid5 id) and ``GET`` entries, so replaying it after a lost answer changes nothing: such POSTs
*are* retried. :meth:`FhirClient.transaction` on a bundle with any ``POST``/``PATCH``/``DELETE`` entry is sent
through a second session whose ``Retry`` excludes POST (only failures to connect, where nothing was sent, are
retried).

**Version check**: the CapabilityStatement (``GET /metadata``) is read before the first push or pull;
``fhirVersion`` 4.0.x is R4, 5.0.x is R5; anything else than the release asked for is a
:class:`FhirVersionMismatch` that says what the server speaks.

**Credentials** (``fhir_adapter.auth``) never appear in a message, a log line or ``repr(client)``.

**Push** (:func:`push_paths`): converted bundles (collection or transaction, any origin) or raw inputs (anything
``convert`` reads, mapped on the fly with ``to_bundle(trial, fhir_version)``). Every entry gets a request that finds
the resource again: ``PUT ResearchStudy?identifier=https://clinicaltrials.gov|NCT...`` and ``PUT Type?url=<canonical>``
(the resource sent without ``id``: the server keeps its own), else ``PUT Type/<id>`` with the deterministic uuid5 id
(a conditional ``?_id=`` is refused by HAPI when it would create, and Medplum refuses a conditional create whose body
has an id). So pushing twice creates nothing new and a changed trial is updated in place (new versionId).

- ``mode="transaction"``: one transaction per chunk of ``batch_size`` trials, atomic; a failure names the entry
  (trial NCT id, entry index in the trial's bundle, request) from the OperationOutcome's ``Bundle.entry[i]``.
- ``mode="batch"``: entries independent. A batch cannot carry ``urn:uuid`` references between its entries and its
  entries may be processed in any order, so it goes in rounds, one batch request each: first the entries that
  reference nothing (Organization, Practitioner, Location, EvidenceVariable, PlanDefinition), then those whose
  targets are written (PractitionerRole), then the ResearchStudy, references made literal ``Type/id`` with the ids
  the server answered. Two or three requests per chunk.
- ``mode="resource"``: one request per resource, in the same dependency order (benchmarks).

A failed chunk does not stop the others; :class:`PushSummary` counts failed trials.

**Pull** (:func:`pull`): searches ResearchStudy (identifier, condition, status, phase, ``_lastUpdated``), follows
``next`` links (a link seen before is a :class:`PagingLoopError`), asks for ``_include=*`` (HAPI honours it; the
Medplum front answers 400 to ``*``, so the search is repeated without it), then fetches every still missing
referenced resource, transitively, by type in batches (``GET Type?_id=a,b,c``), each at most once; writes
``DIR/<NCTID>.json`` collection bundles whose entries keep the server's ``Type/id`` references and carry
``fullUrl`` ``<base>/Type/id``, which ``from_bundle`` resolves.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import orjson
import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.util import Retry

from fhir_adapter import __version__
from fhir_adapter._http import describe_error, root_cause
from fhir_adapter.auth import SmartBackendAuth, redact
from fhir_adapter.bundle import transaction_request
from fhir_adapter.errors import (
    FhirAdapterError,
    FhirAuthError,
    FhirServerError,
    FhirVersionMismatch,
    PagingLoopError,
)

__all__ = [
    "FHIR_RELEASES",
    "PUSH_MODES",
    "RETRY_STATUSES",
    "EntryIssue",
    "FhirClient",
    "PullSummary",
    "PushResult",
    "PushSummary",
    "SearchQuery",
    "TrialBundle",
    "bundles_from_paths",
    "pull",
    "push_bundles",
    "push_paths",
    "search_params",
]

log = logging.getLogger(__name__)

FHIR_RELEASES = {"R4": "4.0", "R5": "5.0"}
PUSH_MODES = ("transaction", "batch", "resource")
RETRY_STATUSES = (429, 502, 503, 504)
RETRY_TOTAL = 5
BACKOFF_FACTOR = 0.5
BACKOFF_JITTER = 0.5
RETRY_AFTER_MAX = 300
USER_AGENT = f"fhir-adapter/{__version__} (+https://fhir-adapter.dev)"
FHIR_JSON = "application/fhir+json"
SEARCH_COUNT = 100
ID_CHUNK = 50  # ids per ``GET Type?_id=a,b,...`` (keeps URLs well under 8 KB)
IDENTIFIER_CHUNK = 20
_BODY_EXCERPT = 300
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_ENTRY_INDEX = re.compile(r"[Ee]ntry\[(\d+)\]")
_TYPE_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_TIMEOUTS = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


# ================================================================================================== the client


class FhirClient:
    """A FHIR REST client over one ``requests.Session`` (see the module docstring for retries, auth and TLS)."""

    def __init__(
        self,
        base_url: str,
        *,
        fhir_version: str = "R5",
        auth: AuthBase | None = None,
        ca_bundle: str | Path | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        retries: int = RETRY_TOTAL,
        backoff_factor: float = BACKOFF_FACTOR,
        backoff_jitter: float = BACKOFF_JITTER,
    ) -> None:
        if fhir_version not in FHIR_RELEASES:
            raise ValueError(f"FHIR version {fhir_version!r} is not supported (use {' or '.join(FHIR_RELEASES)})")
        self.base_url = base_url.rstrip("/")
        self.fhir_version = fhir_version
        self.timeout = (connect_timeout, read_timeout)
        self.auth = auth
        self.server_version: str | None = None
        self.include_supported = True  # False once the server refused ``_include=*``
        retry_args: dict[str, Any] = {
            "total": retries,
            "backoff_factor": backoff_factor,
            "backoff_jitter": backoff_jitter,
            "status_forcelist": RETRY_STATUSES,
            "respect_retry_after_header": True,
            "retry_after_max": RETRY_AFTER_MAX,
            "raise_on_status": False,  # after the last retry, the response itself: the error names its status
        }
        self.retry = Retry(allowed_methods=_SAFE_METHODS | {"POST"}, **retry_args)
        self.session = self._session(self.retry, ca_bundle)
        # non-idempotent POSTs: retried only when the connection could not be made (nothing was sent)
        self._unsafe = self._session(Retry(allowed_methods=_SAFE_METHODS, **retry_args), ca_bundle)
        if isinstance(auth, SmartBackendAuth):  # the token endpoint shares TLS, retries, User-Agent
            auth.session = self.session
            if not auth.base_url:
                auth.base_url = self.base_url

    def _session(self, retry: Retry, ca_bundle: str | Path | None) -> requests.Session:
        s = requests.Session()
        s.verify = str(ca_bundle) if ca_bundle else True
        s.auth = self.auth
        s.headers.update({"User-Agent": USER_AGENT, "Accept": FHIR_JSON})
        adapter = HTTPAdapter(max_retries=retry)
        s.mount("https://", adapter)
        s.mount("http://", adapter)
        return s

    def __repr__(self) -> str:
        how = self.auth.describe() if self.auth is not None and hasattr(self.auth, "describe") else "no auth"
        return f"FhirClient({self.base_url!r}, fhir_version={self.fhir_version!r}, auth={how!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()
        self._unsafe.close()

    # ------------------------------------------------------------------------------------------------ transport

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None,
                idempotent: bool = True, headers: dict[str, str] | None = None) -> requests.Response:
        """One request; HTTP errors, network failures and auth refusals become ``FhirServerError`` subclasses."""
        url = self.url(path)
        data = orjson.dumps(body) if body is not None else None
        hdrs = {"Content-Type": FHIR_JSON, **(headers or {})} if data is not None else dict(headers or {})
        session = self.session if idempotent or method.upper() != "POST" else self._unsafe
        log.debug("%s %s %s", method, url, params or "")
        try:
            response = session.request(method, url, params=params, data=data, headers=hdrs, timeout=self.timeout)
        except FhirAdapterError:
            raise
        except requests.exceptions.RequestException as e:
            cause = root_cause(e)
            refused = isinstance(cause, urllib3.exceptions.NewConnectionError)
            if isinstance(e, _TIMEOUTS) or (isinstance(cause, _TIMEOUTS) and not refused):
                what = (f"timed out after {self.retry.total} retries (connect {self.timeout[0]:g} s, "
                        f"read {self.timeout[1]:g} s)")
            else:
                what = f"could not reach the FHIR server after {self.retry.total} retries"
            raise FhirServerError(redact(f"{method} {url}: {what}: {describe_error(cause)}"), url=url) from None
        log.debug("HTTP %d from %s %s", response.status_code, method, response.url)
        if response.status_code >= 400:
            raise self._error(method, response)
        return response

    def _error(self, method: str, response: requests.Response) -> FhirServerError:
        status, url = response.status_code, response.url
        issues = _outcome_issues(response)
        detail = "; ".join(_issue_text(i) for i in issues[:3]) if issues else " ".join(
            response.text[:_BODY_EXCERPT].split())
        if status in (401, 403):
            who = self.auth.describe() if self.auth is not None and hasattr(self.auth, "describe") else None
            hint = (f"the server refused the {who}" if who else
                    "no credentials were given (set FHIR_ADAPTER_TOKEN, or use --token-file, --user or SMART)")
            reason = "Unauthorized" if status == 401 else "Forbidden"
            return FhirAuthError(redact(f"{method} {url}: HTTP {status} {reason}: {hint}"
                                        + (f" ({detail})" if detail else "")),
                                 status=status, url=url, issues=issues)
        return FhirServerError(redact(f"{method} {url}: HTTP {status}: {detail or response.reason}"),
                               status=status, url=url, issues=issues)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as e:
            raise FhirServerError(f"{method} {response.url}: HTTP {response.status_code} but the reply is not JSON "
                                  f"({e})", status=response.status_code, url=response.url) from None

    # ------------------------------------------------------------------------------------------------ FHIR API

    def capabilities(self) -> dict[str, Any]:
        cs = self.json("GET", "metadata")
        if not isinstance(cs, dict) or cs.get("resourceType") != "CapabilityStatement":
            raise FhirServerError(f"GET {self.url('metadata')}: not a CapabilityStatement", url=self.url("metadata"))
        return cs

    def check_version(self) -> str:
        """The server's ``fhirVersion``, after checking it is the release asked for (once per client)."""
        if self.server_version is not None:
            return self.server_version
        cs = self.capabilities()
        version = str(cs.get("fhirVersion", ""))
        wanted = FHIR_RELEASES[self.fhir_version]
        if version != wanted and not version.startswith(wanted + "."):
            speaks = next((name for name, prefix in FHIR_RELEASES.items()
                           if version == prefix or version.startswith(prefix + ".")), None)
            hint = f"use --fhir-version {speaks}" if speaks else "fhir-adapter speaks R4 (4.0.x) and R5 (5.0.x)"
            raise FhirVersionMismatch(
                f"{self.base_url} speaks FHIR {version or '(no fhirVersion in its CapabilityStatement)'}"
                f"{f' ({speaks})' if speaks else ''}, not {self.fhir_version} ({wanted}.x): {hint}",
                url=self.url("metadata"))
        self.server_version = version
        return version

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        resource: dict[str, Any] = self.json("GET", f"{resource_type}/{resource_id}")
        return resource

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction or batch bundle; the response bundle. Retried only if every entry is PUT/GET."""
        idempotent = all(e.get("request", {}).get("method", "GET") in ("GET", "PUT", "HEAD")
                         for e in bundle.get("entry", []))
        reply = self.json("POST", self.base_url, body=bundle, idempotent=idempotent)
        if not isinstance(reply, dict) or reply.get("resourceType") != "Bundle":
            raise FhirServerError(f"POST {self.base_url}: the reply is not a Bundle", url=self.base_url)
        return reply

    def search_pages(self, resource_type: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every page (searchset Bundle) of a search, following ``next`` links; a repeated link is an error."""
        url: str | None = self.url(resource_type)
        query: dict[str, str] | None = params
        seen: set[str] = set()
        page_number = 0
        while url:
            page_number += 1
            page = self.json("GET", url, params=query)
            if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
                raise FhirServerError(f"GET {url}: page {page_number} of the search is not a Bundle", url=url)
            if query is not None:  # the first page: remember its full URL too
                seen.add(requests.Request("GET", url, params=query).prepare().url or url)
            yield page
            nxt = next((link.get("url") for link in page.get("link", []) if link.get("relation") == "next"), None)
            if not nxt:
                return
            nxt = urljoin(self.base_url + "/", nxt)
            if nxt in seen:
                raise PagingLoopError(f"GET {url}: page {page_number} links back to a page already read ({nxt}); "
                                      "stopping (the paging would never end)", url=nxt)
            seen.add(nxt)
            url, query = nxt, None

    def fetch(self, refs: Iterable[str], have: dict[str, dict[str, Any]]) -> list[str]:
        """Fetch the ``Type/id`` references not in ``have`` into it, by type in ``_id`` batches; the refs the
        server does not know."""
        by_type: dict[str, list[str]] = {}
        for ref in dict.fromkeys(refs):
            if ref in have:
                continue
            rtype, _, rid = ref.partition("/")
            by_type.setdefault(rtype, []).append(rid)
        missing: list[str] = []
        for rtype, ids in by_type.items():
            for start in range(0, len(ids), ID_CHUNK):
                chunk = ids[start:start + ID_CHUNK]
                for page in self.search_pages(rtype, {"_id": ",".join(chunk), "_count": str(len(chunk))}):
                    for e in page.get("entry", []):
                        r = e.get("resource")
                        if isinstance(r, dict) and r.get("resourceType") == rtype and r.get("id"):
                            have[f"{rtype}/{r['id']}"] = r
                missing += [f"{rtype}/{i}" for i in chunk if f"{rtype}/{i}" not in have]
        return missing


# ================================================================================================== push


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
        where = " ".join(p for p in (self.nct_id, f"entry[{self.entry}]" if self.entry is not None else "",
                                     self.request) if p)
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


@dataclass(slots=True)
class PushSummary:
    trials: int = 0
    failed: int = 0  # trials not (fully) pushed, including inputs that could not be read or mapped
    resources: int = 0
    created: int = 0
    updated: int = 0
    requests: int = 0
    input_errors: list[str] = field(default_factory=list)


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


def bundles_from_paths(paths: Iterable[str | Path], fhir_version: str,
                       errors: list[str]) -> Iterator[TrialBundle]:
    """The trial bundles of the inputs: FHIR Bundle files as they are, other inputs read and mapped with
    ``to_bundle(trial, fhir_version)``. Unreadable / unmappable records are appended to ``errors`` (one line)."""
    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.sources import input_files, read_records

    for path in input_files(paths):
        bundle = _is_bundle_file(path)
        if bundle is not None:
            studies = [e["resource"] for e in bundle.get("entry", [])
                       if isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == "ResearchStudy"]
            nct = _nct_of(studies[0]) if len(studies) == 1 else None
            if nct is None:
                errors.append(f"{path}: a trial bundle needs exactly one ResearchStudy with an NCT id "
                              f"(found {len(studies)})")
                continue
            yield TrialBundle(nct, str(path), [e for e in bundle.get("entry", []) if isinstance(e.get("resource"),
                                                                                                 dict)])
            continue
        for record in read_records([path]):
            where = record.source.path + (f"#{record.source.index}" if record.source.index is not None else "")
            if record.error is not None:
                errors.append(record.error.describe())
                continue
            assert record.trial is not None
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


def push_bundles(client: FhirClient, trials: Iterable[TrialBundle], *, mode: str = "transaction",
                 batch_size: int = 1, on_result: Callable[[PushResult], None] | None = None) -> PushSummary:
    """Push trial bundles in chunks of ``batch_size`` trials (see the module docstring for the modes)."""
    if mode not in PUSH_MODES:
        raise ValueError(f"push mode {mode!r} is not supported (use {', '.join(PUSH_MODES)})")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    client.check_version()
    summary = PushSummary()
    chunk: list[_Prepared] = []

    def flush() -> None:
        if not chunk:
            return
        result = _push_transaction(client, chunk) if mode == "transaction" else _push_staged(client, chunk, mode)
        summary.trials += len(chunk)
        summary.failed += len(result.failed_trials)
        summary.resources += result.resources
        summary.created += result.created
        summary.updated += result.updated
        summary.requests += result.requests
        if on_result is not None:
            on_result(result)
        chunk.clear()

    for trial in trials:
        chunk.append(prepare(trial))
        if len(chunk) >= batch_size:
            flush()
    flush()
    return summary


def push_paths(client: FhirClient, paths: Iterable[str | Path], *, mode: str = "transaction", batch_size: int = 1,
               on_result: Callable[[PushResult], None] | None = None,
               on_input_error: Callable[[str], None] | None = None) -> PushSummary:
    """Read/convert the inputs and push them; unreadable or unmappable records count as failed trials."""
    errors: list[str] = []

    def trials() -> Iterator[TrialBundle]:
        for t in bundles_from_paths(paths, client.fhir_version, errors):
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

    summary = push_bundles(client, trials(), mode=mode, batch_size=batch_size, on_result=on_result)
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
            out.append(EntryIssue(p.nct_id, i, _request_text(p.entries[i]), str(issue.get("severity", "error")),
                                  _issue_text(issue)))
        else:
            nct = next((p.nct_id for p in chunk if p.nct_id and p.nct_id in text), None)
            if nct is None and len(chunk) == 1:
                nct = chunk[0].nct_id
            out.append(EntryIssue(nct, None, "", str(issue.get("severity", "error")),
                                  f"HTTP {error.status}: {_issue_text(issue)}"))
    return out


def _push_staged(client: FhirClient, chunk: list[_Prepared], mode: str) -> PushResult:
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
                result.issues.append(EntryIssue(p.nct_id, i, _request_text(p.entries[i]), "error",
                                                "not sent: an entry it references failed"))
                result.failed_trials.add(p.nct_id)
                failed_urls.add(p.entries[i]["fullUrl"])
            elif all(r in known for r in refs):
                ready.append((p, i))
            else:
                waiting.append((p, i))
        if not ready:
            for p, i in waiting:  # a cycle of conditional entries: cannot be sent as a batch
                result.issues.append(EntryIssue(p.nct_id, i, _request_text(p.entries[i]), "error",
                                                "not sent: references between conditionally written entries form "
                                                "a cycle (use --mode transaction)"))
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
                        {"severity": "error", "diagnostics": f"HTTP {status or '?'}"}]
                    for issue in issues:
                        result.issues.append(EntryIssue(p.nct_id, i, _request_text(e),
                                                        str(issue.get("severity", "error")), _issue_text(issue)))
                continue
            result.resources += 1
            result.created += status == 201
            result.updated += status == 200
            where = _location(reply) or (e["request"]["url"] if "?" not in e["request"]["url"] else None)
            if where:
                known[e["fullUrl"]] = where
    result.ok = not result.failed_trials and not result.issues
    return result


def _send_batch(client: FhirClient, sent: list[tuple[_Prepared, int, dict[str, Any]]],
                result: PushResult) -> list[dict[str, Any] | None]:
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
    return (got + [None] * len(sent))[:len(sent)]


def _send_each(client: FhirClient, sent: list[tuple[_Prepared, int, dict[str, Any]]],
               result: PushResult) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for _p, _i, e in sent:
        result.requests += 1
        try:
            response = client.request("PUT", e["request"]["url"], body=e["resource"])
        except FhirAuthError:
            raise
        except FhirServerError as err:
            outcome = {"resourceType": "OperationOutcome", "issue": err.issues or [
                {"severity": "error", "code": "exception", "diagnostics": err.message}]}
            out.append({"response": {"status": str(err.status or 0), "outcome": outcome}})
            continue
        out.append({"response": {"status": str(response.status_code),
                                 "location": response.headers.get("Location") or response.headers.get(
                                     "Content-Location") or _location_of_body(response)}})
    return out


def _location_of_body(response: requests.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    return f"{body.get('resourceType')}/{body.get('id')}" if isinstance(body, dict) and body.get("id") else ""


# ================================================================================================== pull


@dataclass(slots=True)
class SearchQuery:
    """What to pull. ``status``: for R4 the ResearchStudy.status code (server-side ``status``); for R5 a
    ``progressStatus`` state code such as ``recruiting`` (R5's ``status`` parameter is the publication status, and
    R5 defines no search parameter on progressStatus, so it is filtered here after the search)."""

    identifiers: list[str] = field(default_factory=list)
    condition: str | None = None
    status: str | None = None
    phase: str | None = None
    updated_since: str | None = None  # YYYY-MM-DD (or a FHIR dateTime)
    condition_modifier: str = ":text"  # "" for an exact token match on code / text


def search_params(query: SearchQuery, fhir_version: str) -> list[dict[str, str]]:
    """The ResearchStudy search(es) of a query: one per chunk of identifiers (comma-ORed), else one."""
    from fhir_adapter.terminology import system

    base: dict[str, str] = {"_count": str(SEARCH_COUNT), "_include": "*"}
    if query.condition:
        base[f"condition{query.condition_modifier}"] = query.condition
    if query.status and fhir_version == "R4":
        base["status"] = query.status
    if query.phase:
        base["phase"] = query.phase
    if query.updated_since:
        base["_lastUpdated"] = f"ge{query.updated_since}"
    if not query.identifiers:
        return [base]
    nct = system("nct")
    ids = list(dict.fromkeys(query.identifiers))
    return [{**base, "identifier": ",".join(f"{nct}|{i}" for i in ids[k:k + IDENTIFIER_CHUNK])}
            for k in range(0, len(ids), IDENTIFIER_CHUNK)]


def _r5_state_codes(study: dict[str, Any]) -> set[str]:
    codes: set[str] = set()
    for ps in study.get("progressStatus", []):
        for c in ps.get("state", {}).get("coding", []):
            if c.get("code"):
                codes.add(str(c["code"]).lower())
    return codes


@dataclass(slots=True)
class PullSummary:
    studies: int = 0
    written: list[Path] = field(default_factory=list)
    resources: int = 0
    requests: int = 0
    problems: list[str] = field(default_factory=list)  # one line each (missing references, duplicate NCT ids)


def pull(client: FhirClient, output: Path, query: SearchQuery,
         on_study: Callable[[str, Path, int], None] | None = None) -> PullSummary:
    """Search ResearchStudy, fetch what the studies reference, write one collection bundle per NCT id."""
    client.check_version()
    output.mkdir(parents=True, exist_ok=True)
    summary = PullSummary()
    studies: dict[str, dict[str, Any]] = {}
    have: dict[str, dict[str, Any]] = {}
    for params in search_params(query, client.fhir_version):
        for page in _search_with_include(client, params):
            summary.requests += 1
            for e in page.get("entry", []):
                r = e.get("resource")
                if not isinstance(r, dict) or not r.get("id") or not r.get("resourceType"):
                    continue
                have[f"{r['resourceType']}/{r['id']}"] = r
                mode = e.get("search", {}).get("mode", "match")
                if r["resourceType"] == "ResearchStudy" and mode == "match":
                    if (query.status and client.fhir_version == "R5"
                            and query.status.lower() not in _r5_state_codes(r)):
                        continue
                    studies[f"ResearchStudy/{r['id']}"] = r
    # the transitive closure of references, fetched level by level, each resource once
    frontier = list(studies)
    done: set[str] = set()
    while frontier:
        refs = []
        for key in frontier:
            done.add(key)
            refs += [t for t in (_type_id(v) for v in _refs_of(have[key]) if not v.startswith("#")) if t]
        refs = [r for r in dict.fromkeys(refs) if r not in done]
        missing = client.fetch(refs, have)
        summary.requests += len({r.partition("/")[0] for r in refs if r not in have or r in missing})
        for m in missing:
            summary.problems.append(f"{m}: referenced but not found on the server")
        frontier = [r for r in refs if r in have and r not in done]
    by_nct: dict[str, str] = {}
    for key, study in studies.items():
        nct = _nct_of(study)
        if not nct:
            summary.problems.append(f"{key}: no NCT identifier; skipped")
            continue
        if nct in by_nct:
            summary.problems.append(f"{nct}: more than one ResearchStudy on the server ({by_nct[nct]}, {key}); "
                                    f"kept {by_nct[nct]}")
            continue
        by_nct[nct] = key
        members = _closure(key, have)
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": f"{client.base_url}/{k}", "resource": have[k]} for k in members],
        }
        path = output / f"{nct}.json"
        path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n")
        summary.studies += 1
        summary.resources += len(members)
        summary.written.append(path)
        if on_study is not None:
            on_study(nct, path, len(members))
    return summary


def _search_with_include(client: FhirClient, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The search with ``_include=*``; if the server refuses that (Medplum: 400 "'*' is not supported as a value
    for search inclusion parameters"), the same search without it (references are then fetched by id)."""
    if client.include_supported:
        pages = client.search_pages("ResearchStudy", params)
        try:
            first = next(pages)
        except StopIteration:
            return
        except FhirServerError as e:
            if e.status != 400:
                raise
            log.info("%s refuses _include=*: fetching references by id", client.base_url)
            client.include_supported = False
        else:
            yield first
            yield from pages
            return
    yield from client.search_pages("ResearchStudy", {k: v for k, v in params.items() if k != "_include"})


def _closure(start: str, have: dict[str, dict[str, Any]]) -> list[str]:
    order, stack, seen = [], [start], {start}
    while stack:
        key = stack.pop(0)
        order.append(key)
        for v in _refs_of(have[key]):
            t = _type_id(v)
            if t and t in have and t not in seen:
                seen.add(t)
                stack.append(t)
    return order


# ================================================================================================== helpers


def _outcome_issues(response: requests.Response) -> list[dict[str, Any]]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return []
    return _issues_from(body)


def _issue_text(issue: dict[str, Any]) -> str:
    details = issue.get("details", {}).get("text") if isinstance(issue.get("details"), dict) else None
    text = " ".join(str(issue.get("diagnostics") or details or issue.get("code") or "").split())
    where = issue.get("expression") or issue.get("location") or []
    code = issue.get("code")
    parts = [f"[{code}]" if code else "", text, f"at {', '.join(map(str, where))}" if where else ""]
    return redact(" ".join(p for p in parts if p))


def host_of(url: str) -> str:
    return urlsplit(url).netloc
