"""Memory and determinism at scale: the same N studies as NDJSON, a ZIP and single files, through the real CLI.

    python bench/bulk_memory.py [--studies 50000] [--workers 2]

Writes N studies (the 100 v1 COVID-19 studies cycled, distinct NCT ids) as JSON lines, as a ZIP of one JSON file
per study and as a folder of one file per study, runs ``fhir-adapter convert`` on each in a subprocess, samples the
resident memory of the whole process tree (main process + workers, summed) every 0.2 s, and compares the three
output folders file by file. Prints peak RSS, time and whether the outputs are identical. No assertions: numbers
for the issue notes.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total / 1024


def run(inputs: Path, out: Path, workers: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fhir_adapter",
            "convert",
            str(inputs),
            "-o",
            str(out),
            "--quiet",
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        print(stdout.decode()[-500:], stderr.decode()[-2000:])
    return peak, time.perf_counter() - start, proc.returncode


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fhir-adapter-mem-"))
    try:
        page = orjson.loads((REPO / "tests" / "data" / "ctgov-v1" / "covid-19-search-page.json").read_bytes())
        wrappers = page["FullStudiesResponse"]["FullStudies"]
        ndjson, archive, singles = work / "corpus.ndjson", work / "corpus.zip", work / "singles"
        singles.mkdir()
        with ndjson.open("wb") as lines, zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(args.studies):
                w = wrappers[i % len(wrappers)]
                nct = f"NCT{80000000 + i:08d}"
                w["Study"]["ProtocolSection"]["IdentificationModule"]["NCTId"] = nct
                record = orjson.dumps(w)
                lines.write(record + b"\n")
                z.writestr(f"{nct}.json", record)
                (singles / f"{nct}.json").write_bytes(record)
        print(
            f"corpus: {args.studies} studies; NDJSON {ndjson.stat().st_size / 1e6:.0f} MB, "
            f"ZIP {archive.stat().st_size / 1e6:.0f} MB"
        )
        results = {}
        for name, path in (("ndjson", ndjson), ("zip", archive), ("one-by-one", singles)):
            peak, seconds, code = run(path, work / f"out-{name}", args.workers)
            results[name] = digest(work / f"out-{name}")
            print(
                f"{name}: exit {code}, {args.studies / seconds:.0f} trials/s, {seconds:.0f} s, "
                f"peak RSS of the process tree {peak:.0f} MB, {len(results[name])} files"
            )
        same = results["ndjson"] == results["zip"] == results["one-by-one"]
        print(f"outputs identical (NDJSON vs ZIP vs a folder of one file per study, every file): {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
