"""The hostile-input cases of issue 8, generated from the real records in ``tests/data`` and ``seeds``.

Each ``Case`` names the files to create in its sandbox (contents are made lazily, when the case runs), the inputs
given to ``fhir-adapter convert``, and what must become of each record (``Expect``):

* ``good``   legal input: ``OUT/<NCT>.json`` must exist, parse and be that trial's bundle;
* ``bad``    must be listed in ``OUT/errors.jsonl`` naming its source (and its record index where it has one);
* ``either`` converted or listed, never lost silently (wrong types, odd numbers, exotic but arguable encodings);
* ``any``    no requirement beyond the safety checks (a hidden ZIP member, a FIFO met inside a folder).

Every case is also checked for: no write outside ``-o``, no traceback, an allowed exit code, no hang (30 s), and
a process tree that stays under 1 GB (see ``runner.py``). Records are real ones with one field replaced, so that
everything but the hostile part is realistic. Good records get unique NCT ids ``NCT9xxxxxxx``.
"""

from __future__ import annotations

import codecs
import copy
import functools
import itertools
import json
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
MB = 1024 * 1024
GIB = 1024 * MB

# Names of the decoy targets that the runner creates around the sandboxed working folder (see runner.py):
# <root>/victim.json, <root>/d1/d2/d3/victim.json and <cwd>/victim.json (cwd = <root>/d1/d2/d3/work).
SECRET_FILE = "secret.txt"  # in <root>: what an XXE would try to read

# ------------------------------------------------------------------------------------------------ the model


@dataclass(frozen=True)
class Big:
    """A large input generated once per run (cached by ``key``) and hard-linked into each sandbox that uses it."""

    key: str
    build: Callable[[Path], None]


Content = bytes | Callable[[], bytes] | Big


@dataclass
class Expect:
    kind: str  # good | bad | either | any
    source: str = ""  # the source errors.jsonl must name (relative to the working folder); archive!member for ZIP
    index: int | None = None  # the record index errors.jsonl must give (None: not checked)
    nct: str | None = None  # good/either: the NCT id whose bundle must exist
    what: str = ""


@dataclass
class Case:
    name: str
    category: str
    files: dict[str, Content]
    inputs: list[str]
    expect: list[Expect]
    workers: int = 1
    exit_codes: tuple[int, ...] | None = None  # None: derived from the expectations
    stdin: Content | None = None
    setup: Callable[[Path, Path], None] | None = None  # (cwd, root) -> None, after the files are created
    markers: list[str] = field(default_factory=list)  # absolute path prefixes that must not exist afterwards
    secret: bool = False  # the secret file's token must not appear in any output, stdout or stderr
    quick: bool = False  # one of the quick subset run by a plain ``pytest``
    out: str = "out"
    timeout: float = 30.0

    def allowed_exit_codes(self) -> tuple[int, ...]:
        if self.exit_codes is not None:
            return self.exit_codes
        kinds = {e.kind for e in self.expect}
        if "bad" in kinds:
            return (1,)
        if kinds <= {"good"} and kinds:
            return (0,)
        return (0, 1)


_serial = itertools.count(1)


def new_nct() -> str:
    """A fresh NCT id for a good record (unique within one run of the generator)."""
    return f"NCT9{next(_serial):07d}"


def marker() -> str:
    """A unique absolute path under /tmp that no honest run ever creates."""
    return f"/tmp/fhir-adapter-hostile-{uuid.uuid4().hex}"


# ------------------------------------------------------------------------------------------------ real records


@functools.cache
def _v2_template() -> dict[str, Any]:
    doc = json.loads((DATA / "ctgov-v2" / "NCT00763412.json").read_bytes())
    doc.pop("resultsSection", None)
    return doc


@functools.cache
def _v1_template() -> dict[str, Any]:
    page = json.loads((DATA / "ctgov-v1" / "NCT00023673.json").read_bytes())["FullStudiesResponse"]
    study = page["FullStudies"][0]["Study"]
    study.pop("ResultsSection", None)
    return study


@functools.cache
def _v1_meta() -> dict[str, Any]:
    page = json.loads((DATA / "ctgov-v1" / "NCT00023673.json").read_bytes())["FullStudiesResponse"]
    return {k: v for k, v in page.items() if k != "FullStudies"}


XML_TEMPLATE = DATA / "ctgov-xml" / "NCT03133988.xml"
PAGE_TEMPLATE = REPO / "seeds" / "001_6fa90757b4c221a6.txt"


@functools.cache
def _xml_template() -> str:
    return XML_TEMPLATE.read_text(encoding="utf-8")


@functools.cache
def _page_template() -> str:
    return PAGE_TEMPLATE.read_text(encoding="utf-8")


def setp(doc: Any, path: str, value: Any) -> None:
    """Set a dotted path (creating dicts on the way)."""
    keys = path.split(".")
    for k in keys[:-1]:
        if not isinstance(doc.get(k), dict):
            doc[k] = {}
        doc = doc[k]
    doc[keys[-1]] = value


