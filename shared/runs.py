"""Run artefacts under `runs/<run_id>/`: the plan, the shards handed to workers, their results, the summary.

Workers receive only a pointer (the shard key). Completion is tracked with one `done/` marker per shard;
the worker that sees every marker claims `summary.json` with a create-if-absent write, so exactly one
of them finishes the run even if two finish at the same moment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.errors import PreconditionFailed, StateError
from shared.models import Plan, PlannedBottle, RunSummary
from shared.naming import run_key
from shared.storage import Storage

Route = Literal["lambda", "ecs", "none"]


class RunInfo(BaseModel):
    """The small facts of a run every worker needs to finish it."""

    run_id: str
    trigger: str
    environment: str
    date: str
    route: Route
    shards: int
    planned: int
    skipped: int
    estimated_bytes: int
    unknown_sizes: int = 0
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Shard(BaseModel):
    run_id: str
    shard: int
    shards: int
    piece: int = 0  # 0 for the first worker, then one more per continuation
    bottles: list[PlannedBottle]

    @property
    def name(self) -> str:
        return f"shard-{self.shard:03d}"


def split_plan(bottles: list[PlannedBottle], shards: int) -> list[list[PlannedBottle]]:
    """Balance by estimated bytes (largest first into the lightest shard); one blob stays in one shard."""
    groups: dict[str, list[PlannedBottle]] = {}
    for bottle in bottles:
        groups.setdefault(bottle.sha256, []).append(bottle)
    ordered = sorted(groups.values(), key=lambda g: (-(g[0].size or 0), g[0].file))
    count = max(1, min(shards, len(ordered)))
    buckets: list[list[PlannedBottle]] = [[] for _ in range(count)]
    loads = [0] * count
    for group in ordered:
        lightest = loads.index(min(loads))
        buckets[lightest].extend(group)
        loads[lightest] += sum(b.size or 0 for b in group if b.copy_from is None) or 1
    return [sorted(bucket, key=lambda b: b.file) for bucket in buckets if bucket]


class RunDocuments:
    def __init__(self, storage: Storage, run_id: str) -> None:
        self.storage = storage
        self.run_id = run_id
        self.prefix = run_key(run_id, "run.json").removesuffix("run.json")  # validates the run id

    def _key(self, name: str) -> str:
        return run_key(self.run_id, name)

    def exists(self) -> bool:
        return self.storage.read(self._key("run.json")) is not None

    def claim(self, info: RunInfo, plan: Plan) -> bool:
        """Record the run; False if it was already recorded (a duplicate delivery of the trigger)."""
        try:
            self.storage.write(self._key("run.json"), info.model_dump_json().encode(), if_absent=True)
        except PreconditionFailed:
            return False
        self.storage.write(self._key("plan.json"), plan.model_dump_json().encode())
        return True

    def info(self) -> RunInfo:
        document = self.storage.read(self._key("run.json"))
        if document is None:
            raise StateError(f"run {self.run_id} has no run.json")
        return RunInfo.model_validate_json(document.data)

    def write_shard(self, shard: Shard) -> str:
        key = self._key(f"{shard.name}-p{shard.piece}.json")
        self.storage.write(key, shard.model_dump_json().encode())
        return key

    def read_shard(self, key: str) -> Shard:
        if not key.startswith(self.prefix):
            raise StateError(f"shard key {key!r} does not belong to run {self.run_id}")
        document = self.storage.read(key)
        if document is None:
            raise StateError(f"shard {key} does not exist")
        return Shard.model_validate_json(document.data)

    def has_result(self, shard: Shard) -> bool:
        return self.storage.read(self._key(f"results/{shard.name}-p{shard.piece}.json")) is not None

    def write_result(self, shard: Shard, summary: RunSummary) -> None:
        self.storage.write(self._key(f"results/{shard.name}-p{shard.piece}.json"), summary.model_dump_json().encode())

    def mark_done(self, shard: Shard) -> None:
        self.storage.write(self._key(f"done/{shard.name}.json"), b"{}")

    def all_done(self, shards: int) -> bool:
        done = {info.key for info in self.storage.list(self.prefix + "done/")}
        return len(done) >= shards

    def results(self) -> list[RunSummary]:
        return [
            RunSummary.model_validate_json(self.storage.read(info.key).data)  # type: ignore[union-attr]
            for info in self.storage.list(self.prefix + "results/")
        ]

    def claim_summary(self, summary: RunSummary) -> bool:
        try:
            self.storage.write(self._key("summary.json"), summary.model_dump_json().encode(), if_absent=True)
        except PreconditionFailed:
            return False
        return True
