"""Bulk inputs: folders, ZIP archives, NDJSON / JSON lines, v1 pages, stdin; parallel workers with the same output
as one by one; failed records in errors.jsonl; the run never stops for a bad record."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from conftest import DATA, REPO
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode
from fhir_adapter.pipeline import ConvertOptions, convert_paths
from fhir_adapter.sources import iter_units, read_records

V2 = sorted((DATA / "ctgov-v2").glob("*.json"))
XML = sorted((DATA / "ctgov-xml").glob("*.xml"))


def _studies(n: int) -> list[dict[str, Any]]:
    """n v2 studies with distinct NCT ids (the fixtures, results removed, cycled)."""
    templates = []
    for f in V2:
        study = json.loads(f.read_text())
        study.pop("resultsSection", None)
        templates.append(study)
    out = []
    for i in range(n):
        study = json.loads(json.dumps(templates[i % len(templates)]))
        study["protocolSection"]["identificationModule"]["nctId"] = f"NCT{91000000 + i:08d}"
        out.append(study)
    return out


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_ndjson_zip_and_one_by_one_give_the_same_output(tmp_path: Path) -> None:
    studies = _studies(12)
    lines = tmp_path / "in.ndjson"
    lines.write_text("\n".join(json.dumps(s) for s in studies) + "\n")
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for s in studies:
            z.writestr(f"{s['protocolSection']['identificationModule']['nctId']}.json", json.dumps(s))
    singles = tmp_path / "singles"
    singles.mkdir()
    for s in studies:
        (singles / f"{s['protocolSection']['identificationModule']['nctId']}.json").write_text(json.dumps(s))
    outputs = []
    for name, src, workers in (("a", lines, 1), ("b", archive, 2), ("c", singles, 1), ("d", lines, 2)):
        summary = convert_paths([src], tmp_path / name, ConvertOptions(workers=workers))
        assert (summary.converted, summary.failed) == (12, 0)
        outputs.append(_tree(tmp_path / name))
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]
    assert len(outputs[0]) == 12


def test_ndjson_output_order_does_not_depend_on_workers(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(s) for s in _studies(20)))
    trees = []
    for workers in (1, 2):
        convert_paths([src], tmp_path / f"w{workers}", ConvertOptions(workers=workers, ndjson=True))
        trees.append(_tree(tmp_path / f"w{workers}"))
    assert trees[0] == trees[1]
    studies = trees[0]["ResearchStudy.ndjson"].decode().splitlines()
    assert [json.loads(s)["identifier"][0]["value"] for s in studies] == [f"NCT{91000000 + i:08d}" for i in range(20)]


def test_bad_records_go_to_the_errors_file_and_the_run_goes_on(tmp_path: Path) -> None:
    good = _studies(2)
    src = tmp_path / "mixed.ndjson"
    src.write_text(
        "\n".join(
            [
                json.dumps(good[0]),
                '{"protocolSection": {"identificationModule": {}}}',
                '{"truncated": ',
                json.dumps(good[1]),
            ]
        )
        + "\n"
    )
    out = tmp_path / "out"
    summary = convert_paths([src], out, ConvertOptions(workers=2))
    assert (summary.converted, summary.failed) == (2, 2)
    assert summary.errors_file == out / "errors.jsonl"
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [(e["index"], e["stage"]) for e in errors] == [(2, "read"), (3, "read")]
    assert all(e["source"] == str(src) for e in errors)
    assert "nctId" in errors[0]["message"] and "invalid JSON" in errors[1]["message"]
    assert sorted(p.name for p in out.glob("NCT*.json")) == ["NCT91000000.json", "NCT91000001.json"]


def test_a_clean_rerun_removes_a_stale_errors_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "errors.jsonl").write_text("old\n")
    summary = convert_paths([REPO / "seeds"], out, ConvertOptions())
    assert summary.failed == 0 and not (out / "errors.jsonl").exists()


def test_zip_of_legacy_xml_and_folder_of_v1_pages() -> None:
    records = list(read_records([DATA / "bulk", DATA / "ctgov-v1"]))
    assert records and all(r.error is None for r in records), [r.error for r in records if r.error][:3]
    formats = {r.source.format for r in records}
    assert formats == {"ctgov-xml", "ctgov-v1"}
    assert any("!" in r.source.path for r in records)  # ZIP members are named archive!member


def test_units_stream_a_json_lines_file_without_reading_it_whole(tmp_path: Path) -> None:
    src = tmp_path / "big.ndjson"
    src.write_text("\n".join(json.dumps(s) for s in _studies(5)))
    units = iter_units([src])
    first = next(units)
    assert first.index == 1 and first.data is not None and first.data.startswith(b"{")
    assert sum(1 for _ in units) == 4


def test_stdin_json_lines(tmp_path: Path) -> None:
    payload = ("\n".join(json.dumps(s) for s in _studies(3)) + "\n").encode()
    result = CliRunner().invoke(app, ["convert", "-", "-o", str(tmp_path), "--workers", "1"], input=payload)
    assert result.exit_code == ExitCode.OK, result.output
    assert len(list(tmp_path.glob("NCT*.json"))) == 3


def test_stdin_single_document(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["convert", "-", "-o", str(tmp_path), "-j", "1"], input=V2[0].read_bytes())
    assert result.exit_code == ExitCode.OK, result.output
    assert (tmp_path / f"{V2[0].stem}.json").exists()


def test_cli_summary_quiet_and_errors_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.ndjson").write_text(json.dumps(_studies(1)[0]) + "\n{oops\n")
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == ExitCode.FAILED
    assert "ok " not in result.stdout  # --quiet: no per-trial lines
    assert "1 converted, 1 failed" in result.stdout and "errors.jsonl" in result.stdout
    assert "a.ndjson#2" in result.stderr


def test_every_xml_fixture_converts_without_validation_errors(tmp_path: Path) -> None:
    summary = convert_paths([DATA / "ctgov-xml", DATA / "ctgov-v1"], tmp_path, ConvertOptions(workers=2))
    assert summary.failed == 0 and summary.converted == len(XML) + 102


def test_a_bundle_that_fails_validation_is_listed_not_written(tmp_path: Path) -> None:
    study = _studies(1)[0]
    study["protocolSection"]["statusModule"]["startDateStruct"] = {"date": "2020-13-45"}  # no such date
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(study))
    result = CliRunner().invoke(app, ["convert", str(src), "-o", str(tmp_path / "out"), "-j", "1"])
    assert result.exit_code == ExitCode.FAILED
    assert "INVALID" in result.stderr and "NCT91000000" in result.stderr
    assert not (tmp_path / "out" / "NCT91000000.json").exists()
    (error,) = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()[:1]]
    assert error["stage"] == "validate" and error["nct_id"] == "NCT91000000"
