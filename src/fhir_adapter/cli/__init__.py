"""The ``fhir-adapter`` command: a thin typer layer over the library, one module per command.

Exit codes are ``fhir_adapter.errors.ExitCode``. Bad input never shows a traceback: each failed record is one line
naming file, NCT id and field. An unexpected exception (a bug) is one ``internal error`` line and exit 4; Ctrl-C
exits 130 quietly. Imports of the heavy modules happen inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from fhir_adapter.cli import convert, fetch, match, pull, push, validate
from fhir_adapter.cli.common import clean, err
from fhir_adapter.errors import ExitCode

DEBUG_VARIABLE = "FHIR_ADAPTER_DEBUG"

app = typer.Typer(
    name="fhir-adapter",
    help="Turn clinical-trial records into validated HL7 FHIR, and back.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never print locals (they may hold tokens or trial text)
    add_completion=False,
)
app.command("convert")(convert.convert)
app.command("validate")(validate.validate)
app.command("fetch")(fetch.fetch)
app.command("push")(push.push)
app.command("pull")(pull.pull)
app.command("match")(match.match)


def internal_error_line(e: BaseException) -> str:
    """The one line printed for an unexpected exception: its type and (shortened) message, never a traceback."""
    message = clean(str(e))
    if len(message) > 300:
        message = message[:297] + "..."
    return f"internal error: {type(e).__name__}: {message} — please report it; set {DEBUG_VARIABLE}=1 for the traceback"


def main() -> None:
    """Console-script entry point: the command's exit code; 4 and one line for a bug; 130 for Ctrl-C."""
    try:
        app()
    except KeyboardInterrupt:  # typer turns Ctrl-C inside a command into exit 130; this is Ctrl-C around it
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as e:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            traceback.print_exc()
        err(internal_error_line(e))
        sys.exit(ExitCode.INTERNAL)
