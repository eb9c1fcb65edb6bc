"""Security properties checkov does not check (or not for private buckets), on the policies `terraform
apply` actually created against moto: TLS-only bucket policies, least-privilege IAM, PassRole only to
ECS tasks. (No public bucket, the bottle lifecycle and secrets in environments: test_terraform_real.py.)"""

from __future__ import annotations

import json

import pytest

from tests.terraform import tf

# Actions AWS cannot scope to a resource: "*" is the only valid resource for them.
UNSCOPED_ACTIONS = {
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


@pytest.fixture(scope="module")
def resources(tf_applied) -> dict[str, dict]:
    return tf.state_resources(tf_applied["state"])


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def _statements(policy: str) -> list[dict]:
    return _list(json.loads(policy)["Statement"])


def denies_insecure_transport(policy: str, bucket_arn: str) -> bool:
    for statement in _statements(policy):
        condition = statement.get("Condition", {}).get("Bool", {})
        if (
            statement.get("Effect") == "Deny"
            and _list(statement.get("Action")) == ["s3:*"]
            and statement.get("Principal") in ("*", {"AWS": "*"})
            and _list(condition.get("aws:SecureTransport")) == ["false"]
            and {bucket_arn, f"{bucket_arn}/*"} <= set(_list(statement.get("Resource")))
        ):
            return True
    return False


@pytest.mark.parametrize("bucket", ["this", "logs"])
def test_bucket_policy_denies_requests_without_tls(resources, bucket):
    arn = resources[f"module.s3.aws_s3_bucket.{bucket}"]["values"]["arn"]
    policy = resources[f"module.s3.aws_s3_bucket_policy.{bucket}"]["values"]["policy"]
    assert denies_insecure_transport(policy, arn)


def test_tls_check_rejects_a_policy_without_the_condition(resources):
    arn = resources["module.s3.aws_s3_bucket.this"]["values"]["arn"]
    document = json.loads(resources["module.s3.aws_s3_bucket_policy.this"]["values"]["policy"])
    for statement in _list(document["Statement"]):
        statement.pop("Condition", None)
    assert not denies_insecure_transport(json.dumps(document), arn)


def test_iam_has_no_wildcard_actions_and_star_resources_only_where_unavoidable(resources):
    policies = {a: r["values"]["policy"] for a, r in resources.items() if r["type"] == "aws_iam_role_policy"}
    roles = ("orchestrator", "sync", "ecs_task", "ecs_execution")
    assert {f"module.iam.aws_iam_role_policy.{role}" for role in roles} <= set(policies)
    for address, policy in policies.items():
        for statement in _statements(policy):
            actions = _list(statement.get("Action", []))
            for action in actions:
                assert action != "*" and not action.endswith(":*"), f"{address}: wildcard action {action}"
            if "*" in _list(statement.get("Resource", [])):
                assert set(actions) <= UNSCOPED_ACTIONS, f"{address}: * resource for {actions}"
                if "cloudwatch:PutMetricData" in actions:
                    assert statement["Condition"]["StringEquals"]["cloudwatch:namespace"] == "HomebrewSync"


def test_pass_role_is_limited_to_ecs_tasks_and_run_task_to_the_cluster(resources):
    policy = resources["module.iam.aws_iam_role_policy.orchestrator"]["values"]["policy"]
    statements = {s.get("Sid"): s for s in _statements(policy)}
    pass_role = statements["PassTaskRoles"]
    assert pass_role["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    task_roles = {resources[f"module.iam.aws_iam_role.{r}"]["values"]["arn"] for r in ("ecs_task", "ecs_execution")}
    assert set(_list(pass_role["Resource"])) == task_roles  # only the task's own two roles
    cluster = resources["module.ecs.aws_ecs_cluster.this"]["values"]["arn"]
    assert statements["RunSyncTask"]["Condition"]["ArnEquals"]["ecs:cluster"] == cluster


def test_engine_s3_access_is_scoped_to_named_prefixes(resources):
    """Every role the engine runs as (orchestrator, sync Lambda, ECS task; and the ECS execution role)."""
    bucket = resources["module.s3.aws_s3_bucket.this"]["values"]["arn"]
    policies = {a: r for a, r in resources.items() if a.startswith("module.iam.aws_iam_role_policy.")}
    assert {f"module.iam.aws_iam_role_policy.{n}" for n in ("orchestrator", "sync", "ecs_task")} <= set(policies)
    for address, policy in policies.items():
        for statement in _statements(policy["values"]["policy"]):
            if not any(a.startswith("s3:") for a in _list(statement["Action"])):
                continue
            for resource in _list(statement["Resource"]):
                if statement["Sid"] == "ListMirrorBucket":
                    assert resource == bucket, (address, resource)
                elif statement["Sid"] == "ReadExternalHashFile":
                    assert "*" not in resource, (address, resource)  # one object of the operator's choosing
                else:
                    assert resource.startswith(f"{bucket}/") and resource != f"{bucket}/*", (address, resource)
