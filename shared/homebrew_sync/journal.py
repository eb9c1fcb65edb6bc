"""A run's progress as small journal documents, folded into `bottles_hash.json` once, when the run ends.

A checkpoint costs what changed (the records of the bottles and indexes stored since the last one), not the
size of the mirror: each worker writes `journal/<run_id>/<writer>-<seq>.json` with a plain create. The
worker that finishes the run (or the CLI at its end) folds every journal of the run into the state with one
compare-and-swap and deletes them. Journals left by a run that died are folded by the next run before it
plans, so nothing verified is forgotten; folding twice changes nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field, ValidationError

from homebrew_sync.errors import StorageError
from homebrew_sync.models import BottleRecord, FailureRecord, ManifestRecord, StateFile
from homebrew_sync.state import StateStore
from homebrew_sync.storage import Storage
from homebrew_sync.storage.documents import read_document, write_document

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "journal/"


class JournalEntry(BaseModel):
    """Verified work since the previous entry of the same writer, and (last entry) which bottles failed."""

    run_id: str
    bottles: dict[str, BottleRecord] = Field(default_factory=dict)
    manifests: dict[str, ManifestRecord] = Field(default_factory=dict)
    succeeded: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)  # file -> error


class Journal:
    """One writer's journal (a CLI run, or one piece of one shard)."""

    def __init__(self, storage: Storage, run_id: str, writer: str) -> None:
        self.storage = storage
        self.run_id = run_id
        self.writer = f"{writer}-{secrets.token_hex(3)}"  # two deliveries of one piece never share a key
        self.seq = 0

    def append(self, entry: JournalEntry) -> None:
        self.seq += 1
        key = f"{JOURNAL_PREFIX}{self.run_id}/{self.writer}-{self.seq:05d}.json"
        write_document(self.storage, key, entry.model_dump_json().encode(), if_absent=True)


class FoldResult(BaseModel):
    runs: list[str] = Field(default_factory=list)
    entries: int = 0
    quarantined: list[str] = Field(default_factory=list)


def _keys(storage: Storage, run_id: str | None) -> list[str]:
    prefix = JOURNAL_PREFIX + (f"{run_id}/" if run_id else "")
    return sorted(info.key for info in storage.list(prefix) if info.key.endswith(".json"))


def read_entries(storage: Storage, run_id: str | None = None) -> list[tuple[str, JournalEntry]]:
    entries = []
    for key in _keys(storage, run_id):
        document = read_document(storage, key)
        if document is None:
            continue  # folded and deleted by someone else meanwhile
        try:
            entries.append((key, JournalEntry.model_validate_json(document.data)))
        except ValidationError:
            log.error("unreadable journal entry left in place", extra={"key": key})
    return entries


def apply(state: StateFile, entries: list[JournalEntry], quarantine_after: int) -> list[str]:
    """Fold entries into a state; returns the bottles that are now quarantined."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    quarantined: set[str] = set()
    for entry in entries:
        state.bottles.update(entry.bottles)
        state.manifests.update(entry.manifests)
        for file in entry.succeeded:
            state.failures.pop(file, None)
        for file, error in entry.failed.items():
            previous = state.failures.get(file)
            if previous is not None and previous.last_run_id == entry.run_id:
                previous.last_error = error[:500]  # the same run again (a fold repeated): no new count
            else:
                state.failures[file] = FailureRecord(
                    count=(previous.count + 1) if previous else 1,
                    last_error=error[:500],
                    last_run_id=entry.run_id,
                    first_failed_at=previous.first_failed_at if previous else now,
                )
            if state.failures[file].count >= quarantine_after:
                quarantined.add(file)
    return sorted(quarantined)


def fold(
    storage: Storage,
    store: StateStore,
    *,
    run_id: str | None = None,
    quarantine_after: int = 3,
    also: Callable[[StateFile, list[str]], None] | None = None,
) -> FoldResult:
    """Fold the journals of one run (or of every run) into the state in one write, then delete them.

    `also(state, quarantined)` is applied in the same write (how the run ended, for instance).
    """
    entries = read_entries(storage, run_id)
    if not entries and also is None:
        return FoldResult()
    result = FoldResult(runs=sorted({e.run_id for _k, e in entries}), entries=len(entries))

    def update(state: StateFile) -> None:
        result.quarantined = apply(state, [e for _k, e in entries], quarantine_after)
        if also is not None:
            also(state, result.quarantined)

    store.commit(update)
    for key, _entry in entries:
        try:
            storage.delete(key)
        except StorageError as exc:  # folding it again later changes nothing
            log.warning("folded journal entry not removed", extra={"key": key, "error": str(exc)})
    if entries:
        log.info("journal folded", extra={"runs": result.runs, "entries": len(entries)})
    return result


def effective_state(storage: Storage, store: StateStore) -> StateFile:
    """The state with every unfolded journal applied, without writing anything (dry runs, checks)."""
    state = store.load()
    apply(state, [e for _k, e in read_entries(storage)], quarantine_after=1 << 30)
    return state
