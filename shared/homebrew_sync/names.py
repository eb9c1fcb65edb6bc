"""Names from upstream, validated, and the bottle file-name grammar, in one place.

Everything from upstream (formula name, version, tag, sha256) passes through `validate_*` before it
reaches a file name, a key or a URL; anything that could escape the layout raises UnsafeInputError.
A bottle file is `<name>-<pkg_version>.<tag>.bottle[.<rebuild>].tar.gz` (homebrew.md section 4): built by
`bottle_filename`, read back by `parse_bottle_filename` and `bottle_version`, all from `_bottle_pattern`.
"""

from __future__ import annotations

import re
from functools import cache

from homebrew_sync.errors import UnsafeInputError

# Formula names are lowercase and may contain "@ + . - _" (python@3.12, libsigc++, dvd+rw-tools).
_NAME = r"[a-z0-9][a-z0-9@+._-]{0,127}"
# Versions: digits, letters and ". _ - +" (3.12.7, 2024a, 1.1.1w, 9.5p1).
_VERSION = r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}"
_TAG = r"[a-z0-9][a-z0-9_]{0,39}"
_VERSION_NO_DASH = r"[A-Za-z0-9][A-Za-z0-9._+]{0,63}"
_NAME_RE = re.compile(_NAME)
_VERSION_RE = re.compile(_VERSION)
_TAG_RE = re.compile(_TAG)
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256_RE = re.compile(SHA256_PATTERN)
# A file name of safe characters where a dot is always followed by another safe character (no "..",
# nothing hidden behind a trailing dot), ending in .tar.gz: every file the mirror stores or lists.
FILENAME_PATTERN = r"^[a-z0-9](?:[A-Za-z0-9@+_-]|\.[A-Za-z0-9@+_-])*\.tar\.gz$"
_FILENAME_RE = re.compile(FILENAME_PATTERN)
FILENAME_MAX = 256


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


def validate_filename(filename: object) -> str:
    """A file name as stored in the state: one path segment of safe characters ending in .tar.gz."""
    if not isinstance(filename, str) or len(filename) > FILENAME_MAX or not _FILENAME_RE.fullmatch(filename):
        raise UnsafeInputError(f"unsafe file name: {filename!r}")
    return filename


def pkg_version(version: str, revision: int) -> str:
    """`versions.stable` plus `_<revision>` when revision > 0 (homebrew.md section 1)."""
    version = validate_version(version)
    revision = validate_count(revision, "revision")
    return f"{version}_{revision}" if revision else version


@cache
def _bottle_pattern(name: str = _NAME, tag: str = _TAG, version: str = _VERSION_NO_DASH) -> re.Pattern[str]:
    """The bottle file-name grammar. Names and versions may both hold `-` and `.`; without a known formula,
    the version is taken to have no `-` (the name gets them), which is what brew's own names allow."""
    return re.compile(
        rf"(?P<name>{name})-(?P<version>{version})\.(?P<tag>{tag})\.bottle(?:\.(?P<rebuild>\d+))?\.tar\.gz"
    )


def bottle_filename(name: str, pkg_ver: str, tag: str, rebuild: int) -> str:
    """brew's canonical bottle file name, single dash (homebrew.md section 4)."""
    name, tag = validate_name(name), validate_tag(tag)
    pkg_ver = _check(pkg_ver, _VERSION_RE, "version")
    rebuild = validate_count(rebuild, "rebuild")
    suffix = f".{rebuild}" if rebuild else ""
    return f"{name}-{pkg_ver}.{tag}.bottle{suffix}.tar.gz"


def parse_bottle_filename(file: str) -> tuple[str, str] | None:
    """(formula, tag) of a canonical bottle file name, or None if it is not one."""
    match = _bottle_pattern().fullmatch(file)
    return (match["name"], match["tag"]) if match else None


def bottle_version(file: str, formula: str, tag: str) -> tuple[str, int]:
    """(pkg_version, rebuild) of a bottle file name whose formula and tag are known (ValueError if it is not
    that formula's bottle for that tag). Knowing both keeps names and versions with `-` unambiguous."""
    match = _bottle_pattern(re.escape(formula), re.escape(tag), _VERSION).fullmatch(file)
    if not match:
        raise ValueError(f"{file!r} is not a {tag} bottle of {formula!r}")
    return match["version"], int(match["rebuild"] or 0)


def image_name(name: str) -> str:
    """ghcr.io image of a formula: `@` -> `/`, `+` -> `x` (homebrew.md section 3)."""
    return validate_name(name).replace("@", "/").replace("+", "x")


def image_tag(pkg_ver: str, rebuild: int) -> str:
    """Tag of the per-version image index: pkg_version plus `-<rebuild>` when rebuild > 0."""
    rebuild = validate_count(rebuild, "rebuild")
    return f"{pkg_ver}-{rebuild}" if rebuild else pkg_ver


def validate_image_tag(tag: object) -> str:
    return _check(tag, _VERSION_RE, "image tag")
