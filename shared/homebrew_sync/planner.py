"""From the formula API and the state to a plan: what brew would pour, minus what is already mirrored."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from homebrew_sync.errors import ConfigError, SanityFloorError, UnsafeInputError, UpstreamError
from homebrew_sync.keys import manifest_key, object_key
from homebrew_sync.models import ExpectedBottle, Formula, Plan, PlannedBottle, PlannedManifest, Rejected, StateFile
from homebrew_sync.names import bottle_filename, image_name, image_tag, pkg_version, validate_sha256
from homebrew_sync.selection import resolve_platforms, select_tag

log = logging.getLogger(__name__)

MIN_FORMULAE_FOR_SANITY = 10


@dataclass
class PlanOptions:
    platforms: list[str]
    layout: str = "dated"
    day: date = field(default_factory=lambda: datetime.now(UTC).date())
    formulae: list[str] = field(default_factory=list)
    force: bool = False
    max_missing_share: float = 0.5


@dataclass
class _Candidate:
    """A selected bottle; most are already mirrored, so the pydantic model is built only when planned."""

    file: str
    formula: str
    version: str
    tag: str
    sha256: str
    rebuild: int
    platforms: list[str] = field(default_factory=list)

    def planned(self, options: PlanOptions) -> PlannedBottle:
        return PlannedBottle(
            file=self.file,
            key=object_key(options.layout, options.day, self.file),
            formula=self.formula,
            version=self.version,
            tag=self.tag,
            platforms=self.platforms,
            sha256=self.sha256,
            image=image_name(self.formula),
            image_tag=image_tag(self.version, self.rebuild),
        )


@dataclass
class _Version:
    """One formula version the mirror holds bottles of: its image index must be in the mirror too."""

    formula: str
    image: str
    image_tag: str
    pkg_version: str
    rebuild: int
    fingerprint: str
    bottles: dict[str, str] = field(default_factory=dict)  # tag -> sha256 of the selected bottles

    def planned(self, key: str, reason: str) -> PlannedManifest:
        return PlannedManifest(
            key=key,
            formula=self.formula,
            image=self.image,
            image_tag=self.image_tag,
            pkg_version=self.pkg_version,
            rebuild=self.rebuild,
            fingerprint=self.fingerprint,
            bottles=[ExpectedBottle(tag=tag, sha256=sha) for tag, sha in sorted(self.bottles.items())],
            reason=reason,  # type: ignore[arg-type]
        )


def bottle_set_fingerprint(files: Mapping[str, object]) -> str:
    """Names a version's whole bottle set in the API; the registry's index changes when it changes."""
    lines = sorted(f"{tag}:{getattr(entry, 'sha256', '')}" for tag, entry in files.items())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def all_tags(formulae: list[Formula]) -> set[str]:
    tags: set[str] = set()
    for formula in formulae:
        stable = formula.stable_bottle
        if stable is not None:
            tags.update(stable.files)
    return tags


# One pass in pydantic-core: only the fields the mirror reads are materialised (formula.json is ~30 MB);
# an entry that is not a valid formula is kept as raw data so it can be reported, not fail the list.
_FORMULA_LIST: TypeAdapter[list[Formula | Any]] = TypeAdapter(
    list[Annotated[Formula | Any, Field(union_mode="left_to_right")]]  # type: ignore[maybe-unrecognized-str-typeform]
)


def parse_formulae(document: str | bytes) -> tuple[list[Formula], list[Rejected]]:
    """Validate the API's formula list; malformed entries are reported one by one."""
    try:
        items = _FORMULA_LIST.validate_json(document)
    except ValidationError as exc:
        raise UpstreamError(f"formula API: not a JSON array of formulae ({exc.errors()[0]['msg']})") from None
    formulae: list[Formula] = []
    rejected: list[Rejected] = []
    for item in items:
        if isinstance(item, Formula):
            formulae.append(item)
            continue
        name = item.get("name") if isinstance(item, dict) else None
        rejected.append(Rejected(formula=str(name or "?")[:128], reason="invalid API entry"))
    return formulae, rejected


