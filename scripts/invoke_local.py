#!/usr/bin/env python3
"""Run the whole AWS flow on one machine, without an AWS account.

Calls the orchestrator handler in-process with a scheduled event (or --event FILE) against an
S3-compatible endpoint (a moto server), then carries out what it dispatched: sync Lambda invocations by
calling the sync handler in-process (continuations too), ECS tasks by running the container entrypoint
as a subprocess with the task's environment. Prints the Slack messages the run caused and, with --json,
one JSON object as the last line. Exit codes as the CLI's.

`--with-local-services` (used by `make invoke`) starts a moto server, the fake upstream and a recording
Slack webhook itself.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_PATH = f"{ROOT}{os.pathsep}{ROOT / 'shared'}"
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from homebrew_sync.aws.dispatch import RUN_ID_ENV, SHARD_KEY_ENV, run_task_request, use_dispatcher  # noqa: E402

from fakes.lambda_context import FakeLambdaContext  # noqa: E402
from fakes.webhook import FakeWebhook  # noqa: E402

WORKER_FUNCTION = "homebrew-sync-worker"


def load_handler(relative: str, module_name: str) -> Any:
    """Handlers live in files called handler.py under lambda/ (not importable as a package)."""
    spec = importlib.util.spec_from_file_location(module_name, ROOT / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def scheduled_event() -> dict[str, Any]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/homebrew-sync-weekly"],
        "detail": {},
    }


class LocalDispatcher:
    """Queues what the orchestrator (or a worker) dispatches, to be carried out on this machine."""

    def __init__(self) -> None:
        self.jobs: deque[tuple[str, str, str, int]] = deque()
        self.ecs_requests: list[dict[str, Any]] = []

    def invoke_worker(self, run_id: str, shard_key: str, *, function: str | None = None) -> None:
        self.jobs.append(("lambda", run_id, shard_key, 0))

    def run_task(self, run_id: str, shard_key: str, shard: int) -> None:
        from homebrew_sync.config import load_settings

        self.ecs_requests.append(run_task_request(load_settings(), run_id, shard_key, shard))
        self.jobs.append(("ecs", run_id, shard_key, shard))


def configure_environment(args: argparse.Namespace, webhook_url: str) -> None:
    env = {
        "HOMEBREW_SYNC_BUCKET": args.bucket,
        "HOMEBREW_SYNC_S3_ENDPOINT_URL": args.s3_endpoint,
        "AWS_ENDPOINT_URL": args.s3_endpoint,  # SNS, CloudWatch, Secrets Manager go to the same server
        "HOMEBREW_SYNC_SLACK_WEBHOOK_URL": webhook_url,
        "HOMEBREW_SYNC_SYNC_FUNCTION_NAME": WORKER_FUNCTION,
        "HOMEBREW_SYNC_ECS_CLUSTER": "homebrew-sync-local",
        "HOMEBREW_SYNC_ECS_TASK_DEFINITION": "homebrew-sync",
        "HOMEBREW_SYNC_ECS_SUBNETS": "subnet-local",
        "HOMEBREW_SYNC_ECS_SECURITY_GROUPS": "sg-local",
        "HOMEBREW_SYNC_PROGRESS": "false",
    }
    optional = {
        "HOMEBREW_SYNC_API_URL": args.api_url,
        "HOMEBREW_SYNC_REGISTRY_URL": args.registry_url,
        "HOMEBREW_SYNC_ALLOW_HOSTS": ",".join(args.allow_host or []) or None,
        "HOMEBREW_SYNC_PLATFORMS": ",".join(args.platform or []) or None,
        "HOMEBREW_SYNC_SIZE_THRESHOLD_GB": None if args.size_threshold_gb is None else str(args.size_threshold_gb),
        "HOMEBREW_SYNC_SIGNING_KEY": args.signing_key,
    }
    env.update({k: v for k, v in optional.items() if v is not None})
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # -v / POWERTOOLS_LOG_LEVEL=INFO for every bottle
    os.environ.update(env)


def run_ecs_task(run_id: str, shard_key: str) -> int:
    """The container entrypoint as a subprocess, with the task definition's environment plus overrides."""
    env = {**os.environ, RUN_ID_ENV: run_id, SHARD_KEY_ENV: shard_key, "PYTHONPATH": PACKAGE_PATH}
    process = subprocess.run([sys.executable, str(ROOT / "ecs" / "entrypoint.py")], env=env, stdout=sys.stderr)
    return process.returncode


