"""The AWS calls the engine makes, and a check that the applied IAM policies allow each of them.

Calls are found in the code (every boto3 client method called under shared/, lambda/ and ecs/), each
mapped to the IAM actions it needs; a method not mapped here fails the check, so a new call cannot go
unnoticed. S3 calls are checked against every kind of key the engine reads, writes or deletes, built
with the engine's own naming functions.
"""

from __future__ import annotations

import ast
import datetime as dt
import fnmatch
import json
from pathlib import Path

from homebrew_sync.api import API_PREFIX, FORMULA_JWS
from homebrew_sync.journal import JOURNAL_PREFIX
from homebrew_sync.keys import LOCK_KEY, STATE_BACKUP_KEY, STATE_KEY, manifest_key, object_key, run_key
from homebrew_sync.state import STATE_CORRUPT_KEY

ROOT = Path(__file__).resolve().parents[2]

# boto3 client method -> IAM actions it needs.
METHOD_ACTIONS = {
    "get_object": ["s3:GetObject"],
    "head_object": ["s3:GetObject"],
    "put_object": ["s3:PutObject"],
    "create_multipart_upload": ["s3:PutObject"],
    "upload_part": ["s3:PutObject"],
    "complete_multipart_upload": ["s3:PutObject"],
    "abort_multipart_upload": ["s3:AbortMultipartUpload"],
    "delete_object": ["s3:DeleteObject"],
    "copy": ["s3:GetObject", "s3:PutObject"],
    "copy_object": ["s3:GetObject", "s3:PutObject"],  # GetObject on the source, PutObject on the target
    "get_paginator": ["s3:ListBucket"],  # list_objects_v2, the only paginator the engine uses
    "invoke": ["lambda:InvokeFunction"],
    "run_task": ["ecs:RunTask", "iam:PassRole"],
    "publish": ["sns:Publish"],
    "put_metric_data": ["cloudwatch:PutMetricData"],
}
CLIENT_NAMES = ("client", "_client", "sns_client", "_lambda", "_ecs")

BOTTLE = "wget--1.25.0.arm64_sequoia.bottle.tar.gz"
DAY = dt.date(2026, 1, 4)
# Every kind of object key the engine touches, with what it does there.
S3_KEYS = {
    STATE_KEY: ("s3:GetObject", "s3:PutObject"),
    STATE_BACKUP_KEY: ("s3:GetObject", "s3:PutObject"),
    STATE_CORRUPT_KEY: ("s3:PutObject",),
    LOCK_KEY: ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    run_key("sched-1", "summary.json"): ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    run_key("sched-1", API_PREFIX + FORMULA_JWS): ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    f"{JOURNAL_PREFIX}sched-1/w1-00001.json": ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    API_PREFIX + FORMULA_JWS: ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"),
    manifest_key("wget", "1.25.0"): ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    object_key("dated", DAY, BOTTLE): ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
    object_key("flat", DAY, BOTTLE): ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
}
ROLE_POLICIES = {
    "orchestrator": "module.iam.aws_iam_role_policy.orchestrator",
    "sync": "module.iam.aws_iam_role_policy.sync",
    "ecs": "module.iam.aws_iam_role_policy.ecs_task",
}


def called_methods() -> dict[str, set[str]]:
    """boto3 client method -> files calling it (`<client>.<method>(...)` where the receiver is a client)."""
    found: dict[str, set[str]] = {}
    files = [
        *ROOT.joinpath("shared", "homebrew_sync").rglob("*.py"),
        *ROOT.joinpath("lambda").rglob("*.py"),
        ROOT / "ecs" / "entrypoint.py",
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = node.func.value
            name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
            if name in CLIENT_NAMES or name.endswith("_client"):
                found.setdefault(node.func.attr, set()).add(path.relative_to(ROOT).as_posix())
    return found


def _statements(policy: str) -> list[dict]:
    document = json.loads(policy)
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def allows(policy: str, action: str, resource: str) -> bool:
    """Whether an Allow statement names the action and the resource (IAM wildcards; conditions not judged)."""
    for statement in _statements(policy):
        if statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        if any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
            fnmatch.fnmatchcase(resource, r) for r in resources
        ):
            return True
    return False


def missing_permissions(resources: dict[str, dict]) -> list[str]:
    """`runtime: action on resource` for every call the code makes that the applied policies do not allow."""
    unmapped = sorted(set(called_methods()) - set(METHOD_ACTIONS))
    problems = [f"unmapped boto3 call {name} (add it to METHOD_ACTIONS)" for name in unmapped]

    def value(address: str, key: str) -> str:
        return resources[address]["values"][key]

    bucket_arn = value("module.s3.aws_s3_bucket.this", "arn")
    prefix = value("module.lambda.aws_lambda_function.sync", "environment")[0]["variables"]["HOMEBREW_SYNC_PREFIX"]
    objects = f"{bucket_arn}/{prefix + '/' if prefix else ''}"
    policies = {runtime: value(address, "policy") for runtime, address in ROLE_POLICIES.items()}
    sync_arn = value("module.lambda.aws_lambda_function.sync", "arn")
    needs: dict[str, list[tuple[str, str]]] = {runtime: [] for runtime in policies}
    for runtime in policies:
        needs[runtime].append(("s3:ListBucket", bucket_arn))
        for key, actions in S3_KEYS.items():
            needs[runtime] += [(action, objects + key) for action in actions]
        needs[runtime].append(("sns:Publish", value("module.notifications.aws_sns_topic.this", "arn")))
        needs[runtime].append(
            (
                "secretsmanager:GetSecretValue",
                value("module.notifications.aws_secretsmanager_secret.slack_webhook", "arn"),
            )
        )
        needs[runtime].append(("cloudwatch:PutMetricData", "*"))
    task_definition = value("module.ecs.aws_ecs_task_definition.this", "arn")
    needs["orchestrator"] += [
        ("lambda:InvokeFunction", sync_arn),
        ("ecs:RunTask", task_definition),
        ("iam:PassRole", value("module.iam.aws_iam_role.ecs_task", "arn")),
        ("iam:PassRole", value("module.iam.aws_iam_role.ecs_execution", "arn")),
    ]
    needs["sync"].append(("lambda:InvokeFunction", sync_arn))  # its own continuation
    for runtime, pairs in needs.items():
        problems += [f"{runtime}: {a} on {r}" for a, r in pairs if not allows(policies[runtime], a, r)]
    return problems
