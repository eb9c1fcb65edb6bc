"""Deterministic formula catalogue: formula.json entries, their bottles, and the bottles' bytes.

Everything derives from (n_formulae, seed, blob sizes), so two runs with the same arguments see
byte-identical API files and blobs. Blob bytes are generated on demand and never stored: the
catalogue keeps only (size, seed) per blob and the sha256 computed once at generation.
The shapes follow the Homebrew facts in shared/docs/homebrew.md, sections 1, 3, 4 and 5.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
import random
import re
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

ROOT_URL = "https://ghcr.io/v2/homebrew/core"
BLOCK = 1 << 20
_MASK64 = (1 << 64) - 1

# macOS names, newest first, with their version numbers (homebrew.md section 1).
MACOS_VERSIONS = {
    "golden_gate": "27",
    "tahoe": "26",
    "sequoia": "15",
    "sonoma": "14",
    "ventura": "13",
    "monterey": "12",
    "big_sur": "11",
    "catalina": "10.15",
}
ARM_TAGS = tuple(f"arm64_{m}" for m in MACOS_VERSIONS if m != "catalina")
INTEL_TAGS = tuple(m for m in MACOS_VERSIONS if m != "golden_gate")
LINUX_TAGS = ("x86_64_linux", "arm64_linux")
TAGS = ARM_TAGS + INTEL_TAGS + LINUX_TAGS + ("all",)
_TAG_ORDER = {t: i for i, t in enumerate(TAGS)}

CELLAR_ARM = "/opt/homebrew/Cellar"
CELLAR_INTEL = "/usr/local/Cellar"
CELLAR_LINUX = "/home/linuxbrew/.linuxbrew/Cellar"

# Bottles uploaded before this date carry no sh.brew.bottle.size annotation (homebrew.md section 3).
SIZE_ANNOTATION_SINCE = "2023-04-01"
# Base of the API's Last-Modified: each mutation moves it on by a minute.
_LAST_MODIFIED_BASE = calendar.timegm((2026, 11, 1, 0, 0, 0))


@dataclass(frozen=True)
class Era:
    """A period in which CI bottled a fixed set of macOS tags (homebrew.md section 5)."""

    name: str
    start: str
    end: str
    tags: tuple[str, ...]


# The last three eras are the ones homebrew.md section 5 lists; the older ones follow the same
# "three newest macOS versions per architecture" pattern so that old formulae lack the newest tags.
ERAS = {
    e.name: e
    for e in (
        Era("golden_gate", "2026-09-13", "2026-10-30", ("arm64_golden_gate", "arm64_tahoe", "arm64_sequoia")),
        Era("tahoe", "2025-09-15", "2026-09-12", ("arm64_tahoe", "arm64_sequoia", "arm64_sonoma", "sonoma")),
        Era(
            "sequoia",
            "2024-09-16",
            "2025-09-14",
            ("arm64_sequoia", "arm64_sonoma", "arm64_ventura", "sonoma", "ventura"),
        ),
        Era(
            "sonoma",
            "2023-09-26",
            "2024-09-15",
            ("arm64_sonoma", "arm64_ventura", "arm64_monterey", "sonoma", "ventura", "monterey"),
        ),
        Era(
            "ventura",
            "2022-10-24",
            "2023-09-25",
            ("arm64_ventura", "arm64_monterey", "arm64_big_sur", "ventura", "monterey", "big_sur"),
        ),
        Era(
            "monterey",
            "2021-10-25",
            "2022-10-23",
            ("arm64_monterey", "arm64_big_sur", "monterey", "big_sur", "catalina"),
        ),
        Era("big_sur", "2021-04-01", "2021-10-24", ("arm64_big_sur", "big_sur", "catalina")),
    )
}
NEWEST_ERA = "golden_gate"

# Size classes: how much a mirror can learn about a bottle's size before downloading it.
ANNOTATED = "annotated"  # index annotation sh.brew.bottle.size present
UNANNOTATED = "unannotated"  # older upload: size only in the per-platform manifest's layers[0].size
NO_INDEX = "no_index"  # no image index at all (404): size unknown
SIZE_CLASSES = (ANNOTATED, UNANNOTATED, NO_INDEX)

_ERA_WEIGHTS = {
    ANNOTATED: (("golden_gate", 25), ("tahoe", 35), ("sequoia", 26), ("sonoma", 10), ("ventura", 4)),
    UNANNOTATED: (("ventura", 55), ("monterey", 35), ("big_sur", 10)),
    NO_INDEX: (("ventura", 30), ("monterey", 40), ("big_sur", 30)),
}


# --------------------------------------------------------------------------------------------
# Names and file names (homebrew.md sections 1, 3, 4)


def image_name(name: str) -> str:
    """ghcr image of a formula: `@` -> `/`, `+` -> `x` (python@3.12 -> python/3.12)."""
    return name.replace("@", "/").replace("+", "x")


def pkg_version(formula: dict) -> str:
    """`versions.stable` plus `_<revision>` when revision > 0."""
    version = formula["versions"]["stable"]
    revision = int(formula.get("revision") or 0)
    return f"{version}_{revision}" if revision else version


def bottle_rebuild(formula: dict) -> int:
    """`bottle.stable.rebuild`, 0 for formulae without bottles."""
    return int((formula.get("bottle") or {}).get("stable", {}).get("rebuild", 0))


def image_tag(formula: dict) -> str:
    """Registry tag of a formula's image index: pkg_version plus `-<rebuild>` when rebuild > 0."""
    rebuild = bottle_rebuild(formula)
    return f"{pkg_version(formula)}-{rebuild}" if rebuild else pkg_version(formula)


