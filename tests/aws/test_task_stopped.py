"""An ECS task of ours that stops other than by success reaches the orchestrator (the failed-task rule)
and becomes one Slack and one SNS message naming the reason; no run starts. Events have ECS's shape."""

from __future__ import annotations

import pytest
from homebrew_sync.aws.triggers import parse_trigger
from homebrew_sync.errors import ConfigError

from tests.aws.conftest import ORCHESTRATOR, load_event, orchestrator_context

RUN_ID = "sched-20250720T0300Z-3f1a2b4c5d"

CASES = {
    "ecs_stopped_image_pull": "the task did not start: CannotPullContainerError",
    "ecs_stopped_out_of_memory": "out of memory: container homebrew-sync - OutOfMemoryError",
    "ecs_stopped_spot": "Fargate Spot capacity reclaimed (SpotInterruption)",
    "ecs_stopped_crash": "container homebrew-sync exited 2 (run error)",
}


@pytest.mark.parametrize(("event", "reason"), sorted(CASES.items()))
def test_stopped_task_is_reported_with_its_reason(aws_world, event, reason, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_LOG_GROUP", "/aws/ecs/mirror-b")
    result = ORCHESTRATOR(load_event(f"{event}.json"), orchestrator_context())
    assert result["status"] == "notified" and result["run_id"] == RUN_ID
    assert reason in result["reason"]
    [slack] = aws_world.webhook.texts()
    [sns] = aws_world.alerts()
    for text in (slack, sns):
        assert "Task Stopped" in text
        assert reason in text
        assert f"Run: {RUN_ID} (shard runs/{RUN_ID}/shards/000.json)" in text
        assert "Check logs: /aws/ecs/mirror-b" in text
    assert aws_world.object_keys() == []  # no lock, no run document: nothing started


def test_a_task_that_ended_in_success_sends_nothing(aws_world):
    result = ORCHESTRATOR(load_event("ecs_stopped_success.json"), orchestrator_context())
    assert result["status"] == "ignored"
    assert aws_world.webhook.texts() == [] and aws_world.alerts() == []


def test_image_pull_reason_keeps_the_missing_image():
    trigger = parse_trigger(load_event("ecs_stopped_image_pull.json"), "req-1")
    assert trigger.kind == "task-stopped"
    assert "homebrew-sync:0123abc: not found" in trigger.stopped.reason
    assert trigger.stopped.shard_key == f"runs/{RUN_ID}/shards/000.json"


def test_a_task_without_our_pointers_still_gets_a_run_id():
    event = load_event("ecs_stopped_spot.json")
    event["detail"]["overrides"] = {}
    trigger = parse_trigger(event, "req-1")
    assert trigger.run_id.startswith("task-") and trigger.stopped.run_id is None


def test_a_malformed_task_event_is_rejected_in_one_line():
    event = load_event("ecs_stopped_crash.json")
    del event["detail"]["taskArn"]
    with pytest.raises(ConfigError, match=r"^invalid trigger event: detail\.taskArn: Field required$"):
        parse_trigger(event, "req-1")
