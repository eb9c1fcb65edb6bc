"""The state benchmark (scripts/bench_state.py) run as a subprocess; its JSON goes into the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchkit.procs import ROOT, BenchError, Workspace, child_env, run_process


def measure(ws: Workspace, entries: int, bottles: int, shards: int, log: Any = print) -> dict[str, Any]:
    log(f"state cost: {entries} entries, {bottles} new bottles in {shards} shards (before / after)")
    work = ws.fresh("state")
    command = [
        sys.executable,
        str(ROOT / "scripts" / "bench_state.py"),
        "--entries",
        str(entries),
        "--bottles",
        str(bottles),
        "--shards",
        str(shards),
    ]
    run = run_process(command, child_env(work / "cache"), work)
    if run.returncode != 0:
        raise BenchError(f"bench_state.py failed (exit {run.returncode}): {run.tail()}")
    result = run.last_json()
    for backend in ("local", "s3"):
        for when in ("before", "after"):
            figures = result[backend][when]
            log(
                f"  {backend:5} {when:6}: read {figures.get('read_bytes', 0) / 1e6:8.1f} MB, written "
                f"{figures.get('written_bytes', 0) / 1e6:8.1f} MB, {figures['seconds']:.2f} s"
            )
    return result


def load(path: Path) -> dict[str, Any]:
    """An earlier output of scripts/bench_state.py (its JSON line, or a report JSON holding it as "state")."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read state figures from {path}: {exc}") from None
    data = data.get("state", data)
    if not all(k in data for k in ("entries", "local", "s3")):
        raise BenchError(f"{path} holds no output of scripts/bench_state.py")
    return {**data, "source": str(path)}
