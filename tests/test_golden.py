"""Golden scenarios: every seed page and v2 fixture -> Trial and R5 Bundle, compared after parsing.

The goldens were checked once by hand against their sources, line by line. When a change alters them, run
``pytest tests/test_golden.py --regen-golden`` and review the diff like code; never regenerate blindly.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import GOLDEN, all_inputs
from fhir_adapter.model import Trial


def _trial_json(t: Trial) -> object:
    return json.loads(json.dumps(dataclasses.asdict(t) | {"source": None, "issues": [str(i) for i in t.issues]}))


@pytest.mark.parametrize("path", all_inputs(), ids=lambda p: p.name)
@pytest.mark.parametrize("kind", ["trial", "bundle"])
def test_golden(
    path: Path,
    kind: str,
    regen_golden: bool,
    reference_trials: dict[Path, Trial],
    reference_bundles: dict[Path, dict[str, Any]],
) -> None:
    trial = reference_trials[path]
    actual = _trial_json(trial) if kind == "trial" else reference_bundles[path]
    nct = trial.nct_id
    golden = GOLDEN / f"{nct}.{kind}.json"
    if regen_golden or not golden.exists():
        golden.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if not regen_golden:
            pytest.fail(f"golden file {golden.name} was missing and has been written: review it and commit it")
    assert actual == json.loads(golden.read_text(encoding="utf-8"))
