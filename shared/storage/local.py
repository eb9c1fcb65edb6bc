"""The mirror as a local folder: temp file + fsync + rename, so a reader never sees a partial object.

Create-if-absent links the finished temp file into place (the link fails if the name exists). A write or
delete conditional on the current content's digest (the local ETag) holds an exclusive `flock` on a sibling
`.<name>.lock` file while it compares and renames; the kernel releases it when its holder dies, so a killed
process never leaves a lock to wait out, and a slow writer is never taken for a dead one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from shared.errors import PreconditionFailed, StorageError
from shared.naming import validate_key
from shared.storage import BOTTLE_CONTENT_TYPE, CHUNK, DigestCheck, Document, ObjectInfo

LOCK_WAIT_S = 10.0


class LocalStorage:
    keeps_versions = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    # --- small documents -------------------------------------------------------------------------------

    def read(self, key: str) -> Document | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from exc
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
            with contextlib.suppress(FileNotFoundError):
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {path.parent}: {exc.strerror}") from exc
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
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
                reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
                raise StorageError(f"cannot write {path.name}: {reason}", file=path.name) from exc
            raise

    # --- listing ---------------------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            return ObjectInfo(key, self._path(key).stat().st_size)
        except FileNotFoundError:
            return None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for directory, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                full = Path(directory, name)
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield ObjectInfo(key, full.stat().st_size)

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        try:
            with open(self._path(key), "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        except FileNotFoundError as exc:
            raise StorageError(f"{key} does not exist") from exc


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
