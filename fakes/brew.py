"""Homebrew's vocabulary: bottle tags, names, file names and the formula.json entry.

The catalogue keeps only the fields the mirror reads (and brew's tag-selection rule needs): `name`,
`full_name`, `tap`, `versions.stable`, `revision`, `bottle.stable.{rebuild,root_url,files}`,
`deprecated`, `disabled` (homebrew.md sections 1-4). The entry as served (`served_entry`) adds the rest
of a real entry, generated, so that formula.json has the real file's size (~30 MB for 8,300 formulae),
which parse time and the orchestrator's memory depend on, and the mirror is shown to ignore what it
does not read.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
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


# The fields of a real formula.json entry that the mirror does not read, in the API's order.
_BEFORE_VERSIONS = ("oldnames", "aliases", "versioned_formulae", "desc", "license", "homepage")
_BEFORE_BOTTLE = ("urls", "revision", "version_scheme", "autobump", "skip_livecheck")
_BEFORE_DEPRECATED = (
    "pour_bottle_only_if", "keg_only", "keg_only_reason", "options", "build_dependencies", "dependencies",
    "test_dependencies", "recommended_dependencies", "optional_dependencies", "uses_from_macos",
    "uses_from_macos_bounds", "requirements", "conflicts_with", "conflicts_with_reasons", "link_overwrite",
    "caveats", "installed", "linked_keg", "pinned", "outdated",
)  # fmt: skip
_LICENSES = ("MIT", "Apache-2.0", "GPL-3.0-or-later", "BSD-3-Clause", "LGPL-2.1-or-later", "Zlib")


def served_entry(entry: Mapping, names: Sequence[str]) -> dict:
    """`entry` as formulae.brew.sh serves it: with every other field of a real entry, in the API's order.
    The values are plausible and fixed by the name; dependencies name other formulae in `names`."""
    name = entry["name"]
    rng = random.Random(name)
    digest = hashlib.sha256(name.encode()).hexdigest()
    version = entry["versions"]["stable"]
    deps = sorted(rng.sample(names, min(len(names), rng.randint(0, 8))))
    build = sorted(rng.sample(names, min(len(names), rng.randint(0, 3))))
    linux = {"dependencies": [*deps, "zlib"], "build_dependencies": [*build, "pkgconf"], "uses_from_macos": []}
    extra = {
        "oldnames": [],
        "aliases": [],
        "versioned_formulae": [],
        "desc": f"Tools and libraries for {name.replace('-', ' ')}, the reference implementation",
        "license": rng.choice(_LICENSES),
        "homepage": f"https://{name.replace('@', '-')}.example.org/",
        "urls": {
            "stable": {
                "url": f"https://downloads.example.org/{name}/{name}-{version}.tar.gz",
                "tag": None,
                "revision": None,
                "using": None,
                "checksum": digest,
            },
            "head": {"url": f"https://github.com/example/{name}.git", "branch": "main", "using": None},
        },
        "revision": entry["revision"],
        "version_scheme": 0,
        "autobump": True,
        "skip_livecheck": False,
        "pour_bottle_only_if": None,
        "keg_only": False,
        "keg_only_reason": None,
        "options": [],
        "build_dependencies": build,
        "dependencies": deps,
        "test_dependencies": [],
        "recommended_dependencies": [],
        "optional_dependencies": [],
        "uses_from_macos": ["zlib", {"python": "build"}],
        "uses_from_macos_bounds": [{}, {}],
        "requirements": [],
        "conflicts_with": [],
        "conflicts_with_reasons": [],
        "link_overwrite": [],
        "caveats": None,
        "installed": [],
        "linked_keg": None,
        "pinned": False,
        "outdated": False,
        "deprecation_date": None,
        "deprecation_reason": None,
        "deprecation_replacement_formula": None,
        "disable_date": None,
        "disable_reason": None,
        "disable_replacement_formula": None,
        "post_install_defined": False,
        "service": None,
        "tap_git_head": digest[:40],
        "ruby_source_path": f"Formula/{name[0]}/{name}.rb",
        "ruby_source_checksum": {"sha256": digest},
        "head_dependencies": {"build_dependencies": build, "dependencies": deps, "test_dependencies": []},
        "variations": {tag: linux for tag in LINUX_TAGS},
    }
    served = {key: entry[key] for key in ("name", "full_name", "tap")}
    served.update({key: extra[key] for key in _BEFORE_VERSIONS})
    served["versions"] = {"stable": version, "head": "HEAD", "bottle": bool(entry["bottle"])}
    served.update({key: extra[key] for key in _BEFORE_BOTTLE})
    served["bottle"] = entry["bottle"]
    served.update({key: extra[key] for key in _BEFORE_DEPRECATED})
    served["deprecated"] = entry["deprecated"]
    served.update({k: extra[k] for k in ("deprecation_date", "deprecation_reason", "deprecation_replacement_formula")})
    served["disabled"] = entry["disabled"]
    served.update({k: v for k, v in extra.items() if k not in served})
    return served
