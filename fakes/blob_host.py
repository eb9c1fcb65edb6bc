"""pkg-containers.githubusercontent.com: where ghcr's 307 sends a blob download.

Signed URLs that expire, raw bytes with ranges, no Authorization accepted (a client that forwards
ghcr's Bearer header across hosts leaks it), and the blob faults: truncation, stalls, slow drips and
wrong bytes.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from fakes.blobs import BLOCK, BlobSpec, iter_blob_bytes
from fakes.faults import BLOB_HOST_KINDS
from fakes.handler import Handler

BLOB_PATH = re.compile(r"/ghcr1/blobs/sha256:([0-9a-f]{64})")
_WRONG_BYTES_XOR = 0x5A5A_5A5A_5A5A_5A5A


class BlobHandler(Handler):
    """pkg-containers.githubusercontent.com: signed URLs, raw bytes, no Authorization accepted."""

    host_label = "blob"

    def _route(self) -> None:
        split = urlsplit(self.path)
        if "Authorization" in self.headers:
            # A client that forwards ghcr's Bearer header across hosts leaks it; refuse loudly.
            self._note = "authorization refused"
            self._send(400, b"Authorization header is not allowed on this host", content_type="text/plain")
            return
        match = BLOB_PATH.fullmatch(split.path)
        if not match:
            self._send(404, b"BlobNotFound", content_type="text/plain")
            return
        sha = self._sha = match.group(1)
        if not self.up._verify_signature(sha, parse_qs(split.query)):
            self._send(403, b"AuthenticationFailed", content_type="text/plain")
            return
        try:
            spec = self.up.catalogue.blob(sha)
        except KeyError:
            self._send(404, b"BlobNotFound", content_type="text/plain")
            return
        span = _parse_range(self.headers.get("Range"), spec.size)
        if span is None:
            self._send(416, b"", content_type="text/plain", headers={"Content-Range": f"bytes */{spec.size}"})
            return
        start, stop, partial = span
        fault = self.up.faults.take([sha], BLOB_HOST_KINDS) if self.command == "GET" else None
        self._note = f"fault:{fault.kind}" if fault else ""
        status = 206 if partial else 200
        self._expected = stop - start
        self._open_record(status, completed=self.command == "HEAD" or stop == start)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"0x{sha[:16].upper()}"')
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{spec.size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        self._stream(spec, start, stop, fault)

    def _write(self, piece: bytes, may_complete: bool = True) -> None:
        # Account before writing: once the client holds the last byte, the log already says so.
        record = self._record
        record.bytes_sent += len(piece)
        record.completed = may_complete and record.bytes_sent >= self._expected
        try:
            self.wfile.write(piece)
        except OSError:
            record.bytes_sent -= len(piece)
            record.completed = False
            raise

    def _abort(self) -> None:
        self._record.completed = False
        self.close_connection = True

    def _stream(self, spec: BlobSpec, start: int, stop: int, fault) -> None:
        stopping = self.up._stop_event
        kind = fault.kind if fault else ""
        if kind == "wrong_bytes":
            spec = BlobSpec(spec.size, spec.seed ^ _WRONG_BYTES_XOR)
        if kind == "truncated":
            # Full Content-Length promised, half delivered, then the connection closes.
            for piece in iter_blob_bytes(spec, BLOCK, start, start + (stop - start) // 2):
                self._write(piece, may_complete=False)
            self._abort()
            return
        pos = start
        if kind == "stall":
            prefix = min(int(fault.params["prefix_bytes"]), stop - start)
            for piece in iter_blob_bytes(spec, BLOCK, start, start + prefix):
                self._write(piece)
            self.wfile.flush()
            pos = start + prefix
            if stopping.wait(float(fault.params["seconds"])):
                self._abort()
                return
        if kind == "slow_drip":
            interval = float(fault.params["interval"])
            for piece in iter_blob_bytes(spec, max(1, int(fault.params["chunk"])), pos, stop):
                self._write(piece)
                if stopping.wait(interval):
                    self._abort()
                    return
            return
        for piece in iter_blob_bytes(spec, BLOCK, pos, stop):
            if stopping.is_set():
                self._abort()
                return
            self._write(piece)


def _parse_range(header: str | None, size: int) -> tuple[int, int, bool] | None:
    """(start, stop, partial) for a single `bytes=` range; None when unsatisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return 0, size, False
    first, _, last = header[len("bytes=") :].strip().partition("-")
    try:
        if first == "":
            length = int(last)
            start, stop = max(0, size - length), size
        else:
            start = int(first)
            stop = min(size, int(last) + 1) if last else size
    except ValueError:
        return 0, size, False
    if start >= size or start >= stop:
        return None
    return start, stop, True
