"""What starts a run: the weekly EventBridge event, the manual EventBridge event, or a direct invoke.

Each is parsed into a model; the run id derives from the trigger (the EventBridge event id, or the
Lambda request id), so a duplicated delivery of the same event maps to the same run. One more event
starts no run: an ECS task of ours that stopped other than by success (the failed-task rule), which is
only reported, with the reason ECS gives.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from shared.errors import ConfigError, UnsafeInputError
from shared.naming import validate_name
from shared.selection import check_platform_spec

_RUN_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


class RunOptions(BaseModel):
    """Options a manual trigger may set; everything else comes from the function's settings."""

    model_config = ConfigDict(extra="forbid")

    dry_run: StrictBool = False  # only JSON true/false: "yes" or 1 is a typo, not a decision
    force: StrictBool = False
    prune: StrictBool | None = None  # retention after a complete sync; None: the deployment's setting
    platforms: list[str] | None = None
    formulae: list[str] | None = None

    @field_validator("platforms")
    @classmethod
    def _platforms(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("platforms must not be empty")
            for item in value:
                try:
                    check_platform_spec(item)
                except ConfigError as exc:
                    raise ValueError(exc.message) from None
        return value

    @field_validator("formulae")
    @classmethod
    def _formulae(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            try:
                validate_name(name)
            except UnsafeInputError as exc:
                raise ValueError(str(exc)) from None
        return value

    def overrides(self) -> dict[str, Any]:
        values: dict[str, Any] = {"dry_run": self.dry_run, "force": self.force}
        if self.prune is not None:
            values["prune_after_sync"] = self.prune
        if self.platforms:
            values["platforms"] = self.platforms
        if self.formulae:
            values["formulae"] = self.formulae
        return values


class ScheduledEvent(BaseModel):
    """EventBridge rule envelope (`detail-type: Scheduled Event`, `source: aws.events`)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str = Field(min_length=1)
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    source: Literal["aws.events"]
    time: datetime
    resources: list[str] = Field(default_factory=list)


class ManualEvent(BaseModel):
    """`aws events put-events --entries Source=homebrew.sync,DetailType="Manual Sync",Detail='{...}'`."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str = Field(min_length=1)
    detail_type: Literal["Manual Sync"] = Field(alias="detail-type")
    source: Literal["homebrew.sync"]
    time: datetime
    detail: RunOptions = Field(default_factory=RunOptions)


class ManualPayload(RunOptions):
    """`aws lambda invoke --payload '{"source": "manual", ...}'`."""

    source: Literal["manual"]
    run_id: str | None = None

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str | None) -> str | None:
        if value is not None and not _RUN_ID_RE.fullmatch(value):
            raise ValueError("run_id may hold only letters, digits, '.', '_' and '-' (at most 80)")
        return value


class StoppedContainer(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    name: str = ""
    exit_code: int | None = Field(None, alias="exitCode")
    reason: str | None = None


class StoppedTaskDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    task_arn: str = Field(alias="taskArn", min_length=1)
    last_status: Literal["STOPPED"] = Field(alias="lastStatus")
    stop_code: str | None = Field(None, alias="stopCode")
    stopped_reason: str | None = Field(None, alias="stoppedReason")
    containers: list[StoppedContainer] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)


class TaskStoppedEvent(BaseModel):
    """EventBridge `ECS Task State Change` (source aws.ecs) for a task that reached STOPPED."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    id: str = Field(min_length=1)
    detail_type: Literal["ECS Task State Change"] = Field(alias="detail-type")
    source: Literal["aws.ecs"]
    detail: StoppedTaskDetail


# Exit codes of ecs/entrypoint.py, and the kernel's for a container killed for its memory.
_EXIT_MEANINGS = {2: "run error", 4: "interrupted", 137: "killed (SIGKILL, usually out of memory)"}


class TaskStop(BaseModel):
    """Why one of our ECS tasks stopped, in words an operator can act on."""

    task_arn: str
    run_id: str | None
    shard_key: str | None
    reason: str
    succeeded: bool


class Trigger(BaseModel):
    kind: Literal["scheduled", "manual-event", "manual", "task-stopped"]
    run_id: str
    options: RunOptions
    stopped: TaskStop | None = None


def _override(detail: StoppedTaskDetail, name: str) -> str | None:
    for container in detail.overrides.get("containerOverrides", []) or []:
        for item in container.get("environment", []) or []:
            if isinstance(item, dict) and item.get("name") == name:
                return str(item.get("value"))
    return None


def describe_stop(detail: StoppedTaskDetail) -> TaskStop:
    """The reason a task stopped: Spot reclaim, a start failure (image pull), out of memory, or an exit code."""
    exits = [c for c in detail.containers if c.exit_code not in (None, 0)]
    memory = [c for c in detail.containers if c.reason and "OutOfMemory" in c.reason]
    never_ran = not detail.containers or all(c.exit_code is None for c in detail.containers)
    stopped = detail.stopped_reason or "no reason given"
    succeeded = False
    if detail.stop_code == "SpotInterruption":
        reason = f"Fargate Spot capacity reclaimed (SpotInterruption): {stopped}"
    elif memory:
        reason = f"out of memory: container {memory[0].name} - {memory[0].reason}"
    elif detail.stop_code == "TaskFailedToStart" or never_ran:
        reasons = "; ".join(c.reason for c in detail.containers if c.reason)
        reason = f"the task did not start: {stopped}" + (f" ({reasons})" if reasons else "")
    elif exits:
        first = exits[0]
        meaning = _EXIT_MEANINGS.get(first.exit_code or 0, "crash")
        reason = f"container {first.name} exited {first.exit_code} ({meaning})"
        reason += f": {first.reason}" if first.reason else ""
    else:
        reason, succeeded = f"ended: {stopped}", True
    return TaskStop(
        task_arn=detail.task_arn,
        run_id=_override(detail, "HOMEBREW_SYNC_RUN_ID"),
        shard_key=_override(detail, "HOMEBREW_SYNC_SHARD_KEY"),
        reason=reason,
        succeeded=succeeded,
    )


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def parse_trigger(event: Any, request_id: str) -> Trigger:
    """Parse any accepted event into a Trigger, or raise ConfigError saying what is wrong."""
    if not isinstance(event, dict):
        raise ConfigError("event must be a JSON object")
    try:
        if event.get("detail-type") == "ECS Task State Change":
            task = TaskStoppedEvent.model_validate(event)
            stop = describe_stop(task.detail)
            run_id = stop.run_id or f"task-{_short(stop.task_arn)}"
            return Trigger(kind="task-stopped", run_id=run_id, options=RunOptions(), stopped=stop)
        if event.get("detail-type") == "Scheduled Event":
            scheduled = ScheduledEvent.model_validate(event)
            stamp = scheduled.time.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
            return Trigger(kind="scheduled", run_id=f"sched-{stamp}-{_short(scheduled.id)}", options=RunOptions())
        if event.get("source") == "homebrew.sync":
            manual = ManualEvent.model_validate(event)
            stamp = manual.time.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
            return Trigger(kind="manual-event", run_id=f"manual-{stamp}-{_short(manual.id)}", options=manual.detail)
        if event.get("source") == "manual":
            payload = ManualPayload.model_validate(event)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
            run_id = payload.run_id or f"manual-{stamp}-{_short(request_id)}"
            options = RunOptions.model_validate(payload.model_dump(exclude={"source", "run_id"}))
            return Trigger(kind="manual", run_id=run_id, options=options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid trigger event: {problems}") from None
    raise ConfigError(
        "unrecognised event: expected an EventBridge 'Scheduled Event', a 'Manual Sync' event from "
        'source homebrew.sync, an \'ECS Task State Change\', or a payload with "source": "manual"'
    )
