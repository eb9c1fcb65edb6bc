"""Deterministic formula catalogue: formula.json entries, their bottles, and the bottles' bytes.

A catalogue of N formulae is the checked-in records (records.py) followed by derived copies
(derive.py) up to N. Everything follows from (n_formulae, seed, blob sizes), so two runs with the
same arguments see byte-identical API files and blobs. Blob bytes are generated on demand
(blobs.py): the catalogue keeps only (size, seed) per blob and the sha256 computed once.
"""

from __future__ import annotations

import calendar
import json
import math
import random
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from fakes.blobs import BlobSpec, blob_sha256
from fakes.brew import (
    LINUX_TAGS,
    NEWEST_SINCE,
    NEWEST_TAGS,
    bottle_json,
    bottle_rebuild,
    default_cellar,
    family,
    formula_json,
    image_name,
    image_tag,
    pkg_version,
    served_entry,
    sorted_tags,
)
from fakes.derive import derive
from fakes.records import ANNOTATED, NO_INDEX, SIZE_CLASSES, Record, load_records

__all__ = ["NO_INDEX", "SIZE_CLASSES", "Bottle", "Catalogue", "Release", "generate_catalogue", "image_tag"]

# Base of the API's Last-Modified: each mutation moves it on by a minute.
_LAST_MODIFIED_BASE = calendar.timegm((2026, 11, 1, 0, 0, 0))


@dataclass(frozen=True)
class Bottle:
    """One `bottle.stable.files[tag]` entry plus what the catalogue knows about its blob."""

    tag: str
    sha256: str
    size: int
    cellar: str
    seed: int

    @property
    def spec(self) -> BlobSpec:
        return BlobSpec(self.size, self.seed)


@dataclass(frozen=True)
class Release:
    """What one image index (`{image}/manifests/{image_tag}`) describes."""

    name: str
    image: str
    pkg_version: str
    rebuild: int
    image_tag: str
    bottles: tuple[Bottle, ...]
    size_annotation: bool
    created: str
    git_revision: str


@dataclass
class _Entry:
    data: dict
    bottles: dict[str, Bottle]
    size_class: str
    created: str


def _date_between(rng: random.Random, start: str, end: str) -> str:
    """A random ISO date-time between two ISO dates."""
    lo, hi = date.fromisoformat(start), date.fromisoformat(end)
    day = lo + timedelta(days=rng.randrange((hi - lo).days + 1))
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _upload_time(rng: random.Random, size_class: str) -> str:
    """When a new formula's bottles were uploaded: recently, or before ghcr annotated sizes."""
    if size_class == ANNOTATED:
        return _date_between(rng, NEWEST_SINCE, "2026-10-30")
    return _date_between(rng, "2022-10-24", "2023-03-31")


def _bump(version: str) -> str:
    """Next version: increment the last number in the string."""
    match = re.search(r"(\d+)(?!.*\d)", version)
    if not match:
        return version + ".1"
    digits = match.group(1)
    bumped = str(int(digits) + 1).zfill(len(digits))
    return version[: match.start(1)] + bumped + version[match.end(1) :]


