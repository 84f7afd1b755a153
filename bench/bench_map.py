"""Speed of mapping (Trial -> FHIR Bundle, ``fhir_adapter.bundle.to_bundle``), per trial, per resource and per site.

Issue 14 part 3 ("Read and map faster, measured per resource"). Reads each fixture group once (tests/data: API v2
records, legacy XML records, the API v1 COVID-19 search page), then times ``to_bundle`` alone, R5 and R4, as
``pipeline/stages.convert_record`` calls it (a collection bundle, no clock). Prints for each group and release: trials,
resources, ms per trial and ms per resource (CPU time, best of ``--repeat`` runs: the machine is shared, take the
least disturbed run; compare two trees by the ratio of paired runs, old and new in turn, not by these absolute numbers).

Per site: for the site-heavy records (NCT02513394, API v2 and XML) the same trial is also mapped with no sites; the
difference over the number of sites is the cost of one site (its Location, narrative, reference and, in R4, the
conversion down). No assertion: a measurement.

    .venv/bin/python bench/bench_map.py [--repeat N] [--group v2|xml|v1 ...] [--release R5|R4 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from fhir_adapter.bundle import to_bundle
from fhir_adapter.model import Trial
from fhir_adapter.release import FhirRelease
from fhir_adapter.sources import read_records

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
GROUPS: dict[str, Callable[[], list[Path]]] = {
    "v2": lambda: sorted((DATA / "ctgov-v2").glob("*.json")),
    "xml": lambda: sorted((DATA / "ctgov-xml").glob("*.xml")),
    "v1": lambda: [DATA / "ctgov-v1" / "covid-19-search-page.json"],
}
SITE_HEAVY = ("NCT02513394",)


def trials_of(paths: list[Path]) -> list[Trial]:
    """Every readable trial of ``paths`` (a test's deliberately broken record is skipped)."""
    return [r.trial for r in read_records(paths) if r.trial is not None and r.trial.nct_id]


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The least CPU time of ``repeat`` runs of ``run`` (after one warm-up run): process time, not wall time, so that
    other processes on the shared machine count less."""
    run()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        run()
        best = min(best, time.process_time() - t0)
    return best


def map_all(trials: list[Trial], release: FhirRelease) -> int:
    """Map every trial; the number of resources written."""
    return sum(len(to_bundle(t, release)["entry"]) for t in trials)


def group_line(name: str, trials: list[Trial], release: FhirRelease, repeat: int) -> str:
    resources = map_all(trials, release)
    seconds = best_seconds(lambda: map_all(trials, release), repeat)
    return (
        f"{name:4} {release.name}  {len(trials):4} trials {resources:6} resources  "
        f"{1e3 * seconds / len(trials):8.3f} ms/trial  {1e3 * seconds / resources:7.4f} ms/resource"
    )


def site_line(trial: Trial, source: str, release: FhirRelease, repeat: int) -> str:
    bare = dataclasses.replace(trial, sites=[])
    whole = best_seconds(lambda: to_bundle(trial, release), repeat)
    without = best_seconds(lambda: to_bundle(bare, release), repeat)
    per_site = (whole - without) / max(len(trial.sites), 1)
    return (
        f"{trial.nct_id} ({source}) {release.name}  {len(trial.sites)} sites  {1e3 * whole:7.2f} ms to map, "
        f"{1e3 * without:6.2f} ms without sites  {1e3 * per_site:6.4f} ms/site"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--group", action="append", choices=sorted(GROUPS))
    parser.add_argument("--release", action="append", choices=[r.name for r in FhirRelease])
    args = parser.parse_args()
    releases = [FhirRelease.parse(r) for r in args.release or ("R5", "R4")]
    loaded = {name: trials_of(GROUPS[name]()) for name in args.group or GROUPS}
    for release in releases:
        for name, trials in loaded.items():
            print(group_line(name, trials, release, args.repeat))
        for name, trials in loaded.items():
            for trial in trials:
                if trial.nct_id in SITE_HEAVY:
                    print(site_line(trial, name, release, args.repeat))


if __name__ == "__main__":
    main()
