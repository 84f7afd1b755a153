"""Issue 8: hostile input never writes outside -o, hangs, exhausts memory or costs the good records.

Every case (``cases.py``) runs the real ``fhir-adapter convert`` in a sandbox (``runner.py``), two at a time in the
background, each in a process of its own forked from a warm fork server (``forkserver.py``); each test waits for its
case and asserts all checks. ``test_hostile`` (marked ``hostile``, 500+ cases) is the full suite: ``pytest -m
hostile`` or ``pytest --all`` (there, on one pytest-xdist worker); ``test_hostile_quick`` (one case per category, no
mark) runs in the default ``pytest``. The summary tests print the per-category table (``-s`` to see it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .cases import Case, all_cases, quick_cases
from .runner import Session, table


@pytest.fixture(scope="session")
def hostile(request: pytest.FixtureRequest) -> Iterator[Session]:
    """One background session running every hostile case selected in this pytest run."""
    selected: dict[str, Case] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        if isinstance(case, Case):
            selected.setdefault(case.name, case)
    session = Session(selected.values())
    yield session
    session.close()


@pytest.mark.hostile
@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.name)
def test_hostile(case: Case, hostile: Session) -> None:
    result = hostile.result(case.name)
    assert result.ok, result.describe()


@pytest.mark.parametrize("case", quick_cases(), ids=lambda c: c.name)
def test_hostile_quick(case: Case, hostile: Session) -> None:
    result = hostile.result(case.name)
    assert result.ok, result.describe()


def _summary(hostile: Session) -> None:
    results = list(hostile.results())
    print(f"\nhostile-input cases: {len(results)}\n" + table(results))
    for r in results:
        if not r.ok:
            print(r.describe())


@pytest.mark.hostile
def test_hostile_summary(hostile: Session) -> None:
    """The per-category table of the cases of this run (never fails: the cases do)."""
    _summary(hostile)


def test_hostile_quick_summary(hostile: Session) -> None:
    _summary(hostile)
