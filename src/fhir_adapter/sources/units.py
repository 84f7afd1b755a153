"""Cutting inputs into units (``iter_units``): files, folders, ZIP archives, JSON lines, standard input and FIFOs.

A unit is a small piece of raw input: a file, a ZIP member, a line of a JSON-lines stream, one study of a
multi-study JSON document. Every input is untrusted, so cutting is bounded by ``fhir_adapter.limits.Limits``:

- a file, ZIP member or stream document is read whole only when it is at most ``max_record_bytes`` (regular files
  are checked by size before they are opened); JSON lines are read in fixed-size chunks, so a line over the limit is
  reported with its number and skipped to its end without being held; lines end at ``\\n``, ``\\r\\n`` or ``\\r``;
- ZIP members are inflated while streaming (declared sizes are not trusted) and stopped at ``max_member_bytes``, at
  ``max_zip_ratio`` times their compressed size (past the first MB), and when the archive's members together pass
  ``max_archive_bytes`` (the members left are reported as not read);
- JSON is refused deeper than ``max_json_depth`` before it is parsed;
- a UTF-8 byte-order mark is accepted at the start of a file, a line, standard input or a ZIP member.

Nothing is skipped silently: every input, ZIP member (hidden names and names like ``../x`` included: they are only
labels, nothing is extracted) and JSON line either gives units to read or a unit with an ``error``. The one
documented exception is the folder rule of ``input_files``: hidden files and files with other suffixes are not
picked from folders.
"""

from __future__ import annotations

import lzma
import os
import select
import stat
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fhir_adapter.errors import LimitExceeded, SourceError
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.sources import lines
from fhir_adapter.sources.guards import check_json_depth, deep_items, json_depth, over, size_text
from fhir_adapter.sources.zip_directory import StreamedZip

# Files picked up when a folder is given; a file named explicitly is read whatever its name.
FOLDER_SUFFIXES = frozenset({".json", ".txt", ".xml", ".zip", ".ndjson", ".jsonl"})
LINE_SUFFIXES = frozenset({".ndjson", ".jsonl"})
STDIN = "-"


@dataclass(slots=True)
class Unit:
    """A piece of raw input: ``data`` bytes to detect and read, or an already parsed JSON ``study`` of a known
    ``format`` (cut out of a multi-study document), or an ``error`` met while cutting."""

    path: str
    index: int | None = None
    data: bytes | None = None
    study: Any = None
    format: str | None = None
    error: SourceError | None = None


# ------------------------------------------------------------------------------------------------ inputs


def input_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, plus the regular files of folders (recursively, sorted). Folder rule: hidden files and
    folders (names beginning with '.') and files whose suffix is not one of ``FOLDER_SUFFIXES`` are not picked;
    ``iter_units`` reports the other entries it does not read (FIFOs, devices, links leading out of the folder)."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from (f for f, problem in _folder_entries(p) if problem is None)
        else:
            yield p


