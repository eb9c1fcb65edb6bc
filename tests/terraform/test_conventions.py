"""Module layout and style (terraform-aws-modules conventions) and the spec's settings: what Terraform
itself does not enforce. Read from the `configuration` and `planned_values` of a real plan."""

from __future__ import annotations

import re

import pytest

from tests.terraform import tf
from tests.terraform.tf import VARIABLE_SETS

MODULE_NAMES = sorted(p.name for p in tf.MODULES_DIR.iterdir() if p.is_dir())
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
VARIABLE_BLOCK = re.compile(r'^variable "([^"]+)" \{\n(.*?)^\}', re.M | re.S)

# The spec's root variables with their defaults (None: no default, or null).
SPEC_VARIABLES = {
    "aws_region": "us-west-2",
    "environment": "prod",
    "s3_bucket_name": None,
    "slack_webhook_url": None,
    "size_threshold_gb": 20,
    "enable_notifications": True,
    "schedule_expression": "cron(0 3 ? * SUN *)",
    "external_hash_file_s3_key": None,
    "external_hash_file_s3_bucket": None,
    "external_hash_file_url": None,
}


@pytest.fixture(scope="module")
def config(tf_plan) -> dict[str, dict]:
    """Module name -> its configuration (root and the eight children)."""
    root = tf_plan({})["configuration"]["root_module"]
    found = {"root": root}
    for name, call in root["module_calls"].items():
        found[name] = call["module"]
    return found


@pytest.fixture(scope="module")
def defaults(tf_plan) -> dict:
    return tf_plan({})


def _variable_texts(directory) -> dict[str, str]:
    text = (directory / "variables.tf").read_text(encoding="utf-8")
    return {name: body for name, body in VARIABLE_BLOCK.findall(text)}


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_has_the_five_files(name):
    missing = [f for f in MODULE_FILES if not (tf.MODULES_DIR / name / f).is_file()]
    assert not missing, f"modules/{name} lacks {missing}"


def test_root_has_its_files():
    for name in ("versions.tf", "providers.tf", "main.tf", "variables.tf", "outputs.tf"):
        assert (tf.TERRAFORM_DIR / name).is_file(), name
    for name in ("terraform.tfvars.example", "backend.tf.example"):
        assert (tf.TERRAFORM_DIR / name).is_file(), name


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_variables_typed_and_described(name, config):
    directory = tf.TERRAFORM_DIR if name == "root" else tf.MODULES_DIR / name
    texts = _variable_texts(directory)
    for variable, spec in config[name].get("variables", {}).items():
        assert len(spec.get("description", "")) >= 10, f"{name}: variable {variable} lacks a description"
        typed = re.search(r"^\s+type\s+=\s+(.+)$", texts.get(variable, ""), re.M)
        assert typed, f"{name}: variable {variable} has no type"
        assert not re.search(r"\bany\b", typed.group(1)), f"{name}: variable {variable} uses type any"


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_outputs_described(name, config):
    for output, spec in config[name].get("outputs", {}).items():
        assert len(spec.get("description", "")) >= 10, f"{name}: output {output} lacks a description"


@pytest.mark.parametrize("name", ["root", *MODULE_NAMES])
def test_readme_lists_every_variable_and_output(name, config):
    directory = tf.TERRAFORM_DIR if name == "root" else tf.MODULES_DIR / name
    readme = (directory / "README.md").read_text(encoding="utf-8")
    for item in [*config[name].get("variables", {}), *config[name].get("outputs", {})]:
        assert f"`{item}`" in readme, f"{directory / 'README.md'} does not mention `{item}`"


def test_spec_variables_keep_names_and_defaults(config):
    variables = config["root"]["variables"]
    for name, default in SPEC_VARIABLES.items():
        assert name in variables, name
        assert variables[name].get("default") == default, name
    assert variables["slack_webhook_url"].get("sensitive") is True
    assert "default" not in variables["s3_bucket_name"]


def test_provider_and_default_tags(defaults):
    provider = defaults["configuration"]["provider_config"]["aws"]
    assert provider["full_name"] == "registry.terraform.io/hashicorp/aws"
    assert provider["version_constraint"] == ">= 5.100.0, < 7.0.0"
    vpc = next(r for r in tf.resources(defaults) if r["type"] == "aws_vpc")["values"]["tags_all"]
    assert {"Project", "Environment", "ManagedBy"} <= set(vpc)


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_modules_do_not_configure_providers_and_take_tags(name, config):
    text = "".join(p.read_text(encoding="utf-8") for p in (tf.MODULES_DIR / name).glob("*.tf"))
    assert not re.search(r'^provider "', text, re.M), f"modules/{name} configures a provider"
    assert "tags" in config[name]["variables"], f"modules/{name} has no tags variable"


