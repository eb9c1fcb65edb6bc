"""Retention: remove the bottles and image indexes of versions Homebrew no longer lists, keeping a margin.

A version is removed only if the current API does not select it, it is not among the newest
`keep_versions` versions of its formula in the mirror, and it was mirrored more than `older_than_days` ago.
Pruning needs a complete last sync (so "the API no longer lists it" is not a symptom of a broken run),
takes the run lock, and deletes objects only after the state stopped listing them: a crash in between
leaves unlisted objects (space), never a listed object that is gone. On S3, bucket versioning with its
noncurrent-version expiry is the undo window.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field

from homebrew_sync.errors import ConfigError, StorageError
from homebrew_sync.keys import manifest_key
from homebrew_sync.models import BottleRecord, StateFile
from homebrew_sync.names import bottle_version, image_name, image_tag
from homebrew_sync.state import StateStore
from homebrew_sync.storage import Storage

log = logging.getLogger(__name__)


class PruneReport(BaseModel):
    dry_run: bool = False
    versions: list[str] = Field(default_factory=list)  # "<formula> <pkg_version>[-<rebuild>]"
    removed: list[str] = Field(default_factory=list)  # object keys (bottles, then indexes)
    kept_versions: int = 0
    errors: list[str] = Field(default_factory=list)  # objects that could not be deleted (unlisted already)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def _version_of(file: str, record: BottleRecord) -> tuple[str, int] | None:
    try:
        return bottle_version(file, record.formula, record.tag)
    except ValueError:
        return None  # a record from an older tool without formula/tag: never pruned


def prune(
    storage: Storage,
    state_store: StateStore,
    selected: set[str],
    *,
    keep_versions: int,
    older_than_days: int,
    dry_run: bool,
    today: date | None = None,
) -> PruneReport:
    """Remove superseded versions; `selected` is every bottle file name the current API selects."""
    state = state_store.load()
    if state.last_sync is None or not state.last_sync.complete:
        raise ConfigError(
            "prune needs a complete last sync (no bottle failed or left unstarted, except quarantined ones); "
            "run a sync first"
        )
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=older_than_days)
    doomed = _doomed(state, selected, keep_versions, cutoff)
    report = PruneReport(dry_run=dry_run, versions=sorted(doomed))
    files = [file for version in doomed.values() for file in version]
    indexes = {key for key in (_manifest_of(f, state.bottles[f]) for f in files) if key in state.manifests}
    stored_indexes = sorted(key for key in indexes if state.manifests[key].sha256 is not None)
    keys = [state.bottles[f].key for f in files] + stored_indexes
    report.kept_versions = _count_versions(state) - len(doomed)
    if dry_run or not files:
        report.removed = keys
        return report

    def forget(current: StateFile) -> None:
        for file in files:
            record = current.bottles.get(file)
            if record is not None and record.key == state.bottles[file].key:
                del current.bottles[file]
                current.failures.pop(file, None)
        for key in indexes:
            current.manifests.pop(key, None)

    state_store.commit(forget)  # first the state stops listing them ...
    for key in keys:  # ... then the objects go
        try:
            storage.delete(key)
            report.removed.append(key)
        except StorageError as exc:
            report.errors.append(f"{key}: {exc.message}")
    log.info("pruned", extra={"versions": len(doomed), "objects": len(report.removed)})
    return report


def _doomed(state: StateFile, selected: set[str], keep_versions: int, cutoff: date) -> dict[str, list[str]]:
    """'<formula> <version>' -> its files, for every version that goes."""
    versions: dict[str, dict[tuple[str, int], list[str]]] = defaultdict(lambda: defaultdict(list))
    for file, record in state.bottles.items():
        version = _version_of(file, record)
        if version is not None:
            versions[record.formula][version].append(file)
    doomed: dict[str, list[str]] = {}
    for formula, by_version in versions.items():

        def newest_first(item: tuple[tuple[str, int], list[str]]) -> tuple[bool, str]:
            # The version the API selects is the newest whatever the dates say; then the latest mirrored.
            current = any(f in selected for f in item[1])
            return current, max(state.bottles[f].downloaded_at for f in item[1])

        ordered = sorted(by_version.items(), key=newest_first, reverse=True)
        for rank, ((pkg, rebuild), files) in enumerate(ordered):
            if rank < keep_versions or any(f in selected for f in files):
                continue
            if max(state.bottles[f].downloaded_at for f in files) > cutoff.isoformat():
                continue
            doomed[f"{formula} {pkg}" + (f"-{rebuild}" if rebuild else "")] = sorted(files)
    return doomed


def _count_versions(state: StateFile) -> int:
    return len({(r.formula, _version_of(f, r)) for f, r in state.bottles.items()})


def _manifest_of(file: str, record: BottleRecord) -> str:
    version = _version_of(file, record)
    return "" if version is None else manifest_key(image_name(record.formula), image_tag(*version))
