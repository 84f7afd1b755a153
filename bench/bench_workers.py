"""CPU over wall time of a conversion with 1 and 2 workers: does ``--workers 2`` use both cores?

    .venv/bin/python bench/bench_workers.py [--studies 1000] [--format v1|ndjson|zip] [--workers 1 2] [--no-validate]

Builds the corpus of ``bench/bulk.py`` (the v1 COVID-19 mix, the API v2 fixtures or a ZIP of legacy XML), converts
it with ``fhir_adapter.pipeline.convert_paths`` (NDJSON output) once per worker count, and prints for each run: wall
time, trials/s, the CPU seconds of this (parent) process and of its worker processes (``resource.getrusage``
``RUSAGE_SELF`` and ``RUSAGE_CHILDREN``, deltas over the run; the workers are reaped when the pool shuts down), CPU
over wall (2.0 = two cores busy), and the parent's share of all CPU. Then the throughput ratio of each worker count
to the first. The machine is shared: the ratios of one run are what to compare. No assertions.

What the load of other processes does not change: every unit is timed where it is converted (a wrapper around
``convert_unit``, logged per process), which gives how long the workers were busy, over the run's wall time (2.0:
the pool kept both workers busy all along; the parent is then not the bottleneck, whatever CPU/wall says), the
seconds both were busy and none was, and each worker's CPU over its busy time (1.0 on an idle machine; lower: the
worker waited for a core that other processes held).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bulk import corpus

from fhir_adapter.pipeline import ConvertOptions, Outcome, convert_paths
from fhir_adapter.pipeline.stages import convert_unit
from fhir_adapter.sources import Unit

TRACE = Path(tempfile.gettempdir()) / f"fhir-adapter-workers-{os.getpid()}.log"


def traced(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    """``convert_unit``, logging (process, start, end, CPU seconds) of the unit to ``TRACE``."""
    start, cpu = time.monotonic(), time.thread_time()
    try:
        return convert_unit(unit, options)
    finally:
        with TRACE.open("a") as log:
            log.write(f"{os.getpid()} {start} {time.monotonic()} {time.thread_time() - cpu}\n")


def busy_figures(start: float, wall: float) -> str:
    """The workers' busy time over the wall time, both busy / none busy seconds, and CPU over busy time."""
    spans: dict[str, list[tuple[float, float, float]]] = {}
    for line in TRACE.read_text().splitlines():
        pid, begin, end, used = line.split()
        spans.setdefault(pid, []).append((float(begin), float(end), float(used)))
    busy = sum(e - b for s in spans.values() for b, e, _ in s)
    cpu = sum(c for s in spans.values() for _, _, c in s)
    events = sorted(
        [(b, 1) for s in spans.values() for b, _, _ in s] + [(e, -1) for s in spans.values() for _, e, _ in s]
    )
    running, last, all_busy, idle = 0, start, 0.0, 0.0
    for moment, step in events:
        all_busy += (moment - last) if running == len(spans) else 0.0
        idle += max(moment - last, 0.0) if running == 0 else 0.0
        running, last = running + step, moment
    idle += max(start + wall - last, 0.0)
    return (
        f"  units timed in {len(spans)} process(es): busy {busy:.1f} s / wall {wall:.1f} s = {busy / wall:.2f}; "
        f"all busy {all_busy:.1f} s, none busy {idle:.1f} s; CPU / busy {cpu / max(busy, 1e-9):.2f}"
    )


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds of this process, CPU seconds of its reaped children), user + system."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def measure(path: Path, out: Path, options: ConvertOptions) -> dict[str, float]:
    """Wall, parent CPU and children CPU seconds of converting ``path`` into ``out``, and the trials converted."""
    shutil.rmtree(out, ignore_errors=True)
    TRACE.write_text("")
    me0, kids0 = cpu_seconds()
    start = time.monotonic()
    summary = convert_paths([path], out, options, convert=traced)
    wall = time.monotonic() - start
    me1, kids1 = cpu_seconds()
    return {"wall": wall, "start": start, "parent": me1 - me0, "children": kids1 - kids0, "trials": summary.converted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--format", choices=["v1", "ndjson", "zip"], default="v1")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fhir-adapter-workers-"))
    try:
        path, _, templates = corpus(args.studies, work, args.format, keep_results=False)
        print(
            f"corpus: {args.studies} studies, {args.format} (cycling {templates} fixtures), "
            f"validate={not args.no_validate}"
        )
        rates: list[float] = []
        for workers in args.workers:
            options = ConvertOptions(workers=workers, ndjson=True, validate=not args.no_validate)
            m = measure(path, work / "out", options)
            cpu = m["parent"] + m["children"]
            rates.append(m["trials"] / m["wall"])
            print(
                f"workers={workers}: {m['wall']:6.1f} s wall, {rates[-1]:7.1f} trials/s; "
                f"CPU parent {m['parent']:6.1f} s + workers {m['children']:6.1f} s = {cpu:6.1f} s; "
                f"CPU/wall {cpu / m['wall']:.2f}; "
                f"parent share {m['parent'] / max(cpu, 1e-9):.0%}"
            )
            print(busy_figures(m["start"], m["wall"]))
        for workers, rate in zip(args.workers[1:], rates[1:], strict=True):
            print(f"throughput workers={workers} / workers={args.workers[0]}: {rate / rates[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        TRACE.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
