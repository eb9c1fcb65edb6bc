"""Planner: selection per platform, de-duplication, the diff against the state, sizes, the sanity floor."""

import json
from datetime import date

import pytest
from homebrew_sync.errors import SanityFloorError
from homebrew_sync.models import StateFile
from homebrew_sync.planner import PlanOptions, make_plan, parse_formulae

from tests.helpers import formula, record, sha

OPTIONS = PlanOptions(platforms=["arm64_sonoma", "arm64_ventura", "monterey"], day=date(2025, 7, 21))


def plan(raw, state=None, options=OPTIONS, **kwargs):
    formulae, rejected = parse_formulae(json.dumps(raw))
    return make_plan(formulae, state or StateFile(), options, run_id="r1", rejected=rejected, **kwargs)


def files(p):
    return [b.file for b in p.bottles]


def test_each_platform_gets_the_bottle_brew_would_pour_and_duplicates_collapse():
    raw = [
        formula("curl", "8.0.0", ["arm64_sonoma", "arm64_ventura", "monterey"]),
        formula("old", "1.0", ["arm64_monterey", "big_sur"]),  # lacks the newest tags: fallbacks
        formula("noarch", "2.0", ["all"]),  # one `all` bottle serves all three platforms
        formula("newonly", "3.0", ["arm64_tahoe"]),  # nothing at or below the targets
    ]
    p = plan(raw)
    assert files(p) == [
        "curl-8.0.0.arm64_sonoma.bottle.tar.gz",
        "curl-8.0.0.arm64_ventura.bottle.tar.gz",
        "curl-8.0.0.monterey.bottle.tar.gz",
        "noarch-2.0.all.bottle.tar.gz",
        "old-1.0.arm64_monterey.bottle.tar.gz",
        "old-1.0.big_sur.bottle.tar.gz",
    ]
    old_arm = next(b for b in p.bottles if b.file.startswith("old-1.0.arm64"))
    assert old_arm.platforms == ["arm64_sonoma", "arm64_ventura"]
    assert next(b for b in p.bottles if b.formula == "noarch").platforms == OPTIONS.platforms
    assert p.bottles[0].key == "2025-07-21/curl-8.0.0.arm64_sonoma.bottle.tar.gz"
    assert p.selected == 6


def test_disabled_formulae_are_skipped_and_revision_rebuild_named():
    raw = [
        formula("gone", "1.0", disabled=True),
        formula("python@3.12", "3.12.7", ["arm64_sonoma"], revision=1, rebuild=2),
    ]
    p = plan(raw)
    assert files(p) == ["python@3.12-3.12.7_1.arm64_sonoma.bottle.2.tar.gz"]
    bottle = p.bottles[0]
    assert (bottle.image, bottle.image_tag) == ("python/3.12", "3.12.7_1-2")


def test_state_with_same_sha_is_skipped_and_changed_sha_is_replanned():
    raw = [formula("a", tags=["arm64_sonoma"]), formula("b", tags=["arm64_sonoma"])]
    a_file, b_file = "a-1.0.arm64_sonoma.bottle.tar.gz", "b-1.0.arm64_sonoma.bottle.tar.gz"
    state = StateFile(
        bottles={
            a_file: record(a_file, sha("a-1.0-arm64_sonoma")),
            b_file: record(b_file, sha("an older build of b")),
        }
    )
    p = plan(raw, state, PlanOptions(platforms=["arm64_sonoma"], day=date(2025, 7, 28)))
    assert files(p) == [b_file]
    assert p.bottles[0].reason == "changed"
    assert p.bottles[0].key == f"2025-07-28/{b_file}"
    assert p.skipped == 1


def test_external_hashes_count_as_mirrored():
    raw = [formula("a", tags=["arm64_sonoma"])]
    known = {"a-1.0.arm64_sonoma.bottle.tar.gz": sha("a-1.0-arm64_sonoma")}
    assert files(plan(raw, known=known)) == []
    assert files(plan(raw, known={"a-1.0.arm64_sonoma.bottle.tar.gz": sha("other")})) != []


def test_force_replans_everything():
    raw = [formula("a", tags=["arm64_sonoma"])]
    file = "a-1.0.arm64_sonoma.bottle.tar.gz"
    state = StateFile(bottles={file: record(file, sha("a-1.0-arm64_sonoma"))})
    forced = PlanOptions(platforms=["arm64_sonoma"], force=True)
    assert files(plan(raw, state, forced)) == [file]


def test_same_blob_already_stored_under_another_name_is_copied_not_downloaded():
    shared_blob = sha("shared")
    raw = [formula("a", tags={"arm64_sonoma": shared_blob, "arm64_ventura": shared_blob})]
    sonoma = "a-1.0.arm64_sonoma.bottle.tar.gz"
    state = StateFile(bottles={sonoma: record(sonoma, shared_blob, size=1234)})
    p = plan(raw, state)
    assert files(p) == ["a-1.0.arm64_ventura.bottle.tar.gz"]
    assert p.bottles[0].copy_from == f"2025-01-01/{sonoma}"
    assert (p.bottles[0].size, p.bottles[0].size_source) == (1234, "state")
    assert p.estimated_bytes == 0  # a copy downloads nothing


def test_unsafe_entries_are_rejected_and_reported_not_planned():
    raw = [
        formula("ok", tags=["arm64_sonoma"]),
        formula("../escape", tags=["arm64_sonoma"]),
        formula("badsha", tags={"arm64_sonoma": "not-a-sha"}),
        formula("badver", "1/../2", tags=["arm64_sonoma"]),
        {"name": "broken"},  # not a formula entry at all
    ]
    p = plan(raw)
    assert files(p) == ["ok-1.0.arm64_sonoma.bottle.tar.gz"]
    assert sorted(r.formula for r in p.rejected) == ["../escape", "badsha", "badver", "broken"]


def test_formula_filter_and_latest():
    raw = [formula("a", tags=["arm64_tahoe", "arm64_sequoia", "sonoma"]), formula("b", tags=["arm64_tahoe"])]
    options = PlanOptions(platforms=["latest:1"], formulae=["a"])
    p = plan(raw, options=options)
    assert p.platforms == ["arm64_tahoe"]
    assert files(p) == ["a-1.0.arm64_tahoe.bottle.tar.gz"]


def test_sanity_floor_refuses_a_truncated_api():
    state = StateFile(
        bottles={
            f"f{i}-1.0.arm64_sonoma.bottle.tar.gz": record(
                f"f{i}-1.0.arm64_sonoma.bottle.tar.gz", sha(str(i)), formula_name=f"f{i}"
            )
            for i in range(20)
        }
    )
    few = [formula(f"f{i}", tags=["arm64_sonoma"]) for i in range(5)]
    with pytest.raises(SanityFloorError, match="5 of the 20"):
        plan(few, state)
    # a version bump everywhere is fine: formulae are still listed
    bumped = [formula(f"f{i}", "2.0", tags=["arm64_sonoma"]) for i in range(20)]
    assert len(plan(bumped, state).bottles) == 20
    # and the share is configurable
    lenient = PlanOptions(platforms=["arm64_sonoma"], max_missing_share=0.9)
    assert len(plan(few, state, lenient).bottles) == 5
