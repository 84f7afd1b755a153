"""Run one hostile case through the real CLI and check everything issue 8 asks for.

Sandbox layout (``root`` is a fresh folder per case; the CLI runs in ``cwd`` with ``-o out``)::

    root/victim.json  root/secret.txt  root/home/  root/d1/d2/d3/victim.json  root/d1/d2/d3/tmp/
    root/d1/d2/d3/work/            <- cwd: the case's input files, victim.json
    root/d1/d2/d3/work/out/        <- -o

so that a path escaping ``out`` by one to five ``..`` lands on a decoy inside ``root``; deeper or absolute escapes
are caught by the case's unique ``/tmp/fhir-adapter-hostile-<uuid>`` markers. Checks, in order: time limit (hang),
memory watchdog (RSS of the whole process tree polled every 20 ms, killed above the limit), no traceback, an allowed
exit code (never 4 or a signal), nothing outside ``out`` new, changed or removed, no marker created, no secret
leaked, every good record's bundle written, every bad record in ``errors.jsonl``.

Each case is a process of its own running ``python -m fhir_adapter convert ...``: forked from a warm ``ForkServer``
(``forkserver.py``: the interpreter start and first-conversion loading paid once, not 500 times), or, with
``HOSTILE_FORK=0``, started afresh. Either way it has its own process group, folder, environment and files.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import psutil

from .cases import REPO, SECRET_FILE, Big, Case, Expect

MEMORY_LIMIT = 1024 * 1024 * 1024  # bytes of RSS, whole process tree
POLL = 0.02
WORK = Path("d1/d2/d3/work")
TRACEBACK = "Traceback (most recent call last)"
PYTHON = REPO / ".venv" / "bin" / "python"
FORK_SERVER = Path(__file__).resolve().with_name("forkserver.py")

# ------------------------------------------------------------------------------------------------ results


@dataclass
class Result:
    case: str
    category: str
    rc: int | None = None
    seconds: float = 0.0
    peak_rss: int = 0
    hang: bool = False
    oom: bool = False
    crash: bool = False  # traceback, exit 4 or killed by a signal (not by us)
    traceback: bool = False
    bad_exit: bool = False  # an exit code the case does not allow (not a crash)
    outside: list[str] = field(default_factory=list)  # paths outside -o created, changed or removed; markers
    good_lost: list[str] = field(default_factory=list)
    bad_unreported: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    stderr_tail: str = ""
    errors_lines: int = 0
    written: list[str] = field(default_factory=list)  # what the run left in -o (names, first few)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not (
            self.hang
            or self.oom
            or self.crash
            or self.bad_exit
            or self.outside
            or self.good_lost
            or self.bad_unreported
            or self.leaks
        )

    def problems(self) -> list[str]:
        p = []
        if self.hang:
            p.append("hang: killed after the time limit")
        if self.oom:
            p.append(
                f"memory: process tree RSS {self.peak_rss / 2**20:.0f} MB, killed above {MEMORY_LIMIT / 2**20:.0f} MB"
            )
        if self.crash:
            p.append(f"crash: exit {self.rc}" + (", traceback on stderr" if self.traceback else ""))
        if self.bad_exit:
            p.append(f"exit code {self.rc} not allowed")
        if self.outside:
            p.append(f"wrote outside -o: {self.outside[:5]}")
        if self.leaks:
            p.append(f"secret leaked into: {self.leaks[:5]}")
        if self.good_lost:
            p.append(f"good records lost: {self.good_lost[:5]}")
        if self.bad_unreported:
            p.append(f"bad records not in errors.jsonl: {self.bad_unreported[:5]}")
        return p

    def describe(self) -> str:
        last = self.stderr_tail.strip().splitlines()[-1:] if self.stderr_tail.strip() else []
        return (
            f"{self.case} [{self.category}] exit={self.rc} {self.seconds:.1f}s rss={self.peak_rss / 2**20:.0f}MB"
            f"\n  "
            + "\n  ".join(self.problems() or ["ok"])
            + (f"\n  stderr last line: {last[0][:300]}" if last else "")
            + (f"\n  errors.jsonl lines: {self.errors_lines}; -o holds: {self.written[:6]}")
            + (f"\n  note: {self.note}" if self.note else "")
        )


# ------------------------------------------------------------------------------------------------ sandbox


class Cache:
    """Large generated inputs, built once per run and hard-linked into the sandboxes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.locks: dict[str, threading.Lock] = {}

    def path(self, big: Big) -> Path:
        with self.lock:
            lock = self.locks.setdefault(big.key, threading.Lock())
        with lock:
            target = self.folder / big.key
            if not target.exists():
                tmp = target.with_suffix(".part")
                big.build(tmp)
                tmp.rename(target)
            return target