def invoke(args: argparse.Namespace, webhook: FakeWebhook) -> dict[str, Any]:
    configure_environment(args, webhook.url)
    dispatcher = LocalDispatcher()
    use_dispatcher(lambda _settings: dispatcher)
    orchestrator = load_handler("lambda/orchestrator/handler.py", "orchestrator_handler")
    worker = load_handler("lambda/sync/handler.py", "sync_handler")
    event = json.loads(Path(args.event).read_text()) if args.event else scheduled_event()
    result = orchestrator(event, FakeLambdaContext(function_name="homebrew-sync-orchestrator"))
    print(f"orchestrator: {json.dumps(result)}", file=sys.stderr)
    continuations = task_failures = 0
    while dispatcher.jobs:
        kind, run_id, shard_key, _shard = dispatcher.jobs.popleft()
        if kind == "lambda":
            context = FakeLambdaContext(function_name=WORKER_FUNCTION, remaining_s=args.lambda_seconds)
            report = worker({"run_id": run_id, "shard_key": shard_key}, context)
            continuations += 1 if report.get("continuation") else 0
            print(f"sync lambda: {json.dumps(report)}", file=sys.stderr)
        else:
            code = run_ecs_task(run_id, shard_key)
            task_failures += 1 if code not in (0, 1) else 0
            print(f"ecs task {shard_key}: exit {code}", file=sys.stderr)
    return {
        "result": result,
        "continuations": continuations,
        "task_failures": task_failures,
        "ecs_requests": dispatcher.ecs_requests,
    }


def read_summary(args: argparse.Namespace, run_id: str) -> dict[str, Any] | None:
    client = boto3.client("s3", endpoint_url=args.s3_endpoint)
    with contextlib.suppress(client.exceptions.NoSuchKey):
        body = client.get_object(Bucket=args.bucket, Key=f"runs/{run_id}/summary.json")["Body"].read()
        return dict(json.loads(body))
    return None


def relay(messages: list[str], url: str | None) -> None:
    for text in messages:
        print(text + "\n")
        if url:
            with contextlib.suppress(requests.RequestException):
                requests.post(url, json={"text": text}, timeout=10)


def exit_code(status: str, summary: dict[str, Any] | None, task_failures: int) -> int:
    if status == "locked":
        return 3
    if status in ("rejected", "error") or task_failures:
        return 2
    if status in ("started", "finished") and summary is None:
        return 2
    return 1 if summary and summary.get("failed") else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s3-endpoint", help="S3-compatible endpoint URL (e.g. a moto server)")
    parser.add_argument("--bucket", help="bucket to mirror into (must exist)")
    parser.add_argument("--slack-webhook", help="also post every Slack message to this webhook")
    parser.add_argument("--api-url")
    parser.add_argument("--registry-url")
    parser.add_argument("--allow-host", action="append")
    parser.add_argument("--platform", action="append")
    parser.add_argument("--size-threshold-gb", type=float)
    parser.add_argument("--signing-key", help="public key of the fake upstream's signed API")
    parser.add_argument("--event", help="JSON event file (default: a scheduled event)")
    parser.add_argument("--lambda-seconds", type=float, default=900.0, help="time budget each sync Lambda reports")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--with-local-services",
        action="store_true",
        help="start a moto server, the fake upstream and a webhook recorder (make invoke)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.with_local_services:
            start_local_services(args, stack)
        if not args.s3_endpoint or not args.bucket:
            build_parser().error("--s3-endpoint and --bucket are required (or --with-local-services)")
        webhook = stack.enter_context(FakeWebhook())
        try:
            outcome = invoke(args, webhook)
        except Exception as exc:  # the orchestrator re-raises after notifying; report like the CLI does
            print(f"error: {exc}", file=sys.stderr)
            relay(webhook.texts(), args.slack_webhook)
            if args.json:
                print(json.dumps({"error": str(exc), "exit_code": 2}))
            return 2
        result = outcome["result"]
        run_id = result.get("run_id", "")
        summary = read_summary(args, run_id) if run_id else None
        relay(webhook.texts(), args.slack_webhook)
        report = {
            "run_id": run_id,
            "status": result.get("status"),
            "route": result.get("route"),
            "shards": result.get("shards", 0),
            "planned": result.get("planned", 0),
            "downloaded": (summary or {}).get("downloaded", 0),
            "copied": (summary or {}).get("copied", 0),
            "failed": (summary or {}).get("failed", 0),
            "continuations": outcome["continuations"],
            "ecs_requests": len(outcome["ecs_requests"]),
        }
        if args.json:
            print(json.dumps(report))
        else:
            print(json.dumps(report, indent=2))
        return exit_code(result.get("status", "error"), summary, outcome["task_failures"])


def start_local_services(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    """moto server + bucket, fake upstream, for `make invoke`."""
    from moto.server import ThreadedMotoServer

    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    stack.callback(server.stop)
    host, port = server.get_host_and_port()
    args.s3_endpoint = f"http://{host}:{port}"
    args.bucket = args.bucket or "homebrew-mirror-local"
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ.setdefault(name, value)
    boto3.client("s3", endpoint_url=args.s3_endpoint, region_name="us-east-1").create_bucket(Bucket=args.bucket)
    upstream = stack.enter_context(FakeUpstream(generate_catalogue(40, seed=1)))
    args.api_url, args.registry_url = upstream.api_url, upstream.registry_url
    args.allow_host = list(upstream.allow_hosts) + (args.allow_host or [])
    args.signing_key = upstream.public_key_path
    print(f"moto server {args.s3_endpoint}, bucket {args.bucket}, fake upstream {upstream.api_url}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
