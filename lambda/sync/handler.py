"""Sync Lambda: run one shard of a run; before time runs out, hand the rest to a continuation of itself.

Payload: `{"run_id": "...", "shard_key": "runs/<run_id>/shard-000-p0.json"}` (pointers only). A pointer that
names no shard of that run is rejected (returned, not raised: retrying it cannot help); so is any failure
that a retry cannot mend. Storage or upstream trouble raises, for Lambda's retries.
"""

from __future__ import annotations

from typing import Any

from homebrew_sync.aws.dispatch import make_dispatcher
from homebrew_sync.aws.observability import emit_emf, logger, metrics, route_engine_logs, tracer
from homebrew_sync.aws.runtime import (
    ConfigError,
    PointerError,
    SyncError,
    load_settings,
    log_location,
    make_notifier,
    retry_may_help,
)
from homebrew_sync.aws.shard_worker import run_worker
from pydantic import BaseModel, ConfigDict, ValidationError


class WorkerEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    shard_key: str


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route_engine_logs()
    try:
        pointer = WorkerEvent.model_validate(event)
        settings = load_settings()
    except (ValidationError, ConfigError) as exc:
        logger.error("rejected worker event", extra={"error": str(exc)})
        return {"status": "rejected", "error": str(exc)}
    logger.set_correlation_id(pointer.run_id)
    margin_ms = settings.lambda_time_margin_s * 1000

    def sink(values: dict[str, float]) -> None:
        emit_emf(values, settings.environment)

    try:
        report = run_worker(
            settings,
            pointer.run_id,
            pointer.shard_key,
            notifier=make_notifier(settings, sink),
            metrics_sink=sink,
            logs=log_location(),
            can_continue=True,
            should_stop=lambda: context.get_remaining_time_in_millis() < margin_ms,
            start_continuation=lambda key: make_dispatcher(settings).invoke_worker(
                pointer.run_id, key, function=context.invoked_function_arn
            ),
            worker_id=context.aws_request_id,
        )
    except PointerError as exc:
        logger.error("rejected worker event", extra={"error": str(exc)})
        return {"status": "rejected", "error": str(exc)}
    except SyncError as exc:
        if retry_may_help(exc):
            raise
        logger.error("shard failed", extra={"run_id": pointer.run_id, "error": str(exc)})
        return {"status": "failed", "run_id": pointer.run_id, "error": str(exc)}
    return {"status": "ok", **report.as_dict()}
