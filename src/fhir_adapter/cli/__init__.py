"""The ``fhir-adapter`` command: a thin typer layer over the library, one module per command.

Exit codes are ``fhir_adapter.errors.ExitCode``. Bad input never shows a traceback: each failed record is one line
naming file, NCT id and field. An unexpected exception (a bug) is one ``internal error`` line and exit 4; Ctrl-C
exits 130 quietly.

Start-up is fast (issue 12: ``fhir-adapter --help`` within 150 ms; ``bench/bench_help.py`` measures it): a command's
module is imported only when that command runs or shows its help (``COMMANDS`` holds the one-line summaries the main
help lists), the library's heavy modules are imported inside the commands, and the main help is plain text (rich,
which typer uses for the commands' own help and errors, is not imported for it).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from fhir_adapter.cli.coerce import quick_param, quicken

DEBUG_VARIABLE = "FHIR_ADAPTER_DEBUG"

# Each command: its module (fhir_adapter.cli.<name>, whose function <name> it runs) and the summary the main help
# shows, the first sentence of the function's docstring (tests/test_cli_help.py checks that they agree).
COMMANDS: dict[str, str] = {
    "convert": "Convert trial records to FHIR.",
    "validate": "Validate FHIR resources.",
    "fetch": "Fetch studies from ClinicalTrials.gov by NCT id and/or by search.",
    "push": "Push trials to a FHIR server with conditional PUTs (pushing twice changes nothing).",
    "pull": "Pull trials from a FHIR server into collection bundles.",
    "match": "Pre-screen a patient (a FHIR file, or one on a FHIR server) against trials.",
    "definitions": "Write fhir-adapter's CodeSystems, ValueSets and extension StructureDefinitions to a folder.",
}

# Every setting read from the environment, for the main help (the README says the same).
ENVIRONMENT: dict[str, str] = {
    "FHIR_ADAPTER_SERVER": "push, pull, match: the FHIR base URL when --server is not given",
    "FHIR_ADAPTER_TOKEN": "push, pull, match: a bearer token (else --token-file)",
    "FHIR_ADAPTER_PASSWORD": "push, pull, match: the HTTP basic password for --user (else --password-file)",
    "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE": "CA certificates to trust when --ca-bundle is not given",
    "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY": "proxies for push, pull, match and fetch",
    "FHIR_ADAPTER_CTGOV_URL": "fetch: the ClinicalTrials.gov API v2 base URL",
    "FHIR_ADAPTER_HAPI_JAR": "HAPI's validator jar: validate uses it (R4, --engine hapi) when set",
    DEBUG_VARIABLE: "1 prints the traceback of an internal error (exit 4)",
}

EXAMPLES = (
    "fhir-adapter convert seeds/ -o out/",
    "fhir-adapter convert trials.ndjson -o - | jq .id",
    "fhir-adapter push out/ --server http://localhost:8080/fhir",
    "fhir-adapter match --patient patient.json out/",
)


class CleanUsageCommand(typer.core.TyperCommand):
    """A command whose usage line names its arguments plainly: ``INPUTS...``, ``[TRIALS]...`` (typer 0.29 writes
    ``{inputs}...``)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, typer.core.TyperArgument):
                pieces.append(usage_name(param.metavar, param.name or "", param.required, param.nargs != 1))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def get_help_option(self, ctx: Any) -> Any:
        return quick_param(super().get_help_option(ctx))


def usage_name(metavar: str | None, name: str, required: bool, many: bool) -> str:
    """An argument as the usage line shows it: its metavar or its name in capitals, ``...`` when it takes several,
    in brackets when optional."""
    shown = metavar or name.upper()
    if many and not shown.endswith("..."):
        shown += "..."
    return shown if required else f"[{shown}]"


def load_command(name: str) -> Any:
    """The click command of one CLI command, built from ``fhir_adapter.cli.<name>.<name>`` (imported now), its
    option values coerced without pydantic where the result is certain (``fhir_adapter.cli.coerce``)."""
    module = importlib.import_module(f"fhir_adapter.cli.{name}")
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name, cls=CleanUsageCommand)(getattr(module, name))
    return quicken(typer.main.get_command(single))


class _LazyCommands(MutableMapping[str, Any]):
    """The group's commands: every name of ``COMMANDS``, each module imported on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self._loaded]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*COMMANDS, *self._loaded]))


class LazyGroup(typer.core.TyperGroup):
    """The top-level group: commands loaded on use, and a plain-text help that needs neither rich nor any command
    module (typer's rich help would import rich, about 100 ms)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _LazyCommands()
        quicken(self)  # --version: its value coerced without pydantic

    def get_help_option(self, ctx: Any) -> Any:
        return quick_param(super().get_help_option(ctx))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        self.format_options(ctx, formatter)
        self.format_epilog(ctx, formatter)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        """Examples and the settings read from the environment, then where each command's help is."""
        with formatter.section("Examples"):
            for line in EXAMPLES:
                formatter.write_text(line)
        with formatter.section("Settings read from the environment"):
            formatter.write_dl(list(ENVIRONMENT.items()))
        formatter.write_paragraph()
        formatter.write_text("`fhir-adapter COMMAND --help` describes a command and its options.")

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())  # what typer's rich help did: the help on stdout, exit 2
            ctx.exit(2)
        return super().parse_args(ctx, args)


def package_version() -> str:
    """The installed distribution's version (its metadata, i.e. pyproject.toml's)."""
    import fhir_adapter

    return str(fhir_adapter.__version__)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"fhir-adapter {package_version()}")
        raise typer.Exit()


app = typer.Typer(
    name="fhir-adapter",
    cls=LazyGroup,
    help="Turn clinical-trial records into validated HL7 FHIR, and back.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never print locals (they may hold tokens or trial text)
    add_completion=False,
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Turn clinical-trial records into validated HL7 FHIR, and back."""


def internal_error_line(e: BaseException) -> str:
    """The one line printed for an unexpected exception: its type and (shortened) message, never a traceback."""
    from fhir_adapter.cli.common import clean

    message = clean(str(e))
    if len(message) > 300:
        message = message[:297] + "..."
    return f"internal error: {type(e).__name__}: {message} — please report it; set {DEBUG_VARIABLE}=1 for the traceback"


def main() -> None:
    """Console-script entry point: the command's exit code; 4 and one line for a bug; 130 for Ctrl-C."""
    from fhir_adapter.errors import ExitCode

    try:
        app()
    except KeyboardInterrupt:  # typer turns Ctrl-C inside a command into exit 130; this is Ctrl-C around it
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as e:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            traceback.print_exc()
        from fhir_adapter.cli.common import err

        err(internal_error_line(e))
        sys.exit(ExitCode.INTERNAL)
