"""pydantic models: the subset of the formula API we read, the plan, the state file and run summaries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from homebrew_sync.keys import STATE_KEY_PATTERN
from homebrew_sync.names import FILENAME_MAX, FILENAME_PATTERN, SHA256_PATTERN

# --- formula.json (only the fields the mirror needs; everything else is ignored) ---------------------


class _Api(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class BottleFileEntry(_Api):
    sha256: str
    url: str | None = None
    cellar: str | None = None


class BottleStable(_Api):
    rebuild: int = 0
    root_url: str | None = None
    files: dict[str, BottleFileEntry] = Field(default_factory=dict)


class FormulaVersions(_Api):
    stable: str | None = None


class BottleSpec(_Api):
    stable: BottleStable | None = None  # `bottle` is `{}` for formulae without bottles


class Formula(_Api):
    name: str
    versions: FormulaVersions
    revision: int = 0
    disabled: bool = False
    deprecated: bool = False
    bottle: BottleSpec = Field(default_factory=BottleSpec)

    @property
    def stable_bottle(self) -> BottleStable | None:
        return self.bottle.stable


# --- the plan ------------------------------------------------------------------------------------------

SizeSource = Literal["annotation", "manifest", "state", "unknown"]


class PlannedBottle(BaseModel):
    """One file the run will store; `copy_from` names an object that already holds the same bytes."""

    file: str
    key: str
    formula: str
    version: str
    tag: str
    platforms: list[str]
    sha256: str
    image: str
    image_tag: str
    size: int | None = None
    size_source: SizeSource = "unknown"
    reason: Literal["new", "changed"] = "new"
    copy_from: str | None = None
    replaces_recorded: bool = False  # the key holds the previous bytes the state lists (flat layout, same day)


class ExpectedBottle(BaseModel):
    tag: str
    sha256: str


class PlannedManifest(BaseModel):
    """The registry's image index of one formula version, stored at `key` for brew 6.0.13+.

    `bottles` are the bottles of that version the mirror holds: the index must list each of them.
    `fingerprint` names the version's whole bottle set in the API; when it changes (a platform was added
    upstream), the index changed too and is stored again.
    """

    key: str
    formula: str
    image: str
    image_tag: str
    pkg_version: str
    rebuild: int
    fingerprint: str
    bottles: list[ExpectedBottle]
    reason: Literal["new", "changed"] = "new"


class Rejected(BaseModel):
    formula: str
    reason: str


class Plan(BaseModel):
    """What one run will do; written to `runs/<run_id>/plan.json` for the workers."""

    schema_version: Literal[1] = 1
    run_id: str
    created_at: datetime
    date: str
    layout: str
    platforms: list[str]
    selected: int = 0
    skipped: int = 0
    bottles: list[PlannedBottle] = Field(default_factory=list)
    manifests: list[PlannedManifest] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)
    sizes_complete: bool = True  # False: the estimate stopped early; the workers read the other sizes
    sizes_note: str = ""

    @property
    def estimated_bytes(self) -> int:
        """Bytes to download: each blob once, copies of stored objects not at all."""
        blobs = {b.sha256: b.size or 0 for b in self.bottles if b.copy_from is None}
        return sum(blobs.values())

    @property
    def unknown_sizes(self) -> int:
        return sum(1 for b in self.bottles if b.size is None)


# --- the state file ------------------------------------------------------------------------------------

STATE_SCHEMA_VERSION: Literal[3] = 3  # 3 added `manifests`; version 2 files are read and migrated
# Checked in pydantic-core (a 25,000-entry state loads in one pass): the same rules as names.py and keys.py.
BottleFileName = Annotated[str, StringConstraints(pattern=FILENAME_PATTERN, max_length=FILENAME_MAX)]


class BottleRecord(BaseModel):
    """A bottle whose object was stored and verified; recorded only after that."""

    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=SHA256_PATTERN)
    size: int = Field(ge=0)
    key: str = Field(pattern=STATE_KEY_PATTERN, max_length=300)
    formula: str
    tag: str
    downloaded_at: str


class FailureRecord(BaseModel):
    """Consecutive runs in which a bottle failed; cleared by a success."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1)
    last_error: str
    last_run_id: str
    first_failed_at: str


class ManifestRecord(BaseModel):
    """An image index stored in the mirror, and the bottle set of the API it was stored for.

    `sha256` None: the registry serves no index for that bottle set (404); asked again when it changes.
    """

    model_config = ConfigDict(extra="forbid")

    sha256: str | None = Field(pattern=SHA256_PATTERN)
    size: int = Field(ge=0)
    fingerprint: str = Field(pattern=SHA256_PATTERN)
    stored_at: str


ObjectKey = Annotated[str, StringConstraints(pattern=STATE_KEY_PATTERN, max_length=300)]


class LastSync(BaseModel):
    """The last sync that finished. `complete`: nothing left unstarted and nothing failed except quarantined
    bottles; retention only ever follows a complete sync."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    finished_at: datetime
    complete: bool


class StateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[3] = STATE_SCHEMA_VERSION
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    bottles: dict[BottleFileName, BottleRecord] = Field(default_factory=dict)
    manifests: dict[ObjectKey, ManifestRecord] = Field(default_factory=dict)
    failures: dict[str, FailureRecord] = Field(default_factory=dict)
    last_sync: LastSync | None = None


# --- results -------------------------------------------------------------------------------------------

BottleStatus = Literal["planned", "downloaded", "copied", "existing", "failed", "not_started"]


class BottleOutcome(BaseModel):
    file: str
    key: str
    formula: str
    tag: str
    sha256: str
    size: int | None
    status: BottleStatus
    error: str | None = None

    @classmethod
    def of(
        cls, bottle: PlannedBottle, status: BottleStatus, *, size: int | None = None, error: str | None = None
    ) -> BottleOutcome:
        return cls(
            file=bottle.file,
            key=bottle.key,
            formula=bottle.formula,
            tag=bottle.tag,
            sha256=bottle.sha256,
            size=size if size is not None else bottle.size,
            status=status,
            error=error,
        )


ManifestStatus = Literal["stored", "existing", "failed", "missing", "skipped", "not_started"]


class ManifestOutcome(BaseModel):
    key: str
    status: ManifestStatus
    error: str | None = None


class Failure(BaseModel):
    file: str
    error: str


class RunSummary(BaseModel):
    """The result of one run (or one shard); `--json` prints it as the last line of stdout."""

    run_id: str
    planned: int = 0
    downloaded: int = 0
    copied: int = 0
    skipped: int = 0
    failed: int = 0
    not_started: int = 0
    bytes_downloaded: int = 0
    estimated_bytes: int = 0
    duration_s: float = 0.0
    dry_run: bool = False
    manifests: int = 0  # image indexes stored (new or refreshed)
    manifests_failed: int = 0
    manifests_missing: int = 0  # not served upstream (404): nothing a mirror can store
    manifests_not_started: int = 0
    api_published: list[str] = Field(default_factory=list)
    api_withheld: list[str] = Field(default_factory=list)  # verified, but the run stopped before publishing
    api_missing: list[str] = Field(default_factory=list)  # not served upstream (a warning)
    api_failed: int = 0  # did not verify: not published, the previous copy stays
    bottles: list[BottleOutcome] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    quarantined: list[str] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.manifests_failed or self.api_failed else 0

    @property
    def complete(self) -> bool:
        """Nothing left unstarted, nothing failed but quarantined bottles: the mirror matches the API."""
        unexplained = {f.file for f in self.failures} - set(self.quarantined)
        return not (self.not_started or self.manifests_not_started or unexplained)
