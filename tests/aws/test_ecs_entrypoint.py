"""The ECS entrypoint as a real subprocess against a moto server: SIGTERM mid-run, then a rerun."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import boto3
import pytest
from homebrew_sync.journal import effective_state
from homebrew_sync.state import StateStore
from homebrew_sync.storage.s3 import S3Storage

from fakes.catalogue import generate_catalogue
from fakes.server import FakeUpstream
from fakes.webhook import FakeWebhook
from tests.aws.conftest import ORCHESTRATOR, ROOT, RecordingDispatcher, orchestrator_context
from tests.helpers import PYTHONPATH
from tests.integration.conftest import FAST_RETRIES, expected_files

BUCKET = "ecs-mirror"


@pytest.fixture
def ecs_world(moto_server, monkeypatch):
    from homebrew_sync.aws import dispatch

    with FakeUpstream(generate_catalogue(14, seed=9)) as upstream, FakeWebhook() as hook:
        env = {
            **FAST_RETRIES,
            "AWS_ENDPOINT_URL": moto_server,
            "HOMEBREW_SYNC_S3_ENDPOINT_URL": moto_server,
            "HOMEBREW_SYNC_BUCKET": BUCKET,
            "HOMEBREW_SYNC_ENVIRONMENT": "test",
            **upstream.settings_env(),
            "HOMEBREW_SYNC_SLACK_WEBHOOK_URL": hook.url,
            "HOMEBREW_SYNC_SIZE_THRESHOLD_GB": "0.000001",
            "HOMEBREW_SYNC_ECS_CLUSTER": "c",
            "HOMEBREW_SYNC_ECS_TASK_DEFINITION": "t",
            "HOMEBREW_SYNC_ECS_SUBNETS": "s",
            "HOMEBREW_SYNC_CONCURRENCY": "2",
            "HOMEBREW_SYNC_CHECKPOINT_EVERY": "1",
            "HOMEBREW_SYNC_DATE": "2025-07-20",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        recorder = RecordingDispatcher()
        dispatch.use_dispatcher(lambda _settings: recorder)
        yield upstream, hook, s3, recorder
        dispatch.use_dispatcher(dispatch.AwsDispatcher)


def start_task(run_id: str, shard_key: str) -> subprocess.Popen:
    env = {**os.environ, "HOMEBREW_SYNC_RUN_ID": run_id, "HOMEBREW_SYNC_SHARD_KEY": shard_key, "PYTHONPATH": PYTHONPATH}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "ecs" / "entrypoint.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def read_state(s3) -> dict:
    """The state with the run's journals folded in (what the next run starts from)."""
    storage = S3Storage(s3, BUCKET)
    return {f: r.model_dump() for f, r in effective_state(storage, StateStore(storage)).bottles.items()}


def assert_state_consistent(s3, state: dict) -> None:
    for record in state.values():
        body = s3.get_object(Bucket=BUCKET, Key=record["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == record["sha256"], record["key"]


def test_sigterm_mid_run_exits_within_25s_consistent_and_a_rerun_completes(ecs_world):
    upstream, hook, s3, recorder = ecs_world
    for _name, bottle in upstream.catalogue.iter_bottles():
        upstream.faults.add(bottle.sha256, "slow_drip", times=-1, interval=0.05, chunk=2048)
    event = json.loads((ROOT / "tests/events/scheduled.json").read_text())
    started = ORCHESTRATOR(event, orchestrator_context())
    assert started["route"] == "ecs"
    [(run_id, shard_key, _shard)] = recorder.ecs_calls
    task = start_task(run_id, shard_key)
    deadline = time.monotonic() + 60
    while len(read_state(s3)) < 2 and time.monotonic() < deadline and task.poll() is None:
        time.sleep(0.1)
    assert task.poll() is None, task.stderr.read().decode()[-2000:]
    term_sent = time.monotonic()
    task.send_signal(signal.SIGTERM)
    task.wait(timeout=30)
    exit_seconds = time.monotonic() - term_sent
    assert exit_seconds < 25, exit_seconds
    assert task.returncode == 0, task.stderr.read().decode()[-2000:]  # stopped cleanly: not a broken task

    state = read_state(s3)
    assert 2 <= len(state) < started["planned"]
    assert_state_consistent(s3, state)
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=f"runs/{run_id}/summary.json")["Body"].read())
    assert summary["not_started"] > 0
    assert "lock" not in json.dumps([o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])])
    assert any("Not started (picked up by the next run)" in t for t in hook.texts())
    assert any(t.startswith("⏳ Homebrew Sync Progress") for t in hook.texts())

    upstream.faults.clear()
    before = {r["sha256"]: upstream.blob_downloads(r["sha256"]) for r in state.values()}
    rerun = ORCHESTRATOR(dict(event, id="rerun", time="2025-07-20T04:00:00Z"), orchestrator_context())
    assert rerun["planned"] == started["planned"] - len(state)
    second = start_task(rerun["run_id"], recorder.ecs_calls[-1][1])
    assert second.wait(timeout=120) == 0, second.stderr.read().decode()[-2000:]
    final = read_state(s3)
    assert set(final) == set(expected_files(upstream))
    cloudwatch = boto3.client("cloudwatch", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    published = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace="HomebrewSync")["Metrics"]}
    assert {
        "BottlesDownloaded",
        "BytesDownloaded",
        "BottlesFailed",
        "SyncDurationSeconds",
        "SyncSucceeded",
    } <= published
    assert_state_consistent(s3, final)
    assert all(upstream.blob_downloads(sha) == count for sha, count in before.items())
