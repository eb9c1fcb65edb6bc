"""Every fault knob of the fake upstream: retried politely, or refused and recorded, never stored wrong."""

import errno
import time

import pytest
from homebrew_sync.transfer import Transfer

from tests.integration.conftest import bottle_listing, expected_files, state_of


def a_bottle(upstream, tag="arm64_sonoma"):
    """(file name, sha256) of one planned bottle whose blob no other planned file shares."""
    counts = {}
    for _name, bottle in upstream.catalogue.iter_bottles():
        counts[bottle.sha256] = counts.get(bottle.sha256, 0) + 1
    wanted = expected_files(upstream)
    for name, bottle in upstream.catalogue.iter_bottles():
        entry = upstream.catalogue.find(name)
        if bottle.tag != tag or entry["disabled"] or counts[bottle.sha256] != 1:
            continue
        version = entry["versions"]["stable"] + (f"_{entry['revision']}" if entry["revision"] else "")
        rebuild = entry["bottle"]["stable"]["rebuild"]
        file = f"{name}-{version}.{tag}.bottle{'.' + str(rebuild) if rebuild else ''}.tar.gz"
        if file in wanted:
            return file, bottle.sha256
    raise LookupError("no suitable bottle")


def registry_hits(upstream, sha):
    return [r for r in upstream.requests if r.host == "main" and r.path.endswith(f"sha256:{sha}")]


def assert_rest_mirrored(result, upstream, root, failed_files=()):
    expected = {f"2025-07-21/{f}" for f in expected_files(upstream) if f not in failed_files}
    assert set(bottle_listing(root)) == expected
    assert set(state_of(root)["bottles"]) == {k.split("/")[1] for k in expected}


@pytest.mark.parametrize("kind", ["rate_limit", "rate_limit_body"])
def test_429_retry_after_is_honoured(sync, upstream, tmp_path, kind):
    file, sha = a_bottle(upstream)
    upstream.faults.add(sha, kind, times=1, retry_after=1)
    result = sync()
    assert result.code == 0, result.json["failures"]
    hits = registry_hits(upstream, sha)
    assert hits[0].status == 429 and hits[-1].status == 307
    assert hits[1].time - hits[0].time >= 0.9  # waited as told, not the 10 ms backoff of these tests
    assert_rest_mirrored(result, upstream, tmp_path / "mirror")


def test_retry_after_beyond_the_budget_fails_that_bottle_only(sync, upstream, tmp_path):
    file, sha = a_bottle(upstream)
    upstream.faults.add(sha, "rate_limit", times=-1, retry_after=3600)
    started = time.monotonic()
    result = sync()
    assert time.monotonic() - started < 30
    assert result.code == 1
    assert [f["file"] for f in result.json["failures"]] == [file]
    assert "Retry-After" in result.json["failures"][0]["error"]
    assert_rest_mirrored(result, upstream, tmp_path / "mirror", failed_files={file})


def test_5xx_is_retried_with_backoff(sync, upstream, tmp_path, monkeypatch):
    file, sha = a_bottle(upstream)
    upstream.faults.add(sha, "server_error", times=2, status=502)
    waits: list[float] = []
    wait = Transfer._sleep

    def recorded(self, seconds):
        waits.append(seconds)
        wait(self, seconds)

    monkeypatch.setattr(Transfer, "_sleep", recorded)
    result = sync()
    assert result.code == 0
    assert [h.status for h in registry_hits(upstream, sha)] == [502, 502, 307]
    # a wait before each retry, full jitter under the doubling cap (base 0.01 s, max 0.05 s in these tests)
    assert len(waits) == 2 and all(0 < w <= min(0.05, 0.01 * 2**n) for n, w in enumerate(waits, 1))


def test_persistent_5xx_is_bounded_and_recorded(sync, upstream, tmp_path):
    file, sha = a_bottle(upstream)
    upstream.faults.add(sha, "server_error", times=-1)
    result = sync()
    assert result.code == 1
    assert len(registry_hits(upstream, sha)) == 4  # HOMEBREW_SYNC_MAX_ATTEMPTS default
    assert "HTTP 503" in result.json["failures"][0]["error"]
    assert_rest_mirrored(result, upstream, tmp_path / "mirror", failed_files={file})


@pytest.mark.parametrize("kind", ["truncated", "wrong_bytes", "stall"])
def test_transient_body_faults_are_retried(sync, upstream, tmp_path, kind):
    file, sha = a_bottle(upstream)
    upstream.faults.add(sha, kind, times=1, **({"seconds": 30} if kind == "stall" else {}))
    result = sync()
    assert result.code == 0, result.json["failures"]
    assert_rest_mirrored(result, upstream, tmp_path / "mirror")


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("truncated", {}, ""),
        ("wrong_bytes", {}, "sha256 mismatch"),
        ("stall", {"seconds": 30}, "Timeout"),
        ("slow_drip", {"interval": 0.2, "chunk": 64}, "below the floor"),
    ],
)
def test_persistent_body_faults_are_refused_and_never_stored(sync, upstream, tmp_path, kind, params, message):
    file, sha = a_bottle(upstream)
    upstream.faults.add(sha, kind, times=-1, **params)
    started = time.monotonic()
    result = sync()
    assert time.monotonic() - started < 60
    assert result.code == 1
    assert [f["file"] for f in result.json["failures"]] == [file]
    assert message in result.json["failures"][0]["error"]
    root = tmp_path / "mirror"
    assert_rest_mirrored(result, upstream, root, failed_files={file})
    assert not [p for p in root.rglob("*.part")], "no partial files left"


def test_enospc_leaves_no_partial_file_and_no_state_entry(sync, upstream, tmp_path, monkeypatch):
    from homebrew_sync.storage.local import LocalStorage

    file, _sha = a_bottle(upstream)
    real = LocalStorage.put_verified

    def disk_full_for_one(self, key, chunks, *, sha256, size, **kwargs):
        if key.endswith(file):

            def failing():
                yield next(iter(chunks))
                raise OSError(errno.ENOSPC, "No space left on device")

            return real(self, key, failing(), sha256=sha256, size=size)
        return real(self, key, chunks, sha256=sha256, size=size)

    monkeypatch.setattr(LocalStorage, "put_verified", disk_full_for_one)
    result = sync()
    assert result.code == 1
    assert "no space left on device" in result.json["failures"][0]["error"]
    root = tmp_path / "mirror"
    assert file not in state_of(root)["bottles"]
    assert not list(root.rglob(f"*{file}*"))
    assert_rest_mirrored(result, upstream, root, failed_files={file})


def test_api_outage_is_retried_then_a_clear_error(sync, upstream, tmp_path):
    upstream.faults.add("api", "api_error", times=1)
    assert sync().code == 0
    upstream.faults.add("api", "api_error", times=-1)
    result = sync()
    assert result.code == 2 and "HTTP 503" in result.err
