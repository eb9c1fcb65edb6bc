"""AWS runtime fixtures: moto (S3, SNS->SQS, Secrets Manager), the fake upstream, a Slack recorder,
the handlers loaded from their files, and a dispatcher that records instead of calling AWS."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from homebrew_sync.aws import dispatch

from fakes.catalogue import generate_catalogue
from fakes.lambda_context import FakeLambdaContext
from fakes.server import FakeUpstream
from fakes.webhook import FakeWebhook
from tests.conftest import BUCKET
from tests.integration.conftest import FAST_RETRIES

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def _load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


ORCHESTRATOR = _load("lambda/orchestrator/handler.py", "orchestrator_handler")
WORKER = _load("lambda/sync/handler.py", "sync_handler")


class RecordingDispatcher:
    def __init__(self) -> None:
        self.lambda_calls: list[tuple[str, str, str | None]] = []
        self.ecs_calls: list[tuple[str, str, int]] = []

    def invoke_worker(self, run_id, shard_key, *, function=None):
        self.lambda_calls.append((run_id, shard_key, function))

    def run_task(self, run_id, shard_key, shard):
        self.ecs_calls.append((run_id, shard_key, shard))


@pytest.fixture
def dispatcher():
    recorder = RecordingDispatcher()
    dispatch.use_dispatcher(lambda _settings: recorder)
    yield recorder
    dispatch.use_dispatcher(dispatch.AwsDispatcher)


@pytest.fixture
def upstream():
    with FakeUpstream(generate_catalogue(12, seed=5)) as up:
        yield up


@pytest.fixture
def webhook():
    with FakeWebhook() as hook:
        yield hook


@pytest.fixture
def aws_world(monkeypatch, s3_client, upstream, webhook):
    """Everything a deployed function would find, in moto; returns handles for assertions."""
    parameters.clear_caches()
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secret_arn = secrets.create_secret(Name="homebrew-sync/slack-webhook", SecretString=webhook.url)["ARN"]
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="homebrew-sync-alerts")["TopicArn"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    env = {
        **FAST_RETRIES,
        "HOMEBREW_SYNC_BUCKET": BUCKET,
        "HOMEBREW_SYNC_ENVIRONMENT": "test",
        **upstream.settings_env(),
        "HOMEBREW_SYNC_SYNC_FUNCTION_NAME": "homebrew-sync-worker",
        "HOMEBREW_SYNC_ECS_CLUSTER": "homebrew-sync",
        "HOMEBREW_SYNC_ECS_TASK_DEFINITION": "homebrew-sync",
        "HOMEBREW_SYNC_ECS_SUBNETS": "subnet-a,subnet-b",
        "HOMEBREW_SYNC_ECS_SECURITY_GROUPS": "sg-1",
        "HOMEBREW_SYNC_SLACK_WEBHOOK_SECRET_ARN": secret_arn,
        "HOMEBREW_SYNC_SNS_TOPIC_ARN": topic,
        "HOMEBREW_SYNC_ECS_LOG_GROUP": "/aws/ecs/homebrew-sync",  # as Terraform sets it
        "HOMEBREW_SYNC_DATE": "2025-07-20",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    class World:
        s3 = s3_client
        bucket = BUCKET

        @staticmethod
        def object_keys(prefix: str = "") -> list[str]:
            pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

        @staticmethod
        def json(key: str) -> dict:
            return json.loads(s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read())

        @staticmethod
        def alerts() -> list[str]:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(m["Body"])["Message"] for m in messages]

    World.upstream = upstream
    World.webhook = webhook
    World.secret_arn = secret_arn
    yield World
    parameters.clear_caches()


def orchestrator_context() -> FakeLambdaContext:
    return FakeLambdaContext(function_name="homebrew-sync-orchestrator", remaining_s=300)


def worker_context(remaining_s: float = 900, out_of_time_after: int | None = None) -> FakeLambdaContext:
    return FakeLambdaContext(
        function_name="homebrew-sync-worker",
        remaining_s=remaining_s,
        memory_limit_in_mb=3008,
        out_of_time_after=out_of_time_after,
    )


def run_workers(dispatcher: RecordingDispatcher, remaining_s: float = 900, start: int = 0) -> list[dict]:
    """Carry out the queued Lambda invocations (continuations included), like the Lambda service would."""
    reports = []
    done = start
    while done < len(dispatcher.lambda_calls):
        run_id, key, _function = dispatcher.lambda_calls[done]
        done += 1
        reports.append(WORKER({"run_id": run_id, "shard_key": key}, worker_context(remaining_s)))
    return reports
