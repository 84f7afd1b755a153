"""``fhir-adapter fetch``: studies from the ClinicalTrials.gov API v2 -> raw JSON files (and FHIR, with --convert).

The raw files (``DIR/raw/<NCTID>.json``) are kept so that every conversion can be reproduced offline. The API base
URL comes from ``FHIR_ADAPTER_CTGOV_URL`` (default https://clinicaltrials.gov/api/v2); see
``fhir_adapter.sources.ctgov_api``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fhir_adapter.cli.common import check_output, err, make_output, out
from fhir_adapter.errors import ExitCode

if TYPE_CHECKING:
    from fhir_adapter.pipeline import Outcome
    from fhir_adapter.sinks import OutputFolder
    from fhir_adapter.sources.ctgov_api import CtgovClient


def fetch(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder: raw JSON goes to DIR/raw/<NCTID>.json.")],
    nct_ids: Annotated[
        list[str] | None, typer.Argument(metavar="NCT", help="NCT ids to fetch (NCT + 8 digits).")
    ] = None,
    query: Annotated[str | None, typer.Option("--query", help="Search: free-text query (query.term).")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Search: overall status (v2 token, e.g. RECRUITING); repeat for several."),
    ] = None,
    updated_since: Annotated[
        datetime | None,
        typer.Option(
            "--updated-since",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="Search: studies whose last update was posted on or after this day.",
        ),
    ] = None,
    convert: Annotated[
        bool, typer.Option("--convert", help="Then convert the raw files to FHIR bundles DIR/<NCTID>.json.")
    ] = False,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=1000, help="Search: studies per API page.")
    ] = 1000,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            "--ca-bundle",
            help="PEM file of the CA certificates to trust instead of REQUESTS_CA_BUNDLE / "
            "CURL_CA_BUNDLE / the default store (TLS verification is always on).",
        ),
    ] = None,
) -> None:
    """Fetch studies from ClinicalTrials.gov by NCT id and/or by search. Exit 0 only if every fetch succeeded, 1 if
    one failed, 2 for a usage error (a bad NCT id among them), 3 if a search found nothing.

    \b
    Examples:
      fhir-adapter fetch NCT02513394 -o trials/ --convert
      fhir-adapter fetch --query melanoma --status RECRUITING --updated-since 2026-01-01 -o trials/
    """
    from fhir_adapter.sources.ctgov_api import CtgovClient, normalize_statuses

    if str(output) == "-":  # a folder named "-" is never what was meant (convert -o - is standard output)
        raise typer.BadParameter(
            "fetch writes raw studies into a folder; '-' (standard output) is not one", param_hint="'--output' / '-o'"
        )
    check_output(output)
    if ca_bundle is not None and not ca_bundle.is_file():
        raise typer.BadParameter(f"{ca_bundle}: no such file", param_hint="'--ca-bundle'")
    searching = bool(query or status or updated_since)
    if not nct_ids and not searching:
        raise typer.BadParameter("give NCT ids, or --query / --status / --updated-since to search")
    try:
        statuses = normalize_statuses(status) if status else None
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="'--status'") from None
    ids = _checked_ids(nct_ids or [])
    _check_base_url()

    raw = make_output(output / "raw")
    run = _Run(raw)
    try:
        with CtgovClient(ca_bundle=ca_bundle) as api:
            for nct_id in ids:
                run.by_id(api, nct_id)
            if searching:
                run.by_search(api, query, statuses, updated_since.date() if updated_since else None, page_size)
    finally:
        if run.folder is not None:
            run.folder.close()
    out(f"{run.fetched} fetched, {run.failed} failed")

    converted_ok = _convert_raw(raw, output) if convert and run.fetched else True
    if run.failed or not converted_ok:
        raise typer.Exit(ExitCode.FAILED)
    if run.fetched == 0:  # a search that found nothing: the empty-input code of every command
        err("note: no study matched the search")
        raise typer.Exit(ExitCode.NO_INPUT)


def _checked_ids(values: list[str]) -> list[str]:
    """The NCT ids asked for, normalised and without repeats; a usage error (exit 2, one line per bad id, before
    any request) when one is not an NCT id."""
    from fhir_adapter.sources.ctgov_api import normalize_nct_id

    ids: list[str] = []
    bad = False
    for value in values:
        try:
            ids.append(normalize_nct_id(value))
        except ValueError as e:
            err(f"error: {e}")
            bad = True
    if bad:
        raise typer.Exit(ExitCode.USAGE)
    return list(dict.fromkeys(ids))


def _check_base_url() -> None:
    """A usage error (exit 2, no request, nothing retried) when ``FHIR_ADAPTER_CTGOV_URL`` is not an http(s) URL
    with a host, such as ``clinicaltrials.gov/api/v2`` without its scheme."""
    import os
    from urllib.parse import urlsplit

    from fhir_adapter.sources.ctgov_api import ENV_BASE_URL

    url = os.environ.get(ENV_BASE_URL)
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        err(f"error: {ENV_BASE_URL}={url!r} is not an http:// or https:// URL (e.g. https://clinicaltrials.gov/api/v2)")
        raise typer.Exit(ExitCode.USAGE)


def _convert_raw(raw: Path, output: Path) -> bool:
    """``--convert``: the raw studies -> ``DIR/<NCTID>.json``; True when every one converted."""
    from fhir_adapter.errors import OutputError
    from fhir_adapter.pipeline import ConvertOptions, convert_paths

    try:
        summary = convert_paths([raw], output, ConvertOptions(), _report_conversion)
    except OutputError as e:
        err(f"error: {e}")
        raise typer.Exit(ExitCode.FAILED) from None
    from fhir_adapter.cli.convert import warning_lines

    for line in warning_lines(summary):
        out(line)
    out(f"{summary.converted} converted, {summary.failed} failed, {summary.warnings} warnings")
    return summary.failed == 0


def _report_conversion(o: Outcome, target: str | None) -> None:
    if o.ok:
        out(f"ok {o.nct_id} -> {target} ({o.resources} resources, {o.warnings} warnings)")
    else:
        message = o.messages[0] if o.messages else "failed"
        err(f"FAILED {o.where}{' ' + o.nct_id if o.nct_id else ''}: {o.stage}: {message}")


class _Run:
    """Saves studies into the raw folder and counts them; every failure is one line on stderr."""

    def __init__(self, raw: Path) -> None:
        self.raw = raw
        self.folder: OutputFolder | None = None  # opened on the first save
        self.fetched = 0
        self.failed = 0

    def by_id(self, api: CtgovClient, nct_id: str) -> None:
        """Fetch and save one study by its (normalised) NCT id."""
        from fhir_adapter.sources.ctgov_api import CtgovApiError, StudyNotFound, study_nct_id

        try:
            study = api.get_study(nct_id)
        except StudyNotFound:
            self._fail(f"{nct_id}: not found on ClinicalTrials.gov")
            return
        except CtgovApiError as e:
            self._fail(f"{nct_id}: {e}")
            return
        got = study_nct_id(study)
        if got is None:
            self._fail(f"{nct_id}: the API answer has no protocolSection.identificationModule.nctId")
            return
        if got != nct_id:
            err(f"warning: {nct_id}: ClinicalTrials.gov answered with {got} (an alias); saved as {got}")
        self._save(got, study)

    def by_search(
        self,
        api: CtgovClient,
        query: str | None,
        statuses: list[str] | None,
        updated_since: date | None,
        page_size: int,
    ) -> None:
        from fhir_adapter.sources.ctgov_api import CtgovApiError, study_nct_id

        index = -1
        try:
            for index, study in enumerate(api.search(query, statuses, updated_since, page_size)):
                nct_id = study_nct_id(study)
                if nct_id is None:
                    self._fail(f"search result #{index}: no protocolSection.identificationModule.nctId")
                    continue
                self._save(nct_id, study)
        except CtgovApiError as e:
            self._fail(f"search (after {index + 1} studies): {e}")

    def _save(self, nct_id: str, study: dict[str, Any]) -> None:
        """Write the raw study as ``raw/<name>.json``: a name from the validated id, written atomically inside the
        raw folder without following a symlink planted there (``sinks.OutputFolder``)."""
        import orjson

        from fhir_adapter.errors import OutputError
        from fhir_adapter.sinks import OutputFolder, UnusableId, output_stem

        try:
            name = f"{output_stem(nct_id)}.json"
            if self.folder is None:
                self.folder = OutputFolder(self.raw)
            path = self.folder.write_file(name, orjson.dumps(study, option=orjson.OPT_INDENT_2) + b"\n")
        except (UnusableId, OutputError, TypeError) as e:  # TypeError: orjson refuses a value (int beyond 64 bits)
            self._fail(f"{nct_id!r}: cannot write the raw study: {e}")
            return
        self.fetched += 1
        out(f"fetched {nct_id} -> {path}")

    def _fail(self, line: str) -> None:
        self.failed += 1
        err(f"FAILED {line}")
