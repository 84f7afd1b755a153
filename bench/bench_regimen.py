"""Speed of the regimen reader (issue 10: fast enough to run on every arm of a bulk conversion).

Reads every record of tests/data (API v2, legacy XML, API v1, bulk ZIPs), /work/shared/fixtures and the seeds, and
times ``fhir_adapter.regimen.regimen_of`` over every arm. Prints arms/s, µs per arm (mean over a cold pass, the
reader's caches emptied first, and the slowest arm) and how many arms got at least one dosed activity. No
assertion: a measurement.

``--corpus N`` instead reads the registry-like corpus of ``bench/registry_corpus.py`` (N studies, seed 14; what
``bench/registry.py`` times) and prints the CPU ms (``time.process_time``, best of ``--repeat``) of what
``sources.with_regimens`` does per study (``regimen_of`` on every arm, ``schedule_of``) two ways: as in a
conversion (the caches emptied once per pass) and cold (emptied before every study). The corpus repeats its ~160
template records' texts far more than the registry does, so the text-keyed caches flatter the first figure; the
second is the cost of texts read once.

    .venv/bin/python bench/bench_regimen.py [--repeat N] [--corpus N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import fhir_adapter.sources as fhir_sources
from fhir_adapter.model import Arm, DrugActivity, Radiotherapy, Trial
from fhir_adapter.regimen import attributes, regimen_of, sources, text
from fhir_adapter.regimen.schedule import schedule_of
from fhir_adapter.regimen.terms import terms
from fhir_adapter.sources import read_bytes, read_records

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
    parser.add_argument("--corpus", type=int, metavar="N", help="time the registry-like corpus of N studies instead")
    args = parser.parse_args(argv)
    if args.corpus:
        _corpus(args.corpus, args.repeat)
        return
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


def _corpus_trials(studies: int) -> list[Trial]:
    sys.path.insert(0, str(ROOT / "bench"))
    import registry_corpus

    read = fhir_sources.with_regimens
    fhir_sources.with_regimens = _unread  # the Trials as the readers give them: the regimens are what is timed
    try:
        records = [r for s in registry_corpus.build(studies, 14).studies for r in read_bytes(s.data, s.nct_id)]
    finally:
        fhir_sources.with_regimens = read
    return [r.trial for r in records if r.trial is not None]


def _unread(trial: Trial) -> Trial:
    return trial


def _corpus(studies: int, repeat: int) -> None:
    trials = _corpus_trials(studies)
    terms()
    arms = sum(len(t.arms) for t in trials)
    for cold in (False, True):
        best = float("inf")
        for _ in range(repeat):
            _clear_caches()
            start = time.process_time()
            for trial in trials:
                if cold:
                    _clear_caches()
                for arm in trial.arms:
                    regimen_of(trial, arm)
                schedule_of(trial)
            best = min(best, time.process_time() - start)
        how = "cold (caches emptied before each study)" if cold else "as in a conversion (caches emptied per pass)"
        print(f"{len(trials)} studies, {arms} arms, {how}: {best * 1e3:,.1f} CPU ms (best of {repeat})")


def _clear_caches() -> None:
    for f in (attributes._dose_hits, attributes.route_in, attributes._frequency_in, text._words):
        f.cache_clear()
    text.paren_depths.cache_clear()
    text.clause_ends.cache_clear()
    sources._names.cache_clear()


if __name__ == "__main__":
    main(sys.argv[1:])