class Catalogue:
    """A formula.json plus the registry state behind it; mutations bump `generation`."""

    def __init__(self, seed: int = 0, *, min_blob: int = 1024, max_blob: int = 64 * 1024) -> None:
        if min_blob < 1 or max_blob < min_blob:
            raise ValueError("need 1 <= min_blob <= max_blob")
        self.seed = seed
        self.min_blob = min_blob
        self.max_blob = max_blob
        self.generation = 0
        self.formulae: list[dict] = []
        self.tap_git_head = f"{random.Random(f'tap:{seed}').getrandbits(160):040x}"
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._by_image: dict[str, str] = {}
        self._blobs: dict[str, BlobSpec] = {}
        self._blob_images: dict[str, str] = {}
        self._releases: dict[str, dict[str, Release]] = {}  # image -> image_tag -> release
        self._json_cache: tuple[int, bytes] | None = None

    # ---- queries ---------------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @property
    def last_modified(self) -> int:
        """Epoch seconds of the API files' Last-Modified; moves forward on every mutation."""
        return _LAST_MODIFIED_BASE + 60 * self.generation

    def names(self) -> list[str]:
        with self._lock:
            return [f["name"] for f in self.formulae]

    def find(self, name: str) -> dict | None:
        """The formula.json entry for `name`, or None."""
        with self._lock:
            entry = self._entries.get(name)
            return entry.data if entry else None

    def name_for_image(self, image: str) -> str | None:
        with self._lock:
            return self._by_image.get(image)

    def bottles(self, name: str) -> dict[str, Bottle]:
        """The formula's current bottles by tag ({} without bottles); KeyError for unknown names."""
        with self._lock:
            return dict(self._entries[name].bottles)

    def bottle(self, name: str, tag: str) -> Bottle:
        with self._lock:
            return self._entries[name].bottles[tag]

    def iter_bottles(self) -> Iterator[tuple[str, Bottle]]:
        """(name, bottle) for every current file entry, in formula.json order."""
        with self._lock:
            items = [(f["name"], b) for f in self.formulae for b in self._entries[f["name"]].bottles.values()]
        yield from items

    def size_class(self, name: str) -> str:
        """annotated | unannotated | no_index (see SIZE_CLASSES); '' for formulae without bottles."""
        with self._lock:
            entry = self._entries[name]
            return entry.size_class if entry.bottles else ""

    def blob(self, sha256: str) -> BlobSpec:
        """How to regenerate a blob; KeyError for unknown digests. Old blobs stay known forever."""
        with self._lock:
            return self._blobs[sha256]

    def has_blob(self, sha256: str) -> bool:
        with self._lock:
            return sha256 in self._blobs

    def blob_image(self, sha256: str) -> str | None:
        """The image (repository) a blob was uploaded to."""
        with self._lock:
            return self._blob_images.get(sha256)

    def release(self, image: str, tag: str) -> Release | None:
        """The image index behind `{image}/manifests/{tag}`, current or historical; None -> 404."""
        with self._lock:
            return self._releases.get(image, {}).get(tag)

    def releases_for_image(self, image: str) -> list[Release]:
        with self._lock:
            return list(self._releases.get(image, {}).values())

    def formula_json_bytes(self) -> bytes:
        """formula.json exactly as served, cached per generation."""
        with self._lock:
            if self._json_cache and self._json_cache[0] == self.generation:
                return self._json_cache[1]
            names = [f["name"] for f in self.formulae]
            served = [served_entry(f, names) for f in self.formulae]
            data = json.dumps(served, separators=(",", ":")).encode()
            self._json_cache = (self.generation, data)
            return data

    # ---- mutations ---------------------------------------------------------------------------

    def rebuild_bottle(self, name: str, tag: str) -> Bottle:
        """Replace one tag's blob (same file name, same version/rebuild, new sha256)."""
        with self._lock:
            entry = self._entries[name]
            rng = self._mutation_rng(name, "rebuild_bottle", tag)
            size = self._blob_size(rng)
            seed = rng.getrandbits(63)
            sha = self._register_blob(BlobSpec(size, seed), name)
            new = replace(entry.bottles[tag], sha256=sha, size=size, seed=seed)
            entry.bottles[tag] = new
            self._refresh(entry, bottle_rebuild(entry.data))
            return new

    def bump_version(self, name: str, tags: tuple[str, ...] | list[str] | None = None) -> dict:
        """New upstream version: revision and rebuild reset, every bottle rebuilt for the newest tags.

        `tags` defaults to the newest tags plus the Linux tags the formula had (`all` stays `all`).
        """
        with self._lock:
            entry = self._entries[name]
            data = entry.data
            rng = self._mutation_rng(name, "bump_version")
            data["versions"]["stable"] = _bump(data["versions"]["stable"])
            data["revision"] = 0
            old_tags = set(entry.bottles)
            if tags is None:
                if not old_tags:
                    tags = ()
                elif old_tags == {"all"}:
                    tags = ("all",)
                else:
                    tags = NEWEST_TAGS + tuple(t for t in LINUX_TAGS if t in old_tags)
            self._rebottle(entry, rng, tags, rebuild=0)
            return data

    def bump_rebuild(self, name: str) -> dict:
        """Same version, rebuild + 1: every bottle gets a new blob and the image a new tag."""
        with self._lock:
            entry = self._entries[name]
            rng = self._mutation_rng(name, "bump_rebuild")
            self._rebottle(entry, rng, tuple(entry.bottles), rebuild=bottle_rebuild(entry.data) + 1)
            return entry.data

    def add_formula(
        self,
        name: str,
        version: str = "1.0.0",
        *,
        revision: int = 0,
        rebuild: int = 0,
        tags: tuple[str, ...] | list[str] | None = None,
        size: int | None = None,
        share_blobs: bool = False,
        size_class: str = ANNOTATED,
        disabled: bool = False,
        deprecated: bool = False,
    ) -> dict:
        """Append a formula. `tags` defaults to the newest tags plus x86_64_linux; `size` fixes every
        bottle's size (default: random in [min_blob, max_blob]); `tags=()` means no bottles."""
        if size_class not in SIZE_CLASSES:
            raise ValueError(f"size_class must be one of {SIZE_CLASSES}")
        with self._lock:
            self._check_new_name(name)
            rng = self._mutation_rng(name, "add")
            tags = NEWEST_TAGS + ("x86_64_linux",) if tags is None else tuple(tags)
            bottles = self._make_bottles(rng, name, tags, share_blobs, size)
            data = formula_json(name, version, revision=revision, deprecated=deprecated, disabled=disabled)
            self._install(_Entry(data, bottles, size_class, _upload_time(rng, size_class)), rebuild)
            self.generation += 1
            return data

    def remove_formula(self, name: str) -> None:
        """Drop a formula from the API. Its images and blobs stay in the registry, as on ghcr.io."""
        with self._lock:
            entry = self._entries.pop(name)
            self.formulae.remove(entry.data)
            self._by_image.pop(image_name(name), None)
            self.generation += 1

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        with self._lock:
            self._entries[name].data["disabled"] = disabled
            self.generation += 1

    def set_deprecated(self, name: str, deprecated: bool = True) -> None:
        with self._lock:
            self._entries[name].data["deprecated"] = deprecated
            self.generation += 1

    def touch(self) -> None:
        """Count a hand edit of `formulae` as a new generation (new ETag, Last-Modified, JWS)."""
        with self._lock:
            self.generation += 1

    # ---- internals -------------------------------------------------------------------------------

    def _mutation_rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(map(str, (self.seed, self.generation, *parts))))

    def _check_new_name(self, name: str) -> None:
        if name in self._entries:
            raise ValueError(f"formula {name!r} already exists")
        if image_name(name) in self._by_image:
            raise ValueError(f"image {image_name(name)!r} already used by {self._by_image[image_name(name)]!r}")

    def _blob_size(self, rng: random.Random, fixed: int | None = None) -> int:
        if fixed is not None:
            return fixed
        lo, hi = math.log(self.min_blob), math.log(self.max_blob)
        return max(self.min_blob, min(self.max_blob, int(math.exp(lo + (hi - lo) * rng.random()))))

    def _register_blob(self, spec: BlobSpec, name: str) -> str:
        sha = blob_sha256(spec)
        self._blobs[sha] = spec
        self._blob_images[sha] = image_name(name)
        return sha

    def _add_record(self, record: Record, rng: random.Random, fixed_size: int | None = None) -> None:
        """Install a record with generated blobs in place of its sha256 labels (equal labels, one blob)."""
        name = record.name
        blobs: dict[str, tuple[str, int, int]] = {}
        bottles: dict[str, Bottle] = {}
        for tag, file in record.files.items():
            if file["sha256"] not in blobs:
                size = self._blob_size(rng, fixed_size)
                seed = rng.getrandbits(63)
                blobs[file["sha256"]] = (self._register_blob(BlobSpec(size, seed), name), size, seed)
            sha, size, seed = blobs[file["sha256"]]
            bottles[tag] = Bottle(tag, sha, size, file["cellar"], seed)
        data = json.loads(json.dumps(record.formula))  # a private copy: mutations edit it in place
        created = record.created or _upload_time(rng, ANNOTATED)
        self._install(_Entry(data, bottles, record.size_class, created), bottle_rebuild(record.formula))

    def _make_bottles(self, rng: random.Random, name: str, tags, share: bool, fixed_size: int | None) -> dict:
        """New bottles for `tags`; `share` gives every tag of one family the same portable blob."""
        style = rng.choice(("any", "prefix", "prefix"))
        bottles: dict[str, Bottle] = {}
        shared: dict[str, Bottle] = {}
        for tag in sorted_tags(tags):
            if share or tag == "all":
                cellar = ":any_skip_relocation"
            else:
                cellar = ":any" if style == "any" else default_cellar(tag)
            if share and family(tag) in shared:
                bottles[tag] = replace(shared[family(tag)], tag=tag)
                continue
            size = self._blob_size(rng, fixed_size)
            seed = rng.getrandbits(63)
            bottle = Bottle(tag, self._register_blob(BlobSpec(size, seed), name), size, cellar, seed)
            bottles[tag] = shared[family(tag)] = bottle
        return bottles

    def _refresh(self, entry: _Entry, rebuild: int) -> None:
        """Rewrite the entry's `bottle` JSON, (re)register its current release, bump generation."""
        data = entry.data
        data["bottle"] = bottle_json(data["name"], rebuild, entry.bottles)
        if entry.bottles and entry.size_class != NO_INDEX:
            release = Release(
                name=data["name"],
                image=image_name(data["name"]),
                pkg_version=pkg_version(data),
                rebuild=rebuild,
                image_tag=image_tag(data),
                bottles=tuple(entry.bottles.values()),
                size_annotation=entry.size_class == ANNOTATED,
                created=entry.created,
                git_revision=self.tap_git_head,
            )
            self._releases.setdefault(release.image, {})[release.image_tag] = release
        self.generation += 1

    def _rebottle(self, entry: _Entry, rng: random.Random, tags, rebuild: int) -> None:
        share = any(b.cellar == ":any_skip_relocation" for b in entry.bottles.values() if b.tag != "all")
        entry.bottles = self._make_bottles(rng, entry.data["name"], tags, share, None)
        entry.size_class = ANNOTATED
        entry.created = _date_between(rng, "2026-10-31", "2026-11-20")
        self._refresh(entry, rebuild)

    def _install(self, entry: _Entry, rebuild: int) -> None:
        name = entry.data["name"]
        self._entries[name] = entry
        self._by_image[image_name(name)] = name
        self.formulae.append(entry.data)
        generation = self.generation
        self._refresh(entry, rebuild)
        self.generation = generation


