"""Credentials for FHIR servers: bearer token, HTTP basic, SMART backend services. Secrets never reach argv or logs.

- **Bearer token**: the environment variable ``FHIR_ADAPTER_TOKEN`` or a file (``--token-file``; surrounding
  whitespace stripped). Never a command-line value: argv is visible to every user of the machine (``ps``).
- **HTTP basic**: user from ``--user``; password from ``FHIR_ADAPTER_PASSWORD`` or a file (``--password-file``).
- **SMART backend services** (https://hl7.org/fhir/smart-app-launch/backend-services.html): ``client_credentials``
  grant with a signed JWT client assertion (``RS384`` or ``ES384``, PyJWT; the private key from a PEM file, key id
  ``--smart-kid`` as the JWT header ``kid``). The token endpoint comes from
  ``<base>/.well-known/smart-configuration`` (or is given). The access token is cached until 60 s before
  ``expires_in`` runs out (300 s assumed when the server does not say), then a new one is requested.

Every credential is held in a :class:`Secret`, whose ``repr``/``str`` is ``'***'``; :func:`redact` removes the
known secrets from any text (server error bodies included) before it goes into an exception or a log line.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import requests
from requests.auth import AuthBase

from fhir_adapter.errors import FhirAuthError

if TYPE_CHECKING:
    from requests import PreparedRequest

__all__ = [
    "ENV_PASSWORD",
    "ENV_TOKEN",
    "SMART_ALGORITHMS",
    "BasicAuth",
    "BearerToken",
    "Secret",
    "SmartBackendAuth",
    "credentials",
    "redact",
    "remember",
]

ENV_TOKEN = "FHIR_ADAPTER_TOKEN"
ENV_PASSWORD = "FHIR_ADAPTER_PASSWORD"
SMART_ALGORITHMS = ("RS384", "ES384")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds; the SMART spec allows at most 5 minutes
EXPIRY_MARGIN = 60  # seconds before expiry at which a cached access token is renewed
DEFAULT_EXPIRES_IN = 300

_known_secrets: set[str] = set()
_lock = threading.Lock()
SHORT_SECRET = 4  # secrets shorter than this are masked only where they stand as a value (see ``redact``)

# Credentials recognised by their shape, whoever's they are (linear-time patterns: no nested quantifiers).
# (capitalised as on the wire, and 8+ characters, so that "basic auth" or "Bearer token from" stay readable)
_SCHEME_VALUE = re.compile(r"\b(Bearer|Basic|Digest|Negotiate)(\s+)[A-Za-z0-9\-._~+/]{8,}=*")
_HEADER_VALUE = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|client_assertion|"
    r"access_token|refresh_token|id_token)(\\?[\"']?\s*[:=]\s*\\?[\"']?)([^\"'\\\r\n&]*)"
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s\"']+@")
# the boundaries of a short secret standing as a value: after = : or a quote, before a quote, & ; , or a space
_VALUE_BEFORE = ("=", ":", '"', "'", "= ", ": ", "Bearer ", "bearer ", "Basic ", "basic ")
_VALUE_AFTER = frozenset("\"'&;,")


class Secret:
    """A credential string that never shows itself in a repr, a str, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        remember(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def remember(value: str) -> None:
    """Have :func:`redact` mask ``value`` (and its URL- and JSON-escaped forms) from now on."""
    if not value:
        return
    with _lock:
        _known_secrets.update({value, quote(value, safe=""), quote_plus(value), value.replace("/", "\\/")})


def redact(text: str) -> str:
    """``text`` with every credential masked as ``***``, before it goes into a message, a log line or an excerpt.

    - by shape, whoever's they are: the value after ``Bearer``/``Basic``/... (an echoed ``Authorization``), the value
      of an ``Authorization``, ``Cookie``, ``Set-Cookie``, ``client_assertion``, ``access_token``...
      header, form field or JSON member, any JWT (``eyJ...``), the ``user:password@`` of a URL;
    - every credential this process holds (:class:`Secret`, the base64 of HTTP basic credentials), anywhere, when
      it is 4 characters or longer; a shorter one only where it stands as a value (after ``=``, ``:``, a quote or
      ``Bearer``/``Basic`` and before a quote, ``&``, ``;``, ``,``, a space or the end), so that a password ``a``
      does not mask every ``a`` of a sentence.

    Cut excerpts *after* this: a cut made first can leave a secret's prefix that no longer matches."""
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for s in secrets:
        if len(s) >= SHORT_SECRET:
            text = text.replace(s, "***")
        elif s in text:
            text = _mask_values(text, s)
    text = _SCHEME_VALUE.sub(r"\1\2***", text)
    text = _HEADER_VALUE.sub(lambda m: m.group(1) + m.group(2) + ("***" if m.group(3).strip() else ""), text)
    text = _JWT.sub("***", text)
    return _URL_USERINFO.sub("***@", text)


def _mask_values(text: str, secret: str) -> str:
    """``text`` with ``secret`` masked where it stands as a value (see :func:`redact`); one pass, no regex."""
    out, start = [], 0
    while (at := text.find(secret, start)) != -1:
        end = at + len(secret)
        after = text[end : end + 1]
        standalone = (not after or after in _VALUE_AFTER or after.isspace()) and text.endswith(_VALUE_BEFORE, 0, at)
        out.append(text[start:at] + ("***" if standalone else secret))
        start = end
    out.append(text[start:])
    return "".join(out)


def _read_secret_file(path: Path, what: str) -> Secret:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise FhirAuthError(f"cannot read the {what} file {path}: {e.strerror or e}") from None
    if not value:
        raise FhirAuthError(f"the {what} file {path} is empty")
    return Secret(value)


class BearerToken(AuthBase):
    """``Authorization: Bearer <token>``."""

    def __init__(self, token: Secret, source: str) -> None:
        self.token = token
        self.source = source  # where it came from, for messages: "FHIR_ADAPTER_TOKEN" or the file name

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token.reveal()}"
        return r

    def describe(self) -> str:
        return f"bearer token from {self.source}"

    def __repr__(self) -> str:
        return f"BearerToken(source={self.source!r})"


