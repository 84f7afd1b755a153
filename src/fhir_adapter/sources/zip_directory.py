"""A ZIP archive read member by member without holding its central directory: ``StreamedZip``.

``zipfile.ZipFile`` reads the whole central directory into one ``ZipInfo`` per member when it opens an archive; for
the registry's bulk download (hundreds of thousands of members) that is tens of MB held for the whole run. This
subclass reads the directory entry by entry as the members are read (``fhir_adapter.sources.units`` cuts ZIP
archives with it). Everything else (opening, inflating, CRC checks) is ``zipfile``'s own.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from typing import Any

# A central directory entry's fixed part, as zipfile reads it (APPNOTE.TXT 4.3.12,
# https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT); and where zipfile's end record keeps what we need.
_CD_ENTRY = struct.Struct(zipfile.structCentralDir)  # type: ignore[attr-defined]
_ECD_SIZE, _ECD_OFFSET, _ECD_COMMENT, _ECD_LOCATION = 5, 6, 8, 9
_ZIP64_END_BYTES = 56 + 20  # the zip64 end record and its locator, between the directory and the end record


class StreamedZip(zipfile.ZipFile):
    """A ZIP archive whose central directory is read entry by entry while the members are read (``members``), in
    the directory's order as ``infolist`` gives it, instead of holding a ``ZipInfo`` per member for the whole run
    (100,000 members: about 55 MB). Opening it checks the whole directory once, without keeping it, so that a
    damaged directory is refused before any member is read, as ``zipfile.ZipFile`` does."""

    directory: tuple[int, int] = (0, 0)  # (offset, size) of the central directory
    concat: int = 0  # bytes before the archive (a ZIP appended to another file)

    def _RealGetContents(self) -> None:  # zipfile.ZipFile.__init__ calls it to read the directory
        end = zipfile._EndRecData(self.fp) if self.fp is not None else None  # type: ignore[attr-defined]
        if not end:
            raise zipfile.BadZipFile("File is not a zip file")
        size, offset = end[_ECD_SIZE], end[_ECD_OFFSET]
        self._comment = end[_ECD_COMMENT]
        self.concat = end[_ECD_LOCATION] - size - offset - (_ZIP64_END_BYTES if end[0] == b"PK\x06\x06" else 0)
        if offset + self.concat < 0:
            raise zipfile.BadZipFile("Bad offset for central directory")
        self.directory = (offset + self.concat, size)
        for _ in self.members():
            pass

    def members(self) -> Iterator[zipfile.ZipInfo]:
        """The directory's entries, read from the archive one at a time (as ``zipfile``'s ``_RealGetContents``)."""
        start, size = self.directory
        with open(str(self.filename), "rb") as f:  # its own handle: reading a member moves ``self.fp``
            f.seek(start)

            def read(n: int) -> bytes:  # never past the directory, as zipfile reads it from a copy of it
                return f.read(min(n, max(start + size - f.tell(), 0)))

            total = 0
            while total < size:
                fixed = read(_CD_ENTRY.size)
                if len(fixed) != _CD_ENTRY.size:
                    raise zipfile.BadZipFile("Truncated central directory")
                entry = _CD_ENTRY.unpack(fixed)
                if entry[0] != b"PK\x01\x02":
                    raise zipfile.BadZipFile("Bad magic number for central directory")
                name, extra, comment = (read(n) for n in entry[12:15])
                total += _CD_ENTRY.size + sum(entry[12:15])
                yield self._info(entry, name, extra, comment)

    def _info(self, entry: tuple[Any, ...], name: bytes, extra: bytes, comment: bytes) -> zipfile.ZipInfo:
        """The ``ZipInfo`` of one directory entry, exactly as ``zipfile`` builds it."""
        encoding = getattr(self, "metadata_encoding", None) or "cp437"  # (Python 3.11: not in typeshed)
        x = zipfile.ZipInfo(name.decode("utf-8" if entry[5] & 0x800 else encoding))
        x.extra, x.comment, x.header_offset = extra, comment, entry[18]
        x.create_version, x.create_system, x.extract_version, x.reserved = entry[1:5]
        x.flag_bits, x.compress_type, t, d, x.CRC, x.compress_size, x.file_size = entry[5:12]
        if x.extract_version > zipfile.MAX_EXTRACT_VERSION:
            raise NotImplementedError(f"zip file version {x.extract_version / 10:.1f}")
        x.volume, x.internal_attr, x.external_attr = entry[15:18]
        x._raw_time = t  # type: ignore[attr-defined]
        x.date_time = ((d >> 9) + 1980, (d >> 5) & 0xF, d & 0x1F, t >> 11, (t >> 5) & 0x3F, (t & 0x1F) * 2)
        x._decodeExtra()  # type: ignore[attr-defined]  # zip64 sizes and offsets
        x.header_offset += self.concat
        return x


__all__ = ["StreamedZip"]
