"""HAPI's validator on every fixture and seed, R5 and R4: errors and warnings per kind (issue 11's before/after table).

    FHIR_ADAPTER_HAPI_JAR=validators/hapi/target/fhir-adapter-hapi-validator.jar \
        .venv/bin/python bench/hapi_warnings.py [--json OUT]

Converts every input in ``tests/data`` (API v2, API v1, legacy XML, the bulk ZIPs) and the seed pages with the
library (``read_trials`` + ``to_bundle``), validates all bundles of one release in one HAPI call, and prints the
counts per severity and per message kind (the message with its numbers, quoted names and URLs blanked, so that one
kind of fault counts once per occurrence). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

import orjson

from fhir_adapter import read_trials, to_bundle
from fhir_adapter.validate import hapi

ROOT = Path(__file__).resolve().parents[1]
INPUTS = [
    *sorted((ROOT / "seeds").glob("*.txt")),
    *sorted((ROOT / "tests/data/ctgov-v2").glob("*.json")),
    *sorted((ROOT / "tests/data/ctgov-v1").glob("*.json")),
    *sorted((ROOT / "tests/data/ctgov-xml").glob("*.xml")),
    *sorted((ROOT / "tests/data/bulk").glob("*.zip")),
]
# Blank what varies between occurrences of one kind of message: values in quotes (not URLs: they name the system
# or extension at fault), resource ids; and cut the element path HAPI appends.
_QUOTED = re.compile(r"'[^':/]*'")
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_WHERE = " (this element is"


def message_kind(message: str) -> str:
    """The message with its quoted values and ids blanked and HAPI's element path cut: one line per kind of fault."""
    kind = _ID.sub("ID", _QUOTED.sub("'…'", message.split(_WHERE, 1)[0]))
    return kind[:220]


def bundles(release: str) -> list[dict[str, object]]:
    """One bundle per trial of every input, in ``release``."""
    out: list[dict[str, object]] = []
    for path in INPUTS:
        for trial in read_trials(path):
            out.append(to_bundle(trial, fhir_version=release))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the counts as JSON here")
    args = parser.parse_args()
    report: dict[str, object] = {}
    for release in ("R5", "R4"):
        found = bundles(release)
        results = hapi.hapi_validate(found, release)
        severities: collections.Counter[str] = collections.Counter()
        kinds: collections.Counter[tuple[str, str]] = collections.Counter()
        for issues in results:
            for issue in issues:
                severities[issue.severity] += 1
                if issue.severity in ("error", "fatal", "warning"):
                    kinds[(issue.severity, message_kind(issue.message))] += 1
        print(f"## {release}: {len(found)} bundles from {len(INPUTS)} inputs")
        for severity in ("fatal", "error", "warning", "information"):
            print(f"{severity:12} {severities[severity]:7d}")
        for (severity, kind), count in kinds.most_common():
            print(f"  {count:6d}  {severity:7}  {kind}")
        report[release] = {
            "bundles": len(found),
            "severities": dict(severities),
            "kinds": [[severity, kind, count] for (severity, kind), count in kinds.most_common()],
        }
    if args.json:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
