"""Convert every trial under a path to FHIR R5, validate it, and check it reads back as the same trial.

python examples/convert_and_check.py seeds/
"""

from __future__ import annotations

import sys

from fhir_adapter import from_bundle, read_trials, to_bundle, validate


def main(path: str) -> int:
    failed = 0
    for trial in read_trials(path):
        bundle = to_bundle(trial)
        errors = [issue for issue in validate(bundle) if issue.is_error]
        same = from_bundle(bundle) == trial
        failed += bool(errors) or not same
        print(
            f"{trial.nct_id}: {len(bundle['entry'])} resources, {len(errors)} errors, round trip "
            f"{'equal' if same else 'DIFFERENT'}, {len(trial.issues)} reader notes"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "seeds/"))
