"""Derived copies: how a catalogue of N formulae grows from the checked-in records.

Each copy takes one record's shape (tags, cellars, which tags share a blob, version, revision,
rebuild, upload time) under a new, realistic name. Which record, and whether the copy is deprecated
or disabled, is drawn so that a full-size catalogue has homebrew-core's proportions: ~3% without
bottles, ~6% with only an `all` bottle, and of the rest 85% sizes annotated in the image index,
10% older uploads without the annotation and 5% without an index.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from fakes.brew import image_name
from fakes.records import ANNOTATED, NO_INDEX, UNANNOTATED, Record

_KINDS = (("none", 3), ("all", 6), (ANNOTATED, 77), (UNANNOTATED, 9), (NO_INDEX, 5))
DEPRECATED_SHARE = 0.04
DISABLED_SHARE = 0.02

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


def derive(records: Sequence[Record], count: int, rng: random.Random, taken: set[str]) -> list[Record]:
    """`count` copies of `records` under new names (sorted), none of them in `taken` or its images."""
    pools = _pools(records)
    copies = []
    for name in sorted(generate_names(rng, count, taken)):
        template = rng.choice(pools[_weighted(rng, [(k, w) for k, w in _KINDS if pools[k]])])
        formula = dict(template.formula, name=name, full_name=name)
        if "@" in name:
            # A versioned formula's version starts with its @ suffix (postgresql@16 -> 16.10).
            formula["versions"] = {"stable": f"{name.split('@', 1)[1]}.{rng.randrange(0, 12)}"}
        formula["deprecated"] = rng.random() < DEPRECATED_SHARE
        formula["disabled"] = rng.random() < DISABLED_SHARE
        copies.append(replace(template, formula=formula))
    return copies


def _pools(records: Sequence[Record]) -> dict[str, list[Record]]:
    pools: dict[str, list[Record]] = {kind: [] for kind, _ in _KINDS}
    for record in records:
        if not record.files:
            pools["none"].append(record)
        elif set(record.files) == {"all"}:
            pools["all"].append(record)
        else:
            pools[record.size_class].append(record)
    return pools


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    x = rng.randrange(sum(w for _, w in pairs))
    for value, weight in pairs:
        if x < weight:
            return value
        x -= weight
    return pairs[-1][0]


def _core_word(rng: random.Random) -> str:
    n = 2 if rng.random() < 0.7 else 3
    return "".join(rng.choice(_SYLLABLES) for _ in range(n)) + rng.choice(_ENDINGS)


def generate_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """Unique, realistic formula names (lib*, *-tools, foo@2, foo.js, foo++ ...) whose images are unique too."""
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
