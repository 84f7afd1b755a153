"""``fhir-adapter match``: pre-screen a patient (a FHIR file, R4 or R5) against trials (our bundles, or any input
``convert`` reads): per trial a verdict and a score, per criterion met / not-met / unknown with evidence and reason
(``fhir_adapter.match``). Output: a table (default), JSON, or a FHIR searchset Bundle (``--format fhir``).

The pieces (``load_patient``, ``load_trials``, ``write_results``) are separate so that a server mode can feed the
same evaluation and output from a FHIR server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from fhir_adapter.cli.common import err, out, require_paths
from fhir_adapter.cli.server_options import ServerOptions, server_command
from fhir_adapter.errors import ExitCode, SourceError
from fhir_adapter.release import FhirRelease

if TYPE_CHECKING:
    from fhir_adapter.match import TrialMatch
    from fhir_adapter.model import Trial

F = TypeVar("F", bound=Callable[..., Any])
STDOUT = "-"  # ``-o -``: the results on standard output, as without ``-o``


class MatchFormat(StrEnum):
    table = "table"
    json = "json"
    fhir = "fhir"


def _evaluation_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: use YYYY-MM-DD", param_hint="'--on'") from None


class UnreadablePatient(SourceError):
    """The patient file cannot be read or is not JSON: bad input the command cannot start with (exit 2). A JSON
    document without a Patient is a ``SourceError`` (exit 1), as a record a reader cannot map."""


def load_patient(path: Path) -> list[dict[str, Any]]:
    """The FHIR resources of a patient file (Bundle, list or resource). ``SourceError`` naming the file and field
    when it is not JSON, not FHIR, or has no Patient."""
    return load_patient_document(path)[0]


def load_patient_document(path: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(resources, ``Type/id`` -> absolute fullUrl) of a patient file; ``SourceError`` as ``load_patient``."""
    import orjson

    from fhir_adapter.match import read_patient, resources_of
    from fhir_adapter.match.patient import full_urls_of

    try:
        document = orjson.loads(path.read_bytes())
    except OSError as e:
        raise UnreadablePatient(f"cannot read: {e.strerror}", path=str(path)) from None
    except orjson.JSONDecodeError as e:
        raise UnreadablePatient(f"not FHIR JSON: {e}", path=str(path)) from None
    resources = resources_of(document, str(path))
    read_patient(resources, str(path))  # fail early, naming the file, when there is no Patient
    return resources, full_urls_of(document)


