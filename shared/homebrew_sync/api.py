"""Reading Homebrew's API files: conditional GET against a local cache, a bounded body, verified signatures.

The mirror reads `formula.jws.json` to plan, and mirrors it together with the other files brew reads
(homebrew.md section 4): brew 4.6-5.x read the four `*.jws.json` at the top, brew 6.x only
`internal/packages.<host tag>.jws.json`. Every signed file is verified against the pinned key before it is
used or published; a body is cached (for the next conditional GET) only after it verified.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from homebrew_sync.errors import SignatureError, UpstreamError
from homebrew_sync.http import HttpClient
from homebrew_sync.selection import is_known_platform
from homebrew_sync.signature import load_public_key, verify_jws

if TYPE_CHECKING:
    from homebrew_sync.config import Settings

log = logging.getLogger(__name__)

FORMULA_JWS = "formula.jws.json"
FORMULA_UNSIGNED = "formula.json"
# brew 4.6-5.x (formula.jws.json first: it is the one the plan is made from).
CLASSIC_FILES = (FORMULA_JWS, "cask.jws.json", "formula_tap_migrations.jws.json", "cask_tap_migrations.jws.json")
API_PREFIX = "api/"

T = TypeVar("T")


def packages_file(tag: str) -> str:
    """brew 6.x's one API file per host bottle tag (`api/internal.rb` `packages_endpoint`)."""
    if not is_known_platform(tag):
        raise UpstreamError(f"no packages file for unknown tag {tag!r}")
    return f"internal/packages.{tag}.jws.json"


def mirrored_files(platforms: Iterable[str]) -> list[str]:
    """Every API file a mirror for these (resolved) platform tags serves, formula.jws.json first."""
    return [*CLASSIC_FILES, *(packages_file(tag) for tag in platforms)]


@dataclass(frozen=True)
class ApiFile:
    """One API file as served (the bytes a mirror publishes) and what was verified in it."""

    name: str  # e.g. "formula.jws.json", "internal/packages.arm64_sonoma.jws.json"
    body: bytes  # exactly as served (content decoding undone), for byte-for-byte publishing
    signed: bool
    not_modified: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class ApiClient:
    def __init__(self, settings: Settings, http: HttpClient) -> None:
        self.settings = settings
        self.http = http
        self.cache_dir = settings.cache_dir or default_cache_dir(settings.work_dir)
        self.max_bytes = settings.max_api_mb << 20
        self._key: rsa.RSAPublicKey | None = None

    @property
    def key(self) -> rsa.RSAPublicKey:
        if self._key is None:
            self._key = load_public_key(self.settings.signing_key)
        return self._key

    def fetch_signed(self, name: str) -> ApiFile:
        """GET and verify one `*.jws.json`; SignatureError if no signature verifies with the pinned key."""
        return self._fetch_verified(name)[0]

    def _fetch_verified(self, name: str) -> tuple[ApiFile, str]:
        """The file and the verified JSON text inside it (not kept with the file: ~30 MB for formulae)."""
        payloads: list[str] = []

        def verify(body: bytes) -> None:
            payloads.append(verify_jws(body, self.key, what=name))

        body, not_modified = self._conditional_get(name, verify)
        return ApiFile(name, body, True, not_modified), payloads[0]

    def fetch_formulae(self, parse: Callable[[bytes | str], T]) -> tuple[ApiFile, T]:
        """formula.jws.json verified and parsed; unsigned formula.json only when signatures are not required."""
        parsed: list[T] = []
        try:
            file, payload = self._fetch_verified(FORMULA_JWS)
        except UpstreamError as exc:
            if exc.status != 404 or isinstance(exc, SignatureError):
                raise
            if self.settings.require_signature:
                raise SignatureError(
                    f"{FORMULA_JWS} is not served and unsigned data is refused (--allow-unsigned accepts it)"
                ) from None
            log.warning("formula.jws.json not served; using UNSIGNED formula.json (--allow-unsigned)")
            body, not_modified = self._conditional_get(FORMULA_UNSIGNED, lambda data: parsed.append(parse(data)))
            return ApiFile(FORMULA_UNSIGNED, body, False, not_modified), parsed[0]
        return file, parse(payload)

    # --- HTTP and the cache -------------------------------------------------------------------------

    def _conditional_get(self, name: str, validate: Callable[[bytes], None]) -> tuple[bytes, bool]:
        """GET `<api_url>/<name>` (gzip, If-None-Match / If-Modified-Since from the cache); the body is
        bounded, validated, and only then cached. A 304 re-validates the cached copy."""
        url = f"{self.settings.api_url}/{name}"
        body_path, meta_path = self._cache_paths(url, name)
        headers = {"Accept-Encoding": "gzip"}
        meta = _read_json(meta_path)
        if meta and body_path.exists():
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        response = self.http.get(url, headers=headers, stream=True, ok=frozenset({200, 304}), what=name)
        if response.status_code == 304:
            response.close()
            log.info("api not modified", extra={"file": name})
            cached = body_path.read_bytes()
            validate(cached)
            return cached, True
        body = self._bounded_body(response, name)
        validate(body)
        new_meta = {"etag": response.headers.get("ETag"), "last_modified": response.headers.get("Last-Modified")}
        self._store_cache(body_path, body, meta_path, new_meta)
        return body, False

    def _bounded_body(self, response: requests.Response, name: str) -> bytes:
        """The decoded body, refusing more than `max_api_mb` (a small gzip can expand to gigabytes)."""
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_content(1 << 20):
                total += len(chunk)
                if total > self.max_bytes:
                    raise UpstreamError(
                        f"{name}: body larger than {self.settings.max_api_mb} MiB once decoded; refused "
                        "(raise HOMEBREW_SYNC_MAX_API_MB if Homebrew's API really grew)"
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise UpstreamError(f"{name}: {type(exc).__name__} while reading the body") from None
        finally:
            response.close()
        return b"".join(chunks)

    def _cache_paths(self, url: str, name: str) -> tuple[Path, Path]:
        slot = hashlib.sha256(url.encode()).hexdigest()[:16]
        flat = name.replace("/", "_")
        return self.cache_dir / f"{slot}-{flat}", self.cache_dir / f"{slot}-{flat}.meta.json"

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


def default_cache_dir(work_dir: Path | None) -> Path:
    """The work dir when set; /tmp in Lambda (kept while the sandbox is warm); else the user's cache folder."""
    if work_dir is not None:
        return work_dir / "cache"
    if os.environ.get("LAMBDA_TASK_ROOT"):
        return Path("/tmp/homebrew-sync-cache")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "homebrew-sync"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
