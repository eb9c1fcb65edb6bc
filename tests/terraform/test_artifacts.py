"""What the operator touches besides Terraform: tfvars example, manual trigger, build scripts, the
Deploy section, and the schema extractor."""

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

from tests.terraform.tfmodel import REPO_ROOT, SCHEMA_PATH, TERRAFORM_DIR, all_modules, load_schema, unquote

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import extract_aws_schema  # noqa: E402

TFVARS_EXAMPLE = TERRAFORM_DIR / "terraform.tfvars.example"


# --- terraform.tfvars.example ---------------------------------------------------------------------


def test_tfvars_example_sets_only_declared_variables():
    variables = all_modules()["root"].variables
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


def test_manual_trigger_matches_the_manual_rule():
    entries = json.loads((REPO_ROOT / "manual-trigger.json").read_text(encoding="utf-8"))
    assert isinstance(entries, list) and len(entries) == 1
    entry = entries[0]
    assert set(entry) <= {"Source", "DetailType", "Detail", "EventBusName", "Resources", "Time"}
    eventbridge = all_modules()["eventbridge"].locals
    assert entry["Source"] == unquote(eventbridge["manual_event_source"])
    assert entry["DetailType"] == unquote(eventbridge["manual_event_detail_type"])
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
    (root / "shared" / "keys").mkdir(parents=True)
    (root / "shared" / "__pycache__").mkdir()
    (root / "shared" / "__init__.py").write_text("")
    (root / "shared" / "keys" / "homebrew-1.pem").write_text("key\n")
    (root / "shared" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"junk")
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
        assert names == ["handler.py", "shared/__init__.py", "shared/keys/homebrew-1.pem"]
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


# --- the README's Deploy section --------------------------------------------------------------------


def deploy_section() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Deploy\n") + 1
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else None]


def test_deploy_section_is_complete():
    text = deploy_section()
    assert text.startswith("## Deploy\n")
    for needle in (
        "### Prerequisites",
        "scripts/build_lambda.sh",
        "scripts/build_image.sh",
        "terraform.tfvars",
        "terraform init",
        "terraform plan",
        "terraform apply",
        "aws events put-events --entries file://manual-trigger.json",
        "aws lambda invoke --function-name homebrew-sync-orchestrator",
        "### Monthly cost",
        "Without NAT",
        "With NAT",
    ):
        assert needle in text, needle


def test_deploy_section_names_only_real_variables():
    variables = set(all_modules()["root"].variables)
    text = deploy_section()
    mentioned = set(re.findall(r"`([a-z][a-z0-9_]*)`", text))
    looks_like_variables = {name for name in mentioned if "_" in name}
    not_variables = {"one_per_az", "ecr_repository_url", "dashboard_url"}  # a value and two outputs
    unknown = looks_like_variables - variables - not_variables
    assert not unknown, f"the Deploy section mentions unknown variables: {sorted(unknown)}"


# --- scripts/extract_aws_schema.py -----------------------------------------------------------------

DOCS = "https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing"


def _link(anchor: str) -> str:
    return f"Docs at Terraform Registry: {{@link {DOCS}#{anchor} Thing#{anchor}}}"


FAKE_ASSEMBLY = {
    "name": "@cdktf/provider-aws",
    "types": {
        "@cdktf/provider-aws.thing.Thing": {
            "kind": "class",
            "base": "cdktf.TerraformResource",
            "docs": {"summary": f"Represents a {{@link {DOCS} aws_thing}}."},
            "initializer": {
                "parameters": [
                    {"name": "scope"},
                    {"name": "config", "type": {"fqn": "@cdktf/provider-aws.thing.ThingConfig"}},
                ]
            },
        },
        "@cdktf/provider-aws.thing.ThingConfig": {
            "kind": "interface",
            "interfaces": ["cdktf.TerraformMetaArguments"],
            "properties": [
                {
                    "name": "bucketName",
                    "type": {"primitive": "string"},
                    "docs": {"summary": _link("bucket_name") + "."},
                },
                {
                    "name": "region",
                    "optional": True,
                    "type": {"primitive": "string"},
                    "docs": {
                        "summary": "Region where this resource will be managed.",
                        "remarks": _link("region"),
                    },
                },
                {
                    "name": "rule",
                    "optional": True,
                    "type": {
                        "union": {
                            "types": [
                                {"fqn": "cdktf.IResolvable"},
                                {
                                    "collection": {
                                        "kind": "array",
                                        "elementtype": {"fqn": "@cdktf/provider-aws.thing.ThingRule"},
                                    }
                                },
                            ]
                        }
                    },
                    "docs": {
                        "summary": "rule block.",
                        "remarks": _link("rule"),
                    },
                },
            ],
        },
        "@cdktf/provider-aws.thing.ThingRule": {
            "kind": "interface",
            "properties": [
                {
                    "name": "days",
                    "type": {"primitive": "number"},
                    "docs": {"summary": _link("days") + "."},
                },
                {
                    "name": "statement",
                    "optional": True,
                    "type": {"primitive": "any"},
                    "docs": {"summary": "statement block.", "remarks": _link("statement")},
                },
            ],
        },
        "@cdktf/provider-aws.thing.ThingRuleOutputReference": {"kind": "class", "base": "cdktf.ComplexObject"},
    },
}


def test_extractor_reads_arguments_blocks_and_required_flags():
    package = {
        "version": "21.22.1",
        "cdktf": {"provider": {"name": "registry.terraform.io/hashicorp/aws", "version": "6.25.0"}},
    }
    schema = extract_aws_schema.build_schema(FAKE_ASSEMBLY, package, {"aws_thing"}, set())
    assert schema["version"] == "21.22.1" and schema["provider_version"] == "6.25.0"
    thing = schema["resources"]["aws_thing"]
    assert thing["arguments"] == {"bucket_name": True, "region": False}
    statement = {"required": False, "open": True, "arguments": {}, "blocks": {}}  # recursive, typed any
    assert thing["blocks"] == {
        "rule": {"required": False, "arguments": {"days": True}, "blocks": {"statement": statement}}
    }
    with pytest.raises(SystemExit):
        extract_aws_schema.build_schema(FAKE_ASSEMBLY, package, {"aws_missing"}, set())


def test_extractor_finds_the_types_used(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_text(
        'resource "aws_a" "x" {}\ndata "aws_b" "y" {}\nresource "random_id" "z" {}\n'
    )
    assert extract_aws_schema.used_types(tmp_path) == ({"aws_a"}, {"aws_b"})


def test_committed_schema_lists_exactly_the_types_in_use():
    schema = load_schema()
    resources, data_sources = extract_aws_schema.used_types(TERRAFORM_DIR)
    assert set(schema["resources"]) == resources, "run `make schema` after adding or removing a resource type"
    assert set(schema["data_sources"]) == data_sources, "run `make schema` after adding or removing a data source"
    assert SCHEMA_PATH.read_text(encoding="utf-8").endswith("\n")
