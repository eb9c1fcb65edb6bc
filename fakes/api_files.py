"""The other files formulae.brew.sh serves beside formula.json, derived from a Catalogue.

brew 4.6-5.x read `formula.jws.json`, `cask.jws.json`, `formula_tap_migrations.jws.json` and
`cask_tap_migrations.jws.json`; brew 6.x reads only `internal/packages.<host tag>.jws.json`, one document
with formulae (one bottle per formula, already chosen for that tag), casks, aliases, renames and tap
migrations (homebrew.md section 4). A mirror serves them byte for byte, so only their shape matters here.
"""

from __future__ import annotations

import json
import re

from fakes.brew import TAGS
from fakes.catalogue import Catalogue

SIGNED_FILES = ("formula", "cask", "formula_tap_migrations", "cask_tap_migrations")
_PACKAGES_RE = re.compile(r"internal/packages\.([a-z0-9_]+)")
_MACOS_ORDER = [t.removeprefix("arm64_") for t in TAGS if t.startswith("arm64_")]


def payload(catalogue: Catalogue, name: str) -> bytes | None:
    """The JSON payload of `<name>.json` (e.g. "cask", "internal/packages.arm64_sonoma"); None -> 404."""
    if name == "formula":
        return catalogue.formula_json_bytes()
    if name == "cask":
        return _dump(_casks(catalogue))
    if name == "formula_tap_migrations":
        return _dump({"old-gui-tool": "homebrew/cask"})
    if name == "cask_tap_migrations":
        return _dump({"old-cli-tool": "homebrew/core"})
    match = _PACKAGES_RE.fullmatch(name)
    if match and match.group(1) in TAGS and match.group(1) != "all":
        return _dump(_packages(catalogue, match.group(1)))
    return None


def _dump(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _casks(catalogue: Catalogue) -> list[dict]:
    return [
        {
            "token": f"fake-app-{i}",
            "version": f"{i}.{catalogue.generation % 10}",
            "url": f"https://example.invalid/fake-app-{i}.dmg",
            "sha256": f"{i:064x}",
        }
        for i in range(3)
    ]


def _older_same_arch(tag: str, candidate: str) -> bool:
    arm = tag.startswith("arm64_")
    if candidate.startswith("arm64_") != arm or candidate in ("all", "x86_64_linux", "arm64_linux"):
        return False
    mine, theirs = tag.removeprefix("arm64_"), candidate.removeprefix("arm64_")
    if mine not in _MACOS_ORDER or theirs not in _MACOS_ORDER:
        return False
    return _MACOS_ORDER.index(theirs) > _MACOS_ORDER.index(mine)


def _bottle_for(files: dict, tag: str) -> tuple[str, dict] | None:
    """The bottle a client on `tag` pours, chosen server-side as formulae.brew.sh does for brew 6."""
    if tag in files:
        return tag, files[tag]
    if "all" in files:
        return "all", files["all"]
    for candidate, entry in files.items():
        if _older_same_arch(tag, candidate):
            return candidate, entry
    return None


def _packages(catalogue: Catalogue, tag: str) -> dict:
    formulae = {}
    with catalogue.lock:
        for data in catalogue.formulae:
            stable = (data.get("bottle") or {}).get("stable") or {}
            chosen = _bottle_for(stable.get("files") or {}, tag)
            entry = {"version": data["versions"]["stable"], "revision": data.get("revision", 0)}
            if chosen is not None:
                bottle_tag, file = chosen
                entry["bottle"] = {"rebuild": stable.get("rebuild", 0), "sha256": file["sha256"]}
                if bottle_tag != tag:
                    entry["bottle"]["bottle_tag"] = bottle_tag
            formulae[data["name"]] = entry
        head = catalogue.tap_git_head
    return {
        "formulae": formulae,
        "casks": {c["token"]: c for c in _casks(catalogue)},
        "formula_aliases": {},
        "formula_renames": {},
        "cask_renames": {},
        "formula_tap_git_head": head,
        "cask_tap_git_head": head,
        "formula_tap_migrations": {"old-gui-tool": "homebrew/cask"},
        "cask_tap_migrations": {"old-cli-tool": "homebrew/core"},
    }
