"""Image indexes: which ones a plan stores, and the check brew 6 makes of one before it is stored."""

import json

import pytest
from homebrew_sync.errors import IntegrityError, UnsafeInputError
from homebrew_sync.keys import manifest_key
from homebrew_sync.models import ExpectedBottle, ManifestRecord, PlannedManifest, StateFile
from homebrew_sync.planner import bottle_set_fingerprint, parse_formulae
from homebrew_sync.registry import check_index

from tests.helpers import formula, record, sha
from tests.unit.test_planner import plan


def test_a_plan_stores_the_index_of_every_version_it_holds_bottles_of():
    raw = [
        formula("python@3.12", "3.12.7", ["arm64_sonoma", "monterey", "x86_64_linux"], revision=1, rebuild=2),
        formula("newonly", "3.0", ["arm64_tahoe"]),  # nothing selected: no index either
    ]
    p = plan(raw)
    [manifest] = p.manifests
    assert (manifest.key, manifest.pkg_version, manifest.rebuild) == ("python/3.12/manifests/3.12.7_1-2", "3.12.7_1", 2)
    assert [(b.tag, b.sha256) for b in manifest.bottles] == [
        ("arm64_sonoma", sha("python@3.12-3.12.7-arm64_sonoma")),
        ("monterey", sha("python@3.12-3.12.7-monterey")),
    ]
    formulae, _ = parse_formulae(json.dumps(raw))
    assert manifest.fingerprint == bottle_set_fingerprint(formulae[0].bottle.stable.files)


def test_a_recorded_index_is_stored_again_only_when_the_bottle_set_changes():
    raw = [formula("a", "1.0", ["arm64_sonoma", "x86_64_linux"])]
    first = plan(raw)
    [manifest] = first.manifests
    state = StateFile()
    state.bottles[first.bottles[0].file] = record(first.bottles[0].file, first.bottles[0].sha256)
    state.manifests[manifest.key] = ManifestRecord(
        sha256=sha("index"), size=1, fingerprint=manifest.fingerprint, stored_at="2025-07-21"
    )
    assert plan(raw, state).manifests == []  # nothing changed
    raw[0]["bottle"]["stable"]["files"]["x86_64_linux"]["sha256"] = sha("rebuilt for linux")  # a tag the mirror
    again = plan(raw, state)  # does not hold changed: the registry's index changed with it
    assert [m.key for m in again.manifests] == ["a/manifests/1.0"] and again.manifests[0].reason == "changed"
    assert again.bottles == []


@pytest.mark.parametrize("name", ["api", "runs", "locks"])
def test_a_formula_whose_index_would_land_in_the_mirrors_own_folders_is_rejected(name):
    p = plan([formula(name, "1.0", ["arm64_sonoma"])])
    assert p.bottles == [] and p.manifests == []
    assert p.rejected[0].formula == name and "collides" in p.rejected[0].reason
    with pytest.raises(UnsafeInputError):
        manifest_key(name, "1.0")


def index(*entries: tuple[str, str, str | None]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "annotations": {
                        "org.opencontainers.image.ref.name": ref,
                        "sh.brew.bottle.digest": digest,
                        **({"sh.brew.tab": tab} if tab is not None else {}),
                    }
                }
                for ref, digest, tab in entries
            ],
        }
    ).encode()


MANIFEST = PlannedManifest(
    key="curl/manifests/8.0-1",
    formula="curl",
    image="curl",
    image_tag="8.0-1",
    pkg_version="8.0",
    rebuild=1,
    fingerprint=sha("f"),
    bottles=[ExpectedBottle(tag="arm64_sonoma", sha256=sha("s"))],
)


def test_an_index_listing_the_bottle_as_brew_checks_it_passes():
    check_index(index(("8.0.arm64_sonoma.1", sha("s"), "{}"), ("8.0.sonoma.1", sha("t"), "{}")), MANIFEST)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (index(("8.0.arm64_sonoma.1", sha("other"), "{}")), "does not list"),  # another digest
        (index(("8.0.arm64_sonoma", sha("s"), "{}")), "does not list"),  # ref without the rebuild
        (index(("8.0.arm64_ventura.1", sha("s"), "{}")), "does not list"),  # another tag
        (index(("8.0.arm64_sonoma.1", sha("s"), None)), "does not list"),  # no tab: brew cannot use it
        (index(("8.0.arm64_sonoma.1", sha("s"), "not json")), "does not list"),
        (b'{"manifests": []}', "not an OCI image index"),
        (b"<html>", "not an OCI image index"),
    ],
)
def test_an_index_brew_would_refuse_is_refused(data, why):
    with pytest.raises(IntegrityError, match=why):
        check_index(data, MANIFEST)
