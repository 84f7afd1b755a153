"""A small client for the `ClinicalTrials.gov API v2 <https://clinicaltrials.gov/data-api/api>`_.

::

    with CtgovClient() as api:
        study = api.get_study("NCT02513394")                    # one study (a dict, as the API sent it)
        for study in api.search("asthma", ["RECRUITING"], date(2025, 1, 1)):
            ...                                                 # every matching study, page after page

- Base URL: the ``base_url`` argument, else the environment variable ``FHIR_ADAPTER_CTGOV_URL``, else
  ``https://clinicaltrials.gov/api/v2``.
- Retries (429, 500, 502, 503, 504, connection errors, read timeouts) are urllib3's ``Retry`` mounted on the
  session's ``HTTPAdapter``: 5 in total, exponential backoff (factor 0.5: 0, 1, 2, 4, 8 s), ``Retry-After`` honoured
  (capped at :data:`RETRY_AFTER_MAX` seconds); a failed TLS check is not retried. Timeouts: connect 10 s, read 60 s.
- TLS certificates are always verified: against ``ca_bundle`` when given (no environment variable overrides it),
  else ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` when set, else certifi's store (``fhir_adapter._http``).
- Errors: :class:`StudyNotFound` (HTTP 404 on ``/studies/{nctId}``) and :class:`CtgovApiError` (any other HTTP
  error, a network failure after the retries, a response that is not the expected JSON); both are
  ``FhirAdapterError``. A malformed NCT id or status token is a ``ValueError``, raised before any request.
- Response bodies are logged at DEBUG only.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import orjson
import requests
import urllib3.exceptions
from urllib3.util import Retry

from fhir_adapter import _http
from fhir_adapter._http import RETRY_STATUSES
from fhir_adapter.errors import FhirAdapterError

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_BASE_URL",
    "MAX_PAGE_SIZE",
    "RETRY_STATUSES",
    "CtgovApiError",
    "CtgovClient",
    "StudyNotFound",
    "normalize_nct_id",
    "normalize_statuses",
    "study_nct_id",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
ENV_BASE_URL = "FHIR_ADAPTER_CTGOV_URL"
MAX_PAGE_SIZE = 1000
RETRY_TOTAL = 5
BACKOFF_FACTOR = 0.5
_NCT_ID = re.compile(r"NCT\d{8}")
_BODY_EXCERPT = 200
_TIMEOUTS = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


class CtgovApiError(FhirAdapterError):
    """ClinicalTrials.gov answered with an error, sent something unreadable, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        self.message = message
        self.status = status
        self.url = url
        super().__init__(message)


class StudyNotFound(CtgovApiError):
    """ClinicalTrials.gov has no study with this NCT id (HTTP 404)."""

    def __init__(self, nct_id: str, *, url: str | None = None) -> None:
        self.nct_id = nct_id
        super().__init__(f"{nct_id}: not found on ClinicalTrials.gov", status=404, url=url)


def normalize_nct_id(value: str) -> str:
    """``value`` as an NCT id (``NCT`` + 8 digits; surrounding space and case are forgiven); ValueError otherwise."""
    nct_id = value.strip().upper()
    if not _NCT_ID.fullmatch(nct_id):
        raise ValueError(f"{value!r} is not an NCT id (NCT followed by 8 digits, e.g. NCT02513394)")
    return nct_id


def normalize_statuses(values: list[str]) -> list[str]:
    """Overall-status values as API v2 tokens (``RECRUITING``; legacy wording such as "Active, not recruiting" is
    accepted). ValueError naming the allowed tokens for anything else."""
    from fhir_adapter.terminology import enum_values, normalize

    allowed = enum_values("overall-status")
    tokens = []
    for value in values:
        token = value.strip().upper() if value.strip().upper() in allowed else normalize("overall-status", value)
        if token not in allowed:
            raise ValueError(f"{value!r} is not an overall status; use one of {', '.join(allowed)}")
        tokens.append(token)
    return tokens


