"""The mirror as an S3 bucket (and optional prefix).

Bottles up to the single-PUT threshold are buffered and sent as one PUT carrying `ChecksumSHA256` of the
expected digest (S3 refuses bytes that do not match); one request per bottle is what keeps the S3 path as
fast as a plain upload. Larger ones go up as a multipart upload whose parts carry their own checksums and
are sent a few at a time, completed only after the whole-object sha256 matched and aborted otherwise.
The sha256 is kept as object metadata. Memory per bottle stays under the threshold plus a few parts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from homebrew_sync.errors import ConfigError, IntegrityError
from homebrew_sync.keys import validate_key
from homebrew_sync.storage import BOTTLE_CONTENT_TYPE, DigestCheck, Document, ObjectInfo
from homebrew_sync.storage.errors import MISSING_CODES, client_error_code, s3_error, s3_errors

if TYPE_CHECKING:
    from homebrew_sync.config import Settings

SHA256_METADATA = "sha256"
S3_MAX_ATTEMPTS = 8  # botocore's own retries of one request (throttling, 5xx, timeouts)
PARTS_IN_FLIGHT = 4  # parts of one multipart upload sent at once (memory: this many parts more)
COPY_OBJECT_MAX = 5 * 1024**3  # one CopyObject request copies up to 5 GiB; beyond, a managed multipart copy


def s3_client(settings: Settings) -> Any:
    """boto3 S3 client with the configured retry mode and a pool as large as the transfer concurrency."""
    config = Config(
        retries={"mode": settings.s3_retry_mode, "max_attempts": S3_MAX_ATTEMPTS},
        max_pool_connections=settings.concurrency * 2 + 8,
        connect_timeout=settings.connect_timeout_s,
        read_timeout=max(settings.read_timeout_s, 60),
        # every upload already carries its ChecksumSHA256: botocore need not compute another checksum
        request_checksum_calculation="when_required",
    )
    try:
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url, config=config)
    except (BotoCoreError, ValueError) as exc:
        raise ConfigError(f"cannot set up the S3 client: {' '.join(str(exc).split())}") from None
    unsigned_body = client.meta.config.merge(Config(s3={"payload_signing_enabled": False}))
    client.meta.events.register("before-sign.s3", partial(sign_body_by_checksum, unsigned_body))
    return client


def sign_body_by_checksum(unsigned_body: Config, request: Any, **_kwargs: Any) -> None:
    """Hash each byte once: a request whose body carries its SHA-256 is signed without hashing it again.

    botocore signs an S3 payload whenever the request is plain http or carries no header it recognises as
    a checksum, and it does not recognise a caller's `ChecksumSHA256`: so every body was hashed a second
    time, on real S3 over https too. The signed `x-amz-checksum-sha256` header binds the body just as well
    (S3 refuses bytes that do not match it), so such a request is signed with UNSIGNED-PAYLOAD; requests
    without that header keep their signed payload.
    """
    if request.body and request.headers.get("x-amz-checksum-sha256"):
        request.context["client_config"] = unsigned_body


def _in_parts(chunks: Iterable[bytes], largest: int, part_size: int) -> Iterator[bytes]:
    """The chunks as given, except one too large for a single PUT, which comes in views of a part each: the
    multipart buffer then holds a part of it at a time instead of a whole copy (a 35 MB API file is handed
    over in one piece)."""
    for chunk in chunks:
        if len(chunk) <= largest:
            yield chunk
            continue
        view = memoryview(chunk)
        for start in range(0, len(chunk), part_size):
            yield view[start : start + part_size]


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


class S3Storage:
    keeps_versions = True  # the bucket is versioned (the s3 module enables it; README asks it of others)

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        part_size: int = 8 << 20,
        single_put_max: int | None = None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.part_size = part_size
        # objects of at most this many bytes go up in one PUT (default: the part size)
        self.single_put_max = part_size if single_put_max is None else single_put_max
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str, prefix: str) -> S3Storage:
        return cls(
            s3_client(settings),
            bucket,
            prefix,
            part_size=settings.multipart_part_mb << 20,
            single_put_max=settings.s3_single_put_mb << 20,
        )

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    # --- small documents -------------------------------------------------------------------------------

    def read(self, key: str) -> Document | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return Document(response["Body"].read(), response["ETag"])
        except ClientError as exc:
            if client_error_code(exc) in MISSING_CODES:
                return None
            raise s3_error(exc, "read", self._where(key)) from exc
        except BotoCoreError as exc:
            raise s3_error(exc, "read", self._where(key)) from exc

    def write(self, key: str, data: bytes, *, if_match: str | None = None, if_absent: bool = False) -> str:
        extra: dict[str, str] = {}
        if if_match is not None:
            extra["IfMatch"] = if_match
        if if_absent:
            extra["IfNoneMatch"] = "*"
        with s3_errors("write", self._where(key)):
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ContentType="application/json",
                ChecksumSHA256=_b64(hashlib.sha256(data).hexdigest()),
                **extra,
            )
        return str(response["ETag"])

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        extra = {"IfMatch": if_match} if if_match is not None else {}
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except ClientError as exc:
            if client_error_code(exc) not in MISSING_CODES:
                raise s3_error(exc, "delete", self._where(key)) from exc
        except BotoCoreError as exc:
            raise s3_error(exc, "delete", self._where(key)) from exc

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
        pieces: list[bytes] = []  # joined once at the end: each byte is copied once on its way to the PUT
        stream = _in_parts(chunks, self.single_put_max, self.part_size)
        for chunk in stream:
            check.update(chunk)
            pieces.append(chunk)
            if check.size > self.single_put_max:
                buffer = bytearray().join(pieces)
                pieces.clear()
                self._multipart(full_key, sha256, check, buffer, stream, content_type)
                return check.size
        check.verify()
        body = b"".join(pieces)
        pieces.clear()
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=full_key,
                Body=body,
                ChecksumSHA256=_b64(sha256),
                Metadata={SHA256_METADATA: sha256},
                ContentType=content_type,
            )
        except (ClientError, BotoCoreError) as exc:
            raise s3_error(exc, "store", f"s3://{self.bucket}/{full_key}", file=check.what) from exc
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
        with s3_errors("start an upload to", f"s3://{self.bucket}/{full_key}", file=check.what):
            upload = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=full_key,
                ChecksumAlgorithm="SHA256",
                Metadata={SHA256_METADATA: sha256},
                ContentType=content_type,
            )
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        in_flight: deque[Future[dict[str, Any]]] = deque()
        pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="s3-part")

        def send(data: bytes) -> None:
            while len(in_flight) >= PARTS_IN_FLIGHT:  # bounded: at most PARTS_IN_FLIGHT parts in memory
                parts.append(in_flight.popleft().result())
            number = len(parts) + len(in_flight) + 1
            in_flight.append(pool.submit(self._upload_part, full_key, upload_id, number, data))

        try:
            while True:
                while len(buffer) >= self.part_size:
                    with memoryview(buffer) as view:
                        send(bytes(view[: self.part_size]))
                    del buffer[: self.part_size]
                chunk = next(stream, None)
                if chunk is None:
                    break
                check.update(chunk)
                buffer += chunk
            check.verify()  # the whole object matched: only now may it become visible
            if buffer or not (parts or in_flight):
                send(bytes(buffer))
            while in_flight:
                parts.append(in_flight.popleft().result())
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException as exc:
            for future in in_flight:
                future.cancel()
            pool.shutdown(wait=True)  # no part may land after the abort
            # an upload that slips through is removed by the bucket's abort-incomplete-uploads rule
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload_id)
            if isinstance(exc, ClientError | BotoCoreError):
                raise s3_error(exc, "store", f"s3://{self.bucket}/{full_key}", file=check.what) from exc
            raise
        finally:
            pool.shutdown(wait=False)

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
        with s3_errors(f"copy {self._where(source_key)} to", self._where(key), file=key):
            if size <= COPY_OBJECT_MAX:  # one request, where the managed copy adds a HEAD and a thread pool
                self.client.copy_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    CopySource={"Bucket": self.bucket, "Key": self._key(source_key)},
                    MetadataDirective="COPY",
                )
                return
            self.client.copy(
                {"Bucket": self.bucket, "Key": self._key(source_key)},
                self.bucket,
                self._key(key),
                ExtraArgs={"MetadataDirective": "COPY"},
            )

    # --- listing ---------------------------------------------------------------------------------------

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if client_error_code(exc) in MISSING_CODES:
                return None
            raise s3_error(exc, "stat", self._where(key)) from exc
        except BotoCoreError as exc:
            raise s3_error(exc, "stat", self._where(key)) from exc
        return ObjectInfo(key, int(head["ContentLength"]), head.get("Metadata", {}).get(SHA256_METADATA))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        with s3_errors("list", f"s3://{self.bucket}/{self.prefix}{prefix}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"][len(self.prefix) :], int(item["Size"]))

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        with s3_errors("read", self._where(key)):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        with s3_errors("read", self._where(key)), contextlib.closing(body):
            yield from body.iter_chunks(1 << 20)
