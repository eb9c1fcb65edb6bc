"""The request handling both fake hosts share: the request log and JSON error bodies.

Every request is logged as its response starts, so a test that sees an answer can always find the
request behind it in `FakeUpstream.requests`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from fakes.httpserver import StoppableServer

if TYPE_CHECKING:
    from fakes.server import FakeUpstream


@dataclass
class RequestRecord:
    """One request as the upstream saw it. Also readable as a mapping (record["status"])."""

    host: str  # "main" (API + registry) or "blob" (the redirect target)
    method: str
    path: str
    status: int
    headers: dict[str, str]
    sha256: str | None = None
    bytes_sent: int = 0
    completed: bool = True
    note: str = ""
    time: float = field(default_factory=time.time)

    def __getitem__(self, key: str):
        return getattr(self, key)


class Server(StoppableServer):
    """One of the two hosts; handlers reach the FakeUpstream (catalogue, faults, log) through it."""

    def __init__(self, address, handler, upstream: FakeUpstream) -> None:
        self.upstream = upstream
        super().__init__(address, handler)


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, every request logged, a hang-up recorded as an incomplete response."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream"
    timeout = 120
    host_label = ""

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    @property
    def up(self) -> FakeUpstream:
        return self.server.upstream  # type: ignore[attr-defined]

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._start()
        self._error(405, "UNSUPPORTED", "method not allowed")

    def _start(self) -> None:
        self._record: RequestRecord | None = None
        self._sha: str | None = None
        self._note = ""

    def _open_record(self, status: int, completed: bool) -> RequestRecord:
        """Log the request as its response starts, so a client never sees an answer it can't find
        in `requests`; streaming updates bytes_sent/completed in place."""
        record = RequestRecord(
            host=self.host_label,
            method=self.command,
            path=self.path,
            status=status,
            headers=dict(self.headers.items()),
            sha256=self._sha,
            completed=completed,
            note=self._note,
        )
        self._record = record
        self.up._log(record)
        return record

    def _dispatch(self) -> None:
        self._start()
        try:
            self._route()
        except OSError:  # the client hung up, timed out, or stop() cut the connection
            self.close_connection = True
            if self._record is not None:
                self._record.completed = False
        if self._record is None:
            self._open_record(0, completed=False)

    def _route(self) -> None:
        raise NotImplementedError

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", headers=None) -> None:
        with_body = self.command != "HEAD" and status != 304 and bool(body)
        record = self._open_record(status, completed=True)
        record.bytes_sent = len(body) if with_body else 0
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, headers=None, detail=None) -> None:
        error: dict = {"code": code, "message": message}
        if detail is not None:
            error["detail"] = detail
        self._send(status, json.dumps({"errors": [error]}).encode(), headers=headers)
