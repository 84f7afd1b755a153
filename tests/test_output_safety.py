"""Output names are ours, not the input's: nothing is ever written outside -o, no symlink in -o is followed, no input
is overwritten, and -o itself is checked (a file or an uncreatable folder is a usage error, exit 2)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import V2_FIXTURES
from fhir_adapter.cli import app
from fhir_adapter.errors import ExitCode, OutputError
from fhir_adapter.pipeline import ConvertOptions, Outcome, convert_paths
from fhir_adapter.sinks import output_stem
from fhir_adapter.sinks.files import MAX_STEM, UnusableId
from fhir_adapter.sources import Unit

HOSTILE_IDS = [
    "../../outside/x",
    "../outside.txt",
    "/etc/passwd",
    "NCT1/../NCT2",
    "A" * 300,
    "NCT0000\x000002",
    "NCT00000003\nok NCT99999999",
    "~root",
    "~/x",
    "trail/",
    "..",
    ".",
    ".hidden",
    "-rf",
    "a" * 64,
    "NCT00000005/",
    "C:\\x",
    "x\x1b[31m",
]
SAFE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def _study(nct: str) -> str:
    return json.dumps({"protocolSection": {"identificationModule": {"nctId": nct, "briefTitle": "t"}}})


def _snapshot(root: Path, skip: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry under root except the skipped folder: (kind, content or link target)."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for p in sorted(root.rglob("*")):
        if p == skip or skip in p.parents:
            continue
        if p.is_symlink():
            found[str(p)] = ("link", os.readlink(p))
        elif p.is_file():
            found[str(p)] = ("file", p.read_bytes())
        else:
            found[str(p)] = ("dir", "")
    return found


def _flat(text: str) -> str:
    """A message as one line, without the box typer draws around it."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _as_outcome(unit: Unit, options: ConvertOptions) -> list[Outcome]:
    """A converter that hands the writer whatever id the line holds (no reader in between: the writer's own
    defence is what is tested)."""
    record_id = json.loads(unit.data or b"{}")["protocolSection"]["identificationModule"]["nctId"]
    return [Outcome(unit.path, unit.index, record_id, True, payload=b'{"resourceType": "Bundle"}\n', resources=1)]


def test_output_stem_keeps_nct_ids_and_slugs_the_rest() -> None:
    assert output_stem("NCT01234567") == "NCT01234567"
    assert output_stem("ISRCTN12345678") == "ISRCTN12345678"
    stems = {}
    for record_id in HOSTILE_IDS:
        try:
            stem = output_stem(record_id)
        except UnusableId:
            assert re.search(r"[\x00-\x1f]", record_id) or len(record_id) > 256, record_id
            continue
        assert SAFE.fullmatch(stem) and len(stem) <= MAX_STEM, (record_id, stem)
        assert stem != record_id or record_id == "a" * 64, record_id
        stems[record_id] = stem
    assert len(set(stems.values())) == len(stems)  # different ids, different names
    assert output_stem("a/b") != output_stem("a_b") and output_stem("a/b") != output_stem("a:b")
    hashed = output_stem("a/b")
    assert output_stem(hashed) != hashed  # an id that looks like a hashed name is hashed too: no collision
    with pytest.raises(UnusableId):
        output_stem("")
    with pytest.raises(UnusableId):
        output_stem("NCT\x0000000001")


