"""terraform fmt, init, validate, plan and apply/destroy on the real CLI, offline, against a moto server.

The plans cover three variable sets; assertions read the plan JSON (what Terraform will create), and
after `apply` the state JSON (where computed values such as ARNs and policy documents are known).
"""

from __future__ import annotations

import json

import pytest

from tests.terraform import tf
from tests.terraform.tf import VARIABLE_SETS

pytestmark = pytest.mark.usefixtures("tf_cli_config")

# Resources moto 5.2 cannot create; `apply` must create every other planned resource.
MOTO_GAPS = {
    "module.monitoring.aws_cloudwatch_query_definition.errors": "moto has no CloudWatch Logs query definitions",
    "module.monitoring.aws_cloudwatch_query_definition.runs": "moto has no CloudWatch Logs query definitions",
    "module.monitoring.aws_cloudwatch_query_definition.failed_bottles": "moto has no CloudWatch Logs query definitions",
    "module.monitoring.aws_cloudwatch_query_definition.lambda_usage": "moto has no CloudWatch Logs query definitions",
    "module.s3.aws_s3_bucket_logging.this": "moto rejects the log bucket's policy for a '*' principal check",
}


@pytest.fixture(scope="module", params=sorted(VARIABLE_SETS))
def any_plan(request, tf_plan):
    return request.param, tf_plan(VARIABLE_SETS[request.param])


def by_address(plan: dict) -> dict[str, dict]:
    return {r["address"]: r for r in tf.resources(plan)}


def values(plan: dict, address: str) -> dict:
    found = by_address(plan)
    assert address in found, f"{address} not planned; planned: {sorted(found)[:20]}..."
    return found[address]["values"]


# --- the tool itself ------------------------------------------------------------------------------


def test_fmt_check_recursive(tf_cli_config):
    terraform = tf.Terraform(tf.TERRAFORM_DIR, tf_cli_config)
    proc = terraform.run("fmt", "-check", "-recursive", "-diff", "-no-color", check=False)
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}"


def _validate(terraform: tf.Terraform) -> dict:
    return _check_validation(json.loads(terraform.run("validate", "-json", "-no-color", check=False).stdout))


def _check_validation(report: dict) -> dict:
    problems = [f"{d['severity']}: {d['summary']}: {d.get('detail', '')}" for d in report["diagnostics"]]
    assert report["valid"], problems
    assert report["warning_count"] == 0, problems
    return report


def test_validate_root_without_warnings(tf_root):
    _validate(tf_root)


MODULES = tf.MODULE_NAMES


@pytest.mark.parametrize("module", MODULES)
def test_validate_each_module_on_its_own(module, tf_module_validations):
    _check_validation(tf_module_validations[module].result())


def test_bad_variable_stops_the_plan_with_its_message(tf_plan):
    with pytest.raises(tf.TerraformError, match="plan_budget_s must be positive and end at least 60 s before"):
        tf_plan(tf.BAD_BUDGET_TFVARS)


# --- every variable set ---------------------------------------------------------------------------


def test_plan_has_no_warnings(any_plan, tf_plan):
    """No deprecated attribute or argument: the provider warns at plan time, not only at validate."""
    name, _ = any_plan
    output = tf_plan.output(VARIABLE_SETS[name])
    assert "Warning:" not in output, output[output.find("Warning:") :][:2000]


def test_no_bucket_is_public(any_plan):
    _, plan = any_plan
    buckets = {r["name"] for r in tf.of_type(plan, "aws_s3_bucket")}
    blocks = {r["name"]: r["values"] for r in tf.of_type(plan, "aws_s3_bucket_public_access_block")}
    assert buckets and set(blocks) == buckets
    for name, block in blocks.items():
        for key in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
            assert block[key] is True, f"{name}: {key}"
    for ownership in tf.of_type(plan, "aws_s3_bucket_ownership_controls"):
        assert ownership["values"]["rule"][0]["object_ownership"] == "BucketOwnerEnforced"
    assert not tf.of_type(plan, "aws_s3_bucket_acl")


def test_lifecycle_never_expires_bottles(any_plan):
    _, plan = any_plan
    mirror = values(plan, "module.s3.aws_s3_bucket_lifecycle_configuration.this")
    for rule in mirror["rule"]:
        if any(e.get("days") or e.get("date") for e in rule.get("expiration") or []):
            prefixes = [f.get("prefix") for f in rule["filter"]]
            assert prefixes and all(p and p.endswith("runs/") for p in prefixes), f"{rule['id']} expires bottles"
    assert any(rule.get("noncurrent_version_expiration") for rule in mirror["rule"])


def test_every_setting_the_code_reads_is_in_the_environment(any_plan):
    from tests.terraform.test_runtime_env import missing_settings

    _, plan = any_plan
    assert missing_settings(environments(plan)) == []


def environments(plan: dict) -> dict[str, set[str]]:
    """Setting names per runtime. Values hold ARNs unknown until apply, so the plan's resources carry no
    environment yet; the root output lists the names (the applied state is checked against it below)."""
    names = plan["planned_values"]["outputs"]["runtime_setting_names"]["value"]
    return {runtime: set(found) for runtime, found in names.items()}


