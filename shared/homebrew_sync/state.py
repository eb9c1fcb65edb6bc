"""`bottles_hash.json`: the record of finished work, validated on every load, updated by compare-and-swap.

Corrupt or unknown content fails closed (StateError; the file is left untouched and never treated as
empty). In a folder, every write first copies the current good version to `bottles_hash.previous.json`;
a bucket keeps previous versions itself (versioning), so no copy is written there.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from homebrew_sync.errors import PreconditionFailed, StateError, StorageError, UnsafeInputError
from homebrew_sync.keys import STATE_BACKUP_KEY, STATE_KEY, is_date_dir
from homebrew_sync.models import STATE_SCHEMA_VERSION, BottleRecord, StateFile
from homebrew_sync.names import parse_bottle_filename, validate_filename, validate_sha256
from homebrew_sync.storage import Document, Storage
from homebrew_sync.storage.documents import read_document, write_document

log = logging.getLogger(__name__)

CAS_ATTEMPTS = 12
STATE_CORRUPT_KEY = "bottles_hash.corrupt.json"


def parse_state(data: bytes, source: str = STATE_KEY) -> StateFile:
    """Validate a state document, migrating the older formats this project knows; else StateError."""
    try:
        return StateFile.model_validate_json(data)  # the usual case, in one pass
    except (ValidationError, UnsafeInputError):
        pass  # find out why (or migrate) below
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateError(f"{source} is not valid JSON ({exc}); it was left untouched") from None
    if not isinstance(document, dict):
        raise StateError(f"{source} is not a JSON object; it was left untouched")
    version = document.get("schema_version")
    try:
        if version == STATE_SCHEMA_VERSION:
            return StateFile.model_validate(document)
        if version == 2:  # the same without `manifests`: they are stored again by the next sync
            return StateFile.model_validate({**document, "schema_version": STATE_SCHEMA_VERSION})
        if version is None and isinstance(document.get("bottles"), dict):
            return migrate_v1(document)
    except (ValidationError, UnsafeInputError) as exc:
        raise StateError(f"{source} failed validation ({_first_error(exc)}); it was left untouched") from None
    raise StateError(
        f"{source} has unknown schema_version {version!r} (this version reads {STATE_SCHEMA_VERSION}); "
        "it was left untouched"
    )


def migrate_v1(document: dict[str, Any]) -> StateFile:
    """The first format (`{"bottles": {file: {"sha256", "download_date", "file_size"}}}`) to schema 2."""
    state = StateFile()
    for file, entry in document["bottles"].items():
        validate_filename(file)
        if isinstance(entry, str):
            entry = {"sha256": entry}
        if not isinstance(entry, dict):
            raise UnsafeInputError(f"entry for {file} is not an object")
        day = str(entry.get("download_date") or entry.get("downloaded_at") or "")
        formula, tag = parse_bottle_filename(file) or ("", "")
        state.bottles[file] = BottleRecord(
            sha256=validate_sha256(str(entry.get("sha256", "")).lower()),
            size=int(entry.get("file_size") or entry.get("size") or 0),
            key=f"{day}/{file}" if is_date_dir(day) else file,
            formula=formula,
            tag=tag,
            downloaded_at=day,
        )
    return state


def dump_state(state: StateFile) -> bytes:
    return state.model_dump_json(indent=1).encode("utf-8")


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)


class StateStore:
    """Loads and updates the state in a storage; safe against concurrent writers."""

    def __init__(self, storage: Storage, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.storage = storage
        self.sleep = sleep

    def load(self) -> StateFile:
        document = read_document(self.storage, STATE_KEY)
        return StateFile() if document is None else parse_state(document.data)

    def commit(self, update: Callable[[StateFile], None]) -> StateFile:
        """Read, apply `update`, write with If-Match; on a lost race re-read and re-apply (bounded)."""
        for attempt in range(CAS_ATTEMPTS):
            document = read_document(self.storage, STATE_KEY)
            state = StateFile() if document is None else parse_state(document.data)
            update(state)
            state.updated_at = datetime.now(UTC)
            try:
                self._write(state, document)
                return state
            except PreconditionFailed:
                log.info("state changed under us; merging again", extra={"attempt": attempt + 1})
                self.sleep(random.uniform(0.01, 0.05 * (attempt + 1)))
        raise StorageError(f"could not update {STATE_KEY} after {CAS_ATTEMPTS} attempts (too much contention)")

    def replace(self, state: StateFile) -> None:
        """Replace the state (used by `verify --rebuild-state`), keeping what was there before.

        The write is compare-and-swap against the version read here: if a run changed the state meanwhile,
        PreconditionFailed says so and nothing is overwritten.
        """
        state.updated_at = datetime.now(UTC)
        current = read_document(self.storage, STATE_KEY)
        if current is not None:
            try:
                parse_state(current.data)
            except StateError:
                write_document(self.storage, STATE_CORRUPT_KEY, current.data)  # kept for inspection, never parsed
                write_document(self.storage, STATE_KEY, dump_state(state), if_match=current.etag)
                return
        self._write(state, current)

    def _write(self, state: StateFile, current: Document | None) -> None:
        """Write the state with compare-and-swap; `current` (already validated) becomes the backup first."""
        data = dump_state(state)
        if current is None:
            write_document(self.storage, STATE_KEY, data, if_absent=True)
            return
        if not getattr(self.storage, "keeps_versions", False):  # a versioned bucket keeps it itself
            write_document(self.storage, STATE_BACKUP_KEY, current.data)
        write_document(self.storage, STATE_KEY, data, if_match=current.etag)
