"""``fhir-adapter pull``: ResearchStudy search on a FHIR server -> ``DIR/<NCTID>.json`` collection bundles.

Each bundle holds the study and everything it references (EvidenceVariable, PlanDefinition, Location,
Organization, Practitioner, PractitionerRole), so that ``from_bundle`` rebuilds the Trial. Search parameters:
``identifier`` (``https://clinicaltrials.gov|NCT...``), ``condition:text`` (substring/word match on the condition's
text and codings' display, on HAPI and Medplum alike), ``phase`` (token, e.g. ``phase-2``), ``_lastUpdated=ge``;
``--status`` is the R4 ``status`` parameter on R4 and, on R5, a ``progressStatus`` state filtered after the search.
Server and credential options: ``fhir_adapter.cli.server_options``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from fhir_adapter.cli.common import check_output, err, out
from fhir_adapter.cli.server_options import ServerOptions, server_command
from fhir_adapter.errors import ExitCode

_NCT = re.compile(r"NCT\d{8}")
_DAY = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


@server_command
def pull(
    server: ServerOptions,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the DIR/<NCTID>.json bundles.")],
    identifier: Annotated[str | None, typer.Option("--identifier", help="NCT ids, comma-separated.")] = None,
    condition: Annotated[str | None, typer.Option("--condition", help="Condition text (condition:text).")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Study status code (R5: progressStatus state such as recruiting; R4: status)."),
    ] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="Phase code, e.g. phase-2.")] = None,
    updated_since: Annotated[
        str | None,
        typer.Option(
            "--updated-since", metavar="YYYY-MM-DD", help="Only studies updated on the server since this day."
        ),
    ] = None,
) -> None:
    """Pull trials from a FHIR server into collection bundles. Exit 0 iff every study was written complete."""
    from fhir_adapter.errors import FhirServerError
    from fhir_adapter.sinks.server import SearchQuery
    from fhir_adapter.sinks.server import pull as do_pull

    check_output(output)
    ids = [i.strip().upper() for i in (identifier or "").split(",") if i.strip()]
    bad = [i for i in ids if not _NCT.fullmatch(i)]
    if bad:
        raise typer.BadParameter(f"not NCT ids: {', '.join(bad)}", param_hint="'--identifier'")
    if updated_since is not None and not _DAY.fullmatch(updated_since):
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="'--updated-since'")
    query = SearchQuery(identifiers=ids, condition=condition, status=status, phase=phase, updated_since=updated_since)
    with server.client() as client:
        try:
            summary = do_pull(
                client, output, query, on_study=lambda nct, path, n: out(f"ok {nct} -> {path} ({n} resources)")
            )
        except FhirServerError as e:
            err(f"error: {e}")
            raise typer.Exit(ExitCode.FAILED) from None
    for line in summary.problems:
        err(f"FAILED {line}")
    missing = [i for i in ids if not (output / f"{i}.json").exists() or output / f"{i}.json" not in summary.written]
    for i in missing:
        err(f"FAILED {i}: not found on the server")
    out(f"{summary.studies} studies pulled, {summary.resources} resources, {summary.requests} requests")
    if summary.problems or missing:
        raise typer.Exit(ExitCode.FAILED)
