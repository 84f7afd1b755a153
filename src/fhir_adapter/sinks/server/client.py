"""The FHIR REST client of the server sinks: :class:`FhirClient` (transport, version check, transaction, search).

::

    with FhirClient("http://127.0.0.1:8080/fhir", fhir_version="R5", auth=credentials()) as fhir:
        summary = push_bundles(fhir, trials, mode="transaction", batch_size=10)     # sinks.server.push
        pulled = pull(fhir, Path("back/"), SearchQuery(identifiers=["NCT02513394"]))  # sinks.server.pull

https://hl7.org/fhir/R5/http.html

**Transport** (``requests`` sessions, ``fhir_adapter._http``): TLS certificates always verified, against
``ca_bundle`` (``--ca-bundle``) when given, which no environment variable can override, else ``REQUESTS_CA_BUNDLE``
or ``CURL_CA_BUNDLE`` when set, else certifi's store; proxies from ``HTTPS_PROXY``/``NO_PROXY``...; ``~/.netrc``
not read. A User-Agent, timeouts (connect 5 s, read 120 s), and urllib3 ``Retry`` mounted on the adapter: 5 retries
on 429, 500, 502, 503, 504, connection errors and read errors, exponential backoff (factor 0.5: 0, 1, 2, 4, 8 s) plus
up to 0.5 s of random jitter, ``Retry-After`` honoured (capped at 300 s). An answer whose body breaks off (a reset
in mid-response, which urllib3 never sees: requests reads the body after ``urlopen`` returned) is retried here, with
the same budget, when the request may be replayed. A failed TLS handshake or certificate check is not retried.
401/403 are never retried and become :class:`FhirAuthError`. Messages say how many retries were really made.
A push on several connections (``connections``, ``sinks.server.push_pool``) sends from several threads through the
same sessions: urllib3's connection pool is thread-safe and keeps up to 10 connections per host, and the client
holds no per-request state (the circuit breaker counts every connection's failures).

**Circuit breaker** (:class:`~fhir_adapter._http.CircuitBreaker`, shared by the client's sessions): it opens after 8
transport failures in a row (one request's 6 attempts and 2 more), or a run of them lasting 60 s; every later
request then fails at once with a :class:`FhirTransportError` whose ``circuit_open`` is true. Against a server that
refuses connections that takes about 16 s; against one that does not answer at all, about a minute.

**Retrying a POST**: a transaction or batch is POSTed, which HTTP does not call idempotent. Every bundle this module
sends is made of ``PUT`` entries only (conditional ``PUT Type?identifier=`` / ``?url=``, or ``PUT Type/id`` with
the deterministic uuid5 id) and ``GET`` entries, so replaying it after a lost answer changes nothing: such POSTs
*are* retried. :meth:`FhirClient.transaction` on a bundle with any ``POST``/``PATCH``/``DELETE`` entry is sent
through a second session whose ``Retry`` excludes POST (only failures to connect, where nothing was sent, are
retried).

**Version check**: the CapabilityStatement (``GET /metadata``) is read before the first push or pull;
``fhirVersion`` 4.0.x is R4, 5.0.x is R5. Without ``fhir_version`` (the default) the client takes the server's
release (``fhir_version`` is R5 until then); with one, anything else than that release is a
:class:`FhirVersionMismatch` that says what the server speaks. The statement is kept (``capability``): pull reads
the search parameters the server offers from it (:meth:`FhirClient.search_parameters`).

**Credentials** (``fhir_adapter.sinks.server.auth``) never appear in a message, a log line or ``repr(client)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests
import urllib3.exceptions
from requests.auth import AuthBase

from fhir_adapter._http import (
    RETRY_AFTER_MAX,
    RETRY_STATUSES,
    CircuitBreaker,
    CircuitOpen,
    CountingRetry,
    FhirTransportError,
    SessionOwner,
    VerifyingSession,
    configured_session,
    describe_error,
    is_certificate_failure,
    is_tls_failure,
    root_cause,
    tls_verify,
)
from fhir_adapter.errors import (
    FhirAdapterError,
    FhirAuthError,
    FhirServerError,
    FhirVersionMismatch,
    PagingLimitError,
    PagingLoopError,
)
from fhir_adapter.release import FhirRelease
from fhir_adapter.sinks.server.auth import SmartBackendAuth, redact
from fhir_adapter.sinks.server.entries import issue_text, issues_from

__all__ = ["MAX_CONNECTIONS", "MAX_SEARCH_PAGES", "RETRY_STATUSES", "FhirClient", "FhirTransportError", "origin"]

log = logging.getLogger(__name__)

RETRY_TOTAL = 5
BACKOFF_FACTOR = 0.5
BACKOFF_JITTER = 0.5
FHIR_JSON = "application/fhir+json"
MAX_CONNECTIONS = 8  # concurrent requests of a push; requests keeps up to 10 connections per host in its pool
ID_CHUNK = 50  # ids per ``GET Type?_id=a,b,...`` (keeps URLs well under 8 KB)
URL_CHUNK = 20  # canonicals per ``GET Type?url=a,b,...`` (absolute URIs are longer than ids)
# the definitional resources a ``definitionCanonical`` may point at, in the order they are searched
DEFINITION_TYPES = ("ActivityDefinition", "PlanDefinition")
MAX_SEARCH_PAGES = 10_000  # pages of one search (a pull of 1,000,000 studies at 100 a page); an explicit limit
_DEFAULT_PORTS = {"http": 80, "https": 443}
_BODY_EXCERPT = 300
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_TEXT_SCAN = 65536  # characters of an error body searched for secrets before the excerpt is cut
_TIMEOUTS = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


# ================================================================================================== the client


class FhirClient(SessionOwner):
    """A FHIR REST client over one ``requests.Session`` (see the module docstring for retries, auth and TLS)."""

    def __init__(
        self,
        base_url: str,
        *,
        fhir_version: str | FhirRelease | None = None,
        auth: AuthBase | None = None,
        ca_bundle: str | Path | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        retries: int = RETRY_TOTAL,
        backoff_factor: float = BACKOFF_FACTOR,
        backoff_jitter: float = BACKOFF_JITTER,
        breaker: CircuitBreaker | None = None,
        connections: int = 1,
    ) -> None:
        # ValueError naming the supported releases; None: the server's release, once its CapabilityStatement is read
        self.asked = None if fhir_version is None else FhirRelease.parse(fhir_version)
        self.fhir_version = self.asked or FhirRelease.R5
        self.capability: dict[str, Any] | None = None
        if not base_url.lower().startswith(("http://", "https://")):
            raise FhirServerError(f"{base_url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/fhir)")
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.auth = auth
        self.server_version: str | None = None
        self.include_supported = True  # False once the server refused ``_include=*``
        if not 1 <= connections <= MAX_CONNECTIONS:
            raise ValueError(f"connections must be 1 to {MAX_CONNECTIONS}")
        # requests at once in a push (``sinks.server.push_pool``), over the sessions' pools (10 connections each)
        self.connections = connections
        try:
            self.verify, self.verify_source = tls_verify(ca_bundle)
        except FileNotFoundError as e:
            raise FhirServerError(f"TLS: {e}") from None
        # more than one request's attempts: a transaction whose every answer is lost is read back, not given up on
        self.breaker = breaker or CircuitBreaker(max_failures=retries + 3)
        self.max_retries = retries
        retry_args: dict[str, Any] = {
            "total": retries,
            "other": 0,  # a failed TLS check: the same certificate again would fail again
            "breaker": self.breaker,
            "backoff_factor": backoff_factor,
            "backoff_jitter": backoff_jitter,
            "status_forcelist": RETRY_STATUSES,
            "respect_retry_after_header": True,
            "retry_after_max": RETRY_AFTER_MAX,
            "raise_on_status": False,  # after the last retry, the response itself: the error names its status
        }
        self.retry = CountingRetry(allowed_methods=_SAFE_METHODS | {"POST"}, **retry_args)
        self.session = self._session(self.retry)
        # non-idempotent POSTs: retried only when the connection could not be made (nothing was sent)
        self._unsafe = self._session(CountingRetry(allowed_methods=_SAFE_METHODS, **retry_args))
        if isinstance(auth, SmartBackendAuth):  # the token endpoint shares TLS, retries, User-Agent
            auth.session = self.session
            if not auth.base_url:
                auth.base_url = self.base_url

    def _session(self, retry: CountingRetry) -> requests.Session:
        return configured_session(VerifyingSession(), self.verify, retry, FHIR_JSON, self.auth)

    def __repr__(self) -> str:
        how = self.auth.describe() if self.auth is not None and hasattr(self.auth, "describe") else "no auth"
        return f"FhirClient({self.base_url!r}, fhir_version={self.fhir_version.value!r}, auth={how!r})"

    def own_sessions(self) -> tuple[requests.Session, ...]:
        return (self.session, self._unsafe)

    # ------------------------------------------------------------------------------------------------ transport

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        idempotent: bool = True,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One request; HTTP errors, network failures and auth refusals become ``FhirServerError`` subclasses."""
        url = self.url(path)
        data = orjson.dumps(body) if body is not None else None
        hdrs = {"Content-Type": FHIR_JSON, **(headers or {})} if data is not None else dict(headers or {})
        session = self.session if idempotent or method.upper() != "POST" else self._unsafe
        if self.breaker.reason is not None:
            raise FhirTransportError(f"{method} {url}: not sent: {self.breaker.reason}", url=url, circuit_open=True)
        log.debug("%s %s %s", method, redact(url), params or "")
        retries_before = self.breaker.retries
        response = self._send(session, method, url, params=params, data=data, headers=hdrs)
        log.debug("HTTP %d from %s %s", response.status_code, method, redact(response.url))
        if response.status_code >= 400:
            raise self._error(method, response, self.breaker.retries - retries_before)
        return response

    def _send(self, session: requests.Session, method: str, url: str, **kw: Any) -> requests.Response:
        """``session.request`` with urllib3's retries, plus retries of an answer whose body broke off.

        requests reads the body after urllib3's ``urlopen`` has returned, so urllib3's ``Retry`` never sees a
        connection reset in the middle of a body (``ChunkedEncodingError``: "IncompleteRead"). Such a request is
        sent again here, when it may be (a read, or a POST of PUT entries only), with the same budget and backoff."""
        retries_before = self.breaker.retries
        broken = 0
        while True:
            try:
                response = session.request(method, url, timeout=self.timeout, **kw)
            except FhirAdapterError:
                raise
            except requests.exceptions.ChunkedEncodingError as e:
                self.breaker.failure(e)
                broken += 1
                retryable = session is self.session or method.upper() != "POST"
                if not retryable or broken > self.max_retries or self.breaker.reason is not None:
                    raise self._transport_error(method, url, e, self.breaker.retries - retries_before) from None
                self.breaker.retries += 1
                time.sleep(self.retry.backoff_factor * (2 ** (broken - 2)) if broken > 1 else 0)
                continue
            except requests.exceptions.RequestException as e:
                raise self._transport_error(method, url, e, self.breaker.retries - retries_before) from None
            self.breaker.answered()
            return response

    def _transport_error(self, method: str, url: str, e: BaseException, retries: int) -> FhirTransportError:
        """The one-line error for a request that got no HTTP answer, naming the retries really made."""
        cause = root_cause(e)
        after = f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else " (not retried)"
        if isinstance(cause, CircuitOpen):
            return FhirTransportError(
                redact(f"{method} {url}: gave up{after}: {cause}"), url=url, retries=retries, circuit_open=True
            )
        if is_tls_failure(cause) or isinstance(e, requests.exceptions.SSLError):
            what = (
                f"TLS certificate verification failed (trusting {self.verify_source}; "
                "give the server's CA with --ca-bundle)"
                if is_certificate_failure(cause)
                else "TLS handshake failed (is it an https:// server on that port? a plain http:// one answers "
                "'wrong version number')"
            )
            return FhirTransportError(
                redact(f"{method} {url}: {what}{after}: {describe_error(cause)}"),
                url=url,
                retries=retries,
                tls=True,
            )
        refused = isinstance(cause, urllib3.exceptions.NewConnectionError)
        if isinstance(e, _TIMEOUTS) or (isinstance(cause, _TIMEOUTS) and not refused):
            what = f"timed out{after} (connect {self.timeout[0]:g} s, read {self.timeout[1]:g} s)"
        else:
            what = f"could not reach the FHIR server{after}"
        return FhirTransportError(redact(f"{method} {url}: {what}: {describe_error(cause)}"), url=url, retries=retries)

    def _error(self, method: str, response: requests.Response, retries: int = 0) -> FhirServerError:
        status, url = response.status_code, response.url
        issues = _outcome_issues(response)
        # mask secrets in the whole text first: a cut made before could leave a secret's prefix
        detail = (
            "; ".join(issue_text(i) for i in issues[:3])
            if issues
            else " ".join(redact(response.text[:_TEXT_SCAN]).split())[:_BODY_EXCERPT]
        )
        if status in (401, 403):
            who = self.auth.describe() if self.auth is not None and hasattr(self.auth, "describe") else None
            hint = (
                f"the server refused the {who}"
                if who
                else "no credentials were given (set FHIR_ADAPTER_TOKEN, or use --token-file, --user or SMART)"
            )
            reason = "Unauthorized" if status == 401 else "Forbidden"
            return FhirAuthError(
                redact(f"{method} {url}: HTTP {status} {reason}: {hint}" + (f" ({detail})" if detail else "")),
                status=status,
                url=url,
                issues=issues,
            )
        after = f" (after {retries} {'retry' if retries == 1 else 'retries'})" if retries else ""
        return FhirServerError(
            redact(f"{method} {url}: HTTP {status}: {detail or response.reason}{after}"),
            status=status,
            url=url,
            issues=issues,
        )

    def json(self, method: str, path: str, **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as e:
            raise FhirServerError(
                f"{method} {response.url}: HTTP {response.status_code} but the reply is not JSON ({e})",
                status=response.status_code,
                url=response.url,
            ) from None

    # ------------------------------------------------------------------------------------------------ FHIR API

    def capabilities(self) -> dict[str, Any]:
        cs = self.json("GET", "metadata")
        if not isinstance(cs, dict) or cs.get("resourceType") != "CapabilityStatement":
            raise FhirServerError(f"GET {self.url('metadata')}: not a CapabilityStatement", url=self.url("metadata"))
        return cs

    def check_version(self) -> str:
        """The server's ``fhirVersion``, after checking it is the release asked for, or taking it as the client's
        release when none was asked for (once per client)."""
        if self.server_version is not None:
            return self.server_version
        cs = self.capabilities()
        version = str(cs.get("fhirVersion", ""))
        speaks = next(
            (r for r in FhirRelease if version == r.fhir_version or version.startswith(r.fhir_version + ".")), None
        )
        if speaks is None or (self.asked is not None and speaks != self.asked):
            hint = f"use --fhir-version {speaks}" if speaks else "fhir-adapter speaks R4 (4.0.x) and R5 (5.0.x)"
            wanted = "" if self.asked is None else f", not {self.asked} ({self.asked.fhir_version}.x)"
            raise FhirVersionMismatch(
                f"{self.base_url} speaks FHIR {version or '(no fhirVersion in its CapabilityStatement)'}"
                f"{f' ({speaks})' if speaks else ''}{wanted}: {hint}",
                url=self.url("metadata"),
            )
        self.fhir_version = speaks
        self.capability = cs
        self.server_version = version
        return version

    def search_parameters(self, resource_type: str) -> frozenset[str] | None:
        """The names of the search parameters the CapabilityStatement lists for ``resource_type``
        (``rest.resource.searchParam``, https://hl7.org/fhir/R4/capabilitystatement-definitions.html); None when it
        lists none for it (then nothing is known, and searches are sent as asked)."""
        self.check_version()
        names: set[str] = set()
        for rest in (self.capability or {}).get("rest", []):
            for resource in rest.get("resource", []) if isinstance(rest, dict) else []:
                if isinstance(resource, dict) and resource.get("type") == resource_type:
                    names |= {
                        str(p["name"]) for p in resource.get("searchParam", []) if isinstance(p, dict) and p.get("name")
                    }
        return frozenset(names) or None

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        resource: dict[str, Any] = self.json("GET", f"{resource_type}/{resource_id}")
        return resource

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction or batch bundle; the response bundle. Retried only if every entry is PUT/GET."""
        idempotent = all(
            e.get("request", {}).get("method", "GET") in ("GET", "PUT", "HEAD") for e in bundle.get("entry", [])
        )
        reply = self.json("POST", self.base_url, body=bundle, idempotent=idempotent)
        if not isinstance(reply, dict) or reply.get("resourceType") != "Bundle":
            raise FhirServerError(f"POST {self.base_url}: the reply is not a Bundle", url=self.base_url)
        return reply

    def search_pages(
        self, resource_type: str, params: dict[str, str], max_pages: int = MAX_SEARCH_PAGES
    ) -> Iterator[dict[str, Any]]:
        """Every page (searchset Bundle) of a search, following ``next`` links on the base URL's origin only (the
        session's credentials go nowhere else); a repeated link is a ``PagingLoopError``, a page past ``max_pages``
        a ``PagingLimitError``, a link to another origin a ``FhirServerError``."""
        url: str | None = self.url(resource_type)
        query: dict[str, str] | None = params
        seen: set[str] = set()
        page_number = 0
        while url:
            page_number += 1
            if page_number > max_pages:
                raise PagingLimitError(
                    f"GET {self.url(resource_type)}: the search has more than {max_pages} pages; not read further",
                    url=url,
                )
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
            if origin(nxt) != origin(self.base_url):
                raise FhirServerError(
                    f"GET {url}: page {page_number} of the search links to another server ({origin(nxt)[1]}); "
                    f"not followed (credentials and data belong to {self.base_url})",
                    url=url,
                )
            if nxt in seen:
                raise PagingLoopError(
                    f"GET {url}: page {page_number} links back to a page already read ({nxt}); "
                    "stopping (the paging would never end)",
                    url=nxt,
                )
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
                chunk = ids[start : start + ID_CHUNK]
                for page in self.search_pages(rtype, {"_id": ",".join(chunk), "_count": str(len(chunk))}):
                    for e in page.get("entry", []):
                        r = e.get("resource")
                        if isinstance(r, dict) and r.get("resourceType") == rtype and r.get("id"):
                            have[f"{rtype}/{r['id']}"] = r
                missing += [f"{rtype}/{i}" for i in chunk if f"{rtype}/{i}" not in have]
        return missing

    def fetch_canonicals(
        self, urls: Iterable[str], have: dict[str, dict[str, Any]], types: tuple[str, ...] = DEFINITION_TYPES
    ) -> tuple[dict[str, str], int]:
        """Fetch the resources whose canonical ``url`` is one of ``urls`` into ``have``: searched by ``url`` in
        batches (``GET ActivityDefinition?url=a,b,c``), each type of ``types`` in turn for the urls still not found,
        through :meth:`search_pages` (same origin, page limits). (canonical -> ``Type/id`` of each url found, the
        searches made). https://hl7.org/fhir/R5/search.html#uri"""
        wanted = list(dict.fromkeys(urls))
        found: dict[str, str] = {}
        searches = 0
        for rtype in types:
            todo = [u for u in wanted if u not in found]
            for start in range(0, len(todo), URL_CHUNK):
                chunk = todo[start : start + URL_CHUNK]
                searches += 1
                query = {"url": ",".join(_escaped(u) for u in chunk), "_count": str(len(chunk))}
                for page in self.search_pages(rtype, query):
                    for e in page.get("entry", []):
                        r = e.get("resource")
                        if (
                            isinstance(r, dict)
                            and r.get("resourceType") == rtype
                            and r.get("id")
                            and r.get("url") in chunk
                        ):
                            have.setdefault(f"{rtype}/{r['id']}", r)
                            found.setdefault(r["url"], f"{rtype}/{r['id']}")
        return found, searches


def _escaped(value: str) -> str:
    """A search value with FHIR's special characters escaped (``\\``, ``,``, ``$``, ``|``):
    https://hl7.org/fhir/R5/search.html#escaping"""
    for ch in ("\\", ",", "$", "|"):
        value = value.replace(ch, "\\" + ch)
    return value


def _outcome_issues(response: requests.Response) -> list[dict[str, Any]]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return []
    return issues_from(body)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the default port filled in: what a ``next`` link must share with the base URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)
