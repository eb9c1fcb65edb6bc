#!/usr/bin/env python3
"""`make demo`: mirror the local fake upstream into ./mirror twice; the second run downloads nothing.

Needs no AWS account and no internet: the fake upstream (formulae.brew.sh + ghcr.io stand-ins on
127.0.0.1) serves a generated catalogue, signed with a key it makes for the occasion.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fake_upstream.catalogue import generate_catalogue  # noqa: E402
from fake_upstream.server import FakeUpstream  # noqa: E402


def sync(upstream: FakeUpstream, dest: str, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "shared", "sync", "--dest", dest, "--json", *upstream.cli_args(), *extra]
    print("$ homebrew-sync sync --dest", dest, "(against the local fake upstream)", flush=True)
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True)
    if result.returncode not in (0, 1):
        sys.exit(result.returncode)
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", default="./mirror")
    parser.add_argument("--formulae", type=int, default=60, help="size of the generated catalogue")
    args, extra = parser.parse_known_args()
    catalogue = generate_catalogue(args.formulae, seed=1)
    with FakeUpstream(catalogue) as upstream:
        first = sync(upstream, args.dest, extra)
        print(
            f"\nfirst run: {first['downloaded']} downloaded, {first['copied']} copied, "
            f"{first['bytes_downloaded']:,} bytes, every one checked against its sha256\n",
            flush=True,
        )
        second = sync(upstream, args.dest, extra)
        print(
            f"\nsecond run: {second['downloaded']} downloaded, {second['skipped']} already mirrored "
            "-- nothing is downloaded twice",
            flush=True,
        )
    state = json.loads((Path(args.dest) / "bottles_hash.json").read_text())
    print(
        f"\n{args.dest}/bottles_hash.json records {len(state['bottles'])} bottles; "
        f"try: homebrew-sync verify --dest {args.dest}"
    )
    return 0 if second["downloaded"] == 0 and first["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