def bottle_filename(name: str, pkg_ver: str, tag: str, rebuild: int = 0) -> str:
    """Canonical bottle file name, single dash (homebrew.md section 4)."""
    suffix = f".{rebuild}" if rebuild else ""
    return f"{name}-{pkg_ver}.{tag}.bottle{suffix}.tar.gz"


def _tag_key(tag: str) -> int:
    return _TAG_ORDER.get(tag, len(TAGS))


def _family(tag: str) -> str:
    if tag in ARM_TAGS:
        return "arm64_macos"
    if tag in INTEL_TAGS:
        return "x86_64_macos"
    return tag


def _default_cellar(tag: str) -> str:
    if tag == "all":
        return ":any_skip_relocation"
    if tag in LINUX_TAGS:
        return CELLAR_LINUX
    return CELLAR_ARM if tag in ARM_TAGS else CELLAR_INTEL


# --------------------------------------------------------------------------------------------
# Blob bytes


@dataclass(frozen=True)
class BlobSpec:
    """Everything needed to regenerate a blob's bytes."""

    size: int
    seed: int


_BASE = hashlib.shake_256(b"fake-upstream bottle bytes v1").digest(BLOCK)
_BASE2 = _BASE + _BASE
_SHA_CACHE: dict[tuple[int, int], str] = {}
_SHA_CACHE_MIN = 8 * BLOCK
_SHA_LOCK = threading.Lock()


def _block(seed: int, index: int, length: int) -> bytes:
    """Block `index` of a blob: 16-byte header (index, seed) over a rotated pseudo-random MiB."""
    head = struct.pack(">QQ", index, seed & _MASK64)
    if length <= len(head):
        return head[:length]
    rot = (((seed + index) * 0x9E3779B97F4A7C15) & _MASK64) >> 44  # 20 bits: < BLOCK
    return head + _BASE2[rot + 16 : rot + length]


