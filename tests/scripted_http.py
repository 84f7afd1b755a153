"""A scripted HTTP server on 127.0.0.1 for the retry tests of both HTTP clients.

``responses`` replaces the transport, so it cannot show urllib3's real sleeps, read timeouts or connection resets;
this server does. Each request takes the next action of the script (the last one repeats):
``("status", code, headers, body)``, ``("reset",)`` (close with RST: "connection reset by peer") or
``("hang", seconds)`` (answer nothing until the client's read timeout has passed).
"""

from __future__ import annotations

import socket
import struct
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3.util.retry


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: list[tuple[Any, ...]], base_path: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.base_path = base_path
        self.calls: list[str] = []  # "METHOD /path?query" of every request
        self.paths: list[str] = []  # "/path?query" of every request
        self.stop = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{self.base_path}"


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.calls.append(f"{self.command} {self.path}")
        self.server.paths.append(self.path)
        script = self.server.script
        action = script.pop(0) if len(script) > 1 else script[0]
        if action[0] == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if action[0] == "hang":
            self.server.stop.wait(action[1])
            self.close_connection = True
            return
        _, status, headers, body = action
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer


@contextmanager
def serve(*script: tuple[Any, ...], base_path: str) -> Iterator[ScriptedServer]:
    server = ScriptedServer(list(script), base_path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()


def recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """urllib3's sleeps between retries, recorded instead of slept (for a fixture)."""
    slept: list[float] = []
    monkeypatch.setattr(
        urllib3.util.retry, "time", types.SimpleNamespace(sleep=slept.append, time=__import__("time").time)
    )
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return slept
