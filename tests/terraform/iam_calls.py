"""The AWS calls the engine makes, and a check that the applied IAM policies allow each of them.

Calls are found in the code (every boto3 client method called under shared/, lambda/ and ecs/), each
mapped to the IAM actions it needs; a method not mapped here fails the check, so a new call cannot go
unnoticed. S3 calls are checked against every kind of key the engine reads, writes or deletes, built
with the engine's own naming functions.

Policies are judged the way IAM judges them, as far as these policies go: an explicit Deny wins, and a
statement's conditions must hold for the request, whose condition keys come from what the runtime really
sends (its environment as deployed). What this evaluator cannot judge (NotAction, NotResource, set
operators, an unknown operator) fails the check instead of passing it.
"""

from __future__ import annotations

import ast
import datetime as dt
import fnmatch
import json
from pathlib import Path

from homebrew_sync.api import API_PREFIX, FORMULA_JWS
from homebrew_sync.aws.observability import DEFAULT_NAMESPACE
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


class Unjudgeable(AssertionError):
    """A policy uses something this evaluator does not model; the check fails rather than guess."""


# Condition operator -> how one request value compares with one policy value.
_COMPARE = {
    "StringEquals": lambda value, wanted: value == wanted,
    "StringLike": fnmatch.fnmatchcase,
    "ArnEquals": lambda value, wanted: value == wanted,
    "ArnLike": fnmatch.fnmatchcase,
    "Bool": lambda value, wanted: value.lower() == wanted.lower(),
}


def _conditions_hold(conditions: dict, context: dict[str, str]) -> bool:
    """Every operator and key must hold; a key the request does not carry fails (unless ...IfExists)."""
    for operator, tests in conditions.items():
        base = operator.removesuffix("IfExists")
        if ":" in operator or base not in _COMPARE:
            raise Unjudgeable(f"condition operator {operator} is not modelled")
        for key, wanted in tests.items():
            value = context.get(key)
            if value is None:
                if base == operator:
                    return False
                continue
            if not any(_COMPARE[base](value, w) for w in _as_list(wanted)):
                return False
    return True


