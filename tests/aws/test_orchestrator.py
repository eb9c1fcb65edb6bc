"""Orchestrator handler: event parsing, lock, plan hand-off, routing, duplicates, dry runs, failures."""

import pytest
from homebrew_sync.aws import orchestrator
from homebrew_sync.aws.notify import Notifier
from homebrew_sync.aws.shard_worker import run_worker
from homebrew_sync.config import load_settings
from homebrew_sync.lock import LockInfo
from homebrew_sync.selection import select_tag

from tests.aws.conftest import ORCHESTRATOR, load_event, orchestrator_context, run_workers
from tests.integration.conftest import expected_files

RUN_PREFIX = "runs/"


def test_scheduled_event_plans_writes_hand_off_and_invokes_the_sync_lambda(aws_world, dispatcher):
    result = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    run_id = result["run_id"]
    assert run_id.startswith("sched-20250720T0300Z-")
    assert (result["status"], result["route"], result["shards"]) == ("started", "lambda", 1)
    assert result["planned"] == len(expected_files(aws_world.upstream))
    staged_api = [
        "cask.jws.json",
        "cask_tap_migrations.jws.json",
        "formula.jws.json",
        "formula_tap_migrations.jws.json",
        *(f"internal/packages.{tag}.jws.json" for tag in ("arm64_sonoma", "arm64_ventura", "monterey")),
    ]
    assert aws_world.object_keys(f"{RUN_PREFIX}{run_id}/") == [
        *(f"runs/{run_id}/api/{name}" for name in staged_api),
        f"runs/{run_id}/dispatched/shard-000-p0.json",  # written only after the invoke succeeded
        f"runs/{run_id}/indexes-000.bin",  # the image indexes the size estimate read, for the worker
        f"runs/{run_id}/plan.json",
        f"runs/{run_id}/run.json",
        f"runs/{run_id}/shard-000-p0.json",
    ]
    assert not any(key.startswith("api/") for key in aws_world.object_keys())  # published only at the end
    assert dispatcher.lambda_calls == [(run_id, f"runs/{run_id}/shard-000-p0.json", None)]
    assert dispatcher.ecs_calls == []
    lock = LockInfo.parse(aws_world.s3.get_object(Bucket=aws_world.bucket, Key="locks/sync.lock")["Body"].read())
    assert lock.run_id == run_id  # held until the last shard finishes
    [start] = aws_world.webhook.texts()
    assert start.splitlines()[0] == "🚀 Homebrew Bottles Sync Started"
    assert "Environment: test" in start and "Date: 2025-07-20" in start
    assert f"Estimated bottles: {result['planned']}" in start and "Sync method: Lambda" in start
    assert "Estimated size: " in start


def test_at_or_above_the_threshold_routes_to_ecs(aws_world, dispatcher, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_SIZE_THRESHOLD_GB", "0.00001")
    result = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert result["route"] == "ecs" and result["estimated_bytes"] >= 0.00001 * 1024**3
    assert dispatcher.ecs_calls == [(result["run_id"], f"runs/{result['run_id']}/shard-000-p0.json", 0)]
    assert dispatcher.lambda_calls == []
    assert "Sync method: ECS Fargate" in aws_world.webhook.texts()[0]


def test_the_threshold_itself_routes_to_ecs():
    settings = load_settings(size_threshold_gb=2)
    at = settings.size_threshold_bytes
    assert orchestrator.choose_route(at, settings) == "ecs"
    assert orchestrator.choose_route(at - 1, settings) == "lambda"


def test_duplicate_delivery_starts_one_run(aws_world, dispatcher):
    first = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    second = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert second == {"status": "duplicate", "run_id": first["run_id"]}
    assert len(dispatcher.lambda_calls) == 1
    run_workers(dispatcher)
    third = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())  # after it finished, too
    assert third["status"] == "duplicate" and len(dispatcher.lambda_calls) == 1


def test_lock_held_by_another_run_exits_cleanly(aws_world, dispatcher):
    first = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    other = dict(load_event("scheduled.json"), id="another-delivery-id")
    result = ORCHESTRATOR(other, orchestrator_context())
    assert result["status"] == "locked" and first["run_id"] in result["message"]
    assert len(dispatcher.lambda_calls) == 1
    assert aws_world.object_keys(f"runs/{result['run_id']}/") == []


def test_manual_eventbridge_dry_run_plans_and_notifies_only(aws_world, dispatcher):
    result = ORCHESTRATOR(load_event("manual_eventbridge.json"), orchestrator_context())
    assert result["status"] == "dry_run" and result["run_id"].startswith("manual-20250722T1015Z-")
    assert dispatcher.lambda_calls == [] and dispatcher.ecs_calls == []
    assert aws_world.object_keys() == []  # no plan, no lock left, no bottles
    [start] = aws_world.webhook.texts()
    assert "(dry run)" in start.splitlines()[0]


