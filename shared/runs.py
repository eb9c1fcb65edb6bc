"""Run artefacts under `runs/<run_id>/`: the plan, the shards handed to workers, their results, the summary.

Workers receive only a pointer (the shard key). Completion is tracked with one `done/` marker per shard;
the worker that sees every marker claims `summary.json` with a create-if-absent write, so exactly one
of them finishes the run even if two finish at the same moment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.errors import PreconditionFailed, StateError
from shared.models import Plan, PlannedBottle, PlannedManifest, RunSummary
from shared.naming import run_key
from shared.publish import StagedApi
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
    manifests: int = 0
    prune: bool = False  # retention after this run if it is complete (the trigger's choice, else the setting)
    api: StagedApi = Field(default_factory=StagedApi)  # published by the worker that finishes the run
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Shard(BaseModel):
    run_id: str
    shard: int
    shards: int
    piece: int = 0  # 0 for the first worker, then one more per continuation
    bottles: list[PlannedBottle]
    manifests: list[PlannedManifest] = Field(default_factory=list)
    indexes_key: str | None = None  # image indexes the orchestrator already read for this shard

    @property
    def name(self) -> str:
        return f"shard-{self.shard:03d}"


@dataclass
class ShardWork:
    bottles: list[PlannedBottle] = field(default_factory=list)
    manifests: list[PlannedManifest] = field(default_factory=list)


def split_plan(bottles: list[PlannedBottle], manifests: list[PlannedManifest], shards: int) -> list[ShardWork]:
    """Balance by estimated bytes (largest first into the lightest shard). A formula version's bottles and
    its image index stay in one shard (the index goes up after its bottles), and so does one blob."""
    parent: dict[tuple[str, ...], tuple[str, ...]] = {}

    def find(node: tuple[str, ...]) -> tuple[str, ...]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for bottle in bottles:
        parent[find(("blob", bottle.sha256))] = find(("version", bottle.image, bottle.image_tag))
    units: dict[tuple[str, ...], ShardWork] = {}
    for bottle in bottles:
        units.setdefault(find(("version", bottle.image, bottle.image_tag)), ShardWork()).bottles.append(bottle)
    for manifest in manifests:
        units.setdefault(find(("version", manifest.image, manifest.image_tag)), ShardWork()).manifests.append(manifest)

    def weight(unit: ShardWork) -> int:
        return sum({b.sha256: b.size or 0 for b in unit.bottles if b.copy_from is None}.values()) or 1

    def first_name(unit: ShardWork) -> str:
        return min([b.file for b in unit.bottles] + [m.key for m in unit.manifests])

    ordered = sorted(units.values(), key=lambda u: (-weight(u), first_name(u)))
    count = max(1, min(shards, len(ordered)))
    buckets = [ShardWork() for _ in range(count)]
    loads = [0] * count
    for unit in ordered:
        lightest = loads.index(min(loads))
        buckets[lightest].bottles.extend(unit.bottles)
        buckets[lightest].manifests.extend(unit.manifests)
        loads[lightest] += weight(unit)
    for bucket in buckets:
        bucket.bottles.sort(key=lambda b: b.file)
        bucket.manifests.sort(key=lambda m: m.key)
    return [bucket for bucket in buckets if bucket.bottles or bucket.manifests]


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

    def write_indexes(self, shard: int, indexes: dict[str, str]) -> str | None:
        """Image indexes already read for a shard, so its workers do not ask the registry again."""
        if not indexes:
            return None
        key = self._key(f"indexes-{shard:03d}.json")
        self.storage.write(key, json.dumps(indexes).encode())
        return key

    def read_indexes(self, key: str | None) -> dict[str, str]:
        if key is None:
            return {}
        document = self.storage.read(key) if key.startswith(self.prefix) else None
        if document is None:
            return {}  # only a saving: the worker reads the registry instead
        indexes = json.loads(document.data)
        return indexes if isinstance(indexes, dict) else {}

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
