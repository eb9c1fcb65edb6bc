"""File names, object keys and URLs, built by one function each from validated fields only.

Everything from upstream (formula name, version, tag, sha256) passes through `validate_*` before it
reaches a key or a URL; anything that could escape the layout raises UnsafeInputError.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urljoin, urlsplit

from shared.errors import UnsafeInputError

# Formula names are lowercase and may contain "@ + . - _" (python@3.12, libsigc++, dvd+rw-tools).
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9@+._-]{0,127}$")
# Versions: digits, letters and ". _ - +" (3.12.7, 2024a, 1.1.1w, 9.5p1).
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256_RE = re.compile(SHA256_PATTERN)
# A path segment of safe characters where a dot is always followed by another safe character: no "..",
# no "." or ".." segments, nothing hidden behind a trailing dot. Used where pydantic checks keys in bulk.
_SEGMENT = r"(?:[A-Za-z0-9@+_-]|\.[A-Za-z0-9@+_-])+"
STATE_KEY_PATTERN = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
FILENAME_PATTERN = r"^[a-z0-9](?:[A-Za-z0-9@+_-]|\.[A-Za-z0-9@+_-])*\.tar\.gz$"
_DATE_DIR_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

STATE_KEY = "bottles_hash.json"
STATE_BACKUP_KEY = "bottles_hash.previous.json"
LOCK_KEY = "locks/sync.lock"
RUNS_PREFIX = "runs/"

LAYOUTS = ("dated", "flat")


def _check(value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value:
        raise UnsafeInputError(f"unsafe {what}: {value!r}")
    return value


def validate_name(name: object) -> str:
    return _check(name, _NAME_RE, "formula name")


def validate_version(version: object) -> str:
    return _check(version, _VERSION_RE, "version")


def validate_tag(tag: object) -> str:
    return _check(tag, _TAG_RE, "tag")


def validate_sha256(sha256: object) -> str:
    return _check(sha256, _SHA256_RE, "sha256")


def validate_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10_000:
        raise UnsafeInputError(f"unsafe {what}: {value!r}")
    return value


def pkg_version(version: str, revision: int) -> str:
    """`versions.stable` plus `_<revision>` when revision > 0 (homebrew.md section 1)."""
    version = validate_version(version)
    revision = validate_count(revision, "revision")
    return f"{version}_{revision}" if revision else version


def bottle_filename(name: str, pkg_ver: str, tag: str, rebuild: int) -> str:
    """brew's canonical bottle file name, single dash (homebrew.md section 4)."""
    name, tag = validate_name(name), validate_tag(tag)
    pkg_ver = _check(pkg_ver, _VERSION_RE, "version")
    rebuild = validate_count(rebuild, "rebuild")
    suffix = f".{rebuild}" if rebuild else ""
    return f"{name}-{pkg_ver}.{tag}.bottle{suffix}.tar.gz"


def bottle_version(file: str, formula: str, tag: str) -> tuple[str, int]:
    """(pkg_version, rebuild) of a bottle file name whose formula and tag are known (ValueError if it is not
    that formula's bottle for that tag). Knowing both keeps names and versions with `-` unambiguous."""
    prefix, infix = f"{formula}-", f".{tag}.bottle"
    if not file.startswith(prefix) or infix not in file or not file.endswith(".tar.gz"):
        raise ValueError(f"{file!r} is not a {tag} bottle of {formula!r}")
    version, _, rest = file[len(prefix) :].rpartition(infix)
    rebuild = rest.removesuffix(".tar.gz").removeprefix(".")
    if not version or not (rebuild == "" or rebuild.isdigit()):
        raise ValueError(f"{file!r} is not a {tag} bottle of {formula!r}")
    return version, int(rebuild or 0)


def image_name(name: str) -> str:
    """ghcr.io image of a formula: `@` -> `/`, `+` -> `x` (homebrew.md section 3)."""
    return validate_name(name).replace("@", "/").replace("+", "x")


def image_tag(pkg_ver: str, rebuild: int) -> str:
    """Tag of the per-version image index: pkg_version plus `-<rebuild>` when rebuild > 0."""
    rebuild = validate_count(rebuild, "rebuild")
    return f"{pkg_ver}-{rebuild}" if rebuild else pkg_ver


# Top-level names the mirror uses for itself; a manifest key may not start with them.
RESERVED_TOP_LEVEL = frozenset({"api", "locks", "runs"})


