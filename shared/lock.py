"""One run at a time: `locks/sync.lock`, created only if absent, with owner, run id and expiry.

A lock whose owner was a process on this machine that is gone (killed) is taken over at once.

An expired lock is taken over with If-Match on its ETag (so two runs cannot both take it over); a lock is
refreshed at checkpoints and released only by its owner.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.errors import LockHeldError, PreconditionFailed
from shared.naming import LOCK_KEY
from shared.storage import Storage

log = logging.getLogger(__name__)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str) -> bool:
    """A lock taken by a process on this machine that no longer exists (killed) need not be waited out."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class LockInfo:
    owner: str
    run_id: str
    expires_at: datetime

    @classmethod
    def parse(cls, data: bytes) -> LockInfo | None:
        try:
            raw = json.loads(data)
            return cls(str(raw["owner"]), str(raw["run_id"]), datetime.fromisoformat(raw["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable lock is treated as expired

    def dump(self) -> bytes:
        return json.dumps(
            {"owner": self.owner, "run_id": self.run_id, "expires_at": self.expires_at.isoformat()}
        ).encode()


class RunLock:
    def __init__(self, storage: Storage, *, owner: str, run_id: str, ttl_s: int) -> None:
        self.storage = storage
        self.owner = owner
        self.run_id = run_id
        self.ttl = timedelta(seconds=ttl_s)
        self.etag: str | None = None

    def _info(self) -> LockInfo:
        return LockInfo(self.owner, self.run_id, datetime.now(UTC) + self.ttl)

    def acquire(self) -> None:
        """Take the lock or raise LockHeldError (exit code 3)."""
        try:
            self.etag = self.storage.write(LOCK_KEY, self._info().dump(), if_absent=True)
            return
        except PreconditionFailed:
            pass
        current = self.storage.read(LOCK_KEY)
        if current is None:  # released in between: try once more
            self.etag = self.storage.write(LOCK_KEY, self._info().dump(), if_absent=True)
            return
        holder = LockInfo.parse(current.data)
        if holder is not None and holder.expires_at > datetime.now(UTC) and not _owner_is_dead(holder.owner):
            raise LockHeldError(
                f"another run holds the lock (run {holder.run_id} by {holder.owner}, "
                f"until {holder.expires_at.isoformat()})",
                owner=holder.owner,
                run_id=holder.run_id,
                expires_at=holder.expires_at.isoformat(),
            )
        try:
            self.etag = self.storage.write(LOCK_KEY, self._info().dump(), if_match=current.etag)
        except PreconditionFailed:
            raise LockHeldError("another run took over the expired lock first") from None
        log.warning("took over an expired lock", extra={"previous_run": holder.run_id if holder else None})

    def adopt(self) -> bool:
        """Continue a lock taken by an earlier process of the same run (Lambda/ECS workers)."""
        current = self.storage.read(LOCK_KEY)
        holder = LockInfo.parse(current.data) if current else None
        if current is None or holder is None or holder.run_id != self.run_id:
            return False
        self.owner, self.etag = holder.owner, current.etag
        return True

    def refresh(self) -> None:
        """Push the expiry forward; losing the lock here is logged, not fatal (the state is CAS-safe)."""
        if self.etag is None:
            return
        try:
            self.etag = self.storage.write(LOCK_KEY, self._info().dump(), if_match=self.etag)
        except PreconditionFailed:
            log.warning("run lock changed under us; no longer refreshing it", extra={"run_id": self.run_id})
            self.etag = None

    def release(self) -> None:
        """Delete the lock if we still own it."""
        current = self.storage.read(LOCK_KEY)
        holder = LockInfo.parse(current.data) if current else None
        if current is None or holder is None or holder.owner != self.owner:
            log.info("lock not ours to release", extra={"run_id": self.run_id})
            return
        try:
            self.storage.delete(LOCK_KEY, if_match=current.etag)
        except PreconditionFailed:
            log.info("lock changed before release", extra={"run_id": self.run_id})
        self.etag = None
