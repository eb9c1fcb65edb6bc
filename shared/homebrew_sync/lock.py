"""One run at a time: `locks/sync.lock`, created only if absent, with owner, run id and expiry.

The lock is a lease: every holder of the same run (the orchestrator, then each shard's worker) may
refresh it, by reading it, checking that it is still this run's and writing it back with If-Match (a lost
race with another holder is re-read and retried). A lock whose owner was a process on this machine that
is gone (killed), an expired lock and an unreadable one are taken over with If-Match on their ETag, so
two runs cannot both take it over. Only its owner releases it.

The same lease, under another key, is how a worker claims its piece of a shard.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from homebrew_sync.errors import LockHeldError, PreconditionFailed, StorageError
from homebrew_sync.keys import LOCK_KEY
from homebrew_sync.liveness import this_process, writer_is_gone
from homebrew_sync.storage import Storage
from homebrew_sync.storage.documents import delete_document, read_document, write_document

log = logging.getLogger(__name__)

RACE_ATTEMPTS = 5  # re-reads after losing a race to another holder of the same run


def default_owner() -> str:
    return f"{this_process()}:{uuid.uuid4().hex[:8]}"


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
    def __init__(self, storage: Storage, *, owner: str, run_id: str, ttl_s: int, key: str = LOCK_KEY) -> None:
        self.storage = storage
        self.owner = owner
        self.run_id = run_id
        self.key = key
        self.ttl = timedelta(seconds=ttl_s)
        self.etag: str | None = None

    def _info(self) -> LockInfo:
        return LockInfo(self.owner, self.run_id, datetime.now(UTC) + self.ttl)

    def _ours(self, holder: LockInfo | None) -> bool:
        return holder is not None and holder.owner == self.owner and holder.run_id == self.run_id

    def acquire(self) -> None:
        """Take the lock, or hold it again if it is already ours (same owner and run); else LockHeldError."""
        for _ in range(RACE_ATTEMPTS):
            try:
                self.etag = write_document(self.storage, self.key, self._info().dump(), if_absent=True)
                return
            except PreconditionFailed:
                pass
            current = read_document(self.storage, self.key)
            if current is None:  # released in between: try again
                continue
            holder = LockInfo.parse(current.data)
            if self._ours(holder):  # a repeated delivery of this run: the lease is already ours
                self.etag = current.etag
                self.refresh()
                return
            if holder is not None and holder.expires_at > datetime.now(UTC) and not writer_is_gone(holder.owner):
                raise LockHeldError(
                    f"another run holds the lock (run {holder.run_id} by {holder.owner}, "
                    f"until {holder.expires_at.isoformat()})",
                    owner=holder.owner,
                    run_id=holder.run_id,
                    expires_at=holder.expires_at.isoformat(),
                )
            try:
                self.etag = write_document(self.storage, self.key, self._info().dump(), if_match=current.etag)
            except PreconditionFailed:
                raise LockHeldError("another run took over the expired lock first") from None
            log.warning("took over an expired lock", extra={"previous_run": holder.run_id if holder else None})
            return
        raise LockHeldError("the lock kept changing while this run tried to take it; another run is starting")

    def adopt(self) -> bool:
        """Continue a lock taken by an earlier process of the same run (Lambda/ECS workers)."""
        current = read_document(self.storage, self.key)
        holder = LockInfo.parse(current.data) if current else None
        if current is None or holder is None or holder.run_id != self.run_id:
            return False
        self.owner, self.etag = holder.owner, current.etag
        return True

    def refresh(self) -> None:
        """Push the expiry forward while the lock is ours. Never raises: losing the lock is logged (the state
        is CAS-safe), and a storage failure is tried again at the next heartbeat."""
        if self.etag is None:
            return
        try:
            for _ in range(RACE_ATTEMPTS):
                current = read_document(self.storage, self.key)
                if current is None or not self._ours(LockInfo.parse(current.data)):
                    log.warning("lock is no longer ours; no longer refreshing it", extra={"key": self.key})
                    self.etag = None
                    return
                try:
                    self.etag = write_document(self.storage, self.key, self._info().dump(), if_match=current.etag)
                    return
                except PreconditionFailed:
                    continue  # another holder of this run refreshed it first
            log.warning("lock refresh kept losing races; trying again later", extra={"key": self.key})
        except StorageError as exc:
            log.error("could not refresh the lock; trying again later", extra={"key": self.key, "error": str(exc)})

    def release(self) -> None:
        """Delete the lock if we still own it. Never raises: a lock that cannot be deleted expires."""
        try:
            for _ in range(RACE_ATTEMPTS):
                current = read_document(self.storage, self.key)
                if current is None or not self._ours(LockInfo.parse(current.data)):
                    log.info("lock not ours to release", extra={"run_id": self.run_id, "key": self.key})
                    break
                try:
                    delete_document(self.storage, self.key, if_match=current.etag)
                    break
                except PreconditionFailed:
                    continue  # refreshed by another holder of this run in between
        except StorageError as exc:
            log.error("could not release the lock; it expires by itself", extra={"key": self.key, "error": str(exc)})
        self.etag = None
