"""A fork server for the hostile suite: ``python -m fhir_adapter`` for every case, without its start-up each time.

Most of a hostile case's CPU time was the start of a fresh interpreter (imports of pydantic, fhir.resources, typer)
and the first conversion's one-off loading (model classes, profile tables), about 1 s of CPU a case on this
machine, for 500+ cases. This process pays it once: it imports the command line and converts one record of each
format, then waits for requests and forks one child per case. The child is still a process of its own, as before:
its own session and process group (the runner's watchdog measures and kills that group), working folder,
environment, standard input/output/error files and exit status. It then runs ``fhir_adapter.__main__`` exactly as
``python -m fhir_adapter ARGS`` would (``runpy``, ``sys.argv``, ``sys.path[0]`` = the working folder), and exits
through the interpreter's normal shutdown with the command's exit code (a traceback and 1 for an uncaught error).

Protocol (one JSON object a line): requests on file descriptor ``argv[1]``
``{"id": N, "args": [...], "cwd": "...", "env": {...}, "stdin": PATH, "stdout": PATH, "stderr": PATH}``; answers on
``argv[2]``: ``{"event": "ready"}`` once warm, ``{"event": "started", "id": N, "pid": P}`` after each fork and
``{"event": "exited", "pid": P, "rc": RC}`` when a child ends (RC as ``subprocess.Popen.returncode``: minus the
signal number for a signal). The server is single-threaded (``fork`` copies only the calling thread) and ends when
its request pipe is closed. Not used when ``HOSTILE_FORK=0`` (each case then starts ``python -m fhir_adapter``).
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import select
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parents[2]
WARM_INPUTS = (  # one record of each reader: the first conversion of each loads its tables
    REPO / "seeds" / "001_6fa90757b4c221a6.txt",
    REPO / "tests" / "data" / "ctgov-v2" / "NCT00763412.json",
    REPO / "tests" / "data" / "ctgov-xml" / "NCT03133988.xml",
    REPO / "tests" / "data" / "ctgov-v1" / "NCT00023673.json",
)


def _warm_up() -> None:
    """Import the command line and convert and validate one record of each format (as the first case would)."""
    import fhir_adapter.cli  # noqa: F401  (what ``python -m fhir_adapter`` imports first)
    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.sources import read_records
    from fhir_adapter.validate import validate

    for record in read_records(list(WARM_INPUTS)):
        if record.trial is not None:
            validate(to_bundle(record.trial))


def _run_case(request: dict[str, Any], channel: tuple[int, int]) -> NoReturn:
    """In the forked child: become the case's process and run the command line; never returns."""
    for fd in channel:
        os.close(fd)  # the case must not hold the server's pipes
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for target, (key, flags) in enumerate(
        (("stdin", os.O_RDONLY), ("stdout", os.O_WRONLY | os.O_TRUNC), ("stderr", os.O_WRONLY | os.O_TRUNC))
    ):
        fd = os.open(request[key], flags)
        os.dup2(fd, target)
        os.close(fd)
    sys.argv = ["-m", *request["args"]]
    sys.path[0] = request["cwd"]  # as ``python -m`` puts the working folder first
    runpy.run_module("fhir_adapter", run_name="__main__", alter_sys=True)
    sys.exit(0)  # the command returned without exiting


def _send(out: int, message: dict[str, Any]) -> None:
    os.write(out, json.dumps(message).encode() + b"\n")


def _reap(out: int) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(out, {"event": "exited", "pid": pid, "rc": os.waitstatus_to_exitcode(status)})


def serve(requests_fd: int, answers_fd: int) -> None:
    try:
        _warm_up()
    except Exception as e:  # the cases will meet (and report) the same failure in their own process
        print(f"forkserver: warm-up failed: {e!r}", file=sys.stderr, flush=True)
    assert threading.active_count() == 1, "fork needs a single-threaded server"
    gc.freeze()  # the children's collector leaves the warm heap alone: no copy-on-write of every page it holds
    _send(answers_fd, {"event": "ready"})
    pending = b""
    while True:
        readable, _, _ = select.select([requests_fd], [], [], 0.005)
        _reap(answers_fd)
        if not readable:
            continue
        chunk = os.read(requests_fd, 1 << 16)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            request = json.loads(line)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _run_case(request, (requests_fd, answers_fd))
            _send(answers_fd, {"event": "started", "id": request["id"], "pid": pid})
    while True:  # the runner is gone: wait for the last children so that none is left a zombie
        try:
            os.wait()
        except ChildProcessError:
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