def manifest_key(image: str, image_tag: str) -> str:
    """Where a version's image index lives in the mirror: `<image>/manifests/<tag>`, the path brew 6.0.13+
    asks the bottle domain for (homebrew.md section 4)."""
    _check(image_tag, _VERSION_RE, "image tag")
    if image.split("/", 1)[0] in RESERVED_TOP_LEVEL:
        raise UnsafeInputError(f"image name {image!r} collides with the mirror's own folders")
    return validate_key(f"{image}/manifests/{image_tag}")


def validate_filename(filename: object) -> str:
    """A bottle file name as stored in the state: one path segment of safe characters."""
    if (
        not isinstance(filename, str)
        or not re.fullmatch(r"[a-z0-9][A-Za-z0-9@+._-]{0,250}\.tar\.gz", filename)
        or ".." in filename
    ):
        raise UnsafeInputError(f"unsafe file name: {filename!r}")
    return filename


def object_key(layout: str, day: date, filename: str) -> str:
    """Key of a bottle inside the mirror: `YYYY-MM-DD/<file>` (dated) or `<file>` (flat)."""
    filename = validate_filename(filename)
    if layout == "flat":
        return filename
    if layout == "dated":
        return f"{day.isoformat()}/{filename}"
    raise UnsafeInputError(f"unknown layout: {layout!r}")


def validate_key(key: object) -> str:
    """A key the engine may read or write: relative, no `..`, no empty or hidden segments."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        raise UnsafeInputError(f"unsafe key: {key!r}")
    for part in key.split("/"):
        if not part or part in (".", "..") or not re.fullmatch(r"[A-Za-z0-9@+._-]+", part):
            raise UnsafeInputError(f"unsafe key: {key!r}")
    return key


def is_date_dir(segment: str) -> bool:
    return bool(_DATE_DIR_RE.fullmatch(segment))


def run_key(run_id: str, name: str) -> str:
    """Key of a run artefact (`runs/<run_id>/<name>`)."""
    return validate_key(f"{RUNS_PREFIX}{run_id}/{name}")


# --- URLs -------------------------------------------------------------------------------------------

DEFAULT_REDIRECT_HOSTS = ("pkg-containers.githubusercontent.com",)


@dataclass(frozen=True)
class AllowList:
    """Hosts the engine may contact; https only, except loopback hosts that were given explicitly.

    An entry is `host` (any port) or `host:port` (that port only).
    """

    https_hosts: frozenset[str]
    explicit_hosts: frozenset[str]

    @classmethod
    def build(cls, base_urls: list[str], extra_hosts: list[str]) -> AllowList:
        https = {urlsplit(u).netloc.lower() for u in base_urls if urlsplit(u).scheme == "https"}
        https.update(h.lower() for h in DEFAULT_REDIRECT_HOSTS)
        return cls(frozenset(https), frozenset(h.lower() for h in extra_hosts))

    def check(self, url: str) -> str:
        """Return the URL if it may be fetched, else raise UnsafeInputError (before any socket opens)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        netloc = parts.netloc.lower()
        if parts.username or parts.password or not host:
            raise UnsafeInputError(f"refused URL (no host or credentials in it): {url!r}")
        listed = any(entry in (host, netloc) for entry in self.https_hosts | self.explicit_hosts)
        if not listed:
            raise UnsafeInputError(f"refused URL (host {netloc} is not allowed): {url!r}")
        if parts.scheme == "https":
            return url
        if (
            parts.scheme == "http"
            and _is_loopback(host)
            and (host in self.explicit_hosts or netloc in self.explicit_hosts)
        ):
            return url
        raise UnsafeInputError(f"refused URL (https required; http only for loopback --allow-host): {url!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def blob_url(registry_url: str, image: str, sha256: str) -> str:
    """Blob URL built from the registry root, never taken from the JSON (homebrew.md section 3)."""
    return f"{registry_url.rstrip('/')}/{quote(image, safe='/')}/blobs/sha256:{validate_sha256(sha256)}"


def manifest_url(registry_url: str, image: str, reference: str) -> str:
    """Image index (by image tag) or per-platform manifest (by `sha256:<hex>`) URL."""
    if reference.startswith("sha256:"):
        validate_sha256(reference.removeprefix("sha256:"))
    else:
        _check(reference, _VERSION_RE, "image tag")
    return f"{registry_url.rstrip('/')}/{quote(image, safe='/')}/manifests/{reference}"


def resolve_redirect(current_url: str, location: str) -> str:
    return urljoin(current_url, location)
