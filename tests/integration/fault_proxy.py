"""A fault-injecting HTTP proxy on 127.0.0.1 in front of a real FHIR server (stdlib only), for
tests/integration/test_fault_push.py.

Each request the proxy receives draws its fate from a seeded ``random.Random`` in arrival order, so a run with the
same client and seed meets the same faults. The faults:

- ``500``, ``503`` (with ``Retry-After``), ``429`` (with ``Retry-After``): answered by the proxy, nothing forwarded;
- ``reset``: forwarded, the server's answer cut in the middle of its body, then the connection reset (RST);
- ``drop``: forwarded, the server's answer read in full (the server has committed), then the connection reset
  without a byte of it: a response lost after the write;
- ``delay``: forwarded, the answer held back ``delay_s`` seconds (less than the client's read timeout);
- ``timeout``: forwarded, the answer held back ``timeout_s`` seconds (more than the client's read timeout), then
  dropped.

``persistent_drops`` names transactions (POSTs with a ``"transaction"`` Bundle, numbered from 0 in the order their
first attempt arrives) whose every attempt is forwarded and dropped: the client can only learn their fate by reading
back. ``enabled = False`` forwards everything untouched. Every decision is recorded in ``log``.
"""

from __future__ import annotations

import hashlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}
ANSWERED = {
    "500": (500, "Internal Server Error"),
    "503": (503, "Service Unavailable"),
    "429": (429, "Too Many Requests"),
}


@dataclass
class Schedule:
    """Probabilities of each fault per request (the rest is forwarded untouched), and the transactions always
    dropped."""

    seed: int = 8
    rates: dict[str, float] = field(default_factory=dict)
    persistent_drops: frozenset[int] = frozenset()
    retry_after: str = "1"
    delay_s: float = 0.5
    timeout_s: float = 4.0

    def __post_init__(self) -> None:
        unknown = set(self.rates) - {*ANSWERED, "reset", "drop", "delay", "timeout"}
        assert not unknown, f"unknown faults {unknown}"
        assert sum(self.rates.values()) < 1


class FaultProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, schedule: Schedule) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.path_prefix = parts.path.rstrip("/")
        self.schedule = schedule
        self.random = random.Random(schedule.seed)
        self.enabled = True
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, str]] = []  # (method, path, fault or "ok")
        self.transactions: dict[str, int] = {}  # digest of a transaction body -> its number
        self.stop = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client gave up (read timeout) while an answer was held back: expected, not worth a traceback

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{self.path_prefix}"

    @property
    def faults(self) -> Counter[str]:
        return Counter(f for _, _, f in self.log if f != "ok")

    def decide(self, method: str, path: str, body: bytes) -> str:
        with self.lock:
            fault = "ok"
            if self.enabled:
                if method == "POST" and b'"transaction"' in body[:200]:
                    digest = hashlib.sha256(body).hexdigest()
                    number = self.transactions.setdefault(digest, len(self.transactions))
                    if number in self.schedule.persistent_drops:
                        fault = "drop"
                if fault == "ok":
                    draw, edge = self.random.random(), 0.0
                    for name, rate in sorted(self.schedule.rates.items()):
                        edge += rate
                        if draw < edge:
                            fault = name
                            break
            self.log.append((method, path, fault))
            return fault

    def forward(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            out = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"}
            out["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            out["Content-Length"] = str(len(body))
            conn.request(method, path, body=body if body else None, headers=out)
            response = conn.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, response.reason, kept, data
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    server: FaultProxy
    protocol_version = "HTTP/1.0"  # one request per connection: a reset never hits a pooled connection by surprise

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = self.server.decide(self.command, self.path, body)
        schedule = self.server.schedule
        if fault in ANSWERED:
            status, reason = ANSWERED[fault]
            payload = (
                f'{{"resourceType":"OperationOutcome","issue":[{{"severity":"error","code":"transient",'
                f'"diagnostics":"injected {status}"}}]}}'.encode()
            )
            self.send_response(status, reason)
            if status in (429, 503):
                self.send_header("Retry-After", schedule.retry_after)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        status, reason, headers, data = self.server.forward(self.command, self.path, self.headers, body)
        if fault == "drop":
            self._reset()
            return
        if fault in ("delay", "timeout"):
            self.server.stop.wait(schedule.delay_s if fault == "delay" else schedule.timeout_s)
            if fault == "timeout":
                self._reset()
                return
        self.send_response(status, reason)
        for k, v in headers:
            if k.lower() not in ("server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault == "reset":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(0.01)
            self._reset()
            return
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any
