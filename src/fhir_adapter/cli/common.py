"""Helpers shared by the commands: output lines, the exit-code convention, the output folder check, and the
options of the commands that convert or validate (FHIR release, input limits). Server and auth options are in
``fhir_adapter.cli.server_options``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from fhir_adapter.errors import ExitCode
from fhir_adapter.limits import DEFAULT_LIMITS, MB, Limits
from fhir_adapter.release import FhirRelease

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


# The options of the commands that convert or validate, declared once (``convert``, ``validate``; ``push`` of raw
# input may take them too). Each is an ``Annotated`` type a command's parameter uses with its own default.
Release = Annotated[FhirRelease, typer.Option("--fhir-version", help="FHIR release.")]
RecordTimeout = Annotated[
    float,
    typer.Option(
        "--record-timeout",
        metavar="SECONDS",
        min=0.001,
        help="Time limit per record (read, map, validate, serialise); a slower record is reported, not written.",
    ),
]
MaxRecordMb = Annotated[
    float,
    typer.Option(
        "--max-record-mb",
        metavar="MB",
        min=0.001,
        help="Size limit of one record (a file, ZIP member, NDJSON line or study), in MiB.",
    ),
]
MaxListItems = Annotated[
    int,
    typer.Option("--max-list-items", metavar="N", min=1, help="Items allowed in one list-valued field of a record."),
]
MaxJsonDepth = Annotated[
    int, typer.Option("--max-json-depth", metavar="N", min=1, help="Nesting depth allowed in a JSON record.")
]

# ``--limit NAME=VALUE``: the limits without an option of their own -> (Limits field, unit factor, default shown).
LIMIT_OPTIONS: dict[str, tuple[str, float, float]] = {
    "max-member-mb": ("max_member_bytes", MB, DEFAULT_LIMITS.max_member_bytes / MB),
    "max-zip-ratio": ("max_zip_ratio", 1, DEFAULT_LIMITS.max_zip_ratio),
    "max-archive-mb": ("max_archive_bytes", MB, DEFAULT_LIMITS.max_archive_bytes / MB),
    "max-xml-elements": ("max_xml_elements", 1, DEFAULT_LIMITS.max_xml_elements),
    "max-xml-attributes": ("max_xml_attributes", 1, DEFAULT_LIMITS.max_xml_attributes),
    "fifo-wait": ("fifo_wait_seconds", 1, DEFAULT_LIMITS.fifo_wait_seconds),
}
MoreLimits = Annotated[
    list[str] | None,
    typer.Option(
        "--limit",
        metavar="NAME=VALUE",
        help="Another input limit (repeatable): "
        + ", ".join(f"{name} (default {default:g})" for name, (_, _, default) in LIMIT_OPTIONS.items())
        + ".",
    ),
]


def input_limits(
    record_timeout: float, max_record_mb: float, max_list_items: int, max_json_depth: int, more: list[str] | None
) -> Limits:
    """The ``Limits`` the limit options ask for; a usage error names a bad ``--limit``."""
    return dataclasses.replace(
        DEFAULT_LIMITS,
        max_record_seconds=record_timeout,
        max_record_bytes=max(1, int(max_record_mb * MB)),
        max_list_items=max_list_items,
        max_json_depth=max_json_depth,
        **_more_limits(more or []),
    )


def _more_limits(values: list[str]) -> dict[str, Any]:
    """``--limit NAME=VALUE`` options as ``Limits`` fields; a usage error names what is wrong."""
    fields: dict[str, Any] = {}
    for item in values:
        name, _, text = item.partition("=")
        if name not in LIMIT_OPTIONS:
            raise typer.BadParameter(
                f"{name!r} is not a limit (use one of {', '.join(LIMIT_OPTIONS)})", param_hint="'--limit'"
            )
        field, factor, _ = LIMIT_OPTIONS[name]
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value > 0 or value == float("inf"):
            raise typer.BadParameter(f"{name}: {text!r} is not a positive number", param_hint="'--limit'")
        fields[field] = value * factor if field == "fifo_wait_seconds" else max(1, int(value * factor))
    return fields
