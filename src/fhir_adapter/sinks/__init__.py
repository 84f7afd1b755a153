"""Where converted records go, one module per kind of output (docs/architecture.md):

- ``files``: the output folder and its safe, atomic files (names we choose, no symlink followed, no input
  overwritten);
- ``base``: ``RecordSink``, the one interface the pipeline drives (``write`` an outcome, ``close``);
- ``bundles``: one ``<NCTID>.json`` Bundle per record; ``ndjson``: one ``<ResourceType>.ndjson`` per type;
- ``stdout``: one Bundle a line on a stream (standard output, ``convert -o -``), nothing on disk;
- ``error_log``: ``errors.jsonl``, the failed records of any run;
- ``server``: push to and pull from a FHIR server.

No sink imports the readers (``fhir_adapter.sources``) or the pipeline: the pipeline chooses the sink.
"""

from __future__ import annotations

from fhir_adapter.sinks.base import RecordSink, close_all, write_failure
from fhir_adapter.sinks.bundles import BundleFiles
from fhir_adapter.sinks.error_log import ERRORS_FILE, ErrorLog
from fhir_adapter.sinks.files import (
    OutputFolder,
    UnusableId,
    check_folder,
    display_id,
    file_identity,
    output_stem,
    prepare_folder,
)
from fhir_adapter.sinks.ndjson import NdjsonFiles
from fhir_adapter.sinks.stdout import STREAM_TARGET, BundleStream

__all__ = [
    "ERRORS_FILE",
    "STREAM_TARGET",
    "BundleFiles",
    "BundleStream",
    "ErrorLog",
    "NdjsonFiles",
    "OutputFolder",
    "RecordSink",
    "UnusableId",
    "check_folder",
    "close_all",
    "display_id",
    "file_identity",
    "output_stem",
    "prepare_folder",
    "write_failure",
]
