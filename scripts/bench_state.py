#!/usr/bin/env python3
"""State cost of a run: a large existing state, new bottles recorded by several shards at once.

Before (every checkpoint merges into bottles_hash.json: read it whole, write a backup and the new state,
compare-and-swap against the other shards) against now (every checkpoint writes a small journal entry; one
fold at the end of the run). Prints the bytes of state and journal documents read and written, the number of
requests and the wall time, as JSON, for a local folder and for S3 (a moto server).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from homebrew_sync.errors import StorageError  # noqa: E402
from homebrew_sync.journal import Journal, JournalEntry, fold  # noqa: E402
from homebrew_sync.models import BottleRecord, StateFile  # noqa: E402
from homebrew_sync.state import StateStore, dump_state  # noqa: E402


class Counting:
    """A storage wrapper counting the bytes of every read and write (state and journal documents)."""

    def __init__(self, inner: Any, *, serialize_writes: bool = False) -> None:
        self.inner = inner
        self.url = inner.url
        # moto checks a conditional write and stores it in two steps, so two racing compare-and-swaps can
        # both succeed (and one shard's records vanish); S3 itself decides them atomically. One write at a
        # time here gives moto S3's behaviour.
        self.atomic_writes = threading.Lock() if serialize_writes else contextlib.nullcontext()
        self.keeps_versions = inner.keeps_versions
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, what: str, size: int) -> None:
        with self._lock:
            self.counts[f"{what}_bytes"] += size
            self.counts[f"{what}_requests"] += 1

    def read(self, key: str):
        document = self.inner.read(key)
        self._count("read", len(document.data) if document else 0)
        return document

    def write(self, key: str, data: bytes, **conditions: Any) -> str:
        self._count("written", len(data))
        with self.atomic_writes:
            return self.inner.write(key, data, **conditions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def record(i: int, day: str) -> tuple[str, BottleRecord]:
    file = f"formula{i:06d}-1.{i % 97}.arm64_sonoma.bottle.tar.gz"
    digest = f"{i:064x}"
    return file, BottleRecord(
        sha256=digest,
        size=1000 + i,
        key=f"{day}/{file}",
        formula=f"formula{i:06d}",
        tag="arm64_sonoma",
        downloaded_at=day,
    )


def seed(storage: Any, entries: int) -> None:
    state = StateFile(bottles=dict(record(i, "2025-01-05") for i in range(entries)))
    storage.write("bottles_hash.json", dump_state(state))


def shard_records(shard: int, per_shard: int, base: int) -> list[tuple[str, BottleRecord]]:
    return [record(base + shard * per_shard + i, "2025-07-20") for i in range(per_shard)]


def before(storage: Any, shards: int, per_shard: int, every: int, base: int) -> None:
    """What a checkpoint cost until now: a compare-and-swap of the whole state, with a backup copy."""
    store = StateStore(storage)

    def work(shard: int) -> None:
        records = shard_records(shard, per_shard, base)
        pending: dict[str, BottleRecord] = {}
        for start in range(0, len(records) + every, every):
            pending.update(records[start : start + every])
            if not pending:
                continue
            try:
                store.commit(lambda state, batch=dict(pending): state.bottles.update(batch))
                pending.clear()
            except StorageError:  # as the runner did: keep them for the next checkpoint
                storage.counts["lost_races"] += 1
        while pending:  # the final checkpoint insists
            try:
                store.commit(lambda state, batch=dict(pending): state.bottles.update(batch))
                pending.clear()
            except StorageError:
                storage.counts["lost_races"] += 1

    run_threads(work, shards)


def after(storage: Any, shards: int, per_shard: int, every: int, base: int) -> None:
    """Now: a journal entry per checkpoint, one fold at the end."""

    def work(shard: int) -> None:
        journal = Journal(storage, "bench-run", f"shard-{shard:03d}-p0")
        records = shard_records(shard, per_shard, base)
        for start in range(0, len(records), every):
            journal.append(JournalEntry(run_id="bench-run", bottles=dict(records[start : start + every])))

    run_threads(work, shards)
    fold(storage, StateStore(storage), run_id="bench-run")


def run_threads(work: Any, count: int) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class NoVersions:
    """The state store as it was: a backup copy on every write, whatever the backend."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return False if name == "keeps_versions" else getattr(self.inner, name)


def measure(make_storage: Any, args: argparse.Namespace, *, serialize_writes: bool = False) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, method in (("before", before), ("after", after)):
        raw = make_storage(name)
        seed(raw, args.entries)
        storage = Counting(NoVersions(raw) if name == "before" else raw, serialize_writes=serialize_writes)
        started = time.perf_counter()
        method(storage, args.shards, args.bottles // args.shards, args.checkpoint_every, args.entries)
        seconds = time.perf_counter() - started
        state = json.loads(b"".join(raw.iter_bytes("bottles_hash.json")))
        assert len(state["bottles"]) == args.entries + args.bottles, (name, len(state["bottles"]))
        figures[name] = {**storage.counts, "seconds": round(seconds, 2)}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--bottles", type=int, default=2_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--backend", choices=["local", "s3", "both"], default="both")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "entries": args.entries,
        "bottles": args.bottles,
        "shards": args.shards,
        "checkpoint_every": args.checkpoint_every,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.backend in ("local", "both"):
        from homebrew_sync.storage.local import LocalStorage

        with tempfile.TemporaryDirectory() as tmp:
            results["local"] = measure(lambda name: LocalStorage(Path(tmp) / name), args)
    if args.backend in ("s3", "both"):
        import logging
        import os

        import boto3
        from homebrew_sync.storage.s3 import S3Storage
        from moto.server import ThreadedMotoServer

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
        client.create_bucket(Bucket="bench-state")
        client.put_bucket_versioning(Bucket="bench-state", VersioningConfiguration={"Status": "Enabled"})
        try:
            results["s3"] = measure(lambda name: S3Storage(client, "bench-state", name), args, serialize_writes=True)
        finally:
            server.stop()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
