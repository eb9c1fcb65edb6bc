"""Small builders shared by the unit tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from homebrew_sync.models import BottleRecord

ROOT = Path(__file__).resolve().parents[1]
# For subprocesses: the repository (tests, fakes) and the package, without relying on an install.
PYTHONPATH = f"{ROOT}{os.pathsep}{ROOT / 'shared'}"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def formula(
    name: str,
    version: str = "1.0",
    tags: dict[str, str] | list[str] = ("arm64_sonoma",),
    *,
    revision: int = 0,
    rebuild: int = 0,
    disabled: bool = False,
) -> dict[str, Any]:
    """A formula.json entry; `tags` maps tag -> sha256 (or lists tags, each with its own blob)."""
    if not isinstance(tags, dict):
        tags = {tag: sha(f"{name}-{version}-{tag}") for tag in tags}
    files = {
        tag: {
            "cellar": ":any",
            "url": f"https://ghcr.io/v2/homebrew/core/{name}/blobs/sha256:{digest}",
            "sha256": digest,
        }
        for tag, digest in tags.items()
    }
    return {
        "name": name,
        "versions": {"stable": version, "bottle": True},
        "revision": revision,
        "disabled": disabled,
        "deprecated": False,
        "bottle": {"stable": {"rebuild": rebuild, "root_url": "https://ghcr.io/v2/homebrew/core", "files": files}}
        if files
        else {},
    }


def record(file: str, digest: str, key: str | None = None, formula_name: str = "x", size: int = 10) -> BottleRecord:
    return BottleRecord(
        sha256=digest,
        size=size,
        key=key or f"2025-01-01/{file}",
        formula=formula_name,
        tag="arm64_sonoma",
        downloaded_at="2025-01-01",
    )
