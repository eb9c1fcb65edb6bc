"""Peak RSS of a sync whose only bottle is huge: memory must not grow with the bottle's size."""

from __future__ import annotations

import shutil
import time
from typing import Any

from benchkit.procs import BenchError, MotoProcess, Workspace
from benchkit.throughput import run_sync

BIG_FORMULA = "huge-bottle"


def measure(ws: Workspace, size: int, moto: MotoProcess | None, seed: int, log: Any = print) -> list[dict[str, Any]]:
    """One sync of the huge bottle into a local folder and one into S3; peak RSS of the sync's process tree."""
    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    log(f"peak RSS with one {size / 1e6:.0f} MB bottle (hashing it for the catalogue first)")
    catalogue = generate_catalogue(10, seed, big_bottles={BIG_FORMULA: size})
    results = []
    with FakeUpstream(catalogue) as upstream:
        for target, store in [("local", None)] + ([("s3", moto)] if moto is not None else []):
            folder = ws.fresh("big")
            prefix = f"big-{time.monotonic_ns()}"
            dest = f"s3://{store.bucket}/{prefix}" if store else str(folder)
            try:
                summary, run = run_sync(ws, upstream, dest, 8, store, {}, "--formula", BIG_FORMULA)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
                if store is not None:
                    store.empty(prefix + "/")
            if int(summary["bytes_downloaded"]) != size:
                raise BenchError(f"the huge bottle sync downloaded {summary['bytes_downloaded']} bytes, not {size}")
            figure = {
                "target": target,
                "bottle_bytes": size,
                "peak_rss": run.peak_rss,
                "engine_s": float(summary["duration_s"]),
                "mbps": size / float(summary["duration_s"]) / 1e6,
            }
            results.append(figure)
            log(f"  {target}: peak RSS {run.peak_rss / 1e6:.0f} MB, {figure['mbps']:.0f} MB/s")
    return results
