"""Slack (incoming webhook) and SNS messages in the formats of the spec.

A notification that fails never fails the sync, and the webhook URL (a secret) never appears in logs or
errors. In AWS the URL comes from Secrets Manager (Powertools Parameters, cached); locally from a setting.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from shared.naming import AllowList

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.models import RunSummary
    from shared.runner import ProgressEvent

log = logging.getLogger(__name__)

SLACK_HOSTS = ["hooks.slack.com"]
SECRET_MAX_AGE_S = 300
SECRET_ERROR_METRIC = "SlackSecretErrors"
# What Secrets Manager says about a secret created without a value (Terraform leaves it empty): Slack is off.
_NO_SECRET_VALUE = "secret value for staging label"


def human_bytes(count: float) -> str:
    """`15.3 GB` style, as in the spec's examples (decimal units)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit in ("B", "KB", "MB") else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def human_duration(seconds: float) -> str:
    if seconds < 90:
        return "1 second" if round(seconds) == 1 else f"{seconds:.0f} seconds"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass
class RunContext:
    """What every message says about the run."""

    environment: str
    date: str
    run_id: str
    location: str  # e.g. s3://bucket/2025-07-21/
    logs: str  # where to look, e.g. /aws/lambda/homebrew-sync-orchestrator


def start_message(
    ctx: RunContext, *, bottles: int, estimated_bytes: int, unknown: int, method: str, dry_run: bool
) -> str:
    lines = [
        "🚀 Homebrew Bottles Sync Started" + (" (dry run)" if dry_run else ""),
        f"Environment: {ctx.environment}",
        f"Date: {ctx.date}",
        f"Estimated bottles: {bottles:,}",
        f"Estimated size: {human_bytes(estimated_bytes)}" + (f" ({unknown:,} of unknown size)" if unknown else ""),
        f"Sync method: {method}",
        f"Run: {ctx.run_id}",
    ]
    return "\n".join(lines)


def progress_message(event: ProgressEvent, *, eta_s: float | None) -> str:
    percent = 100 * event.done // event.total if event.total else 100
    lines = [
        "⏳ Homebrew Sync Progress",
        f"Downloaded: {event.done:,}/{event.total:,} bottles ({percent}%)",
        f"Size: {human_bytes(event.bytes_done)} / {human_bytes(max(event.bytes_total, event.bytes_done))}",
    ]
    if event.failed:
        lines.append(f"Failed so far: {event.failed:,}")
    if eta_s is not None:
        lines.append(f"ETA: {human_duration(eta_s)}")
    return "\n".join(lines)


def success_message(ctx: RunContext, summary: RunSummary, *, quarantine_after: int) -> str:
    title = "✅ Homebrew Bottles Sync Complete"
    if summary.failed or summary.not_started:
        title = "⚠️ Homebrew Bottles Sync Completed With Problems"
    lines = [
        title,
        f"Environment: {ctx.environment}",
        f"Date: {ctx.date}",
        f"New bottles: {summary.downloaded + summary.copied:,}",
        f"Total size: {human_bytes(summary.bytes_downloaded)}",
        f"Duration: {human_duration(summary.duration_s)}",
        f"S3 location: {ctx.location}",
    ]
    if summary.failed:
        lines.append(f"Failed bottles: {summary.failed:,}")
        lines.extend(f"  • {f.file}: {f.error}" for f in summary.failures[:5])
        if summary.failed > 5:
            lines.append(f"  … and {summary.failed - 5:,} more (see {ctx.logs})")
    if summary.not_started:
        lines.append(f"Not started (picked up by the next run): {summary.not_started:,}")
    if summary.quarantined:
        lines.append(f"Quarantined (failed {quarantine_after}+ runs in a row): " + ", ".join(summary.quarantined[:10]))
    return "\n".join(lines)


def failure_message(ctx: RunContext, *, error: str, duration_s: float) -> str:
    return "\n".join(
        [
            "❌ Homebrew Bottles Sync Failed",
            f"Environment: {ctx.environment}",
            f"Date: {ctx.date}",
            f"Error: {error}",
            f"Duration: {human_duration(duration_s)}",
            f"Check logs: {ctx.logs}",
            f"Run: {ctx.run_id}",
        ]
    )


def task_stopped_message(
    *, environment: str, task_arn: str, run_id: str | None, shard: str | None, reason: str, logs: str
) -> str:
    return "\n".join(
        [
            "⚠️ Homebrew Bottles Sync Task Stopped",
            f"Environment: {environment}",
            f"Reason: {reason}",
            f"Run: {run_id or 'unknown'}" + (f" (shard {shard})" if shard else ""),
            f"Task: {task_arn}",
            f"Check logs: {logs}",
        ]
    )


