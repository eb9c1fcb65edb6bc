"""A run killed mid-way (SIGKILL) and restarted re-downloads nothing that was verified and recorded."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from homebrew_sync.errors import StateError, StorageError
from homebrew_sync.journal import effective_state
from homebrew_sync.state import StateStore
from homebrew_sync.storage.local import LocalStorage

from tests.helpers import PYTHONPATH
from tests.integration.conftest import FAST_RETRIES, bottle_listing, expected_files

ROOT = Path(__file__).resolve().parents[2]


def completed_downloads(upstream) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in upstream.requests:
        if record.host == "blob" and record.status == 200 and record.completed:
            counts[record.sha256] = counts.get(record.sha256, 0) + 1
    return counts


def test_sigkill_mid_run_then_rerun_converges_without_refetching(upstream, tmp_path):
    root = tmp_path / "mirror"
    for _name, bottle in list(upstream.catalogue.iter_bottles())[::2]:
        upstream.faults.add(bottle.sha256, "slow_drip", times=1, interval=0.02, chunk=1024)
    env = {**os.environ, **FAST_RETRIES, "HOMEBREW_SYNC_CHECKPOINT_EVERY": "1", "PYTHONPATH": PYTHONPATH}
    command = [
        sys.executable,
        "-m",
        "homebrew_sync",
        "sync",
        "--dest",
        str(root),
        "--date",
        "2025-07-21",
        "--concurrency",
        "2",
        *upstream.cli_args(),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state_path = root / "bottles_hash.json"
    storage = LocalStorage(root)

    def recorded_so_far() -> dict:
        """What the state says once the journals of the run are folded in (as the rerun does)."""
        return {f: r.model_dump() for f, r in effective_state(storage, StateStore(storage)).bottles.items()}

    deadline = time.monotonic() + 60
    recorded: dict = {}
    while time.monotonic() < deadline and process.poll() is None:
        try:
            recorded = recorded_so_far()
        except (StateError, StorageError, OSError):
            recorded = {}
        if len(recorded) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, "the run must still be going when it is killed"
    after_kill = recorded_so_far()
    assert 3 <= len(after_kill) < len(expected_files(upstream))
    downloads_before = completed_downloads(upstream)
    # every recorded bottle exists with the right bytes
    for record in after_kill.values():
        assert (root / record["key"]).stat().st_size == record["size"]

    upstream.faults.clear()
    rerun = subprocess.run(command + ["--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    downloads_after = completed_downloads(upstream)
    for record in after_kill.values():
        assert downloads_after.get(record["sha256"], 0) == downloads_before.get(record["sha256"], 0), record
    assert set(bottle_listing(root)) == {f"2025-07-21/{f}" for f in expected_files(upstream)}
    final = json.loads(state_path.read_text())["bottles"]
    assert set(after_kill) <= set(final)
    assert all((root / r["key"]).exists() for r in after_kill.values())
    assert summary["failed"] == 0
