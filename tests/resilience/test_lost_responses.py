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
    """Any Storage whose every small-document call (state, lock, runs) fails once with a transient error."""

    def __init__(self, inner):
        self.inner = inner
        self.url = inner.url
        self.failed: set[tuple[str, str]] = set()

    def _once(self, action: str, key: str) -> None:
        if (action, key) not in self.failed:
            self.failed.add((action, key))
            raise StorageError(f"cannot {action} {key}: Read timeout on endpoint URL", transient=True)

    def read(self, key):
        self._once("read", key)
        return self.inner.read(key)

    def write(self, key, data, **conditions):
        self._once("write", key)
        return self.inner.write(key, data, **conditions)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_transient_storage_errors_at_checkpoints_and_heartbeats_do_not_kill_the_run(upstream, tmp_path, monkeypatch):
    import homebrew_sync.engine

    open_storage = homebrew_sync.engine.open_storage
    flaky: list[FlakyDocuments] = []

    def wrapped(settings):
        flaky.append(FlakyDocuments(open_storage(settings)))
        return flaky[-1]

    monkeypatch.setattr(homebrew_sync.engine, "open_storage", wrapped)
    monkeypatch.setenv("HOMEBREW_SYNC_CHECKPOINT_EVERY", "1")
    dest = str(tmp_path / "mirror")
    result = run_cli("sync", "--dest", dest, "--date", "2025-07-21", "--json", *upstream.cli_args())
    assert result.code == 0, result.err
    assert {("write", "bottles_hash.json"), ("read", "locks/sync.lock")} <= flaky[0].failed
    assert set(StateStore(LocalStorage(tmp_path / "mirror")).load().bottles) == expected_files(upstream)
    assert not (tmp_path / "mirror" / "locks" / "sync.lock").exists()
