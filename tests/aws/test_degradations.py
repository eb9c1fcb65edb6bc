"""What used to degrade silently now says so: Slack secret errors, loose booleans, redirects off the allow-list."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from homebrew_sync.aws.external_hash import load_external_hashes
from homebrew_sync.aws.notify import Notifier
from homebrew_sync.config import load_settings

from tests.aws.conftest import ORCHESTRATOR, load_event, orchestrator_context
from tests.helpers import sha


def test_an_unreadable_slack_secret_is_an_error_and_a_metric_once_per_run(caplog):
    settings = load_settings(slack_webhook_secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:slack")
    calls, counted = [], []

    def denied(arn):
        calls.append(arn)
        raise GetParameterError("An error occurred (AccessDeniedException) when calling the GetSecretValue operation")

    notifier = Notifier(settings, secret_reader=denied, metrics_sink=counted.append)
    with caplog.at_level(logging.INFO):
        assert notifier.slack("start") is False and notifier.slack("end") is False
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["cannot read the Slack webhook secret; Slack is off for this run"]
    assert "AccessDeniedException" in errors[0].detail
    assert counted == [{"SlackSecretErrors": 1}] and len(calls) == 1


def test_a_secret_without_a_value_stays_quiet(caplog):
    settings = load_settings(slack_webhook_secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:slack")

    def empty(_arn):
        raise GetParameterError(
            "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets "
            "Manager can't find the specified secret value for staging label: AWSCURRENT"
        )

    counted = []
    with caplog.at_level(logging.INFO):
        assert Notifier(settings, secret_reader=empty, metrics_sink=counted.append).slack("x") is False
    assert counted == [] and not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_orchestrator_counts_a_missing_slack_secret(aws_world, dispatcher, monkeypatch, capsys):
    monkeypatch.setenv("HOMEBREW_SYNC_SLACK_WEBHOOK_SECRET_ARN", aws_world.secret_arn + "-gone")
    result = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert result["status"] == "started" and aws_world.webhook.texts() == []
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [doc["SlackSecretErrors"] for doc in emf if "SlackSecretErrors" in doc] == [[1.0]]


@pytest.mark.parametrize("value", ["yes", 1, "true", "false", 0])
def test_manual_payload_booleans_are_json_booleans_only(aws_world, dispatcher, value):
    result = ORCHESTRATOR({"source": "manual", "dry_run": value}, orchestrator_context())
    assert result["status"] == "rejected" and "dry_run: Input should be a valid boolean" in result["error"]
    assert aws_world.object_keys() == [] and dispatcher.lambda_calls == []


@pytest.fixture
def redirecting_servers():
    """`allowed` redirects every request to `other`, a host nobody allowed; both count their requests."""
    hits = {"allowed": 0, "other": 0}

    def handler_for(name, location):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hits[name] += 1
                if location:
                    self.send_response(302)
                    self.send_header("Location", location() + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"curl-8.0.0.arm64_sonoma.bottle.tar.gz": sha("a")}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    other = ThreadingHTTPServer(("127.0.0.1", 0), handler_for("other", None))
    allowed = ThreadingHTTPServer(
        ("127.0.0.1", 0), handler_for("allowed", lambda: f"http://localhost:{other.server_address[1]}")
    )
    for server in (other, allowed):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{allowed.server_address[1]}", f"localhost:{other.server_address[1]}", hits
    for server in (other, allowed):
        server.shutdown()


def test_the_external_hash_url_follows_redirects_only_within_the_allow_list(redirecting_servers):
    allowed, other, hits = redirecting_servers
    refused = load_external_hashes(
        load_settings(external_hash_file_url=f"http://{allowed}/hashes.json", allow_hosts=[allowed])
    )
    assert refused.hashes == {} and "is not allowed" in refused.error
    assert hits == {"allowed": 1, "other": 0}
    followed = load_external_hashes(
        load_settings(external_hash_file_url=f"http://{allowed}/hashes.json", allow_hosts=[allowed, other])
    )
    assert followed.hashes == {"curl-8.0.0.arm64_sonoma.bottle.tar.gz": sha("a")} and followed.error is None


def test_a_failure_a_retry_cannot_mend_is_returned_in_one_line(aws_world, dispatcher):
    aws_world.s3.put_object(Bucket=aws_world.bucket, Key="bottles_hash.json", Body=b'{"schema_version": 9}')
    result = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert result["status"] == "failed" and "unknown schema_version 9" in result["error"]
    assert "\n" not in result["error"] and "Traceback" not in result["error"]
    assert "locks/sync.lock" not in aws_world.object_keys() and dispatcher.lambda_calls == []
    assert aws_world.webhook.texts()[-1].startswith("❌ Homebrew Bottles Sync Failed")
