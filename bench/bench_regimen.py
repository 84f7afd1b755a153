"""Speed of the regimen reader (issue 10: fast enough to run on every arm of a bulk conversion).

Reads every record of tests/data (API v2, legacy XML, API v1, bulk ZIPs), /work/shared/fixtures and the seeds, and
times ``fhir_adapter.regimen.regimen_of`` over every arm. Prints arms/s, µs per arm (mean over a cold pass, the
reader's caches emptied first, and the slowest arm) and how many arms got at least one dosed activity. No
assertion: a measurement.

    .venv/bin/python bench/bench_regimen.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from fhir_adapter.model import Arm, DrugActivity, Radiotherapy, Trial
from fhir_adapter.regimen import attributes, regimen_of, sources, text
from fhir_adapter.regimen.terms import terms
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
    parser.add_argument("--repeat", type=int, default=3, help="passes; the best is reported")
    args = parser.parse_args(argv)
    arms = _arms()
    terms()  # the table is read once per process: not part of an arm's cost
    best, slowest, dosed = float("inf"), 0.0, 0
    for _ in range(args.repeat):
        _clear_caches()  # every pass cold, as in a conversion, where each text is read once
        start = time.perf_counter()
        for trial, arm in arms:
            one = time.perf_counter()
            regimen = regimen_of(trial, arm)
            slowest = max(slowest, time.perf_counter() - one)
            acts = [a for p in regimen.phases for a in p.activities]
            dosed += any(isinstance(a, Radiotherapy) or (isinstance(a, DrugActivity) and a.doses) for a in acts)
        best = min(best, time.perf_counter() - start)
    per_arm = best / len(arms) * 1e6
    print(f"{len(arms)} arms: {len(arms) / best:,.0f} arms/s, {per_arm:,.0f} µs per arm (best of {args.repeat})")
    print(f"slowest arm: {slowest * 1e6:,.0f} µs; arms with a dose or radiotherapy: {dosed // args.repeat}")


def _clear_caches() -> None:
    for f in (attributes._dose_hits, attributes.route_in, attributes._frequency_in, text._words):
        f.cache_clear()
    text.paren_depths.cache_clear()
    text.clause_ends.cache_clear()
    sources._names.cache_clear()


if __name__ == "__main__":
    main(sys.argv[1:])
