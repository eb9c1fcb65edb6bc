"""Running what is measured: subprocesses watched for memory and CPU, a moto server in its own process."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_INTERVAL_S = 0.02
RUN_TIMEOUT_S = 900
SYNC_DATE = "2025-01-01"


class BenchError(RuntimeError):
    """A measurement that could not be made (the report names it)."""


@dataclass
class ProcessRun:
    """One finished subprocess: wall time, peak memory of its tree, CPU time, output."""

    returncode: int
    wall_s: float
    peak_rss: int
    cpu_s: float
    stdout: str
    stderr: str

    def last_json(self) -> dict[str, Any]:
        lines = self.stdout.strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, ValueError):
            raise BenchError(f"no JSON line from a subprocess (exit {self.returncode}): {self.tail()}") from None

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.stderr.strip().splitlines()[-lines:])


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        parent = psutil.Process(pid)
        total = parent.memory_info().rss
        for child in parent.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total
    except psutil.Error:
        return 0


def _vm_hwm(pid: int) -> int:
    """The kernel's high-water mark of the process: covers spikes between two polls."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def run_process(command: list[str], env: dict[str, str], workdir: Path, timeout: float = RUN_TIMEOUT_S) -> ProcessRun:
    """Run a command to completion in its own session, polling its tree's RSS; it never outlives the call."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    peak = 0
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(process.pid), _vm_hwm(process.pid))
                done.wait(SAMPLE_INTERVAL_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        killer = threading.Timer(timeout, lambda: _kill(process))
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            returncode = os.waitstatus_to_exitcode(status)
        finally:
            killer.cancel()
            done.set()
            sampler.join()
            if process.poll() is None:
                _kill(process)
    run = ProcessRun(
        returncode=returncode,
        wall_s=wall,
        peak_rss=peak,
        cpu_s=usage.ru_utime + usage.ru_stime,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
    if wall >= timeout:
        raise BenchError(f"{' '.join(command[1:4])} did not finish within {timeout:.0f} s")
    return run


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class Workspace:
    """Fresh directories under one temporary root that is always removed."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="homebrew-bench-", dir="/tmp"))
        self._counter = itertools.count(1)

    def fresh(self, label: str) -> Path:
        path = self.root / f"{label}-{next(self._counter)}"
        path.mkdir(parents=True)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def child_env(cache_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A homebrew-sync environment: no inherited HOMEBREW_SYNC_*/AWS_* settings, its own API cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOMEBREW_SYNC_", "AWS_"))}
    env["HOMEBREW_SYNC_CACHE_DIR"] = str(cache_dir)
    env.update(extra or {})
    return env


def homebrew_sync(command: str, upstream: Any, dest: str, *extra: str) -> list[str]:
    """`python -m homebrew_sync plan|sync` against the fake upstream, as a user would type it."""
    args = [sys.executable, "-m", "homebrew_sync", command, "--dest", dest, "--date", SYNC_DATE]
    args += ["--json", "--no-progress"]
    return args + upstream.cli_args() + list(extra)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoProcess:
    """A moto S3 server in a process of its own (not sharing a GIL with the upstream or the measured code)."""

    bucket = "bench-mirror"
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.endpoint = ""
        self.client: Any = None

    def start(self) -> MotoProcess:
        import boto3

        port = _free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise BenchError("the moto server did not start")
            time.sleep(0.1)
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
        if self.process is not None:
            _kill(self.process)
            self.process.wait()
            self.process = None

    def env(self) -> dict[str, str]:
        return {"HOMEBREW_SYNC_S3_ENDPOINT_URL": self.endpoint, **self.credentials}

    def empty(self, prefix: str) -> None:
        """Delete everything under a prefix, so the server does not keep earlier runs in memory."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def count(self, prefix: str) -> int:
        paginator = self.client.get_paginator("list_objects_v2")
        return sum(page.get("KeyCount", 0) for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix))