def v2(nct: Any, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(_v2_template())
    doc["protocolSection"]["identificationModule"]["nctId"] = nct
    for path, value in (changes or {}).items():
        setp(doc, path, value)
    return doc


def v1(nct: Any, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    study = copy.deepcopy(_v1_template())
    study["ProtocolSection"]["IdentificationModule"]["NCTId"] = nct
    for path, value in (changes or {}).items():
        setp(study, path, value)
    return study


def v1_page(studies: list[dict[str, Any]]) -> dict[str, Any]:
    meta = dict(_v1_meta(), NStudiesFound=len(studies), NStudiesReturned=len(studies), MaxRank=len(studies))
    full = [{"Rank": i + 1, "Study": s} for i, s in enumerate(studies)]
    return {"FullStudiesResponse": {**meta, "FullStudies": full}}


def dumps(doc: Any, raw: dict[str, bytes] | None = None, ascii_only: bool = True) -> bytes:
    """JSON bytes; each ``"<placeholder>"`` string in ``raw`` is replaced by raw JSON bytes (deep nesting,
    lone surrogates, numbers Python cannot write)."""
    data = json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8")
    for placeholder, value in (raw or {}).items():
        quoted = json.dumps(placeholder).encode()
        assert quoted in data, placeholder
        data = data.replace(quoted, value)
    return data


def v2b(nct: Any, changes: dict[str, Any] | None = None, raw: dict[str, bytes] | None = None) -> bytes:
    return dumps(v2(nct, changes), raw)


def v1b(nct: Any, changes: dict[str, Any] | None = None, raw: dict[str, bytes] | None = None) -> bytes:
    return dumps(v1_page([v1(nct, changes)]), raw)


def xml_text(
    nct: str,
    *,
    criteria: str | None = None,
    summary: str | None = None,
    before_eligibility: str = "",
    root_attrs: str = "",
    head: str = "",
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> str:
    text = _xml_template().replace("NCT03133988", nct)
    if criteria is not None:
        start = text.index("<criteria>")
        end = text.index("</criteria>")
        text = text[:start] + f"<criteria>\n      <textblock>{escape(criteria)}</textblock>\n    " + text[end:]
    if summary is not None:
        start = text.index("<brief_summary>")
        end = text.index("</brief_summary>")
        text = text[:start] + f"<brief_summary>\n    <textblock>{escape(summary)}</textblock>\n  " + text[end:]
    if before_eligibility:
        text = text.replace("<eligibility>", before_eligibility + "\n  <eligibility>", 1)
    text = text.replace('<?xml version="1.0" encoding="UTF-8"?>\n', prolog + head, 1)
    if root_attrs:
        text = text.replace("<clinical_study>", f"<clinical_study {root_attrs}>", 1)
    return text


def xmlb(nct: str, **kw: Any) -> bytes:
    return xml_text(nct, **kw).encode("utf-8")


def page_text(nct: str, *, eligibility: str | None = None, summary: str | None = None) -> str:
    text = _page_template().replace("NCT07586904", nct)
    lines = text.split("\n")
    if summary is not None:
        i = lines.index("Summary")
        j = lines.index("Eligibility")
        lines[i + 1 : j] = [summary]
    if eligibility is not None:
        i = lines.index("Eligibility")
        j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("Conditions") or "Conditions2" in lines[k])
        lines[i + 1 : j + 1] = [eligibility, "Conditions2"]
    return "\n".join(lines)


def pageb(nct: str, **kw: Any) -> bytes:
    return page_text(nct, **kw).encode("utf-8")


def ndjson(lines: list[bytes], end: bytes = b"\n") -> bytes:
    return end.join(lines) + end


# ------------------------------------------------------------------------------------------------ ZIP writer


@dataclass(frozen=True)
class ZMember:
    """One ZIP member as stored: the (compressed) payload and the header fields, which may lie."""

    name: str
    payload: bytes
    crc: int
    csize: int
    usize: int
    method: int = 8
    flags: int = 0


def zmember(name: str, data: bytes, *, method: int = 8, **lies: Any) -> ZMember:
    if method == 8:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = c.compress(data) + c.flush()
    else:
        payload = data
    fields = {"crc": zlib.crc32(data), "csize": len(payload), "usize": len(data), "method": method, "flags": 0}
    fields.update(lies)
    return ZMember(name, payload, **fields)


@functools.cache
def _bomb_stream(kind: str, size: int) -> tuple[bytes, int, int]:
    """(raw deflate payload, CRC-32, inflated size) of a bomb: ``size`` bytes of zeros, or of spaces after a
    complete v2 study (legal JSON, absurd size). Built from byte-aligned full-flush blocks repeated, so a GiB
    costs milliseconds."""
    chunk = (b"\0" if kind == "zeros" else b" ") * MB
    prefix = b"" if kind == "zeros" else v2b("NCT90000000")
    blocks = []
    crc = 0
    if prefix:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        blocks.append(c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH))
        crc = zlib.crc32(prefix, crc)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    count = size // MB
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    payload = b"".join(blocks) + block * count + b"\x03\x00"  # final empty fixed-Huffman block
    return payload, crc, len(prefix) + count * MB


def bomb(name: str, kind: str, size: int) -> ZMember:
    payload, crc, usize = _bomb_stream(kind, size)
    return ZMember(name, payload, crc, len(payload), usize)


def build_zip(members: list[ZMember]) -> bytes:
    """A ZIP archive written by hand, so that names, methods, flags, CRCs and sizes can be anything."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m.name.encode("utf-8")
        flags = m.flags | (0x800 if not m.name.isascii() else 0)
        offset = len(out)
        out += (
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                flags,
                m.method,
                0,
                0x21,
                m.crc & 0xFFFFFFFF,
                m.csize,
                m.usize,
                len(name),
                0,
            )
            + name
            + m.payload
        )
        central += (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                flags,
                m.method,
                0,
                0x21,
                m.crc & 0xFFFFFFFF,
                m.csize,
                m.usize,
                len(name),
                0,
                0,
                0,
                0,
                0o100644 << 16,
                offset,
            )
            + name
        )
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), cd_offset, 0)
    return bytes(out)


# ------------------------------------------------------------------------------------------------ helpers


def good(nct: str, source: str = "", index: int | None = None) -> Expect:
    return Expect("good", source, index, nct)


def bad(source: str, index: int | None = None, what: str = "") -> Expect:
    return Expect("bad", source, index, None, what)


def either(nct: str | None, source: str, index: int | None = None) -> Expect:
    return Expect("either", source, index, nct)


def lazy(fn: Callable[..., bytes], *args: Any, **kw: Any) -> Callable[[], bytes]:
    return functools.partial(fn, *args, **kw)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)[:60]


# ------------------------------------------------------------------------------------------------ 1. names


def _hostile_ids() -> list[tuple[str, str, list[str]]]:
    """(label, NCT id, absolute markers) for ids that would write outside -o or make odd names if used as is."""
    m1, m2, m3 = marker(), marker(), marker()
    return [
        ("dotdot-tmp", "../../tmp/x", []),
        ("dotdot-abs-tmp", "../" * 16 + m1.lstrip("/"), [m1]),
        ("absolute", m2, [m2]),
        ("nct-dotdot-nct", "NCT00000001/../NCT00000002", []),
        ("long-300", "NCT" + "0" * 297, []),
        ("nul", "NCT00000001\x00../../x", []),
        ("newline", "NCT00000001\nNCT00000002", []),
        ("tilde", "~", []),
        ("tilde-path", "~/" + m3.rsplit("/", 1)[1], []),
        ("trailing-slash", "NCT00000001/", []),
        ("dotdot", "..", []),
        ("dot", ".", []),
        ("backslash", "..\\..\\evil", []),
        ("victim-cwd", "../victim", []),
        ("victim-d3", "../../victim", []),
        ("victim-root", "../../../../../victim", []),
        ("json-dir", "NCT00000001.json/../../../victim", []),
    ]


def names_cases() -> Iterator[Case]:
    for label, hid, marks in _hostile_ids():
        g1, g2 = new_nct(), new_nct()
        yield Case(
            f"names-v2-{label}",
            "names",
            {"in/a.json": lazy(v2b, hid)},
            ["in/a.json"],
            [bad("in/a.json")],
            markers=marks,
            quick=label == "victim-cwd",
        )
        yield Case(
            f"names-v1-{label}",
            "names",
            {"in/a.json": lazy(v1b, hid)},
            ["in/a.json"],
            [bad("in/a.json")],
            markers=marks,
        )
        yield Case(
            f"names-xml-{label}",
            "names",
            {
                "in/a.xml": lambda hid=hid: (
                    xml_text("NCT03133988")
                    .replace("<nct_id>NCT03133988</nct_id>", f"<nct_id>{escape(hid.replace(chr(0), ''))}</nct_id>")
                    .encode()
                )
            },
            ["in/a.xml"],
            [bad("in/a.xml")],
            markers=marks,
        )
        yield Case(
            f"names-ndjson-{label}",
            "names",
            {"in.ndjson": lambda hid=hid, g1=g1, g2=g2: ndjson([v2b(g1), v2b(hid), v2b(g2)])},
            ["in.ndjson"],
            [good(g1), bad("in.ndjson", 2), good(g2)],
            markers=marks,
        )
        yield Case(
            f"names-zip-{label}",
            "names",
            {
                "in.zip": lambda hid=hid, g1=g1, g2=g2: build_zip(
                    [zmember("a.json", v2b(g1)), zmember("b.json", v2b(hid)), zmember("c.json", v2b(g2))]
                )
            },
            ["in.zip"],
            [good(g1), bad("in.zip!b.json"), good(g2)],
            markers=marks,
        )
        yield Case(
            f"names-list-w2-{label}",
            "names",
            {"in/list.json": lambda hid=hid, g1=g1, g2=g2: dumps([v2(g1), v2(hid), v2(g2)])},
            ["in/list.json"],
            [good(g1), bad("in/list.json", 1), good(g2)],
            workers=2,
            markers=marks,
        )
    # a record whose id is the relative path of its own input file (out/../in/x.json is the input)
    g = new_nct()
    yield Case(
        "names-own-input-path",
        "names",
        {"in/NCT99999999.json": lazy(v2b, "../in/NCT99999999"), "in/b.json": lazy(v2b, g)},
        ["in"],
        [bad("in/NCT99999999.json"), good(g)],
    )
    # symlinks already in the output folder, pointing outside it
    for label, target, kind in (
        ("to-victim", "../../victim.json", "good"),
        ("to-abs-marker", None, "good"),
        ("errors-to-victim", "../../victim.json", "bad"),
    ):
        g = new_nct()
        mk = marker()
        link_target = target or mk + ".json"

        def setup(cwd: Path, root: Path, g: str = g, link_target: str = link_target, kind: str = kind) -> None:
            (cwd / "out").mkdir()
            name = f"{g}.json" if kind == "good" else "errors.jsonl"
            (cwd / "out" / name).symlink_to(link_target)

        files: dict[str, Content] = {"in/a.json": lazy(v2b, g)}
        expect = [Expect("either", "in/a.json", None, g)]
        if kind == "bad":
            files["in/b.json"] = b'{"protocolSection": {"identificationModule": {}}}'
            expect.append(bad("in/b.json"))
        for workers in (1, 2):
            yield Case(
                f"names-symlink-{label}-w{workers}",
                "names",
                dict(files),
                ["in"],
                list(expect),
                workers=workers,
                setup=setup,
                markers=[mk],
                exit_codes=(0, 1),
            )


# ------------------------------------------------------------------------------------------------ 2. ZIP


def _zip_case(name: str, members: Callable[[], list[ZMember]], expect: list[Expect], **kw: Any) -> Case:
    return Case(name, "zip", {"in.zip": lambda: build_zip(members())}, ["in.zip"], expect, **kw)


def zip_cases() -> Iterator[Case]:
    # bombs: [good, bomb, good]; 300 MB and 1 GiB, zeros and "a study followed by spaces", under several names
    for kind in ("zeros", "spaces"):
        for size, size_label in ((300 * MB, "300m"), (GIB, "1g")):
            for suffix in (".json", ".ndjson", ".xml", ".txt"):
                g1, g2 = new_nct(), new_nct()
                member = f"bomb{suffix}"
                yield _zip_case(
                    f"zip-bomb-{kind}-{size_label}{suffix.replace('.', '-')}",
                    lambda g1=g1, g2=g2, member=member, kind=kind, size=size: [
                        zmember("a.json", v2b(g1)),
                        bomb(member, kind, size),
                        zmember("c.json", v2b(g2)),
                    ],
                    [good(g1), bad(f"in.zip!{member}"), good(g2)],
                    quick=(kind, size, suffix) == ("zeros", GIB, ".json"),
                )
    g1, g2 = new_nct(), new_nct()
    yield _zip_case(
        "zip-bomb-many-members-w2",
        lambda g1=g1, g2=g2: [
            zmember("a.json", v2b(g1)),
            *[bomb(f"bomb{i}.json", "zeros", 300 * MB) for i in range(12)],
            zmember("z.json", v2b(g2)),
        ],
        [good(g1), *[bad(f"in.zip!bomb{i}.json") for i in range(12)], good(g2)],
        workers=2,
    )
    # broken members between good ones, for each content format
    formats: dict[str, Callable[[str], bytes]] = {"json": v2b, "xml": xmlb, "ndjson": lambda n: v2b(n) + b"\n"}
    for fmt, make in formats.items():
        problems: dict[str, Callable[[str], ZMember]] = {
            "encrypted": lambda name, make=make: zmember(name, make("NCT00000001"), flags=1),
            "method-deflate64": lambda name, make=make: zmember(name, make("NCT00000001"), method=9),
            "method-aes": lambda name, make=make: zmember(name, make("NCT00000001"), method=99),
            "method-implode": lambda name, make=make: zmember(name, make("NCT00000001"), method=6),
            "bad-crc": lambda name, make=make: zmember(name, make("NCT00000001"), crc=0xDEADBEEF),
            "corrupt-deflate": lambda name, make=make: _corrupt(zmember(name, make("NCT00000001"))),
            "size-lie-small": lambda name, make=make: zmember(name, make("NCT00000001"), usize=100),
            "truncated-stream": lambda name, make=make: _truncate(zmember(name, make("NCT00000001"))),
            "nested-zip": lambda name, make=make: zmember(
                name, build_zip([zmember("inner.json", make("NCT00000001"))])
            ),
        }
        # a declared size far above the real one, the data and its CRC intact: the record may be read (declared
        # sizes are not trusted either way) or refused, never lost silently, and nothing may be allocated for it
        g1, g2 = new_nct(), new_nct()
        yield _zip_case(
            f"zip-size-lie-big-{fmt}",
            lambda g1=g1, g2=g2, make=make, fmt=fmt: [
                zmember(f"a.{'json' if make is not xmlb else 'xml'}", make(g1)),
                zmember(f"b.{fmt}", make("NCT00000001"), usize=2**31),
                zmember("c.json", v2b(g2)),
            ],
            [good(g1), either("NCT00000001", f"in.zip!b.{fmt}"), good(g2)],
        )
        for label, problem in problems.items():
            g1, g2 = new_nct(), new_nct()
            member = f"b.{fmt}"
            yield _zip_case(
                f"zip-{label}-{fmt}",
                lambda g1=g1, g2=g2, problem=problem, member=member, make=make: [
                    zmember(f"a.{'json' if make is not xmlb else 'xml'}", make(g1)),
                    problem(member),
                    zmember("c.json", v2b(g2)),
                ],
                [good(g1), bad(f"in.zip!{member}"), good(g2)],
            )
        # names that would escape an extraction folder: the record is fine, the name must not matter
        slips = {
            "slip-dotdot": "../../evil.{}",
            "slip-abs": "{marker}.{}",
            "slip-backslash": "..\\..\\evil.{}",
            "slip-mid": "a/../../evil.{}",
            "slip-dir": "sub/../../../x/evil.{}",
        }
        for label, pattern in slips.items():
            g, g1 = new_nct(), new_nct()
            mk = marker()
            member = pattern.replace("{marker}", mk).format(fmt)
            yield _zip_case(
                f"zip-{label}-{fmt}",
                lambda g=g, g1=g1, member=member, make=make: [zmember(member, make(g)), zmember("z.json", v2b(g1))],
                [either(g, f"in.zip!{member}"), good(g1)],
                markers=[mk],
            )
        for label, member in (
            ("dot-hidden", f".x.{fmt}"),
            ("dot-dots", f"..{fmt}"),
            ("dot-macosx", f"__MACOSX/._a.{fmt}"),
        ):
            g, g1 = new_nct(), new_nct()
            yield _zip_case(
                f"zip-{label}-{fmt}",
                lambda g=g, g1=g1, member=member, make=make: [zmember(member, make(g)), zmember("z.json", v2b(g1))],
                [Expect("any", nct=g), good(g1)],
            )
    # the archive itself
    g = new_nct()
    yield Case(
        "zip-truncated-archive",
        "zip",
        {"in.zip": lambda: build_zip([zmember("a.json", v2b("NCT00000001"))])[:-30], "ok.json": lazy(v2b, g)},
        ["in.zip", "ok.json"],
        [bad("in.zip"), good(g)],
    )
    yield Case("zip-not-a-zip", "zip", {"in.zip": lambda: v2b("NCT00000001")}, ["in.zip"], [bad("in.zip")])
    yield Case("zip-empty-archive", "zip", {"in.zip": lambda: build_zip([])}, ["in.zip"], [], exit_codes=(1, 3))
    yield Case("zip-zero-bytes", "zip", {"in.zip": b""}, ["in.zip"], [bad("in.zip")])
    g1, g2 = new_nct(), new_nct()
    yield _zip_case(
        "zip-dir-entries-and-empty-member",
        lambda g1=g1, g2=g2: [
            zmember("d/", b""),
            zmember("a.json", v2b(g1)),
            zmember("e.json", b""),
            zmember("d/c.json", v2b(g2)),
        ],
        [good(g1), bad("in.zip!e.json"), good(g2)],
    )
    g1, g2 = new_nct(), new_nct()
    yield _zip_case(
        "zip-duplicate-member-names",
        lambda g1=g1, g2=g2: [zmember("a.json", v2b(g1)), zmember("a.json", v2b(g2))],
        [good(g1), good(g2)],
    )
    g1 = new_nct()
    yield _zip_case(
        "zip-nul-in-member-name",
        lambda g1=g1: [zmember("a\x00../../evil.json", v2b("NCT00000001")), zmember("b.json", v2b(g1))],
        [Expect("any"), good(g1)],
    )


def _corrupt(m: ZMember) -> ZMember:
    payload = bytes([0xFF]) * 8 + m.payload[8:]
    return ZMember(m.name, payload, m.crc, len(payload), m.usize, m.method, m.flags)


def _truncate(m: ZMember) -> ZMember:
    payload = m.payload[: len(m.payload) // 2]
    return ZMember(m.name, payload, m.crc, len(payload), m.usize, m.method, m.flags)


# ------------------------------------------------------------------------------------------------ 3. regex


_FLAT = (
    "Patients aged 18 years or older with histologically confirmed disease, adequate organ function and an "
    "ECOG performance status of 0 to 1 who have not received prior systemic therapy for advanced disease; "
)


def _regex_texts() -> dict[str, Callable[[], str]]:
    return {
        "incl-spaces-100k": lambda: "Inclusion Criteria:" + " " * 100_000 + "\n* Adults",
        "incl-spaces-1m": lambda: "Inclusion Criteria:" + " " * 1_000_000,
        "excl-nbsp-300k": lambda: "Exclusion Criteria:" + "\u00a0" * 300_000 + "x",
        "key-incl-spaces-1m": lambda: "Key Inclusion Criteria:" + " " * 1_000_000 + "\n",
        "key-bare-500k": lambda: "Key" + " " * 500_000 + "Exclusion",
        "incl-mixed-ws-300k": lambda: "Inclusion Criteria:" + "\t \u00a0" * 100_000 + "\n",
        "qualifier-spaces-1m": lambda: "Exclusion criteria for cohort" + " " * 1_000_000 + "x",
        "qualifier-dash-nbsp-1m": lambda: "Inclusion criteria -" + "\u00a0" * 1_000_000 + ":x",
        "inline-numbers-1m": lambda: "1. a." + " 1. B." * (1_000_000 // 6),
        "one-word-lines-40k": lambda: "word\n" * 20_000 + "Word\n" * 20_000,
        "flat-20k": lambda: (_FLAT * (20_000 // len(_FLAT) + 1))[:20_000],
        "flat-1m": lambda: (_FLAT * (1_000_000 // len(_FLAT) + 1))[:1_000_000],
    }


def regex_cases() -> Iterator[Case]:
    fields: dict[str, tuple[str, Callable[[str, str], bytes]]] = {
        "v2-criteria": ("json", lambda n, t: v2b(n, {"protocolSection.eligibilityModule.eligibilityCriteria": t})),
        "v2-summary": ("json", lambda n, t: v2b(n, {"protocolSection.descriptionModule.briefSummary": t})),
        "v2-description": ("json", lambda n, t: v2b(n, {"protocolSection.descriptionModule.detailedDescription": t})),
        "v1-criteria": ("json", lambda n, t: v1b(n, {"ProtocolSection.EligibilityModule.EligibilityCriteria": t})),
        "xml-criteria": ("xml", lambda n, t: xmlb(n, criteria=t)),
        "xml-summary": ("xml", lambda n, t: xmlb(n, summary=t)),
        "page-eligibility": ("txt", lambda n, t: pageb(n, eligibility=t)),
        "page-summary": ("txt", lambda n, t: pageb(n, summary=t)),
    }
    criteria_only = ("qualifier-spaces-1m", "qualifier-dash-nbsp-1m", "inline-numbers-1m", "one-word-lines-40k")
    for fname, (ext, make) in fields.items():
        for tname, text in _regex_texts().items():
            if tname in criteria_only and "criteria" not in fname and "eligibility" not in fname:
                continue
            g = new_nct()
            # 166 k inline items or 40 k lines are over the list-item limit: converted or reported, in time
            over_limit = tname in ("inline-numbers-1m", "one-word-lines-40k")
            yield Case(
                f"regex-{fname}-{tname}",
                "regex",
                {f"in/a.{ext}": lambda make=make, g=g, text=text: make(g, text())},
                [f"in/a.{ext}"],
                [either(g, f"in/a.{ext}") if over_limit else good(g, f"in/a.{ext}")],
                quick=(fname, tname) == ("v2-criteria", "incl-spaces-100k"),
            )

    # text pages: the other labelled sections a page reader parses with patterns
    head = "Hostile Page Trial\nNCT ID: {nct}\n"
    pages: dict[str, Callable[[], str]] = {
        "label-lines-1m": lambda: "Recruitment Status\nRECRUITING\nleft over\n" * 333_333,
        "groups-1m-lines": lambda: (
            "Study Groups\nA\nGroup Type: EXPERIMENTAL\nDrug X\nIntervention Type: DRUG\n" + "shown\n" * 1_000_000
        ),
        "arms-200k": lambda: (
            "Study Groups\n"
            + "".join(f"A{i}\nGroup Type: EXPERIMENTAL\nDrug X\nIntervention Type: DRUG\n" for i in range(200_000))
        ),
        "summary-spaces": lambda: (
            "Brief Summary\nThe primary endpoint is" + " " * 1_000_000 + "x use" + "\u00a0" * 1_000_000 + "y\n"
        ),
        "objective-spaces": lambda: (
            "Summary\n1. Primary Objective to"
            + " " * 1_000_000
            + "Assessments include: A"
            + " " * 1_000_000
            + ";"
            + " b" * 500_000
            + "\n"
        ),
        "objectives-flat-1m": lambda: "Summary\nSecondary Objectives include: " + "Alpha beta " * 90_909 + "\n",
        "contacts-spaces": lambda: (
            "Central Contacts\nDr A\nRole: CONTACT\n1 ext" + " " * 1_000_000 + "x\n" + "a@" + "@." * 500_000 + " \n"
        ),
        "last-updated-spaces": lambda: "Last Updated" + " " * 1_000_000 + "\nNCT ID" + " " * 1_000_000 + "x\n",
        "endpoint-prose-136k": lambda: _endpoint_prose(136_000),
        "endpoint-prose-400k": lambda: _endpoint_prose(400_000),
    }
    for pname, body in pages.items():
        g = new_nct()
        yield Case(
            f"regex-page-{pname}",
            "regex",
            {"in/a.txt": lambda g=g, body=body: (head.format(nct=g) + body()).encode()},
            ["in/a.txt"],
            [either(g, "in/a.txt")],
        )


def _endpoint_prose(size: int) -> str:
    """A Detailed Description listing many endpoints in one paragraph without sentence breaks (each becomes an
    outcome: the output grows with the square of the input unless the reader bounds it)."""
    parts, n, total = [], 0, 0
    while total < size:
        n += 1
        clause = (
            f"in cohort {n} the participants receive the study drug once daily for twelve weeks with imaging "
            f"every eight weeks and the investigators will use the response rate at week {n} as the secondary "
            f"endpoint, while the primary endpoint is overall survival at month {n}; "
        )
        parts.append(clause)
        total += len(clause)
    return "Last Updated: 2025-01-01\n\nDetailed Description\n\n" + "".join(parts) + "\n\nConditions\n\nMelanoma\n"


# ------------------------------------------------------------------------------------------------ 4. huge fields


def _big_file(key: str, make: Callable[[], bytes]) -> Big:
    def build(path: Path) -> None:
        path.write_bytes(make())

    return Big(key, build)


def huge_cases() -> Iterator[Case]:
    v2_bad: dict[str, Callable[[str], bytes]] = {
        "v2-criteria-52mb": lambda n: v2b(
            n,
            {
                "protocolSection.eligibilityModule.eligibilityCriteria": "Inclusion Criteria:\n"
                + ("* " + _FLAT + "\n") * (52 * MB // (len(_FLAT) + 3))
            },
        ),
        "v2-title-40mb": lambda n: v2b(n, {"protocolSection.identificationModule.officialTitle": "T" * (40 * MB)}),
        "v2-conditions-1m": lambda n: v2b(
            n, {"protocolSection.conditionsModule.conditions": [f"Condition {i}" for i in range(1_000_000)]}
        ),
        "v2-keywords-1m": lambda n: v2b(n, {"protocolSection.conditionsModule.keywords": ["kw"] * 1_000_000}),
        "v2-locations-100k": lambda n: v2b(
            n,
            {
                "protocolSection.contactsLocationsModule.locations": [
                    {
                        "facility": f"Site {i}",
                        "city": "Boston",
                        "state": "Massachusetts",
                        "zip": "02115",
                        "country": "United States",
                    }
                    for i in range(100_000)
                ]
            },
        ),
        "v2-outcomes-200k": lambda n: v2b(
            n,
            {
                "protocolSection.outcomesModule.primaryOutcomes": [
                    {"measure": f"Outcome {i}", "timeFrame": "12 weeks"} for i in range(200_000)
                ]
            },
        ),
        "v2-arms-100k": lambda n: v2b(
            n,
            {
                "protocolSection.armsInterventionsModule.armGroups": [
                    {"label": f"Arm {i}", "type": "EXPERIMENTAL"} for i in range(100_000)
                ]
            },
        ),
        "v2-criteria-items-100k": lambda n: v2b(
            n,
            {"protocolSection.eligibilityModule.eligibilityCriteria": "Inclusion Criteria:\n" + "* Adult\n" * 100_000},
        ),
        "v1-conditions-1m": lambda n: v1b(
            n, {"ProtocolSection.ConditionsModule.ConditionList.Condition": ["Lung Cancer"] * 1_000_000}
        ),
        "v1-locations-100k": lambda n: v1b(
            n,
            {
                "ProtocolSection.ContactsLocationsModule.LocationList.Location": [
                    {"LocationFacility": f"Site {i}", "LocationCity": "Boston", "LocationCountry": "United States"}
                    for i in range(100_000)
                ]
            },
        ),
    }
    for label, make in v2_bad.items():
        yield Case(
            f"huge-{label}",
            "huge",
            {"in/a.json": _big_file(f"huge-{label}", lambda make=make: make("NCT00000001"))},
            ["in/a.json"],
            [bad("in/a.json")],
            quick=label == "v2-conditions-1m",
        )
    xml_bad: dict[str, Callable[[str], str]] = {
        "xml-conditions-1m": lambda n: xml_text(n, before_eligibility="<condition>Asthma</condition>" * 1_000_000),
        "xml-locations-100k": lambda n: xml_text(
            n,
            before_eligibility=(
                "<location><facility><name>Site</name><address><city>Boston</city><country>United States</country>"
                "</address></facility></location>"
            )
            * 100_000,
        ),
        "xml-outcomes-200k": lambda n: xml_text(
            n,
            before_eligibility=(
                "<primary_outcome><measure>Outcome</measure><time_frame>12 weeks</time_frame></primary_outcome>"
            )
            * 200_000,
        ),
        "xml-textblock-50mb": lambda n: xml_text(n, criteria="Inclusion Criteria:\n" + "x" * (50 * MB)),
    }
    for label, make_x in xml_bad.items():
        yield Case(
            f"huge-{label}",
            "huge",
            {"in/a.xml": _big_file(f"huge-{label}", lambda make_x=make_x: make_x("NCT00000001").encode())},
            ["in/a.xml"],
            [bad("in/a.xml")],
        )
    # legal although large: must convert (or, where a list limit applies, be reported) within the time limit
    g = new_nct()
    yield Case(
        "huge-v2-conditions-15k",
        "huge",
        {
            "in/a.json": lambda g=g: v2b(
                g, {"protocolSection.conditionsModule.conditions": [f"Condition {i}" for i in range(15_000)]}
            )
        },
        ["in/a.json"],
        [good(g)],
    )
    g = new_nct()
    yield Case(
        "huge-v2-criteria-5mb",
        "huge",
        {
            "in/a.json": lambda g=g: v2b(
                g,
                {
                    "protocolSection.eligibilityModule.eligibilityCriteria": "Inclusion Criteria:\n"
                    + ("* " + _FLAT * 4 + "\n") * (5 * MB // (len(_FLAT) * 4 + 3))
                },
            )
        },
        ["in/a.json"],
        [either(g, "in/a.json")],
    )
    g = new_nct()
    yield Case(
        "huge-v2-title-10mb",
        "huge",
        {"in/a.json": lambda g=g: v2b(g, {"protocolSection.identificationModule.officialTitle": "T" * (10 * MB)})},
        ["in/a.json"],
        [either(g, "in/a.json")],
    )
    for label, text in (
        ("criteria", lambda: "* Adult\n" * 1_000_000),
        ("unknown-section", lambda: "Random words here\n" * 1_000_000),
        ("blank", lambda: "\n" * 1_000_000),
    ):
        g = new_nct()
        yield Case(
            f"huge-page-1m-lines-{label}",
            "huge",
            {"in/a.txt": lambda g=g, text=text: pageb(g, eligibility="Inclusion Criteria:\n" + text())},
            ["in/a.txt"],
            [either(g, "in/a.txt")],
        )
    g1, g2 = new_nct(), new_nct()
    yield Case(
        "huge-ndjson-line-conditions-1m",
        "huge",
        {
            "in.ndjson": lambda g1=g1, g2=g2: ndjson(
                [
                    v2b(g1),
                    v2b("NCT00000001", {"protocolSection.conditionsModule.conditions": ["Asthma"] * 1_000_000}),
                    v2b(g2),
                ]
            )
        },
        ["in.ndjson"],
        [good(g1), bad("in.ndjson", 2), good(g2)],
        workers=2,
    )


# ------------------------------------------------------------------------------------------------ 5. nesting


def _deep_list(depth: int) -> bytes:
    return b"[" * depth + b'"x"' + b"]" * depth


def _deep_dict(depth: int) -> bytes:
    return b'{"a":' * depth + b'"x"' + b"}" * depth


def nesting_cases() -> Iterator[Case]:
    for depth in (900, 1000, 3000, 5000):
        yield Case(
            f"nesting-v2-field-list-{depth}",
            "nesting",
            {
                "in/a.json": lambda d=depth: v2b(
                    "NCT00000001", {"protocolSection.conditionsModule.conditions": "@deep"}, {"@deep": _deep_list(d)}
                )
            },
            ["in/a.json"],
            [bad("in/a.json")],
        )
        yield Case(
            f"nesting-v2-field-dict-{depth}",
            "nesting",
            {
                "in/a.json": lambda d=depth: v2b(
                    "NCT00000001", {"protocolSection.designModule.designInfo": "@deep"}, {"@deep": _deep_dict(d)}
                )
            },
            ["in/a.json"],
            [bad("in/a.json")],
        )
        yield Case(
            f"nesting-v2-top-{depth}",
            "nesting",
            {"in/a.json": lambda d=depth: b"[" * d + v2b("NCT00000001") + b"]" * d},
            ["in/a.json"],
            [bad("in/a.json")],
        )
        g1, g2 = new_nct(), new_nct()
        # up to 1000 levels the document parses (orjson stops at 1024): the deep study costs itself only; deeper,
        # the document cannot be read at all and is reported as a whole
        parsable = depth <= 1000
        yield Case(
            f"nesting-v2-list-w2-{depth}",
            "nesting",
            {
                "in/list.json": lambda d=depth, g1=g1, g2=g2: dumps(
                    [v2(g1), v2("NCT00000001", {"protocolSection.conditionsModule.conditions": "@deep"}), v2(g2)],
                    {"@deep": _deep_list(d)},
                )
            },
            ["in/list.json"],
            [good(g1), bad("in/list.json", 1), good(g2)]
            if parsable
            else [Expect("any", nct=g1), bad("in/list.json"), Expect("any", nct=g2)],
            workers=2,
            quick=depth == 900,
        )
        g1, g2 = new_nct(), new_nct()
        yield Case(
            f"nesting-ndjson-w2-{depth}",
            "nesting",
            {
                "in.ndjson": lambda d=depth, g1=g1, g2=g2: ndjson(
                    [
                        v2b(g1),
                        v2b(
                            "NCT00000001",
                            {"protocolSection.descriptionModule.briefSummary": "@deep"},
                            {"@deep": _deep_dict(d)},
                        ),
                        v2b(g2),
                    ]
                )
            },
            ["in.ndjson"],
            [good(g1), bad("in.ndjson", 2), good(g2)],
            workers=2,
        )
        yield Case(
            f"nesting-v1-field-{depth}",
            "nesting",
            {
                "in/a.json": lambda d=depth: v1b(
                    "NCT00000001", {"ProtocolSection.ConditionsModule.ConditionList": "@deep"}, {"@deep": _deep_list(d)}
                )
            },
            ["in/a.json"],
            [bad("in/a.json")],
        )
        yield Case(
            f"nesting-xml-{depth}",
            "nesting",
            {
                "in/a.xml": lambda d=depth: xmlb(
                    "NCT00000001", before_eligibility="<keyword>" + "<k>" * d + "x" + "</k>" * d + "</keyword>"
                )
            },
            ["in/a.xml"],
            [bad("in/a.xml")],
        )


# ------------------------------------------------------------------------------------------------ 6. encoding

BOM = codecs.BOM_UTF8


def encoding_cases() -> Iterator[Case]:
    # UTF-8 BOM: legal, must convert
    g = new_nct()
    yield Case(
        "encoding-bom-v2", "encoding", {"in/a.json": lambda g=g: BOM + v2b(g)}, ["in/a.json"], [good(g)], quick=True
    )
    g = new_nct()
    yield Case("encoding-bom-v1", "encoding", {"in/a.json": lambda g=g: BOM + v1b(g)}, ["in/a.json"], [good(g)])
    g = new_nct()
    yield Case("encoding-bom-xml", "encoding", {"in/a.xml": lambda g=g: BOM + xmlb(g)}, ["in/a.xml"], [good(g)])
    g = new_nct()
    yield Case("encoding-bom-page", "encoding", {"in/a.txt": lambda g=g: BOM + pageb(g)}, ["in/a.txt"], [good(g)])
    gs = [new_nct() for _ in range(3)]
    yield Case(
        "encoding-bom-ndjson-first-line",
        "encoding",
        {"in.ndjson": lambda gs=gs: BOM + ndjson([v2b(n) for n in gs])},
        ["in.ndjson"],
        [good(n) for n in gs],
    )
    gs = [new_nct() for _ in range(3)]
    yield Case(
        "encoding-bom-ndjson-every-line",
        "encoding",
        {"in.ndjson": lambda gs=gs: ndjson([BOM + v2b(n) for n in gs])},
        ["in.ndjson"],
        [good(n) for n in gs],
    )
    gs = [new_nct() for _ in range(2)]
    yield Case(
        "encoding-bom-v2-list",
        "encoding",
        {"in/a.json": lambda gs=gs: BOM + dumps([v2(n) for n in gs])},
        ["in/a.json"],
        [good(n) for n in gs],
    )
    g = new_nct()
    yield Case(
        "encoding-bom-zip-member",
        "encoding",
        {"in.zip": lambda g=g: build_zip([zmember("a.json", BOM + v2b(g))])},
        ["in.zip"],
        [good(g)],
    )
    g = new_nct()
    yield Case("encoding-bom-stdin", "encoding", {}, ["-"], [good(g)], stdin=lambda g=g: BOM + v2b(g))
    gs = [new_nct() for _ in range(2)]
    yield Case(
        "encoding-bom-stdin-ndjson",
        "encoding",
        {},
        ["-"],
        [good(n) for n in gs],
        stdin=lambda gs=gs: BOM + ndjson([v2b(n) for n in gs]),
    )
    # NUL in the NCT id (JSON escape) and elsewhere
    yield Case(
        "encoding-nul-id-v2",
        "encoding",
        {"in/a.json": lambda: v2b("NCT0000\u00000001")},
        ["in/a.json"],
        [bad("in/a.json")],
    )
    yield Case(
        "encoding-nul-id-v1",
        "encoding",
        {"in/a.json": lambda: v1b("NCT0000\u00000001")},
        ["in/a.json"],
        [bad("in/a.json")],
    )
    g1, g2 = new_nct(), new_nct()
    yield Case(
        "encoding-nul-id-ndjson",
        "encoding",
        {"in.ndjson": lambda g1=g1, g2=g2: ndjson([v2b(g1), v2b("NCT00000001\u0000"), v2b(g2)])},
        ["in.ndjson"],
        [good(g1), bad("in.ndjson", 2), good(g2)],
    )
    g1, g2 = new_nct(), new_nct()
    yield Case(
        "encoding-nul-id-list-w2",
        "encoding",
        {"in/a.json": lambda g1=g1, g2=g2: dumps([v2(g1), v2("\u0000"), v2(g2)])},
        ["in/a.json"],
        [good(g1), bad("in/a.json", 1), good(g2)],
        workers=2,
    )
    g = new_nct()
    yield Case(
        "encoding-nul-title",
        "encoding",
        {"in/a.json": lambda g=g: v2b(g, {"protocolSection.identificationModule.briefTitle": "A\u0000B"})},
        ["in/a.json"],
        [either(g, "in/a.json")],
    )
    yield Case(
        "encoding-raw-nul-byte",
        "encoding",
        {"in/a.json": lambda: v2b("NCT00000001").replace(b'"nctId"', b'"nct\x00Id"')},
        ["in/a.json"],
        [bad("in/a.json")],
    )
    # lone surrogates
    yield Case(
        "encoding-lone-surrogate-id",
        "encoding",
        {"in/a.json": lambda: v2b("@id", raw={"@id": b'"NCT0000\\ud8000001"'})},
        ["in/a.json"],
        [bad("in/a.json")],
    )
    for where, path in (
        ("title", "protocolSection.identificationModule.briefTitle"),
        ("criteria", "protocolSection.eligibilityModule.eligibilityCriteria"),
        ("condition", "protocolSection.conditionsModule.conditions"),
    ):
        g = new_nct()
        value = b'["\\udfff"]' if where == "condition" else b'"A \\udc80 B"'
        yield Case(
            f"encoding-lone-surrogate-{where}",
            "encoding",
            {"in/a.json": lambda g=g, path=path, value=value: v2b(g, {path: "@s"}, {"@s": value})},
            ["in/a.json"],
            [either(g, "in/a.json")],
        )
    g = new_nct()
    yield Case(
        "encoding-lone-surrogate-v1-title",
        "encoding",
        {
            "in/a.json": lambda g=g: v1b(
                g, {"ProtocolSection.IdentificationModule.BriefTitle": "@s"}, {"@s": b'"\\ud800"'}
            )
        },
        ["in/a.json"],
        [either(g, "in/a.json")],
    )
    g1, g2 = new_nct(), new_nct()
    yield Case(
        "encoding-lone-surrogate-ndjson",
        "encoding",
        {
            "in.ndjson": lambda g1=g1, g2=g2: ndjson(
                [
                    v2b(g1),
                    v2b("NCT00000001", {"protocolSection.identificationModule.briefTitle": "@s"}, {"@s": b'"\\ud800"'}),
                    v2b(g2),
                ]
            )
        },
        ["in.ndjson"],
        [good(g1), either("NCT00000001", "in.ndjson", 2), good(g2)],
    )
    # bytes that are not UTF-8
    cesu = b"A\xed\xa0\x80B"
    yield Case(
        "encoding-cesu-surrogate-bytes-v2",
        "encoding",
        {
            "in/a.json": lambda: v2b(
                "NCT00000001", {"protocolSection.identificationModule.briefTitle": "@s"}, {"@s": b'"' + cesu + b'"'}
            )
        },
        ["in/a.json"],
        [bad("in/a.json")],
    )
    yield Case(
        "encoding-cesu-surrogate-bytes-page",
        "encoding",
        {"in/a.txt": lambda: pageb("NCT00000001").replace(b"Summary", b"Summary " + cesu, 1)},
        ["in/a.txt"],
        [bad("in/a.txt")],
    )
    yield Case(
        "encoding-overlong-utf8",
        "encoding",
        {
            "in/a.json": lambda: v2b(
                "NCT00000001", {"protocolSection.identificationModule.briefTitle": "@s"}, {"@s": b'"\xc0\xaf"'}
            )
        },
        ["in/a.json"],
        [bad("in/a.json")],
    )
    yield Case(
        "encoding-latin1-v2",
        "encoding",
        {
            "in/a.json": lambda: v2b(
                "NCT00000001",
                {"protocolSection.identificationModule.briefTitle": "@s"},
                {"@s": '"Caf\u00e9 study"'.encode("latin-1")},
            )
        },
        ["in/a.json"],
        [bad("in/a.json")],
    )
    g1, g2 = new_nct(), new_nct()
    yield Case(
        "encoding-latin1-ndjson-line",
        "encoding",
        {
            "in.ndjson": lambda g1=g1, g2=g2: ndjson(
                [
                    v2b(g1),
                    v2b(
                        "NCT00000001",
                        {"protocolSection.identificationModule.briefTitle": "@s"},
                        {"@s": '"Caf\u00e9"'.encode("latin-1")},
                    ),
                    v2b(g2),
                ]
            )
        },
        ["in.ndjson"],
        [good(g1), bad("in.ndjson", 2), good(g2)],
    )
    yield Case(
        "encoding-latin1-page",
        "encoding",
        {"in/a.txt": lambda: page_text("NCT00000001").encode("latin-1", errors="replace")},
        ["in/a.txt"],
        [bad("in/a.txt")],
    )
    yield Case(
        "encoding-latin1-bytes-xml-declared-utf8",
        "encoding",
        {"in/a.xml": lambda: xml_text("NCT00000001", summary="Caf\u00e9").encode("latin-1")},
        ["in/a.xml"],
        [bad("in/a.xml")],
    )
    g = new_nct()
    yield Case(
        "encoding-latin1-xml-declared",
        "encoding",
        {
            "in/a.xml": lambda g=g: xml_text(
                g, summary="Caf\u00e9", prolog='<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            ).encode("latin-1")
        },
        ["in/a.xml"],
        [either(g, "in/a.xml")],
    )
    # UTF-16 / UTF-32
    for label, enc, bom in (
        ("utf16le-bom", "utf-16-le", codecs.BOM_UTF16_LE),
        ("utf16be-bom", "utf-16-be", codecs.BOM_UTF16_BE),
        ("utf16le-nobom", "utf-16-le", b""),
        ("utf32-bom", "utf-32-le", codecs.BOM_UTF32_LE),
    ):
        g = new_nct()
        yield Case(
            f"encoding-{label}-v2",
            "encoding",
            {"in/a.json": lambda g=g, enc=enc, bom=bom: bom + v2b(g).decode().encode(enc)},
            ["in/a.json"],
            [either(g, "in/a.json")],
        )
    g = new_nct()
    yield Case(
        "encoding-utf16-xml",
        "encoding",
        {
            "in/a.xml": lambda g=g: (
                codecs.BOM_UTF16_LE
                + xml_text(g, prolog='<?xml version="1.0" encoding="UTF-16"?>\n').encode("utf-16-le")
            )
        },
        ["in/a.xml"],
        [either(g, "in/a.xml")],
    )
    g = new_nct()
    yield Case(
        "encoding-utf16-page",
        "encoding",
        {"in/a.txt": lambda g=g: codecs.BOM_UTF16_LE + page_text(g).encode("utf-16-le")},
        ["in/a.txt"],
        [either(g, "in/a.txt")],
    )
    g1, g2 = new_nct(), new_nct()
    yield Case(
        "encoding-utf16-ndjson-line",
        "encoding",
        {
            "in.ndjson": lambda g1=g1, g2=g2: (
                v2b(g1) + b"\n" + v2b("NCT00000001").decode().encode("utf-16-le") + b"\n" + v2b(g2) + b"\n"
            )
        },
        ["in.ndjson"],
        [good(g1), Expect("any"), good(g2)],
    )


# ------------------------------------------------------------------------------------------------ 7. XML


_LAUGHS = (
    '<!DOCTYPE clinical_study [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)


def xml_cases() -> Iterator[Case]:
    for label, attrs in (("root-100k", 100_000), ("root-300", 300), ("root-1000", 1000)):
        yield Case(
            f"xml-attributes-{label}",
            "xml",
            {"in/a.xml": lambda n=attrs: xmlb("NCT00000001", root_attrs=" ".join(f'a{i}="v"' for i in range(n)))},
            ["in/a.xml"],
            [bad("in/a.xml")],
        )
    yield Case(
        "xml-attributes-child-100k",
        "xml",
        {
            "in/a.xml": lambda: xmlb(
                "NCT00000001",
                before_eligibility=(
                    "<condition " + " ".join(f'a{i}="v"' for i in range(100_000)) + ">Asthma</condition>"
                ),
            )
        },
        ["in/a.xml"],
        [bad("in/a.xml")],
    )
    yield Case(
        "xml-elements-1m-keywords",
        "xml",
        {
            "in/a.xml": _big_file(
                "xml-1m-kw", lambda: xmlb("NCT00000001", before_eligibility="<keyword>k</keyword>" * 1_000_000)
            )
        },
        ["in/a.xml"],
        [bad("in/a.xml")],
    )
    yield Case(
        "xml-elements-1-2m-unknown",
        "xml",
        {"in/a.xml": _big_file("xml-1m-x", lambda: xmlb("NCT00000001", before_eligibility="<x/>" * 1_200_000))},
        ["in/a.xml"],
        [bad("in/a.xml")],
    )
    g = new_nct()
    yield Case(
        "xml-elements-300k-unknown",
        "xml",
        {"in/a.xml": lambda g=g: xmlb(g, before_eligibility="<x/>" * 300_000)},
        ["in/a.xml"],
        [either(g, "in/a.xml")],
    )
    yield Case(
        "xml-billion-laughs",
        "xml",
        {
            "in/a.xml": lambda: (
                xml_text("NCT00000001", head=_LAUGHS).replace("<brief_title>", "<brief_title>&lol9;", 1).encode()
            )
        },
        ["in/a.xml"],
        [bad("in/a.xml")],
        quick=True,
    )
    yield Case(
        "xml-quadratic-blowup",
        "xml",
        {
            "in/a.xml": lambda: (
                xml_text("NCT00000001", head=f'<!DOCTYPE clinical_study [<!ENTITY a "{"x" * 50_000}">]>\n')
                .replace("<brief_title>", "<brief_title>" + "&a;" * 20_000, 1)
                .encode()
            )
        },
        ["in/a.xml"],
        [bad("in/a.xml")],
    )

    def xxe(head: str, ref: str) -> Callable[[], bytes]:
        return lambda: xml_text("NCT00000001", head=head).replace("<brief_title>", "<brief_title>" + ref, 1).encode()

    secret_url = "file://{root}/" + SECRET_FILE
    for label, head, ref in (
        ("xxe-file", f'<!DOCTYPE clinical_study [<!ENTITY x SYSTEM "{secret_url}">]>\n', "&x;"),
        ("xxe-parameter", f'<!DOCTYPE clinical_study [<!ENTITY % p SYSTEM "{secret_url}"> %p;]>\n', ""),
        ("xxe-comment-trick", f'<!DOCTYPE clinical_study [<!-- ]> -->\n<!ENTITY x SYSTEM "{secret_url}">]>\n', "&x;"),
        (
            "xxe-far-from-head",
            "<!--" + " " * 10_000 + f'-->\n<!DOCTYPE clinical_study [<!ENTITY x SYSTEM "{secret_url}">]>\n',
            "&x;",
        ),
    ):
        yield Case(f"xml-{label}", "xml", {"in/a.xml": xxe(head, ref)}, ["in/a.xml"], [bad("in/a.xml")], secret=True)
    yield Case(
        "xml-xxe-utf16",
        "xml",
        {
            "in/a.xml": lambda: (
                codecs.BOM_UTF16_LE
                + xml_text(
                    "NCT00000001",
                    prolog='<?xml version="1.0" encoding="UTF-16"?>\n',
                    head=f'<!DOCTYPE clinical_study [<!ENTITY x SYSTEM "{secret_url}">]>\n',
                )
                .replace("<brief_title>", "<brief_title>&x;", 1)
                .encode("utf-16-le")
            )
        },
        ["in/a.xml"],
        [bad("in/a.xml")],
        secret=True,
    )
    g = new_nct()
    yield Case(
        "xml-external-dtd",
        "xml",
        {"in/a.xml": lambda g=g: xmlb(g, head=f'<!DOCTYPE clinical_study SYSTEM "{secret_url}">\n')},
        ["in/a.xml"],
        [either(g, "in/a.xml")],
        secret=True,
    )
    g = new_nct()
    yield Case(
        "xml-dtd-element-decls-only",
        "xml",
        {"in/a.xml": lambda g=g: xmlb(g, head="<!DOCTYPE clinical_study [<!ELEMENT clinical_study ANY>]>\n")},
        ["in/a.xml"],
        [either(g, "in/a.xml")],
    )
    g = new_nct()
    yield Case(
        "xml-xinclude",
        "xml",
        {
            "in/a.xml": lambda g=g: (
                xml_text(g, root_attrs=('xmlns:xi="http://www.w3.org/2001/XInclude"'))
                .replace("<brief_title>", f'<brief_title><xi:include href="{secret_url}" parse="text"/>', 1)
                .encode()
            )
        },
        ["in/a.xml"],
        [either(g, "in/a.xml")],
        secret=True,
    )
    g = new_nct()
    yield Case(
        "xml-cdata-10mb",
        "xml",
        {
            "in/a.xml": lambda g=g: (
                xml_text(g)
                .replace("<brief_title>Margetuximab", "<brief_title><![CDATA[" + "C" * (10 * MB) + "]]>Margetuximab", 1)
                .encode()
            )
        },
        ["in/a.xml"],
        [either(g, "in/a.xml")],
    )
    for label, item in (("comments", "<!-- c -->"), ("pis", "<?pi x?>")):
        g = new_nct()
        yield Case(
            f"xml-1m-{label}",
            "xml",
            {"in/a.xml": lambda g=g, item=item: xmlb(g, before_eligibility=item * 1_000_000)},
            ["in/a.xml"],
            [either(g, "in/a.xml")],
        )
    g = new_nct()
    yield Case(
        "xml-namespaced-root",
        "xml",
        {"in/a.xml": lambda g=g: xml_text(g).replace("<clinical_study>", '<clinical_study xmlns="urn:x">', 1).encode()},
        ["in/a.xml"],
        [either(g, "in/a.xml")],
    )
    g1, g2 = new_nct(), new_nct()
    yield Case(
        "xml-billion-laughs-in-zip",
        "xml",
        {
            "in.zip": lambda g1=g1, g2=g2: build_zip(
                [
                    zmember("a.xml", xmlb(g1)),
                    zmember(
                        "b.xml",
                        xml_text("NCT00000001", head=_LAUGHS)
                        .replace("<brief_title>", "<brief_title>&lol9;", 1)
                        .encode(),
                    ),
                    zmember("c.xml", xmlb(g2)),
                ]
            )
        },
        ["in.zip"],
        [good(g1), bad("in.zip!b.xml"), good(g2)],
    )
    yield Case(
        "xml-malformed-unclosed",
        "xml",
        {"in/a.xml": lambda: xmlb("NCT00000001")[:-40]},
        ["in/a.xml"],
        [bad("in/a.xml")],
    )
    yield Case(
        "xml-two-roots",
        "xml",
        {"in/a.xml": lambda: xmlb("NCT00000001") + b"<clinical_study/>"},
        ["in/a.xml"],
        [bad("in/a.xml")],
    )


# ------------------------------------------------------------------------------------------------ 8. files


def _fifo(name: str) -> Callable[[Path, Path], None]:
    def setup(cwd: Path, root: Path) -> None:
        import os

        os.mkfifo(cwd / name)

    return setup


def files_cases() -> Iterator[Case]:
    # line ends
    for label, end, suffix in (
        ("cr-only", b"\r", ".ndjson"),
        ("cr-only-jsonl", b"\r", ".jsonl"),
        ("crlf", b"\r\n", ".ndjson"),
        ("cr-only-no-suffix", b"\r", ".json"),
    ):
        gs = [new_nct() for _ in range(3)]
        yield Case(
            f"files-{label}",
            "files",
            {f"in{suffix}": lambda gs=gs, end=end: ndjson([v2b(n) for n in gs], end)},
            [f"in{suffix}"],
            [good(n) for n in gs],
            quick=label == "cr-only",
        )
    gs = [new_nct() for _ in range(4)]
    yield Case(
        "files-mixed-line-ends",
        "files",
        {"in.ndjson": lambda gs=gs: v2b(gs[0]) + b"\r" + v2b(gs[1]) + b"\n" + v2b(gs[2]) + b"\r\n" + v2b(gs[3])},
        ["in.ndjson"],
        [good(n) for n in gs],
    )
    gs = [new_nct() for _ in range(3)]
    yield Case(
        "files-cr-only-zip-member",
        "files",
        {"in.zip": lambda gs=gs: build_zip([zmember("a.ndjson", ndjson([v2b(n) for n in gs], b"\r"))])},
        ["in.zip"],
        [good(n) for n in gs],
    )
    gs = [new_nct() for _ in range(3)]
    yield Case(
        "files-cr-only-stdin",
        "files",
        {},
        ["-"],
        [good(n) for n in gs],
        stdin=lambda gs=gs: ndjson([v2b(n) for n in gs], b"\r"),
    )
    # over-long lines
    yield Case(
        "files-ndjson-line-40mb",
        "files",
        {
            "in.ndjson": _big_file(
                "line-40mb",
                lambda: ndjson(
                    [
                        v2b("NCT98000001"),
                        v2b("NCT00000001", {"protocolSection.identificationModule.officialTitle": "T" * (40 * MB)}),
                        v2b("NCT98000002"),
                    ]
                ),
            )
        },
        ["in.ndjson"],
        [good("NCT98000001"), bad("in.ndjson", 2), good("NCT98000002")],
    )
    yield Case(
        "files-ndjson-line-300mb-spaces",
        "files",
        {"in.ndjson": Big("line-300mb", _spaces_line)},
        ["in.ndjson"],
        [good("NCT98000003"), bad("in.ndjson", 2), good("NCT98000004")],
    )
    # FIFOs and devices
    yield Case("files-fifo-named", "files", {}, ["fifo.json"], [bad("fifo.json")], setup=_fifo("fifo.json"), quick=True)
    yield Case(
        "files-fifo-named-ndjson", "files", {}, ["fifo.ndjson"], [bad("fifo.ndjson")], setup=_fifo("fifo.ndjson")
    )
    g = new_nct()

    def fifo_in_folder(cwd: Path, root: Path) -> None:
        _fifo("in/fifo.json")(cwd, root)

    yield Case(
        "files-fifo-in-folder",
        "files",
        {"in/a.json": lambda g=g: v2b(g)},
        ["in"],
        [Expect("any", "in/fifo.json"), good(g)],
        setup=fifo_in_folder,
        exit_codes=(0, 1),
    )
    yield Case("files-dev-zero", "files", {}, ["/dev/zero"], [bad("/dev/zero")])
    yield Case("files-dev-null", "files", {}, ["/dev/null"], [Expect("any")], exit_codes=(1, 3))
    # -o is not a folder
    g = new_nct()
    yield Case(
        "files-out-is-file",
        "files",
        {"in/a.json": lambda g=g: v2b(g), "out": b"precious\n"},
        ["in"],
        [],
        exit_codes=(2,),
        quick=True,
    )
    yield Case(
        "files-out-is-the-input",
        "files",
        {"in/a.json": lambda: v2b(new_nct())},
        ["in/a.json"],
        [],
        exit_codes=(2,),
        out="in/a.json",
    )
    yield Case(
        "files-out-below-a-file",
        "files",
        {"in/a.json": lambda: v2b(new_nct()), "f": b"x\n"},
        ["in"],
        [],
        exit_codes=(2,),
        out="f/out",
    )
    # empty and nearly empty inputs: a file with no content at all is empty input (exit 3, the README's exit-code
    # table), reported in errors.jsonl; content that is not a record is a bad record (exit 1)
    for label, name, data, expect, codes in (
        ("empty-json", "a.json", b"", "bad", (3,)),
        ("whitespace-json", "a.json", b" \n\t\n", "bad", (3,)),
        ("empty-xml", "a.xml", b"", "bad", (3,)),
        ("empty-txt", "a.txt", b"", "bad", (3,)),
        ("bom-only", "a.json", BOM, "bad", (3,)),
        ("null", "a.json", b"null", "bad", None),
        ("zero", "a.json", b"0", "bad", None),
        ("empty-ndjson", "a.ndjson", b"", "any", (1, 3)),
        ("blank-lines-ndjson", "a.ndjson", b"\n\n \n", "any", (1, 3)),
        ("empty-list", "a.json", b"[]", "any", (1, 3)),
        ("empty-search-page", "a.json", b'{"studies": []}', "any", (1, 3)),
        ("list-of-null", "a.json", b"[null, 1, []]", "bad", None),
    ):
        yield Case(
            f"files-{label}",
            "files",
            {f"in/{name}": data},
            [f"in/{name}"],
            [Expect(expect, f"in/{name}")],
            exit_codes=codes,
        )
    # a JSON string holding an NCT id is also a (very short) text page: read as one or refused, never lost
    yield Case(
        "files-json-string",
        "files",
        {"in/a.json": b'"NCT00000001"'},
        ["in/a.json"],
        [either("NCT00000001", "in/a.json")],
    )
    yield Case(
        "files-empty-folder", "files", {}, ["in"], [], exit_codes=(3,), setup=lambda cwd, root: (cwd / "in").mkdir()
    )
    yield Case("files-empty-stdin", "files", {}, ["-"], [], stdin=b"", exit_codes=(1, 3))
    yield Case("files-garbage-stdin", "files", {}, ["-"], [bad("-")], stdin=bytes(range(256)) * 64)
    # numbers
    for label, raw in (
        ("1e308", b"1e308"),
        ("1e400", b"1e400"),
        ("neg-1e400", b"-1e400"),
        ("minus-one", b"-1"),
        ("2pow64", b"18446744073709551616"),
        ("1e-400", b"1e-400"),
        ("huge-int", b"9" * 400),
        ("nan", b"NaN"),
        ("infinity", b"Infinity"),
        ("minus-zero", b"-0"),
        ("fraction", b"1.5"),
        ("string-1e308", b'"1e308"'),
    ):
        g = new_nct()
        yield Case(
            f"files-count-{label}",
            "files",
            {
                "in/a.json": lambda g=g, raw=raw: v2b(
                    g, {"protocolSection.designModule.enrollmentInfo.count": "@n"}, {"@n": raw}
                )
            },
            ["in/a.json"],
            [either(g, "in/a.json")],
        )
    g = new_nct()
    yield Case(
        "files-count-v1-1e308",
        "files",
        {"in/a.json": lambda g=g: v1b(g, {"ProtocolSection.DesignModule.EnrollmentInfo.EnrollmentCount": "1e308"})},
        ["in/a.json"],
        [either(g, "in/a.json")],
    )
    for label, value in (("1e308", "1e308"), ("huge-int", "9" * 400), ("minus", "-5")):
        g = new_nct()
        yield Case(
            f"files-count-xml-{label}",
            "files",
            {
                "in/a.xml": lambda g=g, value=value: xmlb(
                    g, before_eligibility=f'<enrollment type="Anticipated">{value}</enrollment>'
                )
            },
            ["in/a.xml"],
            [either(g, "in/a.xml")],
        )
    for label, value in (("1e308", "1e308"), ("huge-int", "9" * 400)):
        g = new_nct()
        yield Case(
            f"files-count-page-{label}",
            "files",
            {"in/a.txt": lambda g=g, value=value: pageb(g, summary=f"Enrollment: {value} participants")},
            ["in/a.txt"],
            [either(g, "in/a.txt")],
        )
    # a record in a hidden or oddly named file inside a folder, and a symlink input pointing outside
    g = new_nct()
    yield Case(
        "files-symlink-input-to-secret",
        "files",
        {"in/a.json": lambda g=g: v2b(g)},
        ["in"],
        [good(g), Expect("any")],
        setup=lambda cwd, root: (cwd / "in" / "b.txt").symlink_to(root / SECRET_FILE),
        secret=True,
        exit_codes=(0, 1),
    )
    g = new_nct()
    yield Case(
        "files-symlink-loop",
        "files",
        {"in/a.json": lambda g=g: v2b(g)},
        ["in"],
        [good(g)],
        setup=lambda cwd, root: (cwd / "in" / "loop").symlink_to(cwd / "in"),
        exit_codes=(0, 1),
    )


def _spaces_line(path: Path) -> None:
    with path.open("wb") as f:
        f.write(v2b("NCT98000003") + b"\n")
        f.write(b'{"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}')
        chunk = b" " * MB
        for _ in range(300):
            f.write(chunk)
        f.write(b"}\n")
        f.write(v2b("NCT98000004") + b"\n")


# ------------------------------------------------------------------------------------------------ 9. wrong types


_WRONG: dict[type, list[Any]] = {
    dict: [[], "x", 7],
    list: [{}, "x", None],
    str: [7, [], {"a": 1}],
    bool: ["yes", [], 2],
    int: ["many", [], {}],
    float: ["many", [], {}],
}
_FATAL = ("protocolSection", "protocolSection.identificationModule", "protocolSection.identificationModule.nctId")


def _paths(doc: Any, prefix: str, depth: int) -> Iterator[tuple[str, Any]]:
    if not isinstance(doc, dict) or depth == 0:
        return
    for k, v in doc.items():
        path = f"{prefix}.{k}" if prefix else k
        yield path, v
        yield from _paths(v, path, depth - 1)


def types_cases() -> Iterator[Case]:
    v2_paths = [(p, v) for p, v in _paths(_v2_template(), "", 3) if not p.startswith("derivedSection.")]
    for n, (path, value) in enumerate(v2_paths):
        choices = _WRONG.get(type(value), ["x", 7, []])
        # one wrong value per field, cycling through the kinds of wrong; the ids and modules get all of them
        picks = choices if path.count(".") <= 1 or path.endswith("nctId") else [choices[n % len(choices)]]
        for i, wrong in enumerate(picks):
            g = new_nct()
            nct = "NCT00000001" if path.endswith("nctId") else g
            fatal = path in _FATAL
            yield Case(
                f"types-v2-{_slug(path)}-{i}",
                "types",
                {"in/a.json": lambda g=g, path=path, wrong=wrong: v2b(g, {path: wrong})},
                ["in/a.json"],
                [bad("in/a.json") if fatal else either(nct, "in/a.json")],
                quick=path == "protocolSection.designModule.enrollmentInfo",
            )
    v1_paths = [(p, v) for p, v in _paths(_v1_template(), "", 3) if not p.startswith("DerivedSection.")]
    for path, value in v1_paths[:25]:
        wrong = _WRONG.get(type(value), ["x"])[0]
        g = new_nct()
        fatal = path in (
            "ProtocolSection",
            "ProtocolSection.IdentificationModule",
            "ProtocolSection.IdentificationModule.NCTId",
        )
        yield Case(
            f"types-v1-{_slug(path)}",
            "types",
            {"in/a.json": lambda g=g, path=path, wrong=wrong: v1b(g, {path: wrong})},
            ["in/a.json"],
            [bad("in/a.json") if fatal else either(g, "in/a.json")],
        )
    for label, doc in (
        ("study-is-list", b"[[1, 2]]"),
        ("protocol-is-string", b'{"protocolSection": "x"}'),
        ("studies-not-list", b'{"studies": {"a": 1}}'),
        ("v1-page-is-list", b'{"FullStudiesResponse": []}'),
        ("v1-fullstudies-string", b'{"FullStudiesResponse": {"FullStudies": "x"}}'),
        ("v1-study-null", b'{"FullStudiesResponse": {"FullStudies": [{"Rank": 1, "Study": null}]}}'),
    ):
        yield Case(f"types-doc-{label}", "types", {"in/a.json": doc}, ["in/a.json"], [bad("in/a.json")])


# ------------------------------------------------------------------------------------------------ 10. mixed


def _bad_payloads() -> list[tuple[str, Callable[[], bytes], str]]:
    """One bad record of each category as a JSON line-able v2 record: (label, bytes, kind)."""
    return [
        ("name", lambda: v2b("../victim"), "bad"),
        ("name-abs", lambda: v2b("/tmp/fhir-adapter-hostile-" + uuid.uuid4().hex), "bad"),
        (
            "deep",
            lambda: v2b("NCT00000001", {"protocolSection.conditionsModule.conditions": "@d"}, {"@d": _deep_list(900)}),
            "bad",
        ),
        (
            "huge-list",
            lambda: v2b("NCT00000001", {"protocolSection.conditionsModule.keywords": ["k"] * 1_000_000}),
            "bad",
        ),
        ("nul-id", lambda: v2b("NCT0000000\u00001"), "bad"),
        (
            "latin1",
            lambda: v2b(
                "NCT00000001",
                {"protocolSection.identificationModule.briefTitle": "@s"},
                {"@s": '"Caf\u00e9"'.encode("latin-1")},
            ),
            "bad",
        ),
        ("invalid-json", lambda: b'{"protocolSection": {"identificationModule": {"nctId": "NCT0000', "bad"),
        ("no-id", lambda: b'{"protocolSection": {"identificationModule": {}}}', "bad"),
    ]


def _good_payloads() -> list[tuple[str, Callable[[str], bytes]]]:
    return [
        ("plain", lambda n: v2b(n)),
        (
            "regex",
            lambda n: v2b(
                n,
                {
                    "protocolSection.eligibilityModule.eligibilityCriteria": "Inclusion Criteria:"
                    + " " * 200_000
                    + "\n* Adults"
                },
            ),
        ),
        ("wrong-type", lambda n: v2b(n, {"protocolSection.designModule.phases": "PHASE2"})),
    ]


def mixed_cases() -> Iterator[Case]:
    for order in ("good-first", "bad-first"):
        # NDJSON
        lines: list[Callable[[], bytes]] = []
        expect: list[Expect] = []
        goods = _good_payloads()
        for i, (_label, payload, kind) in enumerate(_bad_payloads()):
            entries: list[tuple[Callable[[], bytes], Expect]] = []
            n = new_nct()
            gmake = goods[i % len(goods)][1]
            entries.append((functools.partial(gmake, n), good(n)))
            entries.append((payload, Expect(kind, "in.ndjson")))
            if order == "bad-first":
                entries.reverse()
            for make, e in entries:
                lines.append(make)
                if e.kind != "good":
                    e.index = len(lines)
                expect.append(e)
        yield Case(
            f"mixed-ndjson-w2-{order}",
            "mixed",
            {"in.ndjson": lambda lines=lines: ndjson([f() for f in lines])},
            ["in.ndjson"],
            expect,
            workers=2,
            quick=order == "good-first",
        )
        # ZIP: the same plus ZIP-level problems
        members: list[Callable[[], ZMember]] = []
        zexpect: list[Expect] = []
        zbad: list[tuple[str, Callable[[str], ZMember]]] = [
            *[(label, lambda name, payload=payload: zmember(name, payload())) for label, payload, _ in _bad_payloads()],
            ("bomb", lambda name: bomb(name, "zeros", GIB)),
            ("encrypted", lambda name: zmember(name, v2b("NCT00000001"), flags=1)),
            ("corrupt", lambda name: _corrupt(zmember(name, v2b("NCT00000001")))),
            ("bad-crc", lambda name: zmember(name, v2b("NCT00000001"), crc=1)),
            (
                "laughs",
                lambda name: zmember(
                    name,
                    xml_text("NCT00000001", head=_LAUGHS).replace("<brief_title>", "<brief_title>&lol9;", 1).encode(),
                ),
            ),
        ]
        for i, (label, make_member) in enumerate(zbad):
            n = new_nct()
            gmake = goods[i % len(goods)][1]
            ext = "xml" if label == "laughs" else "json"
            pair: list[tuple[Callable[[], ZMember], Expect]] = [
                (lambda n=n, gmake=gmake, i=i: zmember(f"g{i:02d}.json", gmake(n)), good(n)),
                (lambda mm=make_member, i=i, ext=ext: mm(f"b{i:02d}-{ext}.{ext}"), bad(f"in.zip!b{i:02d}-{ext}.{ext}")),
            ]
            if order == "bad-first":
                pair.reverse()
            for mk, e in pair:
                members.append(mk)
                zexpect.append(e)
        yield Case(
            f"mixed-zip-w2-{order}",
            "mixed",
            {"in.zip": lambda members=members: build_zip([m() for m in members])},
            ["in.zip"],
            zexpect,
            workers=2,
        )
        # a folder: one file per record, plus the ZIP and NDJSON problems as files of their own kind
        files: dict[str, Content] = {}
        fexpect: list[Expect] = []
        folder_bad: list[tuple[str, str, Callable[[], bytes]]] = [
            *[(f"{label}.json", "bad", payload) for label, payload, _ in _bad_payloads()],
            (
                "laughs.xml",
                "bad",
                lambda: (
                    xml_text("NCT00000001", head=_LAUGHS).replace("<brief_title>", "<brief_title>&lol9;", 1).encode()
                ),
            ),
            ("empty.json", "bad", lambda: b""),
            ("deep-top.json", "bad", lambda: b"[" * 3000 + b"]" * 3000),
        ]
        for i, (fname, kind, payload) in enumerate(folder_bad):
            n = new_nct()
            gmake = goods[i % len(goods)][1]
            # names sort so that good and bad alternate: 00a-good, 00b-bad (or the reverse)
            gname, bname = (
                (f"{i:02d}a-good.json", f"{i:02d}b-{fname}")
                if order == "good-first"
                else (f"{i:02d}b-good.json", f"{i:02d}a-{fname}")
            )
            files[f"in/{gname}"] = functools.partial(gmake, n)
            files[f"in/{bname}"] = payload
            fexpect += [good(n), Expect(kind, f"in/{bname}")]
        n1, n2 = new_nct(), new_nct()
        files["in/50-bom.json"] = lambda n1=n1: BOM + v2b(n1)
        files["in/51-cr.ndjson"] = lambda n2=n2: ndjson([v2b(n2)], b"\r")
        fexpect += [good(n1), good(n2)]
        n3, n4 = new_nct(), new_nct()
        files["in/60-bomb.zip"] = lambda n3=n3, n4=n4: build_zip(
            [zmember("a.json", v2b(n3)), bomb("b.json", "spaces", GIB), zmember("c.json", v2b(n4))]
        )
        fexpect += [good(n3), bad("in/60-bomb.zip!b.json"), good(n4)]
        yield Case(f"mixed-folder-w2-{order}", "mixed", files, ["in"], fexpect, workers=2)
        # a v2 multi-study list (studies are pickled to the workers)
        studies: list[Callable[[], Any]] = []
        lexpect: list[Expect] = []
        list_bad: list[tuple[str, Callable[[], Any]]] = [
            ("name", lambda: v2("../victim")),
            ("deep", lambda: v2("NCT00000001", {"protocolSection.conditionsModule.conditions": "@d"})),
            ("no-id", lambda: {"protocolSection": {}}),
            ("nul", lambda: v2("\u0000")),
            ("huge", lambda: v2("NCT00000001", {"protocolSection.conditionsModule.keywords": ["k"] * 1_000_000})),
        ]
        for _label, make_doc in list_bad:
            n = new_nct()
            pair2: list[tuple[Callable[[], Any], Expect]] = [
                (lambda n=n: v2(n), good(n)),
                (make_doc, Expect("bad", "in/list.json")),
            ]
            if order == "bad-first":
                pair2.reverse()
            for mk2, e in pair2:
                studies.append(mk2)
                if e.kind == "bad":
                    e.index = len(studies) - 1
                lexpect.append(e)
        yield Case(
            f"mixed-list-w2-{order}",
            "mixed",
            {"in/list.json": lambda studies=studies: dumps([s() for s in studies], {"@d": _deep_list(900)})},
            ["in/list.json"],
            lexpect,
            workers=2,
        )


# ------------------------------------------------------------------------------------------------ all


GENERATORS = (
    names_cases,
    zip_cases,
    regex_cases,
    huge_cases,
    nesting_cases,
    encoding_cases,
    xml_cases,
    files_cases,
    types_cases,
    mixed_cases,
)
CATEGORIES = ("names", "zip", "regex", "huge", "nesting", "encoding", "xml", "files", "types", "mixed")


@functools.cache
def all_cases() -> tuple[Case, ...]:
    cases = tuple(c for gen in GENERATORS for c in gen())
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1][:5]
    return cases


def quick_cases() -> tuple[Case, ...]:
    return tuple(c for c in all_cases() if c.quick)
