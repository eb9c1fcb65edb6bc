"""Pieces the Lambda handlers and the ECS entrypoint build the same way.

It also hands them the engine's settings loader and error types, so that a handler imports from `aws/` only
(a layering contract checks it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3

from homebrew_sync.aws.notify import Notifier, task_stopped_message
from homebrew_sync.aws.observability import logger
from homebrew_sync.aws.triggers import TaskStop
from homebrew_sync.config import Settings, load_settings
from homebrew_sync.errors import ConfigError, PointerError, SyncError, retry_may_help

__all__ = [
    "ConfigError",
    "PointerError",
    "Settings",
    "SyncError",
    "load_settings",
    "log_location",
    "make_notifier",
    "report_stopped_task",
    "retry_may_help",
]

ECS_LOG_GROUP_ENV = "HOMEBREW_SYNC_ECS_LOG_GROUP"  # set by Terraform (it names the group)


def make_notifier(settings: Settings, metrics_sink: Callable[[dict[str, float]], None] | None = None) -> Notifier:
    """`metrics_sink` counts what silently degrades the notifications (an unreadable Slack secret)."""
    sns = boto3.client("sns") if settings.enable_notifications and settings.sns_topic_arn else None
    return Notifier(settings, sns_client=sns, metrics_sink=metrics_sink)


def log_location() -> str:
    """Where an operator finds this process's logs: Lambda and Terraform name the log group in the environment."""
    return os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME") or os.environ.get(ECS_LOG_GROUP_ENV) or "stderr"


def report_stopped_task(settings: Settings, stop: TaskStop, notifier: Notifier) -> dict[str, Any]:
    """Tell Slack and SNS why an ECS task stopped; a task that ended in success needs no message."""
    if stop.succeeded:
        return {"status": "ignored", "task": stop.task_arn}
    text = task_stopped_message(
        environment=settings.environment,
        task_arn=stop.task_arn,
        run_id=stop.run_id,
        shard=stop.shard_key,
        reason=stop.reason,
        logs=settings.ecs_log_group or "the ECS task's log group",
    )
    logger.warning("sync task stopped", extra={"task": stop.task_arn, "run_id": stop.run_id, "reason": stop.reason})
    notifier.task_stopped(text)
    return {"status": "notified", "task": stop.task_arn, "run_id": stop.run_id, "reason": stop.reason}
