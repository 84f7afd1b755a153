"""Safe output files: names we choose (never the input's), created inside ``-o`` only, atomically, without
following a symlink and without overwriting an input.

Every file goes through ``OutputFolder``: the folder is opened once and every call is relative to that descriptor
(``dir_fd``), so a name can only ever be an entry of that folder. A file is written to a fresh temporary entry
(``O_CREAT | O_EXCL | O_NOFOLLOW``: a planted symlink or an existing file makes the open fail instead of being
followed) and then renamed over the target with ``os.replace``, which replaces a symlink at the target instead of
writing through it. A target that is one of the run's input files is refused, so converting ``out/`` into
``-o out`` never clobbers what it reads.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from fhir_adapter.errors import OutputError

NCT_ID = re.compile(r"NCT[0-9]{8}")
# One character outside the safe set; a single class, so substitution is linear.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# C0 and C1 control characters (NUL, newline, ESC ...): an id holding one is refused, never slugged.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_STEM = 64  # characters of a file name before ".json"
MAX_ID = 256  # longer ids are refused: no registry id is anywhere near that long
_HASH_CHARS = 10
_HASH_MARK = "-h"  # stem + "-h" + 10 hex digits marks a name derived from a changed id


class UnusableId(ValueError):
    """A record id that cannot name an output file (empty, control characters, absurdly long)."""


def output_stem(record_id: str | None) -> str:
    """The file name stem for a record id: a valid NCT id as it is; any other id as a slug of ``[A-Za-z0-9._-]``,
    without a leading dot or dash, at most ``MAX_STEM`` characters, with ``-h`` and a hash of the id appended
    whenever anything was changed (so two different ids never share a name). Raises ``UnusableId``."""
    if not record_id:
        raise UnusableId("the record has no id to name its output file")
    if NCT_ID.fullmatch(record_id):
        return record_id
    if _CONTROL.search(record_id):
        raise UnusableId("the record id holds control characters")
    if len(record_id) > MAX_ID:
        raise UnusableId(f"the record id is {len(record_id)} characters long (at most {MAX_ID})")
    slug = _UNSAFE.sub("_", record_id).lstrip(".-")
    if slug == record_id and len(slug) <= MAX_STEM and not _looks_hashed(slug):
        return slug
    import hashlib  # only for an id that is no plain file name (issue 14: start-up)

    digest = hashlib.sha256(record_id.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    keep = MAX_STEM - len(_HASH_MARK) - _HASH_CHARS
    return f"{slug[:keep] or 'id'}{_HASH_MARK}{digest}"


def _looks_hashed(stem: str) -> bool:
    """Whether an unchanged id ends like a hashed name (it is hashed too, so the two kinds never meet)."""
    tail = stem[-(len(_HASH_MARK) + _HASH_CHARS) :]
    return (
        len(tail) == len(_HASH_MARK) + _HASH_CHARS
        and tail.startswith(_HASH_MARK)
        and all(c in "0123456789abcdef" for c in tail[len(_HASH_MARK) :])
    )


def display_id(record_id: str | None) -> str:
    """An id as it may be printed: control characters escaped, at most 80 characters."""
    if record_id is None:
        return ""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", record_id)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _check_name(name: str) -> None:
    """A name we write must be one plain entry of the folder (defence in depth: every caller builds safe names)."""
    if (
        not name
        or name.startswith(".")
        or "/" in name
        or "\x00" in name
        or os.sep in name
        or os.path.normpath(name) != name
    ):
        raise OutputError(f"refusing to write {name!r}: not a plain file name")


class OutputFolder:
    """The ``-o`` folder, opened once; every file in it is created, replaced and removed through here."""

    def __init__(self, path: Path, protected: Iterable[tuple[int, int]] = ()) -> None:
        self.path = prepare_folder(path)
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise OutputError(f"{path}: cannot open the output folder: {e.strerror or e}") from None
        st = os.fstat(self.fd)
        self.identity = (st.st_dev, st.st_ino)
        self.protected = set(protected)  # (st_dev, st_ino) of input files that must not be replaced

    def close(self) -> None:
        os.close(self.fd)

    def remove(self, name: str) -> None:
        """Remove an entry if it is there (a symlink is removed itself, never its target)."""
        _check_name(name)
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise OutputError(f"{self.path / name}: cannot remove: {e.strerror or e}") from None

    def open_temp(self, name: str) -> tuple[str, IO[bytes]]:
        """A new, empty temporary file next to ``name`` (created exclusively, never through a symlink)."""
        _check_name(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        for _ in range(100):
            temp = f".{name[:80]}.{os.urandom(6).hex()}.tmp"  # secrets.token_hex(6), without importing secrets
            try:
                fd = os.open(temp, flags, 0o666, dir_fd=self.fd)  # the umask applies, as for any new file
            except FileExistsError:
                continue
            return temp, os.fdopen(fd, "wb")
        raise OutputError(f"{self.path}: cannot create a temporary file for {name}")

    def check_target(self, name: str, source: str | None = None) -> None:
        """Raise ``OutputError`` if replacing ``name`` would clobber an input (the record's own source included)."""
        _check_name(name)
        try:
            st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(st.st_mode):
            if stat.S_ISLNK(st.st_mode):
                return  # os.replace swaps the link itself; what it points to is never touched
            raise OutputError(f"{self.path / name} exists and is not a regular file")
        key = (st.st_dev, st.st_ino)
        if key in self.protected or (source is not None and file_identity(source) == key):
            raise OutputError(f"refusing to overwrite {self.path / name}: it is an input of this run")

    def commit(self, temp: str, name: str, source: str | None = None) -> None:
        """Atomically move a finished temporary file onto ``name`` (removed again on failure)."""
        try:
            self.check_target(name, source)
            os.replace(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except (OSError, OutputError) as e:
            self.discard(temp)
            if isinstance(e, OutputError):
                raise
            raise OutputError(f"cannot write {self.path / name}: {e.strerror or e}") from None

    def discard(self, temp: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=self.fd)

    def write_file(self, name: str, data: bytes, source: str | None = None) -> Path:
        """Write ``data`` as ``name`` (temporary file, then atomic rename); returns the path written."""
        self.check_target(name, source)  # fail before writing megabytes
        temp, f = self.open_temp(name)
        try:
            with f:
                f.write(data)
        except OSError as e:
            self.discard(temp)
            raise OutputError(f"cannot write {self.path / name}: {e.strerror or e}") from None
        self.commit(temp, name, source)
        return self.path / name


class LineFile:
    """A file of ``folder`` written piece by piece (NDJSON, ``errors.jsonl``) under a temporary name, and renamed into
    place when closed: a reader never sees half a file, and a planted symlink is replaced, never followed."""

    def __init__(self, folder: OutputFolder, name: str) -> None:
        self.folder, self.name = folder, name
        folder.check_target(name)
        self.temp, self.file = folder.open_temp(name)

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def drop(self, ranges: list[tuple[int, int]]) -> None:
        """Rewrite what was written so far without the byte ranges ``[start, end)`` given (not overlapping), still
        under a temporary name: a second pass over the file in bounded chunks, nothing held in memory."""
        self.file.flush()
        temp, f = self.folder.open_temp(self.name)
        try:
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(self.temp, flags, dir_fd=self.folder.fd), "rb") as old:
                position = 0
                for start, end in [*sorted(ranges), (-1, -1)]:
                    _copy(old, f, position, start)
                    position = end
        except OSError as e:
            f.close()
            self.folder.discard(temp)
            raise OutputError(f"cannot write {self.folder.path / self.name}: {e.strerror or e}") from None
        self.file.close()
        self.folder.discard(self.temp)
        self.temp, self.file = temp, f

    def close(self) -> None:
        try:
            self.file.close()
        except OSError as e:
            self.folder.discard(self.temp)
            raise OutputError(f"cannot write {self.folder.path / self.name}: {e.strerror or e}") from None
        self.folder.commit(self.temp, self.name)


def _copy(source: IO[bytes], target: IO[bytes], start: int, end: int, chunk: int = 1 << 20) -> None:
    """Copy ``source[start:end]`` (``end`` -1: to its end) into ``target``, a chunk at a time."""
    source.seek(start)
    left = end - start if end >= 0 else -1
    while left != 0:
        data = source.read(chunk if left < 0 else min(chunk, left))
        if not data:
            return
        target.write(data)
        left = left - len(data) if left > 0 else left


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of an input path as read (symlinks followed); None for stdin, ZIP members, vanished files."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def prepare_folder(path: Path) -> Path:
    """Create the output folder if needed and return its resolved path; ``OutputError`` names what is wrong."""
    check_folder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{path}: cannot create the output folder: {e.strerror or e}") from None
    if not path.is_dir():
        raise OutputError(f"{path}: not a folder")
    return path.resolve()


def check_folder(path: Path) -> None:
    """Raise ``OutputError`` if ``path`` cannot be an output folder (without creating anything)."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file, not a folder (-o takes the folder to write into)")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputError(f"{path}: the output folder is not writable")
        return
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: cannot create the output folder: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot create the output folder: {parent} is not writable")


__all__ = [
    "MAX_STEM",
    "NCT_ID",
    "LineFile",
    "OutputFolder",
    "UnusableId",
    "check_folder",
    "display_id",
    "file_identity",
    "output_stem",
    "prepare_folder",
]
