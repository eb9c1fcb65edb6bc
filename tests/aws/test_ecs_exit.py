"""A shard that ran to its end exits 0 even with failed bottles (they are in the run summary and its
message); only a crash, a run error or an interruption fails the task and fires the failed-task alarm.
Messages name the ECS log group Terraform passes in, not a fixed one."""

from __future__ import annotations

import importlib.util

import pytest
from homebrew_sync.aws.runtime import log_location
from homebrew_sync.aws.shard_worker import WorkerReport
from homebrew_sync.errors import SyncError

from tests.aws.conftest import ROOT


@pytest.fixture
def entrypoint(monkeypatch):
    spec = importlib.util.spec_from_file_location("ecs_entrypoint", ROOT / "ecs" / "entrypoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("HOMEBREW_SYNC_RUN_ID", "sched-1")
    monkeypatch.setenv("HOMEBREW_SYNC_SHARD_KEY", "runs/sched-1/shards/000.json")
    monkeypatch.setenv("HOMEBREW_SYNC_BUCKET", "mirror-bucket")
    monkeypatch.setenv("HOMEBREW_SYNC_ENABLE_NOTIFICATIONS", "false")
    return module


def test_failed_bottles_do_not_fail_the_task(entrypoint, monkeypatch):
    seen = {}

    def worker(settings, run_id, shard_key, **kwargs):
        seen["logs"] = kwargs["logs"]
        return WorkerReport(run_id=run_id, shard=0, piece=0, downloaded=1, failed=2, not_started=0)

    monkeypatch.setenv("HOMEBREW_SYNC_ECS_LOG_GROUP", "/aws/ecs/mirror-b")
    monkeypatch.setattr(entrypoint, "run_worker", worker)
    assert entrypoint.main() == 0
    assert seen["logs"] == "/aws/ecs/mirror-b"


def test_a_run_error_still_fails_the_task(entrypoint, monkeypatch):
    def worker(*args, **kwargs):
        raise SyncError("state unreadable")

    monkeypatch.setattr(entrypoint, "run_worker", worker)
    assert entrypoint.main() == 2


def test_log_location_prefers_lambda_then_the_terraform_setting(monkeypatch):
    monkeypatch.delenv("AWS_LAMBDA_LOG_GROUP_NAME", raising=False)
    monkeypatch.delenv("HOMEBREW_SYNC_ECS_LOG_GROUP", raising=False)
    assert log_location() == "stderr"
    monkeypatch.setenv("HOMEBREW_SYNC_ECS_LOG_GROUP", "/aws/ecs/other-prefix")
    assert log_location() == "/aws/ecs/other-prefix"
    monkeypatch.setenv("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/homebrew-sync-orchestrator")
    assert log_location() == "/aws/lambda/homebrew-sync-orchestrator"
