#!/usr/bin/env python3
"""`make bench`: throughput, memory and plan-time figures of homebrew-sync, measured on this machine.

Everything runs locally and offline: the fake upstream (`fakes/`) serves generated bottles over
real HTTP on 127.0.0.1, a moto server stands in for S3, and homebrew-sync runs as a subprocess exactly
as a user runs it. Every throughput figure is set against a raw baseline measured in the same run over
the same blobs at the same concurrency: plain streaming GETs with sha256 of every byte, bytes
discarded -- the least work any verifying mirror has to do on this machine.

    .venv/bin/python scripts/bench.py --out docs/benchmarks.md [--quick] [--skip-s3] [--skip-big]

Writes the Markdown report, a PNG chart of throughput against concurrency next to it, and prints the
figures. Exit code 1 when a measurement could not be made (the report says which).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

MB = 1_000_000  # every size and rate in the report is in decimal megabytes
MIB = 1 << 20
CHUNK = 1 << 20  # read size of the raw baseline, the same 1 MiB the engine reads
SEED = 20250101
SYNC_DATE = "2025-01-01"
BIG_FORMULA = "huge-bottle"
SAMPLE_INTERVAL_S = 0.02
RUN_TIMEOUT_S = 900
TMP_PARENT = "/tmp"

TARGET_RAW_RATIO = 0.8
TARGET_BIG_RSS_MB = 300
TARGET_PLAN_S = 3.0
TARGET_PLAN_RSS_MB = 400
CORES = os.cpu_count() or 1
SIZE_CONCURRENCY = 16  # the engine's default HOMEBREW_SYNC_SIZE_CONCURRENCY
NO_SIZES_LABEL = "local folder, size estimation off"
OUTSIDE_LOAD_WARNING = 0.15  # cores busy beyond this benchmark's processes that make MB/s figures suspect


class BenchError(RuntimeError):
    """A measurement could not be made (a run failed, or did something other than what was measured)."""


@dataclass(frozen=True)
class Profile:
    """The sizes of one benchmark run; `quick` only proves the script works."""

    name: str
    formulae: int  # catalogue of the throughput runs (a) and (d)
    min_blob: int
    max_blob: int
    repeats: int  # runs per figure in (a), local folder
    s3_repeats: int  # runs per figure in (a), S3
    sweep_repeats: int  # runs per concurrency in (d)
    concurrency: int  # of (a), (b) and (c)
    concurrencies: tuple[int, ...]
    big_bytes: int
    plan_formulae: int
    state_entries: int
    plan_repeats: int


FULL = Profile("full", 75, 2 * MIB, 8 * MIB, 7, 3, 3, 8, (1, 2, 4, 8, 16), 2 * 1024**3, 8300, 25_000, 5)
QUICK = Profile("quick", 12, 2 * MIB, 8 * MIB, 2, 2, 1, 8, (1, 2, 4, 8, 16), 256 * MIB, 1500, 5_000, 2)


# ---------------------------------------------------------------------------------------------------------
# Running a subprocess and watching it


@dataclass
class ProcessRun:
    """One finished subprocess: how long it took, how much memory and CPU it used, what it printed."""

    command: list[str]
    returncode: int
    wall_s: float
    peak_rss: int  # sampled every 20 ms with psutil, the process and its children
    kernel_hwm: int  # the kernel's high-water mark (VmHWM) of the process, a cross-check of the sampling
    cpu_s: float  # user + system CPU time of the process
    host_cpu_s: float  # CPU time this process (fake upstream, moto) spent meanwhile
    machine_busy: float  # cores busy machine-wide meanwhile (/proc/stat), whoever used them
    stdout: str
    stderr: str

    def summary(self) -> dict[str, Any]:
        """The JSON object homebrew-sync prints as its last line with --json."""
        lines = self.stdout.strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, ValueError):
            raise BenchError(f"no JSON summary from {self.describe()}: {self.stderr_tail()}") from None

    def describe(self) -> str:
        return " ".join(self.command[1:4])

    def stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(self.stderr.strip().splitlines()[-lines:])


class RssSampler(threading.Thread):
    """Peak resident set size of a process tree, polled every SAMPLE_INTERVAL_S.

    Polling misses spikes shorter than the interval, so the kernel's own high-water mark of the main
    process (VmHWM in /proc/<pid>/status) is read too: it covers the time between polls. (ru_maxrss from
    wait4 would not do: on Linux it also counts the parent's pages the child held before exec.)
    """

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.peak = 0
        self.hwm = 0
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            process = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.is_set():
            try:
                rss = process.memory_info().rss
                for child in process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        rss += child.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.hwm = max(self.hwm, _vm_hwm(self.pid))
            self._done.wait(SAMPLE_INTERVAL_S)

    def finish(self) -> int:
        self._done.set()
        self.join(timeout=5)
        return self.peak


def _vm_hwm(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    return 0


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from the first line of /proc/stat."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields) - idle, sum(fields)
    return 0, 0


def background_load(seconds: float = 2.0) -> float:
    """Cores busy machine-wide while this benchmark does nothing: load it cannot control."""
    before = _cpu_ticks()
    time.sleep(seconds)
    busy, total = (after - start for after, start in zip(_cpu_ticks(), before, strict=True))
    return busy / total * CORES if total else float("nan")


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the process group of a child started with start_new_session (it and its children only)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_process(command: list[str], env: dict[str, str], workdir: Path, timeout: float = RUN_TIMEOUT_S) -> ProcessRun:
    """Run a command to completion, sampling its memory; the child never outlives this call.

    The child is reaped with os.wait4 so its own CPU time comes back with it.
    Output goes to files, so a chatty child can never block on a full pipe.
    """
    out_path = workdir / "stdout.txt"
    err_path = workdir / "stderr.txt"
    workdir.mkdir(parents=True, exist_ok=True)
    timed_out = threading.Event()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        host_before = _own_cpu_s()
        ticks_before = _cpu_ticks()
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
        sampler = RssSampler(process.pid)
        sampler.start()

        def on_timeout() -> None:
            timed_out.set()
            _kill_tree(process)

        killer = threading.Timer(timeout, on_timeout)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            killer.cancel()
            sampler.finish()
            if process.returncode is None:  # interrupted while waiting: do not leave the child behind
                _kill_tree(process)
                process.wait()
        host_cpu = _own_cpu_s() - host_before
        ticks_after = _cpu_ticks()
    busy, total = (after - before for after, before in zip(ticks_after, ticks_before, strict=True))
    run = ProcessRun(
        command=command,
        returncode=process.returncode,
        wall_s=wall,
        peak_rss=sampler.peak,
        kernel_hwm=sampler.hwm,
        cpu_s=usage.ru_utime + usage.ru_stime,
        host_cpu_s=host_cpu,
        machine_busy=busy / total * CORES if total else float("nan"),
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
    if timed_out.is_set():
        raise BenchError(f"{run.describe()} did not finish within {timeout:.0f} s")
    return run


# ---------------------------------------------------------------------------------------------------------
# The pieces every measurement uses


class Workspace:
    """Fresh directories under one temporary root that is always removed."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="homebrew-bench-", dir=TMP_PARENT))
        self._counter = itertools.count(1)

    def fresh(self, label: str) -> Path:
        path = self.root / f"{label}-{next(self._counter)}"
        path.mkdir(parents=True)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class MotoS3:
    """A moto S3 server on 127.0.0.1 (a thread of this process) holding one bucket."""

    bucket = "bench-mirror"

    def __init__(self) -> None:
        self.server: Any = None
        self.endpoint = ""
        self.client: Any = None

    def start(self) -> MotoS3:
        import boto3
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr (and its CPU)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        self.client.create_bucket(Bucket=self.bucket)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def env(self) -> dict[str, str]:
        return {
            "HOMEBREW_SYNC_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def empty(self, prefix: str) -> None:
        """Delete everything under a prefix, so moto does not keep earlier runs in memory."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})


def child_env(cache_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a homebrew-sync run: no inherited HOMEBREW_SYNC_*/AWS_* settings, own API cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOMEBREW_SYNC_", "AWS_"))}
    env["HOMEBREW_SYNC_CACHE_DIR"] = str(cache_dir)
    env.update(extra or {})
    return env


def homebrew_sync(command: str, upstream: Any, dest: str, *extra: str) -> list[str]:
    """`python -m homebrew_sync plan|sync` against the fake upstream, as a user would type it."""
    args = [
        sys.executable, "-m", "homebrew_sync", command,
        "--dest", dest, "--date", SYNC_DATE, "--json", "--no-progress", *upstream.cli_args(),
    ]  # fmt: skip
    return args + list(extra)


# ---------------------------------------------------------------------------------------------------------
# Samples and their statistics


@dataclass
class SyncSample:
    wall_s: float  # the whole subprocess, interpreter start-up included
    engine_s: float  # the engine's own duration_s: API, plan, transfers, checkpoints
    bytes: int  # bytes_downloaded
    downloaded: int
    copied: int
    peak_rss: int
    kernel_hwm: int
    cpu_s: float
    host_cpu_s: float
    machine_busy: float

    @property
    def mbps(self) -> float:
        return self.bytes / self.engine_s / MB


@dataclass
class RawSample:
    seconds: float  # first request to last byte, inside the worker
    bytes: int
    cpu_s: float
    host_cpu_s: float
    machine_busy: float
    wall_s: float

    @property
    def mbps(self) -> float:
        return self.bytes / self.seconds / MB


def best(values: list[float]) -> float:
    return max(values) if values else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Throughput:
    """Figure (a)/(d): one destination at one concurrency, with the raw baseline over the same blobs."""

    target: str
    concurrency: int
    env: dict[str, str] = field(default_factory=dict)  # extra HOMEBREW_SYNC_* settings of the sync
    shas: set[str] = field(default_factory=set)  # the blobs every sync of the figure downloads
    blobs: int = 0
    blob_bytes: int = 0
    sync: list[SyncSample] = field(default_factory=list)
    raw: list[RawSample] = field(default_factory=list)

    @property
    def sync_median(self) -> float:
        return median([s.mbps for s in self.sync])

    @property
    def sync_best(self) -> float:
        return best([s.mbps for s in self.sync])

    @property
    def raw_median(self) -> float:
        return median([r.mbps for r in self.raw])

    @property
    def raw_best(self) -> float:
        return best([r.mbps for r in self.raw])

    @property
    def ratios(self) -> list[float]:
        """Each sync against the baseline run right after it: drift of the machine cancels out."""
        return [s.mbps / r.mbps for s, r in zip(self.sync, self.raw, strict=True)]

    @property
    def ratio_median(self) -> float:
        return median(self.ratios)

    @property
    def ratio_best(self) -> float:
        return self.sync_best / self.raw_best

    @staticmethod
    def cores_used(samples: list[SyncSample] | list[RawSample]) -> tuple[float, float, float]:
        """Cores used on average by the client process, by this process (the servers), and machine-wide."""
        wall = sum(s.wall_s for s in samples) or float("nan")
        return (
            sum(s.cpu_s for s in samples) / wall,
            sum(s.host_cpu_s for s in samples) / wall,
            sum(s.machine_busy * s.wall_s for s in samples) / wall,
        )


@dataclass
class BigRun:
    """Figure (b): one sync of the single huge bottle."""

    target: str
    size: int
    run: ProcessRun
    engine_s: float
    bytes: int


@dataclass
class PlanRun:
    """Figure (c): one `plan` against the full-size catalogue and state."""

    cached: bool
    run: ProcessRun
    engine_s: float
    planned: int
    skipped: int
    api_statuses: list[int]


@dataclass
class PlanFigures:
    formulae: int
    formula_json_bytes: int
    jws_bytes: int
    jws_gzip_bytes: int
    state_entries: int
    state_bytes: int
    selected: int
    runs: list[PlanRun] = field(default_factory=list)


@dataclass
class FixedCosts:
    """The parts of a sync's duration_s that do not move bytes (measured with `plan`)."""

    plan_s: float  # API + signature + selection + size estimation
    plan_without_sizes_s: float  # the same with HOMEBREW_SYNC_ESTIMATE_SIZES=false
    manifest_requests: int  # registry index/manifest requests of the size estimation
    index_ms: float  # one image-index GET from the fake upstream, sequential, median
    redirect_ms: float  # one registry blob GET answered with a bodiless 307, median


@dataclass
class Report:
    profile: Profile
    machine: dict[str, str]
    sha256_rate: float  # bytes per second on one core
    started: float = field(default_factory=time.monotonic)
    throughput: dict[str, Throughput] = field(default_factory=dict)
    sweep: dict[int, Throughput] = field(default_factory=dict)
    fixed: FixedCosts | None = None
    big: list[BigRun] = field(default_factory=list)
    plan: PlanFigures | None = None
    startup: list[ProcessRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    total_s: float = 0.0


# ---------------------------------------------------------------------------------------------------------
# The raw baseline: runs in its own process, like the engine, so neither shares a GIL with the servers


def raw_worker(job_path: str) -> int:
    """Fetch every blob of a job file concurrently, sha256 every byte, discard the bytes; print JSON.

    The same HTTP a mirror must do and nothing else: registry GET with the anonymous Bearer header, the
    307 followed by hand to the blob host without that header, the body streamed in 1 MiB reads.
    """
    import requests

    job = json.loads(Path(job_path).read_text())
    bearer = {"Authorization": "Bearer QQ=="}
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def fetch(blob: dict[str, Any]) -> tuple[int, bool]:
        http = session()
        response = http.get(blob["url"], headers=bearer, allow_redirects=False, timeout=60)
        if response.status_code in (301, 302, 303, 307, 308):
            location = urljoin(blob["url"], response.headers["Location"])
            response.close()
            response = http.get(location, stream=True, timeout=60)
        response.raise_for_status()
        digest = hashlib.sha256()
        size = 0
        for chunk in response.iter_content(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        response.close()
        return size, digest.hexdigest() == blob["sha256"]

    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=job["concurrency"]) as pool:
        results = list(pool.map(fetch, job["blobs"]))
    seconds = time.perf_counter() - started
    received = sum(size for size, _ in results)
    mismatches = sum(not ok for _, ok in results)
    print(json.dumps({"seconds": seconds, "bytes": received, "mismatches": mismatches}))
    return 0


def run_raw_baseline(ws: Workspace, blobs: list[dict[str, Any]], concurrency: int) -> RawSample:
    work = ws.fresh("raw")
    job = work / "job.json"
    job.write_text(json.dumps({"concurrency": concurrency, "blobs": blobs}))
    try:
        run = run_process([sys.executable, __file__, "--raw-worker", str(job)], dict(os.environ), work)
        if run.returncode != 0:
            raise BenchError(f"raw baseline failed (exit {run.returncode}): {run.stderr_tail()}")
        result = json.loads(run.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    expected = sum(b["size"] for b in blobs)
    if result["mismatches"] or result["bytes"] != expected:
        raise BenchError(f"raw baseline got {result['bytes']} of {expected} bytes, {result['mismatches']} mismatches")
    return RawSample(result["seconds"], result["bytes"], run.cpu_s, run.host_cpu_s, run.machine_busy, run.wall_s)


# ---------------------------------------------------------------------------------------------------------
# (a) and (d): throughput against the raw baseline


def run_sync(
    ws: Workspace,
    upstream: Any,
    dest: str,
    concurrency: int,
    *extra: str,
    s3: MotoS3 | None = None,
    env: dict[str, str] | None = None,
) -> tuple[SyncSample, dict[str, Any], ProcessRun]:
    """One `sync` into a fresh destination; returns (sample, summary, run). A failed bottle voids the figure."""
    work = ws.fresh("sync-run")
    try:
        env = child_env(work / "cache", {**(s3.env() if s3 else {}), **(env or {})})
        command = homebrew_sync("sync", upstream, dest, "--concurrency", str(concurrency), *extra)
        run = run_process(command, env, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = run.summary()
    if run.returncode != 0 or summary.get("failed") or summary.get("not_started"):
        raise BenchError(f"sync into {dest} exited {run.returncode}: {summary.get('failures')}\n{run.stderr_tail()}")
    sample = SyncSample(
        wall_s=run.wall_s,
        engine_s=float(summary["duration_s"]),
        bytes=int(summary["bytes_downloaded"]),
        downloaded=int(summary["downloaded"]),
        copied=int(summary["copied"]),
        peak_rss=run.peak_rss,
        kernel_hwm=run.kernel_hwm,
        cpu_s=run.cpu_s,
        host_cpu_s=run.host_cpu_s,
        machine_busy=run.machine_busy,
    )
    return sample, summary, run


def downloaded_blobs(upstream: Any, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The unique blobs a sync downloaded (copies excluded): what the baseline must fetch too."""
    blobs: dict[str, dict[str, Any]] = {}
    for bottle in summary["bottles"]:
        if bottle["status"] == "downloaded" and bottle["sha256"] not in blobs:
            sha = bottle["sha256"]
            blobs[sha] = {"url": upstream.blob_url(sha), "sha256": sha, "size": int(bottle["size"])}
    return list(blobs.values())


def measure_pair(ws: Workspace, upstream: Any, figure: Throughput, s3: MotoS3 | None, record: bool = True) -> None:
    """One sync into an empty destination, then the raw baseline over exactly the blobs it downloaded.

    The destination is a fresh folder (removed afterwards) or a fresh S3 prefix (emptied afterwards), the
    API cache is empty; every sync of a figure must download the same blobs, or the figure is void.
    """
    if s3 is not None:
        prefix = f"run-{figure.concurrency}-{time.monotonic_ns()}"
        dest = f"s3://{s3.bucket}/{prefix}"
    else:
        folder = ws.fresh("mirror")
        dest = str(folder)
    try:
        sample, summary, _ = run_sync(ws, upstream, dest, figure.concurrency, s3=s3, env=figure.env)
    finally:
        if s3 is not None:
            s3.empty(prefix + "/")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    blobs = downloaded_blobs(upstream, summary)
    shas = {b["sha256"] for b in blobs}
    if not figure.shas:
        figure.shas = shas
        figure.blobs, figure.blob_bytes = len(blobs), sum(b["size"] for b in blobs)
    elif shas != figure.shas:
        raise BenchError("two syncs of the same catalogue downloaded different blobs")
    if sample.bytes != figure.blob_bytes:
        raise BenchError(f"sync downloaded {sample.bytes} bytes, its blobs hold {figure.blob_bytes}")
    raw = run_raw_baseline(ws, blobs, figure.concurrency)
    label = f"run {len(figure.sync) + 1}" if record else "warm-up"
    log(
        f"  {figure.target:34} c={figure.concurrency:<2} {label:7}: sync {sample.mbps:6.1f} MB/s (engine "
        f"{sample.engine_s:.2f} s, wall {sample.wall_s:.2f} s)  raw {raw.mbps:6.1f} MB/s"
    )
    if record:
        figure.sync.append(sample)
        figure.raw.append(raw)


def measure_interleaved(
    ws: Workspace,
    upstream: Any,
    figures: list[Throughput],
    repeats: int,
    s3: MotoS3 | None = None,
    warmup: bool = False,
) -> None:
    """Measure several figures round-robin, so the machine's drift spreads over all of them alike.

    With `warmup`, one pair runs first and is discarded: the first runs after start-up are the noisiest.
    """
    if warmup:
        measure_pair(ws, upstream, figures[0], s3, record=False)
    for _ in range(repeats):
        for figure in figures:
            measure_pair(ws, upstream, figure, s3)


def measure_fixed_costs(ws: Workspace, upstream: Any, catalogue: Any) -> FixedCosts:
    """What a sync's duration_s holds besides transfers: API + plan, and the size estimation.

    `plan` of the same catalogue with and without size estimation splits the two; the registry requests
    it makes are counted, and small responses of the fake upstream are timed one by one, because their
    latency is what the size estimation waits for.
    """
    import requests

    from fakes.catalogue import image_tag

    durations: dict[str, float] = {}
    manifests = 0
    for estimate in ("true", "false"):
        work = ws.fresh("plan-overhead")
        upstream.reset_log()
        try:
            env = child_env(work / "cache", {"HOMEBREW_SYNC_ESTIMATE_SIZES": estimate})
            run = run_process(homebrew_sync("plan", upstream, str(work / "dest")), env, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        durations[estimate] = float(run.summary()["duration_s"])
        if estimate == "true":
            manifests = sum("/manifests/" in r.path for r in upstream.requests)
    indexed = [n for n in catalogue.names() if catalogue.size_class(n) in ("annotated", "unannotated")][:20]
    header = {"Authorization": "Bearer QQ==", "Accept": "application/vnd.oci.image.index.v1+json"}
    index_ms: list[float] = []
    redirect_ms: list[float] = []
    with requests.Session() as http:
        for name in indexed:
            started = time.perf_counter()
            http.get(upstream.manifest_url(name, image_tag(catalogue.find(name))), headers=header, timeout=30)
            index_ms.append((time.perf_counter() - started) * 1000)
            sha = next(iter(catalogue.bottles(name).values())).sha256
            started = time.perf_counter()
            http.get(upstream.blob_url(sha), headers=header, allow_redirects=False, timeout=30)
            redirect_ms.append((time.perf_counter() - started) * 1000)
    upstream.reset_log()
    return FixedCosts(durations["true"], durations["false"], manifests, median(index_ms), median(redirect_ms))


def throughput_section(ws: Workspace, report: Report, s3: MotoS3 | None) -> None:
    """(a) local folder and S3 at the default concurrency, then (d) the concurrency sweep."""
    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    profile = report.profile
    catalogue = generate_catalogue(profile.formulae, SEED, min_blob=profile.min_blob, max_blob=profile.max_blob)
    with FakeUpstream(catalogue) as upstream:
        report.fixed = measure_fixed_costs(ws, upstream, catalogue)
        fixed = report.fixed
        log(
            f"fixed costs: plan {fixed.plan_s:.2f} s ({fixed.plan_without_sizes_s:.2f} s without size estimation, "
            f"{fixed.manifest_requests} manifest requests; one index response {fixed.index_ms:.1f} ms, "
            f"one 307 {fixed.redirect_ms:.1f} ms)"
        )
        log(f"(a) throughput, concurrency {profile.concurrency}")
        local = Throughput("local folder", profile.concurrency)
        no_sizes = Throughput(NO_SIZES_LABEL, profile.concurrency, env={"HOMEBREW_SYNC_ESTIMATE_SIZES": "false"})
        measure_interleaved(ws, upstream, [local, no_sizes], profile.repeats, warmup=True)
        report.throughput["local"] = local
        report.throughput["local-no-sizes"] = no_sizes
        log(f"  -> local folder: median {local.sync_median:.1f} MB/s, raw {local.raw_median:.1f} MB/s, "
            f"ratio {local.ratio_median:.2f}; without size estimation {no_sizes.ratio_median:.2f}")  # fmt: skip
        if s3 is not None:
            remote = Throughput("S3 (moto)", profile.concurrency)
            measure_interleaved(ws, upstream, [remote], profile.s3_repeats, s3=s3, warmup=True)
            report.throughput["s3"] = remote
            log(f"  -> S3 (moto): median {remote.sync_median:.1f} MB/s, ratio {remote.ratio_median:.2f}")
        log("(d) concurrency sweep, local folder")
        sweep = [Throughput("local folder", c) for c in profile.concurrencies]
        measure_interleaved(ws, upstream, sweep, profile.sweep_repeats)
        report.sweep = {figure.concurrency: figure for figure in sweep}
        upstream.reset_log()


# ---------------------------------------------------------------------------------------------------------
# (b) memory with one huge bottle


def big_section(ws: Workspace, report: Report, s3: MotoS3 | None) -> None:
    """Peak RSS of a sync whose only bottle is huge: memory must not grow with the bottle size."""
    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    size = report.profile.big_bytes
    log(f"(b) peak RSS with one {size / MB:.0f} MB bottle (hashing it for the catalogue first)")
    catalogue = generate_catalogue(10, SEED, big_bottles={BIG_FORMULA: size})
    with FakeUpstream(catalogue) as upstream:
        targets = [("local folder", None)] + ([("S3 (moto)", s3)] if s3 is not None else [])
        for target, store in targets:
            folder = ws.fresh("big")
            prefix = f"big-{time.monotonic_ns()}"
            dest = f"s3://{store.bucket}/{prefix}" if store else str(folder)
            try:
                sample, summary, run = run_sync(
                    ws, upstream, dest, report.profile.concurrency, "--formula", BIG_FORMULA, s3=store
                )
            finally:
                shutil.rmtree(folder, ignore_errors=True)  # the 2 GiB file goes at once
                if store is not None:
                    store.empty(prefix + "/")
            if sample.bytes != size:
                raise BenchError(f"the huge bottle sync downloaded {sample.bytes} bytes, not {size}")
            report.big.append(BigRun(target, size, run, sample.engine_s, sample.bytes))
            log(
                f"  {target}: peak RSS {run.peak_rss / MB:.0f} MB (kernel {run.kernel_hwm / MB:.0f} MB), "
                f"{sample.engine_s:.1f} s, {sample.mbps:.0f} MB/s"
            )


# ---------------------------------------------------------------------------------------------------------
# (c) plan on a full-size catalogue and state


def build_state(selected: list[dict[str, Any]], sizes: dict[str, int], entries: int) -> dict[str, Any]:
    """A schema-2 state holding every selected bottle, padded with older versions up to `entries`.

    The padding uses formulae that are in the API, so the sanity floor (formulae vanished from the
    API) is not tripped, and valid names, sha256 values and keys, so validation does real work.
    """
    rng = random.Random(SEED)
    bottles: dict[str, dict[str, Any]] = {}
    for bottle in selected:
        bottles[bottle["file"]] = {
            "sha256": bottle["sha256"],
            "size": sizes.get(bottle["sha256"], 0),
            "key": bottle["key"],
            "formula": bottle["formula"],
            "tag": bottle["tag"],
            "downloaded_at": SYNC_DATE,
        }
    names = sorted({b["formula"] for b in selected})
    for i in range(max(0, entries - len(bottles))):
        name = names[i % len(names)]
        file = f"{name}-0.0.{i}.arm64_sonoma.bottle.tar.gz"
        bottles[file] = {
            "sha256": f"{rng.getrandbits(256):064x}",
            "size": rng.randrange(10_000, 50 * MB),
            "key": f"2024-06-02/{file}",
            "formula": name,
            "tag": "arm64_sonoma",
            "downloaded_at": "2024-06-02",
        }
    return {"schema_version": 2, "updated_at": f"{SYNC_DATE}T03:00:00Z", "bottles": bottles, "failures": {}}


def plan_section(ws: Workspace, report: Report) -> None:
    """Wall time and peak RSS of `plan` on a real-size API against a real-size state.

    A first `plan` (size estimation off) learns which bottles the platforms select; the state then
    holds all of them, so the measured plans should find (almost) nothing to do: what is measured is
    reading, verifying and parsing the API, validating the state and diffing, plus interpreter start-up.
    """
    import requests

    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    profile = report.profile
    log(f"(c) plan: {profile.plan_formulae} formulae, {profile.state_entries} state entries")
    catalogue = generate_catalogue(profile.plan_formulae, SEED)
    sizes = {bottle.sha256: bottle.size for _, bottle in catalogue.iter_bottles()}
    formula_json = len(catalogue.formula_json_bytes())
    with FakeUpstream(catalogue) as upstream:
        # Also makes the server build and sign the document now, outside every measured run.
        jws_url = f"{upstream.api_url}/formula.jws.json"
        with requests.get(jws_url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=120) as response:
            gzip_bytes = int(response.headers["Content-Length"])
        with requests.get(jws_url, headers={"Accept-Encoding": "identity"}, stream=True, timeout=120) as response:
            jws_bytes = int(response.headers["Content-Length"])

        dest = ws.fresh("plan-mirror")
        learn_dir = ws.fresh("plan-learn")
        learn = run_process(
            homebrew_sync("plan", upstream, str(dest)),
            child_env(learn_dir / "cache", {"HOMEBREW_SYNC_ESTIMATE_SIZES": "false"}),
            learn_dir,
        )
        selected = learn.summary()["bottles"]
        if learn.returncode != 0 or not selected:
            raise BenchError(f"the learning plan failed (exit {learn.returncode}): {learn.stderr_tail()}")
        state = build_state(selected, sizes, profile.state_entries)
        state_bytes = json.dumps(state).encode()
        (dest / "bottles_hash.json").write_bytes(state_bytes)
        figures = PlanFigures(
            formulae=profile.plan_formulae,
            formula_json_bytes=formula_json,
            jws_bytes=jws_bytes,
            jws_gzip_bytes=gzip_bytes,
            state_entries=len(state["bottles"]),
            state_bytes=len(state_bytes),
            selected=len(selected),
        )
        report.plan = figures
        for _ in range(profile.plan_repeats):
            work = ws.fresh("plan-run")  # a fresh API cache: the first plan downloads the API
            for cached in (False, True):
                upstream.reset_log()
                run = run_process(homebrew_sync("plan", upstream, str(dest)), child_env(work / "cache"), work)
                summary = run.summary()
                if run.returncode != 0:
                    raise BenchError(f"plan exited {run.returncode}: {run.stderr_tail()}")
                statuses = [r.status for r in upstream.requests if r.path.startswith("/api/")]
                figures.runs.append(
                    PlanRun(cached, run, float(summary["duration_s"]), summary["planned"], summary["skipped"], statuses)
                )
                log(
                    f"  plan ({'cached API, 304' if cached else 'API downloaded'}): {run.wall_s:.2f} s, "
                    f"peak RSS {run.peak_rss / MB:.0f} MB, planned {summary['planned']}, API status {statuses}"
                )


def startup_section(ws: Workspace, report: Report) -> None:
    """The floor under every CLI figure: interpreter start-up plus importing the CLI, doing nothing."""
    for _ in range(2):
        work = ws.fresh("startup")
        run = run_process([sys.executable, "-m", "homebrew_sync", "--version"], child_env(work / "cache"), work)
        report.startup.append(run)


# ---------------------------------------------------------------------------------------------------------
# The machine


def sha256_rate(total: int = 256 * MIB) -> float:
    """Bytes per second one core hashes: the cost every verified byte pays at least once."""
    block = bytes(range(256)) * (MIB // 256)
    digest = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(total // MIB):
        digest.update(block)
    return total / (time.perf_counter() - started)


def machine_info(rate: float) -> dict[str, str]:
    import psutil

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    os_name = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.system()} {platform.release()})"
    mount = max(
        (p for p in psutil.disk_partitions(all=True) if TMP_PARENT.startswith(p.mountpoint)),
        key=lambda p: len(p.mountpoint),
        default=None,
    )
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs"]  # not the report
        if subprocess.run(status, cwd=ROOT, capture_output=True, text=True).stdout.strip():
            commit += " (with uncommitted changes)"
    return {
        "CPU": cpu,
        "Cores": f"{os.cpu_count()} logical ({psutil.cpu_count(logical=False) or '?'} physical)",
        "RAM": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "OS": os_name,
        "Temp folder": f"{TMP_PARENT} on {mount.device} ({mount.fstype})" if mount else TMP_PARENT,
        "sha256, one core": f"{rate / MB:.0f} MB/s (hashlib, 1 MiB updates)",
        "Load before the run": f"{background_load():.2f} of {CORES} cores busy (over 2 s, benchmark idle)",
        "Date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Commit": commit,
    }


# ---------------------------------------------------------------------------------------------------------
# Output


def log(message: str) -> None:
    print(message, flush=True)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"  # NaN check


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def mb(value: float) -> str:
    return fmt(value / MB, 0)


def throughput_rows(figures: list[Throughput]) -> list[list[str]]:
    rows = []
    for f in figures:
        rows.append([
            f.target,
            str(f.concurrency),
            str(len(f.sync)),
            fmt(f.sync_median),
            fmt(f.sync_best),
            fmt(f.raw_median),
            fmt(f.raw_best),
            fmt(f.ratio_median, 2),
            fmt(f.ratio_best, 2),
            fmt(median([s.engine_s for s in f.sync]), 2),
            fmt(median([s.wall_s for s in f.sync]), 2),
            fmt(median([s.cpu_s for s in f.sync]), 1),
            fmt(median([r.cpu_s for r in f.raw]), 1),
            mb(max(s.peak_rss for s in f.sync)),
        ])  # fmt: skip
    return rows


THROUGHPUT_HEADER = [
    "Destination", "Concurrency", "Runs", "sync MB/s (median)", "sync MB/s (best)", "raw MB/s (median)",
    "raw MB/s (best)", "ratio (median)", "ratio (best)", "engine s (median)", "wall s (median)",
    "sync CPU s (median)", "raw CPU s (median)", "peak RSS MB",
]  # fmt: skip


def targets_rows(report: Report) -> list[list[str]]:
    rows = []
    local = report.throughput.get("local")
    if local:
        rows.append([
            "(a) sync into a local folder / raw baseline, concurrency " + str(local.concurrency),
            f">= {TARGET_RAW_RATIO}",
            f"{fmt(local.ratio_median, 2)} (median of pairs), {fmt(local.ratio_best, 2)} (best over best)",
            verdict(local.ratio_median >= TARGET_RAW_RATIO),
        ])  # fmt: skip
    for big in report.big:
        rows.append([
            f"(b) peak RSS, {big.size / 1024**3:g} GiB bottle into {big.target}", f"<= {TARGET_BIG_RSS_MB} MB",
            f"{mb(big.run.peak_rss)} MB", verdict(big.run.peak_rss <= TARGET_BIG_RSS_MB * MB),
        ])  # fmt: skip
    if report.plan and report.plan.runs:
        for cached in (False, True):
            runs = [r for r in report.plan.runs if r.cached == cached]
            label = "API cached (304)" if cached else "API downloaded"
            wall = median([r.run.wall_s for r in runs])
            rss = max(r.run.peak_rss for r in runs)
            worst = max(r.run.wall_s for r in runs)
            measured = f"{fmt(wall, 2)} s (median; worst {fmt(worst, 2)} s)"
            rows.append([f"(c) plan wall time, {label}", f"<= {TARGET_PLAN_S:g} s", measured,
                         verdict(wall <= TARGET_PLAN_S)])  # fmt: skip
            rows.append([f"(c) plan peak RSS, {label}", f"<= {TARGET_PLAN_RSS_MB} MB", f"{mb(rss)} MB (max)",
                         verdict(rss <= TARGET_PLAN_RSS_MB * MB)])  # fmt: skip
    return rows


def render_chart(report: Report, path: Path) -> None:
    """Throughput against concurrency: sync (local folder) and the raw baseline, medians with min-max bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = sorted(report.sweep.items())
    xs = [c for c, _ in points]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for label, getter, style in (
        ("raw baseline (GET + sha256, bytes discarded)", lambda f: [r.mbps for r in f.raw], "s--"),
        ("homebrew-sync sync into a local folder", lambda f: [s.mbps for s in f.sync], "o-"),
    ):
        values = [getter(f) for _, f in points]
        mids = [median(v) for v in values]
        low = [m - min(v) for m, v in zip(mids, values, strict=True)]
        high = [max(v) - m for m, v in zip(mids, values, strict=True)]
        ax.errorbar(xs, mids, yerr=[low, high], fmt=style, capsize=4, label=label)
    for c, f in points:
        ax.annotate(f"{f.ratio_median:.2f}x", (c, f.sync_median), textcoords="offset points", xytext=(7, -12),
                    ha="left", fontsize=8)  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("concurrency (parallel downloads)")
    ax.set_ylabel("MB/s (10^6 bytes per second)")
    blob_mb = next(iter(report.sweep.values())).blob_bytes / MB if report.sweep else 0
    ax.set_title(
        f"Throughput against concurrency ({blob_mb:.0f} MB per run, fake upstream on 127.0.0.1)\n"
        f"{report.machine['CPU']}, {os.cpu_count()} cores; labels: median sync / raw ratio",
        fontsize=9,
    )
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def render_markdown(report: Report, chart_name: str | None) -> str:
    p = report.profile
    out: list[str] = ["# Benchmarks", ""]
    out.append(
        "Throughput, memory and plan time of `homebrew-sync`, measured on one machine in one run of "
        "`scripts/bench.py`. The upstream is the fake Homebrew upstream of `fakes/` (real HTTP on "
        "127.0.0.1: signed API, registry with Bearer header and 307, blob host), S3 is a moto server; no "
        "internet is involved. 1 MB = 10^6 bytes throughout."
    )
    if p.name != "full":
        out += ["", f"**This is a `--{p.name}` smoke run with reduced sizes: its figures are not the reference "
                    "figures and the targets are not meaningful for it.**"]  # fmt: skip
    out += ["", "## How to reproduce", "", "```bash", "make bench      # = .venv/bin/python scripts/bench.py "
            "--out docs/benchmarks.md", "```", ""]  # fmt: skip
    out.append(
        "Options: `--quick` (small sizes, a smoke run), `--skip-s3`, `--skip-big`, `--out PATH` (the chart is "
        f"written next to it). This run took **{report.total_s / 60:.1f} min**."
    )
    out += ["", "## Machine", "", table(["", ""], [[k, v] for k, v in report.machine.items()]), ""]

    out += ["## Targets", "", table(["Figure", "Target", "Measured", "Result"], targets_rows(report)), ""]
    if report.errors:
        out += ["Measurements that could not be made:", ""]
        out += [f"- {name}: `{error.splitlines()[0]}`" for name, error in report.errors.items()]
        out.append("")
    if report.skipped:
        out += [f"Skipped on request: {', '.join(report.skipped)}.", ""]

    out += throughput_markdown(report, chart_name)
    out += big_markdown(report)
    out += plan_markdown(report)
    out += notes_markdown(report)
    return "\n".join(out).rstrip() + "\n"


def throughput_markdown(report: Report, chart_name: str | None) -> list[str]:
    p = report.profile
    out = ["## (a) Sync throughput against the raw baseline", ""]
    figures = list(report.throughput.values())
    if not figures:
        return out + ["Not measured.", ""]
    first = figures[0]
    out.append(
        f"Catalogue: `generate_catalogue({p.formulae}, seed={SEED}, min_blob={p.min_blob // MIB} MiB, "
        f"max_blob={p.max_blob // MIB} MiB)`, default platforms (`arm64_sonoma arm64_ventura monterey`). "
        f"Each sync downloads {first.blobs} unique blobs, **{first.blob_bytes / MB:.0f} MB**, and copies "
        f"{plural(first.sync[0].copied, 'more bottle')} that share a blob. Concurrency {p.concurrency}. "
        f"{p.repeats} runs into a local folder with the default settings, alternating with {p.repeats} runs with "
        f"`HOMEBREW_SYNC_ESTIMATE_SIZES=false` (for the notes), then {p.s3_repeats} runs into S3; each series after "
        "one discarded warm-up run, each run into a fresh destination with an empty API cache, each followed by "
        "its baseline run."
    )
    out += ["", table(THROUGHPUT_HEADER, throughput_rows(figures)), ""]
    out += [
        "How each figure was measured:",
        "",
        "- **sync MB/s** = `bytes_downloaded / duration_s`, both from the JSON last line of "
        "`python -m homebrew_sync sync --dest ... --date 2025-01-01 --json --no-progress --concurrency N --api-url ... "
        "--registry-url ... --signing-key ... --allow-host ...` run as a subprocess. `duration_s` is the engine's own "
        "clock: API download and signature check, plan, size estimation, transfers (verify + write + fsync + "
        "rename, or S3 upload), copies, checkpoints. **wall s** is the subprocess's wall-clock time, which adds "
        "interpreter start-up and imports.",
        "- **CPU s**: user + system CPU time of the sync process (start-up included) and of the baseline process, "
        "from `wait4`: the cost of the same work, much less sensitive to other load than MB/s.",
        "- **raw MB/s**: a separate Python process (so it does not share a GIL with the servers, like the sync) "
        "fetching exactly the unique blobs the sync downloaded, with the same number of threads (one "
        "`requests.Session` each): registry GET with `Authorization: Bearer QQ==`, the 307 followed by hand without "
        "that header, body streamed in 1 MiB reads through sha256 and compared with the expected digest, bytes "
        "discarded. Timed from the first request to the last byte.",
        "- **ratio (median)**: each sync's MB/s divided by that of the baseline run right after it, median of "
        "those pairs (the machine's speed drifts during a run; pairing cancels most of it). **ratio (best)**: best "
        "sync over best baseline.",
        "- **peak RSS**: the sync subprocess (and children), sampled with psutil every 20 ms; the largest of the runs.",
        "- **S3**: `--dest s3://bench-mirror/<fresh prefix>` with `HOMEBREW_SYNC_S3_ENDPOINT_URL` pointing at "
        "`moto.server.ThreadedMotoServer` on 127.0.0.1, dummy credentials, `AWS_DEFAULT_REGION=us-east-1`; the "
        "prefix is emptied after each run. The baseline is the same measurement as for the folder (it stores nothing), "
        "repeated after each S3 run.",
        "",
    ]
    out += ["## (d) Throughput against concurrency", ""]
    if not report.sweep:
        return out + ["Not measured.", ""]
    out.append(
        f"Local folder, default settings, same catalogue and method as (a); {plural(p.sweep_repeats, 'run')} per "
        "point, the concurrencies taken round-robin so that the machine's drift affects every point alike. "
        "Chart: medians, bars from the slowest to the fastest run, labels the median ratio."
    )
    out += ["", table(THROUGHPUT_HEADER, throughput_rows([f for _, f in sorted(report.sweep.items())])), ""]
    if chart_name:
        out += [f"![Throughput against concurrency: homebrew-sync and the raw baseline]({chart_name})", ""]
    return out


def big_markdown(report: Report) -> list[str]:
    out = ["## (b) Peak memory with one huge bottle", ""]
    if not report.big:
        return out + ["Not measured" + (" (`--skip-big`)." if "big" in " ".join(report.skipped) else "."), ""]
    size = report.big[0].size
    out.append(
        f"Catalogue: `generate_catalogue(10, seed={SEED}, big_bottles={{'{BIG_FORMULA}': {size}}})`; "
        f"`sync --formula {BIG_FORMULA} --concurrency {report.profile.concurrency}` (a single `all` bottle, "
        f"{size / 1024**3:g} GiB) as a subprocess. Peak RSS sampled with psutil every 20 ms over the process and its "
        "children; the kernel's own high-water mark of the process (`VmHWM`, read at each sample) beside it as a "
        "cross-check of what sampling could miss. The file (or object) is deleted after the run."
    )
    rows = [
        [b.target, mb(b.size), mb(b.run.peak_rss), mb(b.run.kernel_hwm), fmt(b.engine_s, 1),
         fmt(b.run.wall_s, 1), fmt(b.bytes / b.engine_s / MB), fmt(b.run.cpu_s, 1), fmt(b.run.host_cpu_s, 1)]
        for b in report.big
    ]  # fmt: skip
    header = ["Destination", "Bottle MB", "peak RSS MB (sampled)", "peak RSS MB (kernel VmHWM)", "engine s", "wall s",
              "MB/s", "sync CPU s", "servers CPU s"]  # fmt: skip
    return out + ["", table(header, rows), ""]


def plan_markdown(report: Report) -> list[str]:
    out = ["## (c) `plan` against a real-size API and state", ""]
    plan = report.plan
    if plan is None or not plan.runs:
        return out + ["Not measured.", ""]
    out.append(
        f"Catalogue: `generate_catalogue({plan.formulae}, seed={SEED})`: "
        f"formula.json {plan.formula_json_bytes / MB:.1f} MB, served as formula.jws.json "
        f"({plan.jws_bytes / MB:.1f} MB, {plan.jws_gzip_bytes / MB:.1f} MB gzipped). "
        f"The default platforms select {plan.selected:,} bottles (learnt with a first `plan --json`, size estimation "
        f"off); `bottles_hash.json` (schema 2, {plan.state_bytes / MB:.1f} MB) holds all of them with their real sha256"
        f" plus older synthetic versions (`<name>-0.0.<i>.arm64_sonoma.bottle.tar.gz`, random sha256), "
        f"**{plan.state_entries:,} entries**. Each measured `plan --json` is a subprocess, timed by wall clock "
        "(interpreter start-up and imports included). Each pair starts with a fresh `HOMEBREW_SYNC_CACHE_DIR`, so "
        "its first plan downloads the API and the second one, with the same cache, gets a 304; the last column is "
        "what the fake upstream answered to the API request."
    )
    rows = []
    for cached in (False, True):
        runs = [r for r in plan.runs if r.cached == cached]
        if not runs:
            continue
        walls = [r.run.wall_s for r in runs]
        statuses = sorted({status for r in runs for status in r.api_statuses})
        rows.append([
            "cached (304)" if cached else "downloaded (200)", str(len(runs)), fmt(median(walls), 2),
            fmt(min(walls), 2), fmt(max(walls), 2), fmt(median([r.engine_s for r in runs]), 2),
            fmt(median([r.run.cpu_s for r in runs]), 2), mb(max(r.run.peak_rss for r in runs)),
            mb(max(r.run.kernel_hwm for r in runs)), "/".join(str(n) for n in sorted({r.planned for r in runs})),
            "/".join(f"{n:,}" for n in sorted({r.skipped for r in runs})), "/".join(map(str, statuses)),
        ])  # fmt: skip
    header = ["API", "runs", "wall s (median)", "wall s (best)", "wall s (worst)", "engine s (median)",
              "CPU s (median)", "peak RSS MB (sampled, max)", "peak RSS MB (kernel VmHWM, max)", "planned",
              "already mirrored", "API responses"]  # fmt: skip
    out += ["", table(header, rows), ""]
    if report.startup:
        floor = median([r.wall_s for r in report.startup])
        out.append(
            f"For scale: `python -m homebrew_sync --version` (interpreter start-up and imports, no work) "
            f"takes {floor:.2f} s "
            f"and {mb(max(r.peak_rss for r in report.startup))} MB here."
        )
        out.append("")
    return out


def notes_markdown(report: Report) -> list[str]:
    out = ["## Notes", ""]
    local = report.throughput.get("local")
    if local:
        out += local_notes(report, local)
    remote = report.throughput.get("s3")
    if remote:
        s3_cpu, s3_host, s3_busy = remote.cores_used(remote.sync)
        out.append(
            "- **S3 (moto)** is much slower than the folder for reasons mostly outside the engine: moto runs in "
            "this process next to the fake upstream (one interpreter lock for both servers), keeps objects in "
            "memory and hashes every upload itself; botocore signs the payload (one more sha256 of every byte) "
            "because the endpoint is plain http, which it does not do over https to real S3. During the S3 syncs "
            f"the sync process used {s3_cpu:.2f} cores and this process {s3_host:.2f} (machine {s3_busy:.2f} of "
            f"{CORES}). Treat it as a lower bound of the S3 path, not a prediction for AWS."
        )
    if report.sweep:
        out.append(concurrency_note(report))
    for big in report.big:
        if big.run.peak_rss > TARGET_BIG_RSS_MB * MB:
            out.append(
                f"- **Target missed: peak RSS {mb(big.run.peak_rss)} MB > {TARGET_BIG_RSS_MB} MB with the "
                f"{big.size / 1024**3:g} GiB bottle into {big.target}** (kernel high-water mark "
                f"{mb(big.run.kernel_hwm)} MB)."
            )
    if report.big:
        worst = max(report.big, key=lambda b: b.run.peak_rss)
        peaks = ", ".join(
            f"{f.target} {mb(max(s.peak_rss for s in f.sync))} MB" for f in report.throughput.values() if f.sync
        )
        out.append(
            f"- **Memory** does not grow with the bottle: the {worst.size / 1024**3:g} GiB bottle peaks at "
            f"{mb(worst.run.peak_rss)} MB ({worst.target}); the {first_blob_mb(report)} MB syncs of (a) at {peaks} "
            "(into S3 each transfer buffers up to one 8 MiB part). Into S3 a bottle is read and uploaded in turn, "
            "one part at a time, so a single huge bottle moves at the speed of that one sequence."
        )
    if report.plan and report.plan.runs:
        out += plan_notes(report, report.plan)
    outside = outside_load(report)
    text = (
        f"- **Variability.** This is a shared {CORES}-core virtual machine whose speed drifts by tens of percent "
        "within minutes (compare best and median); the tables give both, figures that are compared are measured "
        "round-robin, and ratios are taken between neighbouring runs. Compare ratios rather than absolute MB/s "
        f"across machines. Cores busy outside this benchmark's processes during its runs: {outside:.2f} on average"
    )
    if outside > OUTSIDE_LOAD_WARNING:
        text += (
            " -- **other load shared the machine during this run, so its MB/s figures (and the ratios, where it hit "
            "one side of a pair) are disturbed; the CPU-second columns are the more reliable comparison**."
        )
    else:
        text += " (the kernel's own work included): the runs had the machine to themselves."
    out.append(text)
    return out + [""]


def local_notes(report: Report, local: Throughput) -> list[str]:
    """What limits the local-folder figure, and why it misses its target if it does."""
    out = []
    sync_cpu, sync_host, sync_busy = local.cores_used(local.sync)
    raw_cpu, raw_host, raw_busy = local.cores_used(local.raw)
    startup_cpu = median([r.cpu_s for r in report.startup]) if report.startup else float("nan")
    heading = "What limits throughput here: CPU." if raw_busy >= 0.75 * CORES else "CPU use."
    out.append(
        f"- **{heading}** The machine has {CORES} cores; the fake upstream (this process: it generates every blob "
        "byte and serves two `ThreadingHTTPServer`s), the client, the kernel's loopback networking and every "
        f"sha256 (about {report.sha256_rate / MB:.0f} MB/s on one core here) share them. Averaged over whole runs, "
        f"start-up included, the machine was {sync_busy:.2f} of {CORES} cores busy during the local syncs at "
        f"concurrency {local.concurrency} (sync process {sync_cpu:.2f}, servers {sync_host:.2f}, the rest "
        f"{max(0.0, sync_busy - sync_cpu - sync_host):.2f}) and {raw_busy:.2f} during the baseline (client "
        f"{raw_cpu:.2f}, servers {raw_host:.2f}, the rest {max(0.0, raw_busy - raw_cpu - raw_host):.2f}); the rest "
        "is the kernel's own work (loopback networking, page cache) and anything else running on the machine, "
        "which this benchmark cannot control (see the load before the run, above). A sync needs "
        f"{median([s.cpu_s for s in local.sync]):.1f} CPU-s (about {startup_cpu:.1f} of them start-up and imports), "
        f"the baseline client {median([r.cpu_s for r in local.raw]):.1f}; with the CPU this busy, every extra "
        "CPU-second (writing and fsyncing files, copies, planning, Python overhead) comes out of throughput. "
        "Against a remote upstream the network would be the limit instead: these figures measure the engine's "
        "CPU cost relative to the least possible, not download speeds from ghcr.io."
    )
    fixed = report.fixed
    no_sizes = report.throughput.get("local-no-sizes")
    slow_small = fixed is not None and fixed.index_ms > 10 * fixed.redirect_ms
    if fixed is not None:
        engine = median([s.engine_s for s in local.sync])
        estimation = fixed.plan_s - fixed.plan_without_sizes_s
        text = (
            f"- **Fixed cost inside `duration_s`.** A `plan` of the same catalogue takes {fixed.plan_s:.2f} s of the "
            f"engine's {engine:.2f} s (median) per sync, {fixed.plan_s / engine:.0%}, before the first byte moves; "
            f"the baseline has no such step. Size estimation is {estimation:.2f} s of it "
            f"({fixed.plan_without_sizes_s:.2f} s without it): {fixed.manifest_requests} registry index/manifest "
            f"requests, {SIZE_CONCURRENCY} at a time, each of which the fake upstream answers in "
            f"{fixed.index_ms:.1f} ms (median of sequential GETs), against {fixed.redirect_ms:.1f} ms for a "
            "bodiless 307."
        )
        if slow_small:
            text += (
                " That difference is the fake upstream's: it writes headers and a small body in separate sends "
                "without `TCP_NODELAY`, so each such response waits for the client's delayed ACK (about 40 ms on "
                "Linux). Real registries cost a network round trip per request, though."
            )
        if no_sizes and no_sizes.sync:
            text += (
                f" Measured directly: with `HOMEBREW_SYNC_ESTIMATE_SIZES=false` (sizes then come from "
                f"`Content-Length`; sha256 and size are verified all the same) the sync reaches "
                f"{no_sizes.sync_median:.1f} MB/s, {no_sizes.ratio_median:.2f} of the baseline (median of pairs, "
                "measured alternately with the default runs)."
            )
        out.append(text)
    copied = local.sync[0].copied
    if copied:
        out.append(
            f"- The sync also stores {copied} {'copy' if copied == 1 else 'copies'} of shared blobs (read back, "
            "hashed again, written, fsynced); the baseline writes nothing."
        )
    if local.ratio_median < TARGET_RAW_RATIO:
        text = (
            f"- **Target missed: local folder / raw = {local.ratio_median:.2f} (median of pairs), below "
            f"{TARGET_RAW_RATIO}; best {local.ratio_best:.2f}.** The engine needs more CPU per sync than the baseline "
            "(above) on a machine where CPU is scarce"
            + (f", and spends {fixed.plan_s:.2f} s planning before the first byte" if fixed else "")
            + "."
        )
        if no_sizes and no_sizes.sync:
            if no_sizes.ratio_median >= TARGET_RAW_RATIO:
                text += (
                    f" With size estimation off the same sync reaches {no_sizes.ratio_median:.2f}: the gap is that "
                    "fixed cost, which a larger sync amortises"
                    + (", and which the fake upstream's slow small responses inflate" if slow_small else "")
                    + "."
                )
            else:
                text += (
                    f" Even with size estimation off the ratio is {no_sizes.ratio_median:.2f}: the rest of the gap "
                    "is the engine's cost per byte (writes, fsync, copies, Python overhead)."
                )
        out.append(text)
    return out


def concurrency_note(report: Report) -> str:
    points = sorted(report.sweep.items())
    (c0, first), rest = points[0], points[1:]
    ratios = [f.ratio_median for _, f in points]
    text = f"- **Concurrency.** At concurrency {c0} the sync moves {first.sync_median:.0f} MB/s"
    if rest:
        sync = [f.sync_median for _, f in rest]
        raw = [f.raw_median for _, f in rest]
        text += (
            f"; from {rest[0][0]} up the medians lie between {min(sync):.0f} and {max(sync):.0f} MB/s (baseline "
            f"{min(raw):.0f} to {max(raw):.0f}): with {CORES} cores, more parallel transfers cannot add CPU, while one "
            "transfer at a time leaves part of it idle"
        )
    text += (
        f". The ratio to the baseline stays between {min(ratios):.2f} and {max(ratios):.2f} at every concurrency, "
        "so the engine's overhead does not grow with the number of threads."
    )
    return text


def plan_notes(report: Report, plan: PlanFigures) -> list[str]:
    out = []
    floor = median([r.wall_s for r in report.startup]) if report.startup else float("nan")
    for cached in (False, True):
        runs = [r for r in plan.runs if r.cached == cached]
        if not runs:
            continue
        wall = median([r.run.wall_s for r in runs])
        rss = max(r.run.peak_rss for r in runs)
        label = "with the API cached" if cached else "downloading the API"
        if wall > TARGET_PLAN_S:
            out.append(
                f"- **Target missed: `plan` {label} takes {wall:.2f} s > {TARGET_PLAN_S:g} s.** Of that, start-up "
                f"and imports are {floor:.2f} s and the engine's own `duration_s` is "
                f"{median([r.engine_s for r in runs]):.2f} s (API download/read, JWS verification, parsing "
                f"{plan.formulae:,} formulae, validating {plan.state_entries:,} state entries)."
            )
        if rss > TARGET_PLAN_RSS_MB * MB:
            out.append(f"- **Target missed: `plan` {label} peaks at {mb(rss)} MB > {TARGET_PLAN_RSS_MB} MB.**")
    uncached = [r for r in plan.runs if not r.cached]
    cached = [r for r in plan.runs if r.cached]
    if not uncached or not cached:
        return out
    peak_uncached = max(r.run.peak_rss for r in uncached)
    peak_cached = max(r.run.peak_rss for r in cached)
    wall_uncached = median([r.run.wall_s for r in uncached])
    wall_cached = median([r.run.wall_s for r in cached])
    skipped = f"the {plan.jws_gzip_bytes / MB:.1f} MB gzipped transfer, its decompression and the cache write"
    if wall_uncached - wall_cached > 0.05:
        saving = f"The 304 saves {wall_uncached - wall_cached:.2f} s ({skipped})"
    else:
        saving = f"The 304 saves no measurable time, although it skips {skipped}"
    out.append(
        f"- **`plan`** against {plan.formulae:,} formulae and {plan.state_entries:,} state entries: "
        f"{wall_uncached:.2f} s downloading the API, {wall_cached:.2f} s with a 304 (medians), of which {floor:.2f} s "
        f"is start-up and imports. {saving}; either way the whole document is read, its signature verified "
        f"and the formulae parsed, so the peaks are alike ({mb(peak_uncached)} and {mb(peak_cached)} MB, about "
        f"{max(peak_uncached, peak_cached) / plan.formula_json_bytes:.0f} times the size of formula.json)."
    )
    worst = max(r.run.wall_s for r in plan.runs)
    if worst > TARGET_PLAN_S >= max(median([r.run.wall_s for r in runs]) for runs in (uncached, cached)):
        out.append(
            f"- The medians meet the {TARGET_PLAN_S:g} s target, but single runs took up to {worst:.2f} s (CPU time "
            f"{max(r.run.cpu_s for r in plan.runs):.2f} s for the same work): on this machine `plan` has little "
            "headroom, and its speed varies with the machine's."
        )
    if any(r.planned > 0 for r in plan.runs):
        out.append(f"- The measured plans still planned {max(r.planned for r in plan.runs)} bottles.")
    return out


def outside_load(report: Report) -> float:
    """Mean cores busy machine-wide beyond this benchmark's processes, over every measured run."""
    samples: list[tuple[float, float]] = []  # (wall, cores outside)
    for figure in [*report.throughput.values(), *report.sweep.values()]:
        for s in [*figure.sync, *figure.raw]:
            samples.append((s.wall_s, s.machine_busy - (s.cpu_s + s.host_cpu_s) / s.wall_s))
    if report.plan:
        for r in report.plan.runs:
            samples.append((r.run.wall_s, r.run.machine_busy - (r.run.cpu_s + r.run.host_cpu_s) / r.run.wall_s))
    wall = sum(w for w, _ in samples)
    return max(0.0, sum(w * load for w, load in samples) / wall) if wall else float("nan")


def first_blob_mb(report: Report) -> str:
    figures = list(report.throughput.values())
    return f"{figures[0].blob_bytes / MB:.0f}" if figures else "?"


def print_summary(report: Report) -> None:
    log("")
    log("== figures ==")
    figures = list(report.throughput.values())
    if figures:
        log(table(THROUGHPUT_HEADER, throughput_rows(figures)))
    if report.sweep:
        log("")
        log(table(THROUGHPUT_HEADER, throughput_rows([f for _, f in sorted(report.sweep.items())])))
    for big in report.big:
        log(f"(b) {big.target}: {big.size / MB:.0f} MB bottle, peak RSS {mb(big.run.peak_rss)} MB "
            f"(kernel {mb(big.run.kernel_hwm)} MB), {big.engine_s:.1f} s")  # fmt: skip
    if report.plan:
        for r in report.plan.runs:
            log(f"(c) plan {'cached' if r.cached else 'uncached'}: {r.run.wall_s:.2f} s wall, {r.engine_s:.2f} s "
                f"engine, peak RSS {mb(r.run.peak_rss)} MB, planned {r.planned}")  # fmt: skip
    log("")
    log(table(["Figure", "Target", "Measured", "Result"], targets_rows(report)))
    for name, error in report.errors.items():
        log(f"NOT MEASURED {name}: {error.splitlines()[0]}")
    log(f"total run time: {report.total_s:.0f} s")


# ---------------------------------------------------------------------------------------------------------
# Main


def attempt(report: Report, name: str, step: Callable[[], None]) -> None:
    """Run one measurement; a failure is reported (and fails the script) without losing the others."""
    try:
        step()
    except (BenchError, OSError, ValueError, KeyError, RuntimeError) as exc:
        traceback.print_exc()
        report.errors[name] = str(exc) or type(exc).__name__


@contextlib.contextmanager
def moto_server(enabled: bool) -> Iterator[MotoS3 | None]:
    if not enabled:
        yield None
        return
    server = MotoS3()
    try:
        yield server.start()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/benchmarks.md", help="Markdown report (the PNG goes next to it)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not reference figures")
    parser.add_argument("--skip-s3", action="store_true", help="no S3 (moto) measurements")
    parser.add_argument("--skip-big", action="store_true", help="no huge-bottle memory measurement")
    parser.add_argument("--raw-worker", metavar="JOB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.raw_worker:
        return raw_worker(args.raw_worker)

    # SIGTERM unwinds like Ctrl-C, so every finally below stops servers, kills children and removes temp dirs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = Path(args.out)
    if not out.is_absolute():
        out = Path.cwd() / out
    profile = QUICK if args.quick else FULL
    started = time.monotonic()
    rate = sha256_rate()
    report = Report(profile=profile, machine=machine_info(rate), sha256_rate=rate, started=started)
    log(f"homebrew-sync benchmark ({profile.name}) on {report.machine['CPU']}, {report.machine['Cores']}")
    if args.skip_s3:
        report.skipped.append("S3 (`--skip-s3`)")
    if args.skip_big:
        report.skipped.append("huge-bottle memory (`--skip-big`)")
    ws = Workspace()
    try:
        with moto_server(not args.skip_s3) as s3:
            attempt(report, "start-up", lambda: startup_section(ws, report))
            attempt(report, "(a)/(d) throughput", lambda: throughput_section(ws, report, s3))
            # (c) before (b): the 2 GiB bottle leaves the page cache and moto's memory churning for a while.
            attempt(report, "(c) plan", lambda: plan_section(ws, report))
            if not args.skip_big:
                attempt(report, "(b) huge bottle", lambda: big_section(ws, report, s3))
    finally:
        ws.cleanup()
    report.total_s = time.monotonic() - report.started
    out.parent.mkdir(parents=True, exist_ok=True)
    chart = out.parent / "benchmark-concurrency.png"
    chart_name = None
    if report.sweep:
        render_chart(report, chart)
        chart_name = chart.name
    out.write_text(render_markdown(report, chart_name))
    print_summary(report)
    log(f"wrote {out}" + (f" and {chart}" if chart_name else ""))
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
