"""The orchestrator Lambda's first scheduled run of a full catalogue: its peak memory against the default.

A first run is the orchestrator's largest: it verifies and parses the whole formula.jws.json, stages the
API files, plans every bottle and writes the shards. The handler runs in a process of its own, as Lambda
runs it, against S3 on a moto server in another process and the fake upstream in this one; the dispatch
is queued instead of sent. Its peak RSS is set against `orchestrator_memory_size` (terraform/), whose
whole budget the Lambda sandbox counts.

    python scripts/benchkit/orchestrator.py --worker   (reads HOMEBREW_SYNC_* from the environment)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "scripts")]

from benchkit.procs import BenchError, MotoProcess, Workspace, child_env, run_process  # noqa: E402


def default_memory_mb() -> int:
    """`orchestrator_memory_size`'s default in terraform/variables.tf."""
    text = (ROOT / "terraform" / "variables.tf").read_text()
    match = re.search(r'variable "orchestrator_memory_size" \{[^}]*?default\s*=\s*(\d+)', text, re.S)
    if not match:
        raise BenchError("orchestrator_memory_size has no default in terraform/variables.tf")
    return int(match.group(1))


def worker() -> int:
    """One scheduled run of the orchestrator handler, dispatch queued; prints what it decided."""
    from homebrew_sync.aws.dispatch import use_dispatcher
    from invoke_local import LocalDispatcher, load_handler, scheduled_event

    from fakes.lambda_context import FakeLambdaContext

    dispatcher = LocalDispatcher()
    use_dispatcher(lambda _settings: dispatcher)
    handler = load_handler("lambda/orchestrator/handler.py", "orchestrator_handler")
    context = FakeLambdaContext(function_name="homebrew-sync-orchestrator", remaining_s=900)
    result = handler(scheduled_event(), context)
    sizes_complete = "size_estimate" not in result  # the handler names why an estimate stopped early
    print(json.dumps({**{k: result.get(k) for k in ("status", "route")}, "sizes_complete": sizes_complete,
                      "dispatched": [job[0] for job in dispatcher.jobs]}))  # fmt: skip
    return 0


def measure(ws: Workspace, formulae: int, seed: int, log: Any = print) -> dict[str, Any]:
    """Peak RSS of the handler's process for a first scheduled run of `formulae` formulae."""
    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    log(f"orchestrator first run, {formulae} formulae")
    catalogue = generate_catalogue(formulae, seed)
    moto = MotoProcess().start()
    try:
        with FakeUpstream(catalogue) as upstream:
            work = ws.fresh("orchestrator")
            env = child_env(
                work / "cache",
                {
                    **moto.env(),
                    **upstream.settings_env(),
                    "HOMEBREW_SYNC_BUCKET": moto.bucket,
                    "HOMEBREW_SYNC_ENABLE_NOTIFICATIONS": "false",
                    "HOMEBREW_SYNC_SYNC_FUNCTION_NAME": "homebrew-sync-worker",
                    "HOMEBREW_SYNC_ECS_CLUSTER": "homebrew-sync",
                    "HOMEBREW_SYNC_ECS_TASK_DEFINITION": "homebrew-sync",
                    "HOMEBREW_SYNC_ECS_SUBNETS": "subnet-a",
                    "POWERTOOLS_METRICS_NAMESPACE": "HomebrewSyncBench",
                },
            )
            run = run_process([sys.executable, __file__, "--worker"], env, work)
            if run.returncode != 0:
                raise BenchError(f"orchestrator run failed (exit {run.returncode}): {run.tail()}")
            result = run.last_json()
            if result["status"] != "started":
                raise BenchError(f"orchestrator run ended {result['status']}: {run.tail()}")
    finally:
        moto.stop()
    memory_mb = default_memory_mb()
    log(f"  route {result['route']}, peak RSS {run.peak_rss / 1e6:.0f} MB of {memory_mb} MiB")
    return {
        "formulae": formulae,
        "api_bytes": len(catalogue.formula_json_bytes()),
        "route": result["route"],
        "sizes_complete": result["sizes_complete"],
        "shards": len(result["dispatched"]),
        "peak_rss": run.peak_rss,
        "wall_s": run.wall_s,
        "memory_mb": memory_mb,
    }


if __name__ == "__main__":
    sys.exit(worker())
