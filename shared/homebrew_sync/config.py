"""The one settings model: every CLI flag and every `HOMEBREW_SYNC_*` environment variable maps onto it.

Precedence: explicit values (CLI flags, handler payloads) > environment > defaults. Lists come from the
environment comma-separated (`HOMEBREW_SYNC_PLATFORMS=arm64_sonoma,monterey`). Every duration, size and
count has an upper bound and must be finite, so a typo cannot turn a timeout into "wait forever".
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from homebrew_sync.errors import ConfigError, UnsafeInputError
from homebrew_sync.names import validate_name
from homebrew_sync.selection import DEFAULT_PLATFORMS, check_platform_spec
from homebrew_sync.storage import check_prefix, parse_s3_destination
from homebrew_sync.urls import AllowList

log = logging.getLogger(__name__)

CommaList = Annotated[list[str], NoDecode]
ENV_PREFIX = "HOMEBREW_SYNC_"
# Read by the ECS entrypoint itself (homebrew_sync.aws.dispatch sets them in the container overrides), not settings.
POINTER_VARIABLES = frozenset({"HOMEBREW_SYNC_RUN_ID", "HOMEBREW_SYNC_SHARD_KEY"})
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def _seconds(default: float, *, le: float) -> Any:
    """A duration setting: finite, from 0 up to `le` seconds."""
    return Field(default, ge=0, le=le, allow_inf_nan=False)


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    # Terraform sets unused optional settings to "": an empty variable means "not set".
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, env_ignore_empty=True
    )

    # Where the mirror lives: a folder, or s3://bucket/prefix (or bucket + prefix in AWS).
    dest: str | None = None
    bucket: str | None = None
    prefix: str = ""
    s3_endpoint_url: str | None = None  # local only: moto server or another S3-compatible endpoint
    s3_retry_mode: Literal["standard", "adaptive"] = "adaptive"

    # What to mirror.
    platforms: CommaList = Field(default_factory=lambda: list(DEFAULT_PLATFORMS))
    formulae: CommaList = Field(default_factory=list)
    layout: Literal["dated", "flat"] = "dated"
    date: dt.date | None = None

    # Upstream.
    api_url: str = "https://formulae.brew.sh/api"
    registry_url: str = "https://ghcr.io/v2/homebrew/core"
    allow_hosts: CommaList = Field(default_factory=list)
    require_signature: bool = True  # `--allow-unsigned` (false) accepts an unsigned formula.json, loudly
    signing_key: Path | None = None
    cache_dir: Path | None = None
    max_api_mb: int = Field(512, ge=16, le=4096)  # one API file, decoded; formula.jws.json is ~35 MB
    publish_api: bool = True  # mirror the API files brew reads, under api/ (`--no-api`: off)

    # Transfer.
    concurrency: int = Field(8, ge=1, le=64)
    size_concurrency: int = Field(16, ge=1, le=64)
    estimate_sizes: bool = True
    connect_timeout_s: float = Field(10.0, gt=0, le=5 * MINUTE, allow_inf_nan=False)
    read_timeout_s: float = Field(60.0, gt=0, le=15 * MINUTE, allow_inf_nan=False)
    min_rate_bytes_s: int = Field(16 * 1024, ge=0, le=1 << 30)
    min_rate_grace_s: float = _seconds(30.0, le=HOUR)
    max_attempts: int = Field(4, ge=1, le=20)
    backoff_base_s: float = _seconds(0.5, le=MINUTE)
    backoff_max_s: float = _seconds(30.0, le=15 * MINUTE)
    max_retry_after_s: float = _seconds(60.0, le=HOUR)
    retry_budget_s: float = _seconds(300.0, le=DAY)
    multipart_part_mb: int = Field(8, ge=5, le=512)  # S3 part size
    s3_single_put_mb: int = Field(16, ge=5, le=64)  # S3: bottles up to this size go up in one PUT

    # Run control.
    dry_run: bool = False
    force: bool = False
    checkpoint_every: int = Field(50, ge=1, le=100_000)
    checkpoint_seconds: float = Field(30.0, gt=0, le=HOUR, allow_inf_nan=False)
    lock_ttl_s: int = Field(1800, ge=60, le=int(DAY))  # refreshed every checkpoint_seconds while the run is alive
    stop_grace_s: float = _seconds(15.0, le=10 * MINUTE)
    quarantine_after: int = Field(3, ge=1, le=1000)
    # Retention (`homebrew-sync prune`; in AWS after a complete sync when prune_after_sync is on).
    prune_after_sync: bool = False
    prune_keep_versions: int = Field(2, ge=1, le=100)
    prune_older_than_days: int = Field(30, ge=0, le=3650)
    max_missing_share: float = Field(0.5, gt=0, le=1, allow_inf_nan=False)
    progress: bool = True
    work_dir: Path | None = None

    # AWS runtime (see README "AWS runtime").
    environment: str = "dev"
    size_threshold_gb: float = Field(20.0, gt=0, le=1_000_000, allow_inf_nan=False)  # at most 1 PB
    plan_budget_s: float = _seconds(120.0, le=HOUR)  # orchestrator: longest the size estimate may take
    max_shards: int = Field(1, ge=1, le=50)
    sync_function_name: str | None = None
    ecs_cluster: str | None = None
    ecs_task_definition: str | None = None
    ecs_container_name: str = "homebrew-sync"
    ecs_subnets: CommaList = Field(default_factory=list)
    ecs_security_groups: CommaList = Field(default_factory=list)
    ecs_assign_public_ip: bool = False
    ecs_capacity_provider: Literal["FARGATE", "FARGATE_SPOT"] = "FARGATE"
    lambda_time_margin_s: float = _seconds(90.0, le=15 * MINUTE)
    ecs_log_group: str | None = None  # named in ECS task messages (Terraform sets it; aws/runtime.py)
    progress_every_percent: int = Field(10, ge=1, le=100)
    progress_every_minutes: float = Field(5.0, gt=0, le=DAY / MINUTE, allow_inf_nan=False)

    # Notifications and observability.
    enable_notifications: bool = True
    slack_webhook_secret_arn: str | None = None
    slack_webhook_url: SecretStr | None = None  # local only; in AWS the URL lives in Secrets Manager
    sns_topic_arn: str | None = None
    enable_tracing: bool = False

    # External hash file (EXTERNAL_HASH_FILE.md).
    external_hash_file_s3_bucket: str | None = None
    external_hash_file_s3_key: str | None = None
    external_hash_file_url: str | None = None

    _split_lists = field_validator(
        "platforms", "formulae", "allow_hosts", "ecs_subnets", "ecs_security_groups", mode="before"
    )(_split)

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one platform is required")
        try:
            return [check_platform_spec(item) for item in value]
        except ConfigError as exc:
            raise ValueError(exc.message) from None

    @field_validator("api_url", "registry_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"must be an http(s) URL: {value!r}")
        return value.rstrip("/")

    @field_validator("formulae")
    @classmethod
    def _formulae(cls, value: list[str]) -> list[str]:
        try:
            return [validate_name(name) for name in value]
        except UnsafeInputError as exc:
            raise ValueError(exc.message) from None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        try:
            return check_prefix(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from None

    @field_validator("dest", "bucket")
    @classmethod
    def _s3_destination(cls, value: str | None, info: Any) -> str | None:
        if value is not None and (info.field_name == "bucket" or value.startswith("s3://")):
            try:
                parse_s3_destination(value if value.startswith("s3://") else f"s3://{value}")
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _urls_allowed(self) -> Settings:
        allow = self.allow_list()
        try:
            allow.check(self.api_url + "/formula.json")
            allow.check(self.registry_url + "/")
        except UnsafeInputError as exc:
            raise ValueError(f"{exc.message}; add the host with --allow-host") from None
        return self

    # --- derived values --------------------------------------------------------------------------------

    def allow_list(self) -> AllowList:
        return AllowList.build([self.api_url, self.registry_url], self.allow_hosts)

    def run_date(self) -> dt.date:
        return self.date or dt.datetime.now(dt.UTC).date()

    @property
    def destination(self) -> str:
        """`s3://bucket/prefix` or a folder path; the bucket setting wins when no dest is given."""
        if self.dest:
            return self.dest
        if self.bucket:
            return f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return "./mirror"

    @property
    def size_threshold_bytes(self) -> int:
        return int(self.size_threshold_gb * 1024**3)


def unknown_variables(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """`HOMEBREW_SYNC_*` variables no setting reads (typos), each with the closest valid name, if any."""
    environ = os.environ if environ is None else environ
    valid = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | POINTER_VARIABLES
    unknown = sorted(name for name in environ if name.upper().startswith(ENV_PREFIX) and name.upper() not in valid)
    suffixes = {name.removeprefix(ENV_PREFIX): name for name in valid}  # compare what follows the prefix

    def closest(name: str) -> str | None:
        match = difflib.get_close_matches(name.upper().removeprefix(ENV_PREFIX), suffixes, n=1)
        return suffixes[match[0]] if match else None

    return {name: closest(name) for name in unknown}


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment plus explicit values; bad values raise ConfigError.

    A mistyped `HOMEBREW_SYNC_*` variable would silently be ignored: it is warned about by name.
    """
    for name, closest in unknown_variables().items():
        log.warning("unknown environment variable ignored", extra={"variable": name, "did_you_mean": closest})
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {_clean(err['msg'])}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")
