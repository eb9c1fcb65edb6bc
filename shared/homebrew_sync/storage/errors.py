"""One storage error model: every backend failure becomes a StorageError, PreconditionFailed or IntegrityError.

The message is one line that names the object; `transient` says whether trying again may help (timeouts,
lost connections, throttling, 5xx), so checkpoints and heartbeats can retry those within a budget while a
missing bucket, refused access or absent credentials stop the run with a clear message.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    SSLError,
)

from homebrew_sync.errors import IntegrityError, PreconditionFailed, StorageError, SyncError

PRECONDITION_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_INTEGRITY_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch"})
_TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "500",
        "502",
        "503",
        "504",
    }
)
_TRANSIENT_OS_ERRORS = frozenset({errno.EAGAIN, errno.EINTR, errno.EBUSY, errno.ETIMEDOUT, errno.EIO})


def client_error_code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def s3_error(exc: ClientError | BotoCoreError, action: str, where: str, *, file: str | None = None) -> SyncError:
    """The typed error for one failed S3 call; `where` names the object (s3://bucket/key)."""
    if isinstance(exc, ClientError):
        code = client_error_code(exc)
        if code in PRECONDITION_CODES:
            return PreconditionFailed(f"{where}: {code}", file=file)
        if code in _INTEGRITY_CODES:
            return IntegrityError(f"S3 refused the bytes: {code}", file=file)
        reason = {
            "NoSuchBucket": "the bucket does not exist",
            "AccessDenied": "access denied",
            "InvalidBucketName": "invalid bucket name",
        }.get(code, code)
        return StorageError(f"cannot {action} {where}: {reason}", file=file, transient=code in _TRANSIENT_CODES)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        reason = "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    elif isinstance(exc, NoRegionError):
        reason = "no AWS region configured (set AWS_REGION)"
    elif isinstance(exc, ParamValidationError):
        reason = " ".join(str(exc).split())  # e.g. an invalid bucket name
    elif isinstance(exc, EndpointConnectionError):
        reason = f"cannot reach {exc.kwargs.get('endpoint_url', 'the S3 endpoint')}"
    else:
        reason = " ".join(str(exc).split()) or type(exc).__name__
    transient = isinstance(exc, ConnectionError | HTTPClientError | IncompleteReadError) and not isinstance(
        exc, SSLError
    )
    return StorageError(f"cannot {action} {where}: {reason}", file=file, transient=transient)


@contextlib.contextmanager
def s3_errors(action: str, where: str, *, file: str | None = None) -> Iterator[None]:
    """Map any botocore failure inside the block (`with s3_errors("read", "s3://b/k"): ...`)."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise s3_error(exc, action, where, file=file) from exc


def os_error(exc: OSError, action: str, where: str, *, file: str | None = None) -> StorageError:
    """The StorageError for one failed file-system call; `where` names the file or folder."""
    if exc.errno == errno.ENOSPC:
        reason = "no space left on device"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST) and action.startswith("create"):
        reason = "a file is in the way (the destination must be a folder)"
    else:
        reason = exc.strerror or str(exc)
    return StorageError(f"cannot {action} {where}: {reason}", file=file, transient=exc.errno in _TRANSIENT_OS_ERRORS)


@contextlib.contextmanager
def os_errors(action: str, where: str, *, file: str | None = None) -> Iterator[None]:
    """Map any OSError inside the block to a StorageError."""
    try:
        yield
    except OSError as exc:
        raise os_error(exc, action, where, file=file) from exc
