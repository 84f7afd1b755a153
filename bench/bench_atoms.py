"""Speed of the criterion -> atoms extractor (issue 9: well under 1 ms per criterion).

Reads every record of tests/data (API v2, legacy XML, API v1, bulk ZIPs), /work/shared/fixtures and the seeds,
collects every criterion (nested ones too) and times ``fhir_adapter.computable.extract.definition_of`` over all of
them. Prints criteria/s, µs per criterion and how many criteria got a definition. No assertion: a measurement.

    .venv/bin/python bench/bench_atoms.py [--repeat N] [--show]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from fhir_adapter.computable.extract import definition_of
from fhir_adapter.model import Criterion
from fhir_adapter.sources import read_records

ROOT = Path(__file__).resolve().parents[1]
INPUTS = [ROOT / "tests" / "data", Path("/work/shared/fixtures"), ROOT / "seeds"]
SUFFIXES = {".json", ".xml", ".zip", ".txt", ".html"}


def _files() -> Iterator[Path]:
    for base in INPUTS:
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.suffix in SUFFIXES and "golden" not in p.parts and "eligibility" not in p.parts:
                    yield p


def _walk(criteria: list[Criterion], parent_exclude: bool = False) -> Iterator[tuple[str, bool]]:
    for c in criteria:
        exclude = parent_exclude != c.exclude
        if c.children:
            yield from _walk(c.children, exclude)
        else:
            yield c.text, c.exclude


def criteria_texts() -> list[tuple[str, bool]]:
    """(text, exclude) of every leaf criterion of every readable record, duplicates kept (each is work)."""
    found: list[tuple[str, bool]] = []
    for path in _files():
        try:
            for record in read_records([path]):
                if record.trial is not None and record.trial.eligibility is not None:
                    found += _walk(record.trial.eligibility.criteria)
        except Exception:  # a file no reader takes (a test's broken input) is not a criterion
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--show", action="store_true", help="print every criterion and whether it got atoms")
    args = parser.parse_args()
    texts = criteria_texts()
    if not texts:
        sys.exit("no criteria found")
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        results = [definition_of(text, exclude) for text, exclude in texts]
        best = min(best, time.perf_counter() - t0)
    computable = sum(r is not None for r in results)
    if args.show:
        for (text, _), r in zip(texts, results, strict=True):
            print(("ATOMS " if r is not None else "text  ") + text[:160])
    print(f"{len(texts)} criteria, {computable} with atoms ({100 * computable / len(texts):.1f} %)")
    print(
        f"{len(texts) / best:,.0f} criteria/s, {1e6 * best / len(texts):.1f} µs per criterion (best of {args.repeat})"
    )


if __name__ == "__main__":
    main()
