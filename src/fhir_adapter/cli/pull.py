"""``fhir-adapter pull``: ResearchStudy search on a FHIR server -> ``DIR/<NCTID>.json`` collection bundles.

Each bundle holds the study and everything it references (EvidenceVariable, PlanDefinition, Location,
Organization, Practitioner, PractitionerRole) or names by canonical (each arm's ActivityDefinitions), so that
``from_bundle`` rebuilds the Trial. Search parameters: ``identifier`` (``https://clinicaltrials.gov|NCT...``),
``condition:text``, ``phase``, ``status`` and ``_lastUpdated=ge``; the status and phase words are mapped to the
server's release and a criterion the server offers no search parameter for (a stock R4 server has no ``condition``
and no ``phase``) is checked here, said so on stderr (``fhir_adapter.sinks.server.search``). A search that finds
nothing warns on stderr and exits 3 (NO_INPUT). ``-o -`` writes the bundles to standard output, one compact Bundle a
line, as ``convert -o -`` does (the README's contract: nothing else on stdout; the per-study lines and the summary go
to stderr). Server and credential options: ``fhir_adapter.cli.server_options``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fhir_adapter.cli.common import check_output, err, out
from fhir_adapter.cli.server_options import ServerOptions, Throughput, server_command
from fhir_adapter.errors import ExitCode

if TYPE_CHECKING:
    from fhir_adapter.sinks.server import PullSummary

_NCT = re.compile(r"NCT\d{8}")
_DAY = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
SEARCH_PANEL = "Search"
OUTPUT_PANEL = "Output"
STDOUT = "-"  # ``-o -``: the bundles go to standard output, one compact Bundle a line (as ``convert -o -``)


@server_command
def pull(
    server: ServerOptions,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Folder for the DIR/<NCTID>.json bundles; '-': one compact Bundle a line on stdout (as convert -o -).",
            rich_help_panel=OUTPUT_PANEL,
        ),
    ],
    identifier: Annotated[
        str | None, typer.Option("--identifier", help="NCT ids, comma-separated.", rich_help_panel=SEARCH_PANEL)
    ] = None,
    condition: Annotated[
        str | None,
        typer.Option(
            "--condition",
            help="Condition text (the server's condition:text; on a server without it, a substring checked here).",
            rich_help_panel=SEARCH_PANEL,
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Study status: recruiting, RECRUITING, 'not yet recruiting', completed ... (mapped to the "
            "server's release).",
            rich_help_panel=SEARCH_PANEL,
        ),
    ] = None,
    phase: Annotated[
        str | None,
        typer.Option("--phase", help="Phase: 2, 'phase 2', phase2, II, phase-2, 1/2 ...", rich_help_panel=SEARCH_PANEL),
    ] = None,
    updated_since: Annotated[
        str | None,
        typer.Option(
            "--updated-since",
            metavar="YYYY-MM-DD",
            help="Only studies updated on the server since this day.",
            rich_help_panel=SEARCH_PANEL,
        ),
    ] = None,
) -> None:
    """Pull trials from a FHIR server into collection bundles. Exit 0 iff every study was written complete.

    A search that finds nothing warns on stderr and exits 3; a criterion the server cannot search (a stock R4
    server has no condition and no phase parameter) is checked here, and stderr says so.

    Example: fhir-adapter pull --server http://127.0.0.1:8080/fhir --condition melanoma --phase 2 -o back/

    Example, one Bundle a line on stdout: fhir-adapter pull --server URL --identifier NCT02513394 -o - | jq -c .type
    """
    from fhir_adapter.errors import FhirServerError
    from fhir_adapter.sinks.server import SearchQuery
    from fhir_adapter.sinks.server import pull as do_pull

    to_stream = str(output) == STDOUT
    if not to_stream:
        check_output(output)
    ids = _identifiers(identifier)
    if updated_since is not None and not _DAY.fullmatch(updated_since):
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="'--updated-since'")
    _check_words(status, phase)
    query = SearchQuery(identifiers=ids, condition=condition, status=status, phase=phase, updated_since=updated_since)
    progress = Throughput("pull")

    say = err if to_stream else out  # standard output carries only the bundles in -o - mode

    def written(nct: str, where: str, n: int) -> None:
        say(f"ok {nct} -> {where} ({n} resources)")
        progress.add()

    target = sys.stdout.buffer if to_stream else output
    with server.client() as client:
        try:
            summary = do_pull(client, target, query, on_study=written, on_note=lambda line: err(f"note: {line}"))
        except FhirServerError as e:
            err(f"error: {e}")
            raise typer.Exit(ExitCode.FAILED) from None
    _conclude(summary, ids, progress, say)


def _identifiers(identifier: str | None) -> list[str]:
    ids = [i.strip().upper() for i in (identifier or "").split(",") if i.strip()]
    bad = [i for i in ids if not _NCT.fullmatch(i)]
    if bad:
        raise typer.BadParameter(f"not NCT ids: {', '.join(bad)}", param_hint="'--identifier'")
    return ids


def _check_words(status: str | None, phase: str | None) -> None:
    """A usage error, before any request, for a status or phase word that names nothing."""
    from fhir_adapter.release import FhirRelease
    from fhir_adapter.sinks.server.search import SearchWordError, phase_code, plan_search

    try:
        if phase:
            phase_code(phase, FhirRelease.R4)
    except SearchWordError as e:
        raise typer.BadParameter(str(e), param_hint="'--phase'") from None
    try:
        if status:
            plan_search(condition=None, status=status, phase=None, release=FhirRelease.R4, offered=None)
    except SearchWordError as e:
        raise typer.BadParameter(str(e), param_hint="'--status'") from None


def _conclude(summary: PullSummary, ids: list[str], progress: Throughput, say: Callable[[str], None]) -> None:
    """The failures, a warning when nothing matched, the count line; exit FAILED on any failure, NO_INPUT when the
    search found nothing (as ``fetch``: the empty-input code of every command)."""
    for line in summary.problems:
        err(f"FAILED {line}")
    missing = [i for i in ids if i not in summary.pulled]
    for i in missing:
        err(f"FAILED {i}: not found on the server")
    if not summary.studies and not summary.problems:
        searched = "; ".join(summary.searched) or "every ResearchStudy"
        kept = (
            f" ({summary.returned} returned by the server, none kept by the checks made here)"
            if summary.returned
            else ""
        )
        err(f"warning: no study matched{kept}: searched {searched}")
    progress.finish()
    say(f"{summary.studies} studies pulled, {summary.resources} resources, {summary.requests} requests")
    if summary.problems or missing:
        raise typer.Exit(ExitCode.FAILED)
    if not summary.studies:
        raise typer.Exit(ExitCode.NO_INPUT)
