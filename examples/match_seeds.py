"""Pre-screen a synthetic patient against the seed trials, the way an EHR would: which could this patient enter?

Run it with the project's virtual environment (``pip install -e .`` done, see the README):

    .venv/bin/python examples/match_seeds.py [PATIENT.json] [TRIALS...] [--on YYYY-MM-DD]

Defaults: the patient tests/data/patients/p01-eligible.r5.json, the trials of seeds/, evaluated on 2026-06-15 (the
date the synthetic patients were made for). Prints the readable table, then the verdicts as the FHIR searchset
Bundle gives them (the same results as ``fhir-adapter match --patient PATIENT.json seeds/ --format fhir``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from fhir_adapter import read_trials
from fhir_adapter.match import match, resources_of
from fhir_adapter.match.output import match_extension_url, to_searchset, to_table

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patient", nargs="?", default=str(REPO / "tests/data/patients/p01-eligible.r5.json"))
    parser.add_argument("trials", nargs="*", default=[str(REPO / "seeds")])
    parser.add_argument("--on", default="2026-06-15", help="evaluation date (YYYY-MM-DD)")
    args = parser.parse_args(argv)

    resources = resources_of(json.loads(Path(args.patient).read_text(encoding="utf-8")), args.patient)
    trials = [trial for path in args.trials for trial in read_trials(path)]
    matches = match(resources, trials, on=date.fromisoformat(args.on))

    print(f"Patient {args.patient} screened against {len(trials)} trials on {args.on}:\n")
    for line in to_table(matches):
        print(line)

    bundle = to_searchset(matches)
    print(f"\nAs a FHIR searchset Bundle ({bundle['total']} ResearchStudy entries, best first):")
    for entry in bundle["entry"]:
        ours = next(e for e in entry["search"]["extension"] if e["url"] == match_extension_url())
        verdict = next(p["valueCode"] for p in ours["extension"] if p["url"] == "verdict")
        study = entry["resource"]
        nct = next((i["value"] for i in study.get("identifier", [])), "?")
        print(f"  {nct}: search.score {entry['search']['score']}, verdict {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