def test_no_secret_in_any_environment(any_plan):
    _, plan = any_plan
    for runtime, names in environments(plan).items():
        assert not any("WEBHOOK_URL" in name for name in names), runtime


# --- issue 11, fixes 1-10 (each assertion fails on the configuration before the fix) ------------------


def test_defaults_reserve_no_concurrency(tf_plan):
    """Fix 1: a new account (quota 10) can apply the defaults."""
    plan = tf_plan({})
    for function in ("orchestrator", "sync"):
        reserved = values(plan, f"module.lambda.aws_lambda_function.{function}")["reserved_concurrent_executions"]
        assert reserved == -1, f"{function} reserves {reserved}"
    hardened = tf_plan(VARIABLE_SETS["hardened"])
    assert values(hardened, "module.lambda.aws_lambda_function.sync")["reserved_concurrent_executions"] == 10


def test_ecs_service_linked_role_only_when_asked(tf_plan):
    """Fix 2."""
    assert not tf.of_type(tf_plan({}), "aws_iam_service_linked_role")
    roles = tf.of_type(tf_plan(VARIABLE_SETS["hardened"]), "aws_iam_service_linked_role")
    assert [r["values"]["aws_service_name"] for r in roles] == ["ecs.amazonaws.com"]


def test_plan_budget_ends_before_the_orchestrator_timeout(any_plan):
    """Fix 4: the budget the code reads is set, and leaves the run a minute before the timeout."""
    _, plan = any_plan
    orchestrator = values(plan, "module.lambda.aws_lambda_function.orchestrator")
    assert plan["variables"]["plan_budget_s"]["value"] + 60 <= orchestrator["timeout"]
    assert "HOMEBREW_SYNC_PLAN_BUDGET_S" in environments(plan)["orchestrator"]


def test_efs_is_off_by_default(tf_plan):
    """Fix 5."""
    assert not [r for r in tf.resources(tf_plan({})) if r["type"].startswith("aws_efs_")]
    assert tf.of_type(tf_plan(VARIABLE_SETS["hardened"]), "aws_efs_file_system")


def test_no_successful_sync_alarm_is_quiet_until_runs_exist(tf_plan):
    """Fix 6: missing data (no run yet) is not breaching; a window of runs without success is."""
    alarm = values(tf_plan({}), "module.monitoring.aws_cloudwatch_metric_alarm.no_successful_sync[0]")
    assert alarm["treat_missing_data"] == "notBreaching"
    assert alarm["metric_name"] == "SyncSucceeded" and alarm["statistic"] == "Sum"
    assert alarm["comparison_operator"] == "LessThanThreshold" and alarm["threshold"] == 1
    window = alarm["period"] * alarm["evaluation_periods"]
    assert window == 7 * 86400, "CloudWatch evaluates at most 7 days; the weekly run must fall inside"


def test_ecr_lifecycle_never_expires_the_deployed_tag(tf_plan):
    """Fix 7: the deployed tag has the first rule (ECR never lets a later rule expire its images)."""
    plan = tf_plan(VARIABLE_SETS["lean"])
    rules = json.loads(values(plan, "module.ecs.aws_ecr_lifecycle_policy.this")["policy"])["rules"]
    rules.sort(key=lambda r: r["rulePriority"])
    first = rules[0]["selection"]
    assert first["tagStatus"] == "tagged" and first["tagPatternList"] == ["v42"]
    assert first["countType"] == "imageCountMoreThan" and first["countNumber"] >= 1
    wildcard = [r for r in rules if r["selection"].get("tagPatternList") == ["*"]]
    assert wildcard and all(r["rulePriority"] > rules[0]["rulePriority"] for r in wildcard)


def test_force_destroy_off_by_default_and_secret_window_settable(tf_plan):
    """Fix 8."""
    plan = tf_plan({})
    assert [b["values"]["force_destroy"] for b in tf.of_type(plan, "aws_s3_bucket")] == [False, False]
    assert values(plan, "module.ecs.aws_ecr_repository.this")["force_delete"] is False
    secret = "module.notifications.aws_secretsmanager_secret.slack_webhook"
    assert values(plan, secret)["recovery_window_in_days"] == 7
    hardened = tf_plan(VARIABLE_SETS["hardened"])
    assert [b["values"]["force_destroy"] for b in tf.of_type(hardened, "aws_s3_bucket")] == [True, True]
    assert values(hardened, "module.ecs.aws_ecr_repository.this")["force_delete"] is True
    assert values(hardened, secret)["recovery_window_in_days"] == 0


