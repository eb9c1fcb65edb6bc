"""Stops that stop: SIGTERM against a stalled blob ends within stop_grace_s + 2 s, non-zero, consistent."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import PYTHONPATH
from tests.integration.conftest import FAST_RETRIES, expected_files, run_cli, sha_of, state_of

ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 2.0


def test_sigterm_against_a_stalled_blob_exits_in_time_non_zero_and_consistent(upstream, tmp_path):
    root = tmp_path / "mirror"
    files = sorted(expected_files(upstream))
    stalled = files[2]  # two bottles are stored before it, the rest wait behind it
    fault = upstream.faults.add(sha_of(upstream, stalled), "stall", times=-1, seconds=3600)
    env = {
        **os.environ,
        **FAST_RETRIES,
        "HOMEBREW_SYNC_READ_TIMEOUT_S": "120",  # only the stop may end the stalled read
        "HOMEBREW_SYNC_STOP_GRACE_S": str(STOP_GRACE_S),
        "HOMEBREW_SYNC_CHECKPOINT_EVERY": "1",
        "PYTHONPATH": PYTHONPATH,
    }
    args = ["sync", "--dest", str(root), "--date", "2025-07-21", "--concurrency", "1", "--json", "--no-progress"]
    task = subprocess.Popen(
        [sys.executable, "-m", "homebrew_sync", *args, *upstream.cli_args()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while fault.hits == 0 and time.monotonic() < deadline and task.poll() is None:
        time.sleep(0.05)
    assert fault.hits and task.poll() is None, task.communicate()[1][-2000:]
    time.sleep(0.2)  # the read is blocked in the socket now
    term_sent = time.monotonic()
    task.send_signal(signal.SIGTERM)
    out, err = task.communicate(timeout=120)
    exit_s = time.monotonic() - term_sent
    print(f"SIGTERM to exit against a stalled blob: {exit_s:.2f} s (stop_grace_s {STOP_GRACE_S})")
    assert exit_s < STOP_GRACE_S + 2, exit_s

    summary = json.loads(out.strip().splitlines()[-1])
    assert task.returncode == 4, err[-2000:]
    assert f"interrupted by SIGTERM: {summary['not_started']} of {len(files)} planned bottles not started" in err
    assert stalled in err and summary["not_started"] >= len(files) - 2 and summary["failed"] == 0
    state = state_of(root)["bottles"]
    assert 2 <= len(state) < len(files) and stalled not in state
    for record in state.values():
        assert hashlib.sha256((root / record["key"]).read_bytes()).hexdigest() == record["sha256"]
    assert not (root / "locks" / "sync.lock").exists()
    assert not list(root.rglob("*.part")), "temp files left"

    upstream.faults.clear()
    rerun = run_cli(*args, *upstream.cli_args())
    assert rerun.code == 0 and set(state_of(root)["bottles"]) == set(files)
