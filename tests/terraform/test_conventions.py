"""Module layout and style (terraform-aws-modules conventions) and the settings the issue fixes."""

from __future__ import annotations

import re

import pytest

from tests.terraform.tfmodel import MODULE_NAMES, MODULES_DIR, TERRAFORM_DIR, all_modules, unquote

MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")

# The spec's root variables with their defaults (None: no default, or null).
SPEC_VARIABLES = {
    "aws_region": ("string", "us-west-2"),
    "environment": ("string", "prod"),
    "s3_bucket_name": ("string", None),
    "slack_webhook_url": ("string", None),
    "size_threshold_gb": ("number", 20),
    "enable_notifications": ("bool", True),
    "schedule_expression": ("string", "cron(0 3 ? * SUN *)"),
    "external_hash_file_s3_key": ("string", None),
    "external_hash_file_s3_bucket": ("string", None),
    "external_hash_file_url": ("string", None),
}


def _type(spec: dict) -> str:
    text = spec.get("type", "")
    return text[2:-1] if text.startswith("${") else text


def _default(spec: dict):
    value = spec.get("default")
    return unquote(value) if isinstance(value, str) else value


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_has_the_five_files(name):
    missing = [f for f in MODULE_FILES if not (MODULES_DIR / name / f).is_file()]
    assert not missing, f"modules/{name} lacks {missing}"


def test_root_has_its_files():
    for name in (
        "versions.tf",
        "providers.tf",
        "main.tf",
        "variables.tf",
        "outputs.tf",
        "terraform.tfvars.example",
        "backend.tf.example",
    ):
        assert (TERRAFORM_DIR / name).is_file(), name


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_variables_typed_and_described(name):
    for variable, spec in all_modules()[name].variables.items():
        assert _type(spec), f"{name}: variable {variable} has no type"
        assert not re.search(r"\bany\b", _type(spec)), f"{name}: variable {variable} uses type any"
        assert len(unquote(spec.get("description", ""))) >= 10, f"{name}: variable {variable} lacks a description"


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_outputs_described(name):
    for output, spec in all_modules()[name].outputs.items():
        assert len(unquote(spec.get("description", ""))) >= 10, f"{name}: output {output} lacks a description"


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_readme_lists_every_variable_and_output(name):
    module = all_modules()[name]
    readme = (module.path / "README.md").read_text(encoding="utf-8")
    for item in [*module.variables, *module.outputs]:
        assert f"`{item}`" in readme, f"{module.path / 'README.md'} does not mention `{item}`"


def test_spec_variables_keep_names_and_defaults():
    variables = all_modules()["root"].variables
    for name, (type_, default) in SPEC_VARIABLES.items():
        assert name in variables, name
        assert _type(variables[name]) == type_, name
        assert _default(variables[name]) == default, name
    assert variables["slack_webhook_url"].get("sensitive") is True
    assert "default" not in variables["s3_bucket_name"]


def test_versions_and_default_tags():
    for name in ["root", *MODULE_NAMES]:
        module = all_modules()[name]
        terraform = module.files["versions.tf"]["terraform"][0]
        assert unquote(terraform["required_version"]) == ">= 1.5", name
        aws = terraform["required_providers"][0]["aws"]
        assert unquote(aws["source"]) == "hashicorp/aws", name
        assert unquote(aws["version"]) == "~> 6.0", name
    provider = all_modules()["root"].files["providers.tf"]["provider"][0]['"aws"']
    tags = provider["default_tags"][0]["tags"]
    assert {"Project", "Environment", "ManagedBy"} <= set(tags)


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_modules_do_not_configure_providers(name):
    module = all_modules()[name]
    assert not module.blocks("provider"), f"modules/{name} configures a provider"
    assert "tags" in module.variables, f"modules/{name} has no tags variable"


def test_lambda_functions_as_specified():
    module = all_modules()["lambda"]
    variables = module.variables
    assert _default(variables["runtime"]) == "python3.12"
    assert _default(variables["architecture"]) == "x86_64"
    assert _default(variables["orchestrator_memory_size"]) == 512
    assert _default(variables["orchestrator_timeout"]) == 300
    assert _default(variables["sync_memory_size"]) == 3008
    assert _default(variables["sync_timeout"]) == 900
    assert _default(variables["log_retention_days"]) == 14
    assert unquote(module.locals["handler"]) == "handler.lambda_handler"
    orchestrator = module.resources[("aws_lambda_function", "orchestrator")]
    assert orchestrator["reserved_concurrent_executions"] == 1
    for fn in ("orchestrator", "sync"):
        conf = module.resources[("aws_lambda_function", fn)]
        assert "filebase64sha256" in conf["source_code_hash"]
        assert conf["dead_letter_config"], fn
        assert "vpc_config" not in conf, f"{fn} must stay outside the VPC"
    invoke = module.resources[("aws_lambda_function_event_invoke_config", "orchestrator")]
    assert invoke["maximum_retry_attempts"] == 0
    permission = module.resources[("aws_lambda_permission", "eventbridge")]
    assert permission["source_arn"] == "${each.value}"
    assert unquote(permission["principal"]) == "events.amazonaws.com"
    root = all_modules()["root"].variables
    for name, path in (
        ("orchestrator_zip_path", "orchestrator"),
        ("sync_zip_path", "sync"),
        ("layer_zip_path", "layer"),
    ):
        assert _default(root[name]) == f"../build/lambda/{path}.zip"


