"""One storage error model: every backend failure is a typed, one-line error that names the object."""

import hashlib

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError
from homebrew_sync.errors import PreconditionFailed, StorageError
from homebrew_sync.storage.local import LocalStorage
from homebrew_sync.storage.s3 import S3Storage

from tests.conftest import BUCKET

BIG = b"b" * ((5 << 20) + 10)  # above the 5 MiB part size: a multipart upload


def raising(exc):
    def call(*_args, **_kwargs):
        raise exc

    return call


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.fixture
def s3(s3_client):
    return S3Storage(s3_client, BUCKET, "prefix", part_size=5 << 20)


CALLS = {
    "read": ("get_object", lambda st: st.read("a/doc.json")),
    "write": ("put_object", lambda st: st.write("a/doc.json", b"{}", if_absent=True)),
    "delete": ("delete_object", lambda st: st.delete("a/doc.json")),
    "stat": ("head_object", lambda st: st.stat("a/doc.json")),
    "iter_bytes": ("get_object", lambda st: list(st.iter_bytes("a/doc.json"))),
    "multipart": (
        "create_multipart_upload",
        lambda st: st.put_verified("a/doc.json", [BIG], sha256=hashlib.sha256(BIG).hexdigest(), size=len(BIG)),
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    ("exc", "transient", "says"),
    [
        (ReadTimeoutError(endpoint_url="https://s3.example/x"), True, "Read timeout"),
        (EndpointConnectionError(endpoint_url="https://s3.example/x"), True, "cannot reach https://s3.example/x"),
        (NoCredentialsError(), False, "no AWS credentials found"),
        (client_error("SlowDown", 503), True, "SlowDown"),
        (client_error("AccessDenied", 403), False, "access denied"),
    ],
    ids=["read-timeout", "unreachable", "no-credentials", "throttled", "denied"],
)
def test_every_s3_call_maps_botocore_failures(s3, monkeypatch, call, exc, transient, says):
    method, action = CALLS[call]
    monkeypatch.setattr(s3.client, method, raising(exc))
    with pytest.raises(StorageError) as raised:
        action(s3)
    assert raised.value.transient is transient
    message = str(raised.value)
    assert says in message and f"s3://{BUCKET}/prefix/a/doc.json" in message and "\n" not in message


def test_a_body_that_times_out_midway_is_a_transient_storage_error(s3, monkeypatch):
    s3.write("a/doc.json", b"{}")

    class Body:
        def iter_chunks(self, _size):
            yield b"{"
            raise ReadTimeoutError(endpoint_url="https://s3.example/x")

        def close(self):
            pass

    monkeypatch.setattr(s3.client, "get_object", lambda **_kw: {"Body": Body(), "ETag": '"e"'})
    with pytest.raises(StorageError) as raised:
        list(s3.iter_bytes("a/doc.json"))
    assert raised.value.transient


def test_listing_maps_errors(s3, monkeypatch):
    class Paginator:
        def paginate(self, **_kw):
            raise EndpointConnectionError(endpoint_url="https://s3.example/")

    monkeypatch.setattr(s3.client, "get_paginator", lambda _name: Paginator())
    with pytest.raises(StorageError, match="cannot list s3://mirror-bucket/prefix/runs/"):
        list(s3.list("runs/"))


def test_a_lost_precondition_stays_typed(s3):
    s3.write("a/doc.json", b"1", if_absent=True)
    with pytest.raises(PreconditionFailed):
        s3.write("a/doc.json", b"2", if_absent=True)


def test_a_missing_bucket_says_so(s3_client):
    gone = S3Storage(s3_client, "no-such-bucket")
    with pytest.raises(StorageError, match="cannot write s3://no-such-bucket/x.json: the bucket does not exist"):
        gone.write("x.json", b"{}")


def test_local_folder_under_a_file_is_a_storage_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    storage = LocalStorage(tmp_path / "file" / "mirror")
    with pytest.raises(StorageError, match="a file is in the way"):
        storage.write("locks/sync.lock", b"{}", if_absent=True)
    with pytest.raises(StorageError, match="cannot read"):
        storage.read("locks/sync.lock")
    with pytest.raises(StorageError, match="cannot stat"):
        storage.stat("a.tar.gz")
