"""Run the real Terraform CLI on a copy of terraform/, offline: providers come from a filesystem mirror.

The tests of terraform/ use the tool itself (fmt, init, validate, plan, apply) instead of imitations.
Nothing here may reach the network: the generated CLI config allows only the local provider mirror, and
the AWS provider is pointed at a moto server by an override file added to the copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
MODULE_NAMES = sorted(p.name for p in MODULES_DIR.iterdir() if p.is_dir())

# Folders that commonly hold a provider mirror (each must contain registry.terraform.io/).
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "/usr/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
)
PROVIDER_DIR = Path("registry.terraform.io") / "hashicorp" / "aws"
REGION = "us-east-1"

# Variables every plan needs and no test cares about; a test's own tfvars win.
BASE_TFVARS = {"s3_bucket_name": "tf-test-mirror", "image_tag": "test"}

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

VARIABLE_SETS = {
    "defaults": {},
    # Everything a hardened production turns on. SERVING: add "enable_cdn": True here once the cdn
    # branch (CloudFront in front of the bucket) is merged, and assert on its resources below.
    "hardened": {
        "nat_gateway_mode": "one_per_az",
        "s3_kms_key_arn": KMS_KEY,
        "layout": "flat",
        "enable_efs": True,
        "create_ecs_service_linked_role": True,
        "orchestrator_reserved_concurrency": 1,
        "sync_reserved_concurrency": 10,
        "force_destroy": True,
        "secret_recovery_window_days": 0,
    },
    # Off what can be off; another prefix and tag, so names are proven to follow the variables.
    "lean": {
        "enable_efs": False,
        "enable_notifications": False,
        "enable_flow_logs": False,
        "name_prefix": "mirror-b",
        "image_tag": "v42",
    },
}

# A plan budget that leaves the orchestrator no time after it: `plan` must refuse it.
BAD_BUDGET_TFVARS = {"plan_budget_s": 290, "orchestrator_timeout": 300}

# Every service the configuration touches; all of them are answered by the moto server.
ENDPOINT_SERVICES = (
    "cloudfront",
    "cloudwatch",
    "cloudwatchlogs",
    "ec2",
    "ecr",
    "ecs",
    "efs",
    "events",
    "iam",
    "kms",
    "lambda",
    "s3",
    "scheduler",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "sts",
)


def terraform_bin() -> str | None:
    return shutil.which("terraform")


def mirror_root() -> Path | None:
    """The folder holding registry.terraform.io/hashicorp/aws, TF_PLUGIN_MIRROR first."""
    candidates = [os.environ["TF_PLUGIN_MIRROR"]] if os.environ.get("TF_PLUGIN_MIRROR") else []
    candidates += MIRROR_CANDIDATES
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if (path / PROVIDER_DIR).is_dir() and any((path / PROVIDER_DIR).iterdir()):
            return path
    return None


def missing() -> str | None:
    """What is absent for the real-Terraform tests, or None when they can run."""
    absent = []
    if terraform_bin() is None:
        absent.append("terraform binary on PATH")
    if mirror_root() is None:
        where = ", ".join(["$TF_PLUGIN_MIRROR", *MIRROR_CANDIDATES])
        absent.append(f"hashicorp/aws provider mirror (registry.terraform.io/ under one of {where})")
    return "; ".join(absent) or None


def write_cli_config(directory: Path, mirror: Path) -> Path:
    """A CLI config that installs providers from the mirror only (no `direct {}`: never the network)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "terraform.rc"
    path.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        '    include = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
    )
    return path


def configuration_aliases(module_dir: Path) -> list[str]:
    """Aliases of the aws provider that a module declares it is given (`configuration_aliases`)."""
    text = " ".join(p.read_text() for p in module_dir.glob("*.tf"))
    match = re.search(r"configuration_aliases\s*=\s*\[([^\]]*)\]", text)
    return re.findall(r"aws\.(\w+)", match.group(1)) if match else []


