"""Bulk conversion benchmark: N studies through the full pipeline (read + map + validate + write).

    python bench/bulk.py [--studies 10000] [--workers 1 2] [--format ndjson|zip] [--source DIR]

Builds a corpus of N studies with distinct NCT ids by cycling fixtures: JSON lines of the 100 studies of the v1
COVID-19 page (default: a realistic mix of trial sizes), a ZIP of legacy XML files (the classic bulk download) or
NDJSON of the 4 API v2 studies (without their results sections, which are not mapped),
converts it with ``fhir-adapter``'s pipeline for each worker count, and prints
trials/s, MB/s and peak RSS, then the orjson floor (load every input record, dump every output resource) and the
pipeline's ratio to it. No assertions: the numbers are for the README and the issue notes.

The README's headline figure is bench/registry.py (a corpus shaped like the whole registry: sites, outcomes,
criteria length, posted results, study types); this one keeps the single-format corpora (the COVID-19 page mix,
legacy XML, v2) for comparison with earlier numbers.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import orjson
from lxml import etree

from fhir_adapter.pipeline import ConvertOptions, convert_paths

REPO = Path(__file__).resolve().parents[1]


def corpus(n: int, folder: Path, fmt: str, keep_results: bool) -> tuple[Path, list[bytes], int]:
    """n studies with distinct NCT ids: v2 JSON lines (ndjson) or a ZIP of legacy XML files (zip), cycling the
    fixtures of that format. Returns the corpus file, every record's bytes and the number of templates."""
    lines: list[bytes] = []
    if fmt == "zip":
        templates = [f.read_bytes() for f in sorted((REPO / "tests" / "data" / "ctgov-xml").glob("NCT????????.xml"))]
        for i in range(n):
            xml = templates[i % len(templates)]
            lines.append(
                re.sub(rb"<nct_id>NCT\d{8}</nct_id>", f"<nct_id>NCT{90000000 + i:08d}</nct_id>".encode(), xml, count=1)
            )
        path = folder / "corpus.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for i, record in enumerate(lines):
                z.writestr(f"NCT{90000000 + i:08d}.xml", record)
        return path, lines, len(templates)
    if fmt == "v1":  # 100 COVID-19 studies of 2021: a realistic mix of sizes (median 16 resources per trial)
        page = orjson.loads((REPO / "tests" / "data" / "ctgov-v1" / "covid-19-search-page.json").read_bytes())
        wrappers = page["FullStudiesResponse"]["FullStudies"]
        for i in range(n):
            w = wrappers[i % len(wrappers)]
            w["Study"]["ProtocolSection"]["IdentificationModule"]["NCTId"] = f"NCT{90000000 + i:08d}"
            lines.append(orjson.dumps(w))
        path = folder / "corpus.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path, lines, len(wrappers)
    studies = []
    for f in sorted((REPO / "tests" / "data" / "ctgov-v2").glob("*.json")):
        study = orjson.loads(f.read_bytes())
        if not keep_results:
            study.pop("resultsSection", None)
        studies.append(study)
    for i in range(n):
        study = studies[i % len(studies)]
        study["protocolSection"]["identificationModule"]["nctId"] = f"NCT{90000000 + i:08d}"
        lines.append(orjson.dumps(study))
    path = folder / "corpus.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines, len(studies)


def peak_rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--format",
        choices=["v1", "zip", "ndjson"],
        default="v1",
        help="v1: JSON lines of the 100 COVID-19 v1 studies (realistic sizes); zip: legacy XML "
        "(the 52 XML fixtures, large trials over-represented); ndjson: API v2 JSON (4 fixtures)",
    )
    parser.add_argument("--keep-results", action="store_true", help="keep resultsSection in the corpus")
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fhir-adapter-bench-"))
    try:
        path, lines, templates = corpus(args.studies, work, args.format, args.keep_results)
        mb = sum(len(x) for x in lines) / 1e6
        print(
            f"corpus: {args.studies} studies, {mb:.1f} MB of records in {path.stat().st_size / 1e6:.1f} MB "
            f"{args.format} (cycling {templates} fixtures)"
        )
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
            print(
                f"pipeline workers={workers}: {rate:7.1f} trials/s  {mb / seconds:6.2f} MB/s  "
                f"{summary.resources / seconds:8.0f} resources/s  ({summary.converted} ok, {summary.failed} failed, "
                f"{seconds:.1f} s; {summary.resources / max(summary.converted, 1):.0f} resources/trial; "
                f"peak RSS main {me:.0f} MB, largest worker {children:.0f} MB)"
            )
        resources = [line for f in sorted(out.glob("*.ndjson")) for line in f.read_bytes().splitlines()]
        parsed = [orjson.loads(r) for r in resources]
        start = time.perf_counter()
        parse = (
            (lambda b: etree.fromstring(b, etree.XMLParser(resolve_entities=False, no_network=True)))
            if args.format == "zip"
            else orjson.loads
        )
        for line in lines:
            parse(line)
        for r in parsed:
            orjson.dumps(r)
        floor = time.perf_counter() - start
        floor_rate = args.studies / floor
        print(
            f"floor: {floor_rate:9.1f} trials/s ({'lxml' if args.format == 'zip' else 'orjson'} load of "
            f"{len(lines)} inputs, orjson dump of {len(parsed)} resources "
            f"in {floor:.2f} s); best pipeline / floor = 1/{floor_rate / best:.0f}"
        )
        print(f"registry estimate: 560,000 studies in {560_000 / best / 60:.0f} min at the best rate")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