def study_nct_id(study: Any) -> str | None:
    """The NCT id a v2 study document names (``protocolSection.identificationModule.nctId``), if well-formed."""
    try:
        value = study["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) and _NCT_ID.fullmatch(value) else None


class CtgovClient(_http.SessionOwner):
    """ClinicalTrials.gov API v2 over one ``requests.Session`` (keep-alive, retries, timeouts, User-Agent)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retries: int = RETRY_TOTAL,
        backoff_factor: float = BACKOFF_FACTOR,
        session: requests.Session | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.retry = Retry(
            total=retries,
            backoff_factor=backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            retry_after_max=_http.RETRY_AFTER_MAX,
            raise_on_status=False,  # after the last retry, hand back the response: the error names its status
            other=0,  # a failed TLS check: the same certificate again would fail again
        )
        try:
            verify, self.verify_source = _http.tls_verify(ca_bundle)
        except FileNotFoundError as e:
            raise CtgovApiError(f"TLS: {e}") from None
        self.session = _http.configured_session(
            session or _http.VerifyingSession(), verify, self.retry, "application/json"
        )

    def own_sessions(self) -> tuple[requests.Session, ...]:
        return (self.session,)

    # ------------------------------------------------------------------------------------------------- endpoints

    def get_study(self, nct_id: str) -> dict[str, Any]:
        """``GET /studies/{nctId}``: the study as the API sent it. StudyNotFound for an unknown id."""
        nct_id = normalize_nct_id(nct_id)
        url = f"{self.base_url}/studies/{nct_id}"
        response = self._get(url, {"format": "json"}, not_found=nct_id)
        study = _json(response)
        if not isinstance(study, dict):
            raise CtgovApiError(f"{url}: expected a study object, got {type(study).__name__}", url=url)
        return study

    def search(
        self,
        query: str | None = None,
        statuses: list[str] | None = None,
        updated_since: date | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every study of ``GET /studies`` matching the filters, one at a time, following ``nextPageToken``.

        Memory holds one page (``page_size`` studies, at most 1000) at a time. ``statuses`` are overall-status
        tokens (checked with :func:`normalize_statuses`); ``updated_since`` keeps studies whose last update was
        posted on or after that day. A page token the server repeats is a CtgovApiError (it would loop forever).
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        params: dict[str, str] = {"format": "json", "pageSize": str(page_size)}
        if query:
            params["query.term"] = query
        if statuses:
            params["filter.overallStatus"] = ",".join(normalize_statuses(statuses))
        if updated_since is not None:
            params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{updated_since.isoformat()},MAX]"
        url = f"{self.base_url}/studies"
        seen_tokens: set[str] = set()
        page_number = 0
        while True:
            page_number += 1
            page = _json(self._get(url, params))
            if not isinstance(page, dict) or not isinstance(page.get("studies", []), list):
                raise CtgovApiError(f"{url}: page {page_number} is not a studies page", url=url)
            studies: list[Any] = page.get("studies", [])
            token = page.get("nextPageToken")
            del page
            log.debug("page %d: %d studies, next page token %r", page_number, len(studies), token)
            studies.reverse()  # pop from the end: each study is dropped from the page as soon as it is handed out
            while studies:
                yield studies.pop()
            if not token:
                return
            if not isinstance(token, str) or token in seen_tokens:
                raise CtgovApiError(
                    f"{url}: page {page_number} repeats the page token {str(token)[:40]!r}; stopping (the paging "
                    "would never end)",
                    url=url,
                )
            seen_tokens.add(token)
            params["pageToken"] = token

    # ------------------------------------------------------------------------------------------------- transport

    def _get(self, url: str, params: dict[str, str], *, not_found: str | None = None) -> requests.Response:
        log.debug("GET %s %s", url, params)
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.RequestException as e:
            cause = _http.root_cause(e)
            refused = isinstance(cause, urllib3.exceptions.NewConnectionError)  # a ConnectTimeoutError subclass
            if _http.is_tls_failure(cause) or isinstance(e, requests.exceptions.SSLError):
                raise CtgovApiError(
                    f"{url}: TLS certificate verification failed (trusting {self.verify_source}): "
                    f"{_http.describe_error(cause)}",
                    url=url,
                ) from None
            # urllib3 raises MaxRetryError only once its retries are spent; anything else was not retried
            retried = any(isinstance(a, urllib3.exceptions.MaxRetryError) for a in (e, *e.args))
            tries = f"after {self.retry.total} retries" if retried else "(not retried)"
            if isinstance(e, _TIMEOUTS) or (isinstance(cause, _TIMEOUTS) and not refused):
                what = f"timed out {tries} (connect {self.timeout[0]:g} s, read {self.timeout[1]:g} s)"
            else:
                what = f"could not reach ClinicalTrials.gov {tries}"
            raise CtgovApiError(f"{url}: {what}: {_http.describe_error(cause)}", url=url) from None
        log.debug("HTTP %d from %s: %s", response.status_code, response.url, response.content[:2000])
        if response.status_code == 404 and not_found is not None:
            raise StudyNotFound(not_found, url=url)
        if response.status_code >= 400:
            excerpt = " ".join(response.text[:_BODY_EXCERPT].split())
            raise CtgovApiError(f"{url}: HTTP {response.status_code}: {excerpt}", status=response.status_code, url=url)
        return response


def _json(response: requests.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as e:
        raise CtgovApiError(f"{response.url}: the response is not JSON ({e})", url=response.url) from None
