"""The checked-in formula records every catalogue starts from (fakes/records/).

`formula.json` is a slice of formulae.brew.sh's formula.json written by hand, cut down to the fields
the mirror reads; `ghcr.json` says when each bottled formula's image index was uploaded (which decides
whether it carries `sh.brew.bottle.size`, homebrew.md section 3), or `null` when ghcr serves none.
The records' sha256 values are labels: equal labels are one blob, and each catalogue replaces them
with the digests of the bytes it generates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fakes.brew import ROOT_URL, TAP, check_tag, formula_json, image_name

RECORDS_DIR = Path(__file__).resolve().parent / "records"

# Bottles uploaded before this date carry no sh.brew.bottle.size annotation (homebrew.md section 3).
SIZE_ANNOTATION_SINCE = "2023-04-01"

# Size classes: how much a mirror can learn about a bottle's size before downloading it.
ANNOTATED = "annotated"  # index annotation sh.brew.bottle.size present
UNANNOTATED = "unannotated"  # older upload: size only in the per-platform manifest's layers[0].size
NO_INDEX = "no_index"  # no image index at all (404): size unknown
SIZE_CLASSES = (ANNOTATED, UNANNOTATED, NO_INDEX)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_KEYS = list(formula_json("x", "1"))


class RecordError(ValueError):
    """A record file that does not have the documented shape."""


@dataclass(frozen=True)
class Record:
    """One formula.json entry plus the upload time of its image index (None: no index, or no bottles)."""

    formula: dict
    created: str | None

    @property
    def name(self) -> str:
        return self.formula["name"]

    @property
    def files(self) -> dict[str, dict]:
        return (self.formula["bottle"] or {}).get("stable", {}).get("files", {})

    @property
    def size_class(self) -> str:
        """annotated | unannotated | no_index; '' without bottles."""
        if not self.files:
            return ""
        if self.created is None:
            return NO_INDEX
        return ANNOTATED if self.created >= SIZE_ANNOTATION_SINCE else UNANNOTATED


@cache
def load_records(directory: Path = RECORDS_DIR) -> tuple[Record, ...]:
    """The records in file order, checked; RecordError names the file, the formula and the fault."""
    formulae = _read(directory / "formula.json")
    uploads = _read(directory / "ghcr.json")
    if not isinstance(formulae, list) or not isinstance(uploads, dict):
        raise RecordError(f"{directory}: formula.json must be an array and ghcr.json an object")
    records: list[Record] = []
    for index, formula in enumerate(formulae):
        where = f"{directory / 'formula.json'}: entry {index}"
        try:
            _check_formula(formula)
            name = formula["name"]
            record = Record(formula, _created(uploads, name) if _files(formula) else None)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise RecordError(f"{where}: {exc}") from None
        records.append(record)
    names = [r.name for r in records]
    if len(set(names)) != len(names) or len({image_name(n) for n in names}) != len(names):
        raise RecordError(f"{directory / 'formula.json'}: names and their images must be unique")
    stray = set(uploads) - {r.name for r in records if r.files}
    if stray:
        raise RecordError(f"{directory / 'ghcr.json'}: no bottled formula named {sorted(stray)}")
    return tuple(records)


def _read(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RecordError(f"{path}: {exc}") from None


def _files(formula: dict) -> dict:
    return (formula["bottle"] or {}).get("stable", {}).get("files", {})


def _check_formula(formula: dict) -> None:
    if list(formula) != _KEYS:
        raise ValueError(f"keys must be exactly {_KEYS}, in that order")
    name = formula["name"]
    if not isinstance(name, str) or not name or formula["full_name"] != name or formula["tap"] != TAP:
        raise ValueError(f"{name!r}: name must be a non-empty string, full_name the same, tap {TAP!r}")
    if not isinstance(formula["versions"].get("stable"), str) or list(formula["versions"]) != ["stable"]:
        raise ValueError(f"{name}: versions must be {{'stable': '<version>'}}")
    if type(formula["revision"]) is not int or formula["revision"] < 0:
        raise ValueError(f"{name}: revision must be an int >= 0")
    if type(formula["deprecated"]) is not bool or type(formula["disabled"]) is not bool:
        raise ValueError(f"{name}: deprecated and disabled must be booleans")
    if formula["bottle"] == {}:
        return
    stable = formula["bottle"]["stable"]
    if type(stable["rebuild"]) is not int or stable["rebuild"] < 0 or stable["root_url"] != ROOT_URL:
        raise ValueError(f"{name}: bottle.stable needs rebuild >= 0 and root_url {ROOT_URL}")
    if not stable["files"]:
        raise ValueError(f"{name}: a bottle without files is written as `bottle: {{}}`")
    for tag, file in stable["files"].items():
        check_tag(tag)
        sha = file["sha256"]
        if not _SHA256.fullmatch(sha) or set(file) != {"cellar", "url", "sha256"}:
            raise ValueError(f"{name} {tag}: a file is {{cellar, url, sha256}} with a 64-hex sha256")
        if file["url"] != f"{ROOT_URL}/{image_name(name)}/blobs/sha256:{sha}":
            raise ValueError(f"{name} {tag}: url must be root_url/{image_name(name)}/blobs/sha256:<sha256>")


def _created(uploads: dict, name: str) -> str | None:
    if name not in uploads:
        raise ValueError(f"{name}: missing from ghcr.json")
    entry = uploads[name]
    if entry is None:
        return None
    created = entry["created"]
    if not isinstance(created, str) or not _CREATED.fullmatch(created):
        raise ValueError(f"{name}: ghcr.json created must look like 2025-10-21T17:40:03Z")
    return created
