"""Sync throughput set against the simplest correct mirror, in alternating pairs of subprocesses.

A pair is one `sync` into an empty destination and one baseline run over exactly the blobs that sync
downloaded, the order alternating from pair to pair so that the machine's drift falls on both alike.
The figure of a pair is the ratio of their MB/s; the report gives the median and the best pair.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit.procs import BenchError, MotoProcess, Workspace, child_env, homebrew_sync, run_process

BASELINE = Path(__file__).with_name("baseline.py")


@dataclass
class Pair:
    sync_mbps: float
    baseline_mbps: float
    sync_s: float
    baseline_s: float
    sync_rss: int
    sync_cpu_s: float
    baseline_cpu_s: float
    baseline_setup_s: float  # of baseline_s: importing boto3 and building the client (0 for local)

    @property
    def ratio(self) -> float:
        return self.sync_mbps / self.baseline_mbps

    @property
    def ratio_without_setup(self) -> float:
        """The same ratio with the baseline's clock started after its S3 client was built."""
        return self.ratio * (self.baseline_s - self.baseline_setup_s) / self.baseline_s


@dataclass
class Throughput:
    target: str  # "local" or "s3"
    concurrency: int
    env: dict[str, str] = field(default_factory=dict)
    label: str = ""
    blobs: int = 0
    blob_bytes: int = 0
    pairs: list[Pair] = field(default_factory=list)
    unique: list[dict[str, Any]] = field(default_factory=list, repr=False)  # what the baseline moves

    def as_dict(self) -> dict[str, Any]:
        ratios = [p.ratio for p in self.pairs]
        return {
            "target": self.target,
            "label": self.label or self.target,
            "concurrency": self.concurrency,
            "env": self.env,
            "blobs": self.blobs,
            "blob_bytes": self.blob_bytes,
            "ratio_median": statistics.median(ratios) if ratios else None,
            "ratio_best": max(ratios) if ratios else None,
            "sync_mbps_median": statistics.median(p.sync_mbps for p in self.pairs) if ratios else None,
            "baseline_mbps_median": statistics.median(p.baseline_mbps for p in self.pairs) if ratios else None,
            "ratio_without_setup_median": statistics.median(p.ratio_without_setup for p in self.pairs)
            if ratios
            else None,
            "sync_peak_rss": max((p.sync_rss for p in self.pairs), default=None),
            "pairs": [{**vars(p), "ratio": p.ratio, "ratio_without_setup": p.ratio_without_setup} for p in self.pairs],
        }


