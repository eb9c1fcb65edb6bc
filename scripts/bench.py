#!/usr/bin/env python3
"""`make bench`: throughput, memory, state-cost, routing and orchestrator-memory figures of homebrew-sync here.

Everything runs locally and offline: the fake upstream (`fakes/`) serves bottles over real HTTP on
127.0.0.1, a moto server in a process of its own stands in for S3, homebrew-sync runs as a subprocess as a
user runs it. Throughput is set against the simplest correct mirror in alternating pairs (benchkit/baseline.py).

    .venv/bin/python scripts/bench.py --out docs/benchmarks.md [--quick] [--skip-s3] [--skip-big]

Writes the figures as JSON next to the Markdown, the Markdown tables, and a chart; the hand-written
analysis in the Markdown file is kept. Exit code 1 when a measurement could not be made.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "scripts")]

from benchkit import memory, orchestrator, report, routing, statecost, throughput  # noqa: E402
from benchkit.procs import BenchError, MotoProcess, Workspace  # noqa: E402

SEED = 20250101


@dataclass(frozen=True)
class Profile:
    name: str
    formulae: int  # throughput catalogue
    blob_bytes: int  # every blob of it (10 MB, as in issue 10's measurement)
    pairs: int
    big_bytes: int
    routing_formulae: int
    routing_repeats: int
    state: tuple[int, int, int]  # entries, new bottles, shards


FULL = Profile("full", 75, 10_000_000, 5, 2 * 1024**3, 8300, 2, (100_000, 2_000, 4))
QUICK = Profile("quick", 6, 1_000_000, 1, 64 * 1024**2, 200, 1, (1_000, 200, 4))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    import psutil

    cpu = "unknown"
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            cpu,
        )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "CPU": cpu,
        "Cores": f"{os.cpu_count()} logical",
        "RAM": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "Load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Commit": commit.stdout.strip() or "unknown",
    }


def attempt(figures: dict[str, Any], name: str, step: Callable[[], Any]) -> None:
    """Run one measurement; a failure is recorded (and fails the script) without losing the others."""
    try:
        figures[name] = step()
    except (BenchError, OSError, ValueError, KeyError, RuntimeError) as exc:
        traceback.print_exc()
        figures.setdefault("errors", {})[name] = " ".join(str(exc).split()) or type(exc).__name__


def measure_throughput(ws: Workspace, profile: Profile, moto: MotoProcess | None) -> list[dict[str, Any]]:
    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    catalogue = generate_catalogue(profile.formulae, SEED, min_blob=profile.blob_bytes, max_blob=profile.blob_bytes)
    results = []
    with FakeUpstream(catalogue) as upstream:
        for target, store in [("local", None)] + ([("s3", moto)] if moto is not None else []):
            log(f"throughput into {target}: {profile.pairs} pairs, concurrency 8")
            figure = throughput.Throughput(target, 8)
            throughput.measure(ws, upstream, [figure], profile.pairs, store, log=log, warmup=profile is FULL)
            results.append(figure.as_dict())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/benchmarks.md", help="Markdown report (JSON and chart go next to it)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not reference figures")
    parser.add_argument("--skip-s3", action="store_true", help="no S3 (moto) measurements")
    parser.add_argument("--skip-big", action="store_true", help="no huge-bottle memory measurement")
    parser.add_argument(
        "--state-json",
        type=Path,
        help="take the state figures from this output of scripts/bench_state.py instead of running it (minutes)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: servers stop, temp dirs go
    profile = QUICK if args.quick else FULL
    started = time.monotonic()
    figures: dict[str, Any] = {"profile": profile.name, "machine": machine()}
    ws = Workspace()
    moto = None
    try:
        if not args.skip_s3:
            moto = MotoProcess().start()
        attempt(figures, "throughput", lambda: measure_throughput(ws, profile, moto))
        if not args.skip_big:
            attempt(figures, "memory", lambda: memory.measure(ws, profile.big_bytes, moto, SEED, log=log))
        if args.state_json:
            attempt(figures, "state", lambda: statecost.load(args.state_json))
        else:
            attempt(figures, "state", lambda: statecost.measure(ws, *profile.state, log=log))
        attempt(
            figures,
            "routing",
            lambda: routing.measure(ws, profile.routing_formulae, profile.routing_repeats, SEED, log),
        )
        if not args.skip_s3:
            attempt(figures, "orchestrator", lambda: orchestrator.measure(ws, profile.routing_formulae, SEED, log))
    finally:
        if moto is not None:
            moto.stop()
        ws.cleanup()
    figures["machine"]["Benchmark wall time"] = f"{time.monotonic() - started:.0f} s ({profile.name} profile)"
    out = Path(args.out) if Path(args.out).is_absolute() else Path.cwd() / args.out
    report.write(figures, out)
    log(f"wrote {out} and {out.with_suffix('.json')}")
    return 1 if figures.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
