"""Every conditional write lands and then its response is lost: the run completes, reports, releases the lock."""

import json

import pytest

from shared.naming import LOCK_KEY
from shared.state import StateStore
from shared.storage.local import LocalStorage
from shared.storage.s3 import S3Storage
from tests.conftest import BUCKET
from tests.integration.conftest import expected_files, run_cli
from tests.resilience.crash import lose_responses
from tests.resilience.test_crash import sha_of_object


@pytest.mark.parametrize("mode", ["timeout", "retried"])
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_sync_completes_when_every_conditional_write_loses_its_response(
    upstream, tmp_path, monkeypatch, request, backend, mode
):
    if backend == "s3":
        storage = S3Storage(request.getfixturevalue("s3_client"), BUCKET, "lost")
        dest = f"s3://{BUCKET}/lost"
    else:
        storage, dest = LocalStorage(tmp_path / "mirror"), str(tmp_path / "mirror")
    monkeypatch.setenv("HOMEBREW_SYNC_CHECKPOINT_EVERY", "2")
    landed = lose_responses(monkeypatch.setattr, mode)
    result = run_cli("sync", "--dest", dest, "--date", "2025-07-21", "--json", *upstream.cli_args())
    assert result.code == 0, result.err
    assert "another run holds the lock" not in result.err
    assert {"write locks/sync.lock", "write bottles_hash.json", "delete locks/sync.lock"} <= set(landed)
    state = StateStore(storage).load()
    assert set(state.bottles) == expected_files(upstream)
    for record in state.bottles.values():
        assert sha_of_object(storage, record.key) == record.sha256
    assert storage.read(LOCK_KEY) is None
    summary = json.loads(storage.read(f"runs/{result.json['run_id']}/summary.json").data)
    assert summary["downloaded"] + summary["copied"] == len(expected_files(upstream))
    again = run_cli("sync", "--dest", dest, "--date", "2025-07-21", "--json", *upstream.cli_args())
    assert again.code == 0 and again.json["planned"] == 0
