"""fhir-adapter: clinical-trial records to validated HL7 FHIR, and back.

The public API::

    read_trials(source) -> Iterator[Trial]          the trials of a file or folder, or of content in memory
                                                    (bytes, a str document, parsed JSON); formats detected as
                                                    for files (fhir_adapter.trials)
    to_bundle(trial, fhir_version="R5", bundle_type="collection") -> dict
    from_bundle(bundle, fhir_version=None) -> Trial the way back; ``Trial ==`` is the round-trip criterion
    validate(resource, fhir_version="R5") -> list[Issue]
    match(patient_resources, trials, on=None) -> list[TrialMatch]   pre-screen a patient's FHIR data (R4 or R5)

    FhirClient(base_url, fhir_version=None, auth=None, ca_bundle=None, ...)   a FHIR server (TLS always verified,
                                                    retries, circuit breaker; fhir_adapter.sinks.server.client)
    push(client, paths, mode="transaction", batch_size=1, ...) -> PushSummary
                                                    bundles or any input convert reads, validated, then sent as
                                                    conditional updates (fhir_adapter.delivery.push_paths)
    pull(client, output_dir, SearchQuery(...)) -> PullSummary
                                                    ResearchStudy search -> one collection Bundle per trial
                                                    (fhir_adapter.sinks.server.pull)

``fhir_version`` is a ``fhir_adapter.release.FhirRelease`` or its name (``"R5"``, ``"r4"`` ...). ``examples/`` has a
runnable script for each: convert, push, pull and screen a patient.

Names are loaded on first use, so that ``import fhir_adapter`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "FhirAdapterError",
    "FhirClient",
    "Issue",
    "MappingError",
    "SearchQuery",
    "SourceError",
    "Trial",
    "ValidationFailed",
    "__version__",
    "from_bundle",
    "match",
    "pull",
    "push",
    "read_trials",
    "to_bundle",
    "validate",
]

# name -> (module, attribute)
_LAZY = {
    "read_trials": ("fhir_adapter.trials", "read_trials"),
    "to_bundle": ("fhir_adapter.bundle", "to_bundle"),
    "from_bundle": ("fhir_adapter.bundle", "from_bundle"),
    "validate": ("fhir_adapter.validate", "validate"),
    "match": ("fhir_adapter.match", "match"),
    "FhirClient": ("fhir_adapter.sinks.server.client", "FhirClient"),
    "SearchQuery": ("fhir_adapter.sinks.server.pull", "SearchQuery"),
    "push": ("fhir_adapter.delivery", "push_paths"),
    "pull": ("fhir_adapter.sinks.server.pull", "pull"),
    "Trial": ("fhir_adapter.model", "Trial"),
    "Issue": ("fhir_adapter.issues", "Issue"),
    "FhirAdapterError": ("fhir_adapter.errors", "FhirAdapterError"),
    "SourceError": ("fhir_adapter.errors", "SourceError"),
    "MappingError": ("fhir_adapter.errors", "MappingError"),
    "ValidationFailed": ("fhir_adapter.errors", "ValidationFailed"),
}

if TYPE_CHECKING:
    from fhir_adapter.bundle import from_bundle, to_bundle
    from fhir_adapter.delivery import push_paths as push
    from fhir_adapter.errors import FhirAdapterError, MappingError, SourceError, ValidationFailed
    from fhir_adapter.issues import Issue
    from fhir_adapter.match import match
    from fhir_adapter.model import Trial
    from fhir_adapter.sinks.server.client import FhirClient
    from fhir_adapter.sinks.server.pull import SearchQuery, pull
    from fhir_adapter.trials import read_trials
    from fhir_adapter.validate import validate

    __version__: str


def _version() -> str:
    """The installed distribution's version (pyproject.toml's, through the package metadata)."""
    found = _metadata_version()
    if found is not None:
        return found
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fhir-adapter")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def _metadata_version() -> str | None:
    """The ``Version`` of the ``fhir_adapter-*.dist-info`` that ``importlib.metadata`` would find: the first on
    ``sys.path``, read without importing ``importlib.metadata`` (its email parser and the rest cost ~30 ms of every
    conversion, whose Provenance names the version: issue 14, start-up). None when the case is not that plain (an
    archive on the path, no such folder, two in one folder, an egg-info): ``importlib.metadata`` decides then."""
    import os
    import sys

    for entry in sys.path:
        folder = entry or "."
        if not os.path.isdir(folder) or folder.lower().endswith(".egg"):
            if os.path.exists(folder):
                return None  # a zip archive or an egg on the path
            continue
        try:
            names = [n for n in os.listdir(folder) if _is_ours(n.lower())]
        except OSError:
            continue
        if not names:
            continue
        if len(names) != 1 or not names[0].lower().endswith(".dist-info"):
            return None
        return _header_version(os.path.join(folder, names[0], "METADATA"))
    return None


def _is_ours(name: str) -> bool:
    """Whether a (lower-case) folder entry is this distribution's metadata as ``importlib.metadata`` matches it: the
    part before the first ``-`` of a ``*.dist-info`` / ``*.egg-info`` name, with runs of ``-_.`` as one ``_``."""
    if not name.endswith((".dist-info", ".egg-info")):
        return False
    project = name.rpartition(".")[0].partition("-")[0]
    return "_".join(part for part in project.replace(".", "_").split("_") if part) == "fhir_adapter"


def _header_version(metadata: str) -> str | None:
    """The ``Version:`` header of a METADATA file; None if it has none or cannot be read."""
    try:
        with open(metadata, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    return None  # the headers end at the first blank line
                if line.startswith("Version:"):
                    return line[len("Version:") :].strip() or None
    except OSError:
        return None
    return None


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
    else:
        raise AttributeError(f"module 'fhir_adapter' has no attribute {name!r}")
    globals()[name] = value
    return value
