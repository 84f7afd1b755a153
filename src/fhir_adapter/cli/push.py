"""``fhir-adapter push``: converted bundles (or any input ``convert`` reads) -> a FHIR server, as transactions.

Credentials never go on the command line: a bearer token comes from ``FHIR_ADAPTER_TOKEN`` or ``--token-file``, a
basic-auth password from ``FHIR_ADAPTER_PASSWORD`` or ``--password-file``, a SMART private key from a PEM file.
See ``fhir_adapter.client`` (requests, retries, modes) and ``fhir_adapter.auth``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fhir_adapter.cli.common import err, out, require_paths
from fhir_adapter.errors import ExitCode

if TYPE_CHECKING:
    from fhir_adapter.client import FhirClient, PushResult


class FhirVersion(StrEnum):
    R5 = "R5"
    R4 = "R4"


class PushMode(StrEnum):
    transaction = "transaction"
    batch = "batch"


class SmartAlgorithm(StrEnum):
    RS384 = "RS384"
    ES384 = "ES384"


Server = Annotated[str, typer.Option("--server", help="FHIR base URL, e.g. http://127.0.0.1:8080/fhir.")]
Version = Annotated[FhirVersion, typer.Option("--fhir-version", help="FHIR release; the server must speak it.")]
TokenFile = Annotated[
    Path | None,
    typer.Option("--token-file", help="File holding a bearer token (else FHIR_ADAPTER_TOKEN is used if set)."),
]
User = Annotated[
    str | None,
    typer.Option("--user", help="HTTP basic user; the password comes from FHIR_ADAPTER_PASSWORD or --password-file."),
]
PasswordFile = Annotated[Path | None, typer.Option("--password-file", help="File holding the basic-auth password.")]
SmartClient = Annotated[str | None, typer.Option("--smart-client-id", help="SMART backend services client id.")]
SmartKey = Annotated[Path | None, typer.Option("--smart-key", help="SMART: PEM file of the private signing key.")]
SmartAlg = Annotated[SmartAlgorithm, typer.Option("--smart-alg", help="SMART: JWT signing algorithm.")]
SmartKid = Annotated[str | None, typer.Option("--smart-kid", help="SMART: key id (JWT header kid).")]
SmartScope = Annotated[str, typer.Option("--smart-scope", help="SMART: scopes asked for.")]
SmartTokenUrl = Annotated[
    str | None,
    typer.Option("--smart-token-url", help="SMART: token endpoint (default: from .well-known/smart-configuration)."),
]
CaBundle = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        help="PEM file of the CA certificates to trust instead of REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / "
        "the default store (TLS verification is always on).",
    ),
]
Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Read timeout in seconds.")]


def make_client(
    server: str,
    fhir_version: str,
    *,
    token_file: Path | None,
    user: str | None,
    password_file: Path | None,
    smart_client_id: str | None,
    smart_key: Path | None,
    smart_alg: str,
    smart_kid: str | None,
    smart_scope: str,
    smart_token_url: str | None,
    ca_bundle: Path | None,
    timeout: float,
) -> FhirClient:
    """The client the options describe; a credential problem is one line and exit code FAILED."""
    from fhir_adapter.auth import credentials
    from fhir_adapter.client import FhirClient
    from fhir_adapter.errors import FhirServerError

    if ca_bundle is not None and not ca_bundle.is_file():
        raise typer.BadParameter(f"{ca_bundle}: no such file", param_hint="'--ca-bundle'")
    try:
        auth = credentials(
            token_file=token_file,
            user=user,
            password_file=password_file,
            smart_client_id=smart_client_id,
            smart_key_file=smart_key,
            smart_algorithm=smart_alg,
            smart_scope=smart_scope,
            smart_kid=smart_kid,
            smart_token_url=smart_token_url,
        )
        return FhirClient(server, fhir_version=fhir_version, auth=auth, ca_bundle=ca_bundle, read_timeout=timeout)
    except FhirServerError as e:  # credentials unreadable, a CA file named in the environment missing
        err(f"error: {e}")
        raise typer.Exit(ExitCode.FAILED) from None


def push(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...",
            help="Converted bundles (collection or transaction) and/or inputs to convert on the fly.",
            show_default=False,
        ),
    ],
    server: Server,
    fhir_version: Version = FhirVersion.R5,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Trials per request.")] = 1,
    mode: Annotated[
        PushMode, typer.Option("--mode", help="transaction: atomic per chunk; batch: entries independent.")
    ] = PushMode.transaction,
    token_file: TokenFile = None,
    user: User = None,
    password_file: PasswordFile = None,
    smart_client_id: SmartClient = None,
    smart_key: SmartKey = None,
    smart_alg: SmartAlg = SmartAlgorithm.RS384,
    smart_kid: SmartKid = None,
    smart_scope: SmartScope = "system/*.read system/*.write",
    smart_token_url: SmartTokenUrl = None,
    ca_bundle: CaBundle = None,
    timeout: Timeout = 120.0,
) -> None:
    """Push trials to a FHIR server with conditional PUTs (pushing twice changes nothing). Exit 0 iff all went in.

    Every trial ends pushed, FAILED (with the reason) or NOT ATTEMPTED (the push stopped: credentials refused, the
    server gone, the wrong FHIR release); the last line counts all three. Running the same push again completes it.
    """
    from fhir_adapter.client import push_paths

    require_paths(inputs)
    client = make_client(
        server,
        fhir_version.value,
        token_file=token_file,
        user=user,
        password_file=password_file,
        smart_client_id=smart_client_id,
        smart_key=smart_key,
        smart_alg=smart_alg.value,
        smart_kid=smart_kid,
        smart_scope=smart_scope,
        smart_token_url=smart_token_url,
        ca_bundle=ca_bundle,
        timeout=timeout,
    )
    with client:
        summary = push_paths(
            client,
            inputs,
            mode=mode.value,
            batch_size=batch_size,
            on_result=_report,
            on_input_error=lambda line: err(f"FAILED {line}"),
            on_not_attempted=_NotAttempted(),
        )
    if summary.stopped is not None and not summary.not_attempted:
        err(f"error: push stopped: {summary.stopped}")
    out(
        f"{summary.pushed} trials pushed, {summary.failed} failed, {len(summary.not_attempted)} not attempted; "
        f"{summary.resources} resources ({summary.created} created, {summary.updated} updated or unchanged), "
        f"{summary.requests} requests, {summary.retries} retries, {summary.read_back} trials read back "
        f"({summary.verified} found pushed)"
    )
    if summary.failed or summary.not_attempted or summary.stopped:
        raise typer.Exit(ExitCode.FAILED)


class _NotAttempted:
    """Prints why the push stopped (once), then one line per trial left out."""

    def __init__(self) -> None:
        self.said = False

    def __call__(self, nct_id: str, reason: str) -> None:
        if not self.said:
            err(f"error: push stopped: {reason}")
            self.said = True
        err(f"NOT ATTEMPTED {nct_id or '(no NCT id)'}: the push stopped before it was sent")


def _report(result: PushResult) -> None:
    """One line per trial of a chunk: ok (how it is known), or FAILED with the server's issues first."""
    verified = (
        f"; the answer was lost, read back: {', '.join(sorted(result.verified))} on the server as sent"
        if result.verified
        else ""
    )
    if result.ok:
        out(
            f"ok {', '.join(result.nct_ids)}: {result.resources} resources ({result.created} created, "
            f"{result.updated} updated or unchanged){verified}"
        )
        return
    for issue in result.issues:
        err(f"FAILED {issue}")
    pushed = [n for n in result.nct_ids if n not in result.failed_trials]
    if pushed:
        out(f"ok {', '.join(pushed)}{verified}")
    for nct in result.nct_ids:
        if nct in result.failed_trials:
            err(f"FAILED {nct}: not pushed")
