"""Crash at every step of a run, then check the mirror: nothing corrupt, nothing lost, a rerun converges.

The scenario: a mirror of upstream A exists; upstream B has since rebuilt a bottle (same file name, new
sha256), bumped a version and added a formula whose tags share one blob. The run from B has N side
effects; for every k in 1..N the run dies at step k (an exception that nothing catches, or a real SIGKILL
in a subprocess against a moto server). After each crash:
- the state file is valid, and every bottle it (or an unfolded journal) lists exists with the right sha256;
- nothing the previous state referenced is gone (a rebuilt file may only carry upstream's new bytes);
- no API file is B's before every bottle B selects is recorded (payload first, the API last);
- a rerun converges to the full mirror of B without downloading again what the state had recorded, and
  then serves B's API files.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import boto3
import homebrew_sync.engine
import pytest
import requests
from homebrew_sync.journal import effective_state
from homebrew_sync.models import StateFile
from homebrew_sync.selection import select_tag
from homebrew_sync.state import StateStore
from homebrew_sync.storage.local import LocalStorage
from homebrew_sync.storage.s3 import S3Storage

from fakes.catalogue import generate_catalogue
from fakes.server import FakeUpstream
from tests.helpers import PYTHONPATH
from tests.integration.conftest import FAST_RETRIES, expected_files, run_cli
from tests.resilience.crash import Crash, CrashPlan, install

ROOT = Path(__file__).resolve().parents[2]
SEED = 21
DATE = "2025-07-20"
pytestmark = pytest.mark.slow


def _pourable(catalogue, tag="arm64_sonoma") -> list[str]:
    return [
        name
        for name in catalogue.names()
        if not catalogue.find(name)["disabled"] and select_tag(catalogue.bottles(name), tag) == tag
    ]


@contextmanager
def upstreams():
    """A (what the mirror holds) and B (what upstream serves now)."""
    with FakeUpstream(generate_catalogue(10, seed=SEED)) as a, FakeUpstream(generate_catalogue(10, seed=SEED)) as b:
        rebuilt, bumped = _pourable(b.catalogue)[:2]
        b.catalogue.rebuild_bottle(rebuilt, "arm64_sonoma")
        b.catalogue.bump_version(bumped)
        b.catalogue.add_formula("zz-shared-blob", "1.0", tags=("arm64_sonoma", "arm64_ventura"), share_blobs=True)
        yield a, b


def dead_owner() -> str:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return f"{socket.gethostname()}:{gone.stdout.strip()}:crashed"


def sync_args(up: FakeUpstream, dest: str, layout: str) -> list[str]:
    return [
        "sync",
        "--dest",
        dest,
        "--date",
        DATE,
        "--layout",
        layout,
        "--concurrency",
        "1",
        "--json",
        "--no-progress",
        *up.cli_args(),
    ]


def sha_of_object(storage, key: str) -> str:
    return hashlib.sha256(b"".join(storage.iter_bytes(key))).hexdigest()


API_FILES = ("formula.jws.json", "cask.jws.json", "internal/packages.arm64_sonoma.jws.json")


def api_bytes(up: FakeUpstream) -> dict[str, bytes]:
    return {name: requests.get(f"{up.api_url}/{name}", timeout=10).content for name in API_FILES}


def check_api_not_ahead(storage, state: StateFile, b: FakeUpstream, where: str) -> None:
    """An API file from B is published only after every bottle B selects is in the state."""
    newer = [name for name, data in api_bytes(b).items() if _stored(storage, f"api/{name}") == data]
    if newer:
        missing = expected_files(b) - set(state.bottles)
        assert not missing, f"{where}: {newer} published while {sorted(missing)[:3]} are not mirrored"


def _stored(storage, key: str) -> bytes | None:
    return b"".join(storage.iter_bytes(key)) if storage.stat(key) is not None else None


def check_after_crash(storage, before: StateFile, b: FakeUpstream, where: str) -> StateFile:
    """Returns what the state records once the journals are folded in, as the next run does."""
    StateStore(storage).load()  # raises if the crash left it unreadable
    state = effective_state(storage, StateStore(storage))
    check_api_not_ahead(storage, state, b, where)
    for file, record in state.bottles.items():
        assert sha_of_object(storage, record.key) == record.sha256, f"{where}: {file} recorded but wrong"
    b_shas = {bottle.sha256 for _name, bottle in b.catalogue.iter_bottles()}
    for record in before.bottles.values():
        assert storage.stat(record.key) is not None, f"{where}: {record.key} was deleted"
        digest = sha_of_object(storage, record.key)
        assert digest == record.sha256 or digest in b_shas, f"{where}: {record.key} holds foreign bytes"
    return state


def check_rerun(
    storage, before: StateFile, recorded: StateFile, b: FakeUpstream, downloads_before: dict[str, int], where: str
) -> None:
    final = StateStore(storage).load()
    assert expected_files(b) <= set(final.bottles) <= expected_files(b) | set(before.bottles), where
    for name, data in api_bytes(b).items():
        assert _stored(storage, f"api/{name}") == data, f"{where}: api/{name} is not B's after the rerun"
    for record in final.bottles.values():
        assert sha_of_object(storage, record.key) == record.sha256, where
    for record in recorded.bottles.values():
        assert b.blob_downloads(record.sha256) == downloads_before.get(record.sha256, 0), (
            f"{where}: {record.key} was downloaded again"
        )


def blob_counts(b: FakeUpstream) -> dict[str, int]:
    return {bottle.sha256: b.blob_downloads(bottle.sha256) for _name, bottle in b.catalogue.iter_bottles()}


# A run per side effect: minutes on a busy machine, so its own time limit.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", ["local-dated", "local-flat", "s3-dated"])
def test_crash_at_every_step(variant, tmp_path, monkeypatch, request):
    for name, value in FAST_RETRIES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOMEBREW_SYNC_CHECKPOINT_EVERY", "2")
    backend, layout = variant.split("-")
    if backend == "s3":
        s3 = request.getfixturevalue("s3_client")

    def destination(k: int):
        if backend == "local":
            path = tmp_path / f"k{k}"
            return str(path), LocalStorage(path)
        return f"s3://mirror-bucket/k{k}", S3Storage(s3, "mirror-bucket", f"k{k}")

    with upstreams() as (a, b):
        dest, _ = destination(0)
        assert run_cli(*sync_args(a, dest, layout)).code == 0
        counting = CrashPlan(crash_at=None)
        with monkeypatch.context() as patch:
            install(counting, patch.setattr)
            assert run_cli(*sync_args(b, dest, layout)).code == 0
        steps = counting.steps
        assert (
            len(steps) >= 10
            and any(s.startswith("download") for s in steps)
            and any(s.startswith("copy") for s in steps)
        )
        for k in range(1, len(steps) + 1):
            where = f"{variant} crash at step {k}/{len(steps)} ({steps[k - 1]})"
            dest, storage = destination(k)
            assert run_cli(*sync_args(a, dest, layout)).code == 0, where
            before = StateStore(storage).load()
            plan = CrashPlan(crash_at=k)
            with monkeypatch.context() as patch:
                install(plan, patch.setattr)
                patch.setattr(homebrew_sync.engine, "default_owner", dead_owner)
                with pytest.raises(Crash):
                    run_cli(*sync_args(b, dest, layout))
            recorded = check_after_crash(storage, before, b, where)
            downloads = blob_counts(b)
            rerun = run_cli(*sync_args(b, dest, layout))
            assert rerun.code == 0, f"{where}: {rerun.err}"
            check_rerun(storage, before, recorded, b, downloads, where)


# Dozens of subprocess runs against a moto server: minutes on a busy machine, so its own time limit.
@pytest.mark.timeout(900)
def test_sigkill_at_every_step_against_a_moto_server(moto_server, tmp_path, monkeypatch):
    env = {
        **os.environ,
        **FAST_RETRIES,
        "HOMEBREW_SYNC_CHECKPOINT_EVERY": "2",
        "PYTHONPATH": PYTHONPATH,
        "HOMEBREW_SYNC_S3_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    monkeypatch.setenv("HOMEBREW_SYNC_S3_ENDPOINT_URL", moto_server)
    for name, value in FAST_RETRIES.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket="killed")

    def harness(k: int | None, up: FakeUpstream, dest: str) -> subprocess.CompletedProcess:
        module = ["-m", "tests.resilience.crash", str(k)] if k else ["-m", "homebrew_sync"]
        return subprocess.run(
            [sys.executable, *module, *sync_args(up, dest, "dated")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    with upstreams() as (a, b):
        count = CrashPlan(crash_at=None)
        with monkeypatch.context() as patch:
            install(count, patch.setattr)
            assert run_cli(*sync_args(a, "s3://killed/count", "dated")).code == 0
            count.steps.clear()
            assert run_cli(*sync_args(b, "s3://killed/count", "dated")).code == 0
        total = len(count.steps)
        for k in range(1, total + 1):
            where = f"SIGKILL at step {k}/{total} ({count.steps[k - 1]})"
            dest = f"s3://killed/k{k}"
            storage = S3Storage(s3, "killed", f"k{k}")
            assert harness(None, a, dest).returncode == 0, where
            before = StateStore(storage).load()
            killed = harness(k, b, dest)
            assert killed.returncode == -9, f"{where}: exit {killed.returncode} {killed.stderr[-500:]}"
            recorded = check_after_crash(storage, before, b, where)
            downloads = blob_counts(b)
            rerun = harness(None, b, dest)
            assert rerun.returncode == 0, f"{where}: {rerun.stderr[-1000:]}"
            check_rerun(storage, before, recorded, b, downloads, where)
