"""Publishing the API files brew reads, last, and only what verified.

Payload first, as Debian's mirrors do it: bottles, then image indexes, then the API. The API files are
fetched and verified when the run plans (so they describe what the run mirrors, not something newer), staged
under `runs/<run_id>/api/`, and copied to `api/` only after every bottle and index of the run was handled.
A file that is already published with the same bytes is neither staged nor written again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import BaseModel

from homebrew_sync.api import API_PREFIX, FORMULA_JWS, ApiClient, ApiFile, mirrored_files
from homebrew_sync.errors import IntegrityError, SignatureError, StorageError, UpstreamError
from homebrew_sync.keys import run_key
from homebrew_sync.models import Failure
from homebrew_sync.storage import Storage, check_stored

log = logging.getLogger(__name__)

API_CONTENT_TYPE = "application/json"


class StagedFile(BaseModel):
    """A verified API file waiting in the run's folder for the run to finish."""

    name: str
    staged_key: str
    key: str
    sha256: str
    size: int


class StagedApi(BaseModel):
    staged: list[StagedFile] = []
    missing: list[str] = []  # not served upstream (404): a warning, the mirror keeps what it has
    failures: list[Failure] = []  # did not verify (or could not be read): not published


def stage_api(
    storage: Storage, api: ApiClient, run_id: str, platforms: Iterable[str], formula_file: ApiFile
) -> StagedApi:
    """Fetch and verify every API file the mirror serves; stage those whose bytes are not published yet."""
    result = StagedApi()
    for name in mirrored_files(platforms):
        try:
            file = formula_file if name == formula_file.name else api.fetch_signed(name)
        except SignatureError as exc:
            log.error("api file did not verify; not published", extra={"file": name, "error": exc.message})
            result.failures.append(Failure(file=API_PREFIX + name, error=exc.message))
            continue
        except UpstreamError as exc:
            if exc.status == 404:
                log.warning("api file not served upstream; the mirror keeps its copy", extra={"file": name})
                result.missing.append(API_PREFIX + name)
            else:
                result.failures.append(Failure(file=API_PREFIX + name, error=exc.message))
            continue
        if not file.signed:  # only with --allow-unsigned: never served to clients as if it were signed
            continue
        key = API_PREFIX + name
        if _holds(storage, key, file):
            continue
        staged_key = run_key(run_id, key)
        storage.put_verified(
            staged_key, [file.body], sha256=file.sha256, size=len(file.body), content_type=API_CONTENT_TYPE
        )
        staged = StagedFile(name=name, staged_key=staged_key, key=key, sha256=file.sha256, size=len(file.body))
        result.staged.append(staged)
    return result


def publish_api(storage: Storage, staged: Iterable[StagedFile]) -> list[str]:
    """Copy staged files into `api/` (formula.jws.json last) and drop the staged copies."""
    published = []
    for file in sorted(staged, key=lambda f: f.name == FORMULA_JWS):
        storage.copy_verified(file.staged_key, file.key, sha256=file.sha256, size=file.size)
        published.append(file.key)
        log.info("api file published", extra={"key": file.key, "bytes": file.size})
    for file in staged:
        try:
            storage.delete(file.staged_key)
        except StorageError as exc:  # a leftover staged copy costs space, nothing else
            log.warning("staged api file not removed", extra={"key": file.staged_key, "error": str(exc)})
    return published


def _holds(storage: Storage, key: str, file: ApiFile) -> bool:
    try:
        check_stored(storage, key, sha256=file.sha256, size=len(file.body))
    except (IntegrityError, StorageError):
        return False
    return True
