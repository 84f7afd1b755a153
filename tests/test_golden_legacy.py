"""Golden scenarios for the legacy readers: one legacy XML record and one API v1 record -> Trial and R5 Bundle,
compared after parsing (the pattern of ``tests/test_golden.py``).

NCT03228394 (legacy ``<clinical_study>`` XML) has arms, interventions, outcomes, a criteria textblock, central and
site contacts and typed dates; NCT00023673 (API v1 ``FullStudiesResponse``) has four arms, results, 41 sites and a
long criteria list. The goldens were read by hand against their sources. When a change alters them, run
``pytest tests/test_golden_legacy.py --regen-golden`` and review the diff like code; never regenerate blindly.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import DATA, GOLDEN
from helpers import bundle_of, trial_of

LEGACY_INPUTS = [DATA / "ctgov-xml" / "NCT03228394.xml", DATA / "ctgov-v1" / "NCT00023673.json"]
LEGACY_GOLDEN = GOLDEN / "legacy"


def _trial_json(path: Path) -> object:
    t = trial_of(path)
    return json.loads(json.dumps(dataclasses.asdict(t) | {"source": None, "issues": [str(i) for i in t.issues]}))


@pytest.mark.parametrize("path", LEGACY_INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("kind", ["trial", "bundle"])
def test_golden_legacy(path: Path, kind: str, regen_golden: bool) -> None:
    actual = _trial_json(path) if kind == "trial" else bundle_of(path)
    golden = LEGACY_GOLDEN / f"{path.parent.name}.{trial_of(path).nct_id}.{kind}.json"
    if regen_golden or not golden.exists():
        golden.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if not regen_golden:
            pytest.fail(f"golden file {golden.name} was missing and has been written: review it and commit it")
    assert actual == json.loads(golden.read_text(encoding="utf-8"))
