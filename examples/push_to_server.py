"""Push trials to a FHIR server as conditional updates (pushing twice changes nothing).

The inputs are converted bundles or any input ``convert`` reads: read, mapped and validated first, and a record that
fails is never sent.

Run it with the project's virtual environment (``pip install -e .`` done, see the README):

    .venv/bin/python examples/push_to_server.py http://127.0.0.1:8080/fhir seeds/ [--fhir-version R4]

A server to try it on: ``tools/fhir-server hapi-r5 --port 8080`` (README, "FHIR servers"). The server's
CapabilityStatement is read first; without --fhir-version its release is used. A bearer token is taken from
FHIR_ADAPTER_TOKEN when set. Exit 1 if any trial failed or was not attempted (the same as ``fhir-adapter push``).
"""

from __future__ import annotations

import argparse
import sys

from fhir_adapter import FhirAdapterError, FhirClient, push
from fhir_adapter.sinks.server.auth import credentials


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server", help="the FHIR base URL, e.g. http://127.0.0.1:8080/fhir")
    parser.add_argument("paths", nargs="+", help="bundle files, or inputs to convert on the fly (files, folders)")
    parser.add_argument("--fhir-version", default=None, help="R5 or R4 (default: the server's)")
    args = parser.parse_args(argv)
    try:
        with FhirClient(args.server, fhir_version=args.fhir_version, auth=credentials()) as client:
            summary = push(
                client,
                args.paths,
                on_result=lambda r: print(f"{'ok' if r.ok else 'FAILED'} {', '.join(r.nct_ids)}"),
                on_input_error=lambda line: print(line, file=sys.stderr),
            )
    except FhirAdapterError as e:  # the server refused, is unreachable, or speaks another release
        print(f"error: {e}", file=sys.stderr)
        return 1
    if summary.stopped:
        print(f"stopped: {summary.stopped}", file=sys.stderr)
    print(f"{summary.pushed} trials pushed, {summary.failed} failed, {len(summary.not_attempted)} not attempted")
    return 0 if summary.failed == 0 and not summary.not_attempted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