def make_plan(
    formulae: list[Formula],
    state: StateFile,
    options: PlanOptions,
    *,
    run_id: str,
    known: Mapping[str, str] | None = None,
    rejected: list[Rejected] | None = None,
) -> Plan:
    """Select, validate, de-duplicate and diff against the state (and an external hash file: `known`)."""
    platforms = resolve_platforms(options.platforms, all_tags(formulae))
    rejected = list(rejected or [])
    wanted = set(options.formulae)
    unlisted = _unlisted(formulae, wanted)
    candidates: dict[str, _Candidate] = {}
    versions: dict[str, _Version] = {}
    for formula in formulae:
        if wanted and formula.name not in wanted:
            continue
        if formula.disabled:
            continue
        try:
            _select(formula, platforms, candidates, versions)
        except UnsafeInputError as exc:
            rejected.append(Rejected(formula=formula.name[:128], reason=exc.message))
    if wanted:
        missing = sorted(wanted - unlisted - {c.formula for c in candidates.values()})
        for name in missing:
            log.warning("requested formula has no bottle for the platforms", extra={"formula": name})
    else:
        _check_sanity_floor(state, candidates, options.max_missing_share)

    known = known or {}
    by_sha = {record.sha256: record for record in state.bottles.values()}
    plan = Plan(
        run_id=run_id,
        created_at=datetime.now(UTC),
        date=options.day.isoformat(),
        layout=options.layout,
        platforms=platforms,
        selected=len(candidates),
        rejected=rejected,
    )
    for file in sorted(candidates):
        candidate = candidates[file]
        record = state.bottles.get(file)
        if not options.force and (
            (record is not None and record.sha256 == candidate.sha256) or known.get(file) == candidate.sha256
        ):
            plan.skipped += 1
            continue
        bottle = candidate.planned(options)
        bottle.reason = "changed" if record is not None and record.sha256 != bottle.sha256 else "new"
        bottle.replaces_recorded = record is not None and record.key == bottle.key
        same_bytes = by_sha.get(bottle.sha256)
        if same_bytes is not None and same_bytes.key != bottle.key:
            bottle.copy_from, bottle.size, bottle.size_source = same_bytes.key, same_bytes.size, "state"
        plan.bottles.append(bottle)
    for key in sorted(versions):
        stored = state.manifests.get(key)
        if options.force or stored is None or stored.fingerprint != versions[key].fingerprint:
            plan.manifests.append(versions[key].planned(key, "new" if stored is None else "changed"))
    return plan


def _select(formula: Formula, platforms: list[str], out: dict[str, _Candidate], versions: dict[str, _Version]) -> None:
    stable = formula.stable_bottle
    version = formula.versions.stable
    if stable is None or not stable.files or not version:
        return
    pkg = pkg_version(version, formula.revision)
    image, index_tag = image_name(formula.name), image_tag(pkg, stable.rebuild)
    key = manifest_key(image, index_tag)  # validated before anything of this formula is planned
    selected: dict[str, str] = {}
    for platform in platforms:
        tag = select_tag(stable.files, platform)
        if tag is None:
            continue
        file = bottle_filename(formula.name, pkg, tag, stable.rebuild)
        candidate = out.get(file)
        if candidate is None:
            sha256 = validate_sha256(stable.files[tag].sha256)
            candidate = out[file] = _Candidate(file, formula.name, pkg, tag, sha256, stable.rebuild)
        if platform not in candidate.platforms:
            candidate.platforms.append(platform)
        selected[candidate.tag] = candidate.sha256
    if selected:
        entry = versions.get(key)
        if entry is None:
            fingerprint = bottle_set_fingerprint(stable.files)
            entry = versions[key] = _Version(formula.name, image, index_tag, pkg, stable.rebuild, fingerprint)
        entry.bottles.update(selected)


def _unlisted(formulae: list[Formula], wanted: set[str]) -> set[str]:
    """Requested formulae the API does not list (reported); ConfigError when it lists none of them."""
    unlisted = wanted - {formula.name for formula in formulae}
    if unlisted and unlisted == wanted:
        raise ConfigError(f"none of the requested formulae is listed by the API: {', '.join(sorted(unlisted))}")
    if unlisted:
        log.warning("requested formulae not listed by the API", extra={"formulae": ", ".join(sorted(unlisted))})
    return unlisted


def _check_sanity_floor(state: StateFile, candidates: dict[str, _Candidate], max_missing_share: float) -> None:
    """Refuse to act on an API that lost most of the formulae the mirror holds (truncated or broken)."""
    held = {record.formula for record in state.bottles.values() if record.formula}
    if len(held) < MIN_FORMULAE_FOR_SANITY:
        return
    listed = {candidate.formula for candidate in candidates.values()}
    gone = held - listed
    share = len(gone) / len(held)
    if share > max_missing_share:
        raise SanityFloorError(
            f"the API lists bottles for only {len(held) - len(gone)} of the {len(held)} formulae the mirror "
            f"holds ({share:.0%} gone, more than the allowed {max_missing_share:.0%}); nothing was changed. "
            "If this is expected, raise --max-missing-share."
        )
