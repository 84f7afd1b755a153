"""The typer application of ``fhir-adapter`` (``fhir_adapter.cli.main`` runs it): the top-level group, whose
commands are loaded on use and whose help is plain text, and the ``--version`` option. See ``fhir_adapter.cli``."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from fhir_adapter.cli import COMMANDS, ENVIRONMENT, EXAMPLES, SUMMARY, VERSION_HELP
from fhir_adapter.cli.coerce import quick_param, quicken


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
    help=SUMMARY,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never print locals (they may hold tokens or trial text)
    add_completion=False,
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help=VERSION_HELP),
    ] = False,
) -> None:
    """Turn clinical-trial records into validated HL7 FHIR, and back."""
