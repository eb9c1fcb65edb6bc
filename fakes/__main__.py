"""Command line: run a FakeUpstream until SIGTERM/SIGINT, announcing its addresses as one JSON line.

Used by `make demo`, the benchmarks and anything that needs the upstream in another process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading

from fakes.catalogue import generate_catalogue
from fakes.server import FakeUpstream


def _big_bottle(text: str) -> tuple[str, int]:
    name, sep, size = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError("expected NAME=BYTES")
    try:
        return name, int(size)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad byte count in {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakes", description="Local stand-in for formulae.brew.sh, ghcr.io and its blob host."
    )
    parser.add_argument("--formulae", type=int, default=40, help="catalogue size (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="catalogue seed (default 0)")
    parser.add_argument("--port", type=int, default=0, help="API + registry port (0 = ephemeral)")
    parser.add_argument("--blob-port", type=int, default=0, help="blob host port (0 = ephemeral)")
    parser.add_argument("--min-blob", type=int, default=1024, help="smallest generated bottle, bytes")
    parser.add_argument("--max-blob", type=int, default=64 * 1024, help="largest generated bottle, bytes")
    parser.add_argument(
        "--big-bottle", type=_big_bottle, action="append", default=[], metavar="NAME=BYTES",
        help="add a formula with one `all` bottle of this size (repeatable)",
    )  # fmt: skip
    parser.add_argument("--faults", metavar="FILE.json", help="faults to arm (see Faults.load_file)")
    parser.add_argument("--no-signing", action="store_true", help="serve no formula.jws.json (404)")
    parser.add_argument("--key-out", metavar="PATH", help="also write the public key PEM here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    catalogue = generate_catalogue(
        args.formulae,
        args.seed,
        min_blob=args.min_blob,
        max_blob=args.max_blob,
        big_bottles=dict(args.big_bottle) or None,
    )
    upstream = FakeUpstream(catalogue, signing=not args.no_signing, port=args.port, blob_port=args.blob_port)
    if args.faults:

        def resolve(formula: str, tag: str | None) -> list[str]:
            bottles = catalogue.bottles(formula)
            chosen = [bottles[tag]] if tag else list(bottles.values())
            return sorted({b.sha256 for b in chosen})

        upstream.faults.load_file(args.faults, resolve)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    upstream.start()
    try:
        key_path = upstream.public_key_path
        if args.key_out:
            shutil.copyfile(upstream.public_key_path, args.key_out)
            key_path = os.path.abspath(args.key_out)
        announcement = {
            "api_url": upstream.api_url,
            "registry_url": upstream.registry_url,
            "allow_hosts": upstream.allow_hosts,
            "public_key_path": key_path,
            "pid": os.getpid(),
        }
        sys.stdout.write(json.dumps(announcement) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        upstream.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
