"""The command line's start and help (issue 12, items 9 and 10): ``--help`` imports none of the library's heavy
modules (bench/bench_help.py measures the time), the main help lists every command, the settings read from the
environment and examples, ``--version`` prints the package's version, usage lines are plain, and each command's
own help stays complete."""

from __future__ import annotations

import importlib.metadata
import inspect

import pytest
from typer.testing import CliRunner

from fhir_adapter.cli import COMMANDS, ENVIRONMENT, app, load_command, usage_name
from helpers import modules_after

runner = CliRunner()

# Imported by a conversion or a server call, never needed to print a help text.
HEAVY = (
    "fhir.resources",
    "fhir_core",
    "pydantic",
    "requests",
    "lxml",
    "orjson",
    "fhirpathpy",
    "jwt",
    "ucumvert",
    "rich",
    "fhir_adapter.sources",
    "fhir_adapter.pipeline",
    "fhir_adapter.fhir",
    "fhir_adapter.validate",
    "fhir_adapter.match",
    "fhir_adapter.sinks",
    "fhir_adapter.bundle",
    "fhir_adapter.cli.convert",
    "fhir_adapter.cli.push",
)


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("args", [("--help",), (), ("--version",)])
def test_main_help_imports_no_heavy_module(args: tuple[str, ...]) -> None:
    code, modules, stdout = modules_after(*args)
    assert code == (2 if not args else 0)  # no arguments: the help, exit 2 (a usage error), as before
    assert _heavy(modules) == []
    assert ("Usage: fhir-adapter" in stdout) or args == ("--version",)


def test_a_command_help_imports_its_module_only() -> None:
    code, modules, stdout = modules_after("validate", "--help")
    assert code == 0 and "Usage: fhir-adapter validate" in stdout
    assert "fhir_adapter.cli.validate" in modules
    assert not {"fhir_adapter.cli.convert", "fhir_adapter.cli.push", "fhir.resources", "requests"} & set(modules)


def test_main_help_lists_commands_settings_and_examples() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for name, summary in COMMANDS.items():
        assert name in text and " ".join(summary.split()) in text
    for setting in ("FHIR_ADAPTER_SERVER", "FHIR_ADAPTER_TOKEN", "FHIR_ADAPTER_PASSWORD", "FHIR_ADAPTER_HAPI_JAR"):
        assert setting in ENVIRONMENT and setting in text
    for setting, meaning in ENVIRONMENT.items():
        assert setting in text and " ".join(meaning.split()) in text
    assert "Examples:" in text and "fhir-adapter convert seeds/ -o out/" in text and "--version" in text


def test_environment_settings_are_the_ones_the_code_reads() -> None:
    from fhir_adapter.sources.ctgov_api import ENV_BASE_URL
    from fhir_adapter.validate.hapi import JAR_ENV

    assert {ENV_BASE_URL, JAR_ENV} <= set(ENVIRONMENT)


def test_summaries_are_the_commands_docstrings() -> None:
    """The main help's summary of each command (kept in ``COMMANDS`` so that the help imports no command module) is
    the first sentence of that command's docstring: change both together."""
    for name, summary in COMMANDS.items():
        command = load_command(name)
        first = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
        assert first.startswith(summary), f"update COMMANDS[{name!r}] in fhir_adapter/cli/__init__.py"


def test_version_is_the_package_metadata() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"fhir-adapter {importlib.metadata.version('fhir-adapter')}"


def test_no_arguments_print_the_help_and_exit_2() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2 and "Commands:" in result.stdout


def test_an_unknown_command_suggests_the_close_one() -> None:
    result = runner.invoke(app, ["convet"])
    assert result.exit_code == 2 and "convert" in result.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_usage_lines_are_plain_and_helps_complete(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0
    usage = next(line for line in result.stdout.splitlines() if "Usage:" in line).split()
    assert usage[:4] == ["Usage:", "fhir-adapter", name, "[OPTIONS]"]
    assert not any(c in piece for piece in usage for c in "{}"), usage  # typer 0.29 writes {inputs}...
    assert all(piece == piece.upper() for piece in usage[4:]), usage
    command = load_command(name)
    for param in command.params:  # every option and argument is in the help (a complete help text)
        shown = param.opts[0] if param.param_type_name == "option" else (param.metavar or param.name or "")
        if not getattr(param, "hidden", False):
            assert shown.split("...")[0].lower() in result.stdout.lower(), (name, shown)


def test_usage_name() -> None:
    assert usage_name(None, "inputs", True, True) == "INPUTS..."
    assert usage_name("PATH...", "paths", True, True) == "PATH..."
    assert usage_name(None, "trials", False, True) == "[TRIALS...]"
    assert usage_name("NCT", "ncts", False, False) == "[NCT]"


def test_match_help_has_examples() -> None:
    result = runner.invoke(app, ["match", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "fhir-adapter match --patient patient.json seeds/" in result.stdout
