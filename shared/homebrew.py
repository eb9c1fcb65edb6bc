"""Reading Homebrew: the formula API (signed when served, gzip, conditional GET) and bottle sizes.

Sizes come from the per-version image index annotation `sh.brew.bottle.size`, else from the per-platform
manifest's `layers[0].size`, else they stay unknown (homebrew.md section 3).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.errors import SignatureError, UpstreamError
from shared.http import GHCR_ANONYMOUS, HttpClient
from shared.naming import manifest_url
from shared.signature import load_public_key, verify_jws

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.models import PlannedBottle

log = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIZE_ANNOTATION = "sh.brew.bottle.size"
DIGEST_ANNOTATION = "sh.brew.bottle.digest"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class ApiSnapshot:
    document: str | bytes  # the formula list (JSON), verified when signed
    source: str  # "formula.jws.json" (verified) or "formula.json" (unsigned fallback)
    signed: bool
    not_modified: bool


class HomebrewClient:
    def __init__(self, settings: Settings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self.cache_dir = settings.cache_dir or default_cache_dir(settings.work_dir)

    # --- the formula list ------------------------------------------------------------------------------

    def fetch_formulae(self) -> ApiSnapshot:
        """formula.jws.json verified against the pinned key; formula.json only if the signed file is 404."""
        key = load_public_key(self.settings.signing_key)
        try:
            document, not_modified = self._conditional_get("formula.jws.json")
        except UpstreamError as exc:
            if getattr(exc, "status", None) != 404:
                raise
            if self.settings.require_signature:
                raise SignatureError(
                    "formula.jws.json is not served and a signature is required (--require-signature)"
                ) from None
            log.warning("formula.jws.json not served; falling back to unsigned formula.json")
            document, not_modified = self._conditional_get("formula.json")
            return ApiSnapshot(document, "formula.json", False, not_modified)
        payload = verify_jws(document, key)
        return ApiSnapshot(payload, "formula.jws.json", True, not_modified)

    def _conditional_get(self, name: str) -> tuple[bytes, bool]:
        """GET `<api_url>/<name>` with gzip and If-None-Match / If-Modified-Since against a local cache."""
        url = f"{self.settings.api_url}/{name}"
        body_path, meta_path = self._cache_paths(url, name)
        headers = {"Accept-Encoding": "gzip"}
        meta = _read_json(meta_path)
        if meta and body_path.exists():
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        response = self.http.get(url, headers=headers, ok=frozenset({200, 304}), what=name)
        if response.status_code == 304:
            log.info("api not modified", extra={"file": name})
            return body_path.read_bytes(), True
        body = response.content
        new_meta = {"etag": response.headers.get("ETag"), "last_modified": response.headers.get("Last-Modified")}
        self._store_cache(body_path, body, meta_path, new_meta)
        return body, False

    def _cache_paths(self, url: str, name: str) -> tuple[Path, Path]:
        slot = hashlib.sha256(url.encode()).hexdigest()[:16]
        return self.cache_dir / f"{slot}-{name}", self.cache_dir / f"{slot}-{name}.meta.json"

    @staticmethod
    def _store_cache(body_path: Path, body: bytes, meta_path: Path, meta: dict[str, Any]) -> None:
        try:
            body_path.parent.mkdir(parents=True, exist_ok=True)
            for path, data in ((body_path, body), (meta_path, json.dumps(meta).encode())):
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, path)
        except OSError as exc:  # a cache that cannot be written only costs a full download next time
            log.warning("api cache not written", extra={"error": str(exc)})

    # --- sizes -----------------------------------------------------------------------------------------

    def estimate_sizes(self, bottles: list[PlannedBottle]) -> None:
        """Fill `size`/`size_source` of each bottle; one index request per formula version."""
        groups: dict[tuple[str, str], list[PlannedBottle]] = defaultdict(list)
        for bottle in bottles:
            if bottle.size is None:
                groups[(bottle.image, bottle.image_tag)].append(bottle)
        if not groups:
            return
        with ThreadPoolExecutor(max_workers=self.settings.size_concurrency) as pool:
            list(pool.map(lambda item: self._size_group(*item), groups.items()))

    def _size_group(self, ref: tuple[str, str], bottles: list[PlannedBottle]) -> None:
        image, tag = ref
        try:
            index = self._get_json(manifest_url(self.settings.registry_url, image, tag), OCI_INDEX)
        except UpstreamError as exc:
            log.info("no image index; sizes unknown", extra={"image": image, "tag": tag, "error": str(exc)})
            return
        entries = {}
        for entry in index.get("manifests", []) if isinstance(index, dict) else []:
            annotations = entry.get("annotations") or {}
            digest = annotations.get(DIGEST_ANNOTATION)
            if isinstance(digest, str):
                entries[digest] = entry
        for bottle in bottles:
            entry = entries.get(bottle.sha256)
            if entry is None:
                continue
            size = _as_size(entry["annotations"].get(SIZE_ANNOTATION))
            if size is not None:
                bottle.size, bottle.size_source = size, "annotation"
                continue
            digest = entry.get("digest")
            if not isinstance(digest, str) or not digest.startswith("sha256:"):
                continue
            try:
                manifest = self._get_json(manifest_url(self.settings.registry_url, image, digest), OCI_MANIFEST)
                layer = manifest["layers"][0]
            except (UpstreamError, KeyError, IndexError, TypeError):
                continue
            size = _as_size(layer.get("size")) if isinstance(layer, dict) else None
            if size is not None:
                bottle.size, bottle.size_source = size, "manifest"

    def _get_json(self, url: str, accept: str) -> Any:
        headers = {**GHCR_ANONYMOUS, "Accept": accept}
        response = self.http.get(url, headers=headers, what="manifest")
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamError(f"manifest: invalid JSON from {url}") from exc


def default_cache_dir(work_dir: Path | None) -> Path:
    """The work dir (ECS: the EFS mount) when set; /tmp in Lambda (kept while the sandbox is warm);
    else the user's cache folder."""
    if work_dir is not None:
        return work_dir / "cache"
    if os.environ.get("LAMBDA_TASK_ROOT"):
        return Path("/tmp/homebrew-sync-cache")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "homebrew-sync"


def _as_size(value: object) -> int | None:
    try:
        size = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return size if size >= 0 else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