def override_tf(endpoint: str) -> str:
    """Provider settings merged into the copy's provider "aws" blocks (the default one and the us-east-1 alias
    that CloudFront's WAF needs; terraform merges overrides per name and alias): moto, fake keys, no AWS checks.

    Three attempts, not the provider's 25: moto answers an API it lacks with HTTP 500, which the default
    would retry for minutes, while a connection that moto resets under load (seen in CI: "use of closed
    network connection" in a destroy's wait) must still get the retry the SDK gives it on real AWS."""
    endpoints = "\n".join(f"    {name:<14} = {json.dumps(endpoint)}" for name in ENDPOINT_SERVICES)
    blocks = []
    for alias in (None, "us_east_1"):
        blocks.append(
            'provider "aws" {\n'
            + (f'  alias                       = "{alias}"\n' if alias else "")
            + f'  region                      = "{REGION if alias is None else "us-east-1"}"\n'
            '  access_key                  = "testing"\n'
            '  secret_key                  = "testing"\n'
            "  skip_credentials_validation = true\n"
            "  skip_metadata_api_check     = true\n"
            "  skip_requesting_account_id  = false\n"
            "  skip_region_validation      = true\n"
            "  s3_use_path_style           = true\n"
            "  max_retries                 = 3\n"
            "\n"
            "  endpoints {\n"
            f"{endpoints}\n"
            "  }\n"
            "}\n"
        )
    return "\n".join(blocks)


class Terraform:
    """The terraform CLI bound to one working directory, with an environment that stays offline."""

    def __init__(self, workdir: Path, cli_config: Path, data_dir: Path | None = None) -> None:
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
        self.env.update(
            TF_CLI_CONFIG_FILE=str(cli_config),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
        )
        if data_dir is not None:
            self.env["TF_DATA_DIR"] = str(data_dir)

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [terraform_bin() or "terraform", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise TerraformError(args, proc)
        return proc

    def init(self) -> None:
        self.run("init", "-backend=false", "-no-color")

    def show_json(self, planfile: str) -> dict:
        return json.loads(self.run("show", "-json", planfile).stdout)


class TerraformError(AssertionError):
    """A terraform command failed; the message carries its output so the test failure explains itself."""

    def __init__(self, args, proc: subprocess.CompletedProcess) -> None:
        super().__init__(
            f"terraform {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
        )
        self.proc = proc


def copy_root(dest: Path, endpoint: str) -> Path:
    """A copy of terraform/ (plus dummy Lambda zips where the defaults expect them) wired to moto."""
    root = dest / "terraform"
    shutil.copytree(
        TERRAFORM_DIR,
        root,
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "terraform.tfvars", ".terraform.lock.hcl"),
    )
    (root / "zz_test_override.tf").write_text(override_tf(endpoint))
    lambda_dir = dest / "build" / "lambda"
    lambda_dir.mkdir(parents=True)
    for name in ("orchestrator.zip", "sync.zip", "layer.zip"):
        with zipfile.ZipFile(lambda_dir / name, "w") as archive:
            archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return root


def write_tfvars(path: Path, tfvars: dict) -> Path:
    path.write_text(json.dumps({**BASE_TFVARS, **tfvars}, indent=2, sort_keys=True))
    return path


def tfvars_key(tfvars: dict) -> str:
    return json.dumps(tfvars, sort_keys=True)


def resources(plan: dict) -> list[dict]:
    """Every resource of a plan's planned_values, modules included (address, type, values)."""
    found: list[dict] = []

    def walk(module: dict) -> None:
        found.extend(module.get("resources", []))
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan.get("planned_values", {}).get("root_module", {}))
    return found


def of_type(plan: dict, resource_type: str) -> list[dict]:
    return [r for r in resources(plan) if r["type"] == resource_type]


def state_resources(state: dict) -> dict[str, dict]:
    """Every resource of `terraform show -json` state output, by address (modules included)."""
    found: dict[str, dict] = {}

    def walk(module: dict) -> None:
        for resource in module.get("resources", []):
            found[resource["address"]] = resource
        for child in module.get("child_modules", []):
            walk(child)

    walk(state.get("values", {}).get("root_module", {}))
    return found
