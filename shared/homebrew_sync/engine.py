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

from homebrew_sync.api import ApiClient, ApiFile
from homebrew_sync.config import Settings
from homebrew_sync.http import HttpClient
from homebrew_sync.journal import Journal, effective_state, fold
from homebrew_sync.keys import run_key
from homebrew_sync.lock import RunLock, default_owner
from homebrew_sync.models import (
    BottleOutcome,
    Failure,
    LastSync,
    Plan,
    PlannedBottle,
    PlannedManifest,
    RunSummary,
    StateFile,
)
from homebrew_sync.planner import PlanOptions, make_plan, parse_formulae
from homebrew_sync.prune import PruneReport, prune
from homebrew_sync.publish import StagedApi, StagedFile, publish_api, stage_api
from homebrew_sync.registry import Registry, SizeEstimate
from homebrew_sync.runner import ProgressEvent, Runner, RunnerOptions, RunOutcome
from homebrew_sync.state import StateStore
from homebrew_sync.storage import Storage, open_storage
from homebrew_sync.storage.documents import write_document
from homebrew_sync.transfer import Transfer

log = logging.getLogger(__name__)


def new_run_id(prefix: str = "") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{stamp}-{secrets.token_hex(3)}"


@dataclass
class Engine:
    settings: Settings
    storage: Storage
    http: HttpClient = field(init=False)
    api: ApiClient = field(init=False)
    registry: Registry = field(init=False)
    state: StateStore = field(init=False)

    def __post_init__(self) -> None:
        self.http = HttpClient(self.settings)
        self.api = ApiClient(self.settings, self.http)
        self.registry = Registry(self.settings, self.http)
        self.state = StateStore(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings, storage: Storage | None = None) -> Engine:
        return cls(settings, storage or open_storage(settings))

    def lock(self, run_id: str) -> RunLock:
        return RunLock(self.storage, owner=default_owner(), run_id=run_id, ttl_s=self.settings.lock_ttl_s)

    # --- planning --------------------------------------------------------------------------------------

    def plan(
        self,
        run_id: str,
        *,
        known: Mapping[str, str] | None = None,
        enough_bytes: int | None = None,
        time_left: Callable[[], float] | None = None,
    ) -> tuple[Plan, ApiFile]:
        """Load the state (fails closed), read and verify the API, select and diff, estimate sizes.

        Returns the plan and the API file it was made from (published unchanged at the end of the run).
        The size estimate may stop early (`enough_bytes` known, or `time_left()` spent); see Plan.sizes.
        """
        if self.settings.dry_run:
            state = effective_state(self.storage, self.state)  # a dry run writes nothing, not even a fold
        else:
            fold(self.storage, self.state, quarantine_after=self.settings.quarantine_after)  # runs that died
            state = self.state.load()
        formula_file, (formulae, rejected) = self.api.fetch_formulae(parse_formulae)
        log.info(
            "api loaded",
            extra={"formulae": len(formulae), "source": formula_file.name, "signed": formula_file.signed},
        )
        options = PlanOptions(
            platforms=self.settings.platforms,
            layout=self.settings.layout,
            day=self.settings.run_date(),
            formulae=self.settings.formulae,
            force=self.settings.force,
            max_missing_share=self.settings.max_missing_share,
        )
        plan = make_plan(formulae, state, options, run_id=run_id, known=known, rejected=rejected)
        if self.settings.estimate_sizes:
            estimate = self.registry.estimate_sizes(plan.bottles, enough_bytes=enough_bytes, time_left=time_left)
        else:
            estimate = SizeEstimate(False, 0, "size estimation is off")
        plan.sizes_complete, plan.sizes_note = estimate.complete, estimate.reason
        return plan, formula_file

    def stage_api(self, plan: Plan, formula_file: ApiFile) -> StagedApi:
        """Fetch, verify and stage the API files to publish when this run is done (nothing with --no-api)."""
        if not self.settings.publish_api:
            return StagedApi()
        return stage_api(self.storage, self.api, plan.run_id, plan.platforms, formula_file)

    def publish_api(self, staged: list[StagedFile]) -> list[str]:
        return publish_api(self.storage, staged)

    def finish_state(self, summary: RunSummary) -> None:
        """The run's one full write of the state: its journals folded in, and how it ended (retention only
        ever follows a complete sync). Sets the summary's quarantined bottles."""

        def record(state: StateFile, quarantined: list[str]) -> None:
            summary.quarantined = sorted(set(summary.quarantined) | set(quarantined))
            state.last_sync = LastSync(run_id=summary.run_id, finished_at=datetime.now(UTC), complete=summary.complete)

        fold(
            self.storage,
            self.state,
            run_id=summary.run_id,
            quarantine_after=self.settings.quarantine_after,
            also=record,
        )

    # --- retention -------------------------------------------------------------------------------------

    def prune(self, *, dry_run: bool) -> PruneReport:
        """Remove versions the verified API no longer selects (the caller holds the run lock)."""
        state = self.state.load()
        _, (formulae, rejected) = self.api.fetch_formulae(parse_formulae)
        options = PlanOptions(
            platforms=self.settings.platforms,
            layout=self.settings.layout,
            formulae=[],
            force=True,  # every selected file, mirrored or not
            max_missing_share=self.settings.max_missing_share,  # a truncated API prunes nothing
        )
        selected = {b.file for b in make_plan(formulae, state, options, run_id="prune", rejected=rejected).bottles}
        return prune(
            self.storage,
            self.state,
            selected,
            keep_versions=self.settings.prune_keep_versions,
            older_than_days=self.settings.prune_older_than_days,
            dry_run=dry_run,
        )

    # --- transfer --------------------------------------------------------------------------------------

    def execute(
        self,
        bottles: list[PlannedBottle],
        run_id: str,
        *,
        manifests: list[PlannedManifest] | None = None,
        writer: str = "cli",
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
            self.registry,
            self.state,
            Journal(self.storage, run_id, writer),
            RunnerOptions(
                concurrency=self.settings.concurrency,
                checkpoint_every=self.settings.checkpoint_every,
                checkpoint_seconds=self.settings.checkpoint_seconds,
                stop_grace_s=self.settings.stop_grace_s,
            ),
            run_id=run_id,
            should_stop=should_stop,
            on_progress=on_progress,
            heartbeat=heartbeat,
        )
        return runner.run(bottles, manifests or [])

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
    manifests = [item.status for item in outcome.manifests]
    failures = [Failure(file=o.file, error=o.error or "failed") for o in outcome.outcomes if o.status == "failed"]
    failures += [Failure(file=m.key, error=m.error or "failed") for m in outcome.manifests if m.status == "failed"]
    return RunSummary(
        run_id=run_id,
        downloaded=statuses.count("downloaded"),
        copied=statuses.count("copied") + statuses.count("existing"),
        failed=statuses.count("failed"),
        not_started=len(outcome.not_started),
        bytes_downloaded=outcome.bytes_downloaded,
        manifests=manifests.count("stored"),
        manifests_failed=manifests.count("failed"),
        manifests_missing=manifests.count("missing"),
        manifests_not_started=len(outcome.manifests_not_started),
        bottles=outcome.outcomes + [BottleOutcome.of(b, "not_started") for b in outcome.not_started],
        failures=failures,
    )


