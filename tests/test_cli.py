"""The CLI contract, through typer's CliRunner and the real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO, V2_FIXTURES
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode

runner = CliRunner()


def run(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def test_convert_seeds_and_fixtures(tmp_path: Path) -> None:
    result = run("convert", REPO / "seeds", REPO / "tests" / "data" / "ctgov-v2", "-o", tmp_path)
    assert result.exit_code == ExitCode.OK, result.output
    names = sorted(p.name for p in tmp_path.glob("*.json"))
    expected = sorted(["NCT07236528.json", "NCT07586904.json"] + [p.name for p in V2_FIXTURES])
    assert names == expected
    assert result.stdout.count("\nok ") + result.stdout.startswith("ok ") == len(expected)
    assert f"{len(expected)} converted, 0 failed" in result.stdout
    bundle = json.loads((tmp_path / "NCT07236528.json").read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"


def test_transaction_bundle_uses_conditional_puts(tmp_path: Path) -> None:
    result = run("convert", REPO / "seeds", "-o", tmp_path, "--bundle", "transaction")
    assert result.exit_code == 0, result.output
    entries = json.loads((tmp_path / "NCT07236528.json").read_text())["entry"]
    assert entries[0]["request"] == {
        "method": "PUT",
        "url": "ResearchStudy?identifier=https%3A%2F%2Fclinicaltrials.gov|NCT07236528",
    }
    for e in entries:  # a business key where there is one (no id in the body), else the deterministic id
        resource, url = e["resource"], e["request"]["url"]
        assert e["request"]["method"] == "PUT"
        if resource["resourceType"] in ("ResearchStudy", "EvidenceVariable", "PlanDefinition", "ActivityDefinition"):
            assert "?" in url and "id" not in resource
        else:
            assert url == f"{resource['resourceType']}/{resource['id']}"


def test_ndjson_writes_one_file_per_resource_type(tmp_path: Path) -> None:
    result = run("convert", REPO / "seeds", "-o", tmp_path, "--ndjson")
    assert result.exit_code == 0, result.output
    files = {p.name for p in tmp_path.iterdir()}
    assert {"ResearchStudy.ndjson", "EvidenceVariable.ndjson", "PlanDefinition.ndjson"} <= files
    studies = (tmp_path / "ResearchStudy.ndjson").read_text().splitlines()
    assert len(studies) == 2 and all(json.loads(s)["resourceType"] == "ResearchStudy" for s in studies)


def test_bad_record_is_one_line_and_the_rest_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "in" / "broken.json"
    bad.parent.mkdir()
    bad.write_text('{"protocolSection": {"identificationModule": {"nctId": "NCT0')
    result = run("convert", bad, REPO / "seeds", "-o", tmp_path / "out")
    assert result.exit_code == ExitCode.FAILED
    assert "FAILED" in result.stderr and "broken.json" in result.stderr and "invalid JSON" in result.stderr
    assert "Traceback" not in result.output
    assert "2 converted, 1 failed" in result.stdout
    assert (tmp_path / "out" / "NCT07236528.json").exists()


def test_missing_input_exits_with_no_input(tmp_path: Path) -> None:
    result = run("convert", tmp_path / "nope.json", "-o", tmp_path)
    assert result.exit_code == ExitCode.NO_INPUT
    assert "nope.json" in result.stderr


def test_validate_command_on_converted_output(tmp_path: Path) -> None:
    assert run("convert", REPO / "seeds", "-o", tmp_path).exit_code == 0
    result = run("validate", tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 valid, 0 invalid" in result.stdout


def test_validate_reports_errors_and_operation_outcome(tmp_path: Path) -> None:
    bad = tmp_path / "rs.json"
    bad.write_text(json.dumps({"resourceType": "ResearchStudy", "status": "bogus"}))
    result = run("validate", bad)
    assert result.exit_code == ExitCode.FAILED
    assert "INVALID" in result.stdout and "ResearchStudy.status" in result.stderr
    result = run("validate", bad, "--format", "operationoutcome")
    assert result.exit_code == ExitCode.FAILED
    doc = json.loads(result.stdout.splitlines()[0])
    assert doc["outcome"]["resourceType"] == "OperationOutcome"
    assert any("ResearchStudy.status" in i.get("expression", [""])[0] for i in doc["outcome"]["issue"])


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0 and "convert" in result.stdout and "validate" in result.stdout


def _main_exit(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run the console entry point ``main()`` as the shell would; returns its exit code."""
    from fhir_adapter.cli import main

    monkeypatch.setattr("sys.argv", ["fhir-adapter", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    assert isinstance(code, int)
    return code


def test_an_unexpected_exception_is_one_line_and_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("fhir_adapter.pipeline.convert_paths", boom)
    monkeypatch.delenv("FHIR_ADAPTER_DEBUG", raising=False)
    assert _main_exit(monkeypatch, "convert", str(REPO / "seeds"), "-o", str(tmp_path)) == ExitCode.INTERNAL == 4
    stderr = capsys.readouterr().err
    assert stderr.splitlines() == [stderr.strip()] and "Traceback" not in stderr
    assert stderr.startswith("internal error: RuntimeError: boom\\x0asecond line") and "FHIR_ADAPTER_DEBUG=1" in stderr
    monkeypatch.setenv("FHIR_ADAPTER_DEBUG", "1")
    assert _main_exit(monkeypatch, "convert", str(REPO / "seeds"), "-o", str(tmp_path)) == 4
    stderr = capsys.readouterr().err
    assert "Traceback" in stderr and "internal error: RuntimeError" in stderr


def test_ctrl_c_exits_130_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("fhir_adapter.pipeline.convert_paths", interrupted)
    assert _main_exit(monkeypatch, "convert", str(REPO / "seeds"), "-o", str(tmp_path)) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_usage_errors_still_exit_2_through_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f").write_text("x")
    assert _main_exit(monkeypatch, "convert", str(REPO / "seeds"), "-o", str(tmp_path / "f")) == ExitCode.USAGE
    assert _main_exit(monkeypatch, "convert", "--no-such-option") == ExitCode.USAGE


def test_convert_help_lists_the_limits() -> None:
    result = run("convert", "--help")
    for option in ("--record-timeout", "--max-record-mb", "--max-list-items", "--max-json-depth"):
        assert option in result.stdout


def test_limit_options_reach_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fhir_adapter.limits import MB
    from fhir_adapter.pipeline import ConvertOptions, ConvertSummary

    seen: list[ConvertOptions] = []

    def record(inputs: object, output: object, options: ConvertOptions, *args: object) -> ConvertSummary:
        seen.append(options)
        return ConvertSummary(converted=1)

    monkeypatch.setattr("fhir_adapter.pipeline.convert_paths", record)
    result = run(
        "convert",
        REPO / "seeds",
        "-o",
        tmp_path,
        "--record-timeout",
        "2.5",
        "--max-record-mb",
        "3",
        "--max-list-items",
        "7",
        "--max-json-depth",
        "9",
    )
    assert result.exit_code == 0, result.output
    limits = seen[0].limits
    assert (limits.max_record_seconds, limits.max_record_bytes, limits.max_list_items, limits.max_json_depth) == (
        2.5,
        3 * MB,
        7,
        9,
    )


@pytest.mark.hapi
def test_validate_r4_uses_hapi_and_catches_r5_content(tmp_path: Path) -> None:
    """R4 validation is HAPI's (CI builds the jar): converted R4 bundles pass, an R5 element in R4 fails."""
    assert run("convert", REPO / "seeds", "-o", tmp_path / "r4", "--fhir-version", "R4").exit_code == 0
    result = run("validate", tmp_path / "r4", "--fhir-version", "R4", "--engine", "hapi")
    assert result.exit_code == 0, result.output
    assert "2 valid, 0 invalid" in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"resourceType": "ResearchStudy", "status": "active", "progressStatus": [{"actual": True}]})
    )
    result = run("validate", bad, "--fhir-version", "R4")
    assert result.exit_code == ExitCode.FAILED
    assert "progressStatus" in result.stderr


