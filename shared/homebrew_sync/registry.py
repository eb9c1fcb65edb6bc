"""The registry's image indexes: read once per formula version per run, for sizes and for the mirror.

An image index (`<image>/manifests/<pkg_version>[-<rebuild>]`) lists one entry per bottle tag with the
bottle's sha256 and size (homebrew.md section 3). The size estimate reads it before downloading; the
mirror stores the same bytes for brew 6.0.13+, which asks the bottle domain for them (section 4). Both
use one cached read, and the bytes can be handed from the orchestrator to the workers.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homebrew_sync.errors import IntegrityError, UpstreamError
from homebrew_sync.http import GHCR_ANONYMOUS, HttpClient
from homebrew_sync.urls import manifest_url

if TYPE_CHECKING:
    from homebrew_sync.config import Settings
    from homebrew_sync.models import PlannedBottle, PlannedManifest

log = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIZE_ANNOTATION = "sh.brew.bottle.size"
DIGEST_ANNOTATION = "sh.brew.bottle.digest"
REF_ANNOTATION = "org.opencontainers.image.ref.name"
TAB_ANNOTATION = "sh.brew.tab"

IndexRef = tuple[str, str]  # (image, image tag)


@dataclass(frozen=True)
class SizeEstimate:
    """How far an estimate got: it may stop early once the routing decision is made or time is up."""

    complete: bool
    known_bytes: int
    reason: str = ""


class Registry:
    """Image indexes, fetched at most once per (image, tag) in this process and kept until taken."""

    def __init__(self, settings: Settings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self._indexes: dict[IndexRef, bytes | UpstreamError] = {}
        self._locks: dict[IndexRef, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    # --- the cache ---------------------------------------------------------------------------------------

    def index(self, image: str, tag: str) -> bytes:
        """The index bytes, as served; UpstreamError (with `.status`) when it cannot be read."""
        ref = (image, tag)
        with self._guard:
            lock = self._locks[ref]
        with lock:
            cached = self._indexes.get(ref)
            if cached is None:
                cached = self._fetch(image, tag)
                self._indexes[ref] = cached
        if isinstance(cached, UpstreamError):
            raise cached
        return cached

    def _fetch(self, image: str, tag: str) -> bytes | UpstreamError:
        url = manifest_url(self.settings.registry_url, image, tag)
        try:
            response = self.http.get(url, headers={**GHCR_ANONYMOUS, "Accept": OCI_INDEX}, what="image index")
        except UpstreamError as exc:
            return exc  # remembered: a version is asked about once per run, even when it failed
        return response.content

    def seed(self, indexes: Mapping[str, bytes]) -> None:
        """Take indexes read by an earlier process of this run (`"<image>:<tag>"` -> bytes as served)."""
        for ref, data in indexes.items():
            image, _, tag = ref.rpartition(":")
            self._indexes[(image, tag)] = data

    def cached(self, refs: Iterable[IndexRef]) -> dict[str, bytes]:
        """The indexes already read among `refs`, for handing to another process of this run."""
        out = {}
        for ref in refs:
            data = self._indexes.get(ref)
            if isinstance(data, bytes):
                out[f"{ref[0]}:{ref[1]}"] = data
        return out

    def forget(self, image: str, tag: str) -> None:
        """Drop an index once it was stored (a first full sync reads thousands)."""
        self._indexes.pop((image, tag), None)

    # --- sizes -------------------------------------------------------------------------------------------

    def estimate_sizes(
        self,
        bottles: list[PlannedBottle],
        *,
        enough_bytes: int | None = None,
        time_left: Callable[[], float] | None = None,
    ) -> SizeEstimate:
        """Fill `size`/`size_source` of bottles with unknown sizes (one index read per formula version).

        Stops early, leaving the rest unknown, once `enough_bytes` are known (the route is decided) or
        when `time_left()` drops to zero; the workers read the rest.
        """
        groups: dict[IndexRef, list[PlannedBottle]] = defaultdict(list)
        for bottle in bottles:
            if bottle.size is None:
                groups[(bottle.image, bottle.image_tag)].append(bottle)
        known = sum({b.sha256: b.size or 0 for b in bottles if b.copy_from is None and b.size}.values())
        if not groups:
            return SizeEstimate(True, known)
        stop = threading.Event()
        lock = threading.Lock()
        total = [known]
        seen: set[str] = set()

        def one(item: tuple[IndexRef, list[PlannedBottle]]) -> None:
            if stop.is_set():
                return
            self.fill_sizes(item[1])
            with lock:
                for bottle in item[1]:
                    if bottle.size and bottle.copy_from is None and bottle.sha256 not in seen:
                        seen.add(bottle.sha256)
                        total[0] += bottle.size
                if enough_bytes is not None and total[0] >= enough_bytes:
                    stop.set()
            if time_left is not None and time_left() <= 0:
                stop.set()

        with ThreadPoolExecutor(max_workers=self.settings.size_concurrency) as pool:
            list(pool.map(one, groups.items()))
        if not stop.is_set():
            return SizeEstimate(True, total[0])
        over = enough_bytes is not None and total[0] >= enough_bytes
        reason = "enough known to route" if over else "time budget for the size estimate spent"
        log.info("size estimate stopped early", extra={"reason": reason, "known_bytes": total[0]})
        return SizeEstimate(False, total[0], reason)

    def fill_sizes(self, bottles: list[PlannedBottle]) -> None:
        """Sizes of bottles of one formula version from its index (else the per-platform manifest)."""
        if not bottles:
            return
        image, tag = bottles[0].image, bottles[0].image_tag
        try:
            entries = index_entries(self.index(image, tag))
        except (UpstreamError, IntegrityError) as exc:
            log.info("no usable image index; sizes unknown", extra={"image": image, "tag": tag, "error": str(exc)})
            return
        for bottle in bottles:
            entry = entries.get(bottle.sha256)
            if entry is None:
                continue
            size = _as_size(entry["annotations"].get(SIZE_ANNOTATION))
            if size is not None:
                bottle.size, bottle.size_source = size, "annotation"
                continue
            size = self._layer_size(image, entry.get("digest"))
            if size is not None:
                bottle.size, bottle.size_source = size, "manifest"

    def _layer_size(self, image: str, digest: object) -> int | None:
        """`layers[0].size` of a per-platform manifest: uploads before 2023-04 have no size annotation."""
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            return None
        url = manifest_url(self.settings.registry_url, image, digest)
        try:
            manifest = self.http.get(url, headers={**GHCR_ANONYMOUS, "Accept": OCI_MANIFEST}, what="manifest").json()
            layer = manifest["layers"][0]
        except (UpstreamError, ValueError, KeyError, IndexError, TypeError):
            return None
        return _as_size(layer.get("size")) if isinstance(layer, dict) else None


def index_entries(data: bytes) -> dict[str, dict[str, Any]]:
    """The index's entries by bottle sha256 (`sh.brew.bottle.digest`); IntegrityError if it is no index."""
    try:
        document = json.loads(data)
        manifests = document["manifests"]
        if not isinstance(manifests, list):
            raise TypeError("manifests is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"not an OCI image index ({exc})") from None
    entries: dict[str, dict[str, Any]] = {}
    for entry in manifests:
        annotations = entry.get("annotations") if isinstance(entry, dict) else None
        digest = annotations.get(DIGEST_ANNOTATION) if isinstance(annotations, dict) else None
        if isinstance(digest, str):
            entries.setdefault(digest, entry)
    return entries


def ref_name(pkg_version: str, tag: str, rebuild: int) -> str:
    """`org.opencontainers.image.ref.name` of a bottle: `{pkg_version}.{tag}[.{rebuild}]`."""
    return f"{pkg_version}.{tag}" + (f".{rebuild}" if rebuild else "")


def check_index(data: bytes, manifest: PlannedManifest) -> None:
    """Raise IntegrityError unless the index lists every bottle the mirror holds for this version the way
    brew 6 checks it (`resource.rb`): an entry whose digest is the bottle's sha256, whose ref name is
    `{pkg_version}.{tag}[.{rebuild}]`, and whose `sh.brew.tab` is JSON."""
    try:
        document = json.loads(data)
        manifests = document["manifests"]
        if not isinstance(manifests, list) or not manifests:
            raise TypeError("no manifests")
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"not an OCI image index ({exc})", file=manifest.key) from None
    listed: set[tuple[str, str]] = set()
    for entry in manifests:
        annotations = entry.get("annotations") if isinstance(entry, dict) else None
        if not isinstance(annotations, dict):
            continue
        try:
            json.loads(annotations.get(TAB_ANNOTATION) or "")
        except (TypeError, ValueError):
            continue
        listed.add((str(annotations.get(REF_ANNOTATION)), str(annotations.get(DIGEST_ANNOTATION))))
    for bottle in manifest.bottles:
        ref = ref_name(manifest.pkg_version, bottle.tag, manifest.rebuild)
        if (ref, bottle.sha256) not in listed:
            raise IntegrityError(f"the image index does not list {bottle.sha256} as {ref}", file=manifest.key)


def _as_size(value: object) -> int | None:
    try:
        size = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return size if size >= 0 else None
