"""What a killed run leaves behind in a local mirror never stops the next run, and is cleaned up."""

import os
import subprocess
import sys
import time

from tests.integration.conftest import bottle_listing, expected_files


def dead_pid() -> int:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(gone.stdout)


def test_a_lock_write_guard_left_by_a_killed_run_is_taken_over(sync, upstream, tmp_path):
    """Killed while writing the run lock: the guard file stays (empty, or naming a dead process); nobody
    holds its flock, so the next run goes on at once."""
    locks = tmp_path / "mirror" / "locks"
    locks.mkdir(parents=True)
    unnamed = locks / ".sync.lock.lock"
    unnamed.write_text("")
    os.utime(unnamed, (time.time() - 5, time.time() - 5))
    (locks / ".sync.lock.1234-0123abcd.part").write_text('{"owner": "x", "run_id"')  # the half-written lock
    started = time.monotonic()
    first = sync()
    assert first.code == 0, first.err
    assert time.monotonic() - started < 10  # not the 10 s guard wait
    assert not (locks / ".sync.lock.1234-0123abcd.part").exists()  # the half-written lock is cleaned up

    import socket

    named = locks / ".sync.lock.lock"
    named.write_text(f"{socket.gethostname()}:{dead_pid()}")  # fresh, but its writer is gone
    second = sync()
    assert second.code == 0, second.err
    assert bottle_listing(tmp_path / "mirror") == sorted(f"2025-07-21/{f}" for f in expected_files(upstream))


def test_temp_files_of_dead_runs_are_removed_at_the_start_of_the_next(sync, tmp_path):
    day = tmp_path / "mirror" / "2025-07-21"
    day.mkdir(parents=True)
    killed = day / f".big-1.0.arm64_sonoma.bottle.tar.gz.{dead_pid()}-0123abcd.part"
    killed.write_bytes(b"x" * (1 << 20))
    old = day / ".old-1.0.arm64_sonoma.bottle.tar.gz.89abcdef.part"  # the format before writers were named
    old.write_bytes(b"x" * 1024)
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    alive = day / f".live-1.0.arm64_sonoma.bottle.tar.gz.{os.getppid()}-0123abcd.part"
    alive.write_bytes(b"x")
    result = sync()
    assert result.code == 0, result.err
    assert not killed.exists() and not old.exists()
    assert alive.exists()  # a process that is still running may still be writing it


def test_rebuild_state_waits_for_no_run_and_never_overwrites_a_newer_state(sync, tmp_path, monkeypatch):
    import json

    from homebrew_sync.keys import STATE_BACKUP_KEY
    from homebrew_sync.models import StateFile
    from homebrew_sync.state import StateStore
    from homebrew_sync.storage.local import LocalStorage

    from tests.integration.conftest import run_cli

    root = tmp_path / "mirror"
    assert sync().code == 0
    (root / "locks").mkdir(exist_ok=True)
    (root / "locks" / "sync.lock").write_text(
        json.dumps({"owner": "other", "run_id": "r0", "expires_at": "2999-01-01T00:00:00+00:00"})
    )
    held = run_cli("verify", "--dest", str(root), "--rebuild-state")
    assert held.code == 3 and "another run holds the lock" in held.err
    (root / "locks" / "sync.lock").unlink()

    recorded = StateStore(LocalStorage(root)).load()
    victim, record = sorted(recorded.bottles.items())[0]
    real_write = LocalStorage.write

    def a_sync_records_meanwhile(self, key, data, **conditions):
        if key == STATE_BACKUP_KEY:  # between the rebuild's read and its write, another writer records
            monkeypatch.setattr(LocalStorage, "write", real_write)

            def add(state: StateFile) -> None:
                state.bottles["late-1.0.arm64_sonoma.bottle.tar.gz"] = record.model_copy(
                    update={"key": "2025-07-21/late-1.0.arm64_sonoma.bottle.tar.gz"}
                )

            StateStore(LocalStorage(root)).commit(add)
        return real_write(self, key, data, **conditions)

    monkeypatch.setattr(LocalStorage, "write", a_sync_records_meanwhile)
    raced = run_cli("verify", "--dest", str(root), "--rebuild-state")
    assert raced.code == 2 and "changed while the state was being rebuilt" in raced.err
    assert "late-1.0.arm64_sonoma.bottle.tar.gz" in StateStore(LocalStorage(root)).load().bottles
    assert victim in StateStore(LocalStorage(root)).load().bottles
