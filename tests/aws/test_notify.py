"""Slack and SNS messages: the spec's formats, progress cadence, and failures that never fail a sync."""

import logging

from homebrew_sync.aws.notify import Notifier, ProgressReporter, RunContext, human_bytes, start_message, success_message
from homebrew_sync.config import load_settings
from homebrew_sync.models import Failure, RunSummary
from homebrew_sync.runner import ProgressEvent
from pydantic import SecretStr

CTX = RunContext(
    environment="prod",
    date="2025-07-21",
    run_id="r1",
    location="s3://homebrew-bottles/2025-07-21/",
    logs="/aws/lambda/homebrew-sync-orchestrator",
)


def test_start_and_success_follow_the_spec():
    start = start_message(CTX, bottles=1247, estimated_bytes=15_300_000_000, unknown=0, method="Lambda", dry_run=False)
    assert start.splitlines()[:6] == [
        "🚀 Homebrew Bottles Sync Started",
        "Environment: prod",
        "Date: 2025-07-21",
        "Estimated bottles: 1,247",
        "Estimated size: 15.3 GB",
        "Sync method: Lambda",
    ]
    summary = RunSummary(run_id="r1", downloaded=140, copied=3, bytes_downloaded=512_000_000, duration_s=480)
    assert success_message(CTX, summary, quarantine_after=3).splitlines() == [
        "✅ Homebrew Bottles Sync Complete",
        "Environment: prod",
        "Date: 2025-07-21",
        "New bottles: 143",
        "Total size: 512 MB",
        "Duration: 8 minutes",
        "S3 location: s3://homebrew-bottles/2025-07-21/",
    ]


def test_partial_failures_and_quarantine_are_reported():
    summary = RunSummary(
        run_id="r1",
        downloaded=1,
        failed=1,
        failures=[Failure(file="x.tar.gz", error="boom")],
        quarantined=["x.tar.gz"],
        duration_s=5,
    )
    text = success_message(CTX, summary, quarantine_after=3)
    assert "Completed With Problems" in text and "x.tar.gz: boom" in text
    assert "Quarantined (failed 3+ runs in a row): x.tar.gz" in text


def test_progress_every_n_percent_or_m_minutes():
    now = [0.0]
    sent = []

    class Recorder:
        def slack(self, text):
            sent.append(text)

    reporter = ProgressReporter(Recorder(), every_percent=25, every_minutes=5, clock=lambda: now[0])
    for done in range(1, 100):
        now[0] += 1
        reporter.on_progress(ProgressEvent(done=done, total=100, bytes_done=done * 10, bytes_total=1000, failed=0))
    assert [t.splitlines()[1] for t in sent] == [
        "Downloaded: 25/100 bottles (25%)",
        "Downloaded: 50/100 bottles (50%)",
        "Downloaded: 75/100 bottles (75%)",
    ]
    assert "ETA: " in sent[0]
    slow = ProgressReporter(Recorder(), every_percent=50, every_minutes=1, clock=lambda: now[0])
    sent.clear()
    now[0] += 61
    slow.on_progress(ProgressEvent(done=1, total=100, bytes_done=1, bytes_total=100, failed=0))
    assert len(sent) == 1  # a minute passed: report even below the next step


def test_a_failing_webhook_never_fails_and_never_leaks_the_url(webhook, caplog):
    settings = load_settings(slack_webhook_url=SecretStr(webhook.url))
    notifier = Notifier(settings)
    webhook.fail_next(1, status=500)
    with caplog.at_level(logging.DEBUG):
        assert notifier.slack("hello") is False
        assert notifier.slack("hello again") is True
        broken = Notifier(load_settings(slack_webhook_url=SecretStr("http://127.0.0.1:9/hooks/secret-token")))
        assert broken.slack("nobody listens") is False
    assert webhook.texts() == ["hello again"]
    assert "secret-token" not in caplog.text and webhook.url not in caplog.text
    for record in caplog.records:  # nor in the fields a JSON log line carries beside the message
        assert "secret-token" not in str(vars(record)) and webhook.url not in str(vars(record))


def test_webhook_from_secrets_manager(aws_world):
    from homebrew_sync.aws.notify import _read_secret

    assert _read_secret(aws_world.secret_arn) == aws_world.webhook.url
    notifier = Notifier(load_settings())
    assert notifier.slack("via secret") and aws_world.webhook.texts() == ["via secret"]


def test_disabled_notifications_send_nothing(webhook):
    notifier = Notifier(load_settings(slack_webhook_url=SecretStr(webhook.url), enable_notifications=False))
    assert notifier.slack("x") is False and webhook.texts() == []


def test_human_bytes():
    assert [human_bytes(n) for n in (999, 1500, 2_300_000_000, 7_800_000_000)] == ["999 B", "2 KB", "2.3 GB", "7.8 GB"]


def test_a_secret_without_a_value_means_slack_is_off(aws_world, caplog):
    import boto3

    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    empty = secrets.create_secret(Name="homebrew-sync/empty")["ARN"]  # Terraform creates it without a value
    notifier = Notifier(load_settings(slack_webhook_secret_arn=empty))
    metrics: list[dict] = []
    notifier.metrics_sink = metrics.append
    with caplog.at_level(logging.INFO):
        assert notifier.slack("x") is False and aws_world.webhook.texts() == []
    # Slack not set up, which is not an error: no alarm metric, no error line; Secrets Manager's own words
    assert metrics == [] and not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "slack webhook secret has no value; Slack is off" in caplog.text
