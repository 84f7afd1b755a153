"""Speed of reading (issue 14 part 3): ms per record for each input format, ms per site for the site-heavy record.

The read stage is ``fhir_adapter.sources.read_unit(unit, limits)`` (what ``pipeline/stages`` and ``bench/registry``
time as "read"): format detection, parsing, the format's reader, the unmapped-field report and the arms' regimens.
The inputs are cut into units first (``iter_units``, not timed), then every unit is read ``--repeat`` times; the
median repeat is reported. ``reader`` is the same without ``with_regimens`` (the regimen parser belongs to the
mapping side), so that the readers' own share shows.

| set | input | what it stresses |
|---|---|---|
| ``v2`` | tests/data/ctgov-v2/*.json | API v2 records (one with 500+ sites and posted results) |
| ``v2-sites`` | tests/data/ctgov-v2/NCT02513394.json | per-site cost, v2 |
| ``v1`` | tests/data/ctgov-v1/covid-19-search-page.json | API v1 page (100 studies, the README's COVID mix) |
| ``xml`` | tests/data/ctgov-xml/*.xml | legacy XML |
| ``xml-sites`` | tests/data/ctgov-xml/NCT02513394.xml | per-site cost, legacy XML |

Prints records, sites, ms per record, ms per site, reads/s. No assertion: a measurement (the machine is shared:
compare paired runs, old and new in turn, e.g. this script against a ``git archive`` snapshot on ``PYTHONPATH``).

    .venv/bin/python bench/bench_read.py [--only SET ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import fhir_adapter.sources as sources
from fhir_adapter.limits import DEFAULT_LIMITS
from fhir_adapter.model import Trial
from fhir_adapter.sources import Unit, iter_units, read_unit

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS: dict[str, list[Path]] = {
    "v2": sorted((DATA / "ctgov-v2").glob("*.json")),
    "v2-sites": [DATA / "ctgov-v2" / "NCT02513394.json"],
    "v1": [DATA / "ctgov-v1" / "covid-19-search-page.json"],
    "xml": sorted((DATA / "ctgov-xml").glob("*.xml")),
    "xml-sites": [DATA / "ctgov-xml" / "NCT02513394.xml"],
}


@contextmanager
def _without_regimens() -> Iterator[None]:
    """``read_unit`` without the regimen step (the readers' own cost)."""
    original = sources.with_regimens
    sources.with_regimens = _same
    try:
        yield
    finally:
        sources.with_regimens = original


def _same(trial: Trial) -> Trial:
    return trial


def _read_all(units: list[Unit]) -> list[Trial]:
    trials = []
    for unit in units:
        for record in read_unit(unit, DEFAULT_LIMITS):
            if record.error is not None:
                raise record.error
            assert record.trial is not None
            trials.append(record.trial)
    return trials


def _median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _row(name: str, units: list[Unit], repeat: int) -> str:
    trials = _read_all(units)  # warm-up (tables, caches) and the counts
    records, sites = len(trials), sum(len(t.sites) for t in trials)
    if not records:
        return f"{name:<10} no records under {DATA}"
    read = _median_seconds(lambda: _read_all(units), repeat)
    with _without_regimens():
        reader = _median_seconds(lambda: _read_all(units), repeat)
    per_site = f"{read * 1000 / sites:8.3f} {reader * 1000 / sites:8.3f}" if sites else f"{'-':>8} {'-':>8}"
    return (
        f"{name:<10} {records:>7} {sites:>6} {read * 1000 / records:9.2f} {reader * 1000 / records:9.2f} "
        f"{per_site} {records / read:8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SETS), help="sets to run (default: all)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats per set (median reported)")
    args = parser.parse_args()
    head = f"{'set':<10} {'records':>7} {'sites':>6} {'ms/rec':>9} {'reader':>9}"
    print(f"{head} {'ms/site':>8} {'reader':>8} {'reads/s':>8}")
    for name in args.only or list(SETS):
        units = list(iter_units(SETS[name], DEFAULT_LIMITS))
        print(_row(name, units, args.repeat), flush=True)


if __name__ == "__main__":
    main()
