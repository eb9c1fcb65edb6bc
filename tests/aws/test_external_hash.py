"""External hash files: every accepted format, from S3 and HTTPS-style URLs, and bad sources ignored safely."""

import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from homebrew_sync.aws.external_hash import load_external_hashes, parse_hash_file
from homebrew_sync.config import load_settings

from tests.aws.conftest import ORCHESTRATOR, load_event, orchestrator_context
from tests.helpers import sha

A, B = "curl-8.0.0.arm64_sonoma.bottle.tar.gz", "python@3.12-3.12.7_1.monterey.bottle.1.tar.gz"


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        (
            {
                "schema_version": 2,
                "bottles": {
                    A: {
                        "sha256": sha("a"),
                        "size": 1,
                        "key": A,
                        "formula": "curl",
                        "tag": "arm64_sonoma",
                        "downloaded_at": "2025-01-01",
                    },
                    B: {"sha256": sha("b")},
                },
            },
            "state-v2",
        ),
        (
            {
                "last_updated": "2025-07-21",
                "bottles": {A: {"sha256": sha("a"), "download_date": "2025-07-21"}, B: {"sha256": sha("b")}},
            },
            "state-v1",
        ),
        ({A: sha("a"), B: sha("b")}, "map"),
        ([{"file": A, "sha256": sha("a")}, {"filename": B, "sha256": sha("b").upper()}], "list"),
    ],
)
def test_json_formats(document, kind):
    hashes, detected, invalid = parse_hash_file(json.dumps(document).encode())
    assert (hashes, detected, invalid) == ({A: sha("a"), B: sha("b")}, kind, 0)


def test_sha256sum_output_and_invalid_entries_skipped():
    text = f"# made by sha256sum\n{sha('a')}  {A}\n{sha('b')} *bottles/{B}\nnot-a-sha  x.tar.gz\n{sha('c')}  ../evil\n"
    assert parse_hash_file(text.encode()) == ({A: sha("a"), B: sha("b")}, "sha256sum", 2)


@pytest.mark.parametrize(
    "content", [b"", b"{}", b"[]", b'{"schema_version": 9, "bottles": {}}', b'{"../x.tar.gz": "abc"}', b"\x00\xff"]
)
def test_unusable_documents_are_refused(content):
    with pytest.raises((ValueError, UnicodeDecodeError)):
        parse_hash_file(content)


@pytest.fixture
def http_dir(tmp_path):
    handler = lambda *a, **kw: SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **kw)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_load_from_https_url_style_source(http_dir):
    folder, base = http_dir
    (folder / "hashes.json").write_text(json.dumps({A: sha("a")}))
    host = base.removeprefix("http://")
    loaded = load_external_hashes(load_settings(external_hash_file_url=f"{base}/hashes.json", allow_hosts=[host]))
    assert loaded.hashes == {A: sha("a")} and loaded.error is None and loaded.format == "map"
    missing = load_external_hashes(load_settings(external_hash_file_url=f"{base}/nope.json", allow_hosts=[host]))
    assert missing.hashes == {} and "404" in missing.error
    remote_http = load_external_hashes(load_settings(external_hash_file_url="http://example.com/h.json"))
    assert remote_http.hashes == {} and "https required" in remote_http.error


def test_load_from_s3(s3_client):
    s3_client.put_object(Bucket="mirror-bucket", Key="seed/hashes.json", Body=json.dumps({A: sha("a")}).encode())
    good = load_settings(external_hash_file_s3_bucket="mirror-bucket", external_hash_file_s3_key="seed/hashes.json")
    assert load_external_hashes(good).hashes == {A: sha("a")}
    s3_client.put_object(Bucket="mirror-bucket", Key="seed/bad.json", Body=b"{oops")
    bad = load_settings(external_hash_file_s3_bucket="mirror-bucket", external_hash_file_s3_key="seed/bad.json")
    assert load_external_hashes(bad).error
    gone = load_settings(external_hash_file_s3_bucket="mirror-bucket", external_hash_file_s3_key="seed/none.json")
    assert "NoSuchKey" in load_external_hashes(gone).error


def test_orchestrator_skips_bottles_the_external_file_lists(aws_world, dispatcher, monkeypatch):
    first = ORCHESTRATOR(dict(load_event("scheduled.json"), id="probe"), orchestrator_context())
    bottles = aws_world.json(f"runs/{first['run_id']}/plan.json")["bottles"]
    aws_world.s3.delete_object(Bucket=aws_world.bucket, Key="locks/sync.lock")
    known = {b["file"]: b["sha256"] for b in bottles[:3]}
    aws_world.s3.put_object(Bucket=aws_world.bucket, Key="seed/hashes.json", Body=json.dumps(known).encode())
    monkeypatch.setenv("HOMEBREW_SYNC_EXTERNAL_HASH_FILE_S3_BUCKET", aws_world.bucket)
    monkeypatch.setenv("HOMEBREW_SYNC_EXTERNAL_HASH_FILE_S3_KEY", "seed/hashes.json")
    second = ORCHESTRATOR(dict(load_event("scheduled.json"), id="with-hashes"), orchestrator_context())
    assert second["external_hashes"] == 3 and second["planned"] == first["planned"] - 3
    aws_world.s3.delete_object(Bucket=aws_world.bucket, Key="locks/sync.lock")
    monkeypatch.setenv("HOMEBREW_SYNC_EXTERNAL_HASH_FILE_S3_KEY", "seed/missing.json")
    third = ORCHESTRATOR(dict(load_event("scheduled.json"), id="bad-source"), orchestrator_context())
    assert third["planned"] == first["planned"] and "not used" in third["external_hash_error"]
    assert "Note: external hash file" in aws_world.webhook.texts()[-1]