@pytest.mark.parametrize("workers", [1, 2])
def test_hostile_ids_never_write_outside_the_output_folder(tmp_path: Path, workers: int) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside.txt").write_text("keep\n")
    (tmp_path / "outside" / "x").write_text("keep too\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "NCT00000001.json").symlink_to(tmp_path / "outside.txt")  # planted before the run
    (out / "errors.jsonl").symlink_to(tmp_path / "outside" / "x")  # a "stale errors file" that is a symlink
    good = ["NCT00000001", "NCT00000002", "NCT00000004"]
    src = tmp_path / "in.ndjson"
    src.write_text("\n".join(_study(i) for i in [good[0], *HOSTILE_IDS[:9], good[1], *HOSTILE_IDS[9:], good[2]]))
    before = _snapshot(tmp_path, out)
    for convert in (None, _as_outcome):  # through the real readers, then straight to the writer
        kwargs = {"convert": convert} if convert else {}
        summary = convert_paths([src], out, ConvertOptions(workers=workers), **kwargs)  # type: ignore[arg-type]
        assert summary.converted >= len(good) and summary.records == len(good) + len(HOSTILE_IDS)
        assert _snapshot(tmp_path, out) == before
        assert all(p.parent == out for p in out.rglob("*"))
        for name in good:
            assert (out / f"{name}.json").is_file() and not (out / f"{name}.json").is_symlink()
        assert not list(out.glob(".*"))  # no temporary file left behind
        assert all(SAFE.fullmatch(p.name) for p in out.iterdir())
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert {e["stage"] for e in errors} == {"write"}  # the direct run: control characters are refused by the writer
    assert {e["index"] for e in errors} == {6, 7, 8, 20}  # over 256 characters, or control characters
    assert len(list(out.glob("*.json"))) == len(good) + len(HOSTILE_IDS) - 4  # every other id got its own file
    assert (out / f"{output_stem('/etc/passwd')}.json").is_file()


def test_the_writer_reports_an_unusable_id_and_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    src.write_text("\n".join(_study(i) for i in ["NCT00000001", "bad\nid", "", "NCT00000002"]))
    seen: list[tuple[bool, str]] = []
    summary = convert_paths(
        [src], tmp_path / "out", ConvertOptions(), lambda o, t: seen.append((o.ok, o.stage)), convert=_as_outcome
    )
    assert (summary.converted, summary.failed) == (2, 2)
    assert seen == [(True, ""), (False, "write"), (False, "write"), (True, "")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "NCT00000001.json",
        "NCT00000002.json",
        "errors.jsonl",
    ]


def test_an_input_in_the_output_folder_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    raw = out / V2_FIXTURES[0].name  # raw v2 study named <NCT>.json: its bundle would have the same name
    shutil.copy(V2_FIXTURES[0], raw)
    original = raw.read_bytes()
    lines: list[str] = []
    summary = convert_paths([raw], out, ConvertOptions(), lambda o, t: lines.append(o.messages[0] if not o.ok else ""))
    assert (summary.converted, summary.failed) == (0, 1)
    assert raw.read_bytes() == original
    assert "refusing to overwrite" in lines[0] and "input" in lines[0]
    summary = convert_paths([out], out, ConvertOptions(workers=2))  # the folder itself as the input
    assert summary.failed == 1 and raw.read_bytes() == original


def test_a_later_input_in_the_output_folder_is_not_clobbered_before_it_is_read(tmp_path: Path) -> None:
    nct = V2_FIXTURES[0].stem
    first = tmp_path / "a.json"
    shutil.copy(V2_FIXTURES[0], first)
    out = tmp_path / "out"
    out.mkdir()
    later = out / f"{nct}.json"
    shutil.copy(V2_FIXTURES[0], later)
    original = later.read_bytes()
    summary = convert_paths([first, later], out, ConvertOptions())
    assert later.read_bytes() == original
    assert summary.failed == 2  # both would replace the input file out/<NCT>.json


def test_ndjson_files_replace_a_planted_symlink_instead_of_following_it(tmp_path: Path) -> None:
    target = tmp_path / "victim.ndjson"
    target.write_text("keep\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ResearchStudy.ndjson").symlink_to(target)
    src = tmp_path / "in.ndjson"
    src.write_text("\n".join(_study(f"NCT0000000{i}") for i in range(1, 4)))
    summary = convert_paths([src], out, ConvertOptions(ndjson=True))
    assert summary.converted == 3 and target.read_text() == "keep\n"
    assert not (out / "ResearchStudy.ndjson").is_symlink()
    assert len((out / "ResearchStudy.ndjson").read_text().splitlines()) == 3


def test_output_folder_that_is_a_file_is_refused_by_the_library(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        convert_paths([tmp_path], tmp_path / "file", ConvertOptions())
    with pytest.raises(OutputError):
        convert_paths([tmp_path], tmp_path / "file" / "sub", ConvertOptions())


@pytest.mark.parametrize(
    "command", [["convert", "IN"], ["fetch", "NCT00000001"], ["pull", "--server", "http://127.0.0.1:9/fhir"]]
)
@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_output_that_is_a_file_is_a_usage_error(tmp_path: Path, command: list[str], where: str) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "in.json").write_text(_study("NCT00000001"))
    args = [str(tmp_path / "in.json") if a == "IN" else a for a in command]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path / where)])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "is a file" in _flat(result.stderr) and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_under_a_folder_without_write_permission_is_a_usage_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    (tmp_path / "in.json").write_text(_study("NCT00000001"))
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in.json"), "-o", str(locked / "out")])
    assert result.exit_code == ExitCode.USAGE and "not writable" in _flat(result.stderr)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where nobody can create folders")
def test_output_that_cannot_be_created_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text(_study("NCT00000001"))
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "in.json"), "-o", "/proc/fhir-adapter-test/out"])
    assert result.exit_code == ExitCode.USAGE and "cannot create the output folder" in _flat(result.stderr)


def test_a_folder_where_a_bundle_goes_fails_that_record_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "NCT00000001.json").mkdir(parents=True)
    src = tmp_path / "in.ndjson"
    src.write_text("\n".join(_study(i) for i in ["NCT00000001", "NCT00000002"]))
    failures: list[str] = []
    summary = convert_paths([src], out, ConvertOptions(), lambda o, t: failures.extend([] if o.ok else o.messages))
    assert (summary.converted, summary.failed) == (1, 1)
    assert "not a regular file" in failures[0] and (out / "NCT00000002.json").is_file()
    assert (out / "NCT00000001.json").is_dir()


def test_no_sink_imports_the_readers_or_the_pipeline() -> None:
    """The sinks write what the pipeline hands them: none reads input or drives the pipeline (issue 13, item 2)."""
    import ast

    sinks = Path(__file__).resolve().parents[1] / "src" / "fhir_adapter" / "sinks"
    forbidden = ("fhir_adapter.sources", "fhir_adapter.pipeline", "fhir_adapter.delivery")
    found = []
    for module in sorted(sinks.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]  # from fhir_adapter import x
            found += [f"{module.relative_to(sinks)}: {n}" for n in names if n.startswith(forbidden)]
    assert len(list(sinks.rglob("*.py"))) >= 6 and not found, found


def test_the_error_log_works_on_its_own(tmp_path: Path) -> None:
    """``sinks.ErrorLog`` is what ``push -o DIR`` writes ``errors.jsonl`` with: one line per message, in place once
    closed (never half a file)."""
    from fhir_adapter.sinks import ErrorLog, OutputFolder

    folder = OutputFolder(tmp_path)
    log = ErrorLog(folder)
    assert not log.written
    log.add(Outcome("in.json", 2, "NCT00000001", False, "validate", ["first", "second"]))
    assert log.written and not (tmp_path / "errors.jsonl").exists()
    log.close()
    folder.close()
    lines = [json.loads(line) for line in (tmp_path / "errors.jsonl").read_text().splitlines()]
    where = {"source": "in.json", "index": 2, "nct_id": "NCT00000001", "stage": "validate"}
    assert lines == [where | {"message": "first"}, where | {"message": "second"}]