def _value(plan: dict, address: str) -> dict:
    return next(r for r in tf.resources(plan) if r["address"] == address)["values"]


def test_lambda_functions_as_specified(defaults):
    for name, memory, timeout in (("orchestrator", 512, 300), ("sync", 3008, 900)):
        fn = _value(defaults, f"module.lambda.aws_lambda_function.{name}")
        assert (fn["runtime"], fn["architectures"], fn["handler"]) == (
            "python3.12",
            ["x86_64"],
            "handler.lambda_handler",
        )
        assert (fn["memory_size"], fn["timeout"]) == (memory, timeout), name
        assert fn["vpc_config"] == [], f"{name} must stay outside the VPC"
        assert fn["source_code_hash"], name
    invoke = _value(defaults, "module.lambda.aws_lambda_function_event_invoke_config.orchestrator")
    assert invoke["maximum_retry_attempts"] == 0
    for key in ("weekly", "manual", "ecs-task-stopped"):
        permission = _value(defaults, f'module.lambda.aws_lambda_permission.eventbridge["{key}"]')
        assert permission["principal"] == "events.amazonaws.com"


def test_log_groups_keep_14_days_by_default(defaults):
    groups = tf.of_type(defaults, "aws_cloudwatch_log_group")
    assert groups and all(g["values"]["retention_in_days"] == 14 for g in groups)
    names = {g["values"]["name"] for g in groups}
    assert "/aws/ecs/homebrew-sync" in names


def test_ecs_task_definition_as_specified(defaults, tf_plan):
    task = _value(defaults, "module.ecs.aws_ecs_task_definition.this")
    assert (task["cpu"], task["memory"]) == ("2048", "8192")
    assert task["ephemeral_storage"] == [{"size_in_gib": 100}]
    assert task["requires_compatibilities"] == ["FARGATE"]
    cluster = _value(defaults, "module.ecs.aws_ecs_cluster.this")
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    providers = _value(defaults, "module.ecs.aws_ecs_cluster_capacity_providers.this")
    assert providers["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    repository = _value(defaults, "module.ecs.aws_ecr_repository.this")
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == [{"scan_on_push": True}]
    with_efs = tf_plan(VARIABLE_SETS["hardened"])
    access_point = _value(with_efs, "module.ecs.aws_efs_access_point.this[0]")
    assert access_point["posix_user"] == [{"gid": 1000, "secondary_gids": None, "uid": 1000}]
    assert access_point["root_directory"][0]["path"] == "/homebrew-sync"


def test_eventbridge_rules(defaults):
    weekly = _value(defaults, "module.eventbridge.aws_cloudwatch_event_rule.weekly")
    assert weekly["schedule_expression"] == "cron(0 3 ? * SUN *)"
    manual = _value(defaults, "module.eventbridge.aws_cloudwatch_event_rule.manual")
    assert manual["event_pattern"] == '{"detail-type":["Manual Sync"],"source":["homebrew.sync"]}'
    for key in ("weekly", "manual"):
        target = _value(defaults, f'module.eventbridge.aws_cloudwatch_event_target.orchestrator["{key}"]')
        [retry] = target["retry_policy"]  # a failed delivery is retried for an hour, then dead-lettered
        assert retry == {"maximum_retry_attempts": 4, "maximum_event_age_in_seconds": 3600}
        assert len(target["dead_letter_config"]) == 1
        alarm = _value(defaults, f'module.eventbridge.aws_cloudwatch_metric_alarm.failed_invocations["{key}"]')
        assert alarm["metric_name"] == "FailedInvocations"


def test_monitoring_alarms_cover_the_issue(defaults):
    alarms = [r["values"] for r in tf.of_type(defaults, "aws_cloudwatch_metric_alarm")]
    metrics = {a.get("metric_name") for a in alarms}
    assert {"Errors", "Throttles", "ApproximateNumberOfMessagesVisible", "SyncFailed", "SyncSucceeded"} <= metrics
    assert "TriggeredRules" in metrics  # failed ECS tasks
    assert tf.of_type(defaults, "aws_cloudwatch_dashboard")
    assert len(tf.of_type(defaults, "aws_cloudwatch_query_definition")) >= 3


def test_the_region_is_read_the_way_both_provider_majors_accept():
    """`data.aws_region.x.name` is deprecated on 6.x and `.region` does not exist on 5.100; `.id` is both."""
    sources = {p: p.read_text() for p in tf.TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts}
    wrong = [
        f"{p.relative_to(tf.TERRAFORM_DIR)}: {m.group(0)}"
        for p, text in sources.items()
        for m in re.finditer(r"data\.aws_region\.\w+\.(name|region)\b", text)
    ]
    assert not wrong, wrong
