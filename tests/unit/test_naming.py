"""File names, keys and URLs: brew's exact names, and nothing unsafe ever gets through."""

import string
from datetime import date
from urllib.parse import urlsplit

import pytest
from homebrew_sync.errors import UnsafeInputError
from homebrew_sync.keys import object_key, validate_key
from homebrew_sync.names import bottle_filename, image_name, image_tag, pkg_version
from homebrew_sync.urls import AllowList, blob_url, manifest_url
from hypothesis import given, settings
from hypothesis import strategies as st

REGISTRY = "https://ghcr.io/v2/homebrew/core"
SHA = "a" * 64


@pytest.mark.parametrize(
    ("name", "version", "revision", "tag", "rebuild", "expected"),
    [
        ("curl", "8.0.0", 0, "arm64_sonoma", 0, "curl-8.0.0.arm64_sonoma.bottle.tar.gz"),
        ("python@3.12", "3.12.7", 1, "arm64_tahoe", 1, "python@3.12-3.12.7_1.arm64_tahoe.bottle.1.tar.gz"),
        ("libsigc++", "3.6.0", 0, "monterey", 0, "libsigc++-3.6.0.monterey.bottle.tar.gz"),
        ("dvd+rw-tools", "7.1", 2, "all", 3, "dvd+rw-tools-7.1_2.all.bottle.3.tar.gz"),
    ],
)
def test_bottle_filename(name, version, revision, tag, rebuild, expected):
    assert bottle_filename(name, pkg_version(version, revision), tag, rebuild) == expected


def test_image_name_and_tag():
    assert image_name("python@3.12") == "python/3.12"
    assert image_name("libsigc++") == "libsigcxx"
    assert image_tag("1.7.1", 1) == "1.7.1-1"
    assert image_tag("3.4.1_2", 0) == "3.4.1_2"


def test_urls_are_built_from_the_registry_root():
    assert blob_url(REGISTRY, "python/3.12", SHA) == f"{REGISTRY}/python/3.12/blobs/sha256:{SHA}"
    assert manifest_url(REGISTRY, "curl", "8.0.0-1") == f"{REGISTRY}/curl/manifests/8.0.0-1"
    with pytest.raises(UnsafeInputError):
        blob_url(REGISTRY, "curl", "A" * 64)


def test_object_key_layouts():
    file = "curl-8.0.0.arm64_sonoma.bottle.tar.gz"
    assert object_key("dated", date(2025, 7, 21), file) == f"2025-07-21/{file}"
    assert object_key("flat", date(2025, 7, 21), file) == file


@pytest.mark.parametrize(
    "name", ["../etc", "a/b", "a\\b", "a\x00b", "a%2fb", "Curl", "", "a b", "-x", "a..b", "a\nb", ".hidden"]
)
def test_unsafe_names_are_refused(name):
    with pytest.raises(UnsafeInputError):
        bottle_filename(name, "1.0", "arm64_sonoma", 0)


@pytest.mark.parametrize("version", ["../1", "1/2", "1\\2", "1%2e", "1..2", "", "1 2", "1\t"])
def test_unsafe_versions_are_refused(version):
    with pytest.raises(UnsafeInputError):
        pkg_version(version, 0)


@pytest.mark.parametrize("tag", ["../x", "arm64/sonoma", "ARM64", "", "a.b", "x" * 41])
def test_unsafe_tags_are_refused(tag):
    with pytest.raises(UnsafeInputError):
        bottle_filename("curl", "1.0", tag, 0)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "1", 10_000])
def test_revision_and_rebuild_must_be_small_ints(bad):
    with pytest.raises(UnsafeInputError):
        pkg_version("1.0", bad)
    with pytest.raises(UnsafeInputError):
        bottle_filename("curl", "1.0", "all", bad)


SAFE_SEGMENT = set(string.ascii_letters + string.digits + "@+._-")


@settings(max_examples=400, deadline=None)
@given(
    name=st.text(max_size=40),
    version=st.text(max_size=20),
    tag=st.text(max_size=20),
    revision=st.integers(-2, 20),
    rebuild=st.integers(-2, 20),
    layout=st.sampled_from(["dated", "flat"]),
)
def test_key_builder_rejects_or_produces_a_safe_key(name, version, tag, revision, rebuild, layout):
    try:
        key = object_key(layout, date(2025, 1, 2), bottle_filename(name, pkg_version(version, revision), tag, rebuild))
    except UnsafeInputError:
        return
    assert validate_key(key) == key
    segments = key.split("/")
    assert len(segments) == (2 if layout == "dated" else 1)
    assert all(seg not in ("", ".", "..") and set(seg) <= SAFE_SEGMENT for seg in segments)
    assert segments[-1].endswith(".tar.gz")


ALLOW = AllowList.build([REGISTRY, "https://formulae.brew.sh/api"], ["127.0.0.1:8080"])


@settings(max_examples=400, deadline=None)
@given(
    name=st.text(max_size=30), sha=st.text(max_size=70), root=st.sampled_from([REGISTRY, "http://127.0.0.1:8080/v2"])
)
def test_url_builder_rejects_or_produces_an_allowed_url(name, sha, root):
    try:
        url = ALLOW.check(blob_url(root, image_name(name), sha))
    except UnsafeInputError:
        return
    parts = urlsplit(url)
    assert parts.netloc in {"ghcr.io", "127.0.0.1:8080"}
    assert ".." not in parts.path and "?" not in url and "#" not in url
    assert parts.path.endswith(f"/blobs/sha256:{sha}")


@pytest.mark.parametrize(
    "url",
    [
        "http://ghcr.io/v2/x",  # https required for public hosts
        "https://evil.example/x",
        "http://10.0.0.1:8080/x",  # http only for loopback
        "http://127.0.0.1:9999/x",  # loopback but a port that was not allowed
        "https://user:pw@ghcr.io/x",
        "file:///etc/passwd",
        "ftp://ghcr.io/x",
    ],
)
def test_allow_list_refuses(url):
    with pytest.raises(UnsafeInputError):
        ALLOW.check(url)


def test_allow_list_accepts():
    assert ALLOW.check("https://pkg-containers.githubusercontent.com/ghcr1/blobs/x?se=1")
    assert ALLOW.check("http://127.0.0.1:8080/x")
    assert ALLOW.check(f"{REGISTRY}/curl/blobs/sha256:{SHA}")


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("abz09AZ@+._-/\\%\x00 ")), max_size=40))
def test_state_file_patterns_are_no_looser_than_the_validators(text):
    """The state file is checked by regex patterns in bulk; they must never accept what naming refuses."""
    import re

    from homebrew_sync.keys import STATE_KEY_PATTERN
    from homebrew_sync.names import FILENAME_PATTERN, validate_filename

    if re.fullmatch(FILENAME_PATTERN, text + ".tar.gz"):
        assert validate_filename(text + ".tar.gz")
    if re.fullmatch(STATE_KEY_PATTERN, text):
        assert validate_key(text) == text


def test_state_patterns_accept_what_the_engine_writes():
    import re

    from homebrew_sync.keys import STATE_KEY_PATTERN
    from homebrew_sync.names import FILENAME_PATTERN

    file = "python@3.12-3.12.7_1.arm64_tahoe.bottle.1.tar.gz"
    assert re.fullmatch(FILENAME_PATTERN, file) and re.fullmatch(FILENAME_PATTERN, "libsigc++-3.6.0.all.bottle.tar.gz")
    assert re.fullmatch(STATE_KEY_PATTERN, f"2025-07-21/{file}") and re.fullmatch(STATE_KEY_PATTERN, file)
