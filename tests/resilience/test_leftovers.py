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
    """Killed while writing the run lock: the guard file stays (unnamed, or naming a dead process)."""
    locks = tmp_path / "mirror" / "locks"
    locks.mkdir(parents=True)
    unnamed = locks / ".sync.lock.lock"
    unnamed.write_text("")
    os.utime(unnamed, (time.time() - 5, time.time() - 5))
    (locks / ".sync.lock.1234-0123abcd.part").write_text('{"owner": "x", "run_id"')  # the half-written lock
    started = time.monotonic()
    first = sync()
    assert first.code == 0, first.err
    assert time.monotonic() - started < 10  # not the 10 s guard wait, not the 30 s staleness rule
    assert not unnamed.exists()

    import socket

    named = locks / ".sync.lock.lock"
    named.write_text(f"{socket.gethostname()}:{dead_pid()}")  # fresh, but its writer is gone
    second = sync()
    assert second.code == 0, second.err
    assert bottle_listing(tmp_path / "mirror") == sorted(f"2025-07-21/{f}" for f in expected_files(upstream))
