"""``fhir-adapter validate``: check FHIR JSON files (resources, Bundles, NDJSON) offline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fhir_adapter.cli.common import Release, err, out, require_paths
from fhir_adapter.errors import ExitCode
from fhir_adapter.issues import Issue
from fhir_adapter.release import DEFAULT_RELEASE, FhirRelease


class OutputFormat(StrEnum):
    text = "text"
    operationoutcome = "operationoutcome"


class Engine(StrEnum):
    auto = "auto"  # R4: HAPI when its jar is set and Java is there, else the fast check; R5: the Python layers
    hapi = "hapi"
    python = "python"  # the fast Python layers (fhir_adapter.validate's "fast" engine)
    fhir_resources = "fhir.resources"  # the fhir.resources models: the reference the fast layers are tested against


def _library_engine(engine: Engine) -> str:
    """The ``engine`` of ``fhir_adapter.validate.validate`` (one of ``validate.ENGINES``) for an ``--engine``."""
    return "fhir.resources" if engine is Engine.fhir_resources else "fast"


# What the fast Python R4 check does not see (fhir_adapter.validate.r4 has the details).
R4_FAST_MISSES = (
    "required bindings outside EvidenceVariable, invariants, reference target types and extension definitions"
)


def _use_hapi(engine: Engine, release: FhirRelease) -> bool:
    """Whether to validate with HAPI's validator. ``--engine hapi`` without it is a usage error (one line naming how
    to build the jar and the setting that names it); ``auto`` falls back to the Python checks with a note."""
    if engine in (Engine.python, Engine.fhir_resources) or (engine is Engine.auto and release is FhirRelease.R5):
        return False
    from fhir_adapter.validate.hapi import HapiUnavailable, require_hapi

    try:
        require_hapi()
    except HapiUnavailable as e:
        if engine is Engine.hapi:
            err(f"error: {e}")
            raise typer.Exit(ExitCode.USAGE) from None
        err(f"note: {e}; using the fast Python R4 check, which does not check {R4_FAST_MISSES}")
        return False
    return True


STDIN = Path("-")


def _documents(paths: list[Path]) -> Iterator[tuple[str, Any, str | None]]:
    """(name, parsed JSON or None, parse error) for every JSON / NDJSON document under the paths; ``-`` is
    standard input (one JSON document, or NDJSON: one resource a line, as ``convert --ndjson -o -`` writes)."""
    from fhir_adapter.sources.detect import is_json

    for p in paths:
        if p == STDIN:
            data = sys.stdin.buffer.read()
            yield from _parsed("-", data, ndjson=len(data.strip().splitlines()) > 1 and not is_json(data))
            continue
        files = sorted(f for f in p.rglob("*") if f.suffix in (".json", ".ndjson")) if p.is_dir() else [p]
        for f in files:
            try:
                data = f.read_bytes()
            except OSError as e:
                yield str(f), None, f"cannot read: {e.strerror}"
                continue
            yield from _parsed(str(f), data, ndjson=f.suffix == ".ndjson")


def _parsed(name: str, data: bytes, ndjson: bool) -> Iterator[tuple[str, Any, str | None]]:
    """The document(s) of one file's bytes: the whole, or each non-blank line (``name:N``) for NDJSON."""
    import orjson

    chunks = (
        [(f"{name}:{n}", line) for n, line in enumerate(data.splitlines(), 1) if line.strip()]
        if ndjson
        else [(name, data)]
        if data.strip() or name != "-"
        else []  # nothing on standard input: no document (exit 3), not an invalid one
    )
    for label, chunk in chunks:
        try:
            yield label, orjson.loads(chunk), None
        except orjson.JSONDecodeError as e:
            yield label, None, f"invalid JSON: {e}"


def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="FHIR JSON files or folders (resources, Bundles, NDJSON), or - for standard input (one JSON "
            "document or NDJSON)."
        ),
    ],
    fhir_version: Release = DEFAULT_RELEASE,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text, or one OperationOutcome per file.")] = (
        OutputFormat.text
    ),
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="auto: HAPI's validator for R4 (when FHIR_ADAPTER_HAPI_JAR names its jar and Java is there), "
            "the offline Python layers for R5. hapi: HAPI's validator or a usage error. python: the fast offline "
            "Python layers (definitions-driven structure check, official required bindings and invariants, Bundle "
            "checks). fhir.resources: the same layers with the fhir.resources (pydantic) models as the structure "
            "check, the slower reference the fast check is tested against (R4: the R4B-model check, as python).",
        ),
    ] = (Engine.auto),
) -> None:
    """Validate FHIR resources. Exit 0 iff no error-level issue was found, 1 if one was, 2 for a usage error, 3 if
    there was nothing to validate.

    \b
    Examples:
      fhir-adapter validate out/
      fhir-adapter validate out/NCT02513394.json --fhir-version R4 --format operationoutcome
      fhir-adapter validate out/ --engine fhir.resources
      fhir-adapter convert seeds/ -o - --ndjson | fhir-adapter validate -
    """
    require_paths([p for p in paths if p != STDIN])
    failed = checked = 0
    for name, issues in _issues_by_document(list(_documents(paths)), fhir_version, engine):
        checked += 1
        failed += _reported(name, issues, fmt)
    if fmt is OutputFormat.text:
        out(f"{checked - failed} valid, {failed} invalid")
    if checked == 0:
        err("error: no FHIR JSON document found in the inputs (empty input: exit 3)")
        raise typer.Exit(ExitCode.NO_INPUT)
    if failed:
        raise typer.Exit(ExitCode.FAILED)


def _issues_by_document(
    documents: list[tuple[str, Any, str | None]], release: FhirRelease, engine: Engine
) -> Iterator[tuple[str, list[Issue]]]:
    """Each document's name and issues: a fatal one for a document that could not be read or is no JSON object,
    else HAPI's (one JVM for all of them, when ``_use_hapi``) or the library's."""
    from fhir_adapter.validate import validate as validate_resource

    hapi_issues: dict[int, list[Issue]] = {}
    if _use_hapi(engine, release):
        from fhir_adapter.validate.hapi import hapi_validate

        wanted = [i for i, (_, doc, problem) in enumerate(documents) if problem is None and isinstance(doc, dict)]
        results = hapi_validate([documents[i][1] for i in wanted], release)
        hapi_issues = dict(zip(wanted, results, strict=True))
    for index, (name, doc, problem) in enumerate(documents):
        if problem is not None:
            yield name, [Issue("fatal", "", problem, "structure")]
        elif not isinstance(doc, dict):
            yield name, [Issue("fatal", "", "not a FHIR resource (JSON object expected)", "structure")]
        elif index in hapi_issues:
            yield name, hapi_issues[index]
        else:
            yield name, validate_resource(doc, release, engine=_library_engine(engine))


def _reported(name: str, issues: list[Issue], fmt: OutputFormat) -> bool:
    """Write one document's verdict (a text line and its issues on stderr, or one OperationOutcome line); whether it
    has an error-level issue."""
    bad = any(i.is_error for i in issues)
    if fmt is OutputFormat.operationoutcome:
        import orjson

        from fhir_adapter.validate import to_operation_outcome

        out(orjson.dumps({"file": name, "outcome": to_operation_outcome(issues)}).decode())
        return bad
    errors = sum(i.is_error for i in issues)
    out(f"{'INVALID' if bad else 'ok'} {name}: {errors} error(s), {len(issues) - errors} other issue(s)")
    for issue in issues:
        err(f"  {issue}")
    return bad
