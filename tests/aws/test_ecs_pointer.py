"""The ECS entrypoint pointed at a shard that does not exist: exit 2 with one log line, no traceback."""

import os
import subprocess
import sys

from tests.aws.test_ecs_entrypoint import ROOT, ecs_world  # noqa: F401 (the fixture)
from tests.helpers import PYTHONPATH


def test_a_bad_pointer_exits_2_without_a_traceback(ecs_world):  # noqa: F811
    env = {
        **os.environ,
        "HOMEBREW_SYNC_RUN_ID": "sched-1",
        "HOMEBREW_SYNC_SHARD_KEY": "runs/sched-1/shard-000-p0.json",
        "PYTHONPATH": PYTHONPATH,
    }
    task = subprocess.run(
        [sys.executable, str(ROOT / "ecs" / "entrypoint.py")], env=env, capture_output=True, text=True, timeout=60
    )
    assert task.returncode == 2
    output = task.stdout + task.stderr
    assert "Traceback" not in output and "shard runs/sched-1/shard-000-p0.json does not exist" in output
    assert len(output.splitlines()) == 1, output  # the one line an operator reads in the task's log
