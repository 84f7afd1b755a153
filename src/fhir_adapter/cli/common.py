"""Helpers shared by the commands: output lines, the exit-code convention and the output folder check."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from fhir_adapter.errors import ExitCode

# C0/C1 control characters: escaped in every line we print, so that no input can forge lines or drive the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
OUTPUT_HINT = "'--output' / '-o'"


def clean(line: str) -> str:
    """A line as it may be printed: control characters (newlines, ESC ...) escaped as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line)


def err(line: str) -> None:
    """A diagnostic line on stderr (never free trial text: callers pass ids, paths, fields and messages)."""
    typer.echo(clean(line), err=True)


def out(line: str) -> None:
    typer.echo(clean(line))


def require_paths(paths: list[Path]) -> None:
    """Exit with ``NO_INPUT`` naming every input that does not exist."""
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        err(f"error: {p}: no such file or folder")
    if missing:
        raise typer.Exit(ExitCode.NO_INPUT)


def check_output(path: Path) -> None:
    """A usage error (exit 2, one message) when ``-o`` is a file, or a folder that cannot be created or written."""
    from fhir_adapter.errors import OutputError
    from fhir_adapter.sinks import check_folder

    try:
        check_folder(path)
    except OutputError as e:
        raise typer.BadParameter(clean(str(e)), param_hint=OUTPUT_HINT) from None


def make_output(path: Path) -> Path:
    """Create the ``-o`` folder (usage error if it cannot be); returns it."""
    from fhir_adapter.errors import OutputError
    from fhir_adapter.sinks import prepare_folder

    try:
        prepare_folder(path)
    except OutputError as e:
        raise typer.BadParameter(clean(str(e)), param_hint=OUTPUT_HINT) from None
    return path
