"""Handing shards to workers: the sync Lambda (async invoke) or an ECS Fargate task.

Payloads and container overrides carry only pointers (run id and shard key). The ECS `clientToken`
derives from run id and shard, so a retried dispatch does not start a second task.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import boto3

from homebrew_sync.errors import ConfigError, SyncError

if TYPE_CHECKING:
    from homebrew_sync.config import Settings

RUN_ID_ENV = "HOMEBREW_SYNC_RUN_ID"
SHARD_KEY_ENV = "HOMEBREW_SYNC_SHARD_KEY"


class Dispatcher(Protocol):
    def invoke_worker(self, run_id: str, shard_key: str, *, function: str | None = None) -> None:
        """Start the sync Lambda on a shard (asynchronously); `function` overrides the target (continuations)."""

    def run_task(self, run_id: str, shard_key: str, shard: int) -> None:
        """Start one ECS Fargate task on a shard."""


def worker_payload(run_id: str, shard_key: str) -> dict[str, str]:
    return {"run_id": run_id, "shard_key": shard_key}


def client_token(run_id: str, shard: int) -> str:
    """Idempotency token for ecs.run_task: at most 64 printable characters."""
    token = f"{run_id}-s{shard:03d}"
    return token if len(token) <= 64 else hashlib.sha256(token.encode()).hexdigest()


def run_task_request(settings: Settings, run_id: str, shard_key: str, shard: int) -> dict[str, Any]:
    """The exact ecs.run_task request for one shard."""
    missing = [name for name in ("ecs_cluster", "ecs_task_definition") if not getattr(settings, name)] + (
        ["ecs_subnets"] if not settings.ecs_subnets else []
    )
    if missing:
        raise ConfigError(f"ECS route needs settings: {', '.join('HOMEBREW_SYNC_' + m.upper() for m in missing)}")
    return {
        "cluster": settings.ecs_cluster,
        "taskDefinition": settings.ecs_task_definition,
        "count": 1,
        "capacityProviderStrategy": [{"capacityProvider": settings.ecs_capacity_provider, "weight": 1}],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": settings.ecs_subnets,
                "securityGroups": settings.ecs_security_groups,
                "assignPublicIp": "ENABLED" if settings.ecs_assign_public_ip else "DISABLED",
            }
        },
        "overrides": {
            "containerOverrides": [
                {
                    "name": settings.ecs_container_name,
                    "environment": [
                        {"name": RUN_ID_ENV, "value": run_id},
                        {"name": SHARD_KEY_ENV, "value": shard_key},
                    ],
                }
            ]
        },
        "clientToken": client_token(run_id, shard),
        "startedBy": "homebrew-sync",
        "propagateTags": "TASK_DEFINITION",
    }


class AwsDispatcher:
    def __init__(self, settings: Settings, *, lambda_client: Any = None, ecs_client: Any = None) -> None:
        self.settings = settings
        self._lambda = lambda_client
        self._ecs = ecs_client

    def invoke_worker(self, run_id: str, shard_key: str, *, function: str | None = None) -> None:
        target = function or self.settings.sync_function_name
        if not target:
            raise ConfigError("Lambda route needs HOMEBREW_SYNC_SYNC_FUNCTION_NAME")
        client = self._lambda or boto3.client("lambda")
        response = client.invoke(
            FunctionName=target, InvocationType="Event", Payload=json.dumps(worker_payload(run_id, shard_key))
        )
        if response.get("StatusCode") not in (200, 202):
            raise SyncError(f"invoking {target} returned status {response.get('StatusCode')}")

    def run_task(self, run_id: str, shard_key: str, shard: int) -> None:
        client = self._ecs or boto3.client("ecs")
        response = client.run_task(**run_task_request(self.settings, run_id, shard_key, shard))
        failures = response.get("failures") or []
        if failures or not response.get("tasks"):
            reasons = ", ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')}" for f in failures) or "no task started"
            raise SyncError(f"ecs.run_task failed: {reasons}")


DispatcherFactory = Callable[["Settings"], Dispatcher]
_factory: DispatcherFactory = AwsDispatcher


def make_dispatcher(settings: Settings) -> Dispatcher:
    return _factory(settings)


def use_dispatcher(factory: DispatcherFactory) -> None:
    """Replace how handlers dispatch (scripts/invoke_local.py runs workers in-process instead)."""
    global _factory
    _factory = factory
