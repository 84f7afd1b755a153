"""Helpers shared by the commands: output lines and the exit-code convention."""

from __future__ import annotations

from pathlib import Path

import typer

from fhir_adapter.errors import ExitCode


def err(line: str) -> None:
    """A diagnostic line on stderr (never free trial text: callers pass ids, paths, fields and messages)."""
    typer.echo(line, err=True)


def out(line: str) -> None:
    typer.echo(line)


def require_paths(paths: list[Path]) -> None:
    """Exit with ``NO_INPUT`` naming every input that does not exist."""
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        err(f"error: {p}: no such file or folder")
    if missing:
        raise typer.Exit(ExitCode.NO_INPUT)