def test_limit_options_reach_the_readers(tmp_path: Path) -> None:
    """``--limit NAME=VALUE`` sets the limits without an option of their own; the message names how to raise it."""
    import zipfile

    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "NCT00000001.json",
            json.dumps(
                {"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "x" * 4000}}}
            ),
        )
    result = run("convert", archive, "-o", tmp_path / "out", "--limit", "max-member-mb=0.001")
    assert result.exit_code == ExitCode.FAILED
    assert "--limit max-member-mb=N" in result.stderr
    assert run("convert", archive, "-o", tmp_path / "out2").exit_code == ExitCode.OK


@pytest.mark.parametrize("value", ["nope=1", "max-zip-ratio=0", "max-zip-ratio=x", "max-zip-ratio"])
def test_a_bad_limit_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = run("convert", REPO / "seeds", "-o", tmp_path / "out", "--limit", value)
    assert result.exit_code == ExitCode.USAGE and "--limit" in result.output


def test_validate_engine_hapi_without_its_jar_is_one_line_naming_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library never builds Java: without the jar ``--engine hapi`` is a usage error naming the setting and the
    build command; ``--engine auto`` falls back to the Python R4 checks with a note."""
    monkeypatch.setenv("FHIR_ADAPTER_HAPI_JAR", str(tmp_path / "missing.jar"))
    resource = tmp_path / "rs.json"
    resource.write_text(json.dumps({"resourceType": "ResearchStudy", "status": "active"}))
    result = run("validate", resource, "--fhir-version", "R4", "--engine", "hapi")
    assert result.exit_code == ExitCode.USAGE, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "FHIR_ADAPTER_HAPI_JAR" in lines[0] and "mvn" in lines[0] and "Traceback" not in result.output
    result = run("validate", resource, "--fhir-version", "R4")
    assert result.exit_code == ExitCode.OK, result.output
    assert "note: " in result.stderr and "FHIR_ADAPTER_HAPI_JAR" in result.stderr and "1 valid" in result.stdout
