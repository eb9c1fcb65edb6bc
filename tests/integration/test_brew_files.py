"""What the mirror serves beside the bottles: the registry's image indexes and the signed API files."""

from __future__ import annotations

import json
from collections import Counter

import requests
from homebrew_sync.engine import finish_api
from homebrew_sync.models import RunSummary
from homebrew_sync.publish import StagedApi, StagedFile
from homebrew_sync.storage.local import LocalStorage

from tests.conftest import BUCKET
from tests.integration.conftest import state_of

API = "api/formula.jws.json"


def mtimes(root) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and ("/manifests/" in p.as_posix() or p.relative_to(root).as_posix().startswith("api/"))
    }


def test_each_index_is_read_once_per_run_and_stored_byte_for_byte(sync, upstream, tmp_path):
    result = sync("--layout", "flat")
    assert result.code == 0, result.err
    reads = upstream.index_requests()
    assert reads and max(reads.values()) == 1  # the size estimate's read is the one that gets stored
    root = tmp_path / "mirror"
    state = state_of(root)
    stored = {key: record for key, record in state["manifests"].items() if record["sha256"]}
    assert stored and result.json["manifests"] == len(stored)
    for key in stored:
        served = requests.get(
            f"{upstream.registry_url}/{key}",
            headers={"Authorization": "Bearer QQ==", "Accept": "application/vnd.oci.image.index.v1+json"},
            timeout=10,
        )
        assert (root / key).read_bytes() == served.content
    missing = [key for key, record in state["manifests"].items() if record["sha256"] is None]
    assert missing == ["youtube-dl/manifests/2021.12.17"] and result.json["manifests_missing"] == 1


def test_a_rerun_with_nothing_new_writes_no_index_and_no_api_file(sync, upstream, tmp_path):
    assert sync("--layout", "flat").code == 0
    root = tmp_path / "mirror"
    before = mtimes(root)
    assert any(k.startswith("api/") for k in before) and any("/manifests/" in k for k in before)
    upstream.reset_log()
    again = sync("--layout", "flat")
    assert again.code == 0 and again.json["manifests"] == 0 and again.json["api_published"] == []
    assert mtimes(root) == before
    assert not upstream.index_requests()  # the 404 one is remembered too: not asked again
    assert not (root / "runs").exists() or not list((root / "runs").rglob("api/*"))


def test_a_rerun_into_s3_writes_no_new_object_version(sync, upstream, s3_client):
    dest = f"s3://{BUCKET}/m"
    assert sync("--layout", "flat", dest=dest).code == 0

    def versions() -> Counter:
        pages = s3_client.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix="m/")
        keys = [v["Key"] for page in pages for v in page.get("Versions", [])]
        return Counter(k for k in keys if "/manifests/" in k or k.startswith("m/api/"))

    first = versions()
    assert first and max(first.values()) == 1
    assert sync("--layout", "flat", dest=dest).code == 0
    assert versions() == first


def test_an_index_is_stored_again_when_the_versions_bottle_set_changes(sync, upstream, tmp_path):
    assert sync("--layout", "flat").code == 0
    root = tmp_path / "mirror"
    key = "curl/manifests/8.16.0-2"
    old = (root / key).read_bytes()
    new_bottle = upstream.catalogue.rebuild_bottle("curl", "arm64_sonoma")  # same version, new blob
    again = sync("--layout", "flat")
    assert again.code == 0 and again.json["manifests"] == 1
    stored = (root / key).read_bytes()
    assert stored != old and new_bottle.sha256 in stored.decode()
    assert state_of(root)["manifests"][key]["sha256"] is not None


def test_an_index_that_does_not_list_the_bottle_is_not_stored_and_is_reported(sync, upstream, tmp_path):
    upstream.faults.add("curl", "manifest_wrong_digest", times=-1)
    result = sync("--layout", "flat")
    root = tmp_path / "mirror"
    assert result.code == 1
    assert result.json["manifests_failed"] == 1
    [failure] = [f for f in result.json["failures"] if "/manifests/" in f["file"]]
    assert failure["file"] == "curl/manifests/8.16.0-2" and "does not list" in failure["error"]
    assert not (root / "curl/manifests/8.16.0-2").exists()
    assert any(k.startswith("curl-8.16.0") for k in state_of(root)["bottles"])  # the bottles are fine
    upstream.faults.clear()
    fixed = sync("--layout", "flat")
    assert fixed.code == 0 and fixed.json["manifests"] == 1
    assert (root / "curl/manifests/8.16.0-2").exists()


def test_api_files_verified_published_and_withheld(sync, upstream, tmp_path):
    root = tmp_path / "mirror"
    assert sync("--layout", "flat").code == 0
    old_cask = (root / "api/cask.jws.json").read_bytes()
    upstream.catalogue.touch()  # upstream regenerates every file
    upstream.faults.bad_signature_files.add("cask.jws.json")
    upstream.faults.add("api:cask_tap_migrations.jws.json", "api_error", times=-1, status=404)
    result = sync("--layout", "flat")
    assert result.code == 1 and result.json["api_failed"] == 1
    failures = {f["file"]: f["error"] for f in result.json["failures"]}
    assert "no signature verifies" in failures["api/cask.jws.json"]
    assert (root / "api/cask.jws.json").read_bytes() == old_cask  # the previous one stays
    assert result.json["api_missing"] == ["api/cask_tap_migrations.jws.json"]  # a warning only
    assert "not served upstream" in result.out
    formula = requests.get(f"{upstream.api_url}/formula.jws.json", timeout=10).content
    assert (root / API).read_bytes() == formula  # the others are published


def test_no_api_mirrors_no_api_file(sync, tmp_path):
    result = sync("--layout", "flat", "--no-api")
    assert result.code == 0 and result.json["api_published"] == []
    assert not (tmp_path / "mirror" / "api").exists()
    assert not list((tmp_path / "mirror").rglob("*.jws.json"))


def test_a_run_that_stopped_early_publishes_no_api_file(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write("runs/r1/api/formula.jws.json", b"{}")
    staged = StagedFile(
        name="formula.jws.json",
        staged_key="runs/r1/api/formula.jws.json",
        key=API,
        sha256="44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        size=2,
    )

    class Engine:
        def publish_api(self, files):  # pragma: no cover - must not be reached
            raise AssertionError("published although the run stopped early")

    stopped = RunSummary(run_id="r1", not_started=3)
    finish_api(Engine(), stopped, StagedApi(staged=[staged]))
    assert stopped.api_withheld == [API] and stopped.api_published == []
    assert storage.stat(API) is None
    assert json.loads(storage.read("runs/r1/api/formula.jws.json").data) == {}


def test_verify_checks_stored_indexes_and_repair_stores_them_again(sync, tmp_path):
    from tests.integration.conftest import run_cli

    root = tmp_path / "mirror"
    assert sync("--layout", "flat").code == 0
    key = "curl/manifests/8.16.0-2"
    good = (root / key).read_bytes()
    (root / key).write_bytes(b"{}")
    bad = run_cli("verify", "--dest", str(root), "--json")
    assert bad.code == 1 and [p["key"] for p in bad.json["problems"]] == [key]
    assert run_cli("verify", "--dest", str(root), "--repair").code == 0
    assert key not in state_of(root)["manifests"]
    again = sync("--layout", "flat")
    assert again.code == 0 and again.json["manifests"] == 1 and (root / key).read_bytes() == good
