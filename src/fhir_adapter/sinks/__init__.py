"""Where converted records go. ``files``: the output folder and its safe, atomic files; ``writer``: bundles, NDJSON
and ``errors.jsonl`` written from the pipeline's outcomes."""

from __future__ import annotations

from fhir_adapter.sinks.files import (
    OutputFolder,
    UnusableId,
    check_folder,
    display_id,
    input_identities,
    output_stem,
    prepare_folder,
)
from fhir_adapter.sinks.writer import ERRORS_FILE, ErrorLog, OutcomeWriter

__all__ = [
    "ERRORS_FILE",
    "ErrorLog",
    "OutcomeWriter",
    "OutputFolder",
    "UnusableId",
    "check_folder",
    "display_id",
    "input_identities",
    "output_stem",
    "prepare_folder",
]
