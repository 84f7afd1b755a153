"""``fhir-adapter convert``: trial records -> FHIR Bundles (or NDJSON) in a folder, or Bundle NDJSON on standard
output (``-o -``), validated by default."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from fhir_adapter.cli.common import (
    MaxJsonDepth,
    MaxListItems,
    MaxRecordMb,
    MoreLimits,
    RecordTimeout,
    Release,
    check_output,
    clean,
    err,
    input_limits,
    make_output,
    out,
    require_paths,
)
from fhir_adapter.errors import ExitCode
from fhir_adapter.limits import DEFAULT_LIMITS, MB
from fhir_adapter.release import DEFAULT_RELEASE
from fhir_adapter.sinks.files import display_id

if TYPE_CHECKING:
    from rich.console import Console

    from fhir_adapter.pipeline import ConvertOptions, ConvertSummary, Outcome

STDOUT = "-"  # ``-o -``: the bundles go to standard output


class BundleType(StrEnum):
    collection = "collection"
    transaction = "transaction"


class _Progress:
    """A rich progress bar on a terminal, a plain line every 10 s otherwise, nothing with --quiet. Every line printed
    while it runs goes through ``say`` (as ``tqdm.write`` does), so that no line garbles the bar."""

    def __init__(self, quiet: bool, console: Console | None = None) -> None:
        self.quiet, self.count, self.start, self.last = quiet, 0, time.monotonic(), time.monotonic()
        self.bar = None
        if not quiet and (console is not None or sys.stderr.isatty()):
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.completed} records"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[rate]}"),
                transient=True,
                console=console or Console(stderr=True),  # on stderr: stdout may carry the bundles
                redirect_stdout=False,  # lines go through say(): a redirected stdout stays where it was sent
                redirect_stderr=False,
            )
            self.task = self.bar.add_task("convert", total=None, rate="")
            self.bar.start()

    def say(self, line: str, to_stderr: bool = False) -> None:
        """Print one line: above the live bar when the line is for the terminal the bar is drawn on (stderr, or a
        stdout that is that terminal too), else on its stream as usual."""
        if self.bar is not None and (to_stderr or sys.stdout.isatty()):
            from rich.text import Text

            self.bar.console.print(Text(clean(line)), soft_wrap=True)  # Text: no markup, emoji or highlighting
        else:
            (err if to_stderr else out)(line)

    def tick(self) -> None:
        self.count += 1
        now = time.monotonic()
        rate = f"{self.count / max(now - self.start, 1e-9):.0f} records/s"
        if self.bar is not None:
            self.bar.update(self.task, advance=1, rate=rate)
        elif not self.quiet and now - self.last >= 10:
            self.last = now
            err(f"progress: {self.count} records, {rate}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def convert(
    inputs: Annotated[
        list[str],
        typer.Argument(help="Files, folders, ZIP archives, NDJSON files, or - for standard input.", show_default=False),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR|-",
            help="Folder to write <NCTID>.json bundles into (created if needed; nothing is written "
            "outside it, no input in it is overwritten). Or - for standard output: every bundle that converted as "
            "one compact JSON line (with --ndjson: every resource), in input order, all other lines on stderr; "
            "nothing goes to disk, so no errors.jsonl (failures are listed on stderr only).",
        ),
    ],
    fhir_version: Release = DEFAULT_RELEASE,
    bundle: Annotated[BundleType, typer.Option("--bundle", help="Bundle type.")] = BundleType.collection,
    ndjson: Annotated[
        bool,
        typer.Option(
            "--ndjson", help="Write one <ResourceType>.ndjson per type (with -o -: one resource a line on stdout)."
        ),
    ] = False,
    do_validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Validate every bundle.")] = True,
    workers: Annotated[int, typer.Option("--workers", "-j", min=0, help="Processes (0: all cores).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no per-trial lines.")] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="List every reader warning per record (the summary counts them per field), and which words gave "
            "each criterion atom.",
        ),
    ] = False,
    record_timeout: RecordTimeout = DEFAULT_LIMITS.max_record_seconds,
    max_record_mb: MaxRecordMb = DEFAULT_LIMITS.max_record_bytes / MB,
    max_list_items: MaxListItems = DEFAULT_LIMITS.max_list_items,
    max_json_depth: MaxJsonDepth = DEFAULT_LIMITS.max_json_depth,
    limit: MoreLimits = None,
) -> None:
    """Convert trial records to FHIR. Exit 0 only if every record converted (and validated), 1 if any failed, 2 for
    a usage error, 3 if the inputs hold no record.

    Failed records are listed in DIR/errors.jsonl (source, index, NCT id, stage, message). With -o - the bundles
    (or resources) go to standard output and every other line (per record, summary, failures) to stderr. A trial
    that occurs twice in one run: the later record wins (bundle files and NDJSON files alike).

    \b
    Examples (bundle files; NDJSON per type; a Bundle a line on stdout; stdin to a resource a line):
      fhir-adapter convert seeds/ -o out/
      fhir-adapter convert studies.zip -o out/ --ndjson
      fhir-adapter convert seeds/ -o - | jq -c .type
      curl -s URL | fhir-adapter convert - -o - --ndjson
    """
    from fhir_adapter.pipeline import ConvertOptions, default_workers

    to_stream = _checked_output(output)
    require_paths([Path(p) for p in inputs if p != "-"])
    limits = input_limits(record_timeout, max_record_mb, max_list_items, max_json_depth, limit)
    options = ConvertOptions(
        fhir_version=fhir_version,
        bundle_type=bundle.value,
        ndjson=ndjson,
        validate=do_validate,
        workers=workers or default_workers(),
        indent=not to_stream,
        limits=limits,
        explain=verbose,
    )
    target = sys.stdout.buffer if to_stream else make_output(Path(output))
    _run(inputs, target, options, quiet, verbose)


def _checked_output(output: str) -> bool:
    """Whether ``-o`` is standard output; a usage error (exit 2) for an unusable folder."""
    if output == STDOUT:
        return True
    check_output(Path(output))
    return False


def _run(inputs: list[str], target: Path | BinaryIO, options: ConvertOptions, quiet: bool, verbose: bool) -> None:
    """Convert into ``target`` with one line per record and the summary; the exit code of the run."""
    from fhir_adapter.errors import OutputError
    from fhir_adapter.pipeline import convert_paths

    to_stream = not isinstance(target, Path)
    say = err if to_stream else out  # standard output carries only the bundles in -o - mode
    progress = _Progress(quiet)
    try:
        summary = convert_paths(inputs, target, options, _reporter(progress, quiet, verbose, to_stream))
    except OutputError as e:
        err(f"error: {e}")
        raise typer.Exit(ExitCode.FAILED) from None
    finally:  # a BrokenPipeError (the reader of -o - went away) goes on to typer: no traceback, exit 1
        progress.close()
    for line in [] if quiet else warning_lines(summary):
        say(line)
    say(_summary_line(summary, to_stream))
    if summary.converted == 0 and summary.failed == summary.empty:  # nothing, or only empty files / stdin
        err("error: no record found in the inputs (empty input: exit 3)")
        raise typer.Exit(ExitCode.NO_INPUT)
    if summary.failed:
        raise typer.Exit(ExitCode.FAILED)


MAX_WARNING_LINES = 12  # fields listed in the summary; the rest are counted on one line


def warning_lines(summary: ConvertSummary) -> list[str]:
    """The reader warnings of the run counted per field and kind, most frequent first (``-v`` lists each record's)."""
    if not summary.warnings_by_field:
        return []
    ranked = sorted(summary.warnings_by_field.items(), key=lambda item: (-item[1], item[0]))
    lines = [f"warnings by field ({summary.warnings} in all; -v lists them per record):"]
    lines += [f"  {count:>6}  {field}: {message}" for (field, message), count in ranked[:MAX_WARNING_LINES]]
    rest = ranked[MAX_WARNING_LINES:]
    if rest:
        lines.append(f"  {sum(c for _, c in rest):>6}  in {len(rest)} other field(s)")
    return lines


def _summary_line(summary: ConvertSummary, to_stream: bool) -> str:
    """The last line of a run: counts, and where the failures are listed."""
    line = f"{summary.converted} converted, {summary.failed} failed, {summary.warnings} warnings"
    if summary.errors_file:
        return line + f" (failures listed in {summary.errors_file})"
    if to_stream and summary.failed:
        return line + " (failures listed above; -o DIR also writes them to errors.jsonl)"
    return line


def _reporter(
    progress: _Progress, quiet: bool, verbose: bool, to_stream: bool = False
) -> Callable[[Outcome, str | None], None]:
    """One line per record, each through the progress bar (``_Progress.say``): ``ok`` (on stdout, on stderr with
    ``-o -``), ``FAILED`` or ``INVALID`` (on stderr) with file, record, id, stage and message."""

    def report(o: Outcome, target: str | None) -> None:
        progress.tick()
        nct = display_id(o.nct_id)
        if not o.ok:
            label = "INVALID" if o.stage == "validate" else "FAILED"
            progress.say(
                f"{label} {o.where}{' ' + nct if nct else ''}: {o.stage}: {o.messages[0]}"
                if o.stage != "read"
                else f"{label} {o.messages[0]}",
                to_stderr=True,
            )
            for m in o.messages[1:] if o.stage == "validate" else []:
                progress.say(f"  {nct} {m}", to_stderr=True)
            return
        for m in o.messages if verbose else [m for m in o.messages if "seen before" in m]:
            progress.say(f"  {nct} {m}", to_stderr=True)
        for m in o.notes:  # only asked for with -v: which words gave which atom
            progress.say(f"  {nct} {m}", to_stderr=True)
        if not quiet:
            progress.say(f"ok {nct} -> {target} ({o.resources} resources, {o.warnings} warnings)", to_stderr=to_stream)

    return report
