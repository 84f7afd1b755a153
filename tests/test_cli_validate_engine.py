"""``fhir-adapter validate --engine``: auto, hapi, python (the fast layers) and fhir.resources (the reference)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import SEEDS
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode
from helpers import bundle_of

runner = CliRunner()


def run(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def write(path: Path, resource: dict[str, Any]) -> Path:
    path.write_text(json.dumps(resource), encoding="utf-8")
    return path


def test_help_names_every_engine() -> None:
    result = run("validate", "--help")
    assert result.exit_code == 0
    for value in ("auto", "hapi", "python", "fhir.resources"):
        assert value in result.stdout
    assert "reference" in result.stdout


@pytest.mark.parametrize("engine", ["auto", "python", "fhir.resources"])
def test_every_offline_engine_passes_a_converted_bundle(tmp_path: Path, engine: str) -> None:
    bundle = write(tmp_path / "b.json", bundle_of(SEEDS[1]))
    result = run("validate", bundle, "--engine", engine)
    assert result.exit_code == ExitCode.OK, result.output
    assert "1 valid, 0 invalid" in result.stdout


@pytest.mark.parametrize("engine", ["auto", "python", "fhir.resources"])
def test_every_offline_engine_reports_a_wrong_json_type_at_its_location(tmp_path: Path, engine: str) -> None:
    bad = write(tmp_path / "rs.json", {"resourceType": "ResearchStudy", "status": "active", "title": 42})
    result = run("validate", bad, "--engine", engine)
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "ResearchStudy.title" in result.stderr


def test_the_engine_reaches_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """python and auto run the library's "fast" engine, fhir.resources its "fhir.resources" engine."""
    import fhir_adapter.validate as package

    seen: list[str] = []
    real = package.validate

    def spy(resource: dict[str, Any], fhir_version: Any = "R5", **kwargs: Any) -> Any:
        seen.append(kwargs.get("engine", "fast"))
        return real(resource, fhir_version, **kwargs)

    monkeypatch.setattr(package, "validate", spy)
    resource = write(tmp_path / "rs.json", {"resourceType": "ResearchStudy", "status": "active"})
    for engine in ("auto", "python", "fhir.resources"):
        assert run("validate", resource, "--engine", engine).exit_code == ExitCode.OK
    assert seen == ["fast", "fast", "fhir.resources"]


def test_fhir_resources_engine_is_the_reference_where_it_accepts_what_the_spec_forbids(tmp_path: Path) -> None:
    """An id of 65 characters breaks the id regex [A-Za-z0-9\\-\\.]{1,64} (https://hl7.org/fhir/R5/datatypes.html#id);
    the fhir.resources models accept it (tests/test_validate_differential.py lists it), the fast layers do not."""
    bad = write(tmp_path / "rs.json", {"resourceType": "ResearchStudy", "id": "x" * 65, "status": "active"})
    assert run("validate", bad, "--engine", "fhir.resources").exit_code == ExitCode.OK
    result = run("validate", bad, "--engine", "python")
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "ResearchStudy.id" in result.stderr


def test_r4_fhir_resources_engine_is_the_offline_r4_check_without_hapi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R4 has one offline check (the fhir.resources R4B models): ``--engine fhir.resources`` runs it and never looks
    for HAPI's jar (no fallback note)."""
    monkeypatch.setenv("FHIR_ADAPTER_HAPI_JAR", str(tmp_path / "missing.jar"))
    good = write(tmp_path / "rs.json", {"resourceType": "ResearchStudy", "status": "active"})
    result = run("validate", good, "--fhir-version", "R4", "--engine", "fhir.resources")
    assert result.exit_code == ExitCode.OK, result.output
    assert "note:" not in result.stderr
    bad = write(tmp_path / "bad.json", {"resourceType": "ResearchStudy", "status": "active", "title": 42})
    result = run("validate", bad, "--fhir-version", "R4", "--engine", "fhir.resources")
    assert result.exit_code == ExitCode.FAILED
    assert "ResearchStudy.title" in result.stderr


def test_an_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    resource = write(tmp_path / "rs.json", {"resourceType": "ResearchStudy", "status": "active"})
    result = run("validate", resource, "--engine", "pydantic")
    assert result.exit_code == ExitCode.USAGE
    assert "fhir.resources" in result.output
