"""``fhir-adapter push``: converted bundles (or any input ``convert`` reads) -> a FHIR server, as transactions.

Raw inputs are read, mapped and validated as ``convert`` does (``fhir_adapter.delivery``); Bundle files are
validated too. A record that fails is never sent: it is printed as a ``FAILED`` line and, with ``--output DIR``,
listed in ``DIR/errors.jsonl``. Server and credential options: ``fhir_adapter.cli.server_options``; requests,
retries and modes: ``fhir_adapter.sinks.server``.

Exit codes (``fhir_adapter.errors.ExitCode``): 0 every trial went in; 1 a trial failed or was not attempted;
2 usage (a bad option, ``--server`` without http(s)://, an input that cannot be read, a Bundle file of the other
FHIR release); 3 no trial in the inputs (a path that does not exist, or inputs holding no record; folders without
a file and empty files are found before any request).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fhir_adapter.cli.common import check_output, err, make_output, out, require_paths
from fhir_adapter.cli.server_options import ServerOptions, Throughput, server_command
from fhir_adapter.errors import ExitCode

if TYPE_CHECKING:
    from fhir_adapter.sinks import ErrorLog
    from fhir_adapter.sinks.server import FhirClient, PushResult, PushSummary


PUSH_PANEL = "Push"
OUTPUT_PANEL = "Output"
# The fastest setting that stays correct on HAPI R5 and Medplum (README, "FHIR servers: push and pull": trials/s with
# 1, 2 and 4 connections, 2026-12-03; more connections were no faster on HAPI R5 with server and client on the same
# 2 cores); the bound is ``sinks.server.client.MAX_CONNECTIONS`` (a literal here: --help imports nothing heavy).
DEFAULT_CONNECTIONS = 1
MAX_CONNECTIONS = 8


class PushMode(StrEnum):
    transaction = "transaction"
    batch = "batch"


# The options of ``push``, as types (as ``ServerOptions`` is): the command's signature stays short.
Inputs = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH...",
        help="Converted bundles (collection or transaction) and/or inputs to convert on the fly.",
        show_default=False,
    ),
]
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Trials per request.", rich_help_panel=PUSH_PANEL)]
Mode = Annotated[
    PushMode,
    typer.Option(
        "--mode", help="transaction: atomic per chunk; batch: entries independent.", rich_help_panel=PUSH_PANEL
    ),
]
ErrorsFolder = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Folder for errors.jsonl, listing the records that failed before the push.",
        rich_help_panel=OUTPUT_PANEL,
    ),
]
Connections = Annotated[
    int,
    typer.Option(
        "--connections",
        min=1,
        max=MAX_CONNECTIONS,
        help="Requests at once (trials that share a resource are never sent at the same time; results are "
        "printed in input order). More helps when the server has cores to spare.",
        rich_help_panel=PUSH_PANEL,
    ),
]
Definitions = Annotated[
    bool,
    typer.Option(
        "--definitions",
        help="First send the published CodeSystems and extension definitions the trials use (once per push, "
        "conditional PUT by url), so that the server can validate them.",
        rich_help_panel=PUSH_PANEL,
    ),
]


@server_command
def push(
    inputs: Inputs,
    server: ServerOptions,
    batch_size: BatchSize = 1,
    mode: Mode = PushMode.transaction,
    output: ErrorsFolder = None,
    connections: Connections = DEFAULT_CONNECTIONS,
    definitions: Definitions = False,
) -> None:
    """Push trials to a FHIR server with conditional PUTs (pushing twice changes nothing). Exit 0 iff all went in.

    Every trial ends pushed, FAILED (with the reason) or NOT ATTEMPTED (the push stopped: credentials refused, the
    server gone, the wrong FHIR release); the last line counts all three. Running the same push again completes it.
    A record that cannot be read, mapped or validated is never sent (listed in DIR/errors.jsonl with --output).
    Raw inputs are converted for the server's release; a Bundle file of the other release is refused (exit 2).

    Example: fhir-adapter push out/ --server http://127.0.0.1:8080/fhir
    """
    require_paths(inputs)
    _require_readable(inputs)
    _require_content(inputs)
    if output is not None:
        check_output(output)
    client = server.client(connections)
    if output is None:
        summary = _push(client, inputs, mode, batch_size, None, definitions)
    else:
        summary = _logging_failures(
            output, inputs, lambda log: _push(client, inputs, mode, batch_size, log, definitions)
        )
    _conclude(summary)


def _logging_failures(output: Path, inputs: list[Path], push_with: Callable[[ErrorLog], PushSummary]) -> PushSummary:
    """``push_with(log)``, the records that fail before the push listed in OUTPUT/errors.jsonl (a stale list from an
    earlier run removed first; no input inside the folder is overwritten)."""
    from fhir_adapter.errors import OutputError
    from fhir_adapter.pipeline.inputs import input_identities
    from fhir_adapter.sinks import ERRORS_FILE, ErrorLog, OutputFolder

    make_output(output)
    folder = OutputFolder(output)
    try:
        folder.remove(ERRORS_FILE)
        folder.protected = input_identities(inputs, folder)
        log = ErrorLog(folder)
        try:
            summary = push_with(log)
        finally:
            log.close()
    except OutputError as e:
        err(f"error: {e}")
        raise typer.Exit(ExitCode.FAILED) from None
    finally:
        folder.close()
    if log.written:
        err(f"failures listed in {output / ERRORS_FILE}")
    return summary


def _require_readable(inputs: list[Path]) -> None:
    """A usage error naming every input that exists but cannot be read (a file without read permission, a folder
    that cannot be listed)."""
    import os

    unreadable = [p for p in inputs if not os.access(p, os.R_OK | (os.X_OK if p.is_dir() else 0))]
    for p in unreadable:
        err(f"error: {p}: cannot be read (permission denied)")
    if unreadable:
        raise typer.Exit(ExitCode.USAGE)


def _require_content(inputs: list[Path]) -> None:
    """Exit ``NO_INPUT`` before any request when the inputs hold no file that could hold a record (empty folders,
    empty files): the server is not contacted, let alone retried, for nothing to push."""
    from fhir_adapter.sources import input_files

    def may_hold(f: Path) -> bool:
        try:
            return f.stat().st_size > 0 or not f.is_file()  # a FIFO has no size and may still bring records
        except OSError:
            return True  # reported where it is read

    if not any(may_hold(f) for f in input_files(inputs)):
        err(f"error: no trial in the inputs ({', '.join(map(str, inputs))}: no file with content to read)")
        raise typer.Exit(ExitCode.NO_INPUT)


def _push(
    client: FhirClient, inputs: list[Path], mode: PushMode, batch_size: int, log: ErrorLog | None, definitions: bool
) -> PushSummary:
    from fhir_adapter.delivery import BundleReleaseMismatch, push_paths

    progress = Throughput("push")

    def reported(result: PushResult) -> None:
        _report(result)
        progress.add(len(result.nct_ids))

    with client:
        try:
            summary = push_paths(
                client,
                inputs,
                mode=mode.value,
                batch_size=batch_size,
                on_result=reported,
                on_input_error=lambda line: err(f"FAILED {line}"),
                on_not_attempted=_NotAttempted(),
                error_log=log,
                definitions=definitions,
            )
        except BundleReleaseMismatch as e:
            err(f"error: {e}")
            if progress.done:
                err(f"error: push stopped after {progress.done} trials (the ok lines above)")
            raise typer.Exit(ExitCode.USAGE) from None
    progress.finish()
    return summary


def _conclude(summary: PushSummary) -> None:
    """The last line, counting every trial; exit NO_INPUT when the inputs held no trial, FAILED unless every trial
    went in."""
    if summary.stopped is not None and not summary.not_attempted:
        err(f"error: push stopped: {summary.stopped}")
    out(
        f"{summary.pushed} trials pushed, {summary.failed} failed, {len(summary.not_attempted)} not attempted; "
        f"{summary.resources} resources ({summary.created} created, {summary.updated} updated or unchanged), "
        f"{summary.requests} requests, {summary.retries} retries, {summary.read_back} trials read back "
        f"({summary.verified} found pushed)"
    )
    if not summary.trials and not summary.failed and not summary.not_attempted:
        err("error: no trial in the inputs")
        raise typer.Exit(ExitCode.NO_INPUT)
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