def test_log_groups_keep_14_days_by_default():
    assert _default(all_modules()["root"].variables["log_retention_days"]) == 14
    for name in ("lambda", "ecs", "network"):
        assert _default(all_modules()[name].variables["log_retention_days"]) == 14
    assert unquote(all_modules()["root"].locals["ecs_log_group_name"]) == "/aws/ecs/${var.name_prefix}"
    assert _default(all_modules()["root"].variables["name_prefix"]) == "homebrew-sync"


def test_ecs_task_definition_as_specified():
    module = all_modules()["ecs"]
    variables = module.variables
    assert _default(variables["task_cpu"]) == 2048
    assert _default(variables["task_memory"]) == 8192
    assert _default(variables["ephemeral_storage_size_gb"]) == 100
    assert _default(variables["stop_timeout"]) == 120
    assert _default(variables["efs_mount_path"]) == "/mnt/efs"
    assert _default(variables["efs_root_directory"]) == "/homebrew-sync"
    container = module.locals["container_definition"]
    assert container["user"] == '"1000:1000"'
    assert container["stopTimeout"] == "${var.stop_timeout}"
    assert container["linuxParameters"] == {"initProcessEnabled": True}
    assert unquote(container["logConfiguration"]["logDriver"]) == "awslogs"
    assert container["image"] == '"${aws_ecr_repository.this.repository_url}:${var.image_tag}"'
    assert "HOMEBREW_SYNC_WORK_DIR = var.efs_mount_path" in module.locals["work_dir_environment"]
    cluster = module.resources[("aws_ecs_cluster", "this")]
    assert unquote(cluster["setting"][0]["name"]) == "containerInsights"
    providers = module.resources[("aws_ecs_cluster_capacity_providers", "this")]
    assert [unquote(p) for p in providers["capacity_providers"]] == ["FARGATE", "FARGATE_SPOT"]
    repository = module.resources[("aws_ecr_repository", "this")]
    assert unquote(repository["image_tag_mutability"]) == "IMMUTABLE"
    assert repository["image_scanning_configuration"][0]["scan_on_push"] is True
    access_point = module.resources[("aws_efs_access_point", "this")]
    assert access_point["posix_user"][0] == {"uid": 1000, "gid": 1000, "__is_block__": True}
    assert access_point["root_directory"][0]["creation_info"][0]["owner_uid"] == 1000
    for resource in ("aws_efs_file_system", "aws_efs_access_point", "aws_efs_mount_target"):
        assert module.resources[(resource, "this")]["count"].startswith("${var.enable_efs ?"), resource


def test_eventbridge_rules():
    module = all_modules()["eventbridge"]
    weekly = module.resources[("aws_cloudwatch_event_rule", "weekly")]
    assert weekly["schedule_expression"] == "${var.schedule_expression}"
    assert _default(module.variables["schedule_expression"]) == "cron(0 3 ? * SUN *)"
    assert unquote(module.locals["manual_event_source"]) == "homebrew.sync"
    assert unquote(module.locals["manual_event_detail_type"]) == "Manual Sync"
    manual = module.resources[("aws_cloudwatch_event_rule", "manual")]
    assert "source = [local.manual_event_source]" in manual["event_pattern"]
    assert "detail-type = [local.manual_event_detail_type]" in manual["event_pattern"]
    target = module.resources[("aws_cloudwatch_event_target", "orchestrator")]
    assert target["retry_policy"] and target["dead_letter_config"]
    alarm = module.resources[("aws_cloudwatch_metric_alarm", "failed_invocations")]
    assert unquote(alarm["metric_name"]) == "FailedInvocations"


def test_no_successful_sync_alarm_stays_within_cloudwatch_limits():
    alarm = all_modules()["monitoring"].resources[("aws_cloudwatch_metric_alarm", "no_successful_sync")]
    assert unquote(alarm["metric_name"]) == "SyncSucceeded"
    # CloudWatch: period x evaluation_periods <= 7 days.
    assert alarm["period"] * alarm["evaluation_periods"] <= 604_800
    assert alarm["datapoints_to_alarm"] == alarm["evaluation_periods"]
    assert unquote(alarm["treat_missing_data"]) == "breaching"
    assert unquote(alarm["comparison_operator"]) == "LessThanThreshold"


def test_monitoring_alarms_cover_the_issue():
    resources = all_modules()["monitoring"].resources
    metrics = {
        unquote(conf["metric_name"]) for (rtype, _), conf in resources.items() if rtype == "aws_cloudwatch_metric_alarm"
    }
    assert {"Errors", "Throttles", "ApproximateNumberOfMessagesVisible", "SyncFailed", "SyncSucceeded"} <= metrics
    assert ("aws_cloudwatch_dashboard", "this") in resources
    assert sum(1 for rtype, _ in resources if rtype == "aws_cloudwatch_query_definition") >= 3
    ecs_alarm = all_modules()["ecs"].resources[("aws_cloudwatch_metric_alarm", "task_failed")]
    assert unquote(ecs_alarm["metric_name"]) == "TriggeredRules"