def test_manual_payload_with_a_formula_subset(aws_world, dispatcher):
    catalogue = aws_world.upstream.catalogue
    pourable = [
        n
        for n in catalogue.names()
        if select_tag(catalogue.bottles(n), "arm64_sonoma") and not catalogue.find(n)["disabled"]
    ]
    names = sorted(pourable, key=lambda n: ("@" not in n and "+" not in n, n))[:2]
    event = {"source": "manual", "formulae": names, "platforms": ["arm64_sonoma"], "run_id": "manual-test-1"}
    result = ORCHESTRATOR(event, orchestrator_context())
    assert result["run_id"] == "manual-test-1"
    plan = aws_world.json("runs/manual-test-1/plan.json")
    assert {b["formula"] for b in plan["bottles"]} == set(names)
    assert plan["platforms"] == ["arm64_sonoma"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("invalid_platform.json", "unknown platform 'arm64_bogus'"),
        ("invalid_unknown_field.json", "dryrun: Extra inputs are not permitted"),
        ("invalid_unrecognised.json", "unrecognised event"),
        ("invalid_formula_name.json", "unsafe formula name"),
    ],
)
def test_invalid_payload_returns_a_clear_error_and_starts_nothing(aws_world, dispatcher, event, message):
    result = ORCHESTRATOR(load_event(event), orchestrator_context())
    assert result["status"] == "rejected" and message in result["error"]
    assert aws_world.object_keys() == [] and dispatcher.lambda_calls == [] and aws_world.webhook.texts() == []


def test_large_plans_are_split_into_shards_and_exactly_one_worker_finishes(aws_world, dispatcher, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_MAX_SHARDS", "3")
    monkeypatch.setattr(orchestrator, "SHARD_MIN_BYTES", 1)
    result = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert result["shards"] == 3 and len(dispatcher.lambda_calls) == 3
    plans = [aws_world.json(key) for _run, key, _f in dispatcher.lambda_calls]
    files = [b["file"] for shard in plans for b in shard["bottles"]]
    assert sorted(files) == sorted(expected_files(aws_world.upstream)) and len(files) == len(set(files))
    reports = run_workers(dispatcher)
    assert [r["finished"] for r in reports] == [False, False, True]
    summary = aws_world.json(f"runs/{result['run_id']}/summary.json")
    assert summary["downloaded"] + summary["copied"] == result["planned"] and summary["failed"] == 0
    assert "locks/sync.lock" not in aws_world.object_keys()
    assert sum("Sync Complete" in t for t in aws_world.webhook.texts()) == 1


def test_upstream_failure_notifies_slack_and_sns_and_releases_the_lock(aws_world, dispatcher):
    aws_world.upstream.faults.add("api", "api_error", times=-1)
    with pytest.raises(Exception, match="HTTP 503"):
        ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert "locks/sync.lock" not in aws_world.object_keys()
    [failure] = aws_world.webhook.texts()
    assert failure.splitlines()[0] == "❌ Homebrew Bottles Sync Failed"
    assert "Error: formula.jws.json: HTTP 503" in failure
    assert "Check logs: /aws/" in failure
    [alert] = aws_world.alerts()
    assert "Homebrew Bottles Sync Failed" in alert
    assert dispatcher.lambda_calls == []


def test_nothing_new_finishes_at_once(aws_world, dispatcher):
    ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    run_workers(dispatcher)
    aws_world.webhook.clear()
    again = dict(load_event("scheduled.json"), id="next-week", time="2025-07-27T03:00:00Z")
    result = ORCHESTRATOR(again, orchestrator_context())
    assert (result["status"], result["route"], result["planned"]) == ("finished", "none", 0)
    assert len(dispatcher.lambda_calls) == 1  # only last week's
    assert "locks/sync.lock" not in aws_world.object_keys()
    assert "New bottles: 0" in aws_world.webhook.texts()[-1]


def test_a_size_estimate_out_of_time_routes_to_ecs_and_says_so(aws_world, dispatcher, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_PLAN_BUDGET_S", "0.000001")
    monkeypatch.setenv("HOMEBREW_SYNC_SIZE_CONCURRENCY", "1")
    result = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert result["route"] == "ecs" and result["size_estimate"] == "time budget for the size estimate spent"
    assert "routed to ECS" in aws_world.webhook.texts()[0]
    assert len(dispatcher.ecs_calls) == 1


def test_each_index_is_read_once_in_a_run_across_orchestrator_and_worker(aws_world, dispatcher, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_PLAN_BUDGET_S", "0.000001")  # the worker reads what the orchestrator did not
    monkeypatch.setenv("HOMEBREW_SYNC_SIZE_CONCURRENCY", "1")
    monkeypatch.setenv("HOMEBREW_SYNC_SIZE_THRESHOLD_GB", "1")
    result = ORCHESTRATOR(load_event("scheduled.json"), orchestrator_context())
    assert result["size_estimate"]
    settings = load_settings()  # the ECS task's work, in-process
    run_id, key, _ = dispatcher.ecs_calls[0]
    report = run_worker(
        settings, run_id, key, notifier=Notifier(settings), metrics_sink=lambda _m: None, logs="-", can_continue=False
    )
    assert report.finished_run is not None and report.finished_run.manifests > 0
    reads = [r.path for r in aws_world.upstream.requests if "/manifests/" in r.path and "sha256:" not in r.path]
    assert reads and len(reads) == len(set(reads))
