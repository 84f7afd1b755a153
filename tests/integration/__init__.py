"""Integration tests against real FHIR servers (a package, so that its conftest does not shadow tests/conftest.py)."""