def iter_blob_bytes(spec: BlobSpec, chunk: int = BLOCK, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """Yield bytes [start, stop) of a blob in pieces of at most `chunk` bytes (and at most 1 MiB)."""
    if chunk <= 0:
        raise ValueError("chunk must be positive")
    size = spec.size
    stop = size if stop is None else min(stop, size)
    pos = max(0, start)
    while pos < stop:
        index, offset = divmod(pos, BLOCK)
        base = index * BLOCK
        block = _block(spec.seed, index, min(BLOCK, size - base))
        end = min(len(block), stop - base)
        if offset == 0 and end == len(block) and chunk >= end:
            yield block
        else:
            view = memoryview(block)
            for i in range(offset, end, chunk):
                yield bytes(view[i : min(i + chunk, end)])
        pos = base + end


def blob_sha256(spec: BlobSpec) -> str:
    """sha256 of a blob's bytes; big blobs are hashed once per process."""
    key = (spec.size, spec.seed)
    if spec.size >= _SHA_CACHE_MIN:
        with _SHA_LOCK:
            cached = _SHA_CACHE.get(key)
        if cached:
            return cached
    digest = hashlib.sha256()
    for piece in iter_blob_bytes(spec):
        digest.update(piece)
    hexdigest = digest.hexdigest()
    if spec.size >= _SHA_CACHE_MIN:
        with _SHA_LOCK:
            _SHA_CACHE[key] = hexdigest
    return hexdigest


# --------------------------------------------------------------------------------------------
# Catalogue records


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
    version: str
    pkg_version: str
    rebuild: int
    image_tag: str
    bottles: tuple[Bottle, ...]
    size_annotation: bool
    created: str
    desc: str
    license: str | None
    homepage: str
    git_revision: str
    runtime_dependencies: tuple[str, ...]


@dataclass
class _Entry:
    data: dict
    bottles: dict[str, Bottle]
    size_class: str
    era: str
    created: str


# --------------------------------------------------------------------------------------------
# Text material for realistic padding

_SYLLABLES = (
    "ab", "ac", "ad", "al", "am", "an", "ar", "as", "at", "ba", "be", "bi", "bo", "bu", "ca", "ce",
    "ci", "co", "cu", "da", "de", "di", "do", "du", "el", "em", "en", "er", "es", "fa", "fe", "fi",
    "fo", "fu", "ga", "ge", "gi", "go", "gu", "ha", "he", "hi", "ho", "hu", "id", "il", "im", "in",
    "ir", "is", "ja", "jo", "ka", "ke", "ki", "ko", "la", "le", "li", "lo", "lu", "ma", "me", "mi",
    "mo", "mu", "na", "ne", "ni", "no", "nu", "ob", "od", "ol", "om", "on", "or", "os", "pa", "pe",
    "pi", "po", "pu", "ra", "re", "ri", "ro", "ru", "sa", "se", "si", "so", "su", "ta", "te", "ti",
    "to", "tu", "ul", "um", "un", "ur", "us", "va", "ve", "vi", "vo", "wa", "we", "xa", "xi", "ya",
    "yo", "za", "ze", "zi", "zo",
)  # fmt: skip
_ENDINGS = ("", "", "", "x", "z", "k", "t", "n", "r", "s", "d", "g", "m", "p", "l", "c", "f")
_SUFFIXES = (
    "utils", "tools", "cli", "server", "client", "lsp", "fmt", "lint", "mode", "completion", "extras",
    "viewer", "sync", "proxy", "agent", "daemon", "gui", "shell", "docs", "bridge",
)  # fmt: skip
_HYPHEN_PREFIXES = ("go", "git", "py", "rust", "perl", "ruby", "node", "gnu", "lua", "ocaml")
_UNDERSCORE_SUFFIXES = ("exporter", "cli", "tools", "client", "server")
_DOT_SUFFIXES = ("js", "lua", "sh", "vim", "el", "nvim", "py")
_ADJECTIVES = (
    "Fast", "Portable", "Lightweight", "Modern", "Secure", "Extensible", "Minimal", "Powerful", "Simple",
    "Cross-platform", "Interactive", "Parallel", "Scriptable", "Declarative", "Efficient", "Friendly",
)  # fmt: skip
_NOUNS = (
    "library", "toolkit", "command-line tool", "compiler", "interpreter", "parser", "daemon", "framework",
    "utility", "formatter", "linter", "debugger", "profiler", "proxy", "shell", "editor", "database",
    "terminal multiplexer", "build system", "package manager", "language server", "static analyzer",
)  # fmt: skip
_TOPICS = (
    "JSON", "YAML", "TLS", "HTTP/3", "Git repositories", "container images", "audio files", "PDF documents",
    "regular expressions", "Kubernetes clusters", "DNS", "SQL", "Markdown", "image processing", "fonts",
    "video streams", "network traffic", "cloud storage", "unicode text", "compression", "cryptography",
    "the terminal", "shell scripts", "log files", "time series", "GPUs", "WebAssembly", "S3 buckets",
)  # fmt: skip
_LICENSES = (
    "MIT", "Apache-2.0", "GPL-3.0-or-later", "GPL-2.0-only", "BSD-3-Clause", "BSD-2-Clause",
    "LGPL-2.1-or-later", "MPL-2.0", "ISC", "Zlib", "Unlicense", "AGPL-3.0-only",
    "Apache-2.0 WITH LLVM-exception", "Artistic-2.0",
)  # fmt: skip
_MACOS_PROVIDED = (
    "zlib", "curl", "libxml2", "ncurses", "bzip2", "expat", "libffi", "perl", "python", "ruby", "sqlite",
    "krb5", "libedit", "m4", "flex", "bison", "gperf", "unzip", "zip", "libxslt", "openldap", "cyrus-sasl",
    "libpcap", "libiconv", "xz", "tcl-tk",
)  # fmt: skip
_BUILD_TOOLS = (
    "cmake", "meson", "ninja", "pkgconf", "autoconf", "automake", "libtool", "go", "rust", "gettext",
    "python@3.13", "node", "nasm", "yasm", "scdoc", "sphinx-doc", "doxygen", "help2man", "texinfo", "bison",
)  # fmt: skip
_LINUX_EXTRAS = (
    "gcc",
    "glibc",
    "linux-headers@5.15",
    "libxcrypt",
    "util-linux",
    "systemd",
    "libbsd",
    "patchelf",
)
_DEPRECATION_REASONS = (
    "does_not_build", "unmaintained", "repo_archived", "no_license", "deprecated_upstream", "unsupported",
    "checksum_mismatch", "versioned_formula",
)  # fmt: skip
_KEG_ONLY_REASONS = (
    ":versioned_formula",
    ":provided_by_macos",
    ":shadowed_by_macos",
    "it conflicts with another",
)

# The showcase: the first ten formulae of every catalogue, so even n=10 exercises every case.
_SHOWCASE = (
    # `@` and `.` in the name, revision > 0 and rebuild > 0, newest era, both Linux tags.
    dict(name="python@3.12", version="3.12.7", revision=1, rebuild=1, era="golden_gate",
         linux=("x86_64_linux", "arm64_linux"), keg_only=":versioned_formula", license="Python-2.0",
         desc="Interpreted, interactive, object-oriented programming language",
         homepage="https://www.python.org/"),
    # `+` in the name (image libsigcxx).
    dict(name="libsigc++", version="3.6.0", era="tahoe", linux=("x86_64_linux",),
         desc="Callback framework for C++", license="LGPL-3.0-or-later",
         homepage="https://libsigcplusplus.github.io/libsigcplusplus/"),
    # Only an `all` bottle.
    dict(name="ca-certificates", version="2026-09-23", era="golden_gate", all_only=True,
         desc="Mozilla CA certificate store", license="MPL-2.0",
         homepage="https://curl.se/docs/caextract.html"),
    # `+` in the name, revision > 0, disabled.
    dict(name="dvd+rw-tools", version="7.1", revision=3, era="sequoia", linux=("x86_64_linux",),
         disabled=True, desc="DVD+-RW/R tools", license="GPL-2.0-only",
         homepage="https://fy.chalmers.se/~appro/linux/DVD+RW/"),
    # Old bottles only: lacks every tag newer than arm64_ventura / ventura; size only in the manifest.
    dict(name="md5sha1sum", version="0.9.5", era="ventura", tags=("arm64_ventura", "ventura", "monterey"),
         size_class=UNANNOTATED, desc="Hash utilities", license="GPL-2.0-or-later",
         homepage="http://microbrew.org/tools/md5sha1sum/"),
    # `_` in the name; one blob shared by all arm64 tags and one by all Intel tags.
    dict(name="node_exporter", version="1.9.1", era="sequoia", share=True,
         linux=("x86_64_linux", "arm64_linux"), service=True,
         desc="Prometheus exporter for machine metrics", license="Apache-2.0",
         homepage="https://prometheus.io/"),
    # `.` in the name; no bottles at all.
    dict(name="go.rice", version="1.0.3", no_bottles=True, license="BSD-2-Clause",
         desc="Easily embed resources like HTML, JS, images and templates in Go",
         homepage="https://github.com/GeertJohan/go.rice"),
    # Deprecated; bottled long ago; no image index at all (size unknown).
    dict(name="youtube-dl", version="2021.12.17", era="big_sur", deprecated=True, size_class=NO_INDEX,
         linux=("x86_64_linux",), desc="Download YouTube videos from the command-line",
         license="Unlicense", homepage="https://youtube-dl.org/"),
    # rebuild 2; both Linux tags.
    dict(name="curl", version="8.16.0", rebuild=2, era="tahoe", linux=("x86_64_linux", "arm64_linux"),
         desc="Get a file from an HTTP, HTTPS or FTP server", license="curl",
         homepage="https://curl.se"),
    # `@` in the name; newest era; caveats.
    dict(name="openssl@3", version="3.6.0", era="golden_gate", linux=("x86_64_linux", "arm64_linux"),
         desc="Cryptography and SSL/TLS Toolkit", license="Apache-2.0",
         homepage="https://openssl-library.org", caveats=True),
)  # fmt: skip


def _hex(rng: random.Random, bits: int = 256) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _date_between(rng: random.Random, start: str, end: str) -> str:
    """A random ISO date-time between two ISO dates."""
    lo, hi = date.fromisoformat(start), date.fromisoformat(end)
    day = lo + timedelta(days=rng.randrange((hi - lo).days + 1))
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in pairs)
    x = rng.randrange(total)
    for value, weight in pairs:
        if x < weight:
            return value
        x -= weight
    return pairs[-1][0]


