"""convert -v says which words of a criterion gave which atom (issue 9: the extractor explains itself)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fhir_adapter.cli import app

SEED = Path(__file__).resolve().parents[1] / "seeds" / "001_6fa90757b4c221a6.txt"


def test_verbose_lists_the_words_of_each_atom(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["convert", str(SEED), "-o", str(tmp_path), "-j", "1", "-v"])
    assert result.exit_code == 0, result.output
    assert "atom: performance-status ecog 0..1 <- 'ECOG performance status score of 0 or 1'" in result.output
    assert (
        "children[0]: atom: lab anc >= 1.5 10*9/L <- 'Absolute neutrophil count (ANC) ≥ 1.5 × 10⁹/L'" in result.output
    )


def test_without_verbose_no_atom_lines(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["convert", str(SEED), "-o", str(tmp_path), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "atom:" not in result.output