def run_sync(
    ws: Workspace,
    upstream: Any,
    dest: str,
    concurrency: int,
    moto: MotoProcess | None,
    env: dict[str, str],
    *extra: str,
) -> tuple[dict[str, Any], Any]:
    """One `sync` subprocess; a failed bottle voids the figure."""
    work = ws.fresh("sync")
    try:
        run = run_process(
            homebrew_sync("sync", upstream, dest, "--concurrency", str(concurrency), *extra),
            child_env(work / "cache", {**(moto.env() if moto else {}), **env}),
            work,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = run.last_json()
    if run.returncode != 0 or summary.get("failed"):
        raise BenchError(f"sync into {dest} exited {run.returncode}: {summary.get('failures')}\n{run.tail()}")
    return summary, run


def run_baseline(
    ws: Workspace, blobs: list[dict[str, Any]], concurrency: int, moto: MotoProcess | None
) -> tuple[float, float, Any]:
    """The baseline process over these blobs; returns (its own seconds, of them set-up, the process run)."""
    work = ws.fresh("baseline")
    job: dict[str, Any] = {"concurrency": concurrency, "blobs": blobs}
    if moto is not None:
        prefix = f"baseline-{time.monotonic_ns()}"
        job.update(mode="s3", endpoint=moto.endpoint, bucket=moto.bucket, prefix=prefix)
    else:
        (work / "dest").mkdir()
        job.update(mode="local", dest=str(work / "dest"))
    (work / "job.json").write_text(json.dumps(job))
    try:
        run = run_process(
            [sys.executable, str(BASELINE), str(work / "job.json")],
            child_env(work / "cache", moto.credentials if moto else None),
            work,
        )
        if run.returncode != 0:
            raise BenchError(f"baseline failed (exit {run.returncode}): {run.tail()}")
        result = run.last_json()
        if moto is not None and moto.count(prefix + "/") != len(blobs):
            raise BenchError("the S3 baseline did not store every blob")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if moto is not None:
            moto.empty(prefix + "/")
    if result["bytes"] != sum(b["size"] for b in blobs):
        raise BenchError(f"baseline moved {result['bytes']} bytes, expected {sum(b['size'] for b in blobs)}")
    return float(result["seconds"]), float(result.get("setup_s", 0.0)), run


def downloaded_blobs(upstream: Any, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The unique blobs a sync downloaded (copies excluded): what the baseline must move too."""
    blobs: dict[str, dict[str, Any]] = {}
    for bottle in summary["bottles"]:
        if bottle["status"] == "downloaded" and bottle["sha256"] not in blobs:
            sha = bottle["sha256"]
            blobs[sha] = {"url": upstream.blob_url(sha), "sha256": sha, "size": int(bottle["size"])}
    return list(blobs.values())


def sync_once(ws: Workspace, upstream: Any, figure: Throughput, moto: MotoProcess | None) -> tuple[dict[str, Any], Any]:
    if moto is not None:
        prefix = f"sync-{time.monotonic_ns()}"
        dest = f"s3://{moto.bucket}/{prefix}"
    else:
        folder = ws.fresh("mirror")
        dest = str(folder)
    try:
        return run_sync(ws, upstream, dest, figure.concurrency, moto, figure.env)
    finally:
        if moto is not None:
            moto.empty(prefix + "/")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def measure_pair(
    ws: Workspace, upstream: Any, figure: Throughput, moto: MotoProcess | None, baseline_first: bool, log: Any = print
) -> Pair:
    """One sync and one baseline over the same blobs, in the given order."""
    blobs = figure.unique
    if not blobs:
        baseline_first = False  # the first pair learns the blobs from a sync
    if baseline_first:
        base_s, setup_s, base_run = run_baseline(ws, blobs, figure.concurrency, moto)
        summary, sync_run = sync_once(ws, upstream, figure, moto)
    else:
        summary, sync_run = sync_once(ws, upstream, figure, moto)
    found = downloaded_blobs(upstream, summary)
    if not blobs:
        figure.unique = blobs = found
        figure.blobs, figure.blob_bytes = len(found), sum(b["size"] for b in found)
    elif {b["sha256"] for b in found} != {b["sha256"] for b in blobs}:
        raise BenchError("two syncs of the same catalogue downloaded different blobs")
    if not baseline_first:
        base_s, setup_s, base_run = run_baseline(ws, blobs, figure.concurrency, moto)
    size = figure.blob_bytes
    pair = Pair(
        sync_mbps=int(summary["bytes_downloaded"]) / float(summary["duration_s"]) / 1e6,
        baseline_mbps=size / base_s / 1e6,
        sync_s=float(summary["duration_s"]),
        baseline_s=base_s,
        sync_rss=sync_run.peak_rss,
        sync_cpu_s=sync_run.cpu_s,
        baseline_cpu_s=base_run.cpu_s,
        baseline_setup_s=setup_s,
    )
    log(
        f"  {figure.label or figure.target:28} sync {pair.sync_mbps:6.1f} MB/s  baseline {pair.baseline_mbps:6.1f} MB/s"
        f"  ratio {pair.ratio:.2f}"
    )
    return pair


def measure(
    ws: Workspace,
    upstream: Any,
    figures: list[Throughput],
    pairs: int,
    moto: MotoProcess | None,
    log: Any = print,
    warmup: bool = True,
) -> None:
    """Several pairs of every figure, round-robin (one discarded warm-up first), order alternating."""
    for figure in figures if warmup else []:  # warm-up: learns the blobs, fills the page cache; not recorded
        measure_pair(ws, upstream, figure, moto, False, log=lambda *_: None)
    for index in range(pairs):
        for figure in figures:
            figure.pairs.append(measure_pair(ws, upstream, figure, moto, baseline_first=index % 2 == 1, log=log))