def merge_summary(into: RunSummary, piece: RunSummary) -> None:
    """Fold one piece into a run's summary (several for sharded or continued runs)."""
    into.downloaded += piece.downloaded
    into.copied += piece.copied
    into.failed += piece.failed
    into.not_started += piece.not_started
    into.bytes_downloaded += piece.bytes_downloaded
    into.manifests += piece.manifests
    into.manifests_failed += piece.manifests_failed
    into.manifests_missing += piece.manifests_missing
    into.manifests_not_started += piece.manifests_not_started
    into.bottles.extend(piece.bottles)
    into.failures.extend(piece.failures)
    into.quarantined = sorted(set(into.quarantined) | set(piece.quarantined))


def finish_api(engine: Engine, summary: RunSummary, staged: StagedApi) -> None:
    """Publish the staged API files once the run's bottles and indexes are all handled; else keep the old ones.

    A run that stopped early (bottles or indexes not started) could still store them, so publishing now
    would put the API ahead of the mirror; failed bottles could not be stored, so they do not hold it back.
    """
    summary.api_missing = list(staged.missing)
    summary.failures.extend(staged.failures)
    summary.api_failed = len(staged.failures)
    if summary.not_started or summary.manifests_not_started:
        summary.api_withheld = [f.key for f in staged.staged]
        log.warning("run stopped early: api files not published", extra={"withheld": len(staged.staged)})
        return
    summary.api_published = engine.publish_api(staged.staged)