def _core_word(rng: random.Random) -> str:
    n = 2 if rng.random() < 0.7 else 3
    return "".join(rng.choice(_SYLLABLES) for _ in range(n)) + rng.choice(_ENDINGS)


def _random_version(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:
        return f"{rng.randrange(0, 12)}.{rng.randrange(0, 30)}.{rng.randrange(0, 20)}"
    if r < 0.78:
        return f"{rng.randrange(0, 30)}.{rng.randrange(0, 100)}"
    if r < 0.88:
        return f"20{rng.randrange(18, 27)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    if r < 0.94:
        return f"{rng.randrange(1, 5)}.{rng.randrange(0, 10)}.{rng.randrange(0, 10)}.{rng.randrange(0, 200)}"
    return f"{rng.randrange(1, 500)}"


def _bump(version: str) -> str:
    """Next version: increment the last number in the string."""
    match = re.search(r"(\d+)(?!.*\d)", version)
    if not match:
        return version + ".1"
    digits = match.group(1)
    bumped = str(int(digits) + 1).zfill(len(digits))
    return version[: match.start(1)] + bumped + version[match.end(1) :]


# --------------------------------------------------------------------------------------------
# The catalogue


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
        self.tap_git_head = _hex(random.Random(f"tap:{seed}"), 160)
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._by_image: dict[str, str] = {}
        self._blobs: dict[str, BlobSpec] = {}
        self._blob_images: dict[str, str] = {}
        self._releases: dict[str, dict[str, Release]] = {}  # image -> image_tag -> release
        self._json_cache: tuple[int, bytes] | None = None
        self._dep_pool: list[str] = []

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
            data = json.dumps(self.formulae, separators=(",", ":")).encode()
            self._json_cache = (self.generation, data)
            return data

    # ---- mutations ---------------------------------------------------------------------------

    def rebuild_bottle(self, name: str, tag: str) -> Bottle:
        """Replace one tag's blob (same file name, same version/rebuild, new sha256)."""
        with self._lock:
            entry = self._entries[name]
            old = entry.bottles[tag]
            rng = self._mutation_rng(name, "rebuild_bottle", tag)
            size = self._blob_size(rng)
            seed = rng.getrandbits(63)
            new = replace(
                old,
                sha256=self._register_blob(BlobSpec(size, seed), entry.data["name"]),
                size=size,
                seed=seed,
            )
            entry.bottles[tag] = new
            self._refresh(entry)
            return new

    def bump_version(self, name: str, tags: tuple[str, ...] | list[str] | None = None) -> dict:
        """New upstream version: revision and rebuild reset, every bottle rebuilt in the newest era.

        `tags` defaults to the newest era's tags plus the Linux tags the formula had (`all` stays `all`).
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
                    tags = ERAS[NEWEST_ERA].tags + tuple(t for t in LINUX_TAGS if t in old_tags)
            self._rebottle(entry, rng, tags, rebuild=0)
            return data

    def bump_rebuild(self, name: str) -> dict:
        """Same version, rebuild + 1: every bottle gets a new blob and the image a new tag."""
        with self._lock:
            entry = self._entries[name]
            rng = self._mutation_rng(name, "bump_rebuild")
            rebuild = bottle_rebuild(entry.data) + 1
            self._rebottle(entry, rng, tuple(entry.bottles), rebuild=rebuild)
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
        """Append a formula. `tags` defaults to the newest era plus x86_64_linux; `size` fixes every
        bottle's size (default: random in [min_blob, max_blob]); `tags=()` means no bottles."""
        if size_class not in SIZE_CLASSES:
            raise ValueError(f"size_class must be one of {SIZE_CLASSES}")
        with self._lock:
            self._check_new_name(name)
            rng = self._mutation_rng(name, "add")
            spec = dict(
                name=name, version=version, revision=revision, rebuild=rebuild, era=NEWEST_ERA,
                tags=tuple(ERAS[NEWEST_ERA].tags) + ("x86_64_linux",) if tags is None else tuple(tags),
                share=share_blobs, size_class=size_class, disabled=disabled, deprecated=deprecated,
                fixed_size=size,
            )  # fmt: skip
            entry = self._build(rng, spec)
            self._install(entry)
            self.generation += 1
            return entry.data

    def remove_formula(self, name: str) -> None:
        """Drop a formula from the API. Its images and blobs stay in the registry, as on ghcr.io."""
        with self._lock:
            entry = self._entries.pop(name)
            self.formulae.remove(entry.data)
            self._by_image.pop(image_name(name), None)
            self.generation += 1

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        with self._lock:
            data = self._entries[name].data
            data["disabled"] = disabled
            data["disable_date"] = "2026-10-15" if disabled else None
            data["disable_reason"] = "unmaintained" if disabled else None
            self.generation += 1

    def set_deprecated(self, name: str, deprecated: bool = True) -> None:
        with self._lock:
            data = self._entries[name].data
            data["deprecated"] = deprecated
            data["deprecation_date"] = "2026-10-15" if deprecated else None
            data["deprecation_reason"] = "unmaintained" if deprecated else None
            self.generation += 1

    def touch(self) -> None:
        """Count a hand edit of `formulae` as a new generation (new ETag, Last-Modified, JWS)."""
        with self._lock:
            self.generation += 1

    # ---- generation internals ------------------------------------------------------------------

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

    def _make_bottles(self, rng: random.Random, name: str, tags, share: bool, fixed_size: int | None) -> dict:
        style = rng.choice(("any", "prefix", "prefix"))
        bottles: dict[str, Bottle] = {}
        shared: dict[str, Bottle] = {}
        for tag in sorted(set(tags), key=_tag_key):
            if tag not in _TAG_ORDER:
                raise ValueError(f"unknown bottle tag {tag!r}")
            family = _family(tag)
            if share or tag == "all":
                cellar = ":any_skip_relocation"
            else:
                cellar = ":any" if style == "any" else _default_cellar(tag)
            if share and family in shared:
                bottles[tag] = replace(shared[family], tag=tag)
                continue
            size = self._blob_size(rng, fixed_size)
            seed = rng.getrandbits(63)
            bottle = Bottle(tag, self._register_blob(BlobSpec(size, seed), name), size, cellar, seed)
            bottles[tag] = shared[family] = bottle
        return bottles

    def _bottle_json(self, entry: _Entry, rebuild: int) -> dict:
        if not entry.bottles:
            return {}
        image = image_name(entry.data["name"])
        files = {
            tag: {
                "cellar": b.cellar,
                "url": f"{ROOT_URL}/{image}/blobs/sha256:{b.sha256}",
                "sha256": b.sha256,
            }
            for tag, b in entry.bottles.items()
        }
        return {"stable": {"rebuild": rebuild, "root_url": ROOT_URL, "files": files}}

    def _refresh(self, entry: _Entry) -> None:
        """Rewrite the entry's `bottle` JSON, (re)register its current release, bump generation."""
        data = entry.data
        data["bottle"] = self._bottle_json(entry, bottle_rebuild(data))
        data["versions"]["bottle"] = bool(entry.bottles)
        if entry.bottles and entry.size_class != NO_INDEX:
            release = Release(
                name=data["name"],
                image=image_name(data["name"]),
                version=data["versions"]["stable"],
                pkg_version=pkg_version(data),
                rebuild=bottle_rebuild(data),
                image_tag=image_tag(data),
                bottles=tuple(entry.bottles.values()),
                size_annotation=entry.size_class == ANNOTATED,
                created=entry.created,
                desc=data["desc"] or "",
                license=data["license"],
                homepage=data["homepage"],
                git_revision=self.tap_git_head,
                runtime_dependencies=tuple(data["dependencies"]),
            )
            self._releases.setdefault(release.image, {})[release.image_tag] = release
        self.generation += 1

    def _rebottle(self, entry: _Entry, rng: random.Random, tags, rebuild: int) -> None:
        data = entry.data
        share = any(b.cellar == ":any_skip_relocation" for b in entry.bottles.values() if b.tag != "all")
        entry.bottles = self._make_bottles(rng, data["name"], tags, share, None)
        entry.era = NEWEST_ERA
        entry.size_class = ANNOTATED
        entry.created = _date_between(rng, "2026-10-31", "2026-11-20")
        data["bottle"] = self._bottle_json(entry, rebuild)
        self._refresh(entry)

    def _install(self, entry: _Entry) -> None:
        name = entry.data["name"]
        self._entries[name] = entry
        self._by_image[image_name(name)] = name
        self.formulae.append(entry.data)
        rebuild = entry.data.pop("_rebuild", 0)
        entry.data["bottle"] = self._bottle_json(entry, rebuild)
        generation = self.generation
        self._refresh(entry)
        self.generation = generation

    def _pick_deps(self, rng: random.Random, name: str, k: int) -> list[str]:
        pool = self._dep_pool
        if not pool or k <= 0:
            return []
        picked = {rng.choice(pool) for _ in range(k)}
        picked.discard(name)
        return sorted(picked)

    def _build(self, rng: random.Random, spec: dict) -> _Entry:
        """One formula.json entry from a spec of forced choices; the rest is drawn from rng."""
        name = spec["name"]
        version = spec.get("version") or _random_version(rng)
        if "@" in name and not spec.get("version"):
            # A versioned formula's version starts with its @ suffix (postgresql@16 -> 16.10).
            version = f"{name.split('@', 1)[1]}.{rng.randrange(0, 12)}"
        size_class = spec.get("size_class", ANNOTATED)
        era_name = spec.get("era") or _weighted(rng, _ERA_WEIGHTS[size_class])
        era = ERAS[era_name]
        if spec.get("no_bottles"):
            tags: tuple[str, ...] = ()
        elif spec.get("all_only"):
            tags = ("all",)
        elif spec.get("tags") is not None:
            tags = tuple(spec["tags"])
        else:
            tags = era.tags + tuple(spec.get("linux", ()))
        if size_class == ANNOTATED:
            created = _date_between(rng, max(era.start, SIZE_ANNOTATION_SINCE), era.end)
        else:
            created = _date_between(rng, era.start, min(era.end, "2023-03-31"))

        bottles = self._make_bottles(rng, name, tags, bool(spec.get("share")), spec.get("fixed_size"))

        core = re.sub(r"[@+._-].*$", "", name.removeprefix("lib")) or name
        desc = spec.get("desc") or (
            f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} for {rng.choice(_TOPICS)}"
            + (f" and {rng.choice(_TOPICS)}" if rng.random() < 0.3 else "")
        )
        homepage = spec.get("homepage") or rng.choice(
            (
                f"https://{core}.org/",
                f"https://github.com/{core}/{name}",
                f"https://www.gnu.org/software/{name}/",
            )
        )
        license_ = spec["license"] if "license" in spec else rng.choice(_LICENSES + (None,))
        org = core if rng.random() < 0.6 else rng.choice(_SYLLABLES) + core
        if rng.random() < 0.7:
            src = f"https://github.com/{org}/{name}/archive/refs/tags/v{version}.tar.gz"
        else:
            src = f"https://downloads.{core}.org/releases/{name}-{version}.tar.xz"
        urls: dict = {"stable": {"url": src, "tag": None, "revision": None, "using": None, "checksum": _hex(rng)}}
        head = rng.random() < 0.35
        if head:
            urls["head"] = {"url": f"https://github.com/{org}/{name}.git", "branch": "main", "using": None}

        n_deps = min(int(rng.expovariate(1 / 3.5)), 14)
        deps = self._pick_deps(rng, name, n_deps)
        build_deps = sorted(set(rng.sample(_BUILD_TOOLS, rng.randrange(0, 4))) - {name})
        test_deps = ["pkgconf"] if rng.random() < 0.1 else []
        uses = sorted(set(rng.sample(_MACOS_PROVIDED, rng.randrange(0, 4))))
        uses_json: list = [u if rng.random() < 0.7 else {u: "build"} for u in uses]
        bounds = [{} if rng.random() < 0.8 else {"since": rng.choice(("catalina", "big_sur", "ventura"))} for _ in uses]
        requirements = []
        if rng.random() < 0.06:
            requirements.append(
                {"name": "xcode", "cask": None, "download": None,
                 "version": rng.choice(("14.3", "15.0", "16.0")),
                 "contexts": ["build"], "specs": ["stable", "head"] if head else ["stable"]}
            )  # fmt: skip
        if rng.random() < 0.04:
            requirements.append(
                {
                    "name": "macos",
                    "cask": None,
                    "download": None,
                    "version": None,
                    "contexts": [],
                    "specs": ["stable"],
                }
            )
        conflicts = self._pick_deps(rng, name, 1) if rng.random() < 0.08 else []
        keg_only = spec.get("keg_only") or (rng.choice(_KEG_ONLY_REASONS) if rng.random() < 0.05 else None)
        caveats = None
        if spec.get("caveats") or rng.random() < 0.14:
            caveats = (
                f"To use {name} with your shell, add the following to your profile:\n"
                f'  export PATH="$HOMEBREW_PREFIX/opt/{name}/libexec/bin:$PATH"\n'
                f"Configuration files live in $HOMEBREW_PREFIX/etc/{core}/; the defaults were written to\n"
                f"  $HOMEBREW_PREFIX/etc/{core}/{core}.conf.default\n"
                + ("Data is kept in $HOMEBREW_PREFIX/var/lib/" + core + " and survives upgrades.\n"
                   if rng.random() < 0.5 else "")
            )  # fmt: skip
        service = None
        if spec.get("service") or rng.random() < 0.05:
            service = {
                "run": [
                    f"$HOMEBREW_PREFIX/opt/{name}/bin/{core}",
                    "--config",
                    f"$HOMEBREW_PREFIX/etc/{core}.yml",
                ],
                "run_type": "immediate",
                "keep_alive": {"always": True},
                "working_dir": f"$HOMEBREW_PREFIX/var/lib/{core}",
                "log_path": f"$HOMEBREW_PREFIX/var/log/{core}.log",
                "error_log_path": f"$HOMEBREW_PREFIX/var/log/{core}.log",
            }
        deprecated = bool(spec.get("deprecated", rng.random() < 0.04))
        disabled = bool(spec.get("disabled", rng.random() < 0.02))
        reason = rng.choice(_DEPRECATION_REASONS)
        shard = "lib" if name.startswith("lib") else name[0]

        variations = self._variations(rng, deps, uses, build_deps)
        data = {
            "name": name,
            "full_name": name,
            "tap": "homebrew/core",
            "oldnames": [f"{core}-legacy"] if rng.random() < 0.03 else [],
            "aliases": [f"{core}{rng.randrange(2, 9)}"] if rng.random() < 0.08 else [],
            "versioned_formulae": [],
            "desc": desc,
            "license": license_,
            "homepage": homepage,
            "versions": {"stable": version, "head": "HEAD" if head else None, "bottle": bool(bottles)},
            "urls": urls,
            "revision": int(spec.get("revision", 0)),
            "version_scheme": 1 if rng.random() < 0.02 else 0,
            "compatibility_version": None,
            "autobump": rng.random() < 0.8,
            "no_autobump_message": None,
            "skip_livecheck": rng.random() < 0.03,
            "bottle": {},
            "pour_bottle_only_if": None,
            "keg_only": bool(keg_only),
            "keg_only_reason": {"reason": keg_only, "explanation": ""} if keg_only else None,
            "options": [],
            "build_dependencies": build_deps,
            "dependencies": deps,
            "test_dependencies": test_deps,
            "recommended_dependencies": [],
            "optional_dependencies": [],
            "uses_from_macos": uses_json,
            "uses_from_macos_bounds": bounds,
            "requirements": requirements,
            "conflicts_with": conflicts,
            "conflicts_with_reasons": [f"both install `{core}` binaries" for _ in conflicts],
            "link_overwrite": [],
            "caveats": caveats,
            "installed": [],
            "linked_keg": None,
            "pinned": False,
            "outdated": False,
            "deprecated": deprecated,
            "deprecation_date": created[:10] if deprecated else None,
            "deprecation_reason": reason if deprecated else None,
            "deprecation_replacement_formula": None,
            "deprecation_replacement_cask": None,
            "disabled": disabled,
            "disable_date": "2026-06-01" if disabled else None,
            "disable_reason": reason if disabled else None,
            "disable_replacement_formula": None,
            "disable_replacement_cask": None,
            "post_install_defined": rng.random() < 0.07,
            "service": service,
            "tap_git_head": self.tap_git_head,
            "ruby_source_path": f"Formula/{shard}/{name}.rb",
            "ruby_source_checksum": {"sha256": _hex(rng)},
            "variations": variations,
            "_rebuild": int(spec.get("rebuild", 0)),
        }
        if head:
            data["head_dependencies"] = {
                "build_dependencies": sorted(set(build_deps) | {"autoconf", "automake"}),
                "dependencies": deps,
                "test_dependencies": test_deps,
                "recommended_dependencies": [],
                "optional_dependencies": [],
                "uses_from_macos": uses_json,
                "uses_from_macos_bounds": bounds,
            }
        # Keep `variations` last, as brew does; `_rebuild` is consumed by _install.
        data["variations"] = data.pop("variations")
        return _Entry(data=data, bottles=bottles, size_class=size_class, era=era_name, created=created)

    def _variations(self, rng: random.Random, deps: list[str], uses: list[str], build_deps: list[str]) -> dict:
        """Per-platform overrides: Linux tags add dependencies that macOS provides, older macOS need more."""
        out: dict = {}
        linux_deps = sorted(set(deps) | set(uses) | set(rng.sample(_LINUX_EXTRAS, rng.randrange(0, 3))))
        for tag in ("arm64_linux", "x86_64_linux"):
            if rng.random() < 0.75:
                out[tag] = {
                    "build_dependencies": sorted(set(build_deps) | {"pkgconf"}),
                    "dependencies": linux_deps,
                    "uses_from_macos": [],
                    "uses_from_macos_bounds": [],
                }
        if rng.random() < 0.35:
            extra = sorted(set(deps) | {"llvm"})
            for tag in ("ventura", "monterey", "arm64_ventura", "arm64_monterey", "big_sur"):
                if rng.random() < 0.6:
                    out[tag] = {
                        "dependencies": extra,
                        "build_dependencies": sorted(set(build_deps) | {"llvm"}),
                    }
        return out


