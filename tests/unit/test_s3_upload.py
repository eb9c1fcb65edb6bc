"""The S3 upload path: one PUT per bottle up to the threshold, carrying the expected digest; nothing
unverified ever becomes visible; multipart parts sent a few at a time, none after an abort; copies in one request."""

import base64
import hashlib
import threading
import time

import pytest
from botocore.exceptions import ClientError
from homebrew_sync.config import load_settings
from homebrew_sync.errors import IntegrityError, StorageError
from homebrew_sync.storage.s3 import PARTS_IN_FLIGHT, S3Storage, s3_client

from tests.conftest import BUCKET

MIB = 1 << 20


def chunks(data: bytes, size: int = MIB):
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


@pytest.fixture
def sent(aws):
    """(operation, headers) of every request the engine's own S3 client sends, as it leaves."""
    seen = []
    client = s3_client(load_settings())
    client.create_bucket(Bucket=BUCKET)

    def hook(request, **kwargs):
        seen.append((kwargs["event_name"].rsplit(".", 1)[-1], dict(request.headers)))

    client.meta.events.register("before-send.s3", hook)
    storage = S3Storage(client, BUCKET, "m", part_size=5 * MIB, single_put_max=6 * MIB)
    return storage, seen


def header(headers, name):
    value = headers[name]
    return value.decode() if isinstance(value, bytes) else value


def bucket_keys(client):
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_bottle_up_to_the_threshold_is_one_put_carrying_the_expected_sha256(sent):
    storage, seen = sent
    data = bytes(range(256)) * (6 * MIB // 256)  # exactly the threshold: still one PUT
    digest = hashlib.sha256(data)
    assert storage.put_verified("2025-01-01/a.tar.gz", chunks(data), sha256=digest.hexdigest(), size=len(data)) == len(
        data
    )
    assert [op for op, _ in seen] == ["PutObject"]
    headers = seen[0][1]
    assert header(headers, "x-amz-checksum-sha256") == base64.b64encode(digest.digest()).decode()
    # the signed checksum header binds the body: botocore did not hash it a second time to sign it
    assert header(headers, "X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD"
    stored = storage.client.get_object(Bucket=BUCKET, Key="m/2025-01-01/a.tar.gz")
    assert stored["Body"].read() == data and stored["Metadata"]["sha256"] == digest.hexdigest()


def test_wrong_bytes_below_the_threshold_are_never_sent(sent):
    storage, seen = sent
    data = b"x" * (2 * MIB)
    with pytest.raises(IntegrityError):
        storage.put_verified("2025-01-01/bad.tar.gz", chunks(data), sha256="0" * 64, size=len(data))
    assert seen == [] and bucket_keys(storage.client) == []


def test_wrong_bytes_above_the_threshold_leave_no_object_and_no_upload(sent):
    storage, seen = sent
    data = b"y" * (13 * MIB)
    with pytest.raises(IntegrityError):
        storage.put_verified("2025-01-01/bad.tar.gz", chunks(data), sha256="0" * 64, size=len(data))
    ops = [op for op, _ in seen]
    assert "CompleteMultipartUpload" not in ops and "AbortMultipartUpload" in ops
    assert bucket_keys(storage.client) == []
    assert storage.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_big_bottle_goes_up_in_parts_each_with_its_checksum(sent):
    storage, seen = sent
    data = b"".join(bytes([i]) * MIB for i in range(23))  # 23 MiB: five parts of 5 MiB, the last 3 MiB
    sha = hashlib.sha256(data).hexdigest()
    storage.put_verified("2025-01-01/big.tar.gz", chunks(data), sha256=sha, size=len(data))
    parts = [headers for op, headers in seen if op == "UploadPart"]
    assert len(parts) == 5 and all("x-amz-checksum-sha256" in h for h in parts)
    assert all(header(h, "X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD" for h in parts)
    assert [op for op, _ in seen][-1] == "CompleteMultipartUpload"
    # a body without its own checksum (the part list) keeps its signed payload hash
    assert len(header(seen[-1][1], "X-Amz-Content-SHA256")) == 64
    stored = storage.client.get_object(Bucket=BUCKET, Key="m/2025-01-01/big.tar.gz")
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == sha  # parts in their order
    assert stored["Metadata"]["sha256"] == sha


class SlowParts:
    """`upload_part` that takes `seconds` (so the next parts are handed over meanwhile), optionally refusing one
    part at once; counts the parts going up now and at most."""

    def __init__(self, storage, monkeypatch, seconds: float, refuse: int | None = None):
        self.real, self.seconds, self.refuse = storage.client.upload_part, seconds, refuse
        self.lock = threading.Lock()
        self.now = self.most = 0
        monkeypatch.setattr(storage.client, "upload_part", self)

    def __call__(self, **kwargs):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            if kwargs["PartNumber"] == self.refuse:
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UploadPart")
            time.sleep(self.seconds)
            return self.real(**kwargs)
        finally:
            with self.lock:
                self.now -= 1


def test_parts_go_up_a_few_at_a_time(sent, monkeypatch):
    storage, _ = sent
    parts = SlowParts(storage, monkeypatch, 0.2)
    data = b"p" * (48 * MIB)  # ten parts of 5 MiB
    storage.put_verified("2025-01-01/big.tar.gz", chunks(data), sha256=hashlib.sha256(data).hexdigest(), size=None)
    assert parts.most == PARTS_IN_FLIGHT  # side by side, but never more than that many parts in memory


def test_a_failed_part_aborts_the_upload_and_nothing_becomes_visible(sent, monkeypatch):
    storage, _ = sent
    SlowParts(storage, monkeypatch, 0, refuse=3)
    data = b"z" * (23 * MIB)
    with pytest.raises(StorageError):
        storage.put_verified("2025-01-01/big.tar.gz", chunks(data), sha256=hashlib.sha256(data).hexdigest(), size=None)
    assert bucket_keys(storage.client) == []
    assert storage.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_no_part_is_still_going_up_when_the_upload_is_aborted(sent, monkeypatch):
    storage, _ = sent
    parts = SlowParts(storage, monkeypatch, 0.3, refuse=2)  # the other parts still going up when part 2 fails
    real_abort = storage.client.abort_multipart_upload
    at_abort = []

    def abort(**kwargs):
        at_abort.append(parts.now)
        return real_abort(**kwargs)

    monkeypatch.setattr(storage.client, "abort_multipart_upload", abort)
    data = b"q" * (48 * MIB)
    with pytest.raises(StorageError):
        storage.put_verified("2025-01-01/big.tar.gz", chunks(data), sha256=hashlib.sha256(data).hexdigest(), size=None)
    assert at_abort == [0]  # the abort waited for the parts in flight: none can land after it
    assert storage.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_copy_is_one_copy_request_keeping_the_digest(sent):
    storage, seen = sent
    data = b"c" * MIB
    sha = hashlib.sha256(data).hexdigest()
    storage.put_verified("2025-01-01/a.tar.gz", chunks(data), sha256=sha, size=len(data))
    seen.clear()
    storage.copy_verified("2025-01-01/a.tar.gz", "2025-01-01/b.tar.gz", sha256=sha, size=len(data))
    assert [op for op, _ in seen] == ["HeadObject", "CopyObject"]  # the source checked, then one copy
    assert storage.stat("2025-01-01/b.tar.gz").sha256 == sha
