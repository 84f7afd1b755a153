"""Helpers shared by the HTTP clients (``sources.ctgov_api``, ``sinks.server.client``): the session set-up
(:func:`configured_session`), one-line descriptions of transport errors and the TLS settings (:func:`tls_verify`,
:class:`VerifyingSession`). It lives outside ``sources`` and ``sinks`` because both use it (neither imports the other).

Environment variables the clients honour: ``REQUESTS_CA_BUNDLE`` then ``CURL_CA_BUNDLE`` (a CA file, used only when
no ``ca_bundle`` / ``--ca-bundle`` is given), and the proxy variables ``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY`` and ``NO_PROXY``. ``~/.netrc`` is not read (credentials come from fhir-adapter's own options).
"""

from __future__ import annotations

import os
import re
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import requests
import urllib3
import urllib3.connection
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from fhir_adapter import __version__
from fhir_adapter.errors import FhirServerError

if TYPE_CHECKING:
    from requests.auth import AuthBase
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

USER_AGENT = f"fhir-adapter/{__version__} (+https://fhir-adapter.dev)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRY_AFTER_MAX = 300  # seconds; a server asking for longer gets this (urllib3's own default is 6 hours)


def configured_session(
    session: requests.Session, verify: str | bool, retry: Retry, accept: str, auth: AuthBase | None = None
) -> requests.Session:
    """``session`` set up the way every client of fhir-adapter uses one: ``verify`` (from :func:`tls_verify`), the
    User-Agent, ``Accept``, ``auth``, and ``retry`` (urllib3's ``Retry``) mounted for ``http://`` and ``https://``."""
    session.verify = verify
    if auth is not None:
        session.auth = auth
    session.headers.update({"User-Agent": USER_AGENT, "Accept": accept})
    adapter = _TlsAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class SessionOwner:
    """A client over ``requests`` sessions (``own_sessions``): closed by ``close`` or at the end of a ``with`` block."""

    def own_sessions(self) -> tuple[requests.Session, ...]:
        return ()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for session in self.own_sessions():
            session.close()


def root_cause(error: BaseException) -> BaseException:
    """The innermost cause of a requests/urllib3 error (``MaxRetryError.reason``, wrapped ``args[0]``)."""
    while True:
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException) and error.args and isinstance(error.args[0], BaseException):
            inner = error.args[0]
        if not isinstance(inner, BaseException):
            return error
        error = inner


_POOL_PREFIX = re.compile(r"^\w+\(host='[^']*', port=\d+\): ")


def describe_error(error: BaseException) -> str:
    """``Type: message`` in one line, without urllib3's ``HTTPConnectionPool(host=..., port=...):`` prefix."""
    text = _POOL_PREFIX.sub("", " ".join(str(error).split()))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ------------------------------------------------------------------------------------------------------------- TLS

CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def tls_verify(
    ca_bundle: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> tuple[str | bool, str]:
    """(``session.verify``, which CAs are trusted, in words) for a client: the ``ca_bundle`` argument
    (``--ca-bundle``) when given, pinned by :class:`VerifyingSession`; else ``True``, which requests turns into
    ``REQUESTS_CA_BUNDLE`` then ``CURL_CA_BUNDLE`` when set and not empty, else certifi's store. A named file that
    does not exist is a ``FileNotFoundError`` naming where it was named. No value turns verification off."""
    if ca_bundle:
        path = Path(ca_bundle)
        if not path.exists():
            raise FileNotFoundError(f"--ca-bundle {path}: no such file")
        return str(path), f"--ca-bundle {path}"
    env = os.environ if environ is None else environ
    for name in CA_BUNDLE_ENV:
        value = env.get(name, "").strip()
        if value:
            if not Path(value).exists():
                raise FileNotFoundError(f"{name}={value}: no such file (unset it or give --ca-bundle)")
            return True, f"{name}={value}"
    return True, "the default CA store (certifi)"


class VerifyingSession(requests.Session):
    """A ``requests.Session`` whose ``verify`` the environment cannot change.

    requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` replace ``session.verify`` on every request
    (``merge_environment_settings``), so a ``--ca-bundle`` given on the command line would lose to a variable set in
    the shell. Here a CA file set on the session (see :func:`tls_verify`) always wins, and ``False`` never gets
    through; with ``verify=True`` requests' own choice stands (the environment's CA file, else certifi).
    Proxies (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) still come from the environment."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if isinstance(self.verify, str):  # a CA file given explicitly: the environment must not replace it
            settings["verify"] = self.verify
        elif not settings["verify"]:
            settings["verify"] = True
        return settings

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if request.auth is None and self.auth is None:
            request.auth = _unchanged  # else requests would send credentials found in ~/.netrc
        return super().prepare_request(request)


class TlsHandshakeError(ssl.SSLError):
    """The connection broke during the TLS handshake (reset or closed by the server, or by something between)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "TLS handshake failed"


class _HandshakeConnection(urllib3.connection.HTTPSConnection):
    """An HTTPS connection whose failure *during the TLS handshake* is a TLS error, never retried.

    urllib3 reports a connection reset in the handshake as ``ProtocolError("Connection aborted.")``, a read error its
    ``Retry`` retries: 5 retries with backoff, about 17 s (measured) against a server that refuses the handshake.
    A reset before the TCP connection exists is urllib3's ``NewConnectionError`` (retried, as a refused connection
    is), and a timeout stays a timeout."""

    def connect(self) -> None:
        tcp: list[bool] = []
        new_conn = self._new_conn

        def opened() -> Any:
            sock = new_conn()
            tcp.append(True)
            return sock

        self._new_conn = opened  # type: ignore[method-assign]
        try:
            super().connect()
        except (ssl.SSLError, TimeoutError):
            raise
        except OSError as e:
            if not tcp:
                raise
            raise TlsHandshakeError(f"the connection broke during the handshake: {e}") from e
        finally:
            del self._new_conn


class _HandshakePool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HandshakeConnection


class _TlsAdapter(HTTPAdapter):
    """requests' adapter with HTTPS connections from :class:`_HandshakeConnection` (direct, not through a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme, "https": _HandshakePool}


def _unchanged(r: requests.PreparedRequest) -> requests.PreparedRequest:
    return r


def is_tls_failure(error: BaseException) -> bool:
    """Whether a transport error is a failed TLS handshake / certificate check (never worth retrying)."""
    return isinstance(error, (ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError))


def is_certificate_failure(error: BaseException) -> bool:
    """Whether a TLS failure is the certificate check (rather than a handshake the server broke or refused)."""
    return isinstance(error, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(error)


# ------------------------------------------------------------------------------------------ retries and breaker


class CircuitOpen(Exception):
    """Raised inside urllib3 (as a ``MaxRetryError`` reason) when the circuit breaker is open: no more attempts."""


class CircuitBreaker:
    """Stops a client from knocking on a server that has gone away.

    Opens after ``max_failures`` consecutive transport failures (connection refused or reset, connect or read
    timeout, retries included), or when a run of at least two of them has lasted ``max_seconds``. Any HTTP answer,
    whatever its status, ends the run (the server is there). Once open it stays open: every later request fails at
    once. Also counts the retries urllib3 makes (``retries``), so that messages say how many were really made."""

    def __init__(
        self, max_failures: int = 8, max_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.max_seconds = max_seconds
        self.clock = clock
        self.failures = 0
        self.since = 0.0
        self.reason: str | None = None  # why it opened; None while closed
        self.retries = 0

    @property
    def open(self) -> bool:
        return self.reason is not None

    def answered(self) -> None:
        self.failures = 0

    def failure(self, error: BaseException) -> None:
        now = self.clock()
        if self.failures == 0:
            self.since = now
        self.failures += 1
        lasted = now - self.since
        if self.reason is None and (
            self.failures >= self.max_failures or (self.failures >= 2 and lasted >= self.max_seconds)
        ):
            self.reason = (
                f"circuit breaker open: {self.failures} transport failures in a row over {lasted:.0f} s "
                f"(last: {describe_error(root_cause(error))})"
            )


class CountingRetry(Retry):
    """urllib3's ``Retry`` that reports to a :class:`CircuitBreaker`: transport failures and answers, and each retry
    it decides to make. With the breaker open it makes no more attempts."""

    def __init__(self, *args: Any, breaker: CircuitBreaker | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breaker = breaker

    def new(self, **kw: Any) -> Self:
        new = super().new(**kw)
        new.breaker = self.breaker
        return new

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        breaker = self.breaker
        if breaker is not None:
            if response is not None:
                breaker.answered()
            elif error is not None:
                breaker.failure(error)
            if breaker.reason is not None:
                raise urllib3.exceptions.MaxRetryError(_pool, url or "", CircuitOpen(breaker.reason))  # type: ignore[arg-type]
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        if breaker is not None:  # super() raised when it would not retry: this one is made
            breaker.retries += 1
        return new


class FhirTransportError(FhirServerError):
    """No HTTP answer: the FHIR server could not be reached, the connection broke or timed out (after the retries
    counted in ``retries``), the TLS check failed (``tls``), or the circuit breaker is open (``circuit_open``).
    Re-exported by ``fhir_adapter.sinks.server``. After a POST it is unknown whether the server acted on the request."""

    def __init__(
        self, message: str, *, url: str | None = None, retries: int = 0, tls: bool = False, circuit_open: bool = False
    ) -> None:
        super().__init__(message, url=url)
        self.retries = retries
        self.tls = tls
        self.circuit_open = circuit_open
