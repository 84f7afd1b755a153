"""A trial that occurs twice in one run: the later record wins, in bundle files and in NDJSON files alike, and the
warning says so (issue 12 item 3: ``--ndjson`` used to write the trial's resources twice, and a bulk ``$import``
then got duplicate ids)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import DATA
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode
from fhir_adapter.sinks.files import LineFile, OutputFolder

runner = CliRunner()
MANY_SITES = "NCT02210780"  # 42 locations
OTHER = "NCT00763412"


def _study(nct_id: str) -> dict[str, Any]:
    study: dict[str, Any] = json.loads((DATA / "ctgov-v2" / f"{nct_id}.json").read_text())
    study.pop("resultsSection", None)
    return study


def _later(study: dict[str, Any]) -> dict[str, Any]:
    """The same trial, updated: another title and fewer sites (the earlier record's other sites must go too)."""
    later = json.loads(json.dumps(study))
    later["protocolSection"]["identificationModule"]["briefTitle"] = "The later record"
    sites = later["protocolSection"]["contactsLocationsModule"]["locations"]
    later["protocolSection"]["contactsLocationsModule"]["locations"] = sites[:5]
    return later


def _ndjson(path: Path, studies: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(s) + "\n" for s in studies))
    return path


def _run(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["convert", *(str(a) for a in args)])


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ndjson_keeps_the_later_record_of_a_repeated_trial_only(tmp_path: Path, workers: str) -> None:
    earlier, later, other = _study(MANY_SITES), _later(_study(MANY_SITES)), _study(OTHER)
    twice = _ndjson(tmp_path / "twice.ndjson", [earlier, other, later])
    once = _ndjson(tmp_path / "once.ndjson", [other, later])
    result = _run(twice, "-o", tmp_path / "twice", "--ndjson", "-j", workers)
    assert result.exit_code == ExitCode.OK, result.output
    assert _run(once, "-o", tmp_path / "once", "--ndjson", "-j", workers).exit_code == ExitCode.OK
    written = sorted(p.name for p in (tmp_path / "twice").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "once").iterdir()) and "Location.ndjson" in written
    for name in written:  # byte for byte what a run without the earlier record writes: no line of it is left
        assert (tmp_path / "twice" / name).read_bytes() == (tmp_path / "once" / name).read_bytes(), name
        ids = [json.loads(line)["id"] for line in (tmp_path / "twice" / name).read_text().splitlines()]
        assert len(ids) == len(set(ids)), f"{name} holds an id twice"
    (study,) = [
        json.loads(line)
        for line in (tmp_path / "twice" / "ResearchStudy.ndjson").read_text().splitlines()
        if MANY_SITES in line
    ]
    assert study["title"] == "The later record"
    (warning,) = [line for line in result.output.splitlines() if "seen before" in line]
    assert warning.strip() == (
        f"{MANY_SITES} warning: NCT id {MANY_SITES} seen before in this run; the later record wins: its resources "
        "replace the earlier record's in the NDJSON files"
    )
    assert not list((tmp_path / "twice").glob(".*"))  # no temporary file left behind


def test_bundle_files_keep_the_later_record_and_say_so(tmp_path: Path) -> None:
    src = _ndjson(tmp_path / "twice.ndjson", [_study(MANY_SITES), _later(_study(MANY_SITES))])
    result = _run(src, "-o", tmp_path / "out", "-q")
    assert result.exit_code == ExitCode.OK, result.output
    bundle = json.loads((tmp_path / "out" / f"{MANY_SITES}.json").read_text())
    assert bundle["entry"][0]["resource"]["title"] == "The later record"
    assert "seen before in this run; the later record wins: its file replaces the earlier one" in result.output


def test_a_line_file_drops_byte_ranges_in_a_second_pass(tmp_path: Path) -> None:
    folder = OutputFolder(tmp_path)
    lines = LineFile(folder, "X.ndjson")
    for n in range(10):
        lines.write(f"line {n}\n".encode())  # 7 bytes each
    lines.drop([(63, 70), (0, 14), (28, 35)])  # lines 0-1, 4 and the last one; unsorted on purpose
    lines.write(b"after\n")
    lines.close()
    folder.close()
    assert (tmp_path / "X.ndjson").read_text().splitlines() == [f"line {n}" for n in (2, 3, 5, 6, 7, 8)] + ["after"]
    assert [p.name for p in tmp_path.iterdir()] == ["X.ndjson"]
