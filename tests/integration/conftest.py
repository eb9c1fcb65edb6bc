"""Integration fixtures: the fake upstream on 127.0.0.1 and a way to run the real CLI against it."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from homebrew_sync.cli.main import main
from homebrew_sync.selection import select_tag

from fakes.catalogue import generate_catalogue
from fakes.server import FakeUpstream

FAST_RETRIES = {
    "HOMEBREW_SYNC_BACKOFF_BASE_S": "0.01",
    "HOMEBREW_SYNC_BACKOFF_MAX_S": "0.05",
    "HOMEBREW_SYNC_READ_TIMEOUT_S": "2",
    "HOMEBREW_SYNC_CONNECT_TIMEOUT_S": "2",
    "HOMEBREW_SYNC_MIN_RATE_GRACE_S": "1",
    "HOMEBREW_SYNC_MIN_RATE_BYTES_S": "2048",
    "HOMEBREW_SYNC_STOP_GRACE_S": "2",
}


@pytest.fixture
def fast_retries(monkeypatch):
    for name, value in FAST_RETRIES.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def upstream(fast_retries):
    with FakeUpstream(generate_catalogue(12, seed=3)) as up:
        yield up


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out.strip().splitlines()[-1])


def run_cli(*args: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def sync(upstream, tmp_path):
    """`sync(*extra)` runs `homebrew-sync sync` into tmp_path/mirror against the fake upstream."""

    def run(*extra: str, dest: str | None = None, command: str = "sync") -> CliResult:
        target = dest or str(tmp_path / "mirror")
        return run_cli(command, "--dest", target, "--date", "2025-07-21", "--json", *upstream.cli_args(), *extra)

    return run


def expected_files(up: FakeUpstream, platforms=("arm64_sonoma", "arm64_ventura", "monterey")) -> set[str]:
    """Independent statement of what brew would pour, from the catalogue's own JSON."""
    files = set()
    for entry in json.loads(up.catalogue.formula_json_bytes()):
        stable = (entry.get("bottle") or {}).get("stable")
        if entry["disabled"] or not stable or not stable["files"]:
            continue
        version = entry["versions"]["stable"] + (f"_{entry['revision']}" if entry["revision"] else "")
        for platform in platforms:
            tag = select_tag(stable["files"], platform)
            if tag:
                rebuild = f".{stable['rebuild']}" if stable["rebuild"] else ""
                files.add(f"{entry['name']}-{version}.{tag}.bottle{rebuild}.tar.gz")
    return files


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def bottle_listing(root: Path) -> list[str]:
    return [key for key in listing(root) if key.endswith(".tar.gz")]


def state_of(root: Path) -> dict:
    return json.loads((root / "bottles_hash.json").read_text())


def sha_of(up: FakeUpstream, file_key: str) -> str:
    """The catalogue's sha256 of a bottle file name."""
    for name, bottle in up.catalogue.iter_bottles():
        entry = up.catalogue.find(name)
        version = entry["versions"]["stable"] + (f"_{entry['revision']}" if entry["revision"] else "")
        rebuild = entry["bottle"]["stable"]["rebuild"]
        suffix = f".{rebuild}" if rebuild else ""
        if f"{name}-{version}.{bottle.tag}.bottle{suffix}.tar.gz" == file_key.rsplit("/", 1)[-1]:
            return bottle.sha256
    raise KeyError(file_key)
