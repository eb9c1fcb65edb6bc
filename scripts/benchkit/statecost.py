"""The state benchmark (scripts/bench_state.py) run as a subprocess; its JSON goes into the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchkit.procs import ROOT, BenchError, Workspace, child_env, run_process


def measure(ws: Workspace, entries: int, bottles: int, shards: int, log: Any = print) -> dict[str, Any]:
    """bench_state.py once per backend, so that one backend's failure does not cost the other's figures."""
    log(f"state cost: {entries} entries, {bottles} new bottles in {shards} shards (before / after)")
    result: dict[str, Any] = {}
    errors = {}
    for backend in ("local", "s3"):
        work = ws.fresh("state")
        command = [sys.executable, str(ROOT / "scripts" / "bench_state.py"), "--entries", str(entries),
                   "--bottles", str(bottles), "--shards", str(shards), "--backend", backend]  # fmt: skip
        run = run_process(command, child_env(work / "cache"), work, timeout=3600)
        if run.returncode != 0:
            errors[backend] = run.tail(1)
            log(f"  {backend}: bench_state.py failed: {run.tail(1)}")
            continue
        figures = run.last_json()
        result = {**figures, **result, backend: figures[backend]}
        for when in ("before", "after"):
            f = figures[backend][when]
            log(f"  {backend:5} {when:6}: read {f.get('read_bytes', 0) / 1e6:8.1f} MB, written "
                f"{f.get('written_bytes', 0) / 1e6:8.1f} MB, {f['seconds']:.2f} s")  # fmt: skip
    if not result:
        raise BenchError(f"bench_state.py failed: {errors}")
    return {**result, "errors": errors} if errors else result


def load(path: Path) -> dict[str, Any]:
    """An earlier output of scripts/bench_state.py (its JSON line, or a report JSON holding it as "state")."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read state figures from {path}: {exc}") from None
    data = data.get("state", data)
    if "entries" not in data or not ("local" in data or "s3" in data):
        raise BenchError(f"{path} holds no output of scripts/bench_state.py")
    return {**data, "source": str(path)}
