"""The orchestrator's first plan of a full catalogue: how long until the routing decision.

The decision only needs to know whether the estimated download is above the size threshold; the plan
stops estimating once it is (`enough_bytes`), within `plan_budget_s`. Set against the same plan estimating
every size (the behaviour before), each in a fresh process with a cold API and registry cache. The threshold
is a fifth of what the first full estimate found the plan selects, so that a first full run goes to ECS as it
does with the real catalogue (a fifth of the whole catalogue would be nearly all of what three platforms select).

    python scripts/benchkit/routing.py --worker   (reads HOMEBREW_SYNC_* from the environment)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from benchkit.procs import BenchError, Workspace, child_env, run_process  # noqa: E402


def worker(early: bool) -> int:
    """Plan as the orchestrator does and print when the route was known."""
    from homebrew_sync.aws.orchestrator import choose_route
    from homebrew_sync.config import load_settings
    from homebrew_sync.engine import Engine

    settings = load_settings()
    engine = Engine.from_settings(settings)
    started = time.monotonic()
    deadline = started + settings.plan_budget_s
    plan, _ = engine.plan(
        "bench-routing",
        enough_bytes=settings.size_threshold_bytes if early else None,
        time_left=lambda: deadline - time.monotonic(),
    )
    seconds = time.monotonic() - started
    route = choose_route(plan.estimated_bytes, settings) if plan.sizes_complete else "ecs"
    print(
        json.dumps(
            {
                "seconds": seconds,
                "route": route,
                "bottles": len(plan.bottles),
                "estimated_bytes": plan.estimated_bytes,
                "sizes_complete": plan.sizes_complete,
            }
        )
    )
    return 0


def measure(ws: Workspace, formulae: int, repeats: int, seed: int, log: Any = print) -> dict[str, Any]:
    """`repeats` alternating runs of the early-routing plan and the full-estimate plan."""
    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream

    log(f"first-plan routing time, {formulae} formulae")
    catalogue = generate_catalogue(formulae, seed)
    total = sum(bottle.size for _, bottle in catalogue.iter_bottles())
    runs: dict[str, list[dict[str, Any]]] = {"early": [], "full": []}
    threshold = 0  # a fifth of what the plan selects (known after the first full estimate): a first run goes to ECS
    with FakeUpstream(catalogue) as upstream:
        for _ in range(repeats):
            for mode in ("full", "early"):
                work = ws.fresh("routing")
                limit = {"HOMEBREW_SYNC_SIZE_THRESHOLD_GB": f"{threshold / 1024**3:.9f}"} if threshold else {}
                env = child_env(
                    work / "cache",
                    {**upstream.settings_env(), "HOMEBREW_SYNC_DEST": str(work / "mirror"), **limit},
                )
                command = [sys.executable, __file__, "--worker"] + (["--full"] if mode == "full" else [])
                run = run_process(command, env, work)
                if run.returncode != 0:
                    raise BenchError(f"routing plan failed (exit {run.returncode}): {run.tail()}")
                result = run.last_json()
                threshold = threshold or result["estimated_bytes"] // 5
                # Every route against the same threshold (the first run, which sets it, saw the default).
                decided_ecs = not result["sizes_complete"] or result["estimated_bytes"] >= threshold
                result["route"] = "ecs" if decided_ecs else "lambda"
                runs[mode].append({**result, "wall_s": run.wall_s, "peak_rss": run.peak_rss})
                log(f"  {mode:5}: route {result['route']} after {result['seconds']:.2f} s")
    return {
        "formulae": formulae,
        "catalogue_bytes": total,
        "api_bytes": len(catalogue.formula_json_bytes()),
        "threshold_bytes": threshold,
        "runs": runs,
        **{f"{mode}_median_s": statistics.median(r["seconds"] for r in runs[mode]) for mode in runs},
        **{f"{mode}_best_s": min(r["seconds"] for r in runs[mode]) for mode in runs},
    }


if __name__ == "__main__":
    sys.exit(worker(early="--full" not in sys.argv))
