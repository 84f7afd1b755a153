"""Pull trials from a FHIR server into one collection Bundle per trial, and read each back into a trial.

Run it with the project's virtual environment (``pip install -e .`` done, see the README):

    .venv/bin/python examples/pull_from_server.py http://127.0.0.1:8080/fhir -o pulled/ [--condition melanoma]
                                                   [--identifier NCT07236528] [--fhir-version R4]

Searches ResearchStudy (following ``next`` links), fetches every resource the studies reference once, writes
``pulled/<NCTID>.json`` (what ``fhir-adapter pull`` writes) and prints each trial read back from its bundle with
``from_bundle``. A bearer token is taken from FHIR_ADAPTER_TOKEN when set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fhir_adapter import FhirAdapterError, FhirClient, SearchQuery, from_bundle, pull
from fhir_adapter.sinks.server.auth import credentials


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", help="the FHIR base URL, e.g. http://127.0.0.1:8080/fhir")
    parser.add_argument("-o", "--output", required=True, type=Path, help="folder for the bundles")
    parser.add_argument("--condition", help="only studies of this condition (text)")
    parser.add_argument("--identifier", action="append", default=[], help="an NCT id (repeatable)")
    parser.add_argument("--fhir-version", default=None, help="R5 or R4 (default: the server's)")
    args = parser.parse_args(argv)
    query = SearchQuery(identifiers=args.identifier, condition=args.condition)
    try:
        with FhirClient(args.server, fhir_version=args.fhir_version, auth=credentials()) as client:
            summary = pull(client, args.output, query)
            release = client.fhir_version
    except FhirAdapterError as e:  # the server refused, is unreachable, or speaks another release
        print(f"error: {e}", file=sys.stderr)
        return 1
    for line in summary.problems:
        print(line, file=sys.stderr)
    for path in summary.written:
        trial = from_bundle(json.loads(path.read_bytes()), release)
        criteria = len(trial.eligibility.criteria)
        print(f"{trial.nct_id}: {trial.brief_title or ''} ({criteria} criteria, {trial.overall_status}) <- {path}")
    print(f"{summary.studies} studies, {len(summary.written)} bundles written to {args.output}")
    return 0 if not summary.problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
