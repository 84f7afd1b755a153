"""``fhir-adapter validate``: check FHIR JSON files (resources, Bundles, NDJSON) offline."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fhir_adapter.cli.common import err, out, require_paths
from fhir_adapter.errors import ExitCode


class OutputFormat(StrEnum):
    text = "text"
    operationoutcome = "operationoutcome"


class FhirVersion(StrEnum):
    R5 = "R5"
    R4 = "R4"


def _documents(paths: list[Path]) -> Iterator[tuple[str, Any, str | None]]:
    """(name, parsed JSON or None, parse error) for every JSON / NDJSON document under the paths."""
    import orjson

    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.suffix in (".json", ".ndjson")) if p.is_dir() else [p]
        for f in files:
            try:
                data = f.read_bytes()
            except OSError as e:
                yield str(f), None, f"cannot read: {e.strerror}"
                continue
            chunks = [(str(f), data)] if f.suffix != ".ndjson" else [
                (f"{f}:{n}", line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]
            for name, chunk in chunks:
                try:
                    yield name, orjson.loads(chunk), None
                except orjson.JSONDecodeError as e:
                    yield name, None, f"invalid JSON: {e}"


def validate(
    paths: Annotated[list[Path], typer.Argument(help="FHIR JSON files or folders (resources, Bundles, NDJSON).")],
    fhir_version: Annotated[FhirVersion, typer.Option("--fhir-version", help="FHIR release.")] = FhirVersion.R5,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text, or one OperationOutcome per file.")] = (
        OutputFormat.text),
) -> None:
    """Validate FHIR resources. Exit 0 iff no error-level issue was found."""
    import orjson

    from fhir_adapter.issues import Issue
    from fhir_adapter.validate import to_operation_outcome
    from fhir_adapter.validate import validate as validate_resource

    require_paths(paths)
    failed = checked = 0
    for name, doc, problem in _documents(paths):
        checked += 1
        if problem is not None:
            issues = [Issue("fatal", "", problem, "structure")]
        elif not isinstance(doc, dict):
            issues = [Issue("fatal", "", "not a FHIR resource (JSON object expected)", "structure")]
        else:
            issues = validate_resource(doc, fhir_version.value)
        bad = any(i.is_error for i in issues)
        failed += bad
        if fmt is OutputFormat.operationoutcome:
            out(orjson.dumps({"file": name, "outcome": to_operation_outcome(issues)}).decode())
            continue
        errors = sum(i.is_error for i in issues)
        out(f"{'INVALID' if bad else 'ok'} {name}: {errors} error(s), {len(issues) - errors} other issue(s)")
        for issue in issues:
            err(f"  {issue}")
    if fmt is OutputFormat.text:
        out(f"{checked - failed} valid, {failed} invalid")
    if checked == 0:
        raise typer.Exit(ExitCode.NO_INPUT)
    if failed:
        raise typer.Exit(ExitCode.FAILED)
