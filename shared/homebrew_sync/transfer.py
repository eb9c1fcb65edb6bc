"""Moving one bottle: registry blob -> sha256/size check -> storage, with retries and stop handling.

Memory stays bounded whatever the bottle size: bytes flow through in chunks of at most 1 MiB and the
storage decides how much to buffer (nothing locally, one part for S3). An abort shuts the sockets of
transfers in flight down (a blocked read returns at once) and cuts retry waits short.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import requests
import urllib3.exceptions

from homebrew_sync.errors import IntegrityError, TransferAborted, UpstreamError
from homebrew_sync.http import HttpClient, RetryState
from homebrew_sync.storage import CHUNK, Storage
from homebrew_sync.urls import blob_url

if TYPE_CHECKING:
    from homebrew_sync.config import Settings
    from homebrew_sync.models import PlannedBottle

_STREAM_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)
INTEGRITY_RETRIES = 1  # wrong bytes once may be a bad cache node; twice is the blob itself


class SlowTransfer(UpstreamError):
    """The body arrived slower than the configured floor (a slow drip)."""


class Transfer:
    def __init__(self, settings: Settings, http: HttpClient, storage: Storage) -> None:
        self.settings = settings
        self.http = http
        self.storage = storage
        self.abort = threading.Event()
        self.on_bytes: Callable[[int], None] | None = None  # progress display
        self._active: set[requests.Response] = set()
        self._lock = threading.Lock()

    def abort_all(self) -> None:
        """Abandon every transfer in flight (their partial bytes are discarded, never stored).

        Closing a response does not interrupt a read blocked on a stalled socket; shutting the socket
        down (urllib3 2.3+ `HTTPResponse.shutdown`) does, so a stop never waits for the read timeout. The
        reading thread closes the response itself (closing it here would race with that read).
        """
        self.abort.set()
        with self._lock:
            for response in list(self._active):
                try:
                    response.raw.shutdown()
                except Exception:  # not connected any more (or no socket to shut down): close instead
                    with contextlib.suppress(Exception):
                        response.raw.close()

    def _sleep(self, seconds: float) -> None:
        """Wait before a retry; a stop ends the wait and the transfer."""
        if self.abort.wait(seconds):
            raise TransferAborted("run stopping")

    def fetch(self, bottle: PlannedBottle) -> int:
        """Download, verify and store one bottle; return its size. Raises a SyncError on failure."""
        url = blob_url(self.settings.registry_url, bottle.image, bottle.sha256)
        retry = RetryState(self.http.policy, self._sleep)
        integrity_retries = INTEGRITY_RETRIES
        while True:
            if self.abort.is_set():
                raise TransferAborted("run stopping", file=bottle.file)
            try:
                return self._attempt(url, bottle, retry)
            except TransferAborted:
                raise
            except IntegrityError as exc:
                if self.abort.is_set():  # a connection cut by abort_all reads as a short body
                    raise TransferAborted("run stopping", file=bottle.file) from None
                if integrity_retries == 0:
                    raise
                integrity_retries -= 1
                retry.wait(str(exc))
            except SlowTransfer as exc:
                retry.wait(exc.message)
            except _STREAM_ERRORS as exc:
                if self.abort.is_set():
                    raise TransferAborted("run stopping", file=bottle.file) from None
                retry.wait(f"{bottle.file}: {type(exc).__name__} while reading the body")
            except Exception:
                if self.abort.is_set():  # whatever a connection cut under a read raised, the run is stopping
                    raise TransferAborted("run stopping", file=bottle.file) from None
                raise

    def _attempt(self, url: str, bottle: PlannedBottle, retry: RetryState) -> int:
        response = self.http.get_blob(url, retry=retry, what=bottle.file)
        with self._lock:
            self._active.add(response)
        try:
            announced = _content_length(response)
            if bottle.size is not None and announced is not None and announced != bottle.size:
                raise IntegrityError(
                    f"server announced {announced} bytes, the registry index says {bottle.size}", file=bottle.file
                )
            expected = bottle.size if bottle.size is not None else announced
            return self.storage.put_verified(
                bottle.key, self._body(response, bottle.file), sha256=bottle.sha256, size=expected
            )
        finally:
            with self._lock:
                self._active.discard(response)
            response.close()

    def _body(self, response: requests.Response, file: str) -> Iterator[bytes]:
        """Raw bytes (no content decoding), with the abort flag and the minimum-rate floor checked."""
        started = time.monotonic()
        received = 0
        floor = self.settings.min_rate_bytes_s
        grace = self.settings.min_rate_grace_s
        while True:
            if self.abort.is_set():
                raise TransferAborted("run stopping", file=file)
            chunk = response.raw.read1(CHUNK, decode_content=False)
            if not chunk:
                if self.abort.is_set():  # the socket was shut down under a blocked read
                    raise TransferAborted("run stopping", file=file)
                return
            received += len(chunk)
            if self.on_bytes is not None:
                self.on_bytes(len(chunk))
            elapsed = time.monotonic() - started
            if floor and elapsed > grace and received / elapsed < floor:
                raise SlowTransfer(f"{file}: {received / elapsed:.0f} B/s is below the floor of {floor} B/s")
            yield chunk


def _content_length(response: requests.Response) -> int | None:
    try:
        value = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None
