"""fhir-adapter: clinical-trial records to validated HL7 FHIR, and back.

The public API::

    read_trials(path) -> Iterator[Trial]            every trial in a file or folder (any supported format)
    to_bundle(trial, fhir_version="R5", bundle_type="collection") -> dict
    from_bundle(bundle, fhir_version=None) -> Trial the way back; ``Trial ==`` is the round-trip criterion
    validate(resource, fhir_version="R5") -> list[Issue]
    match(patient_resources, trials, on=None) -> list[TrialMatch]   pre-screen a patient's FHIR data (R4 or R5)

``fhir_version`` is a ``fhir_adapter.release.FhirRelease`` or its name (``"R5"``, ``"r4"`` ...).

Names are loaded on first use, so that ``import fhir_adapter`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "FhirAdapterError",
    "Issue",
    "MappingError",
    "SourceError",
    "Trial",
    "ValidationFailed",
    "__version__",
    "from_bundle",
    "match",
    "read_trials",
    "to_bundle",
    "validate",
]

_LAZY = {
    "read_trials": "fhir_adapter.sources",
    "to_bundle": "fhir_adapter.bundle",
    "from_bundle": "fhir_adapter.bundle",
    "validate": "fhir_adapter.validate",
    "match": "fhir_adapter.match",
    "Trial": "fhir_adapter.model",
    "Issue": "fhir_adapter.issues",
    "FhirAdapterError": "fhir_adapter.errors",
    "SourceError": "fhir_adapter.errors",
    "MappingError": "fhir_adapter.errors",
    "ValidationFailed": "fhir_adapter.errors",
}

if TYPE_CHECKING:
    from fhir_adapter.bundle import from_bundle, to_bundle
    from fhir_adapter.errors import FhirAdapterError, MappingError, SourceError, ValidationFailed
    from fhir_adapter.issues import Issue
    from fhir_adapter.match import match
    from fhir_adapter.model import Trial
    from fhir_adapter.sources import read_trials
    from fhir_adapter.validate import validate


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fhir_adapter' has no attribute {name!r}")
