"""Every conditional write lands and then its response is lost: the run completes, reports, releases the lock."""

import json

import pytest
from homebrew_sync.errors import StorageError
from homebrew_sync.keys import LOCK_KEY
from homebrew_sync.state import StateStore
from homebrew_sync.storage.local import LocalStorage
from homebrew_sync.storage.s3 import S3Storage

from tests.conftest import BUCKET
from tests.integration.conftest import expected_files, run_cli
from tests.resilience.crash import lose_responses
from tests.resilience.test_crash import sha_of_object


@pytest.mark.parametrize("mode", ["timeout", "retried"])
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_sync_completes_when_every_conditional_write_loses_its_response(
    upstream, tmp_path, monkeypatch, request, backend, mode
):
    if backend == "s3":
        storage = S3Storage(request.getfixturevalue("s3_client"), BUCKET, "lost")
        dest = f"s3://{BUCKET}/lost"
    else:
        storage, dest = LocalStorage(tmp_path / "mirror"), str(tmp_path / "mirror")
    monkeypatch.setenv("HOMEBREW_SYNC_CHECKPOINT_EVERY", "2")
    landed = lose_responses(monkeypatch.setattr, mode)
    result = run_cli("sync", "--dest", dest, "--date", "2025-07-21", "--json", *upstream.cli_args())
    assert result.code == 0, result.err
    assert "another run holds the lock" not in result.err
    assert {"write locks/sync.lock", "write bottles_hash.json", "delete locks/sync.lock"} <= set(landed)
    state = StateStore(storage).load()
    assert set(state.bottles) == expected_files(upstream)
    for record in state.bottles.values():
        assert sha_of_object(storage, record.key) == record.sha256
    assert storage.read(LOCK_KEY) is None
    summary = json.loads(storage.read(f"runs/{result.json['run_id']}/summary.json").data)
    assert summary["downloaded"] + summary["copied"] == len(expected_files(upstream))
    again = run_cli("sync", "--dest", dest, "--date", "2025-07-21", "--json", *upstream.cli_args())
    assert again.code == 0 and again.json["planned"] == 0


class FlakyDocuments:
    """Any Storage whose small-document calls fail with a transient error: every (action, key) once, which
    the document retries absorb; and, more times in a row than they retry, the first journal write and the
    first read of the lock after it was taken, which the runner and the lock heartbeat must survive."""

    def __init__(self, inner, burst: int):
        self.inner = inner
        self.url = inner.url
        self.burst = burst
        self.failed: set[tuple[str, str]] = set()
        self.bursts: dict[str, int] = {"journal write": 0, "lock read": 0}
        self.lock_writes = 0

    def _fail(self, action: str, key: str) -> None:
        raise StorageError(f"cannot {action} {key}: Read timeout on endpoint URL", transient=True)

    def _once(self, action: str, key: str) -> None:
        if (action, key) not in self.failed:
            self.failed.add((action, key))
            self._fail(action, key)

    def _in_burst(self, kind: str, action: str, key: str) -> None:
        if self.bursts[kind] < self.burst:
            self.bursts[kind] += 1
            self._fail(action, key)

    def read(self, key):
        if key == LOCK_KEY and self.lock_writes:
            self._in_burst("lock read", "read", key)
        self._once("read", key)
        return self.inner.read(key)

    def write(self, key, data, **conditions):
        if key.startswith("journal/"):
            self._in_burst("journal write", "write", key)
        self._once("write", key)
        etag = self.inner.write(key, data, **conditions)
        self.lock_writes += key == LOCK_KEY
        return etag

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_transient_storage_errors_at_checkpoints_and_heartbeats_do_not_kill_the_run(upstream, tmp_path, monkeypatch):
    import homebrew_sync.engine
    from homebrew_sync.storage import documents

    open_storage = homebrew_sync.engine.open_storage
    flaky: list[FlakyDocuments] = []

    def wrapped(settings):
        flaky.append(FlakyDocuments(open_storage(settings), burst=documents.RETRY.attempts + 1))
        return flaky[-1]

    monkeypatch.setattr(homebrew_sync.engine, "open_storage", wrapped)
    monkeypatch.setenv("HOMEBREW_SYNC_CHECKPOINT_EVERY", "1")
    monkeypatch.setenv("HOMEBREW_SYNC_CHECKPOINT_SECONDS", "0.01")  # a heartbeat at every turn of the loop
    dest = str(tmp_path / "mirror")
    result = run_cli("sync", "--dest", dest, "--date", "2025-07-21", "--json", *upstream.cli_args())
    assert result.code == 0, result.err
    storage = flaky[0]
    assert {("write", "bottles_hash.json"), ("read", LOCK_KEY)} <= storage.failed
    # both bursts outlasted the document retries, so a checkpoint and a heartbeat each failed whole
    assert storage.bursts == {"journal write": storage.burst, "lock read": storage.burst}
    assert "checkpoint failed; will retry" in result.err and "could not refresh the lock" in result.err
    assert storage.lock_writes >= 2  # taken, then refreshed by a later heartbeat
    assert set(StateStore(LocalStorage(tmp_path / "mirror")).load().bottles) == expected_files(upstream)
    assert not (tmp_path / "mirror" / "locks" / "sync.lock").exists()
