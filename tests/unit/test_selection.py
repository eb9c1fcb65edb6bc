"""The selection rule of homebrew.md section 2, every branch."""

import pytest
from homebrew_sync.errors import ConfigError
from homebrew_sync.selection import newest_macos_tags, resolve_platforms, select_tag

TABLE = [
    # (available tags in the API's listing order, client platform, expected tag)
    (["arm64_sonoma", "arm64_ventura", "monterey"], "arm64_sonoma", "arm64_sonoma"),  # exact
    (["arm64_sequoia", "arm64_sonoma"], "arm64_tahoe", "arm64_sequoia"),  # older, same arch
    (["arm64_ventura", "arm64_monterey", "arm64_big_sur"], "arm64_sonoma", "arm64_ventura"),
    (["arm64_big_sur", "arm64_ventura"], "arm64_sonoma", "arm64_big_sur"),  # the first listed, as brew does
    (["arm64_tahoe"], "arm64_sonoma", None),  # never a newer one
    (["arm64_tahoe", "all"], "arm64_sonoma", "all"),
    (["sonoma", "ventura"], "arm64_sonoma", None),  # never across architectures (Intel -> arm)
    (["arm64_ventura", "ventura"], "monterey", None),  # nor arm -> Intel, nor newer
    (["big_sur", "catalina", "all"], "monterey", "all"),  # `all` comes before an older release
    (["all"], "arm64_sequoia", "all"),
    (["arm64_ventura", "all"], "arm64_sonoma", "all"),
    (["x86_64_linux", "all"], "x86_64_linux", "x86_64_linux"),
    (["arm64_sonoma"], "x86_64_linux", None),  # no macOS fallback for Linux
    (["arm64_sonoma", "all"], "arm64_linux", "all"),
    ([], "arm64_sonoma", None),
]


@pytest.mark.parametrize(("available", "platform", "expected"), TABLE)
def test_select_tag(available, platform, expected):
    assert select_tag(available, platform) == expected


def test_newest_macos_tags_orders_release_then_apple_silicon():
    tags = {"arm64_sonoma", "sonoma", "arm64_tahoe", "ventura", "x86_64_linux", "all", "arm64_sequoia"}
    assert newest_macos_tags(tags, 3) == ["arm64_tahoe", "arm64_sequoia", "arm64_sonoma"]
    assert newest_macos_tags(tags, 5) == ["arm64_tahoe", "arm64_sequoia", "arm64_sonoma", "sonoma", "ventura"]


def test_resolve_platforms_expands_latest_and_deduplicates():
    tags = {"arm64_tahoe", "arm64_sequoia", "sequoia"}
    assert resolve_platforms(["latest:2", "arm64_tahoe", "monterey"], tags) == [
        "arm64_tahoe",
        "arm64_sequoia",
        "monterey",
    ]


@pytest.mark.parametrize("bad", ["arm64_bogus", "linux", "latest:0", "latest:x", "ARM64_SONOMA", ""])
def test_resolve_platforms_rejects_unknown(bad):
    with pytest.raises(ConfigError):
        resolve_platforms([bad], {"arm64_sonoma"})
