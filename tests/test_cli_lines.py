"""What ``convert`` prints besides its output (issue 12 items 10 and 12): reader warnings counted per field in the
summary (each record's under ``-v``), per-record lines that go through the progress bar instead of garbling it,
and an example in the help of convert, validate and fetch."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import DATA
from fhir_adapter.cli import app
from fhir_adapter.cli.convert import MAX_WARNING_LINES, _Progress, _reporter, warning_lines
from fhir_adapter.errors import ExitCode
from fhir_adapter.outcome import Outcome
from fhir_adapter.pipeline import ConvertSummary

runner = CliRunner()
XML = DATA / "ctgov-xml"  # legacy XML: many fields kept as text, so many warnings of a few kinds
GROUP = re.compile(r"  +([0-9]+)  (.+)")


def _run(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def _groups(text: str) -> dict[str, int]:
    """The summary's ``count  field: message`` lines (and ``count  in N other field(s)``)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("warnings by field ("))
    return {m.group(2): int(m.group(1)) for line in lines[start + 1 : -1] if (m := GROUP.fullmatch(line))}


def test_the_summary_counts_warnings_per_field_and_v_lists_each_record(tmp_path: Path) -> None:
    plain = _run("convert", XML, "-o", tmp_path / "plain", "-j", "1")
    assert plain.exit_code == ExitCode.OK, plain.output
    total = int(re.search(r", ([0-9]+) warnings$", plain.stdout.splitlines()[-1]).group(1))  # type: ignore[union-attr]
    assert total > 100
    detail = [line for line in plain.output.splitlines() if line.startswith("  NCT") and "seen before" not in line]
    assert not detail  # no per-record detail without -v (a repeated trial's warning stays: it is about the output)
    header = next(line for line in plain.stdout.splitlines() if line.startswith("warnings by field"))
    assert header == f"warnings by field ({total} in all; -v lists them per record):"
    groups = _groups(plain.stdout)
    assert sum(groups.values()) == total and len(groups) <= MAX_WARNING_LINES + 1
    assert "has_expanded_access: field not mapped to FHIR; kept as text (ResearchStudy.note)" in groups
    named = [count for kind, count in groups.items() if not re.fullmatch(r"in [0-9]+ other field\(s\)", kind)]
    assert named == sorted(named, reverse=True) and len(named) == MAX_WARNING_LINES

    verbose = _run("convert", XML, "-o", tmp_path / "verbose", "-j", "2", "-v")
    assert verbose.exit_code == ExitCode.OK, verbose.output
    per_record = Counter(
        # the summary blanks list indexes and NCT ids inside messages (one kind per field and wording)
        re.sub(r"NCT[0-9]{8}", "NCT…", re.sub(r"\[[0-9]+\]", "", line.split(" warning: ", 1)[1]))
        for line in verbose.stderr.splitlines()
        if re.match(r"  NCT[0-9]{8} warning: ", line) and "seen before" not in line
    )
    assert sum(per_record.values()) == total
    for kind, count in list(groups.items())[:MAX_WARNING_LINES]:
        assert per_record[kind] == count, kind
    assert _groups(verbose.stdout) == groups  # the same summary, whatever the worker count


def test_quiet_leaves_out_the_per_field_counts(tmp_path: Path) -> None:
    result = _run("convert", XML, "-o", tmp_path, "-q")
    assert result.exit_code == ExitCode.OK, result.output
    (summary,) = result.stdout.splitlines()
    assert summary.startswith(f"{len(list(XML.iterdir()))} converted, 0 failed, ")


def test_warning_lines_rank_kinds_and_count_the_rest() -> None:
    summary = ConvertSummary(warnings=30)
    summary.warnings_by_field = {("f", f"m{n:02d}"): 1 for n in range(15)} | {("g", "often"): 15}
    lines = warning_lines(summary)
    assert lines[0] == "warnings by field (30 in all; -v lists them per record):"
    assert lines[1] == "      15  g: often" and lines[2] == "       1  f: m00"
    assert lines[-1] == f"       {15 - (MAX_WARNING_LINES - 1)}  in {15 - (MAX_WARNING_LINES - 1)} other field(s)"
    assert len(lines) == MAX_WARNING_LINES + 2
    assert warning_lines(ConvertSummary()) == []


def test_per_record_lines_are_printed_above_a_live_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    """A live bar: every line goes through its console (what ``tqdm.write`` does), so it is printed above the bar
    instead of through it; a stdout that is not the terminal still gets its ``ok`` lines, never the bar's console."""
    screen = io.StringIO()
    progress = _Progress(quiet=False, console=Console(file=screen, force_terminal=True, width=200))
    assert progress.bar is not None
    report = _reporter(progress, quiet=False, verbose=False)
    ok = Outcome("a.json", None, "NCT00000001", True, resources=3, warnings=1)
    bad = Outcome("b.json", 2, "NCT00000002", False, "map", ["no title"])
    report(ok, "out/NCT00000001.json")
    report(bad, None)
    progress.say("\x1b[31mforged", to_stderr=True)  # control characters escaped, never sent to the terminal
    progress.close()
    captured = capsys.readouterr()
    assert captured.out == "ok NCT00000001 -> out/NCT00000001.json (3 resources, 1 warnings)\n"
    drawn = screen.getvalue()
    assert "FAILED b.json#2 NCT00000002: map: no title" in drawn and "\\x1b[31mforged" in drawn
    assert "ok NCT00000001" not in drawn and captured.err == ""


def test_without_a_terminal_the_lines_go_to_their_streams(capsys: pytest.CaptureFixture[str]) -> None:
    progress = _Progress(quiet=False)  # pytest's stderr is no terminal: no bar
    assert progress.bar is None
    report = _reporter(progress, quiet=False, verbose=False, to_stream=True)
    report(Outcome("a.json", None, "NCT00000001", True, resources=3), "stdout")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "ok NCT00000001 -> stdout (3 resources, 0 warnings)\n"


@pytest.mark.parametrize(
    ("command", "example"),
    [
        ("convert", "fhir-adapter convert seeds/ -o out/"),
        ("validate", "fhir-adapter validate out/"),
        ("fetch", "fhir-adapter fetch NCT02513394 -o trials/ --convert"),
    ],
)
def test_each_command_shows_an_example_in_its_help(command: str, example: str) -> None:
    result = _run(command, "--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout and example in result.stdout