def _materialise(value: Any, target: Path, cache: Cache, root: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, Big):
        source = cache.path(value)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        return
    data = value() if callable(value) else value
    target.write_bytes(_with_root(data, root))


def _with_root(data: bytes, root: Path) -> bytes:
    if b"{root}" in data:
        data = data.replace(b"{root}", str(root).encode())
    wide = "{root}".encode("utf-16-le")
    if wide in data:
        data = data.replace(wide, str(root).encode("utf-16-le"))
    return data


Snapshot = dict[str, tuple[Any, ...]]


def snapshot(root: Path, out: Path) -> Snapshot:
    """Every path under root except the contents of out: type, size, mtime, mode, symlink target."""
    snap: Snapshot = {}
    out_s = str(out)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if dirpath == out_s or dirpath.startswith(out_s + os.sep):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if p.startswith(out_s + os.sep):
                continue
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if p == out_s and os.path.isdir(p) and not os.path.islink(p):
                continue  # -o itself, as a folder: created by the run
            link = os.readlink(p) if os.path.islink(p) else None
            kind = "dir" if os.path.isdir(p) and link is None else "link" if link is not None else "file"
            snap[p] = (
                kind,
                st.st_size if kind == "file" else 0,
                st.st_mtime_ns if kind != "dir" else 0,
                st.st_mode,
                link,
            )
    return snap


def _setup_sandbox(root: Path, case: Case, cache: Cache) -> tuple[Path, Path]:
    cwd = root / WORK
    cwd.mkdir(parents=True)
    (root / "home").mkdir()
    (root / "d1/d2/d3/tmp").mkdir()
    for decoy in (root / "victim.json", root / "d1/d2/d3/victim.json", cwd / "victim.json"):
        decoy.write_text('{"victim": true}\n')
    (root / SECRET_FILE).write_text(f"HOSTILE-SECRET-{case.name}\n")
    for rel, value in case.files.items():
        _materialise(value, cwd / rel, cache, root)
    if case.setup is not None:
        case.setup(cwd, root)
    return cwd, cwd / case.out


# ------------------------------------------------------------------------------------------------ running


class _Tree:
    """The RSS of a process and all its descendants. Finding the descendants scans /proc, so it is redone every
    5th poll (100 ms; a worker pool appears well before it can grow); the RSS of the known ones is read every poll."""

    def __init__(self, pid: int) -> None:
        self.root: psutil.Process | None = None
        with contextlib.suppress(psutil.Error):  # a fork server's child may be gone (and reaped) already
            self.root = psutil.Process(pid)
        self.procs: list[psutil.Process] = [self.root] if self.root is not None else []
        self.polls = 0

    def rss(self) -> int:
        if self.polls % 5 == 0 and self.root is not None:
            with contextlib.suppress(psutil.Error):
                self.procs = [self.root, *self.root.children(recursive=True)]
        self.polls += 1
        total = 0
        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class Process(Protocol):
    """What the watchdog needs of a case's process: ``subprocess.Popen`` or a child of the fork server."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...


def case_environment(home: Path) -> dict[str, str]:
    """The environment of a case's process (the fork server starts with it too, ``home`` aside)."""
    env = dict(os.environ, HOME=str(home), NO_COLOR="1", COLUMNS="200", PYTHONDONTWRITEBYTECODE="1")
    if os.environ.get("HOSTILE_SRC"):  # run another copy of the product (e.g. a BEFORE snapshot of src/)
        env["PYTHONPATH"] = os.environ["HOSTILE_SRC"]
    return env