class Notifier:
    """Posts messages to Slack and failures to SNS; every error is logged (without the URL) and swallowed."""

    def __init__(
        self,
        settings: Settings,
        *,
        sns_client: Any = None,
        secret_reader: Callable[[str], str] | None = None,
        timeout_s: float = 10.0,
        metrics_sink: Callable[[dict[str, float]], None] | None = None,
    ) -> None:
        self.enabled = settings.enable_notifications
        self.settings = settings
        self.sns_client = sns_client
        self.secret_reader = secret_reader or _read_secret
        self.timeout_s = timeout_s
        self.metrics_sink = metrics_sink
        self.sent: list[str] = []  # what was posted (for local runs and tests)
        self._secret_failed = False

    def _webhook_url(self) -> str | None:
        if self.settings.slack_webhook_url is not None:
            url = self.settings.slack_webhook_url.get_secret_value()
        elif self.settings.slack_webhook_secret_arn:
            if self._secret_failed:
                return None
            try:
                url = _url_from_secret(self.secret_reader(self.settings.slack_webhook_secret_arn))
            except Exception as exc:
                if _NO_SECRET_VALUE in str(exc):  # created without a value: Slack is not set up
                    log.info("slack webhook secret has no value; Slack is off")
                    return None
                self._secret_failed = True  # AccessDenied, throttling, a wrong ARN: say so once, loudly
                log.error(
                    "cannot read the Slack webhook secret; Slack is off for this run",
                    extra={"error": type(exc).__name__, "detail": _first_line(exc)},
                )
                if self.metrics_sink is not None:
                    self.metrics_sink({SECRET_ERROR_METRIC: 1})
                return None
        else:
            return None
        if not url:
            return None
        AllowList.build([], SLACK_HOSTS + _loopback_host(url)).check(url)
        return url

    def slack(self, text: str) -> bool:
        if not self.enabled:
            return False
        try:
            url = self._webhook_url()
            if url is None:
                return False
            response = requests.post(url, json={"text": text}, timeout=self.timeout_s)
            if response.status_code >= 300:
                log.warning("slack notification refused", extra={"status": response.status_code})
                return False
        except Exception as exc:  # never let a notification fail the sync, never log the URL
            log.warning("slack notification failed", extra={"error": type(exc).__name__})
            return False
        self.sent.append(text)
        return True

    def sns(self, subject: str, text: str) -> bool:
        if not self.enabled or not self.settings.sns_topic_arn or self.sns_client is None:
            return False
        try:
            self.sns_client.publish(TopicArn=self.settings.sns_topic_arn, Subject=subject[:100], Message=text)
        except Exception as exc:
            log.warning("sns notification failed", extra={"error": type(exc).__name__})
            return False
        return True

    def failure(self, ctx: RunContext, *, error: str, duration_s: float) -> None:
        text = failure_message(ctx, error=error, duration_s=duration_s)
        self.slack(text)
        self.sns(f"Homebrew bottles sync failed ({ctx.environment})", text)

    def task_stopped(self, text: str) -> None:
        """An ECS task stopped other than by success (image pull, memory, Spot, a crash): Slack and SNS."""
        self.slack(text)
        self.sns(f"Homebrew bottles sync task stopped ({self.settings.environment})", text)


def _read_secret(arn: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=SECRET_MAX_AGE_S))


def _first_line(exc: Exception) -> str:
    """An error's message without anything after its first line (a secret value never reaches it)."""
    return str(exc).splitlines()[0][:300] if str(exc) else ""


def _url_from_secret(value: str) -> str:
    """The secret holds the URL itself, or JSON with a `url` / `webhook_url` field."""
    value = value.strip()
    if value.startswith("{"):
        data = json.loads(value)
        return str(data.get("url") or data.get("webhook_url") or "")
    return value


def _loopback_host(url: str) -> list[str]:
    """Local runs post to a webhook on 127.0.0.1; allow exactly that host, over http."""
    netloc = urlsplit(url).netloc
    return [netloc] if netloc.startswith(("127.0.0.1", "localhost", "[::1]")) else []


class ProgressReporter:
    """Posts a progress message every `every_percent` % of bottles or every `every_minutes` minutes."""

    def __init__(
        self, notifier: Notifier, *, every_percent: int, every_minutes: float, clock: Callable[[], float] | None = None
    ) -> None:
        self.notifier = notifier
        self.every_percent = every_percent
        self.every_s = every_minutes * 60
        self.clock = clock or time.monotonic
        self.started = self.last = self.clock()
        self.next_percent = every_percent

    def on_progress(self, event: ProgressEvent) -> None:
        now = self.clock()
        percent = 100 * event.done // event.total if event.total else 100
        if percent < self.next_percent and now - self.last < self.every_s:
            return
        if event.done >= event.total:
            return  # the final message says it all
        self.next_percent = (percent // self.every_percent + 1) * self.every_percent
        self.last = now
        elapsed = now - self.started
        eta = None
        if event.bytes_done and event.bytes_total > event.bytes_done and elapsed > 0:
            eta = (event.bytes_total - event.bytes_done) / (event.bytes_done / elapsed)
        elif event.done and elapsed > 0:
            eta = (event.total - event.done) * elapsed / event.done
        self.notifier.slack(progress_message(event, eta_s=eta))
