"""Retention: `homebrew-sync prune` removes exactly the superseded versions, on both backends, and a crash at
any step of it never leaves the state listing an object that is gone."""

from __future__ import annotations

import homebrew_sync.engine
import pytest
from homebrew_sync.state import StateStore
from homebrew_sync.storage.local import LocalStorage
from homebrew_sync.storage.s3 import S3Storage

from tests.conftest import BUCKET
from tests.integration.conftest import run_cli
from tests.resilience.crash import Crash, CrashPlan, install
from tests.resilience.test_crash import dead_owner

BUMPED = "curl"


@pytest.fixture(params=["local", "s3"])
def mirror(request, tmp_path):
    """(dest, storage) of a mirror of the upstream before and after `curl` got a new version."""
    if request.param == "local":
        return str(tmp_path / "mirror"), LocalStorage(tmp_path / "mirror")
    client = request.getfixturevalue("s3_client")
    return f"s3://{BUCKET}/m", S3Storage(client, BUCKET, "m")


def synced_twice(sync, upstream, dest):
    assert sync("--layout", "flat", dest=dest).code == 0
    upstream.catalogue.bump_version(BUMPED, tags=("arm64_sonoma", "arm64_ventura", "monterey"))
    assert sync("--layout", "flat", dest=dest).code == 0


def prune(upstream, dest, *extra):
    return run_cli("prune", "--dest", dest, "--json", *upstream.cli_args(), *extra)


def old_curl(storage) -> list[str]:
    return sorted(f for f in StateStore(storage).load().bottles if f.startswith("curl-8.16.0."))


def test_prune_removes_exactly_the_superseded_version(sync, upstream, mirror):
    dest, storage = mirror
    synced_twice(sync, upstream, dest)
    before = StateStore(storage).load()
    old = old_curl(storage)
    assert old and storage.stat("curl/manifests/8.16.0-2") is not None
    assert "curl/manifests/8.16.1" in before.manifests  # the new version and its index are there too

    kept = prune(upstream, dest, "--keep-versions", "2", "--older-than", "0")
    assert kept.code == 0 and kept.json["versions"] == []  # two versions of curl are allowed
    young = prune(upstream, dest, "--keep-versions", "1", "--older-than", "1")
    assert young.code == 0 and young.json["versions"] == []  # mirrored today: younger than a day

    dry = prune(upstream, dest, "--keep-versions", "1", "--older-than", "0", "--dry-run")
    assert dry.code == 0 and dry.json["versions"] == ["curl 8.16.0-2"] and dry.json["dry_run"]
    assert sorted(dry.json["removed"]) == sorted([*old, "curl/manifests/8.16.0-2"])
    assert StateStore(storage).load().bottles == before.bottles  # a dry run changes nothing
    assert all(storage.stat(key) is not None for key in dry.json["removed"])

    done = prune(upstream, dest, "--keep-versions", "1", "--older-than", "0")
    assert done.code == 0 and done.json["versions"] == ["curl 8.16.0-2"]
    after = StateStore(storage).load()
    assert set(before.bottles) - set(after.bottles) == set(old)
    assert set(before.manifests) - set(after.manifests) == {"curl/manifests/8.16.0-2"}
    for key in done.json["removed"]:
        assert storage.stat(key) is None
    for record in after.bottles.values():
        assert storage.stat(record.key) is not None
    again = sync("--layout", "flat", dest=dest)
    assert again.code == 0 and again.json["downloaded"] == 0  # nothing the API selects was removed


def test_prune_refuses_after_a_failed_sync(sync, upstream, mirror):
    dest, storage = mirror
    synced_twice(sync, upstream, dest)
    rebuilt = upstream.catalogue.rebuild_bottle(BUMPED, "arm64_sonoma")  # a bottle the mirror holds
    upstream.faults.add(rebuilt.sha256, "wrong_bytes", times=-1)
    assert sync("--layout", "flat", dest=dest).code == 1
    refused = prune(upstream, dest, "--keep-versions", "1", "--older-than", "0")
    assert refused.code == 2 and "needs a complete last sync" in refused.err
    assert old_curl(storage)


def test_a_crash_at_every_step_of_prune_leaves_no_listed_object_missing(sync, upstream, mirror, monkeypatch):
    dest, storage = mirror
    args = ("--keep-versions", "1", "--older-than", "0")
    synced_twice(sync, upstream, dest)

    def copy(k: int):
        """A copy of the mirror holding both versions of curl."""
        storage_k = _sibling(storage, f"-k{k}")
        for info in storage.list():
            storage_k.write(info.key, b"".join(storage.iter_bytes(info.key)))
        return f"{dest}-k{k}", storage_k

    counting = CrashPlan(crash_at=None)
    with monkeypatch.context() as patch:
        install(counting, patch.setattr)
        assert prune(upstream, copy(0)[0], *args).code == 0
    assert any(step.startswith("delete") for step in counting.steps)
    for k in range(1, len(counting.steps) + 1):
        where = f"crash at step {k}/{len(counting.steps)} ({counting.steps[k - 1]})"
        dest_k, storage_k = copy(k)
        before = StateStore(storage_k).load()
        with monkeypatch.context() as patch:
            install(CrashPlan(crash_at=k), patch.setattr)
            patch.setattr(homebrew_sync.engine, "default_owner", dead_owner)
            with pytest.raises(Crash):
                prune(upstream, dest_k, *args)
        state = StateStore(storage_k).load()
        for record in state.bottles.values():
            assert storage_k.stat(record.key) is not None, f"{where}: {record.key} listed but gone"
        for key, record in state.manifests.items():
            assert record.sha256 is None or storage_k.stat(key) is not None, f"{where}: {key} listed but gone"
        superseded = {f for f in before.bottles if f.startswith("curl-8.16.0.")}
        assert superseded and set(before.bottles) - set(state.bottles) <= superseded, where  # nothing else goes
        rerun = prune(upstream, dest_k, *args)  # the lock of the killed process is taken over
        assert rerun.code == 0, f"{where}: {rerun.err}"
        assert not old_curl(storage_k), where


def _sibling(storage, suffix: str):
    if isinstance(storage, LocalStorage):
        return LocalStorage(str(storage.root) + suffix)
    return S3Storage(storage.client, storage.bucket, storage.prefix.rstrip("/") + suffix)
