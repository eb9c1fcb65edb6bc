"""ECS Fargate task: run one shard of a run (pointers come from the environment), reporting progress.

Exit codes: 0 when the shard ran to its end (failed bottles included: they are reported in the run
summary) or stopped cleanly on SIGTERM, 2 for a run error. On SIGTERM (Fargate Spot interruption,
`ecs stop-task`) it stops taking new bottles, lets transfers in flight finish for
HOMEBREW_SYNC_STOP_GRACE_S seconds (then aborts them), checkpoints and exits 0, well within the 25 s an
operator can count on: the summary and its message list the bottles not started, which the next run
picks up (a Spot interruption is also reported as a stopped task, by its stop code).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import boto3
from homebrew_sync.aws.dispatch import RUN_ID_ENV, SHARD_KEY_ENV
from homebrew_sync.aws.notify import ProgressReporter
from homebrew_sync.aws.observability import logger, put_metric_data, route_engine_logs
from homebrew_sync.aws.runtime import ConfigError, SyncError, load_settings, log_location, make_notifier
from homebrew_sync.aws.shard_worker import run_worker


def main() -> int:
    route_engine_logs()
    try:
        run_id, shard_key = os.environ[RUN_ID_ENV], os.environ[SHARD_KEY_ENV]
        settings = load_settings()
    except KeyError as exc:
        logger.error("missing pointer in the environment", extra={"variable": str(exc)})
        return 2
    except ConfigError as exc:
        logger.error("invalid settings", extra={"error": str(exc)})
        return 2
    logger.set_correlation_id(run_id)
    stop = threading.Event()

    def on_sigterm(signum: int, _frame: object) -> None:
        logger.warning("signal received: stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)

    def sink(values: dict[str, float]) -> None:
        put_metric_data(boto3.client("cloudwatch"), values, settings.environment)

    notifier = make_notifier(settings, sink)
    progress = ProgressReporter(
        notifier, every_percent=settings.progress_every_percent, every_minutes=settings.progress_every_minutes
    )
    try:
        report = run_worker(
            settings,
            run_id,
            shard_key,
            notifier=notifier,
            metrics_sink=sink,
            logs=log_location(),
            can_continue=False,
            on_progress=progress.on_progress,
            should_stop=stop.is_set,
        )
    except SyncError as exc:
        logger.error("shard failed", extra={"error": str(exc)})
        return exc.exit_code
    except Exception as exc:  # a bug: one log line, not a traceback; exit 2 as for any run error
        logger.error("shard failed unexpectedly", extra={"error": f"{type(exc).__name__}: {exc}"})
        return 2
    logger.info("shard done", extra=report.as_dict())
    # Failed bottles are in the run summary and its message; a non-zero exit means the task itself
    # broke (the failed-task rule and alarm count those), so a shard that ran to its end exits 0.
    return 0


if __name__ == "__main__":
    sys.exit(main())
