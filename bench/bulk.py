"""Bulk conversion benchmark: N studies through the full pipeline (read + map + validate + write).

    python bench/bulk.py [--studies 10000] [--workers 1 2] [--format ndjson|zip] [--source DIR]

Builds a corpus of N API v2 studies with distinct NCT ids by cycling the studies of ``--source`` (default: the v2
fixtures in tests/data/ctgov-v2, without their results sections, which the pipeline does not map), writes it as
NDJSON (or a ZIP of JSON files), converts it with ``fhir-adapter``'s pipeline for each worker count, and prints
trials/s, MB/s and peak RSS, then the orjson floor (load every input record, dump every output resource) and the
pipeline's ratio to it. No assertions: the numbers are for the README and the issue notes.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import orjson

from fhir_adapter.pipeline import ConvertOptions, convert_paths

REPO = Path(__file__).resolve().parents[1]


def corpus(source: Path, n: int, folder: Path, fmt: str, keep_results: bool) -> tuple[Path, list[bytes]]:
    templates = []
    for f in sorted(source.glob("*.json")):
        study = orjson.loads(f.read_bytes())
        if not keep_results:
            study.pop("resultsSection", None)
        templates.append(study)
    lines = []
    for i in range(n):
        study = templates[i % len(templates)]
        study["protocolSection"]["identificationModule"]["nctId"] = f"NCT{90000000 + i:08d}"
        lines.append(orjson.dumps(study))
    if fmt == "zip":
        path = folder / "corpus.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for i, line in enumerate(lines):
                z.writestr(f"NCT{90000000 + i:08d}.json", line)
    else:
        path = folder / "corpus.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


def peak_rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--format", choices=["ndjson", "zip"], default="ndjson")
    parser.add_argument("--source", type=Path, default=REPO / "tests" / "data" / "ctgov-v2")
    parser.add_argument("--keep-results", action="store_true", help="keep resultsSection in the corpus")
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fhir-adapter-bench-"))
    try:
        path, lines = corpus(args.source, args.studies, work, args.format, args.keep_results)
        mb = path.stat().st_size / 1e6
        print(f"corpus: {args.studies} studies, {mb:.1f} MB {args.format} ({len(list(args.source.glob('*.json')))} "
              f"templates from {args.source.relative_to(REPO) if args.source.is_relative_to(REPO) else args.source})")
        best = 0.0
        out = work / "out"
        for workers in args.workers:
            shutil.rmtree(out, ignore_errors=True)
            options = ConvertOptions(workers=workers, ndjson=True, validate=not args.no_validate)
            start = time.perf_counter()
            summary = convert_paths([path], out, options)
            seconds = time.perf_counter() - start
            rate = summary.converted / seconds
            best = max(best, rate)
            me, children = peak_rss_mb()
            print(f"pipeline workers={workers}: {rate:7.1f} trials/s  {mb / seconds:6.2f} MB/s  "
                  f"{summary.resources / seconds:8.0f} resources/s  ({summary.converted} ok, {summary.failed} failed, "
                  f"{seconds:.1f} s; peak RSS main {me:.0f} MB, largest worker {children:.0f} MB)")
        resources = [line for f in sorted(out.glob("*.ndjson")) for line in f.read_bytes().splitlines()]
        parsed = [orjson.loads(r) for r in resources]
        start = time.perf_counter()
        for line in lines:
            orjson.loads(line)
        for r in parsed:
            orjson.dumps(r)
        floor = time.perf_counter() - start
        floor_rate = args.studies / floor
        print(f"orjson floor: {floor_rate:9.1f} trials/s (load {len(lines)} inputs, dump {len(parsed)} resources "
              f"in {floor:.2f} s); best pipeline / floor = 1/{floor_rate / best:.0f}")
        print(f"registry estimate: 560,000 studies in {560_000 / best / 60:.0f} min at the best rate")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