def _trial_files(paths: list[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file() and f.name != "errors.jsonl")
        else:
            yield p


def _fhir_bundle(path: Path) -> dict[str, Any] | None:
    """The parsed file when it is FHIR: a Bundle holding a ResearchStudy, or a bare ResearchStudy (any writer's:
    ``from_bundle`` reads both), else None."""
    import orjson

    if path.suffix.lower() != ".json":
        return None
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if isinstance(doc, dict) and doc.get("resourceType") in ("Bundle", "ResearchStudy"):
        return doc
    return None


def load_trials(paths: list[Path]) -> tuple[list[Trial], int]:
    """(trials, failures) of the inputs: FHIR bundles or ResearchStudies (R5 or R4) through ``from_bundle``,
    anything else through the readers of ``convert``. A file that cannot be read is one line on stderr naming it,
    and counted."""
    from fhir_adapter.bundle import from_bundle
    from fhir_adapter.errors import FhirAdapterError
    from fhir_adapter.sources import read_records

    trials: list[Trial] = []
    failures = 0
    for path in _trial_files(paths):
        bundle = _fhir_bundle(path)
        if bundle is not None:
            try:
                trials.append(from_bundle(bundle))
            except FhirAdapterError as e:
                err(f"FAILED {path}: {e}")
                failures += 1
            continue
        for record in read_records([path]):
            if record.trial is not None:
                trials.append(record.trial)
            else:
                err(f"FAILED {record.error}")
                failures += 1
    return trials, failures


def write_results(
    matches: list[TrialMatch],
    fmt: MatchFormat,
    output: Path | None,
    release: FhirRelease,
    full_urls: dict[str, str] | None = None,
) -> None:
    """The results in the asked format, on stdout or into ``output`` (a file); ``full_urls`` as ``to_searchset``."""
    import orjson

    from fhir_adapter.match.output import to_json, to_searchset, to_table

    if fmt is MatchFormat.table:
        text = "\n".join(to_table(matches)) + "\n"
    else:
        doc = to_json(matches) if fmt is MatchFormat.json else to_searchset(matches, release, full_urls=full_urls)
        text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
    if output is None:
        for line in text.splitlines():
            out(line)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        err(f"error: {output}: cannot write: {e.strerror}")
        raise typer.Exit(ExitCode.FAILED) from None
    err(f"results written to {output}")


def _output_file(output: Path | None) -> Path | None:
    """The file ``-o`` names, None for standard output (no ``-o``, or ``-o -`` as ``convert``'s). It must be a file
    that can be written: a folder, or a file in a folder that does not exist, is a usage error (exit 2) before any
    work."""
    if output is None or str(output) == STDOUT:
        return None
    if output.is_dir():
        raise typer.BadParameter(f"{output} is a folder: give a file name", param_hint="'--output'")
    if not output.parent.is_dir():
        raise typer.BadParameter(f"{output.parent} is not a folder", param_hint="'--output'")
    return output


def _server_optional(command: F) -> F:
    """``server_command`` (the shared server, credential and TLS options) with ``--server`` optional: ``match``
    reads a patient file or a server; without ``--server``, ``server.server`` is empty and only its
    ``fhir_version`` (the release of ``--format fhir``) counts."""
    return server_command(
        command, optional_server="FHIR base URL to read the patient (--patient-id) from, e.g. an EHR's."
    )


@dataclass(slots=True)
class ServerData:
    """What ``match`` screens the trials of its inputs with, read from ``--server`` or a patient file: the patient's
    resources, their absolute URLs, the trials on the server (with ``--trials-from-server``), the number of trials
    that could not be read, and the release of ``--format fhir`` (a server's, as its CapabilityStatement tells,
    unless ``--fhir-version`` is given; R5 for a file without ``--fhir-version``)."""

    resources: list[dict[str, Any]]
    full_urls: dict[str, str]
    trials: list[Trial]
    failures: int
    release: FhirRelease


def load_from_server(server: ServerOptions, patient_id: str | None, with_trials: bool) -> ServerData:
    """What ``--server`` holds (:class:`ServerData`, ``fhir_adapter.match.server``). A server or credential failure
    is one line and exit FAILED; each trial not read whole is one ``FAILED`` line."""
    from fhir_adapter.errors import FhirServerError
    from fhir_adapter.match.server import full_urls_on_server, patient_resources_from_server, trials_from_server

    if not patient_id:
        raise typer.BadParameter("--server needs --patient-id", param_hint="'--patient-id'")
    with server.client() as client:
        try:
            resources = patient_resources_from_server(client, patient_id)
            pulled = trials_from_server(client) if with_trials else None
        except (FhirServerError, ValueError) as e:
            err(f"error: {e}")
            raise typer.Exit(ExitCode.FAILED) from None
        urls = full_urls_on_server(client, resources)
        release = client.fhir_version  # the CapabilityStatement's, or --fhir-version (which the server must speak)
    if pulled is None:
        return ServerData(resources, urls, [], 0, release)
    for line in pulled.problems:
        err(f"FAILED {server.server}: {line}")
    return ServerData(resources, urls, pulled.trials, len(pulled.problems), release)


def _check_sources(server: ServerOptions, patient: Path | None, patient_id: str | None, from_server: bool) -> None:
    """A patient file, or a server with a patient id: never both, never neither."""
    if server.server and patient is not None:
        raise typer.BadParameter(
            "give --patient FILE or --server with --patient-id, not both", param_hint="'--patient'"
        )
    if not server.server and (patient_id or from_server):
        raise typer.BadParameter("--patient-id and --trials-from-server need --server", param_hint="'--server'")
    if not server.server and patient is None:
        raise typer.BadParameter("give --patient FILE, or --server URL with --patient-id ID", param_hint="'--patient'")


@_server_optional
def match(
    trials: Annotated[
        list[Path] | None,
        typer.Argument(help="Trial files or folders: our FHIR bundles or any input convert reads."),
    ] = None,
    patient: Annotated[
        Path | None,
        typer.Option("--patient", help="The patient's FHIR data: a Bundle, a list or one resource (R4 or R5)."),
    ] = None,
    *,
    server: ServerOptions,
    patient_id: Annotated[
        str | None, typer.Option("--patient-id", help="With --server: the id of the Patient to screen.")
    ] = None,
    trials_from_server: Annotated[
        bool,
        typer.Option("--trials-from-server", help="With --server: also screen against every trial on the server."),
    ] = False,
    fmt: Annotated[MatchFormat, typer.Option("--format", help="table, json, or a FHIR searchset Bundle.")] = (
        MatchFormat.table
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file ('-' or none: stdout).")
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--on", metavar="YYYY-MM-DD", help="Evaluation date: ages and windows are taken at it (default today)."
        ),
    ] = None,
) -> None:
    """Pre-screen a patient (a FHIR file, or one on a FHIR server) against trials. Exit 0 when every input was read
    (whatever the verdicts).

    Verdicts: eligible-so-far, ineligible or unknown, each criterion with its evidence.

    Examples:

    fhir-adapter match --patient patient.json seeds/ --on 2026-06-15

    fhir-adapter match --server URL --patient-id 123 --trials-from-server
    """
    from fhir_adapter.match import match as do_match

    day = _evaluation_day(on)
    _check_sources(server, patient, patient_id, trials_from_server)
    output = _output_file(output)
    require_paths([*([patient] if patient is not None else []), *(trials or [])])
    if server.server:
        data = load_from_server(server, patient_id, trials_from_server)
    else:
        assert patient is not None  # _check_sources
        try:
            resources, full_urls = load_patient_document(patient)
        except SourceError as e:  # an unreadable patient file is a usage error (the README's exit-code table)
            err(f"error: {e}")
            raise typer.Exit(ExitCode.USAGE if isinstance(e, UnreadablePatient) else ExitCode.FAILED) from None
        data = ServerData(resources, full_urls, [], 0, server.fhir_version)  # --fhir-version, else R5
    found, failures = load_trials(trials or [])
    found += data.trials
    failures += data.failures
    if not found:
        err("error: no trial could be read from the inputs")
        raise typer.Exit(ExitCode.NO_INPUT if not failures else ExitCode.FAILED)
    write_results(do_match(data.resources, found, on=day), fmt, output, data.release, data.full_urls)
    if failures:
        raise typer.Exit(ExitCode.FAILED)