def _folder_entries(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """``(file, None)`` for each file of a folder to read, ``(entry, why)`` for one that is reported instead."""
    root = folder.resolve()
    for f in _walk(folder):
        if f.suffix.lower() not in FOLDER_SUFFIXES:
            continue
        try:
            if f.is_symlink():
                target = f.resolve(strict=True)
                if not target.is_relative_to(root):
                    yield f, "symbolic link to a file outside the folder, skipped"
                    continue
            mode = f.stat().st_mode
        except (OSError, RuntimeError):  # a broken link or a link loop
            yield f, "broken symbolic link, skipped"
            continue
        if stat.S_ISDIR(mode):
            continue
        yield (f, None) if stat.S_ISREG(mode) else (f, "not a regular file (FIFO, socket or device), skipped")


def _walk(folder: Path) -> Iterator[Path]:
    """The entries under a folder that are not folders themselves, hidden ones (and all under hidden folders) left
    out, in the order of ``sorted(folder.rglob("*"))``: depth first, each folder's entries sorted by name, a folder's
    entries where its name sorts. Only the names of the folders being walked are held, never the whole tree's paths
    (100,000 files: about 30 MB as ``Path`` objects). Links to folders are given (and reported), not followed; an
    unreadable folder gives nothing, as with ``rglob``."""
    try:
        with os.scandir(folder) as entries:
            named = sorted((e.name, _is_real_dir(e)) for e in entries if not e.name.startswith("."))
    except PermissionError:
        return
    # Held while the folder is walked: its names as one string (a name never holds NUL), not a list of them
    # (100,000 names: 2 MB instead of 13).
    names, folders = "\0".join(name for name, _ in named), {name for name, is_dir in named if is_dir}
    start = 0 if named else len(names) + 1
    del named
    while start <= len(names):
        end = names.find("\0", start)
        end = len(names) if end < 0 else end
        name, start = names[start:end], end + 1
        yield from _walk(folder / name) if name in folders else (folder / name,)


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir() and not entry.is_symlink()
    except OSError:
        return False


def iter_units(paths: Iterable[str | Path], limits: Limits = DEFAULT_LIMITS) -> Iterator[Unit]:
    """The units of every input, in input order (see the module docstring)."""
    for item in paths:
        if str(item) == STDIN:
            yield from _guarded(_stream_units(sys.stdin.buffer.read, STDIN, limits), STDIN)
            continue
        path = Path(item)
        if path.is_dir():
            for f, problem in _folder_entries(path):
                if problem is not None:
                    yield Unit(str(f), error=SourceError(problem, path=str(f)))
                else:
                    yield from _guarded(_file_units(f, limits), str(f))
        else:
            yield from _guarded(_explicit_units(path, limits), str(path))


def _guarded(units: Iterator[Unit], name: str) -> Iterator[Unit]:
    """The units of one input; a read error ends that input with one error unit (the units before it stand)."""
    try:
        yield from units
    except TimeoutError as e:
        yield Unit(name, error=SourceError(str(e) or "no data arrived in time", path=name))
    except OSError as e:
        yield Unit(name, error=SourceError(f"cannot read file: {e.strerror or e}", path=name))


def _explicit_units(path: Path, limits: Limits) -> Iterator[Unit]:
    """A path named on the command line: a regular file, or a FIFO (read like standard input, with a bounded wait
    for data); anything else is reported."""
    mode = path.stat().st_mode  # OSError (missing file, no permission) is reported by _guarded
    if stat.S_ISFIFO(mode):
        yield from _fifo_units(path, limits)
    elif not stat.S_ISREG(mode):
        yield Unit(str(path), error=SourceError("not a regular file (socket or device), skipped", path=str(path)))
    else:
        yield from _file_units(path, limits)


def _file_units(f: Path, limits: Limits) -> Iterator[Unit]:
    name = str(f)
    suffix = f.suffix.lower()
    if suffix == ".zip":
        yield from _zip_units(f, limits)
    elif suffix in LINE_SUFFIXES:
        with f.open("rb") as stream:
            yield from line_units(stream.read, name, limits)
    else:
        size = f.stat().st_size
        if size <= limits.max_record_bytes:
            yield from split(f.read_bytes(), name, limits)
        else:
            with f.open("rb") as stream:
                yield from _stream_units(stream.read, name, limits, size)


def _fifo_units(path: Path, limits: Limits) -> Iterator[Unit]:
    """A FIFO, opened without blocking: each read waits at most ``limits.fifo_wait_seconds`` for data."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    wait = limits.fifo_wait_seconds

    def read(n: int) -> bytes:
        while True:
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise TimeoutError(f"FIFO: no data within {wait:g} s (--fifo-wait), the rest is not read")
            try:
                return os.read(fd, n)
            except BlockingIOError:  # woken without data; wait again
                continue

    try:
        yield from _stream_units(read, str(path), limits)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------ ZIP archives

# Compression methods read. bzip2 is not: zipfile inflates each 4 KB of it at once, and 4 KB of bzip2 can hold
# gigabytes, so its inflation cannot be bounded while streaming.
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_LZMA: "LZMA"}
# The ratio limit applies past the first MB (small members of repetitive text compress far better than large ones).
_RATIO_FLOOR = 1 << 20
# Read size per method: deflate inflates at most what is asked; LZMA inflates a whole 4 KB read (zipfile's minimum).
_READ = {zipfile.ZIP_STORED: lines.CHUNK, zipfile.ZIP_DEFLATED: lines.CHUNK, zipfile.ZIP_LZMA: 4096}


@dataclass(slots=True)
class _Archive:
    """What the members of one archive have inflated to together, and the cap on it: ``max_archive_bytes``, or
    ``max_zip_ratio`` times the archive's size on disk when that is less (a bomb spread over many small members,
    each under the per-member ratio floor, is stopped too)."""

    total: int
    cap: int
    cap_name: str

    @classmethod
    def of(cls, path: Path, limits: Limits) -> _Archive:
        by_ratio = max(_RATIO_FLOOR, limits.max_zip_ratio * path.stat().st_size)
        if by_ratio < limits.max_archive_bytes:
            return cls(0, by_ratio, "max_zip_ratio")
        return cls(0, limits.max_archive_bytes, "max_archive_bytes")

    def over(self, limits: Limits, before: str = "") -> str:
        if self.cap_name == "max_zip_ratio":
            return over(
                "archive inflation ratio",
                f"more than {limits.max_zip_ratio}:1{before}",
                "max_zip_ratio",
                limits.max_zip_ratio,
            )
        return over(
            "archive inflated size", f"more than {size_text(self.cap)}{before}", "max_archive_bytes", self.cap, "bytes"
        )


class _Inflated:
    """A member's inflated bytes, counted as they come against the member, ratio and archive limits."""

    def __init__(self, stream: Any, info: zipfile.ZipInfo, name: str, limits: Limits, archive: _Archive):
        self.stream, self.info, self.name, self.limits = stream, info, name, limits
        self.total = 0
        self.archive = archive  # shared by the members of one archive
        self.size = _READ[info.compress_type]

    def read(self, _n: int) -> bytes:
        chunk: bytes = self.stream.read(self.size)
        if not chunk and self.total != self.info.file_size:  # zipfile checks the CRC, not the declared size
            raise zipfile.BadZipFile("declared size differs")
        self.total += len(chunk)
        self.archive.total += len(chunk)
        limits = self.limits
        if self.total > limits.max_member_bytes:
            raise self._over(
                over(
                    "ZIP member inflated size",
                    f"more than {size_text(limits.max_member_bytes)}",
                    "max_member_bytes",
                    limits.max_member_bytes,
                    "bytes",
                )
            )
        if self.total > _RATIO_FLOOR and self.total > limits.max_zip_ratio * max(self.info.compress_size, 1):
            ratio = self.total // max(self.info.compress_size, 1)
            raise self._over(
                over("ZIP member inflation ratio", f"more than {ratio}:1", "max_zip_ratio", limits.max_zip_ratio)
            )
        if self.archive.total > self.archive.cap:
            raise self._over(self.archive.over(limits))
        return chunk

    def _over(self, message: str) -> LimitExceeded:
        return LimitExceeded(message + "; member not read on", path=self.name)


