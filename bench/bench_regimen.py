"""Speed of the regimen reader (issue 10: fast enough to run on every arm of a bulk conversion).

Reads every record of tests/data (API v2, legacy XML, API v1, bulk ZIPs), /work/shared/fixtures and the seeds, and
times ``fhir_adapter.regimen.regimen_of`` over every arm. Prints arms/s, µs per arm (mean and the slowest arm) and
how many arms got at least one dosed activity. No assertion: a measurement.

    .venv/bin/python bench/bench_regimen.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from fhir_adapter.model import Arm, DrugActivity, Radiotherapy, Trial
from fhir_adapter.regimen import regimen_of
from fhir_adapter.sources import read_records

ROOT = Path(__file__).resolve().parents[1]
INPUTS = [ROOT / "tests" / "data", Path("/work/shared/fixtures"), ROOT / "seeds"]
SUFFIXES = {".json", ".xml", ".zip", ".txt", ".html"}


def _files() -> Iterator[Path]:
    for base in INPUTS:
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                skip = {"golden", "eligibility", "regimen", "patients", "validate"} & set(p.parts)
                if p.suffix in SUFFIXES and not skip:
                    yield p


def _arms() -> list[tuple[Trial, Arm]]:
    out: list[tuple[Trial, Arm]] = []
    for record in read_records(_files()):
        trial = getattr(record, "trial", None)
        if trial is not None:
            out.extend((trial, arm) for arm in trial.arms)
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    arms = _arms()
    dosed, slowest = 0, 0.0
    for trial, arm in arms:
        start = time.perf_counter()
        regimen = regimen_of(trial, arm)
        slowest = max(slowest, time.perf_counter() - start)
        acts = [a for p in regimen.phases for a in p.activities]
        dosed += any(isinstance(a, Radiotherapy) or (isinstance(a, DrugActivity) and a.doses) for a in acts)
    start = time.perf_counter()
    for _ in range(args.repeat):
        for trial, arm in arms:
            regimen_of(trial, arm)
    elapsed = time.perf_counter() - start
    n = len(arms) * args.repeat
    print(f"{len(arms)} arms x {args.repeat}: {n / elapsed:,.0f} arms/s, {elapsed / n * 1e6:,.0f} µs per arm")
    print(f"slowest arm (first run): {slowest * 1e6:,.0f} µs; arms with a dose or radiotherapy: {dosed}")


if __name__ == "__main__":
    main(sys.argv[1:])
