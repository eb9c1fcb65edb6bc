"""Pieces the Lambda handlers and the ECS entrypoint build the same way.

It also hands them the engine's settings loader and error types, so that a handler imports from `aws/` only
(a layering contract checks it).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import boto3

from homebrew_sync.aws.notify import Notifier
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
    "retry_may_help",
]

ECS_LOG_GROUP = "/aws/ecs/homebrew-sync"


def make_notifier(settings: Settings, metrics_sink: Callable[[dict[str, float]], None] | None = None) -> Notifier:
    """`metrics_sink` counts what silently degrades the notifications (an unreadable Slack secret)."""
    sns = boto3.client("sns") if settings.enable_notifications and settings.sns_topic_arn else None
    return Notifier(settings, sns_client=sns, metrics_sink=metrics_sink)


def log_location() -> str:
    """Where an operator finds this process's logs (Lambda sets its log group in the environment)."""
    return os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME") or ECS_LOG_GROUP
