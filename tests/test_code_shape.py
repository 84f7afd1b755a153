"""The size rules of CONTRIBUTING.md, checked on ``src/``: modules of at most 500 lines, functions of at most 60.

A function's length is that of its body, docstring included, so that a command's option list (one parameter a line
under ``ruff format``) does not count. Complexity (ruff's C901, at most 12) is checked by ``ruff check``; this covers
what ruff does not measure.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fhir_adapter"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
MODULES = sorted(SRC.rglob("*.py"))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _body_lines(f: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    assert f.end_lineno is not None
    return f.end_lineno - f.body[0].lineno + 1


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_is_at_most_500_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(SRC)} has {lines} lines (at most {MAX_MODULE_LINES})"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_functions_are_at_most_60_lines(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [
        f"{f.name} (line {f.lineno}): {_body_lines(f)} lines"
        for f in _functions(tree)
        if _body_lines(f) > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.relative_to(SRC)}: " + "; ".join(long)


def test_the_rule_sees_every_package() -> None:
    # a wrong SRC would make every check above pass on nothing
    assert len(MODULES) > 40
    assert any(p.parent.name == "sources" for p in MODULES)
