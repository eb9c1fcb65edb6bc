"""Homebrew's vocabulary: bottle tags, names, file names and the formula.json entry.

Only the fields the mirror reads (and brew's tag-selection rule needs) are written: `name`,
`full_name`, `tap`, `versions.stable`, `revision`, `bottle.stable.{rebuild,root_url,files}`,
`deprecated`, `disabled` (homebrew.md sections 1-4). Nothing else of the real entry is imitated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

ROOT_URL = "https://ghcr.io/v2/homebrew/core"
TAP = "homebrew/core"

# macOS names, newest first, with their version numbers (homebrew.md section 1).
MACOS_VERSIONS = {
    "golden_gate": "27",
    "tahoe": "26",
    "sequoia": "15",
    "sonoma": "14",
    "ventura": "13",
    "monterey": "12",
    "big_sur": "11",
    "catalina": "10.15",
}
ARM_TAGS = tuple(f"arm64_{m}" for m in MACOS_VERSIONS if m != "catalina")
INTEL_TAGS = tuple(m for m in MACOS_VERSIONS if m != "golden_gate")
LINUX_TAGS = ("x86_64_linux", "arm64_linux")
TAGS = ARM_TAGS + INTEL_TAGS + LINUX_TAGS + ("all",)
_TAG_ORDER = {t: i for i, t in enumerate(TAGS)}

# What CI bottles since brew 7.0.0 (homebrew.md section 5): new versions get these tags.
NEWEST_TAGS = ("arm64_golden_gate", "arm64_tahoe", "arm64_sequoia")
NEWEST_SINCE = "2026-09-13"

CELLAR_ARM = "/opt/homebrew/Cellar"
CELLAR_INTEL = "/usr/local/Cellar"
CELLAR_LINUX = "/home/linuxbrew/.linuxbrew/Cellar"


class BottleFile(Protocol):
    """What one `bottle.stable.files[tag]` entry is written from."""

    sha256: str
    cellar: str


def image_name(name: str) -> str:
    """ghcr image of a formula: `@` -> `/`, `+` -> `x` (python@3.12 -> python/3.12)."""
    return name.replace("@", "/").replace("+", "x")


def pkg_version(formula: dict) -> str:
    """`versions.stable` plus `_<revision>` when revision > 0."""
    version = formula["versions"]["stable"]
    revision = int(formula.get("revision") or 0)
    return f"{version}_{revision}" if revision else version


def bottle_rebuild(formula: dict) -> int:
    """`bottle.stable.rebuild`, 0 for formulae without bottles."""
    return int((formula.get("bottle") or {}).get("stable", {}).get("rebuild", 0))


def image_tag(formula: dict) -> str:
    """Registry tag of a formula's image index: pkg_version plus `-<rebuild>` when rebuild > 0."""
    rebuild = bottle_rebuild(formula)
    return f"{pkg_version(formula)}-{rebuild}" if rebuild else pkg_version(formula)


def bottle_filename(name: str, pkg_ver: str, tag: str, rebuild: int = 0) -> str:
    """Canonical bottle file name, single dash (homebrew.md section 4)."""
    suffix = f".{rebuild}" if rebuild else ""
    return f"{name}-{pkg_ver}.{tag}.bottle{suffix}.tar.gz"


def check_tag(tag: str) -> str:
    if tag not in _TAG_ORDER:
        raise ValueError(f"unknown bottle tag {tag!r}")
    return tag


def sorted_tags(tags: Iterable[str]) -> list[str]:
    """Tags in the order brew's bottle blocks list them: arm64 newest first, Intel, Linux, `all`."""
    return sorted({check_tag(t) for t in tags}, key=_TAG_ORDER.__getitem__)


def family(tag: str) -> str:
    """Tags of one family can share a blob (an `:any_skip_relocation` build runs on every macOS)."""
    if tag in ARM_TAGS:
        return "arm64_macos"
    if tag in INTEL_TAGS:
        return "x86_64_macos"
    return tag


def default_cellar(tag: str) -> str:
    if tag == "all":
        return ":any_skip_relocation"
    if tag in LINUX_TAGS:
        return CELLAR_LINUX
    return CELLAR_ARM if tag in ARM_TAGS else CELLAR_INTEL


def bottle_json(name: str, rebuild: int, files: Mapping[str, BottleFile]) -> dict:
    """The entry's `bottle`: `{}` without bottles, else `stable` with one file per tag, in `files` order."""
    if not files:
        return {}
    image = image_name(name)
    entries = {
        tag: {"cellar": f.cellar, "url": f"{ROOT_URL}/{image}/blobs/sha256:{f.sha256}", "sha256": f.sha256}
        for tag, f in files.items()
    }
    return {"stable": {"rebuild": rebuild, "root_url": ROOT_URL, "files": entries}}


def formula_json(
    name: str, version: str, *, revision: int = 0, deprecated: bool = False, disabled: bool = False
) -> dict:
    """A formula.json entry with an empty `bottle` (filled in by bottle_json), keys in the API's order."""
    return {
        "name": name,
        "full_name": name,
        "tap": TAP,
        "versions": {"stable": version},
        "revision": revision,
        "bottle": {},
        "deprecated": deprecated,
        "disabled": disabled,
    }
