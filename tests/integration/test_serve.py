"""brew against the mirror: a client that makes exactly brew's requests, over `homebrew-sync serve` and over
the synced S3 bucket behind a CloudFront stand-in, gets every bottle, index and API file it needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from homebrew_sync.selection import select_tag

from fakes.catalogue import NO_INDEX
from fakes.cdn import FakeCdn
from tests.brew_client import ANONYMOUS, BrewClient, MirrorRefused
from tests.conftest import BUCKET

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("arm64_tahoe", "arm64_sonoma", "monterey")
PLATFORM_ARGS = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
API_FILES = [
    "formula.jws.json",
    "cask.jws.json",
    "formula_tap_migrations.jws.json",
    "cask_tap_migrations.jws.json",
    *(f"internal/packages.{tag}.jws.json" for tag in PLATFORMS),
]


def installs(upstream) -> list[tuple[str, str, str, int, str, bool]]:
    """(name, pkg_version, tag, rebuild, sha256, has_index) for every bottle a client on PLATFORMS pours,
    from the upstream catalogue's own JSON."""
    out = set()
    for entry in json.loads(upstream.catalogue.formula_json_bytes()):
        stable = (entry.get("bottle") or {}).get("stable")
        if entry["disabled"] or not stable or not stable["files"]:
            continue
        version = entry["versions"]["stable"] + (f"_{entry['revision']}" if entry["revision"] else "")
        has_index = upstream.catalogue.size_class(entry["name"]) != NO_INDEX
        for platform in PLATFORMS:
            tag = select_tag(stable["files"], platform)
            if tag:
                sha = stable["files"][tag]["sha256"]
                out.add((entry["name"], version, tag, stable["rebuild"], sha, has_index))
    return sorted(out)


def upstream_api(upstream, name: str) -> bytes:
    return requests.get(f"{upstream.api_url}/{name}", timeout=10).content


def exercise(client: BrewClient, upstream) -> None:
    """Every request brew makes per formula, and the API files as brew 4.6-5.x and 6.x read them."""
    wanted = installs(upstream)
    names = {w[0] for w in wanted}
    assert {"python@3.12", "libsigc++", "curl"} <= names  # `@`, `+`, revision and rebuild are among them
    assert any(w[1].count("_") and w[3] for w in wanted)  # a revision and a rebuild in one name
    for name, version, tag, rebuild, sha, has_index in wanted:
        client.bottle(name, version, tag, rebuild, sha)
        if not has_index:  # the registry has none either: the mirror invents nothing
            with pytest.raises(MirrorRefused):
                client.manifest(name, version, tag, rebuild, sha)
            continue
        client.manifest(name, version, tag, rebuild, sha)  # brew with HOMEBREW_ARTIFACT_DOMAIN set
        client.manifest(name, version, tag, rebuild, sha, authorization=ANONYMOUS)  # without it, or with a token
    for name in API_FILES:
        first = client.api_file(name)
        assert first.status_code == 200 and first.content == upstream_api(upstream, name), name
        again = client.api_file(name, if_modified_since=first.headers["Last-Modified"])
        assert again.status_code == 304, name


@pytest.fixture
def flat_mirror(sync, tmp_path):
    result = sync("--layout", "flat", *PLATFORM_ARGS)
    assert result.code == 0, result.err
    assert result.json["manifests"] > 0 and len(result.json["api_published"]) == len(API_FILES)
    return tmp_path / "mirror"


@pytest.fixture
def served(flat_mirror):
    """`homebrew-sync serve` in its own process; yields (base URL, what it printed)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "homebrew_sync", "serve", "--dest", str(flat_mirror), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        printed = [process.stdout.readline() for _ in range(5)]
        base = printed[1].strip().split("=", 1)[1]
        yield base, printed
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_brew_installs_everything_from_homebrew_sync_serve(served, upstream):
    base, printed = served
    assert printed[0].startswith("serving ") and "read-only" in printed[0]
    assert [line.strip() for line in printed[1:]] == [
        f"export HOMEBREW_BOTTLE_DOMAIN={base}",
        f"export HOMEBREW_ARTIFACT_DOMAIN={base}",
        "export HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK=1",
        f"export HOMEBREW_API_DOMAIN={base}/api",
    ]
    client = BrewClient(base, f"{base}/api", upstream.public_key_pem)
    exercise(client, upstream)
    manifest = next(r for r in client.log if "/manifests/" in r.url)
    response = requests.get(manifest.url, timeout=10)
    assert response.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"


def test_serve_is_read_only_and_shows_nothing_else(served):
    base, _ = served
    for path in (
        "/",
        "/api/",
        "/bottles_hash.json",
        "/runs/",
        "/locks/sync.lock",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/api/../bottles_hash.json",
        "/.bottles_hash.json.lock",
    ):
        assert requests.get(base + path, timeout=10).status_code == 404, path
    assert requests.post(f"{base}/api/formula.jws.json", data=b"x", timeout=10).status_code == 405
    assert requests.put(f"{base}/api/formula.jws.json", data=b"x", timeout=10).status_code == 405
    assert requests.delete(f"{base}/api/formula.jws.json", timeout=10).status_code == 405


def test_client_env_prints_the_same_lines_for_any_url(capsys):
    from homebrew_sync.cli.main import main

    assert main(["client-env", "https://mirror.example.com/homebrew/"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "export HOMEBREW_BOTTLE_DOMAIN=https://mirror.example.com/homebrew",
        "export HOMEBREW_ARTIFACT_DOMAIN=https://mirror.example.com/homebrew",
        "export HOMEBREW_ARTIFACT_DOMAIN_NO_FALLBACK=1",
        "export HOMEBREW_API_DOMAIN=https://mirror.example.com/homebrew/api",
    ]
    assert main(["client-env", "ftp://nope"]) == 2
    assert "not a mirror base URL" in capsys.readouterr().err


def test_brew_installs_everything_from_the_s3_bucket_behind_the_cdn(sync, upstream, s3_client):
    result = sync("--layout", "flat", *PLATFORM_ARGS, dest=f"s3://{BUCKET}/mirror")
    assert result.code == 0, result.err
    with FakeCdn(s3_client, BUCKET, "mirror") as cdn:
        client = BrewClient(cdn.url, f"{cdn.url}/api", upstream.public_key_pem)
        exercise(client, upstream)
        for path in ("/bottles_hash.json", "/runs/x/plan.json", "/locks/sync.lock", "/bottles_hash.previous.json"):
            assert requests.get(cdn.url + path, timeout=10).status_code == 403, path
    head = s3_client.head_object(Bucket=BUCKET, Key="mirror/api/formula.jws.json")
    assert head["ContentType"] == "application/json"
    key = next(k["Key"] for k in s3_client.list_objects_v2(Bucket=BUCKET, Prefix="mirror/curl/")["Contents"])
    assert s3_client.head_object(Bucket=BUCKET, Key=key)["ContentType"] == "application/vnd.oci.image.index.v1+json"
    staged = s3_client.list_objects_v2(Bucket=BUCKET, Prefix="mirror/runs/").get("Contents", [])
    assert not [o["Key"] for o in staged if "/api/" in o["Key"]]  # staged copies are removed once published
