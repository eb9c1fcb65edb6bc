"""FakeWebhook: a local Slack incoming-webhook endpoint, so notifications are tested without Slack.

It records every JSON body, answers `ok` like Slack, and can be told to fail the next posts so
retry and "notification failed" paths can be exercised.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from fakes.httpserver import StoppableServer


class _WebhookServer(StoppableServer):
    def __init__(self, address, hook: FakeWebhook) -> None:
        self.hook = hook
        super().__init__(address, _WebhookHandler)


class _WebhookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-webhook"
    timeout = 30

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass

    def do_POST(self):
        hook: FakeWebhook = self.server.hook  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, reply = hook._receive(self.path, body)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class FakeWebhook:
    """with FakeWebhook() as hook: post JSON to hook.url; read hook.messages / hook.texts()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._server: _WebhookServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._messages: list = []
        self._attempts: list[tuple[str, int]] = []
        self._fail_left = 0
        self._fail_status = 500

    def start(self) -> FakeWebhook:
        if self._server is None:
            self._server = _WebhookServer(self._address, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-webhook",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None

    def __enter__(self) -> FakeWebhook:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeWebhook is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/services/T000/B000/XXXX"

    @property
    def messages(self) -> list:
        """Parsed JSON bodies of the posts that succeeded, oldest first."""
        with self._lock:
            return list(self._messages)

    @property
    def attempts(self) -> list[tuple[str, int]]:
        """(path, status) of every post, failed ones included."""
        with self._lock:
            return list(self._attempts)

    def texts(self) -> list[str]:
        """Each message's `text` plus every text found in its `blocks` / `attachments`."""
        out: list[str] = []
        for message in self.messages:
            if isinstance(message, dict):
                if isinstance(message.get("text"), str):
                    out.append(message["text"])
                for key in ("blocks", "attachments"):
                    _collect_text(message.get(key), out)
        return out

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next `n` posts with `status` (and do not record them as messages)."""
        with self._lock:
            self._fail_left = n
            self._fail_status = status

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        """Block until at least `count` messages arrived (or timeout); returns the messages."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._attempts.clear()

    def _receive(self, path: str, body: bytes) -> tuple[int, bytes]:
        with self._changed:
            if self._fail_left > 0:
                self._fail_left -= 1
                self._attempts.append((path, self._fail_status))
                return self._fail_status, b"internal_error"
            try:
                message = json.loads(body or b"null")
            except ValueError:
                self._attempts.append((path, 400))
                return 400, b"invalid_payload"
            self._messages.append(message)
            self._attempts.append((path, 200))
            self._changed.notify_all()
            return 200, b"ok"


def _collect_text(node, out: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect_text(item, out)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "fallback", "pretext", "title", "value") and isinstance(value, str):
                out.append(value)
            else:
                _collect_text(value, out)
