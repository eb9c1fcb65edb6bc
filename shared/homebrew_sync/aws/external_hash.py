"""External hash files: bottles that already exist elsewhere, so the run does not download them again.

Accepted formats (EXTERNAL_HASH_FILE.md): this project's state (schema 2), the first format
(`{"bottles": {file: {"sha256": ...}}}`), a flat `{file: sha256}` map, a list of `{"file", "sha256"}`
objects, and `sha256sum` output. Every file name and sha256 is validated; invalid entries are skipped
and counted. An unreachable or unusable source never fails the run: it is reported and ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from homebrew_sync.errors import UnsafeInputError
from homebrew_sync.names import validate_filename, validate_sha256
from homebrew_sync.urls import AllowList, resolve_redirect

if TYPE_CHECKING:
    from homebrew_sync.config import Settings

log = logging.getLogger(__name__)

MAX_BYTES = 200 * 1024 * 1024
MAX_REDIRECTS = 3


@dataclass
class ExternalHashes:
    hashes: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    format: str | None = None
    skipped_entries: int = 0
    error: str | None = None  # set when the source was configured but could not be used


def parse_hash_file(data: bytes) -> tuple[dict[str, str], str, int]:
    """(file -> sha256, detected format, invalid entries skipped); ValueError if nothing is usable."""
    text = data.decode("utf-8-sig")
    try:
        document: Any = json.loads(text)
    except ValueError:
        return _pairs(_sha256sum_lines(text), "sha256sum")
    if isinstance(document, list):
        pairs = [
            (item.get("file") or item.get("filename") or item.get("name"), item.get("sha256"))
            for item in document
            if isinstance(item, dict)
        ]
        return _pairs(pairs, "list", extra_invalid=sum(not isinstance(i, dict) for i in document))
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object or array")
    if isinstance(document.get("bottles"), dict):
        version = document.get("schema_version")
        if version not in (None, 2):
            raise ValueError(f"unknown schema_version {version!r}")
        pairs = [
            (file, entry.get("sha256") if isinstance(entry, dict) else entry)
            for file, entry in document["bottles"].items()
        ]
        return _pairs(pairs, "state-v2" if version == 2 else "state-v1")
    return _pairs(list(document.items()), "map")


def _sha256sum_lines(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        pairs.append((name.strip().lstrip("*").rsplit("/", 1)[-1], digest))
    return pairs


def _pairs(pairs: list[tuple[Any, Any]], kind: str, extra_invalid: int = 0) -> tuple[dict[str, str], str, int]:
    hashes: dict[str, str] = {}
    invalid = extra_invalid
    for file, digest in pairs:
        try:
            hashes[validate_filename(file)] = validate_sha256(
                str(digest).lower() if isinstance(digest, str) else digest
            )
        except UnsafeInputError:
            invalid += 1
    if not hashes:
        raise ValueError(f"no valid entries ({invalid} invalid)")
    return hashes, kind, invalid


def load_external_hashes(settings: Settings, *, s3_client: Any = None) -> ExternalHashes:
    """Read the configured source (S3 first, else HTTPS); never raises."""
    if settings.external_hash_file_s3_bucket and settings.external_hash_file_s3_key:
        source = f"s3://{settings.external_hash_file_s3_bucket}/{settings.external_hash_file_s3_key}"
    elif settings.external_hash_file_url:
        source = settings.external_hash_file_url
    else:
        return ExternalHashes()
    try:
        data = _fetch(settings, source, s3_client)
        hashes, kind, invalid = parse_hash_file(data)
    except Exception as exc:  # an optimisation only: without it, the run simply downloads more
        message = f"external hash file {source} not used: {exc}"
        log.warning("external hash file not used", extra={"source": source, "error": str(exc)})
        return ExternalHashes(source=source, error=message)
    log.info("external hash file loaded", extra={"source": source, "format": kind, "entries": len(hashes)})
    return ExternalHashes(hashes, source, kind, invalid)


def _fetch(settings: Settings, source: str, s3_client: Any) -> bytes:
    if source.startswith("s3://"):
        if s3_client is None:
            from homebrew_sync.storage.s3 import s3_client as make_client

            s3_client = make_client(settings)
        response = s3_client.get_object(
            Bucket=settings.external_hash_file_s3_bucket, Key=settings.external_hash_file_s3_key
        )
        if int(response.get("ContentLength", 0)) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        return bytes(response["Body"].read())
    host = urlsplit(source).netloc
    allow = AllowList.build([source], [host] + settings.allow_hosts)
    url = source
    for _hop in range(MAX_REDIRECTS + 1):  # redirects are followed by hand, each hop allow-listed
        allow.check(url)
        response = requests.get(
            url, timeout=(settings.connect_timeout_s, settings.read_timeout_s), stream=True, allow_redirects=False
        )
        if not response.is_redirect:
            break
        url = resolve_redirect(url, response.headers["Location"])
        response.close()
    else:
        raise ValueError(f"more than {MAX_REDIRECTS} redirects")
    with response:
        response.raise_for_status()
        data = response.raw.read(MAX_BYTES + 1, decode_content=True)
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    return bytes(data)
