"""One error tree for the whole engine.

Each error carries an exit code (the CLI contract) and, where it concerns one bottle, the file name, so
a failure can be recorded against that bottle while the run goes on.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message


class ConfigError(SyncError):
    """Bad settings, flags or environment variables."""


class StateError(SyncError):
    """The state file is corrupt, foreign or of an unknown schema; it is left untouched."""


class LockHeldError(SyncError):
    """Another run holds the run lock."""

    exit_code = 3

    def __init__(self, message: str, *, owner: str = "", run_id: str = "", expires_at: str = "") -> None:
        super().__init__(message)
        self.owner = owner
        self.run_id = run_id
        self.expires_at = expires_at


class UpstreamError(SyncError):
    """The Homebrew API or registry could not be read (after retries)."""

    status: int | None = None  # the final HTTP status, when there was one (404: not served)


class SignatureError(UpstreamError):
    """formula.jws.json did not verify against the pinned key: nothing in it can be trusted."""


class SanityFloorError(SyncError):
    """The API lists far fewer bottles than the state holds; the run changes nothing."""


class StorageError(SyncError):
    """Reading or writing the mirror failed; `transient` when trying again may well succeed."""

    def __init__(self, message: str, *, file: str | None = None, transient: bool = False) -> None:
        super().__init__(message, file=file)
        self.transient = transient


class PreconditionFailed(StorageError):
    """A conditional write lost a race (HTTP 412/409 or the local equivalent)."""


class DispatchFailed(SyncError):
    """Starting a worker failed (throttling, capacity); the run stays recorded for a redelivery."""


class PointerError(SyncError):
    """A worker was pointed at a shard that does not exist or belongs to another run; nothing was done."""


class UnsafeInputError(SyncError):
    """A name, version, tag, sha256 or URL from upstream could escape the key layout or the allow-list."""


class BottleError(SyncError):
    """One bottle could not be mirrored; it is recorded as failed and the run goes on."""

    retryable = True


class IntegrityError(BottleError):
    """The bytes did not match the expected sha256 or size; they are never stored."""


class RedirectRefused(BottleError):
    """The registry redirected to a host that is not allowed."""

    retryable = False


class TransferAborted(BottleError):
    """The run is stopping (SIGTERM or time budget) and abandoned this transfer."""

    retryable = False


def retry_may_help(exc: BaseException) -> bool:
    """Whether handling the same event again may succeed: Lambda handlers raise only these (for AWS's
    retries) and report every other failure in one line."""
    if isinstance(exc, StorageError):
        return exc.transient
    return isinstance(exc, DispatchFailed) or (isinstance(exc, UpstreamError) and not isinstance(exc, SignatureError))
