"""Orchestrator Lambda: trigger -> run lock -> state + external hashes -> API -> plan -> route -> dispatch.

Started weekly by EventBridge, by the manual EventBridge event, or by `aws lambda invoke` with
`{"source": "manual", ...}`. The failed-task rule also sends it ECS tasks that stopped other than by
success: those are reported (Slack/SNS, naming the reason) and no run starts. An invalid event returns
a clear error and starts nothing. A failed run is returned as `{"status": "failed", "error": ...}`,
unless running the event again may help (upstream or storage trouble, a failed dispatch): then it
raises, for Lambda's and EventBridge's retries.
"""

from __future__ import annotations

from typing import Any

from shared.config import load_settings
from shared.dispatch import make_dispatcher
from shared.errors import ConfigError, SyncError, retry_may_help
from shared.observability import emit_emf, logger, metrics, route_engine_logs, tracer
from shared.orchestrator import orchestrate
from shared.runtime import log_location, make_notifier, report_stopped_task
from shared.triggers import parse_trigger


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route_engine_logs()
    try:
        trigger = parse_trigger(event, context.aws_request_id)
        settings = load_settings(**trigger.options.overrides())
    except ConfigError as exc:
        logger.error("rejected trigger", extra={"error": str(exc)})
        return {"status": "rejected", "error": str(exc)}
    logger.set_correlation_id(trigger.run_id)
    logger.info("trigger accepted", extra={"run_id": trigger.run_id, "kind": trigger.kind})

    def sink(values: dict[str, float]) -> None:
        emit_emf(values, settings.environment)

    if trigger.stopped is not None:  # an ECS task of ours stopped: report why, start nothing
        return report_stopped_task(settings, trigger.stopped, make_notifier(settings, sink))

    try:
        return orchestrate(
            settings,
            trigger,
            dispatcher=make_dispatcher(settings),
            notifier=make_notifier(settings, sink),
            metrics_sink=sink,
            logs=log_location(),
        )
    except SyncError as exc:
        if retry_may_help(exc):
            raise
        logger.error("run failed", extra={"run_id": trigger.run_id, "error": str(exc)})
        return {"status": "failed", "run_id": trigger.run_id, "error": str(exc)}
