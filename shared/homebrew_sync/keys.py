"""Object keys of the mirror: where bottles, manifests, the state, the lock and run documents live.

Every key is built here from validated names (see names.py), relative, without `..` or hidden segments.
"""

from __future__ import annotations

import re
from datetime import date

from homebrew_sync.errors import UnsafeInputError
from homebrew_sync.names import validate_filename, validate_image_tag

# A path segment of safe characters where a dot is always followed by another safe character: no "..",
# no "." or ".." segments, nothing hidden behind a trailing dot. Used where pydantic checks keys in bulk.
_SEGMENT = r"(?:[A-Za-z0-9@+_-]|\.[A-Za-z0-9@+_-])+"
STATE_KEY_PATTERN = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
_KEY_PART_RE = re.compile(r"[A-Za-z0-9@+._-]+")
_DATE_DIR_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

STATE_KEY = "bottles_hash.json"
STATE_BACKUP_KEY = "bottles_hash.previous.json"
LOCK_KEY = "locks/sync.lock"
RUNS_PREFIX = "runs/"

LAYOUTS = ("dated", "flat")

# Top-level names the mirror uses for itself; a manifest key may not start with them.
RESERVED_TOP_LEVEL = frozenset({"api", "locks", "runs"})


def validate_key(key: object) -> str:
    """A key the engine may read or write: relative, no `..`, no empty or hidden segments."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        raise UnsafeInputError(f"unsafe key: {key!r}")
    for part in key.split("/"):
        if not part or part in (".", "..") or not _KEY_PART_RE.fullmatch(part):
            raise UnsafeInputError(f"unsafe key: {key!r}")
    return key


def object_key(layout: str, day: date, filename: str) -> str:
    """Key of a bottle inside the mirror: `YYYY-MM-DD/<file>` (dated) or `<file>` (flat)."""
    filename = validate_filename(filename)
    if layout == "flat":
        return filename
    if layout == "dated":
        return f"{day.isoformat()}/{filename}"
    raise UnsafeInputError(f"unknown layout: {layout!r}")


def manifest_key(image: str, image_tag: str) -> str:
    """Where a version's image index lives in the mirror: `<image>/manifests/<tag>`, the path brew 6.0.13+
    asks the bottle domain for (homebrew.md section 4)."""
    validate_image_tag(image_tag)
    if image.split("/", 1)[0] in RESERVED_TOP_LEVEL:
        raise UnsafeInputError(f"image name {image!r} collides with the mirror's own folders")
    return validate_key(f"{image}/manifests/{image_tag}")


def is_date_dir(segment: str) -> bool:
    return bool(_DATE_DIR_RE.fullmatch(segment))


def run_key(run_id: str, name: str) -> str:
    """Key of a run artefact (`runs/<run_id>/<name>`)."""
    return validate_key(f"{RUNS_PREFIX}{run_id}/{name}")
