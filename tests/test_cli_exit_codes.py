"""One exit-code contract for every command, and no traceback on any path a user can reach (issue 12 items 2 and 4).

The contract (``fhir_adapter.errors.ExitCode``, the README's table): 0 ok; 1 at least one record, document, study or
trial failed (the others were done); 2 usage error or bad input the command cannot start with (a bad option, ``-o``
naming a file or a folder that cannot be created, a bad NCT id, a URL without an http(s) scheme); 3 empty input (a
path that does not exist, or inputs that hold no record, an empty standard input, a search that found nothing);
4 internal error (a bug); 130 interrupted.

Every case runs through typer's CliRunner on the real app: the exit code is the contract's, something is said on
stderr, and no exception escapes the command (CliRunner would hold it in ``result.exception``; the console script
would print ``internal error``, never a traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DATA, REPO
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode
from fhir_adapter.sources.ctgov_api import ENV_BASE_URL

runner = CliRunner()
SEEDS = str(REPO / "seeds")
PATIENT = str(DATA / "patients" / "p01-eligible.r5.json")
NOWHERE = "http://127.0.0.1:9"  # nothing listens there: a case that reached the network would fail differently

# (id, arguments, standard input, environment, expected exit code); {file}, {out}, {empty}, {missing}, {bad_json},
# {folder_json} are paths made per test.
CASES: list[tuple[str, list[str], str | None, dict[str, str], int]] = [
    ("convert -o an existing file", ["convert", SEEDS, "-o", "{file}"], None, {}, ExitCode.USAGE),
    ("convert -o under a file", ["convert", SEEDS, "-o", "{file}/sub"], None, {}, ExitCode.USAGE),
    ("convert bad release", ["convert", SEEDS, "-o", "{out}", "--fhir-version", "R3"], None, {}, ExitCode.USAGE),
    ("convert bad limit", ["convert", SEEDS, "-o", "{out}", "--limit", "nope=1"], None, {}, ExitCode.USAGE),
    ("convert missing input", ["convert", "{missing}", "-o", "{out}"], None, {}, ExitCode.NO_INPUT),
    ("convert empty folder", ["convert", "{empty}", "-o", "{out}"], None, {}, ExitCode.NO_INPUT),
    ("convert a folder named x.json", ["convert", "{folder_json}", "-o", "{out}"], None, {}, ExitCode.NO_INPUT),
    ("convert empty stdin", ["convert", "-", "-o", "-"], "", {}, ExitCode.NO_INPUT),
    ("convert empty stdin --ndjson", ["convert", "-", "-o", "{out}", "--ndjson"], "", {}, ExitCode.NO_INPUT),
    ("convert bad JSON record", ["convert", "{bad_json}", "-o", "{out}"], None, {}, ExitCode.FAILED),
    ("validate missing input", ["validate", "{missing}"], None, {}, ExitCode.NO_INPUT),
    ("validate empty folder", ["validate", "{empty}"], None, {}, ExitCode.NO_INPUT),
    ("validate empty stdin", ["validate", "-"], "", {}, ExitCode.NO_INPUT),
    ("validate bad format", ["validate", SEEDS, "--format", "xml"], None, {}, ExitCode.USAGE),
    ("validate bad JSON", ["validate", "{bad_json}"], None, {}, ExitCode.FAILED),
    ("validate bad JSON on stdin", ["validate", "-"], "{nope", {}, ExitCode.FAILED),
    ("validate a folder named x.json", ["validate", "{folder_json}"], None, {}, ExitCode.FAILED),
    ("fetch bad NCT id", ["fetch", "NCT123", "-o", "{out}"], None, {}, ExitCode.USAGE),
    ("fetch -o an existing file", ["fetch", "NCT02513394", "-o", "{file}"], None, {}, ExitCode.USAGE),
    ("fetch nothing asked", ["fetch", "-o", "{out}"], None, {}, ExitCode.USAGE),
    ("fetch -o -", ["fetch", "NCT02513394", "-o", "-"], None, {}, ExitCode.USAGE),
    ("fetch --ca-bundle a folder", ["fetch", "NCT02513394", "-o", "{out}", "--ca-bundle", "{empty}"], None, {}, 2),
    (
        "fetch URL without a scheme",
        ["fetch", "NCT02513394", "-o", "{out}"],
        None,
        {ENV_BASE_URL: "clinicaltrials.gov/api/v2"},
        ExitCode.USAGE,
    ),
    ("match missing patient", ["match", "--patient", "{missing}", SEEDS], None, {}, ExitCode.NO_INPUT),
    ("match no trials", ["match", "--patient", PATIENT, "{empty}"], None, {}, ExitCode.NO_INPUT),
    ("match bad JSON patient", ["match", "--patient", "{bad_json}", SEEDS], None, {}, ExitCode.USAGE),
    ("match patient is a folder", ["match", "--patient", "{empty}", SEEDS], None, {}, ExitCode.USAGE),
    ("match -o a folder", ["match", "--patient", PATIENT, SEEDS, "-o", "{empty}"], None, {}, ExitCode.USAGE),
    ("match bad date", ["match", "--patient", PATIENT, SEEDS, "--on", "2026-13-01"], None, {}, ExitCode.USAGE),
    ("match URL without a scheme", ["match", "--server", "127.0.0.1:9", "--patient-id", "p", SEEDS], None, {}, 2),
    ("pull -o an existing file", ["pull", "--server", NOWHERE, "-o", "{file}"], None, {}, ExitCode.USAGE),
    ("pull URL without a scheme", ["pull", "--server", "127.0.0.1:9", "-o", "{out}"], None, {}, ExitCode.USAGE),
    ("pull bad NCT id", ["pull", "--server", NOWHERE, "--identifier", "NCT1", "-o", "{out}"], None, {}, 2),
    ("push missing input", ["push", "{missing}", "--server", NOWHERE], None, {}, ExitCode.NO_INPUT),
    ("push URL without a scheme", ["push", SEEDS, "--server", "127.0.0.1:9"], None, {}, ExitCode.USAGE),
    # found before any request: NOWHERE would cost 5 retries (and exit 1) if they were not
    ("push empty folder", ["push", "{empty}", "--server", NOWHERE], None, {}, ExitCode.NO_INPUT),
    ("push an empty file", ["push", "{empty_file}", "--server", NOWHERE], None, {}, ExitCode.NO_INPUT),
    (
        "pull --token-file a folder",
        ["pull", "--server", NOWHERE, "-o", "{out}", "--token-file", "{empty}"],
        None,
        {},
        2,
    ),
    (
        "push --password-file a folder",
        ["push", SEEDS, "--server", NOWHERE, "--user", "u", "--password-file", "{empty}"],
        None,
        {},
        ExitCode.USAGE,
    ),
    (
        "pull --smart-key a folder",
        ["pull", "--server", NOWHERE, "-o", "{out}", "--smart-client-id", "c", "--smart-key", "{empty}"],
        None,
        {},
        ExitCode.USAGE,
    ),
    (
        "match --token-file a folder",
        ["match", "--server", NOWHERE, "--patient-id", "p", "--token-file", "{empty}", SEEDS],
        None,
        {},
        ExitCode.USAGE,
    ),
]


def _paths(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.json").write_text('{"truncated": ')
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "folders" / "x.json").mkdir(parents=True)
    return {
        "file": str(tmp_path / "file"),
        "out": str(tmp_path / "out"),
        "empty": str(tmp_path / "empty"),
        "missing": str(tmp_path / "missing.json"),
        "empty_file": str(tmp_path / "empty.json"),
        "bad_json": str(tmp_path / "bad.json"),
        "folder_json": str(tmp_path / "folders"),
    }


@pytest.mark.parametrize(("name", "args", "stdin", "env", "expected"), [pytest.param(*c, id=c[0]) for c in CASES])
def test_every_command_follows_the_exit_code_contract_without_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    args: list[str],
    stdin: str | None,
    env: dict[str, str],
    expected: int,
) -> None:
    monkeypatch.delenv(ENV_BASE_URL, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    paths = _paths(tmp_path)
    monkeypatch.chdir(tmp_path)  # whatever a case writes by mistake (a folder named "-") stays here
    result = runner.invoke(app, [a.format(**paths) for a in args], input=stdin)
    assert result.exit_code == expected, f"{name}: {result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.strip(), f"{name}: exit {expected} without a word on stderr"
    assert not (tmp_path / "-").exists(), f"{name}: wrote something named '-'"


def test_the_codes_are_the_documented_ones() -> None:
    assert [(c.name, c.value) for c in ExitCode] == [
        ("OK", 0),
        ("FAILED", 1),
        ("USAGE", 2),
        ("NO_INPUT", 3),
        ("INTERNAL", 4),
        ("INTERRUPTED", 130),
    ]
    readme = (REPO / "README.md").read_text()
    for code in ExitCode:
        assert f"| `{code.value}` |" in readme, f"the README's exit-code table has no row for {code.value}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["convert", SEEDS, "-o", "{file}"], ExitCode.USAGE),
        (["validate", "{missing}"], ExitCode.NO_INPUT),
        (["fetch", "NCT1", "-o", "{out}"], ExitCode.USAGE),
    ],
)
def test_the_console_script_says_one_thing_and_no_traceback(tmp_path: Path, args: list[str], expected: int) -> None:
    """The same through the real entry point (``python -m fhir_adapter``), as a shell runs it."""
    paths = _paths(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "fhir_adapter", *(a.format(**paths) for a in args)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == expected, done.stderr.decode()
    assert done.stdout == b"" and done.stderr and b"Traceback" not in done.stderr


def test_match_dash_o_is_standard_output_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``match -o -`` writes the results to stdout (as ``convert -o -``), never a file named ``-``."""
    import orjson

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["match", "--patient", PATIENT, SEEDS, "--format", "json", "-o", "-"])
    assert result.exit_code == ExitCode.OK, result.output
    assert not (tmp_path / "-").exists()
    assert isinstance(orjson.loads(result.stdout), (list, dict))  # stdout is the JSON document alone
