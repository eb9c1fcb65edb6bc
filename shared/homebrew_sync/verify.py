"""Checking the mirror against its state, repairing the state, or rebuilding it from storage."""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from homebrew_sync.errors import IntegrityError, PreconditionFailed, StateError, StorageError
from homebrew_sync.keys import is_date_dir
from homebrew_sync.models import BottleRecord, ManifestRecord, StateFile
from homebrew_sync.names import parse_bottle_filename
from homebrew_sync.state import StateStore
from homebrew_sync.storage import ObjectInfo, Storage, check_stored

log = logging.getLogger(__name__)


class Problem(BaseModel):
    file: str
    key: str
    problem: str


class VerifyReport(BaseModel):
    checked: int = 0
    ok: int = 0
    problems: list[Problem] = Field(default_factory=list)
    repaired: int = 0
    rebuilt: bool = False
    recorded: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.problems and not self.repaired else 0


def object_sha256(storage: Storage, info: ObjectInfo) -> str:
    """The sha256 from metadata when the backend keeps it, else by reading the bytes."""
    if info.sha256:
        return info.sha256
    hasher = hashlib.sha256()
    for chunk in storage.iter_bytes(info.key):
        hasher.update(chunk)
    return hasher.hexdigest()


def check_record(storage: Storage, name: str, record: BottleRecord | ManifestRecord) -> str | None:
    """None if the object exists with the recorded size and sha256, else what is wrong."""
    key = record.key if isinstance(record, BottleRecord) else name
    try:
        check_stored(storage, key, sha256=str(record.sha256), size=record.size or None)
    except IntegrityError as exc:
        return exc.message
    except StorageError as exc:
        return exc.message if exc.message == "missing" else f"unreadable: {exc.message}"
    return None


def verify(storage: Storage, *, repair: bool = False, concurrency: int = 8) -> VerifyReport:
    """Every state entry (bottles and stored image indexes) must exist with its sha256; `repair` drops bad
    entries so the next sync fetches them again."""
    store = StateStore(storage)
    state = store.load()
    items: list[tuple[str, BottleRecord | ManifestRecord]] = sorted(state.bottles.items())
    items += sorted((key, m) for key, m in state.manifests.items() if m.sha256 is not None)
    report = VerifyReport(checked=len(items))
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda item: check_record(storage, item[0], item[1]), items))
    for (name, record), problem in zip(items, results, strict=True):
        if problem is None:
            report.ok += 1
        else:
            key = record.key if isinstance(record, BottleRecord) else name
            report.problems.append(Problem(file=name, key=key, problem=problem))
    if repair and report.problems:
        bad = {p.file: p.key for p in report.problems}

        def drop(current: StateFile) -> None:
            for file, key in bad.items():
                record = current.bottles.get(file)
                if record is not None and record.key == key:
                    del current.bottles[file]
                elif file == key:  # an image index: its key is its name
                    current.manifests.pop(key, None)

        store.commit(drop)
        report.repaired = len(bad)
    return report


def rebuild_state(storage: Storage, *, concurrency: int = 8) -> VerifyReport:
    """Recreate the state from the bottle objects in storage (sha256 from metadata or the bytes)."""
    found: dict[str, ObjectInfo] = {}
    for info in storage.list():
        parts = info.key.split("/")
        if len(parts) > 2 or (len(parts) == 2 and not is_date_dir(parts[0])):
            continue
        file = parts[-1]
        if parse_bottle_filename(file) is None:
            continue
        previous = found.get(file)
        if previous is None or info.key > previous.key:  # newest date folder wins
            found[file] = info
    infos = [storage.stat(info.key) or info for info in found.values()]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        digests = list(pool.map(lambda info: object_sha256(storage, info), infos))
    state = StateFile()
    today = datetime.now(UTC).date().isoformat()
    for info, digest in zip(infos, digests, strict=True):
        file = info.key.rsplit("/", 1)[-1]
        formula, tag = parse_bottle_filename(file) or ("", "")
        day = info.key.split("/")[0] if "/" in info.key else today
        state.bottles[file] = BottleRecord(
            sha256=digest, size=info.size, key=info.key, formula=formula, tag=tag, downloaded_at=day
        )
    try:
        StateStore(storage).replace(state)
    except PreconditionFailed:
        raise StateError(
            "bottles_hash.json changed while the state was being rebuilt (a sync recorded bottles); "
            "nothing was overwritten: run verify --rebuild-state again"
        ) from None
    log.info("state rebuilt", extra={"bottles": len(state.bottles)})
    return VerifyReport(checked=len(infos), ok=len(infos), rebuilt=True, recorded=len(state.bottles))
