"""Registry-like benchmark: N studies shaped like ClinicalTrials.gov, through the pipeline, with the floor and the
per-stage cost in the same run (issue 14's headline figure).

    python bench/registry.py [--studies 2000] [--seed 14] [--workers 1 2] [--no-validate-workers 1 2]
                             [--no-stages] [--keep DIR] [--corpus registry|covid]

The corpus (bench/registry_corpus.py, whose docstring gives every distribution and its source) is built from the
real records of tests/data: v2 studies as NDJSON, v1 studies as NDJSON, legacy XML as a ZIP (``--corpus covid``:
the v1 COVID-19 page cycled instead, the README's earlier corpus, measured the same way). In one run this prints:

- for each pipeline run (``fhir_adapter.pipeline.convert_paths``, NDJSON output; validation on for ``--workers``,
  off for ``--no-validate-workers``): trials/s, resources/s, ms per resource, resources per trial, and CPU time over
  wall time (``resource.getrusage``, this process plus its reaped children: 2.0 is two busy cores) and CPU ms per
  resource;
- the floor on the same corpus: orjson load of every JSON input record (lxml for the XML ones) plus orjson dump of
  every output resource, and each run's ratio to it: wall-time rates (overall, and per worker) and per CPU second
  (trials per CPU second of the run against the floor's: the figure a busy shared machine distorts least);
- the per-stage cost in CPU ms per resource (``time.process_time``), measured in this process with 1 worker on the
  same corpus: cut
  (``iter_units``: lines, ZIP members), read (``fhir_adapter.sources.read_unit``), map
  (``fhir_adapter.bundle.to_bundle``), validate (``fhir_adapter.validate.validate(bundle, release)``) and write
  (``orjson.dumps`` of every resource), as ``pipeline/stages.convert_record`` calls them;
- the registry estimate: about 560,000 studies in how many minutes at the best validated rate.

No assertions: the numbers are for the README and the issue notes. On a shared machine, compare runs of the same
invocation, or the ratios printed here (to the floor, between stages), not absolute rates.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

import registry_corpus  # bench/ is no package: its helpers are imported by path

from fhir_adapter.pipeline import ConvertOptions, convert_paths

REGISTRY_STUDIES = 560_000


@dataclass
class Run:
    workers: int
    validate: bool
    trials: int
    failed: int
    resources: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.trials / self.seconds

    def line(self) -> str:
        return (
            f"pipeline workers={self.workers} {'validate' if self.validate else 'no-validate'}: "
            f"{self.rate:7.1f} trials/s  {self.resources / self.seconds:7.0f} resources/s  "
            f"{1000 * self.seconds / max(self.resources, 1):6.3f} ms/resource  "
            f"{self.resources / max(self.trials, 1):5.1f} resources/trial  CPU/wall {self.cpu / self.seconds:4.2f}  "
            f"{1000 * self.cpu / max(self.resources, 1):6.3f} CPU ms/resource  "
            f"({self.trials} ok, {self.failed} failed, {self.seconds:.1f} s)"
        )

    def ratio_line(self, floor: Floor) -> str:
        """This run against the floor: wall-time rates (the issue's measure), per worker, and per CPU second (what
        a busy shared machine distorts least)."""
        wall = floor.wall_rate / self.rate
        return (
            f"  workers={self.workers} {'validate' if self.validate else 'no-validate'}: 1/{wall:.1f} of the floor, "
            f"1/{wall * self.workers:.1f} per worker; per CPU second 1/{floor.cpu_rate * self.cpu / self.trials:.1f}"
        )


@dataclass
class Floor:
    records: int
    resources: int
    seconds: float
    cpu: float

    @property
    def wall_rate(self) -> float:
        return self.records / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.records / self.cpu

    def line(self) -> str:
        return (
            f"floor: {self.wall_rate:9.1f} trials/s ({self.cpu_rate:.1f} per CPU second; orjson/lxml load of "
            f"{self.records} records, orjson dump of {self.resources} resources in {self.seconds:.2f} s; "
            f"{1000 * self.seconds / max(self.resources, 1):.4f} ms/resource)"
        )


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def pipeline_run(inputs: list[Path], out: Path, workers: int, validate: bool) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    options = ConvertOptions(workers=workers, ndjson=True, validate=validate)
    cpu, start = cpu_seconds(), time.perf_counter()
    summary = convert_paths(inputs, out, options)
    seconds = time.perf_counter() - start
    return Run(workers, validate, summary.converted, summary.failed, summary.resources, seconds, cpu_seconds() - cpu)


def floor_of(corpus: registry_corpus.Corpus, out: Path) -> Floor:
    """Loading every input record (orjson; lxml for XML) and dumping every output resource (orjson), timed in wall
    and CPU time."""
    resources = [orjson.loads(line) for f in sorted(out.glob("*.ndjson")) for line in f.read_bytes().splitlines()]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    records = [(s.fmt == "xml", s.data) for s in corpus.studies]
    cpu, start = time.process_time(), time.perf_counter()
    for is_xml, data in records:
        etree.fromstring(data, parser) if is_xml else orjson.loads(data)
    for r in resources:
        orjson.dumps(r)
    return Floor(len(records), len(resources), time.perf_counter() - start, time.process_time() - cpu)


STAGES = ("cut", "read", "map", "validate", "write")


@dataclass
class Costs:
    """CPU seconds per stage, trials and resources: of the whole corpus or of one input format."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    trials: int = 0
    resources: int = 0

    def line(self, label: str) -> str:
        total = sum(self.seconds.values())
        per = 1000 / max(self.resources, 1)
        parts = "  ".join(f"{k} {per * v:.3f} ({v / total:.0%})" for k, v in self.seconds.items())
        return (
            f"{label} ({self.trials} trials, {self.resources / max(self.trials, 1):.1f} resources/trial): "
            f"CPU ms/resource  {parts}  total {per * total:.3f} = {self.trials / total:.1f} trials per CPU second"
        )


