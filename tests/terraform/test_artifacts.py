"""What the operator touches besides Terraform: tfvars example, manual trigger, build scripts and the
deployment guide (docs/deploy.md)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import hcl2
import pytest

from tests.terraform import tf

REPO_ROOT = tf.ROOT
TERRAFORM_DIR = tf.TERRAFORM_DIR
TFVARS_EXAMPLE = TERRAFORM_DIR / "terraform.tfvars.example"


def unquote(value):
    """python-hcl2 keeps the quotes of string literals."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@pytest.fixture(scope="module")
def root_variables(tf_plan) -> dict[str, dict]:
    return tf_plan({})["configuration"]["root_module"]["variables"]


# --- terraform.tfvars.example ---------------------------------------------------------------------


def test_tfvars_example_sets_only_declared_variables(root_variables):
    variables = root_variables
    with TFVARS_EXAMPLE.open(encoding="utf-8") as handle:
        active = {key for key in hcl2.load(handle) if not key.startswith("__")}
    commented = set(re.findall(r"^#\s*([a-z][a-z0-9_]*)\s+=", TFVARS_EXAMPLE.read_text(encoding="utf-8"), re.M))
    unknown = (active | commented) - set(variables)
    assert not unknown, f"terraform.tfvars.example names undeclared variables: {sorted(unknown)}"
    required = {name for name, spec in variables.items() if "default" not in spec}
    assert required <= active, f"required variables missing from the example: {sorted(required - active)}"


def test_tfvars_example_values_pass_the_simple_validations():
    with TFVARS_EXAMPLE.open(encoding="utf-8") as handle:
        values = {k: unquote(v) if isinstance(v, str) else v for k, v in hcl2.load(handle).items()}
    assert values["nat_gateway_mode"] in {"none", "single", "one_per_az"}
    assert values["layout"] in {"dated", "flat"}
    assert re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,56}[a-z0-9]", values["s3_bucket_name"])
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", values["image_tag"])


# --- manual-trigger.json ---------------------------------------------------------------------------


def test_manual_trigger_matches_the_manual_rule(tf_plan):
    entries = json.loads((REPO_ROOT / "manual-trigger.json").read_text(encoding="utf-8"))
    assert isinstance(entries, list) and len(entries) == 1
    entry = entries[0]
    assert set(entry) <= {"Source", "DetailType", "Detail", "EventBusName", "Resources", "Time"}
    rule = next(
        r for r in tf.resources(tf_plan({})) if r["address"] == "module.eventbridge.aws_cloudwatch_event_rule.manual"
    )
    pattern = json.loads(rule["values"]["event_pattern"])
    assert [entry["Source"]] == pattern["source"]
    assert [entry["DetailType"]] == pattern["detail-type"]
    detail = json.loads(entry["Detail"])  # put-events wants Detail as a JSON string
    # The orchestrator accepts only its run options in a manual event's detail.
    assert isinstance(detail, dict) and set(detail) <= {"dry_run", "force", "platforms", "formulae"}
    assert detail.get("dry_run") is False


# --- build scripts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["build_lambda.sh", "build_image.sh"])
def test_scripts_are_valid_bash_with_help(script):
    path = REPO_ROOT / "scripts" / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)
    result = subprocess.run(["bash", str(path), "--help"], capture_output=True, text=True, check=True)
    assert "Usage:" in result.stdout


def test_build_lambda_uses_the_lambda_platform_for_the_layer():
    text = (REPO_ROOT / "scripts" / "build_lambda.sh").read_text(encoding="utf-8")
    for flag in ("--platform", "manylinux2014_x86_64", "--only-binary=:all:", "--python-version", "3.12", "--target"):
        assert flag in text, flag
    for artefact in ("orchestrator.zip", "layer.zip"):
        assert artefact in text


