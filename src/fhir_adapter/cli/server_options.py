"""The options every command that talks to a FHIR server takes (``push``, ``pull``), declared once.

:func:`server_command` adds them to a command: the command declares one parameter ``server: ServerOptions`` where
``--server`` and ``--fhir-version`` go, the credential, TLS and timeout options are appended, and the command gets
them as one :class:`ServerOptions`; :meth:`ServerOptions.client` makes the client they describe.

Credentials never go on the command line: a bearer token comes from ``FHIR_ADAPTER_TOKEN`` or ``--token-file``, a
basic-auth password from ``FHIR_ADAPTER_PASSWORD`` or ``--password-file``, a SMART private key from a PEM file
(``fhir_adapter.sinks.server.auth``). A required ``--server`` may come from ``FHIR_ADAPTER_SERVER``; it must be an
``http://`` or ``https://`` URL (anything else is a usage error, before any request). ``--fhir-version`` is optional:
without it the server's CapabilityStatement decides (https://hl7.org/fhir/R4/capabilitystatement.html); it takes
``R4``, ``r4``, ``4.0.1``, ``4.0``, ``R5``, ``5.0.0`` ... (:func:`parse_release`). The options are grouped in
``--help`` (``rich_help_panel``): Server, Authentication, TLS.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from fhir_adapter.cli.common import err
from fhir_adapter.errors import ExitCode
from fhir_adapter.release import DEFAULT_RELEASE, FhirRelease

if TYPE_CHECKING:
    from fhir_adapter.sinks.server import FhirClient

__all__ = ["ENV_SERVER", "ServerOptions", "SmartAlgorithm", "Throughput", "parse_release", "server_command"]

ENV_SERVER = "FHIR_ADAPTER_SERVER"
SERVER_PANEL = "Server"
AUTH_PANEL = "Authentication"
TLS_PANEL = "TLS"
_SCHEMES = ("http://", "https://")

F = TypeVar("F", bound=Callable[..., Any])


class SmartAlgorithm(StrEnum):
    RS384 = "RS384"
    ES384 = "ES384"


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Where the FHIR server is, which release it must speak, and how to authenticate to it."""

    server: str
    release: FhirRelease | None  # None: the server's CapabilityStatement decides
    token_file: Path | None
    user: str | None
    password_file: Path | None
    smart_client_id: str | None
    smart_key: Path | None
    smart_alg: SmartAlgorithm
    smart_kid: str | None
    smart_scope: str
    smart_token_url: str | None
    ca_bundle: Path | None
    timeout: float

    @property
    def fhir_version(self) -> FhirRelease:
        """The release asked for with ``--fhir-version``, else the default (R5) where no server can say."""
        return self.release or DEFAULT_RELEASE

    def client(self, connections: int = 1) -> FhirClient:
        """The client the options describe (``connections``: requests at once in a push). Everything here happens
        before any request, so each problem is a usage error (exit 2, one line): a ``--server`` that is not an
        http(s) URL, a credential file that cannot be read, ``--user`` without a password, a CA file named in the
        environment that does not exist."""
        from fhir_adapter.errors import FhirServerError
        from fhir_adapter.sinks.server import FhirClient
        from fhir_adapter.sinks.server.auth import credentials

        check_server_url(self.server)
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise typer.BadParameter(f"{self.ca_bundle}: no such file", param_hint="'--ca-bundle'")
        try:
            auth = credentials(
                token_file=self.token_file,
                user=self.user,
                password_file=self.password_file,
                smart_client_id=self.smart_client_id,
                smart_key_file=self.smart_key,
                smart_algorithm=self.smart_alg.value,
                smart_scope=self.smart_scope,
                smart_kid=self.smart_kid,
                smart_token_url=self.smart_token_url,
            )
            return FhirClient(
                self.server,
                fhir_version=self.release,
                auth=auth,
                ca_bundle=self.ca_bundle,
                read_timeout=self.timeout,
                connections=connections,
            )
        except FhirServerError as e:  # credentials unreadable, a CA file named in the environment missing
            err(f"error: {e}")
            raise typer.Exit(ExitCode.USAGE) from None


def check_server_url(url: str) -> None:
    """A usage error unless ``url`` is an ``http://`` or ``https://`` URL with a host (``127.0.0.1:8080/fhir`` has
    no scheme: requests would refuse it without trying, and nothing is worth retrying)."""
    if not url.lower().startswith(_SCHEMES) or not url.split("://", 1)[1].split("/", 1)[0]:
        raise typer.BadParameter(
            f"{url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/fhir)", param_hint="'--server'"
        )


def parse_release(value: str | None) -> FhirRelease | None:
    """The release a ``--fhir-version`` value names: ``R4``, ``r4``, ``4.0.1``, ``4.0``, ``4`` (and the same for R5);
    None for None (the server decides). A usage error names the accepted spellings."""
    if value is None or isinstance(value, FhirRelease):
        return value
    text = value.strip().upper().removeprefix("R")
    for release in FhirRelease:
        major = release.fhir_version.split(".")[0]
        if text == major or text == release.fhir_version or text.startswith(release.fhir_version + "."):
            return release
    raise typer.BadParameter(
        f"{value!r} is not a FHIR release fhir-adapter speaks (R4, r4, 4.0.1; R5, r5, 5.0.0)",
        param_hint="'--fhir-version'",
    )


