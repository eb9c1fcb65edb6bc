"""`homebrew-sync`: plan, sync, verify and serve a mirror from the command line.

Exit codes: 0 all good; 1 some bottles failed (the rest were mirrored) or verify found problems;
2 usage, configuration, upstream or state error; 3 another run holds the lock; 4 interrupted (SIGTERM or
SIGINT) before every planned bottle was started: what was not started is listed, the next run takes it.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from homebrew_sync import __version__
from homebrew_sync.cli.logs import configure_cli_logging
from homebrew_sync.cli.progress import TerminalProgress
from homebrew_sync.config import Settings, load_settings
from homebrew_sync.engine import Engine, finish_api, new_run_id, summarize
from homebrew_sync.errors import SyncError
from homebrew_sync.lock import RunLock
from homebrew_sync.models import Plan, RunSummary
from homebrew_sync.serve import client_env_lines, serve_mirror
from homebrew_sync.storage.local import remove_dead_parts
from homebrew_sync.verify import VerifyReport, rebuild_state, verify

log = logging.getLogger(__name__)

EXIT_INTERRUPTED = 4


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="homebrew-sync",
        description="Mirror the Homebrew bottles brew would install into a folder or an S3 bucket.",
        epilog="Every option can also be set as HOMEBREW_SYNC_<NAME> (lists comma-separated).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--dest", help="folder or s3://BUCKET[/PREFIX] (default ./mirror)")
        sub.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
        sub.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
        sub.add_argument("--s3-endpoint-url", dest="s3_endpoint_url", help="S3-compatible endpoint (testing)")

    for name, help_text in (("plan", "show what a sync would mirror"), ("sync", "mirror the planned bottles")):
        sub = commands.add_parser(name, help=help_text)
        common(sub)
        sub.add_argument("--api-url", help="Homebrew API base (default https://formulae.brew.sh/api)")
        sub.add_argument("--registry-url", help="bottle registry root (default https://ghcr.io/v2/homebrew/core)")
        sub.add_argument(
            "--platform",
            dest="platforms",
            action="append",
            metavar="TAG",
            help="brew platform to mirror for, repeatable; latest:N = N newest macOS tags "
            "(default arm64_sonoma arm64_ventura monterey)",
        )
        sub.add_argument(
            "--formula", dest="formulae", action="append", metavar="NAME", help="only these formulae (repeatable)"
        )
        sub.add_argument("--layout", choices=["dated", "flat"], help="YYYY-MM-DD/<file> (default) or <file>")
        sub.add_argument("--date", type=_date, help="date folder for the dated layout (default today, UTC)")
        sub.add_argument("--concurrency", type=int, help="parallel downloads (default 8)")
        sub.add_argument(
            "--allow-host",
            dest="allow_hosts",
            action="append",
            metavar="HOST",
            help="extra host[:port] allowed for API, downloads and redirects; http only for loopback",
        )
        sub.add_argument("--dry-run", action="store_true", default=None, help="plan only, change nothing")
        sub.add_argument(
            "--force", action="store_true", default=None, help="re-download bottles even if the state records them"
        )
        sub.add_argument(
            "--require-signature",
            action="store_true",
            default=None,
            help="refuse unsigned API data (the default)",
        )
        sub.add_argument(
            "--allow-unsigned",
            dest="require_signature",
            action="store_false",
            default=None,
            help="if formula.jws.json is not served, plan from UNSIGNED formula.json (not recommended)",
        )
        sub.add_argument(
            "--no-api",
            dest="publish_api",
            action="store_false",
            default=None,
            help="do not mirror the API files (api/*.jws.json) brew reads",
        )
        sub.add_argument("--signing-key", metavar="PEM", help="public key for formula.jws.json (default Homebrew's)")
        sub.add_argument(
            "--max-missing-share",
            type=float,
            metavar="SHARE",
            help="refuse to run when more than this share of mirrored formulae vanished (0.5)",
        )
        sub.add_argument("--no-progress", dest="progress", action="store_false", default=None, help="no progress bar")

    sub = commands.add_parser("verify", help="check every recorded bottle exists with its sha256")
    common(sub)
    sub.add_argument("--repair", action="store_true", help="drop bad entries from the state (the next sync refetches)")
    sub.add_argument("--rebuild-state", action="store_true", help="rebuild bottles_hash.json from the stored objects")

    sub = commands.add_parser("prune", help="remove versions Homebrew no longer lists (after a complete sync)")
    common(sub)
    sub.add_argument("--api-url", help="Homebrew API base (default https://formulae.brew.sh/api)")
    sub.add_argument("--registry-url", help=argparse.SUPPRESS)  # accepted so sync's upstream flags fit
    sub.add_argument("--platform", dest="platforms", action="append", metavar="TAG", help="as for sync")
    sub.add_argument("--allow-host", dest="allow_hosts", action="append", metavar="HOST", help="as for sync")
    sub.add_argument("--signing-key", metavar="PEM", help="public key for the API (default Homebrew's)")
    sub.add_argument(
        "--keep-versions",
        dest="prune_keep_versions",
        type=int,
        metavar="N",
        help="keep the newest N versions of each formula (default 2)",
    )
    sub.add_argument(
        "--older-than",
        dest="prune_older_than_days",
        type=int,
        metavar="DAYS",
        help="keep anything mirrored less than DAYS ago (default 30)",
    )
    sub.add_argument("--dry-run", action="store_true", default=None, help="list what would go, change nothing")

    sub = commands.add_parser("serve", help="serve a local flat mirror to brew clients (read-only)")
    sub.add_argument("--dest", default="./mirror", help="the mirror folder (default ./mirror)")
    sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sub.add_argument("--port", type=_port, default=8080, help="port (default 8080; 0 = any free port)")
    sub.add_argument("-v", "--verbose", action="count", default=0, help="log every request on stderr")

    sub = commands.add_parser("client-env", help="print the environment a brew client needs for a mirror URL")
    sub.add_argument("url", help="the mirror's base URL, e.g. https://mirror.example.com")
    sub.set_defaults(verbose=0)
    return parser


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}")
    return port


_NOT_SETTINGS = {"command", "json", "verbose", "repair", "rebuild_state"}


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in vars(args).items() if k not in _NOT_SETTINGS}
    if args.command == "plan":
        overrides["dry_run"] = True
    return load_settings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_cli_logging(args.verbose)
    if args.command == "client-env":
        return _client_env(args.url)
    if args.command == "serve":
        return _serve(args)
    try:
        settings = settings_from_args(args)
        if args.command == "verify":
            return _verify(settings, args)
        if args.command == "prune":
            return _prune(settings, args)
        return _sync(settings, args)
    except KeyboardInterrupt:  # Ctrl-C before the transfers began: nothing was started
        print("error: interrupted before any bottle was started", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": str(exc), "exit_code": exc.exit_code}))
        return exc.exit_code
    except Exception as exc:  # a bug: one line (the traceback with -vv); exit 2, because 1 means "some bottles failed"
        message = f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}"
        log.debug("unexpected error", exc_info=True)
        print(f"error: {message}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": message, "exit_code": 2}))
        return 2


def _sync(settings: Settings, args: argparse.Namespace) -> int:
    started = time.monotonic()
    engine = Engine.from_settings(settings)
    run_id = new_run_id()
    lock = None if settings.dry_run else engine.lock(run_id)
    interrupted_by: str | None = None
    if lock:
        lock.acquire()
    try:
        if lock and not settings.destination.startswith("s3://"):
            _remove_dead_parts(settings.destination)
        plan, formula_file = engine.plan(run_id)
        if settings.dry_run:
            summary = summarize(plan, None, started=started, dry_run=True)
        else:
            staged = engine.stage_api(plan, formula_file)
            summary, interrupted_by = _transfer(engine, plan, settings, started, lock)
            engine.finish_state(summary)  # the run's records first, then the API that describes them
            finish_api(engine, summary, staged)
            engine.write_run_document(plan.run_id, "summary.json", summary.model_dump_json().encode())
    finally:
        if lock:
            lock.release()
    _print_summary(summary, plan, settings, engine.storage.url, as_json=args.json, listing=args.command == "plan")
    if interrupted_by and summary.not_started:
        files = [b.file for b in summary.bottles if b.status == "not_started"]
        more = f" and {len(files) - 5} more" if len(files) > 5 else ""
        print(
            f"error: interrupted by {interrupted_by}: {summary.not_started} of {summary.planned} planned bottles "
            f"not started ({', '.join(files[:5])}{more}); the next run downloads them",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return summary.exit_code


def _remove_dead_parts(folder: str) -> None:
    """Temp files of transfers killed in earlier runs (kill -9, power loss) would otherwise stay forever."""
    removed = remove_dead_parts(folder)
    if removed:
        log.warning("removed temp files left by interrupted runs", extra={"files": removed})


def _transfer(
    engine: Engine, plan: Plan, settings: Settings, started: float, lock: RunLock | None
) -> tuple[RunSummary, str | None]:
    """Carry out the plan; also returns the name of the signal that stopped it early, if one did."""
    bar = TerminalProgress(len(plan.bottles), plan.estimated_bytes, enabled=None if settings.progress else False)
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with bar:
            outcome = engine.execute(
                plan.bottles,
                plan.run_id,
                manifests=plan.manifests,
                on_progress=bar.on_progress,
                on_bytes=bar.on_bytes,
                heartbeat=lock.refresh if lock else None,
                should_stop=stop.is_set,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return summarize(plan, outcome, started=started, dry_run=False), (received[0] if received else None)


def _print_summary(
    summary: RunSummary, plan: Plan, settings: Settings, where: str, *, as_json: bool, listing: bool
) -> None:
    gib = summary.estimated_bytes / 1024**3
    if listing:
        for bottle in plan.bottles:
            size = f"{bottle.size:>12,}" if bottle.size is not None else "     unknown"
            print(f"{size}  {bottle.key}  ({bottle.reason}{', copy' if bottle.copy_from else ''})")
    lines = [
        f"run {summary.run_id}{' (dry run)' if summary.dry_run else ''} -> {where}",
        f"platforms: {', '.join(plan.platforms)}   layout: {plan.layout}",
        f"selected {plan.selected}, already mirrored {summary.skipped}, planned {summary.planned} "
        f"(~{gib:.2f} GiB, {plan.unknown_sizes} of unknown size), image indexes to store {len(plan.manifests)}",
    ]
    if not summary.dry_run:
        lines.append(
            f"downloaded {summary.downloaded} ({summary.bytes_downloaded / 1024**2:.1f} MiB), "
            f"copied {summary.copied}, failed {summary.failed}, not started {summary.not_started} "
            f"in {summary.duration_s:.1f}s"
        )
        lines.append(
            f"image indexes: stored {summary.manifests}, failed {summary.manifests_failed}, "
            f"not served upstream {summary.manifests_missing}; api files published {len(summary.api_published)}"
            + (f", withheld {len(summary.api_withheld)} (run stopped early)" if summary.api_withheld else "")
        )
        for name in summary.api_missing:
            lines.append(f"  warning: {name} is not served upstream; the mirror keeps its copy")
    for failure in summary.failures[:20]:
        lines.append(f"  failed: {failure.file}: {failure.error}")
    if len(summary.failures) > 20:
        lines.append(f"  ... and {len(summary.failures) - 20} more failures")
    if summary.quarantined:
        lines.append(
            f"quarantined (failed {settings.quarantine_after}+ runs in a row): {', '.join(summary.quarantined)}"
        )
    if summary.rejected:
        lines.append(
            f"rejected {len(summary.rejected)} unsafe or invalid API entries, e.g. {summary.rejected[0].reason}"
        )
    print("\n".join(lines))
    if as_json:
        print(summary.model_dump_json(include=_JSON_FIELDS))


_JSON_FIELDS = {
    "run_id",
    "manifests",
    "manifests_failed",
    "manifests_missing",
    "api_published",
    "api_missing",
    "api_failed",
    "planned",
    "downloaded",
    "copied",
    "skipped",
    "failed",
    "not_started",
    "bytes_downloaded",
    "estimated_bytes",
    "duration_s",
    "dry_run",
    "bottles",
    "failures",
    "quarantined",
}


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    engine = Engine.from_settings(settings)
    if args.rebuild_state:  # under the run lock: no sync may record bottles while the state is rebuilt
        lock = engine.lock(new_run_id("rebuild-"))
        lock.acquire()
        try:
            report = rebuild_state(engine.storage, concurrency=settings.concurrency)
        finally:
            lock.release()
    else:
        report = verify(engine.storage, repair=args.repair, concurrency=settings.concurrency)
    _print_report(report, engine.storage.url, as_json=args.json)
    return report.exit_code


def _prune(settings: Settings, args: argparse.Namespace) -> int:
    engine = Engine.from_settings(settings)
    lock = engine.lock(new_run_id("prune-"))
    lock.acquire()
    try:
        report = engine.prune(dry_run=settings.dry_run)
    finally:
        lock.release()
    verb = "would remove" if report.dry_run else "removed"
    print(
        f"{verb} {len(report.versions)} versions ({len(report.removed)} objects) from {engine.storage.url}; "
        f"kept {report.kept_versions}"
    )
    for version in report.versions[:50]:
        print(f"  {version}")
    for error in report.errors:
        print(f"  not deleted (no longer listed): {error}")
    if args.json:
        print(report.model_dump_json())
    return report.exit_code


def _client_env(url: str) -> int:
    try:
        print("\n".join(client_env_lines(url)))
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        return serve_mirror(args.dest, args.host, args.port, log_requests=args.verbose > 0)
    except SyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def _print_report(report: VerifyReport, where: str, *, as_json: bool) -> None:
    if report.rebuilt:
        print(f"rebuilt the state of {where} from {report.recorded} stored bottles")
    else:
        print(f"checked {report.checked} recorded bottles in {where}: {report.ok} ok, {len(report.problems)} bad")
        for problem in report.problems[:50]:
            print(f"  {problem.key}: {problem.problem}")
        if report.repaired:
            print(f"removed {report.repaired} bad entries from the state; the next sync downloads them again")
    if as_json:
        print(report.model_dump_json())


if __name__ == "__main__":
    sys.exit(main())
