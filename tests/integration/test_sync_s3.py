"""The engine end to end against the fake upstream, into S3 (moto): listing, state, checksums, multipart."""

import base64
import hashlib
import json

import boto3
import pytest

from tests.conftest import BUCKET
from tests.integration.conftest import expected_files, sha_of


@pytest.fixture
def put_headers(s3_client):
    """Every PutObject/UploadPart request the engine sends (moto does not check checksums; we do)."""
    seen = []

    def hook(request, **_kwargs):
        seen.append((request.url, dict(request.headers), request.body))

    boto3.setup_default_session()
    for operation in ("PutObject", "UploadPart", "CompleteMultipartUpload", "CreateMultipartUpload"):
        boto3.DEFAULT_SESSION.events.register(f"before-send.s3.{operation}", hook)
    yield seen
    boto3.DEFAULT_SESSION = None


def bucket_keys(client, prefix="mirror/"):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"][len(prefix) :] for page in pages for item in page.get("Contents", []))


def test_sync_into_s3(sync, upstream, s3_client, put_headers, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_MULTIPART_PART_MB", "5")
    monkeypatch.setenv("HOMEBREW_SYNC_S3_SINGLE_PUT_MB", "5")
    big = upstream.catalogue.add_formula("bigbottle", "2.0", tags=("arm64_sonoma",), size=12 * 1024 * 1024)
    result = sync(dest=f"s3://{BUCKET}/mirror")
    assert result.code == 0, result.err
    expected = sorted(f"2025-07-21/{f}" for f in expected_files(upstream))
    assert "2025-07-21/bigbottle-2.0.arm64_sonoma.bottle.tar.gz" in expected
    keys = bucket_keys(s3_client)
    assert [k for k in keys if k.endswith(".tar.gz")] == expected
    state = json.loads(s3_client.get_object(Bucket=BUCKET, Key="mirror/bottles_hash.json")["Body"].read())
    assert sorted(r["key"] for r in state["bottles"].values()) == expected
    for file, record in state["bottles"].items():
        obj = s3_client.get_object(Bucket=BUCKET, Key=f"mirror/{record['key']}")
        data = obj["Body"].read()
        assert hashlib.sha256(data).hexdigest() == record["sha256"] == sha_of(upstream, file)
        assert obj["Metadata"]["sha256"] == record["sha256"]

    # single PUTs carry the expected sha256; the big one went multipart with per-part checksums
    bottle_puts = [h for url, h, _ in put_headers if url.endswith(".tar.gz") and "uploadId" not in url]
    assert bottle_puts and all("x-amz-checksum-sha256" in h for h in bottle_puts)
    checked = 0
    for url, headers, body in put_headers:
        if url.endswith(".tar.gz") and "uploadId" not in url:
            if hasattr(body, "read"):
                position = body.tell()
                body.seek(0)
                data = body.read()
                body.seek(position)
            else:
                data = body
            sent = headers["x-amz-checksum-sha256"]
            sent = sent.decode() if isinstance(sent, bytes) else sent
            assert sent == base64.b64encode(hashlib.sha256(data).digest()).decode()
            checked += 1
    assert checked == len(bottle_puts)
    parts = [h for url, h, _ in put_headers if "partNumber=" in url]
    assert len(parts) == 3 and all("x-amz-checksum-sha256" in h for h in parts)
    assert (
        big["bottle"]["stable"]["files"]["arm64_sonoma"]["sha256"]
        == state["bottles"]["bigbottle-2.0.arm64_sonoma.bottle.tar.gz"]["sha256"]
    )

    again = sync(dest=f"s3://{BUCKET}/mirror")
    assert again.json["downloaded"] == 0 and again.json["planned"] == 0
    assert s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_wrong_bytes_never_become_an_s3_object(sync, upstream, s3_client, monkeypatch):
    monkeypatch.setenv("HOMEBREW_SYNC_MULTIPART_PART_MB", "5")
    monkeypatch.setenv("HOMEBREW_SYNC_S3_SINGLE_PUT_MB", "5")
    upstream.catalogue.add_formula("bigbad", "1.0", tags=("arm64_sonoma",), size=11 * 1024 * 1024)
    sha = upstream.catalogue.bottle("bigbad", "arm64_sonoma").sha256
    upstream.faults.add(sha, "wrong_bytes", times=-1)
    result = sync(dest=f"s3://{BUCKET}/mirror")
    assert result.code == 1
    assert [f["file"] for f in result.json["failures"]] == ["bigbad-1.0.arm64_sonoma.bottle.tar.gz"]
    assert not any("bigbad" in k for k in bucket_keys(s3_client))
    assert s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_verify_and_rebuild_state_from_s3_metadata(sync, upstream, s3_client):
    from tests.integration.conftest import run_cli

    dest = f"s3://{BUCKET}/mirror"
    assert sync(dest=dest).code == 0
    assert run_cli("verify", "--dest", dest).code == 0
    s3_client.put_object(Bucket=BUCKET, Key="mirror/bottles_hash.json", Body=b"{broken")
    assert sync(dest=dest).code == 2
    rebuilt = run_cli("verify", "--dest", dest, "--rebuild-state", "--json")
    assert rebuilt.code == 0 and rebuilt.json["recorded"] == len(expected_files(upstream))
    assert sync(dest=dest).json["downloaded"] == 0
