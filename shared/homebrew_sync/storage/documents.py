"""Small documents (lock, run records, claims, results, summary, state): the one conditional-write protocol.

A request whose first attempt landed but whose answer was lost (a read timeout) is sent again, by
botocore or by `write_document` after a transient error; the repeat then meets its own write and gets
412/409. So when a precondition fails, the object is read back: if it holds exactly the bytes we sent,
the write was ours and it succeeded. Transient storage errors are retried within a small budget.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from homebrew_sync.errors import PreconditionFailed, StorageError
from homebrew_sync.storage import Document, Storage

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class StorageRetry:
    """Attempts and full-jitter backoff for transient storage errors (on top of botocore's own retries)."""

    attempts: int = 4
    base_s: float = 0.25
    max_s: float = 4.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_s, self.base_s * 2**attempt))


RETRY = StorageRetry()
sleep: Callable[[float], None] = time.sleep


def retry_transient(call: Callable[[], T], *, what: str, policy: StorageRetry | None = None) -> T:
    """Run `call`; on a transient StorageError try again, within the budget, then raise it."""
    policy = policy or RETRY
    attempt = 0
    while True:
        try:
            return call()
        except StorageError as exc:
            attempt += 1
            if not exc.transient or attempt >= policy.attempts:
                raise
            log.warning(
                "transient storage error; trying again", extra={"what": what, "attempt": attempt, "error": str(exc)}
            )
            sleep(policy.delay(attempt))


def read_document(storage: Storage, key: str) -> Document | None:
    return retry_transient(lambda: storage.read(key), what=f"read {key}")


def write_document(
    storage: Storage, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
) -> str:
    """Write `data` (conditionally); a lost race raises PreconditionFailed, our own earlier attempt does not."""

    def attempt() -> str:
        try:
            return storage.write(key, data, if_absent=if_absent, if_match=if_match)
        except PreconditionFailed:
            if not (if_absent or if_match is not None):
                raise
            current = storage.read(key)
            if current is not None and current.data == data:
                log.info("conditional write met its own earlier attempt", extra={"key": key})
                return current.etag
            raise

    return retry_transient(attempt, what=f"write {key}")


def delete_document(storage: Storage, key: str, *, if_match: str | None = None) -> None:
    """Delete (if the ETag still matches); an earlier attempt of ours that already deleted it is success."""

    def attempt() -> None:
        try:
            storage.delete(key, if_match=if_match)
        except PreconditionFailed:
            if storage.read(key) is not None:
                raise

    retry_transient(attempt, what=f"delete {key}")
