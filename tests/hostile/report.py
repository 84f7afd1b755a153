"""Run the hostile-input suite outside pytest and print the per-category table (quoted in the issue notes).

    .venv/bin/python -m tests.hostile.report [--quick] [-k TEXT] [--jobs 2] [--details]

``-k`` keeps the cases whose name contains TEXT (a category name works: ``-k zip``); ``--details`` prints every
failing case with its symptom (exit code, stderr's last line, what was written where, RSS).
"""

from __future__ import annotations

import argparse
import collections

from .cases import all_cases, quick_cases
from .runner import run_all, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile.report", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the quick subset (one case per category)")
    parser.add_argument(
        "-k", dest="keyword", default="", help="only cases whose name contains this text (or one of A|B|C)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="cases run at the same time (default 2)")
    parser.add_argument("--details", action="store_true", help="describe every failing case")
    args = parser.parse_args(argv)
    keywords = args.keyword.split("|")
    cases = [c for c in (quick_cases() if args.quick else all_cases()) if any(k in c.name for k in keywords)]
    counts = collections.Counter(c.category for c in cases)
    print(f"{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
    results, seconds = run_all(cases, args.jobs)
    print(table(results))
    print(f"\n{len(results)} cases in {seconds:.0f} s, {sum(not r.ok for r in results)} failing")
    if args.details:
        for r in results:
            if not r.ok:
                print(r.describe())
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
