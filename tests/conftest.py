"""Shared fixtures: where the test inputs live, and the ``--regen-golden`` switch.

Inputs are copies inside the repo (``seeds/``, ``tests/data/``), so the suite runs from a fresh clone alone.
Golden files are compared after parsing; ``--regen-golden`` rewrites them, and the diff must be reviewed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
V2_FIXTURES = sorted((DATA / "ctgov-v2").glob("*.json"))
GOLDEN = DATA / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true", help="rewrite golden files (review the diff!)")


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


def all_inputs() -> list[Path]:
    """Every reference input: the seed pages and the v2 fixtures."""
    return [*SEEDS, *V2_FIXTURES]
