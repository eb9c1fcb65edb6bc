"""The orchestrator's job (data flow steps 1-8): lock, load, plan, write the hand-off, route, dispatch.

Below `size_threshold_gb` of estimated download the shards go to the sync Lambda, at or above it to
ECS Fargate tasks. A duplicated delivery of the same trigger finds its run already recorded and starts
only the shards that were not started yet (none, unless an earlier dispatch failed), so a throttled
invoke or run_task is repaired by the redelivery instead of orphaning the week's run.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from homebrew_sync.aws.dispatch import Dispatcher
from homebrew_sync.aws.external_hash import load_external_hashes
from homebrew_sync.aws.finish import MetricsSink, finish_run, run_context, run_lock
from homebrew_sync.aws.notify import Notifier, start_message
from homebrew_sync.aws.observability import run_metrics
from homebrew_sync.aws.run_documents import Route, RunDocuments, RunInfo, Shard, split_plan
from homebrew_sync.aws.triggers import Trigger
from homebrew_sync.config import Settings
from homebrew_sync.engine import Engine
from homebrew_sync.errors import DispatchFailed, LockHeldError
from homebrew_sync.lock import RunLock

log = logging.getLogger(__name__)

SHARD_MIN_BYTES = 1 << 30  # do not split plans into shards smaller than ~1 GiB


def choose_route(estimated_bytes: int, settings: Settings) -> Route:
    return "lambda" if estimated_bytes < settings.size_threshold_bytes else "ecs"


def shard_count(estimated_bytes: int, settings: Settings) -> int:
    return max(1, min(settings.max_shards, math.ceil(estimated_bytes / SHARD_MIN_BYTES)))


def orchestrate(
    settings: Settings,
    trigger: Trigger,
    *,
    dispatcher: Dispatcher,
    notifier: Notifier,
    metrics_sink: MetricsSink,
    logs: str,
    s3_client: Any = None,
) -> dict[str, Any]:
    started = time.monotonic()
    engine = Engine.from_settings(settings)
    run_id = trigger.run_id
    docs = RunDocuments(engine.storage, run_id)
    lock = run_lock(engine, run_id)
    if docs.exists():
        return _redeliver(engine, docs, lock, dispatcher, notifier=notifier, metrics_sink=metrics_sink, logs=logs)
    try:
        lock.acquire()  # a lease this run already holds (an earlier attempt of this trigger) is continued
    except LockHeldError as exc:
        log.info("run lock held; not starting", extra={"run_id": run_id, "held_by": exc.run_id})
        return {"status": "locked", "run_id": run_id, "message": exc.message}
    try:
        return _plan_and_dispatch(
            engine, docs, lock, trigger, dispatcher, notifier, metrics_sink, logs, s3_client, started
        )
    except DispatchFailed as exc:
        # The run is recorded and keeps its lock: a redelivery of the trigger starts what was not started.
        log.error("dispatch failed", extra={"run_id": run_id, "error": str(exc)})
        notifier.failure(
            run_context(settings, run_id, settings.run_date().isoformat(), engine.storage.url, logs),
            error=f"{exc}; the run is recorded, and a retry of the trigger starts the shards not started",
            duration_s=time.monotonic() - started,
        )
        raise
    except Exception as exc:
        lock.release()
        notifier.failure(
            run_context(settings, run_id, settings.run_date().isoformat(), engine.storage.url, logs),
            error=str(exc),
            duration_s=time.monotonic() - started,
        )
        metrics_sink(
            run_metrics(
                planned=0,
                bytes_planned=0,
                downloaded=0,
                bytes_downloaded=0,
                failed=0,
                duration_s=time.monotonic() - started,
                succeeded=False,
            )
        )
        raise


def _plan_and_dispatch(
    engine: Engine,
    docs: RunDocuments,
    lock: RunLock,
    trigger: Trigger,
    dispatcher: Dispatcher,
    notifier: Notifier,
    metrics_sink: MetricsSink,
    logs: str,
    s3_client: Any,
    started: float,
) -> dict[str, Any]:
    settings = engine.settings
    external = load_external_hashes(settings, s3_client=s3_client)
    deadline = started + settings.plan_budget_s
    plan, formula_file = engine.plan(
        trigger.run_id,
        known=external.hashes,
        enough_bytes=settings.size_threshold_bytes,  # the route is decided once this much is known
        time_left=lambda: deadline - time.monotonic(),
    )
    # An estimate that stopped early knows at least the threshold, or ran out of time: ECS is the safe side.
    route = choose_route(plan.estimated_bytes, settings) if plan.sizes_complete else "ecs"
    work = (
        split_plan(plan.bottles, plan.manifests, shard_count(plan.estimated_bytes, settings))
        if plan.bottles or plan.manifests
        else []
    )
    if not plan.bottles and work:
        route = "lambda"  # only image indexes to store: small whatever the estimate says
    staged = engine.stage_api(plan, formula_file) if not settings.dry_run else None
    del formula_file  # ~35 MB (the signed file as served): the Lambda's memory is needed for the shards
    info = RunInfo(
        run_id=trigger.run_id,
        trigger=trigger.kind,
        environment=settings.environment,
        date=plan.date,
        route=route if work else "none",
        shards=len(work),
        planned=len(plan.bottles),
        skipped=plan.skipped,
        estimated_bytes=plan.estimated_bytes,
        unknown_sizes=plan.unknown_sizes,
        manifests=len(plan.manifests),
        prune=settings.prune_after_sync,
    )
    if staged is not None:
        info.api = staged
    result: dict[str, Any] = {
        "status": "dry_run" if settings.dry_run else "started",
        "run_id": trigger.run_id,
        "planned": info.planned,
        "skipped": info.skipped,
        "estimated_bytes": info.estimated_bytes,
        "route": info.route,
        "shards": info.shards,
        "manifests": info.manifests,
        "external_hashes": len(external.hashes),
    }
    if not plan.sizes_complete:
        result["size_estimate"] = plan.sizes_note
    if external.error:
        result["external_hash_error"] = external.error
    ctx = run_context(settings, info.run_id, info.date, engine.storage.url, logs)
    start_text = start_message(
        ctx,
        bottles=info.planned,
        estimated_bytes=info.estimated_bytes,
        unknown=info.unknown_sizes,
        method={"lambda": "Lambda", "ecs": "ECS Fargate", "none": "nothing to download"}[info.route],
        dry_run=settings.dry_run,
    )
    if external.error:
        start_text += f"\nNote: {external.error}"
    if not plan.sizes_complete and info.route == "ecs":
        start_text += f"\nNote: size estimate stopped early ({plan.sizes_note}); routed to ECS"
    if settings.dry_run:
        notifier.slack(start_text)
        lock.release()
        return result
    docs.write_plan(plan)
    for i, part in enumerate(work):
        refs = {(b.image, b.image_tag) for b in part.bottles} | {(m.image, m.image_tag) for m in part.manifests}
        shard = Shard(
            run_id=trigger.run_id,
            shard=i,
            shards=len(work),
            bottles=part.bottles,
            manifests=part.manifests,
            indexes_key=docs.write_indexes(i, engine.registry.cached(refs)),
        )
        info.shard_keys.append(docs.write_shard(shard))
    if not docs.claim(info):  # a duplicate delivery recorded the run first: start what it has not
        return _redeliver(engine, docs, lock, dispatcher, notifier=notifier, metrics_sink=metrics_sink, logs=logs)
    notifier.slack(start_text)
    if not info.shard_keys:
        summary = finish_run(engine, docs, lock, notifier=notifier, metrics_sink=metrics_sink, logs=logs)
        result["status"] = "finished"
        result["downloaded"] = summary.downloaded if summary else 0
        return result
    _dispatch(docs, dispatcher, info)
    log.info("run dispatched", extra={"run_id": trigger.run_id, "route": route, "shards": info.shards})
    result["duration_s"] = round(time.monotonic() - started, 3)
    return result


def _dispatch(docs: RunDocuments, dispatcher: Dispatcher, info: RunInfo) -> int:
    """Start a worker on every shard not started yet; each is marked only after its start succeeded."""
    started = 0
    for index, key in enumerate(info.shard_keys):
        if docs.is_dispatched(key):
            continue
        try:
            if info.route == "lambda":
                dispatcher.invoke_worker(info.run_id, key)
            else:
                dispatcher.run_task(info.run_id, key, index)
            docs.mark_dispatched(key)  # a worker started twice (marker lost) claims its piece once
        except Exception as exc:
            raise DispatchFailed(f"starting shard {index} of run {info.run_id} failed: {exc}") from exc
        started += 1
    return started


def _redeliver(
    engine: Engine,
    docs: RunDocuments,
    lock: RunLock,
    dispatcher: Dispatcher,
    *,
    notifier: Notifier,
    metrics_sink: MetricsSink,
    logs: str,
) -> dict[str, Any]:
    """A repeated trigger of a recorded run: start the shards an earlier attempt could not, else nothing."""
    run_id = docs.run_id
    info = None if docs.finished() else docs.info()
    pending = [key for key in info.shard_keys if not docs.is_dispatched(key)] if info else []
    if info is None or (info.shard_keys and not pending):
        log.info("duplicate trigger: run already recorded", extra={"run_id": run_id})
        return {"status": "duplicate", "run_id": run_id}
    try:
        lock.acquire()
    except LockHeldError as exc:
        log.info("run lock held by another run; not resuming", extra={"run_id": run_id, "held_by": exc.run_id})
        return {"status": "locked", "run_id": run_id, "message": exc.message}
    result: dict[str, Any] = {"status": "started", "run_id": run_id, "route": info.route, "shards": info.shards}
    if not info.shard_keys:  # nothing to download, but the earlier attempt did not finish the run
        finish_run(engine, docs, lock, notifier=notifier, metrics_sink=metrics_sink, logs=logs)
        return {**result, "status": "finished"}
    result["redelivered"] = _dispatch(docs, dispatcher, info)
    log.info("redelivered trigger started the shards not started", extra=result)
    return result
