"""One worker's job, the same in the sync Lambda and the ECS task: run a shard, record, hand on, finish.

A worker first claims its piece of the shard (a lease under `claims/`), so a pointer delivered twice at
the same time is worked once. A worker that must stop early (Lambda time budget) writes what is left as
the next piece of its shard and starts a continuation on it. The worker that completes the last shard
finishes the run (finish.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from homebrew_sync.aws.finish import MetricsSink, finish_run, run_lock
from homebrew_sync.aws.notify import Notifier
from homebrew_sync.aws.run_documents import RunDocuments, Shard
from homebrew_sync.config import Settings
from homebrew_sync.engine import Engine, piece_summary
from homebrew_sync.errors import LockHeldError, PointerError, UnsafeInputError
from homebrew_sync.lock import RunLock, default_owner
from homebrew_sync.models import RunSummary
from homebrew_sync.runner import ProgressEvent

log = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    run_id: str
    shard: int
    piece: int
    downloaded: int
    failed: int
    not_started: int
    continuation_key: str | None = None
    finished_run: RunSummary | None = None
    duplicate: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "shard": self.shard,
            "piece": self.piece,
            "downloaded": self.downloaded,
            "failed": self.failed,
            "not_started": self.not_started,
            "continuation": self.continuation_key,
            "finished": self.finished_run is not None,
            "duplicate": self.duplicate,
        }


def run_worker(
    settings: Settings,
    run_id: str,
    shard_key: str,
    *,
    notifier: Notifier,
    metrics_sink: MetricsSink,
    logs: str,
    can_continue: bool,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    start_continuation: Callable[[str], None] | None = None,
    worker_id: str | None = None,
) -> WorkerReport:
    """Run one piece of a shard; a bad pointer (foreign run, missing shard) raises PointerError.

    `worker_id` names this delivery (the Lambda request id, which Lambda keeps when it retries an event);
    `start_continuation` starts a worker on the rest when the time budget runs out.
    """
    engine = Engine.from_settings(settings)
    try:
        docs = RunDocuments(engine.storage, run_id)
    except UnsafeInputError:
        raise PointerError(f"invalid run id {run_id!r}") from None
    shard = docs.read_shard(shard_key)
    claim = docs.piece_claim(shard, worker=worker_id or default_owner(), ttl_s=settings.lock_ttl_s)
    if docs.has_result(shard) or not _claimed(claim):  # async invocations may be delivered twice
        log.info("shard piece taken or done already; ignoring a repeated delivery", extra={"key": shard_key})
        report = WorkerReport(
            run_id=run_id, shard=shard.shard, piece=shard.piece, downloaded=0, failed=0, not_started=0, duplicate=True
        )
        report.continuation_key = docs.continuation_not_started(shard)  # an earlier start of it failed
        if report.continuation_key and start_continuation is not None:
            _start(docs, start_continuation, report.continuation_key)
        return report
    lock = run_lock(engine, run_id)
    if not lock.adopt():
        log.warning("run lock not held by this run; continuing (state writes are compare-and-swap)")

    def heartbeat() -> None:
        lock.refresh()
        claim.refresh()

    started = time.monotonic()
    engine.registry.seed(docs.read_indexes(shard.indexes_key))
    outcome = engine.execute(
        shard.bottles,
        run_id,
        manifests=shard.manifests,
        writer=f"{shard.name}-p{shard.piece}",
        should_stop=should_stop,
        on_progress=on_progress,
        heartbeat=heartbeat,
    )
    piece = piece_summary(run_id, outcome)
    piece.duration_s = round(time.monotonic() - started, 3)
    report = WorkerReport(
        run_id=run_id,
        shard=shard.shard,
        piece=shard.piece,
        downloaded=piece.downloaded,
        failed=piece.failed,
        not_started=piece.not_started,
    )
    if (outcome.not_started or outcome.manifests_not_started) and can_continue:
        piece.bottles = [b for b in piece.bottles if b.status != "not_started"]
        piece.not_started = piece.manifests_not_started = 0
        docs.write_result(shard, piece)
        rest = Shard(
            run_id=run_id,
            shard=shard.shard,
            shards=shard.shards,
            piece=shard.piece + 1,
            bottles=outcome.not_started,
            manifests=outcome.manifests_not_started,
            indexes_key=shard.indexes_key,
        )
        report.continuation_key = docs.write_shard(rest)
        log.info(
            "handing the rest to a continuation", extra={"remaining": len(rest.bottles), "key": report.continuation_key}
        )
        if start_continuation is not None:
            _start(docs, start_continuation, report.continuation_key)
        return report
    docs.write_result(shard, piece)
    docs.mark_done(shard)
    if docs.all_done(shard.shards):
        report.finished_run = finish_run(engine, docs, lock, notifier=notifier, metrics_sink=metrics_sink, logs=logs)
    return report


def _claimed(claim: RunLock) -> bool:
    try:
        claim.acquire()
    except LockHeldError:
        return False
    return True


def _start(docs: RunDocuments, start: Callable[[str], None], key: str) -> None:
    """Start a worker on `key` and record that it was started (a failed start raises, for a retry)."""
    start(key)
    docs.mark_dispatched(key)
