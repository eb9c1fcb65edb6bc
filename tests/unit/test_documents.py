"""The conditional-write protocol and the run lock lease, against both backends, with responses lost."""

from datetime import UTC, datetime, timedelta

import pytest
from homebrew_sync.errors import LockHeldError, PreconditionFailed, StorageError
from homebrew_sync.keys import LOCK_KEY
from homebrew_sync.lock import LockInfo, RunLock
from homebrew_sync.storage.documents import delete_document, write_document

from tests.resilience.crash import LostResponseStorage


@pytest.mark.parametrize("mode", ["timeout", "retried"])
def test_a_landed_write_whose_response_was_lost_is_ours(storage, mode):
    lossy = LostResponseStorage(storage, mode)
    etag = write_document(lossy, "runs/r/run.json", b"first", if_absent=True)
    assert storage.read("runs/r/run.json").etag == etag
    newer = write_document(lossy, "runs/r/run.json", b"second", if_match=etag)
    assert storage.read("runs/r/run.json").data == b"second" and storage.read("runs/r/run.json").etag == newer
    delete_document(lossy, "runs/r/run.json", if_match=newer)
    assert storage.read("runs/r/run.json") is None
    assert lossy.landed == ["write runs/r/run.json", "write runs/r/run.json", "delete runs/r/run.json"]


def test_a_foreign_write_still_loses(storage):
    write_document(storage, "claim.json", b"theirs", if_absent=True)
    with pytest.raises(PreconditionFailed):
        write_document(storage, "claim.json", b"ours", if_absent=True)
    with pytest.raises(PreconditionFailed):
        write_document(storage, "claim.json", b"ours", if_match='"stale"')
    assert storage.read("claim.json").data == b"theirs"


def test_transient_errors_are_retried_within_a_budget(storage):
    class Flaky:
        url = storage.url

        def __init__(self, failures):
            self.failures = failures

        def write(self, *args, **kwargs):
            if self.failures:
                self.failures -= 1
                raise StorageError("cannot write x: Read timeout", transient=True)
            return storage.write(*args, **kwargs)

        def read(self, key):
            return storage.read(key)

    write_document(Flaky(3), "x.json", b"1")
    assert storage.read("x.json").data == b"1"
    with pytest.raises(StorageError, match="Read timeout"):
        write_document(Flaky(10), "y.json", b"1")


@pytest.mark.parametrize("mode", ["timeout", "retried"])
def test_the_lock_survives_lost_responses(storage, mode):
    lossy = LostResponseStorage(storage, mode)
    lock = RunLock(lossy, owner="me", run_id="r1", ttl_s=600)
    lock.acquire()  # not "another run holds the lock" when the other run is this one
    lock.refresh()
    assert lock.etag == storage.read(LOCK_KEY).etag
    other = RunLock(lossy, owner="other", run_id="r2", ttl_s=600)
    with pytest.raises(LockHeldError):
        other.acquire()
    lock.release()
    assert storage.read(LOCK_KEY) is None


def test_every_holder_of_a_run_keeps_refreshing_the_lease(storage):
    orchestrator = RunLock(storage, owner="run:r1", run_id="r1", ttl_s=600)
    orchestrator.acquire()
    shards = [RunLock(storage, owner="run:r1", run_id="r1", ttl_s=600) for _ in range(3)]
    assert all(shard.adopt() for shard in shards)
    for _round in range(3):
        for shard in shards:
            before = LockInfo.parse(storage.read(LOCK_KEY).data).expires_at
            refreshed_at = datetime.now(UTC)
            shard.refresh()
            assert shard.etag is not None, "a shard stopped refreshing after another refreshed first"
            expires = LockInfo.parse(storage.read(LOCK_KEY).data).expires_at
            assert expires > before and expires >= refreshed_at + timedelta(seconds=600)  # pushed forward
    shards[0].release()
    assert storage.read(LOCK_KEY) is None


def test_a_refresh_stops_when_the_lock_went_to_another_run(storage):
    lock = RunLock(storage, owner="run:r1", run_id="r1", ttl_s=600)
    lock.acquire()
    storage.write(LOCK_KEY, LockInfo("run:r2", "r2", datetime.now(UTC) + timedelta(hours=1)).dump())
    lock.refresh()
    assert lock.etag is None and LockInfo.parse(storage.read(LOCK_KEY).data).run_id == "r2"


def test_a_repeated_trigger_continues_the_lease_of_its_own_run(storage):
    RunLock(storage, owner="run:r1", run_id="r1", ttl_s=600).acquire()
    again = RunLock(storage, owner="run:r1", run_id="r1", ttl_s=600)
    again.acquire()
    assert again.etag == storage.read(LOCK_KEY).etag


def test_refresh_and_release_never_raise_on_storage_failures(storage):
    lock = RunLock(storage, owner="me", run_id="r1", ttl_s=600)
    lock.acquire()

    class Down:
        url = storage.url

        def __getattr__(self, name):
            def fail(*_args, **_kwargs):
                raise StorageError("cannot read s3://b/locks/sync.lock: cannot reach the endpoint", transient=True)

            return fail

    lock.storage = Down()
    lock.refresh()
    assert lock.etag is not None  # tried again at the next heartbeat
    lock.release()
