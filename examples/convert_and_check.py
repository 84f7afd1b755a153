"""Convert every trial under a path to FHIR R5, validate it, and check that it reads back as the same trial.

Run it with the project's virtual environment (``pip install -e .`` done, see the README):

    .venv/bin/python examples/convert_and_check.py seeds/ [--fhir-version R4]

One line per trial: its resources, validation errors, whether ``from_bundle(to_bundle(trial)) == trial``, and the
reader's warnings, counted as ``fhir-adapter convert`` counts them (the "N warnings" of its line for that trial),
plus the information notes (which ``convert -v`` shows). Exit 1 if any trial has errors or reads back different.
"""

from __future__ import annotations

import argparse
import sys

from fhir_adapter import from_bundle, read_trials, to_bundle, validate
from fhir_adapter.trials import warnings_of


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="seeds/", help="a file or folder of trials (default: seeds/)")
    parser.add_argument("--fhir-version", default="R5", help="R5 (default) or R4")
    args = parser.parse_args(argv)
    failed = 0
    for trial in read_trials(args.path):
        bundle = to_bundle(trial, args.fhir_version)
        errors = [issue for issue in validate(bundle, args.fhir_version) if issue.is_error]
        same = from_bundle(bundle, args.fhir_version) == trial
        failed += bool(errors) or not same
        warnings = len(warnings_of(trial))
        print(
            f"{trial.nct_id}: {len(bundle['entry'])} resources, {len(errors)} errors, round trip "
            f"{'equal' if same else 'DIFFERENT'}, {warnings} warnings, {len(trial.issues) - warnings} notes"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
