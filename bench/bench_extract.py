"""CPU cost of the criteria extractor and the regimen reader inside reading (issue 14).

Builds the registry-like corpus of ``bench/registry_corpus.py`` (N studies, seed 14), reads it once, and then times,
in CPU seconds (``time.process_time``, best of R passes):

- ``split``: ``sources.criteria.split_criteria`` on every study's verbatim eligibility text (the splitter and the
  extractor it calls, as reading runs them);
- ``define``: ``computable.extract.definition_of`` on every leaf criterion of those studies;
- ``regimen``: ``regimen.regimen_of`` on every arm and ``regimen.schedule.schedule_of`` on every study, with the
  regimen reader's caches of text stretches emptied before each pass (as in a conversion, where each text is read
  once).

Run the same command on two trees to compare them (``PYTHONPATH=<tree>/src``); the machine is shared, so quote
ratios of back-to-back runs. No assertion: a measurement.

    .venv/bin/python bench/bench_extract.py [--studies N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import registry_corpus

from fhir_adapter.computable.extract import definition_of
from fhir_adapter.model import Arm, Criterion, Trial
from fhir_adapter.regimen import regimen_of
from fhir_adapter.regimen.schedule import schedule_of
from fhir_adapter.sources import read_records
from fhir_adapter.sources.criteria import split_criteria


def _leaves(criteria: list[Criterion]) -> Iterator[tuple[str, bool]]:
    for c in criteria:
        if c.children:
            yield from _leaves(c.children)
        else:
            yield c.text, c.exclude


def _trials(studies: int) -> list[Trial]:
    corpus = registry_corpus.build(studies, 14)
    inputs = registry_corpus.write(corpus, Path(tempfile.mkdtemp(prefix="bench-extract-")))
    return [r.trial for r in read_records(inputs) if r.trial is not None]


def _clear_regimen_caches() -> None:
    from fhir_adapter.regimen import attributes, sources, text

    for module, names in (
        (attributes, ("_dose_hits", "route_in", "_frequency_in")),
        (text, ("_words", "paren_depths", "clause_ends")),
        (sources, ("_names",)),
    ):
        for name in names:
            f = getattr(module, name, None)
            if f is not None and hasattr(f, "cache_clear"):
                f.cache_clear()


def _best(repeat: int, run: Callable[[], object], before: Callable[[], None] | None = None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.process_time()
        run()
        best = min(best, time.process_time() - t0)
    return best


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    trials = _trials(args.studies)
    texts = [t.eligibility.criteria_text for t in trials if t.eligibility and t.eligibility.criteria_text]
    leaves = [leaf for t in trials if t.eligibility for leaf in _leaves(t.eligibility.criteria)]
    arms: list[tuple[Trial, Arm]] = [(t, a) for t in trials for a in t.arms]

    def split() -> None:
        for text in texts:
            split_criteria(text)

    def define() -> None:
        for text, exclude in leaves:
            definition_of(text, exclude)

    def regimen() -> None:
        for trial, arm in arms:
            regimen_of(trial, arm)
        for trial in trials:
            schedule_of(trial)

    results = [
        ("split", len(texts), "texts", _best(args.repeat, split)),
        ("define", len(leaves), "criteria", _best(args.repeat, define)),
        ("regimen", len(arms), "arms", _best(args.repeat, regimen, _clear_regimen_caches)),
    ]
    print(f"{len(trials)} studies (registry-like, seed 14); CPU seconds, best of {args.repeat}")
    for name, n, what, seconds in results:
        print(f"{name:8} {seconds:8.3f} s  {n:6} {what:8} {1e6 * seconds / max(n, 1):8.1f} µs each")


if __name__ == "__main__":
    main(sys.argv[1:])
