"""How the library finds HAPI's validator jar (fast: no Java is run): one setting, and a clear message without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_adapter.errors import FhirAdapterError
from fhir_adapter.validate import hapi


def test_no_setting_means_unavailable_with_the_build_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hapi.JAR_ENV, raising=False)
    assert hapi.hapi_jar() is None
    assert not hapi.hapi_available()
    with pytest.raises(hapi.HapiUnavailable) as caught:
        hapi.require_hapi()
    message = str(caught.value)
    assert isinstance(caught.value, FhirAdapterError)
    assert "\n" not in message
    assert hapi.JAR_ENV in message and hapi.BUILD_COMMAND in message
    assert message.startswith("HAPI validator not installed") and "how to build it" in message
    assert "building" not in message.lower()  # the library never builds Java (issue 12: a wheel without Java)
    with pytest.raises(hapi.HapiUnavailable):
        hapi.hapi_validate([{"resourceType": "Patient"}], "R4")


def test_setting_naming_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(hapi.JAR_ENV, str(tmp_path / "absent.jar"))
    assert hapi.hapi_jar() is None
    with pytest.raises(hapi.HapiUnavailable, match=r"absent\.jar is not a file"):
        hapi.require_hapi()


def test_setting_naming_a_file_without_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jar = tmp_path / hapi.JAR_NAME
    jar.write_bytes(b"PK")
    monkeypatch.setenv(hapi.JAR_ENV, str(jar))
    monkeypatch.setenv("PATH", str(tmp_path))  # no java here
    assert hapi.hapi_jar() == jar
    assert not hapi.hapi_available()
    with pytest.raises(hapi.HapiUnavailable, match="java is not on PATH"):
        hapi.require_hapi()


def test_the_library_never_builds_java() -> None:
    source = Path(hapi.__file__).read_text(encoding="utf-8")
    assert "subprocess.run([mvn" not in source and "_module_dir" not in source
    assert "mvn" not in source.replace(hapi.BUILD_COMMAND, "")


def test_the_cli_says_not_installed_and_how_to_build_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``validate --engine hapi`` on an install without the jar: one line, exit 2, no traceback, no build started."""
    from typer.testing import CliRunner

    from fhir_adapter.cli import app
    from fhir_adapter.errors import ExitCode

    monkeypatch.delenv(hapi.JAR_ENV, raising=False)
    resource = tmp_path / "study.json"
    resource.write_text('{"resourceType": "ResearchStudy", "status": "active"}')
    result = CliRunner().invoke(app, ["validate", "--engine", "hapi", str(resource)])
    assert result.exit_code == ExitCode.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HAPI validator not installed" in lines[0] and hapi.BUILD_COMMAND in lines[0]
    assert "Traceback" not in result.output
