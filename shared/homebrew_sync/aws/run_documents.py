"""Run artefacts under `runs/<run_id>/`: the plan, the shards handed to workers, their results, the summary.

Workers receive only a pointer (the shard key). `run.json` is written last by the orchestrator, create-if-
absent, so a repeated trigger finds the run whole; each shard piece gets a `dispatched/` marker only after
its worker was started, so a trigger redelivered after a failed dispatch starts what was not started. A
worker claims its piece under `claims/` before working, so a pointer delivered twice is worked once.
Completion is tracked with one `done/` marker per shard; the worker that sees every marker claims
`summary.json` with a create-if-absent write, so exactly one of them finishes the run even if two finish
at the same moment. Every write goes through the conditional-write protocol (homebrew_sync.storage.documents).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from homebrew_sync.errors import PointerError, PreconditionFailed, StateError, UnsafeInputError
from homebrew_sync.keys import run_key
from homebrew_sync.lock import RunLock
from homebrew_sync.models import Plan, PlannedBottle, PlannedManifest, RunSummary
from homebrew_sync.publish import StagedApi
from homebrew_sync.storage import Storage
from homebrew_sync.storage.documents import read_document, write_document

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
    shard_keys: list[str] = Field(default_factory=list)  # the first piece of each shard, to dispatch


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

    def _write(self, name: str, data: bytes, *, if_absent: bool = False) -> str:
        return write_document(self.storage, self._key(name), data, if_absent=if_absent)

    def _exists(self, name: str) -> bool:
        return read_document(self.storage, self._key(name)) is not None

    def exists(self) -> bool:
        return self._exists("run.json")

    def finished(self) -> bool:
        return self._exists("summary.json")

    def write_plan(self, plan: Plan) -> None:
        self._write("plan.json", plan.model_dump_json().encode())

    def claim(self, info: RunInfo) -> bool:
        """Record the run, after its plan and shards; False if a duplicate delivery recorded it first."""
        try:
            self._write("run.json", info.model_dump_json().encode(), if_absent=True)
        except PreconditionFailed:
            return False
        return True

    def info(self) -> RunInfo:
        document = read_document(self.storage, self._key("run.json"))
        if document is None:
            raise StateError(f"run {self.run_id} has no run.json")
        return RunInfo.model_validate_json(document.data)

    def write_indexes(self, shard: int, indexes: dict[str, bytes]) -> str | None:
        """Image indexes already read for a shard, so its workers do not ask the registry again.

        One JSON line naming each index and its length, then the indexes' bytes as read: no escaped copy
        of them, which on a first run would cost the orchestrator tens of MB of its memory twice over."""
        if not indexes:
            return None
        key = self._key(f"indexes-{shard:03d}.bin")
        header = json.dumps([[ref, len(data)] for ref, data in indexes.items()]).encode()
        self.storage.write(key, b"".join([header, b"\n", *indexes.values()]))
        return key

    def read_indexes(self, key: str | None) -> dict[str, bytes]:
        if key is None:
            return {}
        document = self.storage.read(key) if key.startswith(self.prefix) else None
        if document is None:
            return {}  # only a saving: the worker reads the registry instead
        header, _, body = document.data.partition(b"\n")
        try:
            entries = [(str(ref), int(length)) for ref, length in json.loads(header)]
        except (ValueError, TypeError):
            return {}
        if sum(length for _, length in entries) != len(body):
            return {}
        indexes, offset = {}, 0
        for ref, length in entries:
            indexes[ref] = body[offset : offset + length]
            offset += length
        return indexes

    def write_shard(self, shard: Shard) -> str:
        key = self._key(f"{shard.name}-p{shard.piece}.json")
        write_document(self.storage, key, shard.model_dump_json().encode())
        return key

    def read_shard(self, key: str) -> Shard:
        """The shard a worker pointer names; PointerError if it is not this run's or does not exist."""
        try:
            valid = key.startswith(self.prefix) and run_key(self.run_id, key.removeprefix(self.prefix)) == key
        except UnsafeInputError:
            valid = False
        if not valid:
            raise PointerError(f"shard key {key!r} does not belong to run {self.run_id}")
        document = read_document(self.storage, key)
        if document is None:
            raise PointerError(f"shard {key} does not exist")
        shard = Shard.model_validate_json(document.data)
        if shard.run_id != self.run_id:
            raise PointerError(f"shard {key} belongs to run {shard.run_id}, not {self.run_id}")
        return shard

    def mark_dispatched(self, key: str) -> None:
        """Record that a worker was started on this piece (only after the invoke or run_task succeeded)."""
        self._write(f"dispatched/{key.removeprefix(self.prefix)}", b"{}")

    def is_dispatched(self, key: str) -> bool:
        return self._exists(f"dispatched/{key.removeprefix(self.prefix)}")

    def continuation_not_started(self, shard: Shard) -> str | None:
        """The key of the next piece of this shard, if it was written but no worker was started on it."""
        key = self._key(f"{shard.name}-p{shard.piece + 1}.json")
        if read_document(self.storage, key) is None or self.is_dispatched(key):
            return None
        return key

    def piece_claim(self, shard: Shard, *, worker: str, ttl_s: int) -> RunLock:
        """The lease a worker takes on one piece of a shard before working on it."""
        key = self._key(f"claims/{shard.name}-p{shard.piece}.json")
        return RunLock(self.storage, owner=worker, run_id=self.run_id, ttl_s=ttl_s, key=key)

    def has_result(self, shard: Shard) -> bool:
        return self._exists(f"results/{shard.name}-p{shard.piece}.json")

    def write_result(self, shard: Shard, summary: RunSummary) -> None:
        self._write(f"results/{shard.name}-p{shard.piece}.json", summary.model_dump_json().encode())

    def mark_done(self, shard: Shard) -> None:
        self._write(f"done/{shard.name}.json", b"{}")

    def all_done(self, shards: int) -> bool:
        done = {info.key for info in self.storage.list(self.prefix + "done/")}
        return len(done) >= shards

    def results(self) -> list[RunSummary]:
        return [
            RunSummary.model_validate_json(read_document(self.storage, info.key).data)  # type: ignore[union-attr]
            for info in self.storage.list(self.prefix + "results/")
        ]

    def claim_summary(self, summary: RunSummary) -> bool:
        try:
            self._write("summary.json", summary.model_dump_json().encode(), if_absent=True)
        except PreconditionFailed:
            return False
        return True
