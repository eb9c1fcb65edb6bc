"""A bottle that always fails never blocks the others and is quarantined; a truncated API changes nothing."""

import json

import pytest

from fakes.catalogue import generate_catalogue
from fakes.server import FakeUpstream
from tests.integration.conftest import bottle_listing, expected_files, run_cli, state_of
from tests.integration.test_faults import a_bottle


def test_a_poison_bottle_is_isolated_quarantined_after_3_runs_and_cleared_by_a_success(sync, upstream, tmp_path):
    root = tmp_path / "mirror"
    file, sha = a_bottle(upstream)
    upstream.faults.add(sha, "wrong_bytes", times=-1)
    for run in (1, 2, 3):
        result = sync()
        assert result.code == 1
        assert [f["file"] for f in result.json["failures"]] == [file]
        assert set(bottle_listing(root)) == {f"2025-07-21/{f}" for f in expected_files(upstream) if f != file}
        assert state_of(root)["failures"][file]["count"] == run
        assert result.json["quarantined"] == ([file] if run == 3 else [])
    assert "quarantined (failed 3+ runs in a row)" in result.out
    upstream.faults.clear()
    healed = sync()
    assert healed.code == 0 and healed.json["quarantined"] == [] and healed.json["downloaded"] == 1
    assert state_of(root)["failures"] == {}


@pytest.fixture
def bigger_upstream(fast_retries):
    with FakeUpstream(generate_catalogue(40, seed=8)) as up:
        yield up


def test_an_api_that_lost_most_formulae_changes_nothing(bigger_upstream, tmp_path):
    upstream = bigger_upstream
    root = tmp_path / "mirror"

    def sync(*extra):
        return run_cli("sync", "--dest", str(root), "--date", "2025-07-21", "--json", *upstream.cli_args(), *extra)

    assert sync().code == 0
    state_before = (root / "bottles_hash.json").read_bytes()
    files_before = bottle_listing(root)
    for name in upstream.catalogue.names()[5:]:
        upstream.catalogue.remove_formula(name)
    result = sync("--date", "2025-07-28")
    assert result.code == 2
    assert "nothing was changed" in result.err and "formulae the mirror holds" in result.err
    assert (root / "bottles_hash.json").read_bytes() == state_before
    assert bottle_listing(root) == files_before
    assert not (root / "locks" / "sync.lock").exists()
    lenient = sync("--date", "2025-07-28", "--max-missing-share", "1")
    assert lenient.code == 0 and json.loads(lenient.out.splitlines()[-1])["downloaded"] == 0
