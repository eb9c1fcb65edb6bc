"""Security properties checkov does not check (or not for private buckets): TLS-only bucket policies,
least-privilege IAM, a lifecycle that cannot delete mirrored bottles, no secret in environment variables."""

from __future__ import annotations

import re

import pytest

from tests.terraform.tfmodel import all_modules, unquote

CONTRACT_COMMON_ENV = {
    "HOMEBREW_SYNC_BUCKET",
    "HOMEBREW_SYNC_PREFIX",
    "HOMEBREW_SYNC_ENVIRONMENT",
    "HOMEBREW_SYNC_PLATFORMS",
    "HOMEBREW_SYNC_LAYOUT",
    "HOMEBREW_SYNC_CONCURRENCY",
    "HOMEBREW_SYNC_API_URL",
    "HOMEBREW_SYNC_REGISTRY_URL",
    "HOMEBREW_SYNC_ALLOW_HOSTS",
    "HOMEBREW_SYNC_ENABLE_NOTIFICATIONS",
    "HOMEBREW_SYNC_SLACK_WEBHOOK_SECRET_ARN",
    "HOMEBREW_SYNC_SNS_TOPIC_ARN",
    "HOMEBREW_SYNC_REQUIRE_SIGNATURE",
    "HOMEBREW_SYNC_ENABLE_TRACING",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
CONTRACT_ORCHESTRATOR_ENV = {
    "HOMEBREW_SYNC_SIZE_THRESHOLD_GB",
    "HOMEBREW_SYNC_MAX_SHARDS",
    "HOMEBREW_SYNC_SYNC_FUNCTION_NAME",
    "HOMEBREW_SYNC_ECS_CLUSTER",
    "HOMEBREW_SYNC_ECS_TASK_DEFINITION",
    "HOMEBREW_SYNC_ECS_CONTAINER_NAME",
    "HOMEBREW_SYNC_ECS_SUBNETS",
    "HOMEBREW_SYNC_ECS_SECURITY_GROUPS",
    "HOMEBREW_SYNC_ECS_ASSIGN_PUBLIC_IP",
    "HOMEBREW_SYNC_ECS_CAPACITY_PROVIDER",
    "HOMEBREW_SYNC_EXTERNAL_HASH_FILE_S3_BUCKET",
    "HOMEBREW_SYNC_EXTERNAL_HASH_FILE_S3_KEY",
    "HOMEBREW_SYNC_EXTERNAL_HASH_FILE_URL",
}
CONTRACT_ECS_ENV = {"HOMEBREW_SYNC_PROGRESS_EVERY_PERCENT", "HOMEBREW_SYNC_PROGRESS_EVERY_MINUTES"}
ENV_NAME = re.compile(r"\b((?:HOMEBREW_SYNC|POWERTOOLS)_[A-Z0-9_]+)\b")
# Actions AWS cannot scope to a resource: "*" is the only valid resource for them.
UNSCOPED_ACTIONS = {
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def _statements(doc: dict) -> list[dict]:
    found = list(doc.get("statement", []))
    for dynamic in doc.get("dynamic", []):
        found += [c for d in dynamic.values() if isinstance(d, dict) for c in d.get("content", [])]
    return found


def _strings(values) -> list[str]:
    return [unquote(v) for v in values]


def _denies_insecure_transport(doc: dict, bucket: str) -> bool:
    for statement in _statements(doc):
        if unquote(statement.get("effect", '"Allow"')) != "Deny":
            continue
        principals = statement.get("principals", [{}])[0]
        conditions = statement.get("condition", [])
        tls = any(
            unquote(c["test"]) == "Bool"
            and unquote(c["variable"]) == "aws:SecureTransport"
            and _strings(c["values"]) == ["false"]
            for c in conditions
        )
        resources = _strings(statement.get("resources", []))
        if (
            tls
            and _strings(statement.get("actions", [])) == ["s3:*"]
            and unquote(principals.get("type")) == "*"
            and _strings(principals.get("identifiers", [])) == ["*"]
            and f"${{{bucket}.arn}}" in resources
            and f"${{{bucket}.arn}}/*" in resources
        ):
            return True
    return False


@pytest.mark.parametrize(("policy", "bucket"), [("this", "aws_s3_bucket.this"), ("logs", "aws_s3_bucket.logs")])
def test_bucket_policy_denies_requests_without_tls(policy, bucket):
    module = all_modules()["s3"]
    doc = module.data_sources[("aws_iam_policy_document", policy)]
    assert _denies_insecure_transport(doc, bucket), f"policy {policy} does not deny aws:SecureTransport=false"
    attached = module.resources[("aws_s3_bucket_policy", policy)]
    assert attached["bucket"] == f"${{{bucket}.id}}"
    assert attached["policy"] == f"${{data.aws_iam_policy_document.{policy}.json}}"


def test_tls_check_rejects_a_policy_without_the_condition():
    doc = all_modules()["s3"].data_sources[("aws_iam_policy_document", "this")]
    weakened = {"statement": [{**s, "condition": []} for s in doc["statement"]]}
    assert not _denies_insecure_transport(weakened, "aws_s3_bucket.this")


@pytest.mark.parametrize("bucket", ["this", "logs"])
def test_buckets_block_public_access_and_disable_acls(bucket):
    module = all_modules()["s3"]
    block = module.resources[("aws_s3_bucket_public_access_block", bucket)]
    for key in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[key] is True, key
    ownership = module.resources[("aws_s3_bucket_ownership_controls", bucket)]
    assert unquote(ownership["rule"][0]["object_ownership"]) == "BucketOwnerEnforced"


def test_lifecycle_never_expires_current_bottles():
    module = all_modules()["s3"]
    rules = module.resources[("aws_s3_bucket_lifecycle_configuration", "this")]["rule"]
    ids = {unquote(rule["id"]) for rule in rules}
    assert {"expire-noncurrent-versions", "abort-incomplete-multipart-uploads", "expire-run-artefacts"} == ids
    for rule in rules:
        for expiration in rule.get("expiration", []):
            if "days" in expiration or "date" in expiration:
                prefix = unquote(rule["filter"][0].get("prefix", ""))
                assert prefix.endswith("runs/"), f"rule {rule['id']} expires current objects outside runs/"
    noncurrent = next(r for r in rules if unquote(r["id"]) == "expire-noncurrent-versions")
    assert (
        noncurrent["noncurrent_version_expiration"][0]["noncurrent_days"] == "${var.noncurrent_version_expiration_days}"
    )
    runs = next(r for r in rules if unquote(r["id"]) == "expire-run-artefacts")
    assert runs["expiration"][0]["days"] == "${var.lifecycle_expiration_days}"


def test_iam_has_no_wildcard_actions_and_star_resources_only_where_unavoidable():
    module = all_modules()["iam"]
    for (_, name), doc in module.data_sources.items():
        for statement in _statements(doc):
            actions = _strings(statement.get("actions", []))
            for action in actions:
                assert action != "*" and not action.endswith(":*"), f"{name}: wildcard action {action}"
            if "*" in _strings(statement.get("resources", [])):
                assert set(actions) <= UNSCOPED_ACTIONS, f"{name}: * resource for {actions}"
                if "cloudwatch:PutMetricData" in actions:
                    condition = statement["condition"][0]
                    assert unquote(condition["variable"]) == "cloudwatch:namespace"


def test_pass_role_is_limited_to_ecs_tasks():
    doc = all_modules()["iam"].data_sources[("aws_iam_policy_document", "orchestrator")]
    statement = next(s for s in _statements(doc) if _strings(s["actions"]) == ["iam:PassRole"])
    condition = statement["condition"][0]
    assert unquote(condition["variable"]) == "iam:PassedToService"
    assert _strings(condition["values"]) == ["ecs-tasks.amazonaws.com"]
    run_task = next(s for s in _statements(doc) if _strings(s["actions"]) == ["ecs:RunTask"])
    assert unquote(run_task["condition"][0]["variable"]) == "ecs:cluster"


def test_engine_s3_access_is_scoped_to_named_prefixes():
    doc = all_modules()["iam"].data_sources[("aws_iam_policy_document", "engine")]
    by_sid = {unquote(s["sid"]): s for s in _statements(doc)}
    read_write = _strings(by_sid["ReadWriteMirrorObjects"]["resources"])
    state_keys = ("bottles_hash.json", "bottles_hash.previous.json", "bottles_hash.corrupt.json")
    assert [f"${{local.objects}}{key}" for key in state_keys] == read_write[:3]
    assert all(r.startswith("${local.objects}") for r in read_write)
    delete = _strings(by_sid["DeleteLocksAndRunArtefacts"]["resources"])
    assert delete == ["${local.objects}locks/*", "${local.objects}runs/*"]
    assert _strings(by_sid["MultipartBottleUploads"]["resources"]) == ["${local.objects}*.tar.gz"]


def test_environment_variables_follow_the_contract():
    root = all_modules()["root"]
    locals_ = root.locals
    common = set(locals_["engine_environment"])
    orchestrator = set(ENV_NAME.findall(locals_["orchestrator_environment"])) | common
    ecs = set(ENV_NAME.findall(locals_["ecs_environment"])) | common
    assert common >= CONTRACT_COMMON_ENV
    assert orchestrator >= CONTRACT_ORCHESTRATOR_ENV
    assert ecs >= CONTRACT_ECS_ENV
    calls = root.module_calls
    assert calls["lambda"]["orchestrator_environment"] == "${local.orchestrator_environment}"
    assert calls["lambda"]["sync_environment"] == "${local.engine_environment}"
    assert calls["ecs"]["environment"] == "${local.ecs_environment}"
    assert unquote(locals_["engine_environment"]["POWERTOOLS_SERVICE_NAME"]) == "${local.service_name}"
    assert unquote(locals_["service_name"]) == "homebrew-sync"
    assert unquote(locals_["metric_namespace"]) == "HomebrewSync"


def test_no_secret_value_in_any_environment():
    text = all_modules()["root"].text() + all_modules()["ecs"].text() + all_modules()["lambda"].text()
    assert "SLACK_WEBHOOK_URL" not in text
    root = all_modules()["root"]
    for name in ("engine_environment", "orchestrator_environment", "ecs_environment"):
        assert "slack_webhook_url" not in str(root.locals[name])
