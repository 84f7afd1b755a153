"""The public API is what ``fhir_adapter.__all__`` says, and every name in it resolves."""

from __future__ import annotations

from pathlib import Path

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
        "match",
        "read_trials",
        "to_bundle",
        "validate",
    }


def test_validate_is_callable_whatever_was_imported_first() -> None:
    """Importing the ``fhir_adapter.validate`` package binds it to the name of the public function: both validate."""
    import fhir_adapter.validate.hapi  # noqa: F401  (binds the package to fhir_adapter.validate)
    from fhir_adapter import validate

    assert validate({"resourceType": "ResearchStudy", "status": "active"}) == []


def test_match_is_callable_whatever_was_imported_first() -> None:
    """As validate: ``fhir_adapter.match`` screens whether the name gives the function or the package."""
    import fhir_adapter.match.units  # noqa: F401  (binds the package to fhir_adapter.match)
    from fhir_adapter import match, read_trials
    from fhir_adapter.match import TrialMatch

    patient = [{"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01", "gender": "female"}]
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    results = match(patient, list(read_trials(seeds)))
    assert len(results) == 2 and all(isinstance(r, TrialMatch) for r in results)
