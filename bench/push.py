"""Push throughput to a running FHIR server: transactions (per trial, in chunks), batches, one request per resource.

    python bench/push.py http://127.0.0.1:8080/fhir [--fhir-version R5] [--reset hapi|medplum|none] [PATH...]

Converts and validates the inputs once, on the pipeline as ``convert`` and ``push`` do (default: seeds/,
tests/data/ctgov-v2/, tests/data/ctgov-xml/), then for each mode empties the server (``--reset``: HAPI
``$expunge`` everything / Medplum ``DELETE $reset``; test servers only!) and pushes every trial twice: the first push
creates everything, the second finds everything unchanged. Prints resources/s and trials/s for both. Numbers are
wall time from this client, one connection, on whatever machine runs the server.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import orjson
import requests

from fhir_adapter.pipeline import ConvertOptions, iter_outcomes
from fhir_adapter.sinks.server import FhirClient, TrialBundle, push_bundles

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUTS = [REPO / "seeds", REPO / "tests/data/ctgov-v2", REPO / "tests/data/ctgov-xml"]
MODES = [  # (label, mode, trials per request)
    ("transaction, 1 trial/request", "transaction", 1),
    ("transaction, 10 trials/request", "transaction", 10),
    ("batch, 10 trials/chunk (2-3 rounds)", "batch", 10),
    ("one request per resource", "resource", 1),
]


def reset(base: str, kind: str) -> None:
    if kind == "hapi":
        body = {"resourceType": "Parameters", "parameter": [{"name": "expungeEverything", "valueBoolean": True}]}
        requests.post(f"{base}/$expunge", json=body, timeout=300).raise_for_status()
    elif kind == "medplum":
        requests.delete(f"{base}/$reset", timeout=60).raise_for_status()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server")
    ap.add_argument("paths", nargs="*", type=Path, default=DEFAULT_INPUTS)
    ap.add_argument("--fhir-version", default="R5", choices=["R5", "R4"])
    ap.add_argument("--reset", default="none", choices=["hapi", "medplum", "none"])
    args = ap.parse_args()

    skipped = 0
    trials: dict[str, TrialBundle] = {}
    for o in iter_outcomes(args.paths, ConvertOptions(fhir_version=args.fhir_version)):
        if not o.ok:  # not read, mapped or valid: push would not send it either
            skipped += 1
            continue
        trials.setdefault(o.nct_id or "", TrialBundle(o.nct_id or "", o.where, orjson.loads(o.payload)["entry"]))
    bundles = list(trials.values())
    resources = sum(len(t.entries) for t in bundles)
    print(
        f"{args.server} ({args.fhir_version}): {len(bundles)} trials, {resources} resources ({skipped} records skipped)"
    )
    print(f"{'mode':40} {'push':>6} {'requests':>8} {'seconds':>8} {'resources/s':>12} {'trials/s':>9}")
    with FhirClient(args.server, fhir_version=args.fhir_version) as client:
        for label, mode, size in MODES:
            reset(args.server, args.reset)
            for run in ("create", "again"):
                start = time.perf_counter()
                s = push_bundles(client, bundles, mode=mode, batch_size=size)
                took = time.perf_counter() - start
                flag = f"  ({s.failed} FAILED)" if s.failed else ""
                print(
                    f"{label:40} {run:>6} {s.requests:8d} {took:8.2f} {s.resources / took:12.0f} "
                    f"{len(bundles) / took:9.1f}{flag}"
                )


if __name__ == "__main__":
    main()