def _generate_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """Unique, realistic formula names whose images are unique too."""
    images = {image_name(n) for n in taken}
    names: list[str] = []
    bases: list[str] = []
    while len(names) < count:
        r = rng.random()
        core = _core_word(rng)
        if r < 0.45:
            name = core
        elif r < 0.60:
            name = "lib" + core
        elif r < 0.68:
            name = f"{core}-{rng.choice(_SUFFIXES)}"
        elif r < 0.74:
            name = f"{rng.choice(_HYPHEN_PREFIXES)}-{core}"
        elif r < 0.77:
            name = f"{core}_{rng.choice(_UNDERSCORE_SUFFIXES)}"
        elif r < 0.82 and bases:
            base = rng.choice(bases)
            major = rng.randrange(1, 30)
            name = f"{base}@{major}" if rng.random() < 0.6 else f"{base}@{major}.{rng.randrange(0, 15)}"
        elif r < 0.83:
            name = f"{core}.{rng.choice(_DOT_SUFFIXES)}"
        elif r < 0.835:
            name = f"{core}++" if rng.random() < 0.5 else f"{core}+{_core_word(rng)}-tools"
        elif r < 0.87:
            name = f"{core}{rng.randrange(2, 7)}"
        else:
            name = f"{core}-{_core_word(rng)}"
        image = image_name(name)
        if name in taken or image in images:
            continue
        taken.add(name)
        images.add(image)
        names.append(name)
        if "@" not in name and len(bases) < 400:
            bases.append(name)
    return names