class BasicAuth(AuthBase):
    """HTTP basic authentication."""

    def __init__(self, user: str, password: Secret, source: str) -> None:
        self.user = user
        self.password = password
        self.source = source
        # what goes on the wire: the base64 of user:password (masked whatever the password's length)
        pair = f"{user}:{password.reveal()}"
        remember(pair)
        remember(base64.b64encode(pair.encode("latin-1", "replace")).decode("ascii"))

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        prepared: PreparedRequest = requests.auth.HTTPBasicAuth(self.user, self.password.reveal())(r)
        return prepared

    def describe(self) -> str:
        return f"HTTP basic auth as {self.user!r} (password from {self.source})"

    def __repr__(self) -> str:
        return f"BasicAuth(user={self.user!r}, source={self.source!r})"


@dataclass
class SmartBackendAuth(AuthBase):
    """SMART backend services: ``client_credentials`` with a signed JWT assertion, access token cached.

    ``session`` is the FHIR client's own session (set by ``FhirClient``): the token endpoint gets the same TLS
    settings, retries and User-Agent, but no Authorization header."""

    client_id: str
    key_file: Path
    algorithm: str = "RS384"
    scope: str = "system/*.read system/*.write"
    kid: str | None = None
    token_url: str | None = None
    session: requests.Session | None = None
    base_url: str = ""
    timeout: tuple[float, float] = (10.0, 60.0)
    _key: Secret | None = field(default=None, repr=False)
    _token: Secret | None = field(default=None, repr=False)
    _expires_at: float = field(default=0.0, repr=False)
    # one token request at a time: a push on several connections asks for a token from several threads
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.algorithm not in SMART_ALGORITHMS:
            raise FhirAuthError(
                f"SMART algorithm {self.algorithm!r} is not supported (use {' or '.join(SMART_ALGORITHMS)})"
            )
        self._key = _read_secret_file(self.key_file, "SMART private key")

    def __repr__(self) -> str:
        return (
            f"SmartBackendAuth(client_id={self.client_id!r}, key_file={str(self.key_file)!r}, "
            f"algorithm={self.algorithm!r}, token_url={self.token_url!r})"
        )

    def describe(self) -> str:
        return f"SMART backend services as client {self.client_id!r}"

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.access_token().reveal()}"
        return r

    # ------------------------------------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        if self.session is None:
            self.session = requests.Session()
        return self.session

    def discover(self) -> str:
        """The token endpoint, from ``<base>/.well-known/smart-configuration`` unless given."""
        if self.token_url:
            return self.token_url
        url = f"{self.base_url.rstrip('/')}/.well-known/smart-configuration"
        try:
            response = self._http().get(
                url, timeout=self.timeout, auth=_NoAuth(), headers={"Accept": "application/json"}
            )
        except requests.exceptions.RequestException as e:
            raise FhirAuthError(f"{url}: cannot read the SMART configuration: {type(e).__name__}", url=url) from None
        if response.status_code != 200:
            raise FhirAuthError(
                f"{url}: HTTP {response.status_code}: no SMART configuration (give the token "
                "endpoint with --smart-token-url)",
                status=response.status_code,
                url=url,
            )
        try:
            endpoint = response.json().get("token_endpoint")
        except (ValueError, AttributeError):
            endpoint = None
        if not isinstance(endpoint, str) or not endpoint:
            raise FhirAuthError(f"{url}: the SMART configuration names no token_endpoint", url=url)
        self.token_url = endpoint
        return endpoint

    def assertion(self, token_url: str, now: float | None = None) -> str:
        """The signed client assertion (a JWT) for one token request."""
        import jwt

        now = time.time() if now is None else now
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "exp": int(now) + ASSERTION_LIFETIME,
            "iat": int(now),
            "jti": str(uuid.uuid4()),
        }
        headers = {"typ": "JWT", **({"kid": self.kid} if self.kid else {})}
        assert self._key is not None
        try:
            assertion = jwt.encode(claims, self._key.reveal(), algorithm=self.algorithm, headers=headers)
        except (ValueError, TypeError, jwt.exceptions.PyJWTError) as e:
            # the message of a key-loading error names no key material
            raise FhirAuthError(
                f"cannot sign the SMART client assertion with {self.key_file} ({self.algorithm}): {type(e).__name__}"
            ) from None
        remember(assertion)
        return assertion

    def access_token(self) -> Secret:
        """A valid access token: the cached one, or a new one from the token endpoint (one request at a time)."""
        with self._lock:
            return self._access_token()

    def _access_token(self) -> Secret:
        if self._token is not None and time.time() < self._expires_at - EXPIRY_MARGIN:
            return self._token
        token_url = self.discover()
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(token_url),
        }
        try:
            response = self._http().post(
                token_url, data=form, timeout=self.timeout, auth=_NoAuth(), headers={"Accept": "application/json"}
            )
        except requests.exceptions.RequestException as e:
            raise FhirAuthError(
                f"{token_url}: cannot reach the token endpoint: {type(e).__name__}", url=token_url
            ) from None
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error", "") if isinstance(body, dict) else ""
            raise FhirAuthError(
                f"{token_url}: HTTP {response.status_code}: the token endpoint refused client "
                f"{self.client_id!r}{': ' + redact(str(error)) if error else ''}",
                status=response.status_code,
                url=token_url,
            )
        self._token = Secret(str(body["access_token"]))
        try:
            expires_in = float(body.get("expires_in", DEFAULT_EXPIRES_IN))
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN
        self._expires_at = time.time() + expires_in
        return self._token