def test_ecs_cpu_and_memory_alarms(tf_plan):
    """Fix 10: the spec's CPU and memory alarms, per task family, from Container Insights."""
    alarms = {
        r["index"]: r["values"]
        for r in tf.of_type(tf_plan({}), "aws_cloudwatch_metric_alarm")
        if r["name"] == "task_usage"
    }
    assert set(alarms) == {"cpu", "memory"}
    for kind, alarm in alarms.items():
        metrics = {q["id"]: q for q in alarm["metric_query"]}
        assert metrics["usage"]["expression"] == "100 * used / reserved"
        used = metrics["used"]["metric"][0]
        assert used["namespace"] == "ECS/ContainerInsights"
        assert used["metric_name"] == f"{kind.capitalize()}Utilized"
        assert used["dimensions"] == {"ClusterName": "homebrew-sync", "TaskDefinitionFamily": "homebrew-sync"}
        assert alarm["treat_missing_data"] == "notBreaching"


def test_work_dir_comes_with_efs(tf_plan):
    assert "HOMEBREW_SYNC_WORK_DIR" not in environments(tf_plan({}))["ecs"]
    assert "HOMEBREW_SYNC_WORK_DIR" in environments(tf_plan(VARIABLE_SETS["hardened"]))["ecs"]


# --- apply and destroy against moto -----------------------------------------------------------------


def test_apply_creates_everything_moto_supports(tf_applied, tf_plan):
    planned = {r["address"] for r in tf.resources(tf_plan({})) if r["mode"] == "managed"}
    created = {a for a, r in tf.state_resources(tf_applied["state"]).items() if r["mode"] == "managed"}
    not_created = planned - created
    output = tf_applied["apply"].stdout[-3000:] + tf_applied["apply"].stderr[-3000:]
    assert not_created == set(MOTO_GAPS), f"not created: {sorted(not_created)}\n{output}"
    assert len(created) >= 90


def test_applied_environments_match_the_code(tf_applied):
    from tests.terraform.test_runtime_env import missing_settings

    resources = tf.state_resources(tf_applied["state"])
    orchestrator = resources["module.lambda.aws_lambda_function.orchestrator"]["values"]
    sync = resources["module.lambda.aws_lambda_function.sync"]["values"]
    task = resources["module.ecs.aws_ecs_task_definition.this"]["values"]
    container = json.loads(task["container_definitions"])[0]
    envs = {
        "orchestrator": orchestrator["environment"][0]["variables"],
        "sync": sync["environment"][0]["variables"],
        "ecs": {item["name"]: item["value"] for item in container["environment"]},
    }
    assert missing_settings({k: set(v) for k, v in envs.items()}) == []
    outputs = tf_applied["state"]["values"]["outputs"]["runtime_setting_names"]["value"]
    assert {k: sorted(v) for k, v in envs.items()} == outputs
    # Fix 9: the log group the messages name is the one Terraform created.
    group = resources["module.ecs.aws_cloudwatch_log_group.this"]["values"]["name"]
    assert envs["ecs"]["HOMEBREW_SYNC_ECS_LOG_GROUP"] == group == envs["orchestrator"]["HOMEBREW_SYNC_ECS_LOG_GROUP"]
    # Fix 4: the budget the orchestrator reads ends a minute before its timeout.
    assert float(envs["orchestrator"]["HOMEBREW_SYNC_PLAN_BUDGET_S"]) + 60 <= orchestrator["timeout"]


def test_stopped_task_events_reach_the_orchestrator(tf_applied):
    """Fix 3: the failed-task rule targets the orchestrator, which lets that rule (only) invoke it."""
    resources = tf.state_resources(tf_applied["state"])
    rule = resources["module.ecs.aws_cloudwatch_event_rule.task_failed"]["values"]
    function = resources["module.lambda.aws_lambda_function.orchestrator"]["values"]
    target = resources["module.ecs.aws_cloudwatch_event_target.task_stopped_notify"]["values"]
    assert target["rule"] == rule["name"] and target["arn"] == function["arn"]
    permission = resources['module.lambda.aws_lambda_permission.eventbridge["ecs-task-stopped"]']["values"]
    assert permission["source_arn"] == rule["arn"]
    assert permission["function_name"] == function["function_name"]
    detail = json.loads(rule["event_pattern"])["detail"]
    assert detail["clusterArn"] == [resources["module.ecs.aws_ecs_cluster.this"]["values"]["arn"]]
    family = resources["module.ecs.aws_ecs_task_definition.this"]["values"]["arn_without_revision"]
    assert detail["taskDefinitionArn"] == [{"prefix": f"{family}:"}]
    assert detail["lastStatus"] == ["STOPPED"]
    assert {"containers": {"exitCode": [{"anything-but": 0}]}} in detail["$or"]
    assert {"stopCode": ["TaskFailedToStart", "SpotInterruption"]} in detail["$or"]


def test_iam_allows_every_aws_call_the_code_makes(tf_applied):
    from tests.terraform.iam_calls import missing_permissions

    resources = tf.state_resources(tf_applied["state"])
    assert missing_permissions(resources) == []


def test_destroy_leaves_nothing(tf_applied):
    """`terraform destroy` of the applied defaults (buckets empty, force_destroy off) removes everything."""
    destroy = tf_applied["destroy"]
    assert destroy.returncode == 0, destroy.stdout[-3000:] + destroy.stderr[-3000:]
    assert tf.state_resources(tf_applied["state_after_destroy"]) == {}
