"""Powertools Logger, Metrics and Tracer, created once and shared by the handlers and the ECS task.

The engine logs through the standard library; `route_engine_logs` sends those records through the
Powertools JSON formatter so every line carries the run id as correlation id.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "homebrew-sync")
DEFAULT_NAMESPACE = "HomebrewSync"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE)

# A handler that only plans (dry run, duplicate, lock held) has no metrics to flush; that is expected.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)
tracer = Tracer(service=SERVICE, disabled=os.environ.get("HOMEBREW_SYNC_ENABLE_TRACING", "false").lower() != "true")

METRIC_UNITS = {
    "BottlesPlanned": MetricUnit.Count,
    "BytesPlanned": MetricUnit.Bytes,
    "BottlesDownloaded": MetricUnit.Count,
    "BytesDownloaded": MetricUnit.Bytes,
    "BottlesFailed": MetricUnit.Count,
    "SyncDurationSeconds": MetricUnit.Seconds,
    "SyncSucceeded": MetricUnit.Count,
    "SyncFailed": MetricUnit.Count,
    "SlackSecretErrors": MetricUnit.Count,
}


def route_engine_logs() -> None:
    """Engine modules log under `homebrew_sync.*`; give them the Powertools handler and formatter."""
    engine = logging.getLogger("homebrew_sync")
    engine.setLevel(logger.log_level)
    copy_config_to_registered_loggers(source_logger=logger, include={"homebrew_sync"})


def run_metrics(
    *,
    planned: int,
    bytes_planned: int,
    downloaded: int,
    bytes_downloaded: int,
    failed: int,
    duration_s: float,
    succeeded: bool,
) -> dict[str, float]:
    return {
        "BottlesPlanned": planned,
        "BytesPlanned": bytes_planned,
        "BottlesDownloaded": downloaded,
        "BytesDownloaded": bytes_downloaded,
        "BottlesFailed": failed,
        "SyncDurationSeconds": round(duration_s, 3),
        "SyncSucceeded": 1 if succeeded else 0,
        "SyncFailed": 0 if succeeded else 1,
    }


def emit_emf(values: dict[str, float], environment: str) -> None:
    """Lambda: metrics as EMF lines in the log (flushed by `log_metrics` on the handler)."""
    metrics.add_dimension(name="environment", value=environment)
    for name, value in values.items():
        metrics.add_metric(name=name, unit=METRIC_UNITS[name], value=value)


def put_metric_data(client: Any, values: dict[str, float], environment: str) -> None:
    """ECS task: the same metrics through the CloudWatch API."""
    dimensions = [{"Name": "service", "Value": SERVICE}, {"Name": "environment", "Value": environment}]
    client.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {"MetricName": name, "Value": float(value), "Unit": METRIC_UNITS[name].value, "Dimensions": dimensions}
            for name, value in values.items()
        ],
    )
