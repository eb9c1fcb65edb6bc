"""Serving a local flat mirror to brew clients: read-only, only what brew asks for, nothing outside the folder.

brew pointed at a mirror (homebrew.md section 4) asks for `<base>/<url-encoded bottle file>` (HEAD, then
GET), `<base>/<image>/manifests/<tag>` (brew 6.0.13+) and `<base>/api/...jws.json` with If-Modified-Since.
The state, run documents, locks and anything hidden are never served, and no folder is listed.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from homebrew_sync.errors import ConfigError
from homebrew_sync.registry import OCI_INDEX

log = logging.getLogger(__name__)

# What a client may read (paths relative to the mirror root, decoded): flat bottles, image indexes, API files.
_BOTTLE = re.compile(r"[a-z0-9][A-Za-z0-9@+._-]*\.bottle(?:\.\d+)?\.tar\.gz")
_MANIFEST = re.compile(r"[a-z0-9][A-Za-z0-9@+._/-]*/manifests/[A-Za-z0-9][A-Za-z0-9._+-]*")
_API = re.compile(r"api/(?:internal/)?[a-z0-9_]+(?:\.[a-z0-9_]+)*\.json")


def servable(path: str) -> bool:
    """Whether a decoded, root-relative path is something brew reads from a mirror."""
    if ".." in path or "//" in path or any(part.startswith(".") for part in path.split("/")):
        return False
    return bool(_BOTTLE.fullmatch(path) or _MANIFEST.fullmatch(path) or _API.fullmatch(path))


def content_type(path: str) -> str:
    if "/manifests/" in path:
        return OCI_INDEX
    if path.endswith(".json"):
        return "application/json"
    return "application/gzip"


def client_env_lines(url: str) -> list[str]:
    """The `export` lines that point brew at a mirror, with ghcr.io and formulae.brew.sh out of the loop."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"not a mirror base URL (http[s]://host[:port][/path]): {url!r}")
    base = url.rstrip("/")
    return [
        f"export HOMEBREW_BOTTLE_DOMAIN={base}",
        f"export HOMEBREW_ARTIFACT_DOMAIN={base}",
        "export HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK=1",
        f"export HOMEBREW_API_DOMAIN={base}/api",
    ]


class MirrorRequestHandler(SimpleHTTPRequestHandler):
    """The standard library's static file handler, narrowed to the mirror's serving rules."""

    server_version = "homebrew-sync"
    protocol_version = "HTTP/1.1"
    log_requests = False

    def send_head(self):
        relative = unquote(urlsplit(self.path).path).lstrip("/")
        root = Path(self.directory).resolve()
        target = (root / relative).resolve()
        if not servable(relative) or not target.is_relative_to(root) or not target.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "Not Found")
            return None
        return super().send_head()

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return content_type(Path(path).as_posix())

    def list_directory(self, path: str | os.PathLike[str]) -> None:  # never reached; never list anything
        self.send_error(HTTPStatus.NOT_FOUND, "Not Found")
        return None

    def _read_only(self) -> None:
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "Read-only mirror")

    do_POST = do_PUT = do_DELETE = do_PATCH = _read_only

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "public, max-age=300")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
        if self.log_requests:
            log.info("request", extra={"client": self.client_address[0], "line": format % args})


def make_server(
    dest: str | os.PathLike[str], host: str, port: int, *, log_requests: bool = False
) -> ThreadingHTTPServer:
    """A server for the mirror folder `dest`, bound but not yet serving."""
    root = Path(dest)
    if not root.is_dir():
        raise ConfigError(f"no mirror folder at {str(root)!r} (run `homebrew-sync sync --layout flat` first)")
    handler = partial(MirrorRequestHandler, directory=str(root.resolve()))
    MirrorRequestHandler.log_requests = log_requests
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server


def base_url(server: ThreadingHTTPServer) -> str:
    address, port = server.server_address[:2]
    host = address.decode() if isinstance(address, bytes) else str(address)
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    return f"http://{host}:{port}"


def serve_mirror(dest: str, host: str, port: int, *, log_requests: bool = False) -> int:
    """Serve until SIGINT/SIGTERM, after printing what a brew user on this network needs to export."""
    server = make_server(dest, host, port, log_requests=log_requests)
    if not (Path(dest) / "api").is_dir():
        print("note: this mirror holds no api/ files; HOMEBREW_API_DOMAIN will not work", file=sys.stderr)
    print(f"serving {Path(dest).resolve()} at {base_url(server)} (read-only); for brew:")
    print("\n".join(client_env_lines(base_url(server))), flush=True)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
