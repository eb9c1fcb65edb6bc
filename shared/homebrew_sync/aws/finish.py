"""Finishing a run, once, by whichever worker (or the orchestrator) completes its last piece.

It folds every shard's results into `summary.json`, folds the journal into the state, publishes the API
files last, prunes when asked, notifies, publishes metrics and releases the run lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from homebrew_sync.aws.notify import Notifier, RunContext, success_message
from homebrew_sync.aws.observability import run_metrics
from homebrew_sync.aws.run_documents import RunDocuments
from homebrew_sync.config import Settings
from homebrew_sync.engine import Engine, finish_api, merge_summary
from homebrew_sync.lock import RunLock
from homebrew_sync.models import RunSummary

log = logging.getLogger(__name__)

MetricsSink = Callable[[dict[str, float]], None]


def run_lock(engine: Engine, run_id: str) -> RunLock:
    """The lock of a whole run: taken by the orchestrator, refreshed by workers, released by the last."""
    return RunLock(engine.storage, owner=f"run:{run_id}", run_id=run_id, ttl_s=engine.settings.lock_ttl_s)


def run_context(settings: Settings, run_id: str, day: str, storage_url: str, logs: str) -> RunContext:
    location = f"{storage_url.rstrip('/')}/{day}/" if settings.layout == "dated" else f"{storage_url}/"
    return RunContext(environment=settings.environment, date=day, run_id=run_id, location=location, logs=logs)


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
