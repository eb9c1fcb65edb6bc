"""Carrying out a plan: concurrent transfers, per-bottle failure isolation, checkpoints, graceful stop.

A bottle enters the state only after its object was verified and stored. Bottles that share a blob
(same sha256) are downloaded once and copied. Then, payload first, the image indexes of the versions
whose bottles are all in the mirror are stored (brew 6.0.13+ reads them from the bottle domain). Work is
submitted lazily, so a stop request (SIGTERM, the Lambda time budget) stops new work at once; in-flight
transfers finish, or are aborted after a grace.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from homebrew_sync.errors import IntegrityError, StorageError, SyncError, TransferAborted, UpstreamError
from homebrew_sync.journal import Journal, JournalEntry
from homebrew_sync.models import (
    BottleOutcome,
    BottleRecord,
    ManifestOutcome,
    ManifestRecord,
    ManifestStatus,
    PlannedBottle,
    PlannedManifest,
    StateFile,
)
from homebrew_sync.registry import OCI_INDEX, Registry, check_index
from homebrew_sync.state import StateStore
from homebrew_sync.storage import Storage, check_stored
from homebrew_sync.transfer import Transfer

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)


@dataclass
class ProgressEvent:
    done: int
    total: int
    bytes_done: int
    bytes_total: int
    failed: int


@dataclass
class RunOutcome:
    outcomes: list[BottleOutcome] = field(default_factory=list)
    not_started: list[PlannedBottle] = field(default_factory=list)
    manifests: list[ManifestOutcome] = field(default_factory=list)
    manifests_not_started: list[PlannedManifest] = field(default_factory=list)
    bytes_downloaded: int = 0


@dataclass
class _Pending:
    """Verified and stored, not yet in the state."""

    bottles: dict[str, BottleRecord] = field(default_factory=dict)
    manifests: dict[str, ManifestRecord] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.bottles) + len(self.manifests)

    def take(self) -> tuple[dict[str, BottleRecord], dict[str, ManifestRecord]]:
        return dict(self.bottles), dict(self.manifests)

    def drop(self, bottles: Iterable[str], manifests: Iterable[str]) -> None:
        for file in bottles:
            self.bottles.pop(file, None)
        for key in manifests:
            self.manifests.pop(key, None)


@dataclass
class RunnerOptions:
    concurrency: int = 8
    checkpoint_every: int = 50
    checkpoint_seconds: float = 30.0
    stop_grace_s: float = 15.0


class Runner:
    def __init__(
        self,
        storage: Storage,
        transfer: Transfer,
        registry: Registry,
        state: StateStore,
        journal: Journal,
        options: RunnerOptions,
        *,
        run_id: str,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.storage = storage
        self.transfer = transfer
        self.registry = registry
        self.state = state
        self.journal = journal
        self.options = options
        self.run_id = run_id
        self.should_stop = should_stop
        self.on_progress = on_progress
        self.heartbeat = heartbeat
        self._stop_requested_at: float | None = None
        self._stop = threading.Event()
        self._last_checkpoint = self._last_heartbeat = time.monotonic()

    def request_stop(self) -> None:
        """Stop taking new bottles (signal-handler safe: it only sets a flag)."""
        self._stop.set()

    # --- the loop --------------------------------------------------------------------------------------

    def run(self, bottles: list[PlannedBottle], manifests: Iterable[PlannedManifest] = ()) -> RunOutcome:
        result = RunOutcome()
        pending = _Pending()
        progress = ProgressEvent(
            done=0,
            total=len(bottles),
            bytes_done=0,
            failed=0,
            bytes_total=sum({b.sha256: b.size or 0 for b in bottles if b.copy_from is None}.values()),
        )
        self._last_checkpoint = self._last_heartbeat = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="bottle") as pool:
            groups = self._drive(
                pool,
                iter(_group_by_blob(bottles)),
                self._transfer_group,
                lambda results: self._collect(results, result, pending.bottles, progress),
                pending,
                progress,
            )
            result.not_started.extend(b for group in groups for b in group)
            # Payload first: an index goes up only once every bottle of its version is in the mirror.
            version_of = {b.file: (b.image, b.image_tag) for b in bottles}
            blocked = {version_of[b.file] for b in result.not_started}
            blocked.update(version_of[o.file] for o in result.outcomes if o.status == "failed")
            ready: list[PlannedManifest] = []
            for manifest in manifests:
                if (manifest.image, manifest.image_tag) in blocked:
                    skipped = ManifestOutcome(key=manifest.key, status="skipped", error="a bottle is not stored")
                    result.manifests.append(skipped)
                else:
                    ready.append(manifest)
            unstarted = self._drive(
                pool,
                iter(ready),
                self._store_manifest,
                lambda item: self._collect_manifest(item, result, pending),
                pending,
                progress,
            )
            result.manifests_not_started.extend(unstarted)
        self._final_checkpoint(pending, result.outcomes)
        return result

    def _drive(
        self,
        pool: ThreadPoolExecutor,
        items: Iterator[T],
        work: Callable[[T], R],
        collect: Callable[[R], None],
        pending: _Pending,
        progress: ProgressEvent,
    ) -> list[T]:
        """Run `work` over `items` with bounded work in flight, checkpointing and keeping the lock alive;
        return the items never started (a stop was requested)."""
        in_flight: set[Future[R]] = set()
        while True:
            stopping = self._stopping()
            while not stopping and len(in_flight) < self.options.concurrency * 2:
                item = next(items, None)
                if item is None:
                    break
                in_flight.add(pool.submit(work, item))
            if not in_flight:
                break
            finished, in_flight = wait(in_flight, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                collect(future.result())
            if finished and self.on_progress:
                self.on_progress(progress)
            now = time.monotonic()
            if stopping and self._stop_requested_at and now - self._stop_requested_at > self.options.stop_grace_s:
                self.transfer.abort_all()
            if len(pending) >= self.options.checkpoint_every or (
                pending and now - self._last_checkpoint >= self.options.checkpoint_seconds
            ):
                self._checkpoint(pending)
                self._last_checkpoint = now
            if self.heartbeat and now - self._last_heartbeat >= self.options.checkpoint_seconds:
                self.heartbeat()  # keeps the run lock alive through long transfers
                self._last_heartbeat = now
        return list(items)

    @staticmethod
    def _collect(
        results: list[tuple[PlannedBottle, BottleOutcome]],
        run: RunOutcome,
        pending: dict[str, BottleRecord],
        progress: ProgressEvent,
    ) -> None:
        for bottle, outcome in results:
            if outcome.status == "not_started":
                run.not_started.append(bottle)
                continue
            run.outcomes.append(outcome)
            progress.done += 1
            if outcome.status == "failed":
                progress.failed += 1
                continue
            pending[bottle.file] = _record(bottle, outcome)
            if outcome.status == "downloaded":
                run.bytes_downloaded += outcome.size or 0
                progress.bytes_done += outcome.size or 0

    @staticmethod
    def _collect_manifest(
        item: tuple[PlannedManifest, ManifestOutcome, ManifestRecord | None], run: RunOutcome, pending: _Pending
    ) -> None:
        manifest, outcome, record = item
        if outcome.status == "not_started":
            run.manifests_not_started.append(manifest)
            return
        run.manifests.append(outcome)
        if record is not None:
            pending.manifests[manifest.key] = record

    def _stopping(self) -> bool:
        if not self._stop.is_set() and self.should_stop():
            self._stop.set()
        if self._stop.is_set() and self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()
            log.warning("stop requested: no new bottles will start", extra={"run_id": self.run_id})
        return self._stop.is_set()

    # --- one blob ----------------------------------------------------------------------------------------

    def _transfer_group(self, group: list[PlannedBottle]) -> list[tuple[PlannedBottle, BottleOutcome]]:
        """Store every file of one blob: download (or find) it once, copy it for the others."""
        results: list[tuple[PlannedBottle, BottleOutcome]] = []
        first = group[0]
        source = (first.copy_from, first.size or 0) if first.copy_from is not None else None
        group_error: str | None = None
        for bottle in group:
            if group_error is not None:
                results.append((bottle, BottleOutcome.of(bottle, "failed", error=group_error)))
                continue
            if self._stop.is_set() and source is None:
                results.append((bottle, BottleOutcome.of(bottle, "not_started")))
                continue
            try:
                outcome = self._store(bottle, source)
            except TransferAborted:
                results.append((bottle, BottleOutcome.of(bottle, "not_started")))
                continue
            except SyncError as exc:
                group_error = _reason(exc, bottle.file)
                log.warning("bottle failed", extra={"file": bottle.file, "error": group_error})
                results.append((bottle, BottleOutcome.of(bottle, "failed", error=group_error)))
                continue
            except Exception as exc:  # one bad bottle never stops the run
                log.exception("bottle failed unexpectedly", extra={"file": bottle.file})
                group_error = f"unexpected {type(exc).__name__}: {exc}"
                results.append((bottle, BottleOutcome.of(bottle, "failed", error=group_error)))
                continue
            source = (bottle.key, outcome.size or 0)
            log.info("bottle stored", extra={"file": bottle.file, "status": outcome.status, "bytes": outcome.size})
            results.append((bottle, outcome))
        return results

    def _store(self, bottle: PlannedBottle, source: tuple[str, int] | None) -> BottleOutcome:
        """Copy from an object holding the same bytes, adopt a verified object at the key, or download."""
        if bottle.replaces_recorded:
            self._unrecord(bottle)
        if source is not None:
            try:
                self.storage.copy_verified(source[0], bottle.key, sha256=bottle.sha256, size=source[1])
                return BottleOutcome.of(bottle, "copied", size=source[1])
            except (IntegrityError, StorageError) as exc:
                log.warning("copy source unusable; downloading", extra={"file": bottle.file, "error": str(exc)})
        if bottle.size is None:
            self.registry.fill_sizes([bottle])  # the index read here is the one stored after the bottles
        size = self._existing(bottle)
        if size is not None:
            return BottleOutcome.of(bottle, "existing", size=size)
        return BottleOutcome.of(bottle, "downloaded", size=self.transfer.fetch(bottle))

    # --- one image index ---------------------------------------------------------------------------------

    def _store_manifest(
        self, manifest: PlannedManifest
    ) -> tuple[PlannedManifest, ManifestOutcome, ManifestRecord | None]:
        """Store a version's image index byte for byte, once it lists the mirror's bottles as brew checks."""
        if self._stop.is_set():
            return manifest, ManifestOutcome(key=manifest.key, status="not_started"), None
        try:
            data = self.registry.index(manifest.image, manifest.image_tag)
            check_index(data, manifest)
            sha256 = hashlib.sha256(data).hexdigest()
            status: ManifestStatus
            try:
                check_stored(self.storage, manifest.key, sha256=sha256, size=len(data))
                status = "existing"
            except (IntegrityError, StorageError):
                self.storage.put_verified(manifest.key, [data], sha256=sha256, size=len(data), content_type=OCI_INDEX)
                status = "stored"
        except UpstreamError as exc:
            log.warning("image index not stored", extra={"key": manifest.key, "error": str(exc)})
            if exc.status != 404:
                return manifest, ManifestOutcome(key=manifest.key, status="failed", error=str(exc)), None
            # Not served upstream: remembered for this bottle set, so it is not asked for every week.
            missing = ManifestRecord(sha256=None, size=0, fingerprint=manifest.fingerprint, stored_at=_today())
            return manifest, ManifestOutcome(key=manifest.key, status="missing", error=str(exc)), missing
        except SyncError as exc:
            log.warning("image index not stored", extra={"key": manifest.key, "error": exc.message})
            return manifest, ManifestOutcome(key=manifest.key, status="failed", error=exc.message), None
        except Exception as exc:  # one bad index never stops the run
            log.exception("image index failed unexpectedly", extra={"key": manifest.key})
            error = f"unexpected {type(exc).__name__}: {exc}"
            return manifest, ManifestOutcome(key=manifest.key, status="failed", error=error), None
        self.registry.forget(manifest.image, manifest.image_tag)
        record = ManifestRecord(sha256=sha256, size=len(data), fingerprint=manifest.fingerprint, stored_at=_today())
        return manifest, ManifestOutcome(key=manifest.key, status=status), record

    def _unrecord(self, bottle: PlannedBottle) -> None:
        """Before new bytes replace an object the state lists, drop that entry, so the state never
        names an object whose bytes it does not describe (the new entry follows once they are verified)."""

        def drop(state: StateFile) -> None:
            record = state.bottles.get(bottle.file)
            if record is not None and record.key == bottle.key and record.sha256 != bottle.sha256:
                del state.bottles[bottle.file]

        self.state.commit(drop)

    def _existing(self, bottle: PlannedBottle) -> int | None:
        """Size of an object already stored at the key with the right bytes (e.g. after a crash)."""
        try:
            return check_stored(self.storage, bottle.key, sha256=bottle.sha256, size=bottle.size)
        except (IntegrityError, StorageError):
            return None

    # --- checkpoints ---------------------------------------------------------------------------------------

    def _checkpoint(self, pending: _Pending) -> None:
        """Journal what was stored since the last checkpoint: the cost is what changed, not the mirror's size."""
        bottles, manifests = pending.take()
        try:
            self.journal.append(JournalEntry(run_id=self.run_id, bottles=bottles, manifests=manifests))
        except StorageError as exc:  # keep the records; the next checkpoint tries again
            log.error("checkpoint failed; will retry", extra={"error": str(exc)})
            return
        pending.drop(bottles, manifests)
        log.info("checkpoint", extra={"recorded": len(bottles), "manifests": len(manifests)})

    def _final_checkpoint(self, pending: _Pending, outcomes: list[BottleOutcome]) -> None:
        """The last entry also says which bottles failed (for quarantine) and which succeeded (to clear it)."""
        bottles, manifests = pending.take()
        succeeded = sorted(o.file for o in outcomes if o.status != "failed")
        failed = {o.file: o.error or "failed" for o in outcomes if o.status == "failed"}
        if bottles or manifests or succeeded or failed:
            entry = JournalEntry(
                run_id=self.run_id, bottles=bottles, manifests=manifests, succeeded=succeeded, failed=failed
            )
            self.journal.append(entry)
            pending.drop(bottles, manifests)


def _group_by_blob(bottles: Iterable[PlannedBottle]) -> list[list[PlannedBottle]]:
    groups: dict[str, list[PlannedBottle]] = defaultdict(list)
    for bottle in bottles:
        groups[bottle.sha256].append(bottle)
    return list(groups.values())


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _record(bottle: PlannedBottle, outcome: BottleOutcome) -> BottleRecord:
    return BottleRecord(
        sha256=bottle.sha256,
        size=outcome.size or 0,
        key=bottle.key,
        formula=bottle.formula,
        tag=bottle.tag,
        downloaded_at=_today(),
    )


def _reason(exc: SyncError, file: str) -> str:
    return exc.message if exc.file == file else str(exc)