def _fake_source(root: Path) -> Path:
    for name in ("orchestrator", "sync"):
        (root / "lambda" / name).mkdir(parents=True)
        (root / "lambda" / name / "handler.py").write_text(
            f"def lambda_handler(event, context):\n    return {name!r}\n"
        )
    package = root / "shared" / "homebrew_sync"
    (package / "keys").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "__init__.py").write_text("")
    (package / "keys" / "homebrew-1.pem").write_text("key\n")
    (package / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"junk")
    return root


def test_build_lambda_makes_reproducible_function_zips(tmp_path):
    source = _fake_source(tmp_path / "src")
    env = {**os.environ, "SOURCE_ROOT": str(source), "PYTHON": sys.executable}
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "build_lambda.sh"), "--skip-layer"],
            env={**env, "BUILD_DIR": str(out)},
            check=True,
            capture_output=True,
        )
        digests.append(
            {name: hashlib.sha256((out / f"{name}.zip").read_bytes()).hexdigest() for name in ("orchestrator", "sync")}
        )
    assert digests[0] == digests[1], "zips differ between two builds of the same source"
    with zipfile.ZipFile(tmp_path / "a" / "orchestrator.zip") as archive:
        names = sorted(archive.namelist())
        assert names == ["handler.py", "homebrew_sync/__init__.py", "homebrew_sync/keys/homebrew-1.pem"]
        assert "'orchestrator'" in archive.read("handler.py").decode()


def test_build_lambda_reports_missing_sources(tmp_path):
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_lambda.sh"), "--skip-layer"],
        env={**os.environ, "SOURCE_ROOT": str(tmp_path), "BUILD_DIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "missing" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--tag", ".bad", "--repository-url", "123456789012.dkr.ecr.us-west-2.amazonaws.com/homebrew-sync"],
            "invalid image tag",
        ),
        (["--tag", "abc123", "--repository-url", "docker.io/library/python"], "not an ECR repository URL"),
    ],
)
def test_build_image_validates_before_building(args, message):
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_image.sh"), *args, "--no-push"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and message in result.stderr


def test_build_image_refuses_to_overwrite_and_uses_ecr_login():
    text = (REPO_ROOT / "scripts" / "build_image.sh").read_text(encoding="utf-8")
    assert "aws ecr get-login-password" in text
    assert "describe-images" in text and "immutable" in text
    assert "--file ecs/Dockerfile" in text and re.search(r"docker build .* \.$", text, re.M)


# --- docs/deploy.md ----------------------------------------------------------------------------------

DEPLOY_GUIDE = REPO_ROOT / "docs" / "deploy.md"


def test_readme_deploy_section_points_to_the_guide():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Deploy\n") + 1
    end = readme.find("\n## ", start + 1)
    assert "docs/deploy.md" in readme[start : end if end != -1 else None]


def test_deploy_guide_is_complete():
    text = DEPLOY_GUIDE.read_text(encoding="utf-8")
    for needle in (
        "## Quick start",
        "scripts/build_lambda.sh",
        "scripts/build_image.sh",
        "terraform.tfvars",
        "terraform init",
        "terraform apply",
        "aws events put-events --entries file://manual-trigger.json",
        "## Monthly cost",
        "## Teardown",
        "force_destroy",
        "secret_recovery_window_days",
        "sync_reserved_concurrency",
        "create_ecs_service_linked_role",
    ):
        assert needle in text, needle


def test_deploy_guide_names_only_real_variables(root_variables):
    text = DEPLOY_GUIDE.read_text(encoding="utf-8")
    mentioned = set(re.findall(r"`([a-z][a-z0-9_]*)`", text))
    looks_like_variables = {name for name in mentioned if "_" in name}
    not_variables = {"one_per_az", "ecr_repository_url", "dashboard_url", "runtime_setting_names"}  # a value, outputs
    unknown = looks_like_variables - set(root_variables) - not_variables
    assert not unknown, f"docs/deploy.md mentions unknown variables: {sorted(unknown)}"