class _NoAuth(AuthBase):
    """No Authorization header (the session-level auth must not go to the token endpoint)."""

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        r.headers.pop("Authorization", None)
        return r


def credentials(
    *,
    token_file: Path | None = None,
    user: str | None = None,
    password_file: Path | None = None,
    smart_client_id: str | None = None,
    smart_key_file: Path | None = None,
    smart_algorithm: str = "RS384",
    smart_scope: str = "system/*.read system/*.write",
    smart_kid: str | None = None,
    smart_token_url: str | None = None,
    environ: dict[str, str] | None = None,
) -> AuthBase | None:
    """The authentication the options and environment ask for (at most one kind), or None.

    Precedence: SMART (client id + key) > HTTP basic (user) > bearer token (file, else ``FHIR_ADAPTER_TOKEN``)."""
    env = os.environ if environ is None else environ
    if smart_client_id or smart_key_file:
        if not (smart_client_id and smart_key_file):
            raise FhirAuthError("SMART backend services need both --smart-client-id and --smart-key")
        return SmartBackendAuth(
            smart_client_id, smart_key_file, smart_algorithm, smart_scope, smart_kid, smart_token_url
        )
    if user:
        if password_file is not None:
            return BasicAuth(user, _read_secret_file(password_file, "password"), str(password_file))
        if env.get(ENV_PASSWORD):
            return BasicAuth(user, Secret(env[ENV_PASSWORD]), ENV_PASSWORD)
        raise FhirAuthError(f"--user needs a password: set {ENV_PASSWORD} or give --password-file")
    if token_file is not None:
        return BearerToken(_read_secret_file(token_file, "token"), str(token_file))
    if env.get(ENV_TOKEN):
        return BearerToken(Secret(env[ENV_TOKEN].strip()), ENV_TOKEN)
    return None
