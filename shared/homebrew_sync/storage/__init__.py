"""Where the mirror lives, behind one small interface: a local folder or an S3 bucket (with prefix).

Bottle objects become visible only after their bytes matched the expected sha256 and size
(`put_verified`); small JSON documents (state, lock, plans) use conditional writes for compare-and-swap.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from homebrew_sync.errors import ConfigError, IntegrityError, StorageError, UnsafeInputError
from homebrew_sync.keys import validate_key

if TYPE_CHECKING:
    from homebrew_sync.config import Settings

CHUNK = 1 << 20
BOTTLE_CONTENT_TYPE = "application/gzip"
# S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, starting and ending alphanumeric.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Document:
    """A small object read whole, with the token a conditional write must present (ETag)."""

    data: bytes
    etag: str


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None = None  # from object metadata when the backend keeps it


class Storage(Protocol):
    url: str
    keeps_versions: bool  # the backend keeps overwritten versions itself (S3 versioning): no backup copies

    def read(self, key: str) -> Document | None:
        """The object and its ETag, or None if it does not exist."""

    def write(self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False) -> str:
        """Write a small object atomically; raise PreconditionFailed if the condition does not hold."""

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete an object (only if its ETag matches, when given)."""

    def put_verified(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        sha256: str,
        size: int | None,
        content_type: str = BOTTLE_CONTENT_TYPE,
    ) -> int:
        """Store a stream; visible only if its bytes hash to `sha256` (and add up to `size`). Where the
        backend keeps a content type (S3, and so a CDN in front of it), it is the one given."""

    def copy_verified(self, source_key: str, key: str, *, sha256: str, size: int) -> None:
        """Store a copy of an existing, verified object under another key."""

    def stat(self, key: str) -> ObjectInfo | None:
        """Size (and sha256 metadata, where kept) of one object."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under `prefix` (temporary files excluded)."""

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The object's bytes, streamed."""


class DigestCheck:
    """Counts and hashes a stream as it passes, and says whether it matched what was expected."""

    def __init__(self, sha256: str, size: int | None, what: str) -> None:
        self.expected_sha256 = sha256
        self.expected_size = size
        self.what = what
        self.hasher = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.expected_size is not None and self.size > self.expected_size:
            raise IntegrityError(f"more bytes than the expected {self.expected_size}", file=self.what)
        self.hasher.update(chunk)

    def verify(self) -> None:
        if self.expected_size is not None and self.size != self.expected_size:
            raise IntegrityError(f"got {self.size} bytes, expected {self.expected_size}", file=self.what)
        digest = self.hasher.hexdigest()
        if digest != self.expected_sha256:
            raise IntegrityError(f"sha256 mismatch: got {digest}, expected {self.expected_sha256}", file=self.what)


def check_stored(storage: Storage, key: str, *, sha256: str, size: int | None) -> int:
    """Size of the object at `key` if it holds exactly these bytes; else IntegrityError or StorageError.

    The sha256 comes from object metadata where the backend keeps it (S3 checked the bytes on upload),
    else from reading the bytes.
    """
    info = storage.stat(key)
    if info is None:
        raise StorageError("missing", file=key)
    if size is not None and info.size != size:
        raise IntegrityError(f"size {info.size}, expected {size}", file=key)
    if info.sha256 is not None:
        if info.sha256 != sha256:
            raise IntegrityError(f"sha256 metadata {info.sha256}, expected {sha256}", file=key)
        return info.size
    check = DigestCheck(sha256, info.size, key.rsplit("/", 1)[-1])
    for chunk in storage.iter_bytes(key):
        check.update(chunk)
    check.verify()
    return info.size


def check_prefix(prefix: str) -> str:
    """A key prefix inside the bucket obeys the key rules (no `..`, no empty or hidden segments)."""
    prefix = prefix.strip("/")
    if prefix:
        try:
            validate_key(prefix)
        except UnsafeInputError:
            raise ConfigError(
                f"unsafe S3 prefix {prefix!r}: use letters, digits and '@+._-' in segments separated by '/', "
                "without '..' or empty segments"
            ) from None
        if any(part.startswith(".") for part in prefix.split("/")):
            raise ConfigError(f"unsafe S3 prefix {prefix!r}: no segment may start with '.'")
    return prefix


def parse_s3_destination(destination: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket[/prefix]`, both checked; ConfigError says what is wrong."""
    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"no bucket in {destination!r}")
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(
            f"invalid S3 bucket name {bucket!r}: 3-63 lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    return bucket, check_prefix(prefix)


def open_storage(settings: Settings) -> Storage:
    """The storage named by the settings' destination (`s3://bucket/prefix` or a folder)."""
    destination = settings.destination
    if destination.startswith("s3://"):
        from homebrew_sync.storage.s3 import S3Storage

        bucket, prefix = parse_s3_destination(destination)
        return S3Storage.from_settings(settings, bucket, prefix)
    if "://" in destination:
        raise ConfigError(f"unsupported destination {destination!r}: use a folder or s3://bucket/prefix")
    existing = next((p for p in (Path(destination), *Path(destination).absolute().parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"destination {destination!r} is not a folder ({existing} is a file)")
    from homebrew_sync.storage.local import LocalStorage

    return LocalStorage(destination)