def _python() -> str:
    return str(PYTHON if PYTHON.exists() else "python3")


class _Child:
    """A case's process forked by the fork server; its exit status comes back through the server."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rc: int | None = None
        self.done = threading.Event()

    def poll(self) -> int | None:
        return self.rc

    def wait(self) -> int:
        self.done.wait()
        assert self.rc is not None
        return self.rc

    @property
    def returncode(self) -> int | None:
        return self.rc


class ForkServer:
    """Starts ``forkserver.py`` once (warm) and asks it for one child process per case (see its docstring)."""

    def __init__(self, base: Path) -> None:
        requests_r, self._requests = os.pipe()
        answers_r, answers_w = os.pipe()
        home = base / "_forkserver_home"
        home.mkdir(exist_ok=True)
        self.log = open(base / "_forkserver.log", "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [_python(), str(FORK_SERVER), str(requests_r), str(answers_w)],
            pass_fds=(requests_r, answers_w),
            cwd=base,
            env=case_environment(home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        os.close(requests_r)
        os.close(answers_w)
        self._answers: IO[bytes] = os.fdopen(answers_r, "rb")
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._started: dict[int, queue.Queue[_Child]] = {}
        self._by_pid: dict[int, _Child] = {}
        self._ready = threading.Event()
        threading.Thread(target=self._read_answers, name="hostile-forkserver", daemon=True).start()
        if not self._ready.wait(120):
            raise RuntimeError(f"the hostile fork server did not get ready; see {self.log.name}")

    def _read_answers(self) -> None:
        for line in self._answers:
            message = json.loads(line)
            if message["event"] == "ready":
                self._ready.set()
            elif message["event"] == "started":
                child = _Child(message["pid"])
                with self._lock:
                    self._by_pid[child.pid] = child  # a pid is reused only after its exit was read
                    answer = self._started.pop(message["id"])
                answer.put(child)
            elif message["event"] == "exited":
                with self._lock:
                    done = self._by_pid.pop(message["pid"])
                done.rc = message["rc"]
                done.done.set()

    def spawn(self, args: list[str], cwd: Path, env: dict[str, str], stdin: Path, stdout: Path, stderr: Path) -> _Child:
        """A child running ``python -m fhir_adapter ARGS`` in ``cwd`` with this environment and standard files."""
        answer: queue.Queue[_Child] = queue.Queue()
        request_id = next(self._ids)
        request = {"id": request_id, "args": args, "cwd": str(cwd), "env": env}
        request |= {"stdin": str(stdin), "stdout": str(stdout), "stderr": str(stderr)}
        with self._lock:
            self._started[request_id] = answer
            os.write(self._requests, json.dumps(request).encode() + b"\n")
        return answer.get(timeout=60)

    def close(self) -> None:
        os.close(self._requests)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=60)
        self.log.close()


def _start(
    args: list[str], cwd: Path, env: dict[str, str], files: tuple[Path, Path, Path], server: ForkServer | None
) -> Process:
    stdin_path, out_path, err_path = files
    if server is not None:
        return server.spawn(args, cwd, env, stdin_path, out_path, err_path)
    with open(stdin_path, "rb") as stdin, open(out_path, "wb") as stdout, open(err_path, "wb") as stderr:
        return subprocess.Popen(
            [_python(), "-m", "fhir_adapter", *args],
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )


def run_case(case: Case, base: Path, cache: Cache, server: ForkServer | None = None) -> Result:
    """Run one case in a fresh sandbox and check it (``server``: fork the process from it instead of exec)."""
    result = Result(case.name, case.category)
    root = Path(tempfile.mkdtemp(prefix=f"{case.name[:40]}-", dir=base))
    logs = base / "_logs"
    logs.mkdir(exist_ok=True)
    try:
        cwd, out = _setup_sandbox(root, case, cache)
        before = snapshot(root, out)
        args = ["convert", *case.inputs, "-o", case.out, "--workers", str(case.workers)]
        env = case_environment(root / "home")
        stdin_path = logs / f"{root.name}.stdin"
        if case.stdin is not None:
            data = case.stdin() if callable(case.stdin) else case.stdin
            assert isinstance(data, bytes)
            stdin_path.write_bytes(data)
        err_path = logs / f"{root.name}.stderr"
        out_path = logs / f"{root.name}.stdout"
        start = time.monotonic()
        files = (stdin_path if case.stdin is not None else Path(os.devnull), out_path, err_path)
        out_path.touch()
        err_path.touch()
        proc = _start(args, cwd, env, files, server)
        tree = _Tree(proc.pid)
        while True:
            rc = proc.poll()
            if rc is not None:
                break
            rss = tree.rss()
            result.peak_rss = max(result.peak_rss, rss)
            if rss > MEMORY_LIMIT:
                result.oom = True
                _kill_group(proc.pid)
                proc.wait()
                break
            if time.monotonic() - start > case.timeout:
                result.hang = True
                _kill_group(proc.pid)
                proc.wait()
                break
            time.sleep(POLL)
        _kill_group(proc.pid)  # leftover workers of our own process group
        result.seconds = time.monotonic() - start
        result.rc = proc.returncode
        stderr_text = err_path.read_bytes().decode("utf-8", "replace")
        result.stderr_tail = stderr_text[-3000:]
        result.traceback = TRACEBACK in stderr_text
        if not (result.hang or result.oom):
            result.crash = TRACEBACK in stderr_text or proc.returncode == 4 or proc.returncode < 0
            result.bad_exit = not result.crash and proc.returncode not in case.allowed_exit_codes()
        elif TRACEBACK in stderr_text:
            result.note = "traceback on stderr before it was killed"
        _check_outputs(
            case, result, root, cwd, out, before, stderr_text + out_path.read_bytes().decode("utf-8", "replace")
        )
    finally:
        for name in (".stdin", ".stderr", ".stdout"):
            (logs / f"{root.name}{name}").unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)
        for m in case.markers:
            for p in Path(m).parent.glob(Path(m).name + "*"):
                with contextlib.suppress(OSError):
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    return result


def _check_outputs(
    case: Case, result: Result, root: Path, cwd: Path, out: Path, before: Snapshot, console: str
) -> None:
    after = snapshot(root, out)
    for p in sorted(set(before) | set(after)):
        if before.get(p) != after.get(p):
            state = "new" if p not in before else "removed" if p not in after else "changed"
            result.outside.append(f"{state}: {os.path.relpath(p, cwd)}")
    for m in case.markers:
        result.outside += [f"new: {p}" for p in Path(m).parent.glob(Path(m).name + "*")]
    if case.secret:
        token = f"HOSTILE-SECRET-{case.name}"
        if token in console:
            result.leaks.append("stdout/stderr")
        if out.is_dir():
            for p in out.rglob("*"):
                with contextlib.suppress(OSError):
                    if p.is_file() and token.encode() in p.read_bytes():
                        result.leaks.append(str(p.relative_to(cwd)))
    if not out.is_dir() or out.is_symlink():
        result.good_lost += [e.nct or "" for e in case.expect if e.kind == "good"]
        result.bad_unreported += [_label(e) for e in case.expect if e.kind == "bad"]
        return
    with contextlib.suppress(OSError):
        result.written = sorted(p.name for p in out.iterdir())
    errors = _errors(out / "errors.jsonl")
    result.errors_lines = len(errors)
    for e in case.expect:
        converted = e.nct is not None and _has_bundle(out, e.nct)
        reported = any(_matches(e, line, cwd) for line in errors)
        if e.kind == "good" and not converted:
            result.good_lost.append(e.nct or "?")
        elif e.kind == "bad" and not reported:
            result.bad_unreported.append(_label(e))
        elif e.kind == "either" and not (converted or reported):
            result.good_lost.append(f"{e.nct} (neither converted nor reported: {_label(e)})")


def _label(e: Expect) -> str:
    return e.source + (f"#{e.index}" if e.index is not None else "")


def _errors(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            value = {"source": None, "unparsable": raw[:200].decode("utf-8", "replace")}
        if isinstance(value, dict):
            lines.append(value)
    return lines


def _matches(e: Expect, line: dict[str, Any], cwd: Path) -> bool:
    source = line.get("source")
    if not isinstance(source, str):
        return False
    wanted = {e.source, str(cwd / e.source), os.path.normpath(e.source)}
    if "!" in e.source:  # a ZIP member: refusing the whole archive also names it
        archive = e.source.split("!", 1)[0]
        wanted |= {archive, str(cwd / archive)}
    if source not in wanted:
        return False
    if "!" in e.source and "!" not in source:
        return True
    return e.index is None or line.get("index") == e.index


def _has_bundle(out: Path, nct: str) -> bool:
    path = out / f"{nct}.json"
    if path.is_symlink() or not path.is_file():
        return False
    try:
        bundle = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    for entry in bundle.get("entry", []) if isinstance(bundle, dict) else []:
        resource = entry.get("resource", {}) if isinstance(entry, dict) else {}
        if resource.get("resourceType") == "ResearchStudy":
            return any(i.get("value") == nct for i in resource.get("identifier", []) if isinstance(i, dict))
    return False


# ------------------------------------------------------------------------------------------------ many cases


class Session:
    """Runs cases two at a time in the background, each in a process forked from one warm ``ForkServer``;
    ``result(name)`` waits for one."""

    def __init__(self, cases: Iterable[Case], jobs: int = 2) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="fha-hostile-"))
        self.cache = Cache(self.base / "_cache")
        self.cache.folder.mkdir()
        cases = list(cases)
        # HOSTILE_FORK=0: every case starts a fresh interpreter (slower; to rule the fork server out)
        use_server = bool(cases) and os.environ.get("HOSTILE_FORK", "1") != "0"
        self.server = ForkServer(self.base) if use_server else None
        self.pool = ThreadPoolExecutor(max_workers=jobs)
        self.futures = {c.name: self.pool.submit(run_case, c, self.base, self.cache, self.server) for c in cases}

    def result(self, name: str) -> Result:
        return self.futures[name].result()

    def results(self) -> Iterator[Result]:
        for f in self.futures.values():
            yield f.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.server is not None:
            self.server.close()
        shutil.rmtree(self.base, ignore_errors=True)


COLUMNS = (
    "tried",
    "crashes",
    "hangs",
    "> 1 GB",
    "writes outside -o",
    "good records lost",
    "bad records not reported",
    "cases failing",
)


def table(results: list[Result]) -> str:
    from .cases import CATEGORIES

    rows = []
    cats = [c for c in CATEGORIES if any(r.category == c for r in results)]
    totals = [0] * len(COLUMNS)
    for cat in cats:
        rs = [r for r in results if r.category == cat]
        row = [
            len(rs),
            sum(r.crash for r in rs),
            sum(r.hang for r in rs),
            sum(r.oom for r in rs),
            sum(bool(r.outside) for r in rs),
            sum(len(r.good_lost) for r in rs),
            sum(len(r.bad_unreported) for r in rs),
            sum(not r.ok for r in rs),
        ]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        rows.append([cat, *row])
    rows.append(["**total**", *totals])
    head = "| category | " + " | ".join(COLUMNS) + " |"
    sep = "|---|" + "---:|" * len(COLUMNS)
    return "\n".join([head, sep, *("| " + " | ".join(str(x) for x in r) + " |" for r in rows)])


def run_all(cases: Iterable[Case], jobs: int = 2) -> tuple[list[Result], float]:
    start = time.monotonic()
    session = Session(cases, jobs)
    try:
        results = list(session.results())
    finally:
        session.close()
    return results, time.monotonic() - start
