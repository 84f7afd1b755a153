"""Bounded reading of untrusted byte streams: lines cut in fixed-size chunks, whole documents read up to a limit.

Nothing here holds more than one line (or one document) under the per-record limit plus one chunk: an over-long
line is read in chunks and discarded up to its end, and reported with its line number and length.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator

Read = Callable[[int], bytes]

CHUNK = 1 << 16
BOM = codecs.BOM_UTF8
# A line ends at \n, \r\n or a lone \r.
_EOLS = re.compile(rb"[\r\n]+")


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark (legal at the start of UTF-8 JSON, XML and text)."""
    return data[len(BOM) :] if data.startswith(BOM) else data


class _Ends:
    """Where the next line end is in a buffer: memchr-speed ``find`` for \\n and \\r, each remembered until it is
    passed (a buffer of many \\n lines and no \\r is not searched again for \\r at every line)."""

    def __init__(self, buf: bytearray) -> None:
        self.buf = buf
        self.lf = self.cr = -2  # -2: unknown; -1: none in the buffer past the last search

    def reset(self) -> None:
        self.lf = self.cr = -2

    def next(self, start: int) -> int:
        if self.lf == -2 or 0 <= self.lf < start:
            self.lf = self.buf.find(b"\n", start)
        if self.cr == -2 or 0 <= self.cr < start:
            self.cr = self.buf.find(b"\r", start)
        found = [i for i in (self.lf, self.cr) if i >= 0]
        return min(found) if found else -1


def iter_lines(read: Read, max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """``(line number, line, length)`` for every non-empty line of a stream, line ends removed (empty lines are
    counted, not given: a run of line ends is passed at once). ``line`` is None for a line longer than
    ``max_bytes`` (its ``length`` is still counted, its bytes are not kept)."""
    buf = bytearray()
    ends = _Ends(buf)
    pos = scan = number = dropped = 0  # start of the current line, where to look for its end, lines ended
    too_long = eof = skip_lf = False
    while True:
        end = ends.next(scan)
        if end < 0:
            if eof:
                length = dropped + len(buf) - pos
                if pos < len(buf) or too_long:
                    yield number + 1, None if too_long or length > max_bytes else bytes(buf[pos:]), length
                return
            del buf[:pos]
            pos = 0
            if too_long or len(buf) > max_bytes:  # keep counting, stop keeping
                too_long, dropped = True, dropped + len(buf)
                buf.clear()
            scan = len(buf)
            chunk = read(CHUNK)
            if not chunk:
                eof = True
            elif skip_lf and chunk[:1] == b"\n":  # the \n of a \r\n split across two chunks
                chunk = chunk[1:]
            skip_lf = False
            buf += chunk
            ends.reset()
            continue
        length = dropped + end - pos
        if too_long or end > pos:
            yield number + 1, None if too_long or length > max_bytes else bytes(buf[pos:end]), length
        run = _EOLS.match(buf, end)
        assert run is not None
        number += (
            buf.count(b"\n", end, run.end()) + buf.count(b"\r", end, run.end()) - buf.count(b"\r\n", end, run.end())
        )
        too_long, dropped = False, 0
        pos = scan = run.end()
        skip_lf = pos == len(buf) and buf[-1] == 0x0D


def read_upto(read: Read, limit: int, head: bytes = b"") -> tuple[bytes, bool]:
    """The bytes of a stream (after ``head``, already read) and False, or, when it holds more than ``limit``,
    what was read and True (the rest is left unread, so a stream of any size costs at most ``limit`` plus one
    chunk)."""
    parts = [head]
    size = len(head)
    while size <= limit:
        chunk = read(CHUNK)
        if not chunk:
            return b"".join(parts), False
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts), True


def read_head(read: Read, limit: int, lines: int = 2) -> bytes:
    """The first bytes of a stream, enough to hold its first ``lines`` lines (or all of it, or ``limit`` + 1 bytes
    when a line is longer)."""
    parts: list[bytes] = []
    size = ends = 0
    while size <= limit:
        chunk = read(CHUNK)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
        ends += chunk.count(b"\n") + chunk.count(b"\r")
        if ends > lines:  # a line end is one or two characters: more than `lines` of them end `lines` lines
            break
    return b"".join(parts)


def chain(head: bytes, read: Read) -> Read:
    """A read function that gives ``head`` first, then the rest of the stream."""
    pending = [head] if head else []

    def chained(n: int) -> bytes:
        return pending.pop() if pending else read(n)

    return chained


def first_lines(head: bytes, max_bytes: int, count: int = 2) -> list[bytes | None]:
    """The first ``count`` lines of ``head`` (None for one over ``max_bytes``)."""
    out: list[bytes | None] = []
    pending = [head]
    for _number, line, _length in iter_lines(lambda _n: pending.pop() if pending else b"", max_bytes):
        out.append(line)
        if len(out) == count:
            break
    return out


__all__ = ["BOM", "CHUNK", "Read", "chain", "first_lines", "iter_lines", "read_head", "read_upto", "strip_bom"]