def generate_catalogue(
    n_formulae: int,
    seed: int = 0,
    *,
    min_blob: int = 1024,
    max_blob: int = 64 * 1024,
    big_bottles: dict[str, int] | None = None,
) -> Catalogue:
    """A catalogue of `n_formulae` formulae (the first ten are the fixed showcase of every special
    case), plus one formula per `big_bottles` entry with a single `all` bottle of that many bytes.
    Same arguments, same bytes."""
    if n_formulae < 0:
        raise ValueError("n_formulae must be >= 0")
    cat = Catalogue(seed, min_blob=min_blob, max_blob=max_blob)
    rng = random.Random(f"catalogue:{seed}")
    showcase = [{"disabled": False, "deprecated": False, **s} for s in _SHOWCASE[:n_formulae]]
    taken = {s["name"] for s in showcase} | set(big_bottles or {})
    names = sorted(_generate_names(rng, n_formulae - len(showcase), taken))
    all_names = [s["name"] for s in showcase] + names
    # Dependencies favour a popular core, as in homebrew-core.
    popular = all_names[:10] + rng.sample(names, min(len(names), 150))
    cat._dep_pool = popular * 3 + all_names

    specs: list[dict] = showcase
    for name in names:
        r = rng.random()
        size_class = ANNOTATED if r < 0.85 else UNANNOTATED if r < 0.95 else NO_INDEX
        spec: dict = {"name": name, "size_class": size_class}
        kind = rng.random()
        if kind < 0.03:
            spec["no_bottles"] = True
        elif kind < 0.09:
            spec["all_only"] = True
        else:
            era = _weighted(rng, _ERA_WEIGHTS[size_class])
            spec["era"] = era
            linux = []
            if rng.random() < (0.85 if era in ("golden_gate", "tahoe", "sequoia", "sonoma", "ventura") else 0.5):
                linux.append("x86_64_linux")
            if rng.random() < {"golden_gate": 0.6, "tahoe": 0.5, "sequoia": 0.2}.get(era, 0.0):
                linux.append("arm64_linux")
            tags = list(ERAS[era].tags)
            # Rare hand-uploaded Intel bottles for the newer macOS names, so every tag occurs somewhere.
            if era == "sequoia" and rng.random() < 0.02:
                tags.append("sequoia")
            if era == "tahoe" and rng.random() < 0.02:
                tags.append("tahoe")
            spec["tags"] = tuple(tags + linux)
            spec["share"] = rng.random() < 0.25
        if rng.random() < 0.2:
            spec["revision"] = rng.choice((1, 1, 1, 2, 3))
        if rng.random() < 0.1:
            spec["rebuild"] = rng.choice((1, 1, 2))
        if "@" in name:
            spec["keg_only"] = ":versioned_formula"
        specs.append(spec)

    for spec in specs:
        entry = cat._build(random.Random(f"formula:{seed}:{spec['name']}"), spec)
        cat._install(entry)

    # versioned_formulae lists the @ siblings, as in the real API.
    by_base: dict[str, list[str]] = {}
    for name in all_names:
        if "@" in name:
            by_base.setdefault(name.split("@", 1)[0], []).append(name)
    for base, versioned in by_base.items():
        entry = cat._entries.get(base)
        if entry:
            entry.data["versioned_formulae"] = sorted(versioned)

    for big_name, size in (big_bottles or {}).items():
        spec = {
            "name": big_name,
            "version": "1.0.0",
            "all_only": True,
            "era": NEWEST_ERA,
            "fixed_size": int(size),
        }
        cat._install(cat._build(random.Random(f"big:{seed}:{big_name}"), spec))
    cat.generation = 0
    cat._json_cache = None
    return cat
