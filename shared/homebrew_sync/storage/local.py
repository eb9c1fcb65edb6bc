"""The mirror as a local folder: temp file + fsync + rename, so a reader never sees a partial object.

Create-if-absent links the finished temp file into place (the link fails if the name exists). A write or
delete conditional on the current content's digest (the local ETag) holds an exclusive `flock` on a sibling
`.<name>.lock` file while it compares and renames; the kernel releases it when its holder dies, so a killed
process never leaves a lock to wait out, and a slow writer is never taken for a dead one. Temp files name
the process that wrote them, so what a killed process left behind is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from homebrew_sync.errors import PreconditionFailed, StorageError
from homebrew_sync.keys import validate_key
from homebrew_sync.liveness import pid_is_gone
from homebrew_sync.storage import BOTTLE_CONTENT_TYPE, CHUNK, DigestCheck, Document, ObjectInfo
from homebrew_sync.storage.errors import os_error, os_errors

LOCK_WAIT_S = 10.0
STALE_PART_S = 3600.0  # a live transfer touches its temp file far more often (read timeouts are shorter)
_PART_RE = re.compile(r"^\..+\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.part$")


class LocalStorage:
    keeps_versions = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _where(self, key: str) -> str:
        return str(self.root / key)

    # --- small documents -------------------------------------------------------------------------------

    def read(self, key: str) -> Document | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise os_error(exc, "read", self._where(key)) from exc
        return Document(data, _etag(data))

    def write(self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False) -> str:
        path = self._path(key)
        if if_match is None:
            try:
                self._atomic_write(path, [data], exclusive=if_absent)
            except FileExistsError:
                raise PreconditionFailed(f"{key} already exists") from None
            return _etag(data)
        with self._locked(path):
            current = self.read(key)
            if current is None or current.etag != if_match:
                raise PreconditionFailed(f"{key} changed since it was read")
            self._atomic_write(path, [data])
        return _etag(data)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        path = self._path(key)
        with self._locked(path) if if_match is not None else contextlib.nullcontext():
            if if_match is not None:
                current = self.read(key)
                if current is None or current.etag != if_match:
                    raise PreconditionFailed(f"{key} changed since it was read")
            with os_errors("delete", self._where(key)), contextlib.suppress(FileNotFoundError):
                path.unlink()
                _fsync_dir(path.parent)
        self._prune_empty_dirs(path.parent)

    def _prune_empty_dirs(self, directory: Path) -> None:
        """Folders emptied by a delete go too (a run's staged files leave none behind)."""
        while directory != self.root and directory.is_relative_to(self.root):
            try:
                directory.rmdir()
            except OSError:  # not empty (or already gone): stop
                return
            directory = directory.parent

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """Hold an exclusive flock on `.<name>.lock` (kept, never deleted: deleting a lock file races)."""
        lock = path.with_name(f".{path.name}.lock")
        with os_errors("create", str(lock.parent)):
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise PreconditionFailed(f"{path.name} is being written by another process") from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # releases the lock

    # --- bottles ---------------------------------------------------------------------------------------

    def put_verified(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        sha256: str,
        size: int | None,
        content_type: str = BOTTLE_CONTENT_TYPE,  # a folder keeps none: `serve` derives it from the path
    ) -> int:
        path = self._path(key)
        check = DigestCheck(sha256, size, path.name)

        def checked() -> Iterator[bytes]:
            for chunk in chunks:
                check.update(chunk)
                yield chunk
            check.verify()

        self._atomic_write(path, checked())
        return check.size

    def copy_verified(self, source_key: str, key: str, *, sha256: str, size: int) -> None:
        self.put_verified(key, self.iter_bytes(source_key), sha256=sha256, size=size)

    def _atomic_write(self, path: Path, chunks: Iterable[bytes], *, exclusive: bool = False) -> None:
        """Write to a hidden temp file beside `path`, fsync, rename (or, `exclusive`, link: FileExistsError
        if `path` exists); nothing is left behind on failure."""
        with os_errors("create", str(path.parent), file=path.name):
            path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
        try:
            with open(tmp, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            if exclusive:
                os.link(tmp, path)
                tmp.unlink()
            else:
                os.replace(tmp, path)
            _fsync_dir(path.parent)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if isinstance(exc, FileExistsError):
                raise
            if isinstance(exc, OSError):
                raise os_error(exc, "write", path.name, file=path.name) from exc
            raise

    # --- listing ---------------------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            return ObjectInfo(key, self._path(key).stat().st_size)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise os_error(exc, "stat", self._where(key)) from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        def unreadable(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError) or Path(exc.filename or "") != self.root:
                raise os_error(exc, "list", str(exc.filename or self.root)) from exc

        for directory, dirs, files in os.walk(self.root, onerror=unreadable):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                full = Path(directory, name)
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    with os_errors("stat", str(full)):
                        size = full.stat().st_size
                    yield ObjectInfo(key, size)

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        try:
            with open(self._path(key), "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        except FileNotFoundError as exc:
            raise StorageError(f"{key} does not exist") from exc
        except OSError as exc:
            raise os_error(exc, "read", self._where(key)) from exc


def remove_dead_parts(root: str | os.PathLike[str]) -> int:
    """Delete the temp files of transfers whose process is gone (kill -9) or that stopped long ago.

    Run at the start of a local run, under the run lock; returns how many files were removed.
    """
    removed = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            match = _PART_RE.fullmatch(name)
            if match is None:
                continue
            part = Path(directory, name)
            try:
                stale = time.time() - part.stat().st_mtime > STALE_PART_S
                if stale or (match["pid"] is not None and pid_is_gone(int(match["pid"]))):
                    part.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise os_error(exc, "remove", str(part)) from exc
    return removed


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
