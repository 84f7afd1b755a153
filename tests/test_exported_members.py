"""The public API is what ``fhir_adapter.__all__`` says, and every name in it resolves."""

from __future__ import annotations

import fhir_adapter


def test_all_names_resolve() -> None:
    for name in fhir_adapter.__all__:
        assert getattr(fhir_adapter, name) is not None


def test_public_api_is_pinned() -> None:
    assert set(fhir_adapter.__all__) == {
        "FhirAdapterError",
        "Issue",
        "MappingError",
        "SourceError",
        "Trial",
        "ValidationFailed",
        "__version__",
        "from_bundle",
        "read_trials",
        "to_bundle",
        "validate",
    }
