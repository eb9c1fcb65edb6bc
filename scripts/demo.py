#!/usr/bin/env python3
"""`make demo`: mirror the local fake upstream into ./mirror twice (the second run downloads nothing),
then serve the mirror for a moment and fetch from it as brew would.

Needs no AWS account and no internet: the fake upstream (formulae.brew.sh + ghcr.io stand-ins on
127.0.0.1) serves a generated catalogue, signed with a key it makes for the occasion.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from homebrew_sync.serve import base_url, client_env_lines, make_server  # noqa: E402
from homebrew_sync.signature import load_public_key, verify_jws  # noqa: E402

from fakes.catalogue import generate_catalogue  # noqa: E402
from fakes.server import FakeUpstream  # noqa: E402


def sync(upstream: FakeUpstream, dest: str, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "homebrew_sync", "sync", "--dest", dest, "--json", *upstream.cli_args(), *extra]
    print("$ homebrew-sync sync --dest", dest, "(against the local fake upstream)", flush=True)
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    lines = result.stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True)
    if result.returncode not in (0, 1):
        sys.exit(result.returncode)
    return json.loads(lines[-1])


def round_trip(dest: str, key_path: str) -> bool:
    """Serve the mirror on a free port and ask it what brew asks for one bottle."""
    state = json.loads((Path(dest) / "bottles_hash.json").read_text())
    file, record = next((f, r) for f, r in sorted(state["bottles"].items()) if "@" in f)
    manifest_key = next(
        k
        for k, m in sorted(state["manifests"].items())
        if m["sha256"] and k.startswith(record["formula"].replace("@", "/") + "/")
    )
    server = make_server(dest, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = base_url(server)
    try:
        print(f"\n$ homebrew-sync serve --dest {dest}   (for a moment, at {base})")
        print("\n".join(client_env_lines(base)))
        url = f"{base}/{quote(file, safe='')}"
        head = requests.head(url, timeout=10)
        body = requests.get(url, timeout=10).content
        ok_bottle = head.status_code == 200 and hashlib.sha256(body).hexdigest() == record["sha256"]
        print(
            f"HEAD+GET /{quote(file, safe='')}: {head.status_code}, {len(body):,} bytes, sha256 "
            f"{'matches' if ok_bottle else 'DOES NOT match'}"
        )
        index = requests.get(
            f"{base}/{manifest_key}", headers={"Accept": "application/vnd.oci.image.index.v1+json"}, timeout=10
        )
        ok_index = index.status_code == 200 and record["sha256"] in index.text
        print(f"GET /{manifest_key}: {index.status_code}, lists the bottle's sha256: {ok_index}")
        api = requests.get(f"{base}/api/formula.jws.json", timeout=10)
        verify_jws(api.content, load_public_key(Path(key_path)))
        print(f"GET /api/formula.jws.json: {api.status_code}, {len(api.content):,} bytes, signature verifies")
    finally:
        server.shutdown()
        server.server_close()
    return ok_bottle and ok_index


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", default="./mirror")
    parser.add_argument("--formulae", type=int, default=60, help="size of the generated catalogue")
    parser.add_argument("--layout", default="flat", help="flat (servable to brew, the demo's default) or dated")
    args, extra = parser.parse_known_args()
    catalogue = generate_catalogue(args.formulae, seed=1)
    with FakeUpstream(catalogue) as upstream:
        extra = ["--layout", args.layout, "--platform", "arm64_tahoe", "--platform", "arm64_sonoma", *extra]
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
        served = round_trip(args.dest, str(upstream.public_key_path))
    state = json.loads((Path(args.dest) / "bottles_hash.json").read_text())
    print(
        f"\n{args.dest}/bottles_hash.json records {len(state['bottles'])} bottles and "
        f"{sum(1 for m in state['manifests'].values() if m['sha256'])} image indexes; "
        f"try: homebrew-sync verify --dest {args.dest}, homebrew-sync serve --dest {args.dest}"
    )
    return 0 if second["downloaded"] == 0 and first["failed"] == 0 and served else 1


if __name__ == "__main__":
    sys.exit(main())
