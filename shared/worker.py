"""One worker's job, the same in the sync Lambda and the ECS task: run a shard, record, hand on, finish.

A worker that must stop early (Lambda time budget) writes what is left as the next piece of its shard and
returns its key, so the caller can start a continuation. The worker that completes the last shard writes
`summary.json`, sends the final notification and metrics, and releases the run lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.config import Settings
from shared.engine import Engine, finish_api, merge_summary, piece_summary
from shared.lock import RunLock
from shared.models import RunSummary
from shared.notify import Notifier, RunContext, success_message
from shared.observability import run_metrics
from shared.runner import ProgressEvent
from shared.runs import RunDocuments, Shard

log = logging.getLogger(__name__)

MetricsSink = Callable[[dict[str, float]], None]


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


def run_lock(engine: Engine, run_id: str) -> RunLock:
    """The lock of a whole run: taken by the orchestrator, refreshed by workers, released by the last."""
    return RunLock(engine.storage, owner=f"run:{run_id}", run_id=run_id, ttl_s=engine.settings.lock_ttl_s)


def run_context(settings: Settings, run_id: str, day: str, storage_url: str, logs: str) -> RunContext:
    location = f"{storage_url.rstrip('/')}/{day}/" if settings.layout == "dated" else f"{storage_url}/"
    return RunContext(environment=settings.environment, date=day, run_id=run_id, location=location, logs=logs)


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
) -> WorkerReport:
    engine = Engine.from_settings(settings)
    docs = RunDocuments(engine.storage, run_id)
    shard = docs.read_shard(shard_key)
    if docs.has_result(shard):  # async invocations may be delivered twice
        log.info("shard piece already done; ignoring a repeated delivery", extra={"key": shard_key})
        return WorkerReport(
            run_id=run_id, shard=shard.shard, piece=shard.piece, downloaded=0, failed=0, not_started=0, duplicate=True
        )
    lock = run_lock(engine, run_id)
    if not lock.adopt():
        log.warning("run lock not held by this run; continuing (state writes are compare-and-swap)")
    started = time.monotonic()
    engine.registry.seed(docs.read_indexes(shard.indexes_key))
    outcome = engine.execute(
        shard.bottles,
        run_id,
        manifests=shard.manifests,
        writer=f"{shard.name}-p{shard.piece}",
        should_stop=should_stop,
        on_progress=on_progress,
        heartbeat=lock.refresh,
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
        return report
    docs.write_result(shard, piece)
    docs.mark_done(shard)
    if docs.all_done(shard.shards):
        report.finished_run = finish_run(engine, docs, lock, notifier=notifier, metrics_sink=metrics_sink, logs=logs)
    return report


def finish_run(
    engine: Engine, docs: RunDocuments, lock: RunLock, *, notifier: Notifier, metrics_sink: MetricsSink, logs: str
) -> RunSummary | None:
    """Aggregate every shard's results into summary.json (once), notify, publish metrics, release the lock."""
    info = docs.info()
    summary = RunSummary(
        run_id=info.run_id, planned=info.planned, skipped=info.skipped, estimated_bytes=info.estimated_bytes
    )
    for piece in docs.results():
        merge_summary(summary, piece)
    summary.duration_s = round((datetime.now(UTC) - info.started_at).total_seconds(), 3)
    engine.finish_state(summary)  # folding twice changes nothing: two finishers at once are harmless
    finish_api(engine, summary, info.api)  # idempotent copies, likewise
    if not docs.claim_summary(summary):
        return None  # another worker finished the run at the same moment
    settings = engine.settings
    if info.prune and summary.complete:
        pruned = engine.prune(dry_run=False)  # still under the run's lock
        log.info("retention", extra={"versions": len(pruned.versions), "objects": len(pruned.removed)})
    ctx = run_context(settings, info.run_id, info.date, engine.storage.url, logs)
    text = success_message(ctx, summary, quarantine_after=settings.quarantine_after)
    notifier.slack(text)
    if summary.failed:
        notifier.sns(f"Homebrew bottles sync finished with {summary.failed} failures ({settings.environment})", text)
    quarantined_only = {f.file for f in summary.failures} <= set(summary.quarantined)
    metrics_sink(
        run_metrics(
            planned=summary.planned,
            bytes_planned=summary.estimated_bytes,
            downloaded=summary.downloaded,
            bytes_downloaded=summary.bytes_downloaded,
            failed=summary.failed,
            duration_s=summary.duration_s,
            succeeded=summary.not_started == 0 and quarantined_only,
        )
    )
    lock.release()
    log.info("run finished", extra={"run_id": info.run_id, "downloaded": summary.downloaded, "failed": summary.failed})
    return summary
