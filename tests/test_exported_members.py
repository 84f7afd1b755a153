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


def test_the_fhir_client_push_and_pull_are_the_library_s() -> None:
    """The server side of the API is the CLI's: ``push`` reads, validates and pushes any input as ``fhir-adapter
    push`` does, ``pull`` writes what ``fhir-adapter pull`` writes."""
    from fhir_adapter.delivery import push_paths
    from fhir_adapter.sinks.server import FhirClient, SearchQuery, pull

    assert fhir_adapter.FhirClient is FhirClient and fhir_adapter.SearchQuery is SearchQuery
    assert fhir_adapter.push is push_paths and fhir_adapter.pull is pull
    client = fhir_adapter.FhirClient("http://127.0.0.1:9/fhir", fhir_version="R4")  # no request is made here
    assert client.base_url == "http://127.0.0.1:9/fhir" and client.fhir_version == "R4"
    client.close()


def test_version_is_the_distribution_s() -> None:
    from importlib.metadata import version

    assert fhir_adapter.__version__ == version("fhir-adapter")


def test_every_public_name_is_documented_in_the_package_docstring() -> None:
    doc = fhir_adapter.__doc__ or ""
    for name in ("read_trials", "to_bundle", "from_bundle", "validate", "match", "FhirClient", "push", "pull"):
        assert f"{name}(" in doc
