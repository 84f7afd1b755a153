"""The criteria extractor (issue 9) scored against the hand-labelled development set
(tests/data/eligibility/devset.json, labelled as tests/data/eligibility/README.md says): exact atoms (concept,
comparator, value, unit, result, window, polarity), precision >= 0.95 and no atom of the wrong polarity (issue 9's
targets), and recall at least the floor measured (``MIN_RECALL``, 0.88: issue 9's target of 0.85, ``TARGET_RECALL``,
is met). ``pytest -s`` prints the per-kind table; ``python tests/eligibility_score.py --details`` lists
every miss. See the computable contract (docs/computable.md) for the encoding."""

from __future__ import annotations

import re
from typing import Any

import pytest

import eligibility_score as es

KINDS = {
    "age", "sex", "performance-status", "lab", "vital", "result", "genomic", "condition", "pregnancy", "therapy",
    "life-expectancy", "measurable-disease",
}  # fmt: skip
UNITS = {
    "10*9/L", "/uL", "/mm3", "g/dL", "g/L", "mg/dL", "mg/L", "umol/L", "mL/min", "mL/min/{1.73_m2}", "{ULN}", "{LLN}",
    "a", "mo", "wk", "d", "h", "%", "mm[Hg]", "kg/m2", "[IU]/mL", "U/L", "ms", "Cel", "kg", "{copies}/mL", "mmol/L",
    "g", "cm", "L", "mU/mL",
}  # fmt: skip
KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def devset() -> list[dict[str, Any]]:
    return es.load_devset()


def test_devset_is_well_formed(devset: list[dict[str, Any]]) -> None:
    """Every item has the fields of the flat form, known kinds, UCUM units, negative-before windows, and a range or
    a threshold, never both."""
    assert len(devset) >= 200
    assert len({i["id"] for i in devset}) == len(devset)
    for item in devset:
        assert item["heading"] in ("inclusion", "exclusion"), item["id"]
        assert item["id"].startswith(item["source"] + "#"), item["id"]
        for atom in item["atoms"]:
            where = f"{item['id']}: {atom}"
            assert set(atom) == set(es.FIELDS), where
            assert atom["kind"] in KINDS and KEY.match(atom["concept"]), where
            assert atom["polarity"] in ("include", "exclude"), where
            assert atom["comparator"] in (None, "<", "<=", ">", ">="), where
            assert (atom["comparator"] is None) == (atom["value"] is None), where
            assert atom["low"] is None or atom["comparator"] is None, where
            assert atom["unit"] is None or atom["unit"] in UNITS, where
            window = atom["window"]
            if window is not None:
                assert window["unit"] in ("h", "d", "wk", "mo", "a"), where
                assert window["low"] is None or window["high"] is None or window["low"] <= window["high"], where


def test_devset_texts_match_the_reader(devset: list[dict[str, Any]]) -> None:
    """Each labelled text is still a criterion of its source as the project splits it (a splitter change that
    moves or rewrites an item names it here: relabel that item, never the extractor)."""
    _, _, problems = es.locate(devset)
    assert not problems, "dev-set items no longer found:\n" + "\n".join(problems)


def test_extractor_score(devset: list[dict[str, Any]]) -> None:
    """Exact atom precision >= 95 % and 0 wrong polarity on the dev set (issue 9's 'Done when'); recall no lower than
    the floor measured so far (above the issue's 85 % target)."""
    try:
        flat_atoms = es.extractor()
    except ImportError as e:
        pytest.fail(str(e))
    result = es.score(devset, flat_atoms)
    report = es.table(result)
    print("\n" + report)
    *_, wrong = result.totals()
    precision, recall = result.precision, result.recall
    problems = [
        f"{wrong} atoms of the wrong polarity" if wrong else "",
        f"precision {precision:.3f} < {es.MIN_PRECISION}" if precision < es.MIN_PRECISION else "",
        f"recall {recall:.3f} < {es.MIN_RECALL}" if recall < es.MIN_RECALL else "",
    ]
    failed = "; ".join(p for p in problems if p)
    assert not failed, f"{failed}\n{report}\n{es.details(result)}"
