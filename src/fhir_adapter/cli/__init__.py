"""The ``fhir-adapter`` command: a thin typer layer over the library, one module per command.

Exit codes are ``fhir_adapter.errors.ExitCode``. Bad input never shows a traceback: each failed record is one line
naming file, NCT id and field. Imports of the heavy modules happen inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import typer

from fhir_adapter.cli import convert, fetch, pull, push, validate

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


def main() -> None:
    """Console-script entry point."""
    app()
