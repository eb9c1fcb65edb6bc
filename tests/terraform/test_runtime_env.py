"""Every setting the handlers and the container entrypoint read is set by Terraform where it is read.

What is "read" is derived from the code: every `settings.<field>` the runtime modules touch and every
environment variable they name. Settings whose defaults are right in AWS (tuning knobs, CLI-only flags)
are listed below with the reason; anything new must be either configured in Terraform or listed here.
The environments themselves come from real `terraform plan` JSON (test_terraform_real.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from homebrew_sync.config import Settings

ROOT = Path(__file__).resolve().parents[2]
ENV_NAME = re.compile(r"\b((?:HOMEBREW_SYNC|POWERTOOLS)_[A-Z0-9_]+)\b")

# Modules only one runtime executes; the rest of shared/ runs everywhere.
ORCHESTRATOR_ONLY = {
    "shared/homebrew_sync/aws/orchestrator.py",
    "shared/homebrew_sync/aws/dispatch.py",
    "shared/homebrew_sync/aws/external_hash.py",
    "shared/homebrew_sync/aws/triggers.py",
    "lambda/orchestrator/handler.py",
}
SYNC_ONLY = {"lambda/sync/handler.py"}
ECS_ONLY = {"ecs/entrypoint.py"}
NOT_IN_AWS = {
    "shared/homebrew_sync/cli/main.py",
    "shared/homebrew_sync/cli/progress.py",
    "shared/homebrew_sync/cli/logs.py",
    "shared/homebrew_sync/verify.py",
    "shared/homebrew_sync/__main__.py",
}

DEFAULT_IS_RIGHT = {
    # transfer and retry tuning: the defaults are the product's policy
    "size_concurrency",
    "estimate_sizes",
    "connect_timeout_s",
    "read_timeout_s",
    "min_rate_bytes_s",
    "min_rate_grace_s",
    "max_attempts",
    "backoff_base_s",
    "backoff_max_s",
    "max_retry_after_s",
    "retry_budget_s",
    "multipart_part_mb",
    "s3_single_put_mb",
    "s3_retry_mode",
    "checkpoint_every",
    "checkpoint_seconds",
    "lock_ttl_s",
    "stop_grace_s",
    "quarantine_after",
    "max_missing_share",
    "lambda_time_margin_s",
    # per-run options a manual trigger sets, not the deployment
    "dry_run",
    "force",
    "formulae",
    "date",
    # local runs only
    "dest",
    "s3_endpoint_url",
    "signing_key",
    "cache_dir",
    "progress",
    "slack_webhook_url",
    # set by the ecs module only when EFS is mounted (checked below)
    "work_dir",
}
PER_RUN_POINTERS = {"HOMEBREW_SYNC_RUN_ID", "HOMEBREW_SYNC_SHARD_KEY"}  # containerOverrides at run time


def _runtimes(relative: str) -> set[str]:
    if relative in NOT_IN_AWS:
        return set()
    for only, runtime in ((ORCHESTRATOR_ONLY, "orchestrator"), (SYNC_ONLY, "sync"), (ECS_ONLY, "ecs")):
        if relative in only:
            return {runtime}
    return {"orchestrator", "sync", "ecs"}


def derived_settings() -> dict[str, set[str]]:
    """Properties and methods of Settings -> the fields they read (`settings.destination` reads `bucket`)."""
    tree = ast.parse((ROOT / "shared" / "homebrew_sync" / "config.py").read_text())
    settings_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    derived: dict[str, set[str]] = {}
    for item in settings_class.body:
        if isinstance(item, ast.FunctionDef):
            derived[item.name] = {
                node.attr
                for node in ast.walk(item)
                if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and node.attr in Settings.model_fields
            }
    return derived


def read_by_code() -> dict[str, set[str]]:
    """Environment variable -> runtimes whose code reads it."""
    fields = set(Settings.model_fields)
    derived = derived_settings()
    reads: dict[str, set[str]] = {}
    files = [
        *ROOT.joinpath("shared", "homebrew_sync").rglob("*.py"),
        *ROOT.joinpath("lambda").rglob("handler.py"),
        ROOT / "ecs" / "entrypoint.py",
    ]
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        runtimes = _runtimes(relative)
        tree = ast.parse(path.read_text())
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and (node.attr in fields or node.attr in derived):
                owner = node.value
                if (isinstance(owner, ast.Name) and owner.id == "settings") or (
                    isinstance(owner, ast.Attribute) and owner.attr == "settings"
                ):
                    read = derived.get(node.attr, {node.attr})
                    names.update(f"HOMEBREW_SYNC_{field.upper()}" for field in read)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(ENV_NAME.findall(node.value))
        for name in names:
            reads.setdefault(name, set()).update(runtimes)
    return {name: runtimes for name, runtimes in reads.items() if runtimes}


def missing_settings(environments: dict[str, set[str]]) -> list[str]:
    """`NAME (runtime)` for every setting a runtime reads that its Terraform environment lacks."""
    skipped = {f"HOMEBREW_SYNC_{field.upper()}" for field in DEFAULT_IS_RIGHT} | PER_RUN_POINTERS
    return sorted(
        f"{name} ({runtime})"
        for name, runtimes in read_by_code().items()
        if name not in skipped
        for runtime in runtimes
        if name not in environments[runtime]
    )


def test_a_setting_missing_from_an_environment_is_named():
    full = {runtime: set(read_by_code()) for runtime in ("orchestrator", "sync", "ecs")}
    assert missing_settings(full) == []
    full["ecs"].discard("HOMEBREW_SYNC_BUCKET")
    assert missing_settings(full) == ["HOMEBREW_SYNC_BUCKET (ecs)"]


def test_the_derivation_sees_what_the_handlers_read():
    reads = read_by_code()
    assert reads["HOMEBREW_SYNC_SYNC_FUNCTION_NAME"] == {"orchestrator"}
    assert reads["HOMEBREW_SYNC_BUCKET"] == {"orchestrator", "sync", "ecs"}
    assert "ecs" in reads["HOMEBREW_SYNC_PROGRESS_EVERY_PERCENT"]
    assert "HOMEBREW_SYNC_RUN_ID" in reads
    assert reads["HOMEBREW_SYNC_ECS_LOG_GROUP"] == {"orchestrator", "sync", "ecs"}
    assert "orchestrator" in reads["HOMEBREW_SYNC_PLAN_BUDGET_S"]


def test_exemptions_are_real_settings():
    assert set(DEFAULT_IS_RIGHT) <= set(Settings.model_fields)
