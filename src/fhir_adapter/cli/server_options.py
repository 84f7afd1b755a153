"""The options every command that talks to a FHIR server takes (``push``, ``pull``), declared once.

:func:`server_command` adds them to a command: the command declares one parameter ``server: ServerOptions`` where
``--server`` and ``--fhir-version`` go, the credential, TLS and timeout options are appended, and the command gets
them as one :class:`ServerOptions`; :meth:`ServerOptions.client` makes the client they describe.

Credentials never go on the command line: a bearer token comes from ``FHIR_ADAPTER_TOKEN`` or ``--token-file``, a
basic-auth password from ``FHIR_ADAPTER_PASSWORD`` or ``--password-file``, a SMART private key from a PEM file
(``fhir_adapter.sinks.server.auth``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from fhir_adapter.cli.common import err
from fhir_adapter.errors import ExitCode
from fhir_adapter.release import FhirRelease

if TYPE_CHECKING:
    from fhir_adapter.sinks.server import FhirClient

__all__ = ["ServerOptions", "SmartAlgorithm", "server_command"]

F = TypeVar("F", bound=Callable[..., Any])


class SmartAlgorithm(StrEnum):
    RS384 = "RS384"
    ES384 = "ES384"


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Where the FHIR server is, which release it must speak, and how to authenticate to it."""

    server: str
    fhir_version: FhirRelease
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

    def client(self) -> FhirClient:
        """The client the options describe; a credential problem is one line and exit code FAILED."""
        from fhir_adapter.errors import FhirServerError
        from fhir_adapter.sinks.server import FhirClient
        from fhir_adapter.sinks.server.auth import credentials

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
                fhir_version=self.fhir_version,
                auth=auth,
                ca_bundle=self.ca_bundle,
                read_timeout=self.timeout,
            )
        except FhirServerError as e:  # credentials unreadable, a CA file named in the environment missing
            err(f"error: {e}")
            raise typer.Exit(ExitCode.FAILED) from None


def _option(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


# where the placeholder parameter stands
_WHERE = [
    _option("server", Annotated[str, typer.Option("--server", help="FHIR base URL, e.g. http://127.0.0.1:8080/fhir.")]),
    _option(
        "fhir_version",
        Annotated[FhirRelease, typer.Option("--fhir-version", help="FHIR release; the server must speak it.")],
        FhirRelease.R5,
    ),
]
# after the command's own options
_HOW = [
    _option(
        "token_file",
        Annotated[
            Path | None,
            typer.Option("--token-file", help="File holding a bearer token (else FHIR_ADAPTER_TOKEN is used if set)."),
        ],
        None,
    ),
    _option(
        "user",
        Annotated[
            str | None,
            typer.Option(
                "--user", help="HTTP basic user; the password comes from FHIR_ADAPTER_PASSWORD or --password-file."
            ),
        ],
        None,
    ),
    _option(
        "password_file",
        Annotated[Path | None, typer.Option("--password-file", help="File holding the basic-auth password.")],
        None,
    ),
    _option(
        "smart_client_id",
        Annotated[str | None, typer.Option("--smart-client-id", help="SMART backend services client id.")],
        None,
    ),
    _option(
        "smart_key",
        Annotated[Path | None, typer.Option("--smart-key", help="SMART: PEM file of the private signing key.")],
        None,
    ),
    _option(
        "smart_alg",
        Annotated[SmartAlgorithm, typer.Option("--smart-alg", help="SMART: JWT signing algorithm.")],
        SmartAlgorithm.RS384,
    ),
    _option(
        "smart_kid", Annotated[str | None, typer.Option("--smart-kid", help="SMART: key id (JWT header kid).")], None
    ),
    _option(
        "smart_scope",
        Annotated[str, typer.Option("--smart-scope", help="SMART: scopes asked for.")],
        "system/*.read system/*.write",
    ),
    _option(
        "smart_token_url",
        Annotated[
            str | None,
            typer.Option(
                "--smart-token-url", help="SMART: token endpoint (default: from .well-known/smart-configuration)."
            ),
        ],
        None,
    ),
    _option(
        "ca_bundle",
        Annotated[
            Path | None,
            typer.Option(
                "--ca-bundle",
                help="PEM file of the CA certificates to trust instead of REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / "
                "the default store (TLS verification is always on).",
            ),
        ],
        None,
    ),
    _option("timeout", Annotated[float, typer.Option("--timeout", min=1, help="Read timeout in seconds.")], 120.0),
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
        where = [_option("server", Annotated[str, typer.Option("--server", help=optional_server)], ""), *_WHERE[1:]]
    parameters = [*own[:at], *where, *keyword, *_HOW]

    @functools.wraps(command)
    def with_server(*args: Any, **kwargs: Any) -> Any:
        options = ServerOptions(**{name: kwargs.pop(name) for name in _FIELDS})
        return command(*args, server=options, **kwargs)

    with_server.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_server.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return with_server  # type: ignore[return-value]