def _zip_units(path: Path, limits: Limits) -> Iterator[Unit]:
    """Every member of an archive that is not a folder gives units or an error unit; one member's error does not
    stop the others (an archive over its inflation cap reports the members left as not read)."""
    try:
        archive = StreamedZip(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        yield Unit(str(path), error=SourceError(f"not a readable ZIP archive: {e}", path=str(path)))
        return
    state = _Archive.of(path, limits)
    with archive:
        for info in archive.members():
            if info.is_dir():
                continue
            name = f"{path}!{info.filename}"
            if state.total > state.cap:
                error = LimitExceeded(state.over(limits, " before this member") + "; member not read", path=name)
                yield Unit(name, error=error)
                continue
            yield from _member_units(archive, info, name, limits, state)


def _member_units(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits, state: _Archive
) -> Iterator[Unit]:
    if info.flag_bits & 0x1:
        yield Unit(name, error=SourceError("encrypted ZIP member, not read", path=name))
        return
    if info.compress_type not in _METHODS:
        yield Unit(
            name,
            error=SourceError(
                f"ZIP compression method {info.compress_type} is not supported (stored, "
                "deflate and LZMA are), member not read",
                path=name,
            ),
        )
        return
    try:
        with archive.open(info) as stream:
            read = _Inflated(stream, info, name, limits, state).read
            if Path(info.filename).suffix.lower() in LINE_SUFFIXES:
                yield from line_units(read, name, limits)
                return
            data, more = lines.read_upto(read, limits.max_record_bytes)
            if more:  # JSON lines under another suffix are streamed; another document is too big
                yield from _stream_units(lines.chain(data, read), name, limits)
            else:
                yield from split(data, name, limits)
    except LimitExceeded as e:
        yield Unit(name, error=e)
    except (
        zipfile.BadZipFile,
        zlib.error,
        lzma.LZMAError,
        EOFError,
        OSError,
        RuntimeError,
        NotImplementedError,
        ValueError,
    ) as e:
        yield Unit(name, error=SourceError(f"corrupt ZIP member, not read on ({_zip_problem(e)})", path=name))


def _zip_problem(e: Exception) -> str:
    """What went wrong with a member, without its name (which can be anything)."""
    text = str(e)
    if "declared size" in text:
        return "its declared size is not what it inflates to"
    if "CRC" in text:
        return "bad CRC-32: the data is damaged"
    if isinstance(e, zlib.error | lzma.LZMAError):
        return "the compressed data is damaged"
    if isinstance(e, EOFError):
        return "the compressed data ends early"
    if "magic number" in text or "header" in text.lower():
        return "bad local file header"
    return type(e).__name__


# ------------------------------------------------------------------------------------------------ streams


def _stream_units(read: lines.Read, name: str, limits: Limits, known_size: int | None = None) -> Iterator[Unit]:
    """A stream (standard input, a FIFO, a ZIP member, a file over the record limit): JSON lines are streamed line
    by line; anything else is one document, read whole when it is within ``max_record_bytes``."""
    head = lines.strip_bom(lines.read_head(read, limits.max_record_bytes))
    first, *rest = lines.first_lines(head, limits.max_record_bytes) or [b""]
    second = rest[0] if rest else b""
    if _is_json_object_line(first) and (second is None or not second.strip() or _is_json_object_line(second)):
        yield from line_units(lines.chain(head, read), name, limits)
        return
    if known_size is not None and known_size > limits.max_record_bytes:
        yield Unit(name, error=_too_big(name, f"{size_text(known_size)}", limits))
        return
    data, more = lines.read_upto(read, limits.max_record_bytes, head)
    if more:
        yield Unit(name, error=_too_big(name, f"more than {size_text(limits.max_record_bytes)}", limits))
        return
    yield from split(data, name, limits)


def _too_big(name: str, amount: str, limits: Limits) -> LimitExceeded:
    return LimitExceeded(over("record size", amount, "max_record_bytes", limits.max_record_bytes, "bytes"), path=name)


def line_units(read: lines.Read, name: str, limits: Limits) -> Iterator[Unit]:
    """One unit per non-blank line of a JSON-lines stream, read in bounded chunks (memory stays flat); a line over
    ``max_record_bytes`` is an error unit with its line number."""
    for number, line, length in lines.iter_lines(read, limits.max_record_bytes):
        if line is None:
            error = LimitExceeded(
                over(f"line {number}", size_text(length), "max_record_bytes", limits.max_record_bytes, "bytes"),
                path=name,
                index=number,
            )
            yield Unit(name, index=number, error=error)
            continue
        line = lines.strip_bom(line)
        if line.strip():
            yield Unit(name, index=number, data=line)


def _is_json_object_line(line: bytes | None) -> bool:
    if line is None or not line.strip().startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


# ------------------------------------------------------------------------------------------------ documents


def split(data: bytes, name: str, limits: Limits = DEFAULT_LIMITS, index: int | None = None) -> Iterator[Unit]:
    """A whole document: multi-study JSON is cut into one unit per study; everything else is one unit. JSON deeper
    than ``max_json_depth`` is an error unit (checked before parsing, so nothing deeper is ever parsed or sent to a
    worker)."""
    data = lines.strip_bom(data)
    if data.lstrip()[:1] not in (b"{", b"["):
        yield Unit(name, index=index, data=data)
        return
    deep: dict[int, LimitExceeded] = {}
    too_deep: LimitExceeded | None = None
    try:
        check_json_depth(data, limits.max_json_depth, name, index)
    except LimitExceeded as e:
        too_deep = e
        items = deep_items(data, limits.max_json_depth)
        if items is not None:
            data, deep = _without_deep_items(data, items, name, limits)
        if items is None or json_depth(data) > limits.max_json_depth:  # the depth is not only in some studies
            yield from _lines_of(data, name, limits) if _looks_like_lines(data) else [Unit(name, index, error=e)]
            return
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        if _looks_like_lines(data):  # JSON lines in a file without the .ndjson suffix
            yield from _lines_of(data, name, limits)
        else:
            yield Unit(name, index=index, data=data)  # read_unit reports the JSON error with its position
        return
    fmt, studies = _studies_of(doc, name)
    if fmt is None:  # (a document too deep is refused whole unless it is a list of studies)
        yield Unit(name, index=index, error=too_deep) if too_deep else Unit(name, index=index, data=data)
        return
    try:
        for i, study in studies:
            error = deep.get(i) if i is not None else None
            yield Unit(name, index=i, error=error) if error else Unit(name, index=i, study=study, format=fmt)
    except SourceError as e:  # a page whose list of studies is no list
        yield Unit(name, index=index, error=e)


def _looks_like_lines(data: bytes) -> bool:
    return b"\n{" in data or b"\r{" in data


def _lines_of(data: bytes, name: str, limits: Limits) -> Iterator[Unit]:
    pending = [data]
    return line_units(lambda _n: pending.pop() if pending else b"", name, limits)


def _without_deep_items(
    data: bytes, items: list[tuple[int, int, int, int]], name: str, limits: Limits
) -> tuple[bytes, dict[int, LimitExceeded]]:
    """The document with each study too deep replaced by ``null`` (so that the others are read), and the error of
    each replaced study by its index."""
    parts, deep, last = [], {}, 0
    for start, end, i, depth in items:
        parts += [data[last:start], b"null"]
        last = end
        deep[i] = LimitExceeded(
            over("JSON nesting", f"{depth} levels deep", "max_json_depth", limits.max_json_depth), path=name, index=i
        )
    parts.append(data[last:])
    return b"".join(parts), deep


def _studies_of(doc: Any, name: str) -> tuple[str | None, Iterator[tuple[int | None, Any]]]:
    """The name of the JSON format that recognises a parsed document, and its studies (None and none if no format
    does: see ``detect.FORMATS``)."""
    from fhir_adapter.sources import detect  # the readers load when a JSON document is first cut, not at import

    fmt = detect.study_format(doc)
    if fmt is None or fmt.studies is None:
        return None, iter(())
    return fmt.name, fmt.studies(doc, name)


__all__ = ["FOLDER_SUFFIXES", "LINE_SUFFIXES", "STDIN", "Unit", "input_files", "iter_units", "line_units", "split"]
