"""Sync Lambda handler and dispatch requests: the run finishes once, continuations, exact AWS calls."""

import json

import boto3
import requests
from botocore.stub import ANY, Stubber
from homebrew_sync.aws.dispatch import AwsDispatcher
from homebrew_sync.aws.run_documents import RunDocuments
from homebrew_sync.config import load_settings
from homebrew_sync.http import GHCR_ANONYMOUS
from homebrew_sync.journal import effective_state
from homebrew_sync.state import StateStore
from homebrew_sync.storage.local import LocalStorage
from homebrew_sync.storage.s3 import S3Storage

from tests.aws.conftest import ORCHESTRATOR, WORKER, load_event, orchestrator_context, run_workers, worker_context
from tests.integration.conftest import expected_files


def test_worker_mirrors_the_shard_finishes_the_run_and_publishes_metrics(aws_world, dispatcher, capsys):
    started = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    [report] = run_workers(dispatcher)
    assert report["status"] == "ok" and report["finished"] and report["continuation"] is None
    expected = sorted(f"2025-07-20/{f}" for f in expected_files(aws_world.upstream))
    assert [k for k in aws_world.object_keys() if k.endswith(".tar.gz")] == expected
    state = aws_world.json("bottles_hash.json")
    assert sorted(r["key"] for r in state["bottles"].values()) == expected
    summary = aws_world.json(f"runs/{started['run_id']}/summary.json")
    assert summary["downloaded"] + summary["copied"] == len(expected) and summary["failed"] == 0
    assert "locks/sync.lock" not in aws_world.object_keys()
    final = aws_world.webhook.texts()[-1]
    assert final.splitlines()[0] == "✅ Homebrew Bottles Sync Complete"
    assert f"New bottles: {len(expected)}" in final
    assert "S3 location: s3://mirror-bucket/2025-07-20/" in final and "Duration: " in final
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = {name: doc[name] for doc in emf for name in doc if name[0].isupper()}
    assert metrics["BottlesDownloaded"] == [float(summary["downloaded"])]
    assert metrics["SyncSucceeded"] == [1.0] and metrics["BottlesFailed"] == [0.0]
    assert {"BottlesPlanned", "BytesPlanned", "BytesDownloaded", "SyncDurationSeconds"} <= set(metrics)
    namespaces = {m["Namespace"] for doc in emf for m in doc["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"HomebrewSync"}


def test_a_worker_short_of_time_hands_the_rest_to_a_continuation(aws_world, dispatcher, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_CONCURRENCY", "1")
    monkeypatch.setenv("HOMEBREW_SYNC_LAMBDA_TIME_MARGIN_S", "60")
    for _name, bottle in aws_world.upstream.catalogue.iter_bottles():
        aws_world.upstream.faults.add(bottle.sha256, "slow_drip", times=1, interval=0.02, chunk=4096)
    started = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    pointer = {"run_id": started["run_id"], "shard_key": dispatcher.lambda_calls[0][1]}
    first = WORKER(pointer, worker_context(out_of_time_after=2))
    assert first["continuation"] == f"runs/{started['run_id']}/shard-000-p1.json"
    assert not first["finished"] and first["not_started"] > 0
    run_id, key, function = dispatcher.lambda_calls[-1]
    assert (key, function) == (
        first["continuation"],
        "arn:aws:lambda:us-east-1:123456789012:function:homebrew-sync-worker",
    )
    assert "locks/sync.lock" in aws_world.object_keys()
    assert "bottles_hash.json" not in aws_world.object_keys()  # one state write per run, at its end
    storage = S3Storage(aws_world.s3, aws_world.bucket)
    recorded = set(effective_state(storage, StateStore(storage)).bottles)  # the journal holds the progress
    assert 0 < len(recorded) < started["planned"]
    aws_world.upstream.faults.clear()
    reports = run_workers(dispatcher, start=1)  # the continuation (and any after it)
    assert reports[-1]["finished"]
    repeated = WORKER({"run_id": run_id, "shard_key": first["continuation"]}, worker_context())
    assert repeated["duplicate"] and not repeated["finished"]  # a second delivery changes nothing
    summary = aws_world.json(f"runs/{run_id}/summary.json")
    assert summary["downloaded"] + summary["copied"] == started["planned"] and summary["not_started"] == 0
    assert "locks/sync.lock" not in aws_world.object_keys()


def test_invalid_worker_event_is_rejected(aws_world):
    result = WORKER({"run_id": "x"}, worker_context())
    assert result["status"] == "rejected" and "shard_key" in result["error"]


def test_run_task_request_is_exact(monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_CLUSTER", "homebrew-sync-prod")
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_TASK_DEFINITION", "homebrew-sync-prod")
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_SUBNETS", "subnet-1,subnet-2")
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_SECURITY_GROUPS", "sg-9")
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_ASSIGN_PUBLIC_IP", "true")
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_CAPACITY_PROVIDER", "FARGATE_SPOT")
    settings = load_settings()
    ecs = boto3.client("ecs", region_name="us-east-1")
    with Stubber(ecs) as stub:
        stub.add_response(
            "run_task",
            {"tasks": [{"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/x"}], "failures": []},
            {
                "cluster": "homebrew-sync-prod",
                "taskDefinition": "homebrew-sync-prod",
                "count": 1,
                "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": ["subnet-1", "subnet-2"],
                        "securityGroups": ["sg-9"],
                        "assignPublicIp": "ENABLED",
                    }
                },
                "overrides": {
                    "containerOverrides": [
                        {
                            "name": "homebrew-sync",
                            "environment": [
                                {"name": "HOMEBREW_SYNC_RUN_ID", "value": "sched-1"},
                                {"name": "HOMEBREW_SYNC_SHARD_KEY", "value": "runs/sched-1/shard-002-p0.json"},
                            ],
                        }
                    ]
                },
                "clientToken": "sched-1-s002",
                "startedBy": "homebrew-sync",
                "propagateTags": "TASK_DEFINITION",
            },
        )
        AwsDispatcher(settings, ecs_client=ecs).run_task("sched-1", "runs/sched-1/shard-002-p0.json", 2)
        stub.assert_no_pending_responses()


def test_run_task_failures_raise():
    import pytest
    from homebrew_sync.errors import SyncError

    settings = load_settings(ecs_cluster="c", ecs_task_definition="t", ecs_subnets=["s"])
    ecs = boto3.client("ecs", region_name="us-east-1")
    with Stubber(ecs) as stub:
        stub.add_response("run_task", {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:MEMORY"}]}, None)
        with pytest.raises(SyncError, match="RESOURCE:MEMORY"):
            AwsDispatcher(settings, ecs_client=ecs).run_task("r", "runs/r/shard-000-p0.json", 0)


def test_lambda_invoke_is_asynchronous_with_a_pointer_payload():
    settings = load_settings(sync_function_name="homebrew-sync-worker")
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "homebrew-sync-worker",
                "InvocationType": "Event",
                "Payload": json.dumps({"run_id": "r1", "shard_key": "runs/r1/shard-000-p0.json"}),
            },
        )
        AwsDispatcher(settings, lambda_client=client).invoke_worker("r1", "runs/r1/shard-000-p0.json")
        stub.add_response(
            "invoke", {"StatusCode": 202}, {"FunctionName": "arn:self", "InvocationType": "Event", "Payload": ANY}
        )
        AwsDispatcher(settings, lambda_client=client).invoke_worker("r1", "k", function="arn:self")
        stub.assert_no_pending_responses()


def test_a_poison_bottle_is_reported_quarantined_in_the_notification(aws_world, dispatcher):
    from tests.integration.test_faults import a_bottle

    file, sha = a_bottle(aws_world.upstream)
    aws_world.upstream.faults.add(sha, "wrong_bytes", times=-1)
    for week in (1, 2, 3):
        event = dict(load_event("scheduled.json"), id=f"week-{week}")
        ORCHESTRATOR(event, orchestrator_context())
        run_workers(dispatcher, start=len(dispatcher.lambda_calls) - 1)
        final = aws_world.webhook.texts()[-1]
        assert "Completed With Problems" in final and f"{file}: sha256 mismatch" in final
        assert ("Quarantined (failed 3+ runs in a row): " + file in final) == (week == 3)
    alerts = aws_world.alerts()
    assert len(alerts) == 3 and all(file in a for a in alerts)
    assert aws_world.json("bottles_hash.json")["failures"][file]["count"] == 3


def test_a_complete_run_prunes_superseded_versions_when_asked(aws_world, dispatcher, monkeypatch):
    ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    run_workers(dispatcher)
    old = [k for k in aws_world.object_keys() if k.split("/")[-1].startswith("curl-8.16.0.")]
    assert old
    aws_world.upstream.catalogue.bump_version("curl", tags=("arm64_sonoma", "arm64_ventura", "monterey"))
    monkeypatch.setenv("HOMEBREW_SYNC_PRUNE_KEEP_VERSIONS", "1")
    monkeypatch.setenv("HOMEBREW_SYNC_PRUNE_OLDER_THAN_DAYS", "0")
    payload = {"source": "manual", "prune": True}
    ORCHESTRATOR(payload, orchestrator_context())
    run_workers(dispatcher, start=1)
    keys = aws_world.object_keys()
    assert not set(old) & set(keys) and "curl/manifests/8.16.0-2" not in keys
    assert any(k.split("/")[-1].startswith("curl-8.16.1.") for k in keys)
    state = aws_world.json("bottles_hash.json")
    assert state["last_sync"]["complete"] and not [f for f in state["bottles"] if f.startswith("curl-8.16.0.")]


def test_the_worker_takes_the_indexes_the_orchestrator_read(aws_world, dispatcher):
    """The size estimate's image indexes reach the worker in the run's hand-off file: each index the registry
    serves is asked of it once per run, and what the mirror stores is the registry's bytes. (An index it
    does not serve is not handed off: the worker asks once more.)"""
    started = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    handed = f"runs/{started['run_id']}/indexes-000.bin"
    assert handed in aws_world.object_keys()
    [report] = run_workers(dispatcher)
    assert report["finished"]
    served = aws_world.upstream.index_requests(status=200)
    assert served and max(served.values()) == 1
    stored = [k for k in aws_world.object_keys() if "/manifests/" in k]
    assert stored
    for key in stored:
        upstream = requests.get(f"{aws_world.upstream.registry_url}/{key}", headers=GHCR_ANONYMOUS, timeout=10)
        assert aws_world.s3.get_object(Bucket=aws_world.bucket, Key=key)["Body"].read() == upstream.content, key


def test_a_damaged_index_hand_off_is_ignored_not_trusted(tmp_path):
    """A hand-off file whose lengths do not add up yields nothing: the worker asks the registry itself
    rather than store bytes cut at the wrong place."""
    docs = RunDocuments(LocalStorage(tmp_path), "sched-1")
    indexes = {"wget:1.25.0": b'{"schemaVersion":2}', "python/3.12:3.12.7_1": b'{"manifests":[]}'}
    key = docs.write_indexes(0, indexes)
    assert docs.read_indexes(key) == indexes
    path = tmp_path / key
    path.write_bytes(path.read_bytes()[:-1])
    assert docs.read_indexes(key) == {}
    path.write_bytes(b"not a header\n{}")
    assert docs.read_indexes(key) == {}