def _applies(statement: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    for unmodelled in ("NotAction", "NotResource", "NotPrincipal"):
        if unmodelled in statement:
            raise Unjudgeable(f"{unmodelled} in statement {statement.get('Sid', '?')} is not modelled")
    return (
        any(fnmatch.fnmatchcase(action, a) for a in _as_list(statement.get("Action", [])))
        and any(fnmatch.fnmatchcase(resource, r) for r in _as_list(statement.get("Resource", [])))
        and _conditions_hold(statement.get("Condition", {}), context)
    )


def allows(policy: str, action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """Whether the policy allows the request: an Allow applies (action, resource and conditions against the
    request's condition keys) and no Deny does."""
    context = context or {}
    applying = [s["Effect"] for s in _statements(policy) if _applies(s, action, resource, context)]
    return "Allow" in applying and "Deny" not in applying


def _environments(resources: dict[str, dict]) -> dict[str, dict[str, str]]:
    """Each runtime's environment as deployed: the Lambdas' variables and the task's container definition."""
    lambdas = {runtime: f"module.lambda.aws_lambda_function.{runtime}" for runtime in ("orchestrator", "sync")}
    envs = {runtime: resources[a]["values"]["environment"][0]["variables"] for runtime, a in lambdas.items()}
    [container] = json.loads(resources["module.ecs.aws_ecs_task_definition.this"]["values"]["container_definitions"])
    envs["ecs"] = {item["name"]: item["value"] for item in container.get("environment", [])}
    return envs


def _kms_needs(resources: dict[str, dict]) -> list[tuple[str, str, dict[str, str]]]:
    """What reading the secret, publishing to the topic and using the mirror bucket ask of their KMS keys."""
    secret = resources["module.notifications.aws_secretsmanager_secret.slack_webhook"]["values"]
    topic = resources["module.notifications.aws_sns_topic.this"]["values"]
    bucket = resources["module.s3.aws_s3_bucket.this"]["values"]["bucket"]
    needs = [("kms:Decrypt", secret["kms_key_id"], {})] if secret.get("kms_key_id") else []
    if topic.get("kms_master_key_id"):
        needs += [(a, topic["kms_master_key_id"], {}) for a in ("kms:GenerateDataKey", "kms:Decrypt")]
    for resource in resources.values():
        if (
            resource["type"] == "aws_s3_bucket_server_side_encryption_configuration"
            and resource["values"]["bucket"] == bucket
        ):
            for rule in resource["values"]["rule"]:
                for default in rule["apply_server_side_encryption_by_default"]:
                    if default.get("kms_master_key_id"):
                        key = default["kms_master_key_id"]
                        needs += [(a, key, {}) for a in ("kms:GenerateDataKey", "kms:Decrypt")]
    for _, key, _ in needs:
        assert key.startswith("arn:") and ":key/" in key, f"KMS key given as {key!r}, not a key ARN: not modelled"
    return needs


def _named(resources: dict[str, dict], resource_type: str, key: str, value: str) -> dict:
    """The one resource of that type whose `key` is `value` (what an environment variable names)."""
    found = [r["values"] for r in resources.values() if r["type"] == resource_type and r["values"][key] == value]
    assert len(found) == 1, f"{len(found)} {resource_type} with {key} {value!r}"
    return found[0]


def missing_permissions(resources: dict[str, dict]) -> list[str]:
    """`runtime: action on resource` for every call the code makes that the applied policies do not allow."""
    unmapped = sorted(set(called_methods()) - set(METHOD_ACTIONS))
    problems = [f"unmapped boto3 call {name} (add it to METHOD_ACTIONS)" for name in unmapped]

    def value(address: str, key: str) -> str:
        return resources[address]["values"][key]

    envs = _environments(resources)
    bucket_arn = value("module.s3.aws_s3_bucket.this", "arn")
    prefix = envs["sync"]["HOMEBREW_SYNC_PREFIX"]
    objects = f"{bucket_arn}/{prefix + '/' if prefix else ''}"
    policies = {runtime: value(address, "policy") for runtime, address in ROLE_POLICIES.items()}
    sync_arn = value("module.lambda.aws_lambda_function.sync", "arn")
    needs: dict[str, list[tuple[str, str, dict[str, str]]]] = {runtime: [] for runtime in policies}
    kms = _kms_needs(resources)
    for runtime in policies:
        needs[runtime].append(("s3:ListBucket", bucket_arn, {}))
        for key, actions in S3_KEYS.items():
            needs[runtime] += [(action, objects + key, {}) for action in actions]
        needs[runtime].append(("sns:Publish", value("module.notifications.aws_sns_topic.this", "arn"), {}))
        secret = value("module.notifications.aws_secretsmanager_secret.slack_webhook", "arn")
        needs[runtime].append(("secretsmanager:GetSecretValue", secret, {}))
        namespace = envs[runtime].get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)
        needs[runtime].append(("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace}))
        needs[runtime] += kms

    # ecs.run_task as dispatch.run_task_request sends it: cluster and family by name, tags propagated.
    orchestrator = envs["orchestrator"]
    cluster = _named(resources, "aws_ecs_cluster", "name", orchestrator["HOMEBREW_SYNC_ECS_CLUSTER"])["arn"]
    task = _named(resources, "aws_ecs_task_definition", "family", orchestrator["HOMEBREW_SYNC_ECS_TASK_DEFINITION"])
    task_arn = cluster.replace(":cluster/", ":task/") + "/0123456789abcdef0123456789abcdef"
    needs["orchestrator"] += [
        ("lambda:InvokeFunction", sync_arn, {}),
        ("ecs:RunTask", task["arn"], {"ecs:cluster": cluster}),
        ("ecs:TagResource", task_arn, {"ecs:CreateAction": "RunTask"}),
        ("iam:PassRole", task["task_role_arn"], {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        ("iam:PassRole", task["execution_role_arn"], {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
    ]
    needs["sync"].append(("lambda:InvokeFunction", sync_arn, {}))  # its own continuation
    for runtime, requests in needs.items():
        problems += [f"{runtime}: {a} on {r}" for a, r, c in requests if not allows(policies[runtime], a, r, c)]
    return list(dict.fromkeys(problems))  # one line per problem (the secret and the topic may share a key)
