"""The mirror as an S3 bucket (and optional prefix).

Small bottles are buffered and sent as one PUT carrying `ChecksumSHA256` (S3 refuses bytes that do not
match); larger ones go up as a multipart upload whose parts carry their own checksums, completed only
after the whole-object sha256 matched and aborted otherwise. The sha256 is kept as object metadata.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import IntegrityError, PreconditionFailed, StorageError
from shared.naming import validate_key
from shared.storage import BOTTLE_CONTENT_TYPE, DigestCheck, Document, ObjectInfo

if TYPE_CHECKING:
    from shared.config import Settings

SHA256_METADATA = "sha256"
_PRECONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


def s3_client(settings: Settings) -> Any:
    """boto3 S3 client with the configured retry mode and a pool as large as the transfer concurrency."""
    config = Config(
        retries={"mode": settings.s3_retry_mode, "max_attempts": 8},
        max_pool_connections=settings.concurrency * 2 + 8,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=max(settings.read_timeout_s, 60),
    )
    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


class S3Storage:
    keeps_versions = True  # the bucket is versioned (the s3 module enables it; README asks it of others)

    def __init__(self, client: Any, bucket: str, prefix: str = "", *, part_size: int = 8 << 20) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.part_size = part_size  # also the threshold: smaller objects go up in one PUT
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str, prefix: str) -> S3Storage:
        return cls(s3_client(settings), bucket, prefix, part_size=settings.multipart_part_mb << 20)

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    # --- small documents -------------------------------------------------------------------------------

    def read(self, key: str) -> Document | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return Document(response["Body"].read(), response["ETag"])
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES:
                return None
            raise StorageError(f"cannot read s3://{self.bucket}/{self._key(key)}: {_code(exc)}") from exc

    def write(self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False) -> str:
        extra: dict[str, str] = {}
        if if_match is not None:
            extra["IfMatch"] = if_match
        if if_absent:
            extra["IfNoneMatch"] = "*"
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ContentType="application/json",
                ChecksumSHA256=_b64(hashlib.sha256(data).hexdigest()),
                **extra,
            )
        except ClientError as exc:
            if _code(exc) in _PRECONDITION_CODES:
                raise PreconditionFailed(f"{key}: {_code(exc)}") from exc
            raise StorageError(f"cannot write s3://{self.bucket}/{self._key(key)}: {_code(exc)}") from exc
        return str(response["ETag"])

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        extra = {"IfMatch": if_match} if if_match is not None else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except ClientError as exc:
            if _code(exc) in _PRECONDITION_CODES:
                raise PreconditionFailed(f"{key}: {_code(exc)}") from exc
            if _code(exc) not in _MISSING_CODES:
                raise StorageError(f"cannot delete {key}: {_code(exc)}") from exc

    # --- bottles ---------------------------------------------------------------------------------------

    def put_verified(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        sha256: str,
        size: int | None,
        content_type: str = BOTTLE_CONTENT_TYPE,
    ) -> int:
        full_key = self._key(key)
        check = DigestCheck(sha256, size, key.rsplit("/", 1)[-1])
        buffer = bytearray()
        stream = iter(chunks)
        for chunk in stream:
            check.update(chunk)
            buffer += chunk
            if len(buffer) >= self.part_size:
                self._multipart(full_key, sha256, check, buffer, stream, content_type)
                return check.size
        check.verify()
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=full_key,
                Body=bytes(buffer),
                ChecksumSHA256=_b64(sha256),
                Metadata={SHA256_METADATA: sha256},
                ContentType=content_type,
            )
        except ClientError as exc:
            if _code(exc) in {"BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch"}:
                raise IntegrityError(f"S3 refused the bytes: {_code(exc)}", file=check.what) from exc
            raise StorageError(f"cannot store {full_key}: {_code(exc)}", file=check.what) from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot store {full_key}: {exc}", file=check.what) from exc
        return check.size

    def _multipart(
        self,
        full_key: str,
        sha256: str,
        check: DigestCheck,
        buffer: bytearray,
        stream: Iterator[bytes],
        content_type: str,
    ) -> None:
        upload = self.client.create_multipart_upload(
            Bucket=self.bucket,
            Key=full_key,
            ChecksumAlgorithm="SHA256",
            Metadata={SHA256_METADATA: sha256},
            ContentType=content_type,
        )
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            while True:
                while len(buffer) >= self.part_size:
                    with memoryview(buffer) as view:
                        part = bytes(view[: self.part_size])
                    del buffer[: self.part_size]
                    parts.append(self._upload_part(full_key, upload_id, len(parts) + 1, part))
                chunk = next(stream, None)
                if chunk is None:
                    break
                check.update(chunk)
                buffer += chunk
            check.verify()  # the whole object matched: only now may it become visible
            if buffer or not parts:
                parts.append(self._upload_part(full_key, upload_id, len(parts) + 1, bytes(buffer)))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException as exc:
            # an upload that slips through is removed by the bucket's abort-incomplete-uploads rule
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload_id)
            if isinstance(exc, ClientError | BotoCoreError):
                raise StorageError(f"cannot store {full_key}: {exc}", file=check.what) from exc
            raise

    def _upload_part(self, full_key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
        response = self.client.upload_part(
            Bucket=self.bucket,
            Key=full_key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumSHA256=checksum,
        )
        return {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

    def copy_verified(self, source_key: str, key: str, *, sha256: str, size: int) -> None:
        source = self.stat(source_key)
        if source is None or source.size != size or source.sha256 != sha256:
            raise IntegrityError(f"copy source {source_key} does not hold sha256 {sha256}", file=key)
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": self._key(source_key)},
                self.bucket,
                self._key(key),
                ExtraArgs={"MetadataDirective": "COPY"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot copy {source_key} to {key}: {exc}", file=key) from exc

    # --- listing ---------------------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES:
                return None
            raise StorageError(f"cannot stat {key}: {_code(exc)}") from exc
        return ObjectInfo(key, int(head["ContentLength"]), head.get("Metadata", {}).get(SHA256_METADATA))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"][len(self.prefix) :], int(item["Size"]))

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            raise StorageError(f"cannot read {key}: {_code(exc)}") from exc
        yield from body.iter_chunks(1 << 20)
