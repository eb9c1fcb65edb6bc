"""The engine every runtime calls: plan a run, carry it out, summarise it, verify the mirror.

The CLI, the Lambda handlers and the ECS entrypoint only parse their input, build Settings and call
these functions.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.config import Settings
from shared.homebrew import HomebrewClient
from shared.http import HttpClient
from shared.lock import RunLock, default_owner
from shared.models import BottleOutcome, Failure, Plan, PlannedBottle, RunSummary
from shared.naming import run_key
from shared.planner import PlanOptions, make_plan, parse_formulae
from shared.runner import ProgressEvent, Runner, RunnerOptions, RunOutcome
from shared.state import StateStore
from shared.storage import Storage, open_storage
from shared.storage.documents import write_document
from shared.transfer import Transfer

log = logging.getLogger(__name__)


def new_run_id(prefix: str = "") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{stamp}-{secrets.token_hex(3)}"


@dataclass
class Engine:
    settings: Settings
    storage: Storage
    http: HttpClient = field(init=False)
    homebrew: HomebrewClient = field(init=False)
    state: StateStore = field(init=False)

    def __post_init__(self) -> None:
        self.http = HttpClient(self.settings)
        self.homebrew = HomebrewClient(self.settings, self.http)
        self.state = StateStore(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings, storage: Storage | None = None) -> Engine:
        return cls(settings, storage or open_storage(settings))

    def lock(self, run_id: str) -> RunLock:
        return RunLock(self.storage, owner=default_owner(), run_id=run_id, ttl_s=self.settings.lock_ttl_s)

    # --- planning --------------------------------------------------------------------------------------

    def plan(self, run_id: str, *, known: Mapping[str, str] | None = None) -> Plan:
        """Load the state (fails closed), read the API, select and diff, estimate sizes."""
        state = self.state.load()
        snapshot = self.homebrew.fetch_formulae()
        formulae, rejected = parse_formulae(snapshot.document)
        log.info(
            "api loaded",
            extra={"formulae": len(formulae), "source": snapshot.source, "signed": snapshot.signed},
        )
        options = PlanOptions(
            platforms=self.settings.platforms,
            layout=self.settings.layout,
            day=self.settings.run_date(),
            formulae=self.settings.formulae,
            force=self.settings.force,
            max_missing_share=self.settings.max_missing_share,
        )
        return make_plan(
            formulae,
            state,
            options,
            run_id=run_id,
            known=known,
            rejected=rejected,
            estimate_sizes=self.homebrew.estimate_sizes if self.settings.estimate_sizes else None,
        )

    # --- transfer --------------------------------------------------------------------------------------

    def execute(
        self,
        bottles: list[PlannedBottle],
        run_id: str,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        heartbeat: Callable[[], None] | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> RunOutcome:
        transfer = Transfer(self.settings, self.http, self.storage)
        transfer.on_bytes = on_bytes
        runner = Runner(
            self.storage,
            transfer,
            self.state,
            RunnerOptions(
                concurrency=self.settings.concurrency,
                checkpoint_every=self.settings.checkpoint_every,
                checkpoint_seconds=self.settings.checkpoint_seconds,
                stop_grace_s=self.settings.stop_grace_s,
                quarantine_after=self.settings.quarantine_after,
            ),
            run_id=run_id,
            should_stop=should_stop,
            on_progress=on_progress,
            heartbeat=heartbeat,
        )
        return runner.run(bottles)

    def write_run_document(self, run_id: str, name: str, data: bytes) -> str:
        key = run_key(run_id, name)
        write_document(self.storage, key, data)
        return key


def summarize(plan: Plan, outcome: RunOutcome | None, *, started: float, dry_run: bool) -> RunSummary:
    """The run summary of the CLI contract (`--json`), from a plan and what the runner did."""
    summary = RunSummary(
        run_id=plan.run_id,
        planned=len(plan.bottles),
        skipped=plan.skipped,
        estimated_bytes=plan.estimated_bytes,
        dry_run=dry_run,
        rejected=plan.rejected,
    )
    if outcome is None:
        summary.bottles = [BottleOutcome.of(b, "planned") for b in plan.bottles]
    else:
        merge_summary(summary, piece_summary(plan.run_id, outcome))
    summary.duration_s = round(time.monotonic() - started, 3)
    return summary


def piece_summary(run_id: str, outcome: RunOutcome) -> RunSummary:
    """What one runner (one shard, or one piece of it) did."""
    statuses = [item.status for item in outcome.outcomes]
    return RunSummary(
        run_id=run_id,
        downloaded=statuses.count("downloaded"),
        copied=statuses.count("copied") + statuses.count("existing"),
        failed=statuses.count("failed"),
        not_started=len(outcome.not_started),
        bytes_downloaded=outcome.bytes_downloaded,
        bottles=outcome.outcomes + [BottleOutcome.of(b, "not_started") for b in outcome.not_started],
        failures=[Failure(file=o.file, error=o.error or "failed") for o in outcome.outcomes if o.status == "failed"],
        quarantined=outcome.quarantined,
    )


def merge_summary(into: RunSummary, piece: RunSummary) -> None:
    """Fold one piece into a run's summary (several for sharded or continued runs)."""
    into.downloaded += piece.downloaded
    into.copied += piece.copied
    into.failed += piece.failed
    into.not_started += piece.not_started
    into.bytes_downloaded += piece.bytes_downloaded
    into.bottles.extend(piece.bottles)
    into.failures.extend(piece.failures)
    into.quarantined = sorted(set(into.quarantined) | set(piece.quarantined))
