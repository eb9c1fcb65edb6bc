"""Crash injection: count a run's side effects and die at step k, as an exception or a real SIGKILL.

Side effects are every download, every object write (store or copy), every state, lock and run-document
write, and every delete. After the crash, the process is "dead": any further storage call fails too, so
nothing happens after step k, as with a killed process.

`LostResponseStorage` injects the other real-world fault: a conditional write (or delete) that lands, but
whose response is lost, so the caller sees a timeout (or botocore's own repeat of the request meets the
first attempt and gets 412).

`python -m tests.resilience.crash K <homebrew-sync arguments>` runs the CLI and SIGKILLs itself at step K.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

import homebrew_sync.engine
import homebrew_sync.transfer
from botocore.exceptions import ReadTimeoutError
from homebrew_sync.storage import Document, ObjectInfo, Storage
from homebrew_sync.storage.errors import s3_error


class Crash(BaseException):
    """Not an Exception: nothing in the engine may catch it, as nothing catches a power cut."""


class CrashPlan:
    def __init__(self, crash_at: int | None, on_crash: Callable[[], None] | None = None) -> None:
        self.crash_at = crash_at
        self.on_crash = on_crash or self._raise
        self.steps: list[str] = []
        self.dead = False
        self._lock = threading.Lock()

    @staticmethod
    def _raise() -> None:
        raise Crash("crashed")

    def check_alive(self) -> None:
        if self.dead:
            raise Crash("process is dead")

    def step(self, what: str) -> None:
        with self._lock:
            self.check_alive()
            self.steps.append(what)
            if len(self.steps) == self.crash_at:
                self.dead = True
                self.on_crash()


class CrashingStorage:
    """Any Storage, with each side effect counted by the plan (reads only check the process is alive)."""

    def __init__(self, inner: Storage, plan: CrashPlan) -> None:
        self.inner = inner
        self.plan = plan
        self.url = inner.url
        self.keeps_versions = inner.keeps_versions

    def read(self, key: str) -> Document | None:
        self.plan.check_alive()
        return self.inner.read(key)

    def write(self, key: str, data: bytes, **conditions: Any) -> str:
        self.plan.step(f"write {key}")
        return self.inner.write(key, data, **conditions)

    def delete(self, key: str, **conditions: Any) -> None:
        self.plan.step(f"delete {key}")
        self.inner.delete(key, **conditions)

    def put_verified(self, key: str, chunks: Iterable[bytes], *, sha256: str, size: int | None, **kw: Any) -> int:
        self.plan.step(f"store {key}")
        return self.inner.put_verified(key, chunks, sha256=sha256, size=size, **kw)

    def copy_verified(self, source_key: str, key: str, *, sha256: str, size: int) -> None:
        self.plan.step(f"copy {key}")
        self.inner.copy_verified(source_key, key, sha256=sha256, size=size)

    def stat(self, key: str) -> ObjectInfo | None:
        self.plan.check_alive()
        return self.inner.stat(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        self.plan.check_alive()
        return self.inner.list(prefix)

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        self.plan.check_alive()
        return self.inner.iter_bytes(key)


class LostResponseStorage:
    """Any Storage whose every conditional write and delete lands, then fails as if its response was lost.

    `timeout`: the caller gets what the S3 backend raises when botocore's retries of a read timeout run
    out. `retried`: botocore sent the request again, and the repeat met the first attempt (412).
    """

    def __init__(self, inner: Storage, mode: Literal["timeout", "retried"] = "timeout") -> None:
        self.inner = inner
        self.mode = mode
        self.url = inner.url
        self.landed: list[str] = []
        self._lock = threading.Lock()

    def _lost(self, key: str, action: str) -> Exception:
        with self._lock:
            self.landed.append(f"{action} {key}")
        return s3_error(ReadTimeoutError(endpoint_url=f"{self.url}/{key}"), action, key)

    def write(self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False) -> str:
        etag = self.inner.write(key, data, if_match=if_match, if_absent=if_absent)
        if if_match is None and not if_absent:
            return etag
        lost = self._lost(key, "write")
        if self.mode == "retried":
            self.inner.write(key, data, if_match=if_match, if_absent=if_absent)  # raises PreconditionFailed
        raise lost

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        existed = self.inner.read(key) is not None
        self.inner.delete(key, if_match=if_match)
        if if_match is not None and existed:  # only a delete that happened can lose its response
            raise self._lost(key, "delete")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def lose_responses(patch: Callable[[Any, str, Any], None], mode: Literal["timeout", "retried"] = "timeout") -> list:
    """Route the engine's storage through LostResponseStorage; returns the list of writes it hit."""
    open_storage = homebrew_sync.engine.open_storage
    landed: list[str] = []

    def wrapped(settings: Any) -> LostResponseStorage:
        storage = LostResponseStorage(open_storage(settings), mode)
        storage.landed = landed
        return storage

    patch(homebrew_sync.engine, "open_storage", wrapped)
    return landed


def install(plan: CrashPlan, patch: Callable[[Any, str, Any], None]) -> None:
    """Route the engine's storage and downloads through the plan (`patch` = monkeypatch.setattr or setattr)."""
    open_storage = homebrew_sync.engine.open_storage
    fetch = homebrew_sync.transfer.Transfer.fetch

    def counted_fetch(self: homebrew_sync.transfer.Transfer, bottle: Any) -> int:
        plan.step(f"download {bottle.file}")
        return fetch(self, bottle)

    patch(homebrew_sync.engine, "open_storage", lambda settings: CrashingStorage(open_storage(settings), plan))
    patch(homebrew_sync.transfer.Transfer, "fetch", counted_fetch)


def main(argv: list[str]) -> int:
    crash_at = int(argv[0])
    plan = CrashPlan(crash_at, on_crash=lambda: os.kill(os.getpid(), signal.SIGKILL))
    install(plan, setattr)
    from homebrew_sync.cli.main import main as cli_main

    return cli_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
