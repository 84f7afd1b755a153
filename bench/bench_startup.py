"""Start-up of the CLI (issue 14): ``fhir-adapter --help`` (at most 150 ms) and ``fhir-adapter convert`` of one small
file end to end (at most 400 ms), with and without validation, with the default workers and with one.

For each command line: N whole-process runs (one warm-up run first, not counted), wall time and CPU time (user +
system of the process and its workers, from ``resource.getrusage(RUSAGE_CHILDREN)``) as median and min in ms. The
machine is shared: CPU time is what other processes' load changes least. Then, for the default convert, the
modules with the largest cumulative import time under ``python -X importtime`` and the heavy libraries it loaded.

    .venv/bin/python bench/bench_startup.py [--runs 7] [--top 15] [--input FILE] [--pythonpath SRC]

``--input`` defaults to the smallest API v2 fixture (tests/data/ctgov-v2/NCT00763412.json, 43 KB); a seed page
(seeds/<one>.txt) is another small file. ``--pythonpath`` runs another source tree (``git archive`` of an older
commit) with this venv, to compare. No assertions.

What is timed is what a user runs: the installed console script (``.venv/bin/fhir-adapter``), with compiled bytecode.
``PYTHONDONTWRITEBYTECODE`` (set in some sandboxes) is dropped and the bytecode goes to a cache folder
(``bench_help.environment``, written by the warm-up run): compiling every module from source on each run would add
about a quarter to a conversion, which no installed copy pays.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_help import HEAVY, command, environment, import_costs

REPO = Path(__file__).resolve().parents[1]


def timed_runs(argv: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of ``runs`` whole-process runs (one warm-up run first, not counted)."""
    walls, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--input", type=Path, default=REPO / "tests" / "data" / "ctgov-v2" / "NCT00763412.json")
    parser.add_argument("--pythonpath", help="source tree to run instead of the installed one (its src/ folder)")
    options = parser.parse_args()
    env = environment(options.pythonpath)
    out = Path(tempfile.mkdtemp(prefix="fhir-adapter-startup-"))
    try:
        convert = ["convert", str(options.input), "-o", str(out / "o"), "--quiet"]
        cases = {
            "--help": ["--help"],
            "convert (default: validate, all cores)": convert,
            "convert --no-validate": [*convert, "--no-validate"],
            "convert -j 1": [*convert, "-j", "1"],
            "convert -j 1 --no-validate": [*convert, "-j", "1", "--no-validate"],
        }
        print(f"input {options.input.name} ({options.input.stat().st_size // 1024} KB); {options.runs} runs each; ms")
        print(f"  {'command':42} {'wall med':>9} {'wall min':>9} {'CPU med':>8} {'CPU min':>8}")
        for label, args in cases.items():
            walls, cpus = timed_runs(command(args), options.runs, env)
            print(
                f"  {label:42} {statistics.median(walls) * 1000:9.0f} {min(walls) * 1000:9.0f} "
                f"{statistics.median(cpus) * 1000:8.0f} {min(cpus) * 1000:8.0f}"
            )
        rows = import_costs([*convert, "-j", "1"], env)
        print(f"\npython -X importtime of convert -j 1, top {options.top} by cumulative time ({len(rows)} modules):")
        for cumulative, own, name in sorted(rows, reverse=True)[: options.top]:
            print(f"  {cumulative / 1000:7.1f} ms  (self {own / 1000:5.1f})  {name}")
        names = {name.strip() for _, _, name in rows}
        heavy = sorted({n.split(".")[0] for n in names if n.split(".")[0] in HEAVY or n.startswith("fhir.resources")})
        print(f"\nheavy libraries imported: {', '.join(heavy) if heavy else 'none'}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