def input_format(path: str) -> str:
    """The corpus format of a unit, by the input it was cut from (registry_corpus.write names them)."""
    return "xml" if "registry-xml" in path else "v1" if "registry-v1" in path else "v2"


def stage_costs(inputs: list[Path]) -> list[str]:
    """CPU ms per resource of each stage, in this process with 1 worker, for the corpus and for each input format
    (see the module docstring)."""
    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.limits import DEFAULT_LIMITS
    from fhir_adapter.release import DEFAULT_RELEASE
    from fhir_adapter.sources import iter_units, read_unit
    from fhir_adapter.validate import validate

    total, by_format = Costs(), {fmt: Costs() for fmt in registry_corpus.FORMATS}
    clock = time.process_time  # CPU time of this process: what each stage costs, whatever else the machine runs
    units = iter_units(inputs, DEFAULT_LIMITS)
    t0 = clock()
    for unit in units:
        t1 = clock()
        records = list(read_unit(unit, DEFAULT_LIMITS))
        t2 = clock()
        spent = {"cut": t1 - t0, "read": t2 - t1}
        costs = by_format[input_format(unit.path)]
        for record in records:
            assert record.trial is not None, record.error
            bundle = to_bundle(record.trial, DEFAULT_RELEASE, "collection")
            t3 = clock()
            validate(bundle, DEFAULT_RELEASE)
            t4 = clock()
            for entry in bundle["entry"]:
                orjson.dumps(entry["resource"])
            t5 = clock()
            spent["map"], spent["validate"], spent["write"] = t3 - t2, t4 - t3, t5 - t4
            t2 = t5
            for c in (total, costs):
                c.trials += 1
                c.resources += len(bundle["entry"])
        for c in (total, costs):
            for k, v in spent.items():
                c.seconds[k] = c.seconds.get(k, 0.0) + v
        t0 = clock()
    lines = [total.line("stages (1 worker, in process)")]
    lines += [costs.line(f"  {fmt}") for fmt, costs in by_format.items() if costs.trials]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--corpus",
        choices=["registry", "covid"],
        default="registry",
        help="registry: the registry-like corpus (default); covid: the 100 studies of the v1 COVID-19 page cycled, "
        "the corpus of the README's earlier figures, measured the same way",
    )
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="validated runs")
    parser.add_argument("--no-validate-workers", type=int, nargs="*", default=[1, 2], help="runs without validation")
    parser.add_argument("--no-stages", action="store_true", help="skip the in-process per-stage measurement")
    parser.add_argument("--keep", type=Path, help="write the corpus and outputs here (kept) instead of a temp folder")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fhir-adapter-registry-"))
    try:
        start = time.perf_counter()
        corpus = (
            registry_corpus.covid(args.studies)
            if args.corpus == "covid"
            else registry_corpus.build(args.studies, args.seed)
        )
        inputs = registry_corpus.write(corpus, work / "in")
        built = time.perf_counter() - start
        seed = f"seed {args.seed}, " if args.corpus == "registry" else ""
        print(f"{args.corpus} corpus ({seed}built in {built:.1f} s): {registry_corpus.describe(corpus)}")
        print("inputs: " + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in inputs))
        # An untimed run first, so that no timed run pays for imports, definitions and caches loaded on first use
        warm = registry_corpus.write(registry_corpus.Corpus(corpus.studies[:30]), work / "warm-in")
        convert_paths(warm, work / "warm-out", ConvertOptions(ndjson=True))
        runs = [(w, True) for w in args.workers] + [(w, False) for w in args.no_validate_workers]
        done = []
        out = work / "out"
        for workers, validate in runs:
            run = pipeline_run(inputs, out, workers, validate)
            done.append(run)
            print(run.line(), flush=True)
        if done:
            floor = floor_of(corpus, out)
            print(floor.line())
            for run in done:
                print(run.ratio_line(floor))
            validated = [r for r in done if r.validate]
            if validated:
                best = max(validated, key=lambda r: r.rate)
                print(
                    f"registry estimate: {REGISTRY_STUDIES:,} studies in {REGISTRY_STUDIES / best.rate / 60:.0f} min "
                    f"at {best.rate:.1f} trials/s (validation on; the target, 15 min, is 622 trials/s)"
                )
                cores = max(validated, key=lambda r: r.workers)
                per_cpu = cores.trials / cores.cpu
                print(
                    f"  from CPU time: {REGISTRY_STUDIES / (2 * per_cpu) / 60:.0f} min on 2 cores if both were busy "
                    f"and free ({per_cpu:.1f} trials per CPU second with {cores.workers} workers)"
                )
        if not args.no_stages:
            print("\n".join(stage_costs(inputs)), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
