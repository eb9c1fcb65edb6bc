"""The engine end to end against the fake upstream, into a local folder."""

import hashlib
import json

import pytest

from tests.integration.conftest import bottle_listing, expected_files, listing, sha_of, state_of


def test_first_sync_mirrors_exactly_what_brew_would_pour_and_second_downloads_nothing(sync, upstream, tmp_path):
    root = tmp_path / "mirror"
    first = sync()
    assert first.code == 0, first.err
    expected = sorted(f"2025-07-21/{f}" for f in expected_files(upstream))
    assert bottle_listing(root) == expected
    state = state_of(root)
    assert state["schema_version"] == 3
    assert sorted(r["key"] for r in state["bottles"].values()) == expected
    for file, record in state["bottles"].items():
        data = (root / record["key"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"] == sha_of(upstream, file)
        assert len(data) == record["size"]
    summary = first.json
    assert summary["downloaded"] + summary["copied"] == len(expected)
    assert summary["failed"] == 0 and summary["failures"] == []
    assert {b["status"] for b in summary["bottles"]} <= {"downloaded", "copied"}
    blobs_before = sum(1 for r in upstream.requests if r.host == "blob" and r.status == 200)
    # blobs shared across tags were fetched once
    assert blobs_before == len({r["sha256"] for r in state["bottles"].values()})

    second = sync()
    assert second.code == 0
    assert (second.json["planned"], second.json["downloaded"], second.json["skipped"]) == (0, 0, len(expected))
    assert sum(1 for r in upstream.requests if r.host == "blob" and r.status == 200) == blobs_before


def test_flat_layout_is_brew_ready(sync, upstream, tmp_path):
    assert sync("--layout", "flat").code == 0
    assert bottle_listing(tmp_path / "mirror") == sorted(expected_files(upstream))


def test_dry_run_and_plan_change_nothing(sync, upstream, tmp_path):
    result = sync("--dry-run")
    assert result.code == 0
    assert result.json["planned"] == len(expected_files(upstream)) and result.json["downloaded"] == 0
    assert {b["status"] for b in result.json["bottles"]} == {"planned"}
    plan = sync(command="plan")
    assert plan.code == 0 and "2025-07-21/" in plan.out
    mirror = tmp_path / "mirror"  # nothing at all: no bottle, no lock, no journal, no staged API, no run document
    assert not mirror.exists() or [p.relative_to(mirror) for p in mirror.rglob("*") if p.is_file()] == []
    assert not any(r.host == "blob" for r in upstream.requests)


def test_sizes_are_estimated_from_annotations_manifests_or_marked_unknown(sync, upstream):
    plan = sync("--dry-run").json
    sizes = {b["file"]: b["size"] for b in plan["bottles"]}
    known = {f: s for f, s in sizes.items() if s is not None}
    assert known, "some sizes come from the index annotations"
    for file, size in known.items():
        assert size == upstream.catalogue.blob(sha_of(upstream, file)).size
    assert len(known) < len(sizes), "some formulae have no index: size unknown"
    blobs = {b["sha256"]: b["size"] for b in plan["bottles"] if b["size"] is not None}
    assert plan["estimated_bytes"] == sum(blobs.values())


def test_a_plan_reads_no_image_index_for_sizes_the_state_already_knows(sync, upstream):
    assert sync().code == 0
    upstream.reset_log()
    # every file again under a new date folder: each is a copy of an object whose size the state records
    again = sync("--dry-run", "--force", "--date", "2025-07-22")
    assert again.code == 0 and again.json["planned"] == len(expected_files(upstream))
    assert all(b["size"] is not None for b in again.json["bottles"])
    assert [r.path for r in upstream.requests if "/manifests/" in r.path] == []


def test_platform_and_formula_filters(sync, upstream, tmp_path):
    name = next(n for n in upstream.catalogue.names() if "@" in n)
    result = sync("--platform", "latest:1", "--formula", name)
    assert result.code == 0
    files = {b["file"] for b in result.json["bottles"]}
    assert files and all(f.startswith(f"{name}-") for f in files)


def test_rebuilt_bottle_is_downloaded_again(sync, upstream, tmp_path):
    assert sync().code == 0
    state = state_of(tmp_path / "mirror")
    file = next(f for f, r in state["bottles"].items() if r["tag"] == "arm64_sonoma")
    record = state["bottles"][file]
    new = upstream.catalogue.rebuild_bottle(record["formula"], "arm64_sonoma")
    assert new.sha256 != record["sha256"]
    result = sync("--date", "2025-07-28")
    assert result.code == 0
    assert [(b["file"], b["status"]) for b in result.json["bottles"]] == [(file, "downloaded")]
    after = state_of(tmp_path / "mirror")["bottles"][file]
    assert after["sha256"] == new.sha256 and after["key"] == f"2025-07-28/{file}"
    # the old object is still there: nothing the previous state referenced was deleted
    assert (tmp_path / "mirror" / record["key"]).exists()


def test_state_file_is_validated_and_fails_closed(sync, tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "bottles_hash.json").write_text('{"schema_version": 7, "bottles": {}}')
    result = sync()
    assert result.code == 2
    assert "unknown schema_version 7" in result.err
    assert json.loads(result.out.strip().splitlines()[-1])["exit_code"] == 2
    assert (root / "bottles_hash.json").read_text() == '{"schema_version": 7, "bottles": {}}'
    assert bottle_listing(root) == []


def test_second_run_while_locked_exits_3(sync, tmp_path):
    root = tmp_path / "mirror"
    (root / "locks").mkdir(parents=True)
    (root / "locks" / "sync.lock").write_text(
        json.dumps({"owner": "other", "run_id": "r0", "expires_at": "2999-01-01T00:00:00+00:00"})
    )
    result = sync()
    assert result.code == 3 and "another run holds the lock" in result.err
    assert bottle_listing(root) == []


def test_redirect_to_a_host_not_allowed_is_refused_and_nothing_stored(upstream, tmp_path):
    from tests.integration.conftest import run_cli

    root = tmp_path / "mirror"
    args = [
        "--api-url",
        upstream.api_url,
        "--registry-url",
        upstream.registry_url,
        "--signing-key",
        upstream.public_key_path,
        "--allow-host",
        upstream.main_host,
    ]
    result = run_cli("sync", "--dest", str(root), "--json", *args)
    assert result.code == 1
    assert result.json["downloaded"] == 0 and result.json["failed"] > 0
    assert all("not allowed" in f["error"] for f in result.json["failures"])
    assert bottle_listing(root) == []
    assert not any(r.host == "blob" for r in upstream.requests)


def test_no_authorization_header_reaches_the_blob_host(sync, upstream):
    assert sync().code == 0
    blob_requests = [r for r in upstream.requests if r.host == "blob"]
    assert blob_requests and all("Authorization" not in r.headers for r in blob_requests)
    registry = [r for r in upstream.requests if r.host == "main" and "/blobs/" in r.path]
    assert registry and all(r.headers.get("Authorization") == "Bearer QQ==" for r in registry)


def test_verify_repair_and_rebuild(sync, tmp_path):
    from tests.integration.conftest import run_cli

    root = tmp_path / "mirror"
    assert sync().code == 0
    assert run_cli("verify", "--dest", str(root)).code == 0
    victim = sorted(state_of(root)["bottles"].values(), key=lambda r: r["key"])[0]
    (root / victim["key"]).write_bytes(b"corrupted")
    bad = run_cli("verify", "--dest", str(root), "--json")
    assert bad.code == 1 and [p["key"] for p in bad.json["problems"]] == [victim["key"]]
    assert run_cli("verify", "--dest", str(root), "--repair").code == 0
    assert victim["key"] not in {r["key"] for r in state_of(root)["bottles"].values()}
    again = sync()
    assert [b["key"] for b in again.json["bottles"] if b["status"] == "downloaded"] == [victim["key"]]
    (root / "bottles_hash.json").write_text("garbage")
    rebuilt = run_cli("verify", "--dest", str(root), "--rebuild-state", "--json")
    assert rebuilt.code == 0 and rebuilt.json["recorded"] == len(bottle_listing(root))
    assert (root / "bottles_hash.corrupt.json").read_text() == "garbage"
    assert sync().json["downloaded"] == 0


@pytest.mark.parametrize("bad_url", ["http://example.com/api", "ftp://127.0.0.1/api"])
def test_bad_configuration_is_a_clear_exit_2(tmp_path, bad_url):
    from tests.integration.conftest import run_cli

    result = run_cli("sync", "--dest", str(tmp_path), "--api-url", bad_url)
    assert result.code == 2 and "error:" in result.err
    assert listing(tmp_path) == []
