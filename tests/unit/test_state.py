"""State file: validation that fails closed, migration, compare-and-swap, backups; and the run lock."""

import contextlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from homebrew_sync.errors import LockHeldError, StateError
from homebrew_sync.keys import LOCK_KEY, STATE_BACKUP_KEY, STATE_KEY
from homebrew_sync.lock import LockInfo, RunLock
from homebrew_sync.models import StateFile
from homebrew_sync.state import StateStore, dump_state, parse_state

from tests.helpers import record, sha

FILE = "curl-8.0.0.arm64_sonoma.bottle.tar.gz"


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"schema_version": 99, "bottles": {}}',
        b'{"schema_version": 2, "bottles": {"x.tar.gz": {"sha256": "nope"}}}',
        b'{"schema_version": 2, "bottles": {"../evil.tar.gz": {"sha256": "' + b"a" * 64 + b'", "size": 1, '
        b'"key": "x", "formula": "x", "tag": "all", "downloaded_at": "2025-01-01"}}}',
        b'{"something": "else"}',
        b"\xff\xfe",
    ],
    ids=["not-json", "array", "unknown-version", "bad-sha", "unsafe-file", "foreign", "binary"],
)
def test_corrupt_or_foreign_state_fails_closed_and_is_untouched(storage, content):
    storage.write(STATE_KEY, content)
    store = StateStore(storage)
    with pytest.raises(StateError, match="left untouched"):
        store.load()
    with pytest.raises(StateError):
        store.commit(lambda s: s.bottles.clear())
    assert storage.read(STATE_KEY).data == content
    assert storage.read(STATE_BACKUP_KEY) is None


def test_missing_state_is_empty_and_first_commit_creates_it(storage):
    store = StateStore(storage)
    assert store.load().bottles == {}
    store.commit(lambda s: s.bottles.update({FILE: record(FILE, sha("1"))}))
    assert list(store.load().bottles) == [FILE]
    assert storage.read(STATE_BACKUP_KEY) is None


def test_every_write_keeps_the_previous_good_version(storage, monkeypatch):
    """In a folder as a backup object, written before the new state; in a bucket as the previous object
    version (versioning)."""
    store = StateStore(storage)
    store.commit(lambda s: s.bottles.update({FILE: record(FILE, sha("1"))}))
    first = storage.read(STATE_KEY).data
    written: list[str] = []
    write = storage.write
    monkeypatch.setattr(storage, "write", lambda key, data, **kw: (written.append(key), write(key, data, **kw))[1])
    store.commit(lambda s: s.bottles.update({"b-1.0.all.bottle.tar.gz": record("b-1.0.all.bottle.tar.gz", sha("2"))}))
    assert written == ([STATE_KEY] if storage.keeps_versions else [STATE_BACKUP_KEY, STATE_KEY])
    assert len(parse_state(storage.read(STATE_KEY).data).bottles) == 2
    if storage.keeps_versions:
        assert storage.read(STATE_BACKUP_KEY) is None  # no copy: the bucket keeps it
        key = storage.prefix + STATE_KEY
        versions = storage.client.list_object_versions(Bucket=storage.bucket, Prefix=key)["Versions"]
        [previous] = [v for v in versions if not v["IsLatest"]]
        old = storage.client.get_object(Bucket=storage.bucket, Key=key, VersionId=previous["VersionId"])
        assert old["Body"].read() == first
    else:
        assert storage.read(STATE_BACKUP_KEY).data == first


def test_v1_format_is_migrated():
    v1 = {
        "last_updated": "2025-07-21T03:00:00Z",
        "bottles": {FILE: {"sha256": sha("1"), "download_date": "2025-07-21", "file_size": 5}},
    }
    state = parse_state(json.dumps(v1).encode())
    entry = state.bottles[FILE]
    assert (entry.key, entry.size, entry.formula, entry.tag) == (f"2025-07-21/{FILE}", 5, "curl", "arm64_sonoma")


def test_concurrent_checkpoints_from_the_same_etag_merge_to_the_union(storage):
    """Two workers read the same version; the loser of the race re-reads and merges."""
    store = StateStore(storage)
    store.commit(lambda s: None)
    barrier = threading.Barrier(2)

    def worker(name):
        def update(state):
            state.bottles[f"{name}-1.0.all.bottle.tar.gz"] = record(f"{name}-1.0.all.bottle.tar.gz", sha(name))
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)  # both have read the same version before either writes

        store.commit(update)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.load().bottles) == ["a-1.0.all.bottle.tar.gz", "b-1.0.all.bottle.tar.gz"]


def test_dump_parse_round_trip():
    state = StateFile(bottles={FILE: record(FILE, sha("1"))})
    assert parse_state(dump_state(state)) == state


# --- the run lock ----------------------------------------------------------------------------------------


def test_second_run_is_refused_with_exit_code_3(storage):
    first = RunLock(storage, owner="a", run_id="r1", ttl_s=3600)
    first.acquire()
    second = RunLock(storage, owner="b", run_id="r2", ttl_s=3600)
    with pytest.raises(LockHeldError) as caught:
        second.acquire()
    assert caught.value.exit_code == 3 and caught.value.run_id == "r1"


def test_expired_lock_is_taken_over(storage):
    expired = LockInfo("a", "r1", datetime.now(UTC) - timedelta(seconds=1))
    storage.write(LOCK_KEY, expired.dump())
    lock = RunLock(storage, owner="b", run_id="r2", ttl_s=3600)
    lock.acquire()
    assert LockInfo.parse(storage.read(LOCK_KEY).data).owner == "b"


def test_lock_is_released_only_by_its_owner(storage):
    owner = RunLock(storage, owner="a", run_id="r1", ttl_s=3600)
    owner.acquire()
    RunLock(storage, owner="b", run_id="r2", ttl_s=3600).release()
    assert storage.read(LOCK_KEY) is not None
    owner.refresh()
    owner.release()
    assert storage.read(LOCK_KEY) is None


def test_a_worker_of_the_same_run_adopts_the_lock(storage):
    RunLock(storage, owner="orchestrator", run_id="r1", ttl_s=3600).acquire()
    worker = RunLock(storage, owner="worker", run_id="r1", ttl_s=3600)
    assert worker.adopt()
    worker.release()
    assert storage.read(LOCK_KEY) is None
    assert not RunLock(storage, owner="x", run_id="r9", ttl_s=60).adopt()


def test_lock_of_a_killed_local_process_is_taken_over(storage):
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = f"{socket.gethostname()}:{dead.stdout.strip()}:abcd"
    storage.write(LOCK_KEY, LockInfo(owner, "r1", datetime.now(UTC) + timedelta(hours=1)).dump())
    RunLock(storage, owner="b", run_id="r2", ttl_s=3600).acquire()
    assert LockInfo.parse(storage.read(LOCK_KEY).data).owner == "b"
    # a live owner on this machine is respected
    storage.write(
        LOCK_KEY, LockInfo(f"{socket.gethostname()}:1:x", "r3", datetime.now(UTC) + timedelta(hours=1)).dump()
    )
    with pytest.raises(LockHeldError):
        RunLock(storage, owner="c", run_id="r4", ttl_s=3600).acquire()