def generate_catalogue(
    n_formulae: int,
    seed: int = 0,
    *,
    min_blob: int = 1024,
    max_blob: int = 64 * 1024,
    big_bottles: dict[str, int] | None = None,
) -> Catalogue:
    """A catalogue of `n_formulae` formulae: the checked-in records first (the first ten cover every
    special case), then derived copies; plus one formula per `big_bottles` entry with a single `all`
    bottle of that many bytes. Same arguments, same bytes."""
    if n_formulae < 0:
        raise ValueError("n_formulae must be >= 0")
    cat = Catalogue(seed, min_blob=min_blob, max_blob=max_blob)
    records = list(load_records()[:n_formulae])
    taken = {r.name for r in load_records()} | set(big_bottles or {})
    records += derive(load_records(), n_formulae - len(records), random.Random(f"catalogue:{seed}"), taken)
    for record in records:
        cat._add_record(record, random.Random(f"formula:{seed}:{record.name}"))
    for big_name, size in (big_bottles or {}).items():
        rng = random.Random(f"big:{seed}:{big_name}")
        big = cat._make_bottles(rng, big_name, ("all",), False, int(size))
        cat._install(_Entry(formula_json(big_name, "1.0.0"), big, ANNOTATED, _upload_time(rng, ANNOTATED)), 0)
    cat.generation = 0
    cat._json_cache = None
    return cat
