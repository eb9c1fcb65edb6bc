"""Fixtures: storages (local folder and moto S3), AWS credentials that can never reach AWS."""

from __future__ import annotations

import os

import boto3
import pytest
from homebrew_sync.storage.local import LocalStorage
from homebrew_sync.storage.s3 import S3Storage
from moto import mock_aws
from moto.server import ThreadedMotoServer

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
for _name in [k for k in os.environ if k.startswith("HOMEBREW_SYNC_")]:
    del os.environ[_name]

BUCKET = "mirror-bucket"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """The API cache lives under the test's temp dir, never in the user's home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def aws():
    with mock_aws():
        yield


@pytest.fixture
def s3_client(aws):
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    """The same contract runs against both backends."""
    if request.param == "local":
        return LocalStorage(tmp_path / "mirror")
    client = request.getfixturevalue("s3_client")
    return S3Storage(client, BUCKET, "prefix", part_size=5 << 20)


@pytest.fixture
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _quick_storage_retries(monkeypatch):
    """Transient storage errors are retried with backoff; tests need not wait for it."""
    from homebrew_sync.storage import documents

    monkeypatch.setattr(documents, "RETRY", documents.StorageRetry(attempts=4, base_s=0.001, max_s=0.005))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`--dist loadgroup`) the real-Terraform tests stay on one worker: they share one
    initialised root, its plans and one apply, which each worker would otherwise repeat."""
    for item in items:
        if item.nodeid.startswith("tests/terraform/"):
            item.add_marker(pytest.mark.xdist_group("terraform"))


def pytest_terminal_summary(terminalreporter):
    """A green run without terraform is never mistaken for a full one (here, not in tests/terraform/, so
    that the pytest-xdist controller, which collects nothing, prints it too)."""
    from tests.terraform import tf

    absent = tf.missing()
    if absent:
        terminalreporter.write_line(f"REAL TERRAFORM TESTS SKIPPED - missing: {absent}", yellow=True, bold=True)
