"""``convert -o -``: every record that converted as one compact Bundle line on standard output, in input order; every
other line on stderr; nothing on disk; a closed pipe ends the run quietly."""

from __future__ import annotations

import ast
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import DATA, REPO
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode
from fhir_adapter.pipeline import ConvertOptions, Outcome, convert_paths, record_sink
from fhir_adapter.pipeline.pool import iter_pool
from fhir_adapter.sinks import BundleStream
from fhir_adapter.sinks.stdout import ResourceStream, bundle_line
from fhir_adapter.sources import Unit
from fhir_adapter.validate import has_errors, validate

runner = CliRunner()
INPUTS = [REPO / "seeds", DATA / "ctgov-v2"]


def run(*args: str | Path, stdin: bytes | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def _study(nct_id: str) -> dict[str, Any]:
    """A v2 study (the first fixture, results removed) with the given NCT id."""
    study = json.loads(sorted((DATA / "ctgov-v2").glob("*.json"))[0].read_text())
    study.pop("resultsSection", None)
    study["protocolSection"]["identificationModule"]["nctId"] = nct_id
    return dict(study)


def _ok_targets(text: str) -> list[str]:
    """The targets of the ``ok <id> -> <target> (...)`` lines, in order."""
    return [line.split(" -> ")[1].split(" (")[0] for line in text.splitlines() if line.startswith("ok ")]


def test_each_stdout_line_is_the_bundle_the_file_output_holds_in_input_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = run("convert", *INPUTS, "-o", tmp_path / "out", "-j", "1")
    assert files.exit_code == ExitCode.OK, files.output
    written = [Path(target) for target in _ok_targets(files.stdout)]  # input order, as the files were written
    monkeypatch.chdir(tmp_path)
    result = run("convert", *INPUTS, "-o", "-", "-j", "1")
    assert result.exit_code == ExitCode.OK, result.output
    lines = result.stdout.splitlines(keepends=True)
    assert len(lines) == len(written) == 2 + len(list((DATA / "ctgov-v2").glob("*.json")))
    for line, path in zip(lines, written, strict=True):
        assert line.endswith("}\n") and line.count("\n") == 1  # one compact line per bundle
        bundle = json.loads(line)
        assert bundle == json.loads(path.read_text())
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
        assert not has_errors(validate(bundle))
    # every other line on stderr: one ok line per record and the summary; nothing on disk
    assert _ok_targets(result.stderr) == ["stdout"] * len(written)
    assert f"{len(written)} converted, 0 failed" in result.stderr.splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_order_does_not_depend_on_workers(tmp_path: Path) -> None:
    studies = [_study(f"NCT{92000000 + i:08d}") for i in range(12)]
    src = tmp_path / "many.ndjson"
    src.write_text("".join(json.dumps(s) + "\n" for s in studies))
    one, two = (run("convert", src, "-o", "-", "-q", "-j", j) for j in ("1", "2"))
    assert one.exit_code == two.exit_code == ExitCode.OK, one.output + two.output
    assert one.stdout == two.stdout
    ids = [json.loads(line)["entry"][0]["resource"]["identifier"][0]["value"] for line in one.stdout.splitlines()]
    assert ids == [f"NCT{92000000 + i:08d}" for i in range(12)]


def test_a_bad_record_in_a_batch_costs_only_that_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invalid = _study("NCT92100002")
    invalid["protocolSection"]["statusModule"]["startDateStruct"] = {"date": "2020-13-45"}  # no such date
    src = tmp_path / "mixed.ndjson"
    src.write_text(
        "\n".join(
            [
                json.dumps(_study("NCT92100000")),
                '{"truncated": ',
                json.dumps(invalid),
                json.dumps(_study("NCT92100003")),
            ]
        )
        + "\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run("convert", src, "-o", "-", "-j", "2")
    assert result.exit_code == ExitCode.FAILED
    bundles = [json.loads(line) for line in result.stdout.splitlines()]
    assert [b["entry"][0]["resource"]["identifier"][0]["value"] for b in bundles] == ["NCT92100000", "NCT92100003"]
    assert all(not has_errors(validate(b)) for b in bundles)
    assert "FAILED" in result.stderr and "invalid JSON" in result.stderr
    assert "INVALID" in result.stderr and "NCT92100002" in result.stderr
    summary = result.stderr.splitlines()[-1]
    assert summary.startswith("2 converted, 2 failed") and "errors.jsonl" in summary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.ndjson"]  # no errors.jsonl without a folder


def test_quiet_leaves_only_failures_and_the_summary_on_stderr(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_text(json.dumps(_study("NCT92200000")) + "\n")
    result = run("convert", src, "-o", "-", "-q")
    assert result.exit_code == ExitCode.OK, result.output
    assert len(result.stdout.splitlines()) == 1
    (summary,) = result.stderr.splitlines()
    assert summary.startswith("1 converted, 0 failed, ")


def test_standard_input_to_standard_output() -> None:
    stdin = (json.dumps(_study("NCT92300000")) + "\n").encode()
    result = run("convert", "-", "-o", "-", "-q", "-j", "1", stdin=stdin)
    assert result.exit_code == ExitCode.OK, result.output
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["resourceType"] == "Bundle"


def test_ndjson_to_standard_output_is_the_resources_one_a_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--ndjson -o -``: every resource of every record, one compact line each, the same lines as the
    ``<ResourceType>.ndjson`` files hold (in the record's order instead of per type); nothing else on stdout."""
    files = run("convert", *INPUTS, "-o", tmp_path / "out", "--ndjson", "-j", "1")
    assert files.exit_code == ExitCode.OK, files.output
    on_disk = sorted(line for f in (tmp_path / "out").glob("*.ndjson") for line in f.read_text().splitlines())
    monkeypatch.chdir(tmp_path)
    result = run("convert", *INPUTS, "-o", "-", "--ndjson", "-j", "2")
    assert result.exit_code == ExitCode.OK, result.output
    lines = result.stdout.splitlines()
    assert sorted(lines) == on_disk and len(lines) > len(_ok_targets(result.stderr))
    resources = [json.loads(line) for line in lines]
    assert all(r["resourceType"] != "Bundle" and r["id"] for r in resources)
    assert resources[0]["resourceType"] == "ResearchStudy"  # each record's lines in its bundle's order
    assert _ok_targets(result.stderr) == ["stdout"] * len(_ok_targets(files.stdout))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("ndjson", [[], ["--ndjson"]])
def test_a_repeated_trial_on_standard_output_is_written_again_with_a_warning_that_the_later_wins(
    tmp_path: Path, ndjson: list[str]
) -> None:
    src = tmp_path / "twice.ndjson"
    src.write_text("".join(json.dumps(_study(n)) + "\n" for n in ("NCT92400000", "NCT92400001", "NCT92400000")))
    result = run("convert", src, "-o", "-", "-q", *ndjson)
    assert result.exit_code == ExitCode.OK, result.output
    (warning,) = [line for line in result.stderr.splitlines() if "seen before" in line]
    assert "NCT92400000" in warning and "the later record wins" in warning and "keep the later lines" in warning
    once = run("convert", src, "-o", "-", "-q", "-j", "1", *ndjson).stdout.splitlines()
    assert len(once) % 3 == 0 and once[: len(once) // 3] == once[2 * len(once) // 3 :]  # both written, in order


def test_help_says_there_is_no_errors_file_on_standard_output() -> None:
    result = run("convert", "--help")
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "Or - for standard output" in text and "no errors.jsonl" in text
    assert "convert seeds/ -o - | jq" in result.stdout  # the examples keep their lines


def test_convert_paths_on_a_stream_writes_lines_and_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stream = io.BytesIO()
    seen: list[tuple[str | None, str | None]] = []
    summary = convert_paths(
        [REPO / "seeds"], stream, ConvertOptions(indent=False), lambda o, target: seen.append((o.nct_id, target))
    )
    assert (summary.converted, summary.failed, summary.errors_file) == (2, 0, None)
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["entry"][0]["resource"]["identifier"][0]["value"] for line in lines] == [
        nct for nct, _ in seen
    ]
    assert {target for _, target in seen} == {"stdout"}
    assert list(tmp_path.iterdir()) == []


def test_a_pretty_payload_is_compacted_to_one_line() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"text": "a\nb"}}]}
    line = bundle_line(json.dumps(bundle, indent=2).encode() + b"\n")
    assert line.count(b"\n") == 1 and line.endswith(b"\n") and json.loads(line) == bundle
    assert bundle_line(b'{"a":1}\n') == b'{"a":1}\n'


