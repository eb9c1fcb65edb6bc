"""Which bottle a brew client on a platform pours (homebrew.md section 2).

Order: the exact tag; then `all`; then on macOS the first older macOS tag of the same architecture in the
order the API lists them (newest first in Homebrew's data).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from homebrew_sync.errors import ConfigError

# macOS release names, newest first (homebrew.md section 1, plus older names still seen in old bottles).
MACOS_RELEASES = (
    "golden_gate",
    "tahoe",
    "sequoia",
    "sonoma",
    "ventura",
    "monterey",
    "big_sur",
    "catalina",
    "mojave",
    "high_sierra",
    "sierra",
    "el_capitan",
)
LINUX_TAGS = ("x86_64_linux", "arm64_linux")
ALL_TAG = "all"
DEFAULT_PLATFORMS = ("arm64_sonoma", "arm64_ventura", "monterey")

_LATEST_RE = re.compile(r"^latest:(\d{1,2})$")


@dataclass(frozen=True)
class MacTag:
    arch: str  # "arm64" or "x86_64"
    release: str
    age: int  # 0 for the newest release; larger is older

    @property
    def tag(self) -> str:
        return f"arm64_{self.release}" if self.arch == "arm64" else self.release


@functools.lru_cache(maxsize=256)
def parse_mac_tag(tag: str) -> MacTag | None:
    """`arm64_sonoma` -> (arm64, sonoma); bare `monterey` -> (x86_64, monterey); other tags -> None."""
    if tag.startswith("arm64_") and tag[6:] in MACOS_RELEASES:
        return MacTag("arm64", tag[6:], MACOS_RELEASES.index(tag[6:]))
    if tag in MACOS_RELEASES:
        return MacTag("x86_64", tag, MACOS_RELEASES.index(tag))
    return None


def is_known_platform(tag: str) -> bool:
    return parse_mac_tag(tag) is not None or tag in LINUX_TAGS


def select_tag(available: Iterable[str], platform: str) -> str | None:
    """The tag whose bottle brew on `platform` would pour, or None if it would build from source.

    brew's order (utils/bottles.rb `find_matching_tag`, extend/os/mac/utils/bottles.rb
    `find_older_compatible_tag`): the exact tag, then `all`, then on macOS the *first* tag in the
    listing order (the API's `files` order) of the same architecture and an older release.
    """
    tags = list(available)
    if platform in tags:
        return platform
    if ALL_TAG in tags:
        return ALL_TAG
    wanted = parse_mac_tag(platform)
    if wanted is None:
        return None
    for tag in tags:
        mac = parse_mac_tag(tag)
        if mac is not None and mac.arch == wanted.arch and mac.age > wanted.age:
            return tag
    return None


def newest_macos_tags(tags: Iterable[str], count: int) -> list[str]:
    """The `count` newest macOS tags among `tags` (Apple Silicon before Intel for the same release)."""
    macs = {mac for mac in (parse_mac_tag(t) for t in tags) if mac is not None}
    ordered = sorted(macs, key=lambda mac: (mac.age, mac.arch != "arm64"))
    return [mac.tag for mac in ordered[:count]]


def resolve_platforms(requested: Iterable[str], formulae_tags: Mapping[str, int] | Iterable[str]) -> list[str]:
    """Expand `latest:N` against the tags present in the API and validate the rest.

    `formulae_tags` is every tag seen in the API (a set or a tag -> count mapping).
    """
    present = list(formulae_tags)
    resolved: list[str] = []
    for item in requested:
        match = _LATEST_RE.fullmatch(item)
        if match:
            count = int(match.group(1))
            if count < 1:
                raise ConfigError(f"platform {item!r}: N must be at least 1")
            candidates = newest_macos_tags(present, count)
        elif is_known_platform(item):
            candidates = [item]
        else:
            raise ConfigError(
                f"unknown platform {item!r}: use arm64_<macos>, <macos> (Intel), x86_64_linux, "
                f"arm64_linux or latest:N; macOS names: {', '.join(MACOS_RELEASES)}"
            )
        resolved.extend(t for t in candidates if t not in resolved)
    if not resolved:
        raise ConfigError("no platforms to mirror")
    return resolved


def check_platform_spec(item: str) -> str:
    """Validate one configured platform before the API is read (so bad input fails early)."""
    if _LATEST_RE.fullmatch(item) or is_known_platform(item):
        return item
    resolve_platforms([item], [])  # raises ConfigError with the full explanation
    return item
