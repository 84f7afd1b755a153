"""Start-up time of ``fhir-adapter --help`` (issue 12: at most 150 ms), and what the start-up imports cost.

Runs the installed console script (``fhir-adapter`` next to this Python, else ``python -m fhir_adapter``) N times
with ``--help`` and prints the wall time of each whole process as min / median / max in ms, then the modules with
the largest cumulative import time of one run under ``python -X importtime`` and the heavy library modules it
loaded (it should load none). ``--pythonpath DIR`` runs another source tree (e.g. an older commit exported with
``git archive``) with this venv, to compare. No assertion: a measurement (tests/test_cli_help.py checks the imports).

    .venv/bin/python bench/bench_help.py [--runs N] [--top K] [--pythonpath SRC] [--args "match --help"]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Modules a help text must not need: the readers, mappers, FHIR models, HTTP, XML and the pipeline.
HEAVY = ("fhir.resources", "fhir_core", "pydantic", "requests", "lxml", "orjson", "fhirpathpy", "jwt", "ucumvert")
HEAVY_OURS = ("fhir_adapter.sources", "fhir_adapter.pipeline", "fhir_adapter.fhir", "fhir_adapter.validate")


def command(args: list[str]) -> list[str]:
    """The command line that runs the CLI with ``args``: the venv's console script, else ``python -m``."""
    script = Path(sys.executable).with_name("fhir-adapter")
    return [str(script), *args] if script.is_file() else [sys.executable, "-m", "fhir_adapter", *args]


def environment(pythonpath: str | None) -> dict[str, str]:
    """The environment of a timed run: compiled bytecode as an installed copy has it (``PYTHONDONTWRITEBYTECODE``,
    set in some sandboxes, would compile every module from source on every run; the bytecode goes to a cache folder
    of the benchmarks instead of the source tree), and ``pythonpath`` ahead of the editable install's path entry."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "fhir-adapter-bench-pycache")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def wall_times(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    """Seconds of each of ``runs`` whole-process runs (one warm-up run first, not counted)."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if i:
            times.append(time.perf_counter() - start)
    return times


def import_costs(args: list[str], env: dict[str, str]) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of every import of one run, from ``python -X importtime``."""
    code = "import sys; from fhir_adapter.cli import main; sys.argv = ['fhir-adapter', *sys.argv[1:]]; main()"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(cumulative), int(own), name.rstrip()))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--pythonpath", help="source tree to run instead of the installed one (its src/ folder)")
    parser.add_argument("--args", default="--help", help="the CLI's arguments (default: --help)")
    options = parser.parse_args()
    args = shlex.split(options.args)
    env = environment(options.pythonpath)

    times = [t * 1000 for t in wall_times(command(args), options.runs, env)]
    print(f"fhir-adapter {options.args}: {options.runs} runs, wall ms")
    print(f"  min {min(times):.0f}  median {statistics.median(times):.0f}  max {max(times):.0f}")

    rows = import_costs(args, env)
    print(f"\npython -X importtime, top {options.top} by cumulative time ({len(rows)} modules imported):")
    for cumulative, own, name in sorted(rows, reverse=True)[: options.top]:
        print(f"  {cumulative / 1000:7.1f} ms  (self {own / 1000:5.1f})  {name}")
    names = {name.strip() for _, _, name in rows}
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY or n.startswith(HEAVY_OURS) or n in HEAVY)
    print(f"\nheavy modules imported: {', '.join(heavy) if heavy else 'none'}")
    rich = sorted(n for n in names if n == "rich" or n.startswith("rich."))
    print(f"rich modules imported: {len(rich)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
