"""Push throughput to a running FHIR server: transactions (per trial, in chunks), batches, one request per resource,
on 1 or more concurrent connections, each setting checked for correctness.

    python bench/push.py http://127.0.0.1:8080/fhir [--fhir-version R5] [--reset hapi|medplum|none]
        [--modes tx1 tx10 batch resource] [--connections 1 2 4] [--limit N] [--rounds R] [PATH...]

Converts and validates the inputs once, on the pipeline as ``convert`` and ``push`` do (default: seeds/,
tests/data/ctgov-v2/, tests/data/ctgov-xml/), then for each mode and number of connections empties the server
(``--reset``: HAPI ``$expunge`` everything / Medplum ``DELETE $reset``; test servers only!) and pushes every trial
twice: the first push creates everything, the second finds everything unchanged. Prints resources/s and trials/s
for both, and the check: ``ok`` when no push failed, every resource type holds exactly as many resources as the
trials have distinct request URLs (no duplicate), and the second push left every ``meta.versionId`` as it was;
else what differed. ``tx1`` (one trial per transaction) is ``fhir-adapter push``'s default. Numbers are wall time
from this client, on whatever machine runs the server (here: the same one).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path

import orjson
import requests

from fhir_adapter.pipeline import ConvertOptions, iter_outcomes
from fhir_adapter.release import FhirRelease
from fhir_adapter.sinks.server import FhirClient, TrialBundle, prepare, push_bundles

REPO = Path(__file__).resolve().parents[1]
DEFAULT_INPUTS = [REPO / "seeds", REPO / "tests/data/ctgov-v2", REPO / "tests/data/ctgov-xml"]
MODES = {  # key: (label, mode, trials per request)
    "tx1": ("transaction, 1 trial/request", "transaction", 1),
    "tx10": ("transaction, 10 trials/request", "transaction", 10),
    "batch": ("batch, 10 trials/chunk (2-3 rounds)", "batch", 10),
    "resource": ("one request per resource", "resource", 1),
}


def reset(base: str, kind: str) -> None:
    if kind == "hapi":
        body = {"resourceType": "Parameters", "parameter": [{"name": "expungeEverything", "valueBoolean": True}]}
        requests.post(f"{base}/$expunge", json=body, timeout=300).raise_for_status()
    elif kind == "medplum":
        requests.delete(f"{base}/$reset", timeout=60).raise_for_status()


def expected_counts(bundles: list[TrialBundle]) -> Counter[str]:
    """Resources per type the server must hold after the push: one per distinct request URL."""
    urls = {(e["resource"]["resourceType"], e["request"]["url"]) for t in bundles for e in prepare(t).entries}
    return Counter(rtype for rtype, _ in urls)


def versions(client: FhirClient, types: list[str]) -> dict[str, str]:
    """``Type/id`` -> ``meta.versionId`` of every resource of ``types`` on the server."""
    out: dict[str, str] = {}
    for rtype in types:
        for page in client.search_pages(rtype, {"_count": "500", "_elements": "id"}):
            for e in page.get("entry", []):
                r = e.get("resource", {})
                if r.get("resourceType") == rtype:
                    out[f"{rtype}/{r['id']}"] = str(r.get("meta", {}).get("versionId"))
    return out


def check(expected: Counter[str], first: dict[str, str], second: dict[str, str]) -> str:
    """``ok``, or what is wrong: duplicates or missing resources, versions the second push changed."""
    held = Counter(key.partition("/")[0] for key in second)
    wrong = [f"{t} {held[t]}/{n}" for t, n in sorted(expected.items()) if held[t] != n]
    changed = sum(1 for key, v in second.items() if first.get(key) != v)
    problems = ([f"counts {', '.join(wrong)}"] if wrong else []) + ([f"{changed} changed"] if changed else [])
    return "; ".join(problems) or "ok"


def load(paths: list[Path], release: str, limit: int | None) -> tuple[list[TrialBundle], int]:
    skipped = 0
    trials: dict[str, TrialBundle] = {}
    for o in iter_outcomes(paths, ConvertOptions(fhir_version=FhirRelease.parse(release))):
        if not o.ok:  # not read, mapped or valid: push would not send it either
            skipped += 1
            continue
        trials.setdefault(o.nct_id or "", TrialBundle(o.nct_id or "", o.where, orjson.loads(o.payload)["entry"]))
    return list(trials.values())[:limit], skipped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server")
    ap.add_argument("paths", nargs="*", type=Path, default=DEFAULT_INPUTS)
    ap.add_argument("--fhir-version", default="R5", choices=["R5", "R4"])
    ap.add_argument("--reset", default="none", choices=["hapi", "medplum", "none"])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--connections", nargs="+", type=int, default=[1])
    ap.add_argument("--limit", type=int, default=None, help="push the first N trials only")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the settings, interleaved; prints medians")
    args = ap.parse_args()

    bundles, skipped = load(args.paths, args.fhir_version, args.limit)
    resources = sum(len(t.entries) for t in bundles)
    expected = expected_counts(bundles)
    print(
        f"{args.server} ({args.fhir_version}): {len(bundles)} trials, {resources} resources ({skipped} records skipped)"
    )
    print(
        f"{'mode':37} {'conn':>4} {'push':>6} {'requests':>8} {'seconds':>8} {'resources/s':>11} {'trials/s':>8}  check"
    )
    rates: dict[tuple[str, int, str], list[float]] = {}
    for key in args.modes:
        for _ in range(args.rounds):
            for n in args.connections:
                for run, rate in one_setting(args, bundles, expected, key, n).items():
                    rates.setdefault((key, n, run), []).append(rate)
    if args.rounds > 1:
        print(f"\nmedian trials/s over {args.rounds} rounds (settings interleaved):")
        for (key, n, run), got in rates.items():
            each = ", ".join(f"{r:.2f}" for r in got)
            print(f"{MODES[key][0]:37} {n:4d} {run:>6} {statistics.median(got):8.2f}  ({each})")


def one_setting(
    args: argparse.Namespace, bundles: list[TrialBundle], expected: Counter[str], key: str, n: int
) -> dict[str, float]:
    """Empty the server, push twice on ``n`` connections, print both lines; trials/s of each push."""
    label, mode, size = MODES[key]
    reset(args.server, args.reset)
    seen: list[dict[str, str]] = []
    out: dict[str, float] = {}
    with FhirClient(args.server, fhir_version=args.fhir_version, connections=n) as client:
        for run in ("create", "again"):
            start = time.perf_counter()
            s = push_bundles(client, bundles, mode=mode, batch_size=size)
            took = time.perf_counter() - start
            seen.append(versions(client, sorted(expected)))
            verdict = f"{s.failed} FAILED" if s.failed else ""
            if run == "again":
                verdict = verdict or check(expected, seen[0], seen[1])
            out[run] = len(bundles) / took
            print(
                f"{label:37} {n:4d} {run:>6} {s.requests:8d} {took:8.2f} {s.resources / took:11.0f} "
                f"{len(bundles) / took:8.1f}  {verdict}",
                flush=True,
            )
    return out


if __name__ == "__main__":
    main()
