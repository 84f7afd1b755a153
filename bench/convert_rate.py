"""Conversion rate of the reference inputs: read + map (+ validate) + serialise, in trials per second.

    python bench/convert_rate.py [--repeat 20]

Prints one line per stage set. No assertions: numbers are for the README and issue notes, measured on this
machine (one process, one core).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import orjson

from fhir_adapter.bundle import to_bundle
from fhir_adapter.sources import read_bytes
from fhir_adapter.validate import validate

REPO = Path(__file__).resolve().parents[1]


def inputs() -> list[tuple[str, bytes]]:
    files = sorted((REPO / "seeds").glob("*.txt")) + sorted((REPO / "tests" / "data" / "ctgov-v2").glob("*.json"))
    return [(str(f), f.read_bytes()) for f in files]


def run(data: list[tuple[str, bytes]], repeat: int, with_validation: bool) -> tuple[int, float, int]:
    trials = resources = 0
    start = time.perf_counter()
    for _ in range(repeat):
        for name, raw in data:
            for record in read_bytes(raw, name):
                assert record.trial is not None
                bundle = to_bundle(record.trial)
                if with_validation:
                    validate(bundle)
                orjson.dumps(bundle)
                trials += 1
                resources += len(bundle["entry"])
    return trials, time.perf_counter() - start, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    data = inputs()
    run(data, 1, True)  # warm caches (definitions, ConceptMaps) outside the timing
    mb = sum(len(raw) for _, raw in data) * args.repeat / 1e6
    for label, with_validation in (("read+map+serialise", False), ("read+map+validate+serialise", True)):
        trials, seconds, resources = run(data, args.repeat, with_validation)
        print(f"{label:32s} {trials / seconds:8.1f} trials/s  {resources / seconds:9.1f} resources/s  "
              f"{mb / seconds:6.2f} MB/s  ({trials} trials in {seconds:.2f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB; inputs: {len(data)} files (2 seed pages, 4 v2 studies incl. a 1.5 MB one)")


if __name__ == "__main__":
    main()
