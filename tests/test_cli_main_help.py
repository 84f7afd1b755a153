"""``fhir-adapter --help`` written without typer (fhir_adapter.cli.main_help) is typer's help byte for byte, at every
terminal width; where its layout is not certain typer writes it. The script imports no typer for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("fhir-adapter")
TYPER_HELP = "import sys; sys.argv = ['fhir-adapter', '--help']\nfrom fhir_adapter.cli.application import app\napp()"
PROBE = (
    "import sys; sys.argv = ['fhir-adapter', '--help']\n"
    "from fhir_adapter.cli import main\n"
    "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
    "print(code, sorted(m for m in sys.modules if m.split('.')[0] == 'typer'), file=sys.stderr)"
)


def _run(argv: list[str], columns: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize("columns", [None, "0", "80", "81", "120", "400", "79", "60", "50", "20", "x"])
def test_the_script_help_is_typers_at_every_width(columns: str | None) -> None:
    if not SCRIPT.is_file():
        pytest.skip("no installed console script next to this Python")
    ours = _run([str(SCRIPT), "--help"], columns)
    typers = _run([sys.executable, "-c", TYPER_HELP], columns)
    assert (ours.returncode, ours.stdout, ours.stderr) == (typers.returncode, typers.stdout, typers.stderr)
    assert ours.returncode == 0 and ours.stdout.startswith("Usage: fhir-adapter [OPTIONS] COMMAND")


def test_python_m_help_is_typers() -> None:
    """``python -m fhir_adapter --help`` names the program ``python -m fhir_adapter``: typer writes that help."""
    done = _run([sys.executable, "-m", "fhir_adapter", "--help"], None)
    assert done.returncode == 0 and done.stdout.startswith("Usage: python -m fhir_adapter [OPTIONS] COMMAND")


@pytest.mark.parametrize(("columns", "typer_loaded"), [("100", False), (None, False), ("60", True)])
def test_the_main_help_imports_typer_only_where_typer_writes_it(columns: str | None, typer_loaded: bool) -> None:
    done = _run([sys.executable, "-c", PROBE], columns)
    code, modules = done.stderr.strip().splitlines()[-1].split(" ", 1)
    assert code in ("0", "None") and (modules != "[]") == typer_loaded, done.stderr