def _option(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


_RELEASE = _option(
    "release",
    Annotated[
        FhirRelease | None,
        typer.Option(
            "--fhir-version",
            metavar="R4|R5",
            parser=parse_release,
            help="FHIR release (R4, r4, 4.0.1, R5, 5.0.0); the server must speak it. Default: the release the "
            "server's CapabilityStatement names (R5 where no server is read).",
            rich_help_panel=SERVER_PANEL,
            show_default=False,
        ),
    ],
    None,
)
# where the placeholder parameter stands
_WHERE = [
    _option(
        "server",
        Annotated[
            str,
            typer.Option(
                "--server",
                envvar=ENV_SERVER,
                help="FHIR base URL (http:// or https://), e.g. http://127.0.0.1:8080/fhir.",
                rich_help_panel=SERVER_PANEL,
            ),
        ],
    ),
    _RELEASE,
]


def _grouped(
    name: str, kind: Any, flag: str, panel: str, help: str, default: Any = None, **kw: Any
) -> inspect.Parameter:
    """A keyword parameter of type ``kind`` for the option ``flag``, shown in ``--help`` under ``panel``."""
    return _option(name, Annotated[kind, typer.Option(flag, help=help, rich_help_panel=panel, **kw)], default)


# after the command's own options
_HOW = [
    _grouped(
        "token_file",
        Path | None,
        "--token-file",
        AUTH_PANEL,
        "File holding a bearer token (env var FHIR_ADAPTER_TOKEN: the token itself, when no file is given).",
    ),
    _grouped(
        "user",
        str | None,
        "--user",
        AUTH_PANEL,
        "HTTP basic user; the password comes from --password-file or env var FHIR_ADAPTER_PASSWORD.",
    ),
    _grouped("password_file", Path | None, "--password-file", AUTH_PANEL, "File holding the basic-auth password."),
    _grouped("smart_client_id", str | None, "--smart-client-id", AUTH_PANEL, "SMART backend services client id."),
    _grouped("smart_key", Path | None, "--smart-key", AUTH_PANEL, "SMART: PEM file of the private signing key."),
    _grouped(
        "smart_alg", SmartAlgorithm, "--smart-alg", AUTH_PANEL, "SMART: JWT signing algorithm.", SmartAlgorithm.RS384
    ),
    _grouped("smart_kid", str | None, "--smart-kid", AUTH_PANEL, "SMART: key id (JWT header kid)."),
    _grouped(
        "smart_scope", str, "--smart-scope", AUTH_PANEL, "SMART: scopes asked for.", "system/*.read system/*.write"
    ),
    _grouped(
        "smart_token_url",
        str | None,
        "--smart-token-url",
        AUTH_PANEL,
        "SMART: token endpoint (default: from .well-known/smart-configuration).",
    ),
    _grouped(
        "ca_bundle",
        Path | None,
        "--ca-bundle",
        TLS_PANEL,
        "PEM file of the CA certificates to trust instead of env var REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE, or "
        "the default store. TLS verification is always on; a failed check is reported at once, never retried.",
    ),
    _grouped("timeout", float, "--timeout", SERVER_PANEL, "Read timeout in seconds.", 120.0, min=1),
]
_FIELDS = [f.name for f in dataclasses.fields(ServerOptions)]


def server_command(command: F, *, optional_server: str | None = None) -> F:
    """``command`` with the server options in its signature (for typer) in place of its ``server: ServerOptions``
    parameter, which it receives filled in. ``optional_server`` (the help text of ``--server``) makes ``--server``
    optional, for a command that reads a file or a server (``match``): without it ``server.server`` is empty."""
    signature = inspect.signature(command, eval_str=True)
    own = list(signature.parameters.values())
    at = [p.name for p in own].index("server")
    keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own[at + 1 :]]
    where = _WHERE
    if optional_server is not None:
        where = [_grouped("server", str, "--server", SERVER_PANEL, optional_server, ""), *_WHERE[1:]]
    parameters = [*own[:at], *where, *keyword, *_HOW]

    @functools.wraps(command)
    def with_server(*args: Any, **kwargs: Any) -> Any:
        options = ServerOptions(**{name: kwargs.pop(name) for name in _FIELDS})
        return command(*args, server=options, **kwargs)

    with_server.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_server.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return with_server  # type: ignore[return-value]


class Throughput:
    """Progress of a push or pull on stderr: a line every ``every`` seconds while it runs (done so far, rate), and
    :meth:`finish`'s last line with the rate over the whole run. Lines, not a redrawn bar, so they never garble the
    per-trial lines on stdout, in a terminal or a log."""

    def __init__(self, verb: str, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.verb = verb
        self.every = every
        self.clock = clock
        self.start = self.last = clock()
        self.done = 0

    def add(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            err(f"{self.verb}: {self.done} trials so far, {self.rate(now):.1f} trials/s")

    def rate(self, now: float) -> float:
        return self.done / max(now - self.start, 1e-6)

    def finish(self) -> None:
        """The rate over the whole run (nothing when nothing was done: there is no rate to tell)."""
        if not self.done:
            return
        now = self.clock()
        err(f"{self.verb}: {self.done} trials in {now - self.start:.1f} s ({self.rate(now):.1f} trials/s)")
