"""The ``fhir-adapter`` command: a thin typer layer over the library, one module per command.

Exit codes are ``fhir_adapter.errors.ExitCode``. Bad input never shows a traceback: each failed record is one line
naming file, NCT id and field. An unexpected exception (a bug) is one ``internal error`` line and exit 4; Ctrl-C
exits 130 quietly.

Start-up is fast (issue 12: ``fhir-adapter --help`` within 150 ms; ``bench/bench_help.py`` measures it): a command's
module is imported only when that command runs or shows its help (``COMMANDS`` holds the one-line summaries the main
help lists), the library's heavy modules are imported inside the commands, and the main help is plain text (rich,
which typer uses for the commands' own help and errors, is not imported for it). The typer application is in
``fhir_adapter.cli.application``; ``fhir-adapter --help`` itself is written without typer when its text is certain
(``fhir_adapter.cli.main_help``: typer's import is most of the start-up, issue 14).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fhir_adapter.cli.application import CleanUsageCommand as CleanUsageCommand
    from fhir_adapter.cli.application import LazyGroup as LazyGroup
    from fhir_adapter.cli.application import app as app
    from fhir_adapter.cli.application import load_command as load_command
    from fhir_adapter.cli.application import package_version as package_version
    from fhir_adapter.cli.application import usage_name as usage_name

DEBUG_VARIABLE = "FHIR_ADAPTER_DEBUG"
SUMMARY = "Turn clinical-trial records into validated HL7 FHIR, and back."  # the main help's first paragraph
VERSION_HELP = "Print the version and exit."

# Each command: its module (fhir_adapter.cli.<name>, whose function <name> it runs) and the summary the main help
# shows, the first sentence of the function's docstring (tests/test_cli_help.py checks that they agree).
COMMANDS: dict[str, str] = {
    "convert": "Convert trial records to FHIR.",
    "validate": "Validate FHIR resources.",
    "fetch": "Fetch studies from ClinicalTrials.gov by NCT id and/or by search.",
    "push": "Push trials to a FHIR server with conditional PUTs (pushing twice changes nothing).",
    "pull": "Pull trials from a FHIR server into collection bundles.",
    "match": "Pre-screen a patient (a FHIR file, or one on a FHIR server) against trials.",
    "definitions": "Write fhir-adapter's CodeSystems, ValueSets and extension StructureDefinitions to a folder.",
}

# Every setting read from the environment, for the main help (the README says the same).
ENVIRONMENT: dict[str, str] = {
    "FHIR_ADAPTER_SERVER": "push, pull, match: the FHIR base URL when --server is not given",
    "FHIR_ADAPTER_TOKEN": "push, pull, match: a bearer token (else --token-file)",
    "FHIR_ADAPTER_PASSWORD": "push, pull, match: the HTTP basic password for --user (else --password-file)",
    "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE": "CA certificates to trust when --ca-bundle is not given",
    "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY": "proxies for push, pull, match and fetch",
    "FHIR_ADAPTER_CTGOV_URL": "fetch: the ClinicalTrials.gov API v2 base URL",
    "FHIR_ADAPTER_HAPI_JAR": "HAPI's validator jar: validate uses it (R4, --engine hapi) when set",
    DEBUG_VARIABLE: "1 prints the traceback of an internal error (exit 4)",
}

EXAMPLES = (
    "fhir-adapter convert seeds/ -o out/",
    "fhir-adapter convert trials.ndjson -o - | jq .id",
    "fhir-adapter push out/ --server http://localhost:8080/fhir",
    "fhir-adapter match --patient patient.json out/",
)

# The typer side (``fhir_adapter.cli.application``), imported on first use: ``from fhir_adapter.cli import app``.
_FROM_APP = ("CleanUsageCommand", "LazyGroup", "app", "load_command", "package_version", "usage_name")


def __getattr__(name: str) -> Any:
    if name not in _FROM_APP:
        raise AttributeError(f"module 'fhir_adapter.cli' has no attribute {name!r}")
    from fhir_adapter.cli import application

    return getattr(application, name)


def internal_error_line(e: BaseException) -> str:
    """The one line printed for an unexpected exception: its type and (shortened) message, never a traceback."""
    from fhir_adapter.cli.common import clean

    message = clean(str(e))
    if len(message) > 300:
        message = message[:297] + "..."
    return f"internal error: {type(e).__name__}: {message} — please report it; set {DEBUG_VARIABLE}=1 for the traceback"


def main() -> None:
    """Console-script entry point: the command's exit code; 4 and one line for a bug; 130 for Ctrl-C."""
    if sys.argv[1:] == ["--help"]:
        from fhir_adapter.cli.main_help import main_help_text

        text = main_help_text()
        if text is not None:  # what typer would write, without importing typer
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except OSError:  # a closed pipe ...: typer writes it again and ends as it ends then (EPIPE: exit 1)
                pass
            else:
                sys.exit(0)
    from fhir_adapter.cli.application import app
    from fhir_adapter.errors import ExitCode

    try:
        app()
    except KeyboardInterrupt:  # typer turns Ctrl-C inside a command into exit 130; this is Ctrl-C around it
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as e:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            import traceback

            traceback.print_exc()
        from fhir_adapter.cli.common import err

        err(internal_error_line(e))
        sys.exit(ExitCode.INTERNAL)
