"""Bottle bytes, generated on demand from (size, seed) and never stored.

A catalogue of 8,300 formulae describes tens of GB of bottles; keeping only a size and a seed per
blob lets the fake serve them all byte-identically on every run, at any offset, without a disk.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

BLOCK = 1 << 20
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class BlobSpec:
    """Everything needed to regenerate a blob's bytes."""

    size: int
    seed: int


_BASE = hashlib.shake_256(b"fake-upstream bottle bytes v1").digest(BLOCK)
_BASE2 = _BASE + _BASE
_SHA_CACHE: dict[tuple[int, int], str] = {}
_SHA_CACHE_MIN = 8 * BLOCK
_SHA_LOCK = threading.Lock()


def _block(seed: int, index: int, length: int) -> bytes:
    """Block `index` of a blob: 16-byte header (index, seed) over a rotated pseudo-random MiB."""
    head = struct.pack(">QQ", index, seed & _MASK64)
    if length <= len(head):
        return head[:length]
    rot = (((seed + index) * 0x9E3779B97F4A7C15) & _MASK64) >> 44  # 20 bits: < BLOCK
    return head + _BASE2[rot + 16 : rot + length]


def iter_blob_bytes(spec: BlobSpec, chunk: int = BLOCK, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """Yield bytes [start, stop) of a blob in pieces of at most `chunk` bytes (and at most 1 MiB)."""
    if chunk <= 0:
        raise ValueError("chunk must be positive")
    size = spec.size
    stop = size if stop is None else min(stop, size)
    pos = max(0, start)
    while pos < stop:
        index, offset = divmod(pos, BLOCK)
        base = index * BLOCK
        block = _block(spec.seed, index, min(BLOCK, size - base))
        end = min(len(block), stop - base)
        if offset == 0 and end == len(block) and chunk >= end:
            yield block
        else:
            view = memoryview(block)
            for i in range(offset, end, chunk):
                yield bytes(view[i : min(i + chunk, end)])
        pos = base + end


def blob_sha256(spec: BlobSpec) -> str:
    """sha256 of a blob's bytes; big blobs are hashed once per process."""
    key = (spec.size, spec.seed)
    if spec.size >= _SHA_CACHE_MIN:
        with _SHA_LOCK:
            cached = _SHA_CACHE.get(key)
        if cached:
            return cached
    digest = hashlib.sha256()
    for piece in iter_blob_bytes(spec):
        digest.update(piece)
    hexdigest = digest.hexdigest()
    if spec.size >= _SHA_CACHE_MIN:
        with _SHA_LOCK:
            _SHA_CACHE[key] = hexdigest
    return hexdigest
