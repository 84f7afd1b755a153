"""Memory and determinism at scale: the same N studies as NDJSON, a ZIP and single files, through the real CLI.

    python bench/bulk_memory.py [--studies 100000] [--workers 2] [--kinds ndjson zip folder] [--no-validate]
                                [--template covid|registry|small]

Writes N studies (the 100 v1 COVID-19 studies cycled, distinct NCT ids; with ``--template registry`` the API v2 and
v1 studies of a 2,000-study registry-like corpus (bench/registry_corpus.py: heavy records, up to 1,629 sites) cycled
the same way; or with ``--template small`` one minimal study, so that 100,000 studies convert in minutes on a slow
machine: what grows with N is the same) as JSON lines, as a ZIP of one JSON file per study and as a folder of one
file per study, runs ``fhir-adapter convert --ndjson`` on each in a subprocess, samples the memory of the whole
process tree (main process + workers) every 0.2 s, and compares the output folders file by file. Prints per input
kind the peak of the summed RSS (the issue's figure: it counts the pages the forked workers share with the main
process once per process) and of the summed PSS (shared pages divided among the processes that share them: what the
tree really holds), time, and whether the outputs are identical. No assertions: numbers for the issue notes."""

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
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]


def _kb(text: str, key: str) -> int:
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith(key)), 0)


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process and all its descendants, summed, in MB (Linux /proc)."""
    rss = pss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            rss += _kb(Path(f"/proc/{p}/status").read_text(), "VmRSS:")
            pss += _kb(Path(f"/proc/{p}/smaps_rollup").read_text(), "Pss:")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss / 1024, pss / 1024


def run(inputs: Path, out: Path, workers: int, validate: bool) -> tuple[float, float, float, int]:
    """Peak summed RSS and PSS (MB), seconds and exit code of ``fhir-adapter convert inputs -o out --ndjson``."""
    start = time.perf_counter()
    argv = [sys.executable, "-m", "fhir_adapter", "convert", str(inputs), "-o", str(out), "--ndjson", "--quiet"]
    argv += ["--workers", str(workers)] + ([] if validate else ["--no-validate"])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_rss = peak_pss = 0.0
    while proc.poll() is None:
        rss, pss = tree_memory_mb(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        print(stdout.decode()[-500:], stderr.decode()[-2000:])
    return peak_rss, peak_pss, time.perf_counter() - start, proc.returncode


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# The smallest study the v1 reader takes: what grows with the number of studies, without the cost of converting
# real ones (``--template small``).
SMALL = {
    "Study": {
        "ProtocolSection": {
            "IdentificationModule": {"NCTId": "NCT00000000", "BriefTitle": "A small study"},
            "StatusModule": {"OverallStatus": "Completed"},
        }
    }
}


def templates(name: str) -> list[dict[str, Any]]:
    """The records a corpus cycles: the v1 COVID-19 page's 100 studies, the JSON studies of a 2,000-study registry-like
    corpus (NDJSON holds JSON only, and the three input kinds must hold the same records), or SMALL."""
    if name == "small":
        return [SMALL]
    if name == "registry":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import registry_corpus  # bench/ is no package: imported by path, as bench/registry.py does

        return [orjson.loads(s.data) for s in registry_corpus.build(2000, seed=14).studies if s.fmt != "xml"]
    page = orjson.loads((REPO / "tests" / "data" / "ctgov-v1" / "covid-19-search-page.json").read_bytes())
    return list(page["FullStudiesResponse"]["FullStudies"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", nargs="+", choices=["ndjson", "zip", "folder"], default=["ndjson", "zip", "folder"])
    parser.add_argument("--no-validate", action="store_true", help="convert with --no-validate")
    parser.add_argument("--template", choices=["covid", "registry", "small"], default="covid")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fhir-adapter-mem-"))
    try:
        wrappers = templates(args.template)
        ndjson, archive, singles = work / "corpus.ndjson", work / "corpus.zip", work / "singles"
        singles.mkdir()
        with ndjson.open("wb") as lines, zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(args.studies):
                w = wrappers[i % len(wrappers)]
                nct = f"NCT{80000000 + i:08d}"
                if "protocolSection" in w:  # API v2 (registry template)
                    w["protocolSection"]["identificationModule"]["nctId"] = nct
                else:
                    w["Study"]["ProtocolSection"]["IdentificationModule"]["NCTId"] = nct
                record = orjson.dumps(w)
                lines.write(record + b"\n")
                z.writestr(f"{nct}.json", record)
                (singles / f"{nct}.json").write_bytes(record)
        print(
            f"corpus: {args.studies} studies ({args.template}); NDJSON {ndjson.stat().st_size / 1e6:.0f} MB, "
            f"ZIP {archive.stat().st_size / 1e6:.0f} MB; workers {args.workers}, validate {not args.no_validate}"
        )
        results = {}
        paths = {"ndjson": ndjson, "zip": archive, "folder": singles}
        for name in args.kinds:
            rss, pss, seconds, code = run(paths[name], work / f"out-{name}", args.workers, not args.no_validate)
            results[name] = digest(work / f"out-{name}")
            print(
                f"{name}: exit {code}, {args.studies / seconds:.0f} trials/s, {seconds:.0f} s, peak of the process "
                f"tree: RSS {rss:.0f} MB, PSS {pss:.0f} MB; {len(results[name])} files"
            )
        same = len({tuple(sorted(r.items())) for r in results.values()}) == 1
        print(f"outputs identical ({' vs '.join(results)}, every file): {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