def test_the_library_chooses_the_stream_sink_by_the_options() -> None:
    assert isinstance(record_sink(io.BytesIO(), ConvertOptions(ndjson=True)), ResourceStream)
    assert type(record_sink(io.BytesIO(), ConvertOptions())) is BundleStream


class _ClosedAfterOne(io.BytesIO):
    """A stream whose reader goes away after the first line."""

    def write(self, data: Any) -> int:
        if self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(data)


def test_a_closed_stream_ends_the_run_it_is_no_record_failure() -> None:
    seen: list[Outcome] = []
    with pytest.raises(BrokenPipeError):
        convert_paths([DATA / "ctgov-v2"], _ClosedAfterOne(), ConvertOptions(workers=2), lambda o, _: seen.append(o))
    assert len(seen) == 1 and seen[0].ok  # the second record was not reported as failed, the run stopped


def test_a_closed_pipe_ends_quietly_in_a_real_process() -> None:
    """``fhir-adapter convert ... -o - | head -1``: the reader leaves after one line (56 records, about 4 MB of
    bundles: far more than a pipe buffer holds), the command stops without a traceback, exit 1 (typer's code for a
    closed pipe) and no worker left behind."""
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fhir_adapter", "convert", str(DATA / "ctgov-xml"), "-o", "-", "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # what head does after its line
    try:
        _, err_bytes = process.communicate(timeout=120)  # bounded: a hang fails this test, never the whole run
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("convert did not end within 120 s after its reader closed the pipe")
    stderr = err_bytes.decode()
    assert process.returncode == 1, stderr
    assert json.loads(first)["resourceType"] == "Bundle"
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "internal error" not in stderr
    assert "converted" not in stderr  # no summary: the run did not finish


