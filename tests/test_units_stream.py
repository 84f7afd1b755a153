"""Folder and ZIP inputs are cut while streaming their member paths (issue 14, memory): the order and the members are
exactly those of ``sorted(folder.rglob("*"))`` and ``zipfile.ZipFile.infolist()``, which held every path at once."""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

import pytest

from fhir_adapter.sources.units import _folder_entries, _walk, iter_units
from fhir_adapter.sources.zip_directory import StreamedZip


def _tree(root: Path) -> None:
    """Names that sort differently as strings and as paths, hidden entries, links and nested folders."""
    for rel in ["b/c.json", "b.json", "b-c.json", "a/z/y.txt", "a/.hidden/x.json", ".h.json", "A.xml", "é.json"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}")
    (root / "empty").mkdir()
    (root / "dir.json").mkdir()
    (root / "link.json").symlink_to(root / "b.json")
    (root / "linkdir").symlink_to(root / "a")


def _old_order(folder: Path) -> list[Path]:
    """What ``_folder_entries`` walked before: every path of the tree, sorted, hidden ones and real folders left out."""
    return [
        f
        for f in sorted(folder.rglob("*"))
        if not any(p.startswith(".") for p in f.relative_to(folder).parts) and not (f.is_dir() and not f.is_symlink())
    ]


def test_walk_gives_the_order_of_sorted_rglob(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert list(_walk(tmp_path)) == _old_order(tmp_path)
    picked = [f.relative_to(tmp_path).as_posix() for f, problem in _folder_entries(tmp_path) if problem is None]
    assert picked == ["A.xml", "a/z/y.txt", "b/c.json", "b-c.json", "b.json", "link.json", "é.json"]


def test_walk_skips_an_unreadable_folder(tmp_path: Path) -> None:
    _tree(tmp_path)
    locked = tmp_path / "b"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who reads any folder")
        assert list(_walk(tmp_path)) == _old_order(tmp_path)
    finally:
        locked.chmod(0o755)


def _archive(path: Path) -> None:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as z:
        warnings.simplefilter("ignore")  # the repeated name is on purpose
        for name in ["z.json", "a/", "a/b.json", "é.json", "z.json", "c.xml"]:  # a folder and a repeated name
            z.writestr(name, b"{}" if not name.endswith("/") else b"")
        z.writestr(zipfile.ZipInfo("d.json"), b"{}", compress_type=zipfile.ZIP_DEFLATED)
        with z.open("e.json", "w", force_zip64=True) as member:  # zip64 sizes in its local header only
            member.write(b"{}")


def _fields(info: zipfile.ZipInfo) -> tuple[object, ...]:
    kept = [getattr(info, k) for k in info.__slots__ if k != "_end_offset" and hasattr(info, k)]
    return (*kept, info.filename, info.date_time)


@pytest.mark.parametrize("prefix", [b"", b"#!/bin/sh\nexit 0\n"])  # a ZIP appended to another file
def test_streamed_zip_gives_infolist(tmp_path: Path, prefix: bytes) -> None:
    path = tmp_path / "a.zip"
    _archive(path)
    path.write_bytes(prefix + path.read_bytes())
    with zipfile.ZipFile(path) as z, StreamedZip(path) as s:
        expected = z.infolist()
        got = list(s.members())
        assert [_fields(i) for i in got] == [_fields(i) for i in expected]
        assert [s.read(i) for i in got] == [z.read(i) for i in expected]


def test_units_of_a_zip_and_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    _archive(path)
    assert [u.path for u in iter_units([path])] == [
        f"{path}!{n}" for n in ["z.json", "a/b.json", "é.json", "z.json", "c.xml", "d.json", "e.json"]
    ]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: b.rindex(b"PK\x01\x02") + 20] + b[b.rindex(b"PK\x05\x06") :],  # directory cut short
        lambda b: b.replace(b"PK\x01\x02", b"PK\x01\x03", 1),  # bad magic number
        lambda b: b[:-22],  # no end record
    ],
)
def test_a_damaged_directory_is_refused_as_zipfile_refuses_it(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "a.zip"
    _archive(path)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(zipfile.BadZipFile) as expected:
        zipfile.ZipFile(path)
    with pytest.raises(zipfile.BadZipFile) as got:
        StreamedZip(path)
    assert str(got.value) == str(expected.value)
    units = list(iter_units([path]))
    assert len(units) == 1 and units[0].error is not None
    assert "not a readable ZIP archive" in units[0].error.describe()