def _large_result(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    """A result far larger than a pipe buffer, so that a worker spends its time sending it."""
    return [Outcome(unit.path, None, "NCT00000001", True, payload=b"x" * (8 << 20))]


def test_stopping_the_workers_while_one_sends_a_large_result_does_not_hang() -> None:
    """The cause of the closed-pipe test's rare hang: the reader leaves, the pool is stopped (workers killed) while
    a worker is in the middle of sending a result; the executor's manager thread, reading it, waited for the rest
    forever, and the shutdown with it (``pool._kill`` now closes this process's end of the result pipe)."""
    outcomes = iter_pool(iter([Unit(f"u{i}", data=b"{}") for i in range(64)]), ConvertOptions(workers=2), _large_result)
    assert next(outcomes).ok
    closer = threading.Thread(target=outcomes.close, daemon=True)
    closer.start()
    closer.join(60)
    assert not closer.is_alive(), "stopping the pool hung"


def test_a_closed_pipe_through_the_shell(tmp_path: Path) -> None:
    """The same as a user types it: ``fhir-adapter convert DIR -o - | head -1``."""
    errors = tmp_path / "stderr.txt"
    command = (
        f"'{sys.executable}' -m fhir_adapter convert '{DATA / 'ctgov-xml'}' -o - 2>'{errors}' | head -1; "
        'echo "exit ${PIPESTATUS[0]}" >&2'
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=300, check=False)
    (line,) = done.stdout.decode().splitlines()
    assert json.loads(line)["resourceType"] == "Bundle"
    assert done.stderr.decode().strip() == "exit 1"
    assert "Traceback" not in errors.read_text() and "Exception ignored" not in errors.read_text()


@pytest.mark.parametrize("ndjson", [[], ["--ndjson"]])
def test_each_line_of_a_real_pipe_parses(ndjson: list[str]) -> None:
    """``fhir-adapter convert seeds/ -o - | python -c ...``: the reader parses every line of the pipe as a Bundle
    (with --ndjson: as a resource with an id), and sees nothing else."""
    check = (
        "import json, sys\n"
        "items = [json.loads(line) for line in sys.stdin]\n"
        "assert items and all(isinstance(i, dict) and i.get('resourceType') for i in items)\n"
        "print(len(items), sorted({i['resourceType'] for i in items}) == ['Bundle'])\n"
    )
    command = (
        f"'{sys.executable}' -m fhir_adapter convert '{REPO / 'seeds'}' -o - {' '.join(ndjson)} "
        f'| \'{sys.executable}\' -c "$CHECK"; echo "exit ${{PIPESTATUS[0]}} ${{PIPESTATUS[1]}}" >&2'
    )
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, timeout=300, check=False, env={**os.environ, "CHECK": check}
    )
    count, all_bundles = done.stdout.decode().split()
    assert done.stderr.decode().splitlines()[-1] == "exit 0 0", done.stderr.decode()
    if ndjson:
        assert all_bundles == "False" and int(count) > 2
    else:
        assert all_bundles == "True" and int(count) == len(list((REPO / "seeds").iterdir()))
    assert "Traceback" not in done.stderr.decode()


def test_validate_reads_standard_input_a_document_or_ndjson() -> None:
    bundle = run("convert", REPO / "seeds", "-o", "-", "-q", "-j", "1").stdout.splitlines()[0]
    one = run("validate", "-", stdin=json.dumps(json.loads(bundle), indent=2).encode())  # one document, many lines
    assert one.exit_code == ExitCode.OK, one.output
    assert one.stdout.splitlines() == ["ok -: 0 error(s), 0 other issue(s)", "1 valid, 0 invalid"]
    resources = run("convert", REPO / "seeds", "-o", "-", "-q", "--ndjson").stdout
    broken = resources + '{"resourceType": "ResearchStudy"}\n'  # no status: invalid
    lines = run("validate", "-", stdin=broken.encode())
    assert lines.exit_code == ExitCode.FAILED
    count = len(resources.splitlines())
    assert lines.stdout.splitlines()[-1] == f"{count} valid, 1 invalid"
    assert f"INVALID -:{count + 1}: " in lines.stdout


def test_a_real_pipe_into_validate() -> None:
    """``fhir-adapter convert seeds/ -o - --ndjson | fhir-adapter validate -``"""
    cli = f"'{sys.executable}' -m fhir_adapter"
    done = subprocess.run(
        ["bash", "-c", f"{cli} convert '{REPO / 'seeds'}' -o - --ndjson -q | {cli} validate -"],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines()[-1].endswith(" valid, 0 invalid")


def test_the_stdout_sink_imports_no_reader_pipeline_or_delivery() -> None:
    tree = ast.parse((REPO / "src" / "fhir_adapter" / "sinks" / "stdout.py").read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    forbidden = ("fhir_adapter.sources", "fhir_adapter.pipeline", "fhir_adapter.delivery")
    assert not [m for m in imported if m.startswith(forbidden)]
