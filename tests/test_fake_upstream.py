"""The fake upstream behaves like formulae.brew.sh + ghcr.io where the mirror depends on it.

Every other end-to-end test, the demo and the benchmarks trust this fake, so its HTTP contract
(auth, redirects, conditional requests, signatures, sizes, faults, prompt shutdown) is pinned here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from pathlib import Path

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from fakes import (
    TAGS,
    BlobSpec,
    FakeUpstream,
    Faults,
    bottle_filename,
    generate_catalogue,
    image_name,
    image_tag,
    iter_blob_bytes,
    pkg_version,
)
from fakes.records import RecordError, load_records

REPO = Path(__file__).resolve().parent.parent
BEARER = {"Authorization": "Bearer QQ=="}
NEWEST_TAGS = {"arm64_golden_gate", "arm64_tahoe", "arm64_sequoia"}
MIB = 1 << 20


@pytest.fixture(scope="module")
def catalogue():
    cat = generate_catalogue(30, seed=7)
    cat.add_formula("tiny-blob", tags=("all",), size=1024)
    cat.add_formula("multi-mib", tags=("all",), size=3 * MIB + 123)
    return cat


@pytest.fixture(scope="module")
def server(catalogue):
    with FakeUpstream(catalogue) as up:
        yield up


@pytest.fixture
def up(server):
    server.faults.clear()
    server.reset_log()
    yield server
    server.faults.clear()


@pytest.fixture
def registry():
    session = requests.Session()
    session.headers.update(BEARER)
    with session:
        yield session


def _files(formula: dict) -> dict:
    return (formula["bottle"] or {}).get("stable", {}).get("files", {})


def _blob_get(up, session, name, tag, **kwargs):
    sha = up.catalogue.bottle(name, tag).sha256
    return sha, session.get(up.blob_url(sha), timeout=10, **kwargs)


# --------------------------------------------------------------------------------------------
# Catalogue


def test_same_arguments_same_bytes_and_seed_changes_them():
    a = generate_catalogue(60, seed=3).formula_json_bytes()
    assert a == generate_catalogue(60, seed=3).formula_json_bytes()
    assert a != generate_catalogue(60, seed=4).formula_json_bytes()


def test_first_ten_formulae_cover_every_special_case():
    cat = generate_catalogue(10, seed=11)
    formulae = cat.formulae
    assert len(formulae) == 10
    names = [f["name"] for f in formulae]
    assert any("@" in n for n in names) and any("+" in n for n in names)
    assert any("." in n for n in names) and any("_" in n for n in names) and any("-" in n for n in names)
    assert any(f["revision"] > 0 for f in formulae)
    assert any(f["bottle"] and f["bottle"]["stable"]["rebuild"] > 0 for f in formulae)
    assert any(set(_files(f)) == {"all"} for f in formulae)
    assert any(f["disabled"] for f in formulae)
    assert any(f["deprecated"] for f in formulae)
    assert any(f["bottle"] == {} for f in formulae)
    bottled = [set(_files(f)) for f in formulae if _files(f)]
    lacking = [tags for tags in bottled if "all" not in tags and not NEWEST_TAGS & tags]
    assert {"arm64_ventura", "ventura", "monterey"} in lacking
    shared = [f for f in formulae if len({v["sha256"] for v in _files(f).values()}) < len(_files(f))]
    assert shared
    assert any({"x86_64_linux", "arm64_linux"} <= set(_files(f)) for f in formulae)
    classes = {cat.size_class(n) for n in names}
    assert {"annotated", "unannotated", "no_index", ""} <= classes


def test_formula_entries_have_the_api_shape_and_only_what_the_mirror_reads():
    cat = generate_catalogue(200, seed=5)
    keys = ["name", "full_name", "tap", "versions", "revision", "bottle", "deprecated", "disabled"]
    images = set()
    for f in cat.formulae:
        assert list(f) == keys
        assert f["tap"] == "homebrew/core" and f["full_name"] == f["name"]
        assert list(f["versions"]) == ["stable"] and isinstance(f["versions"]["stable"], str)
        assert isinstance(f["revision"], int)
        image = image_name(f["name"])
        images.add(image)
        if not f["bottle"]:
            continue
        stable = f["bottle"]["stable"]
        assert set(stable) == {"rebuild", "root_url", "files"}
        assert stable["root_url"] == "https://ghcr.io/v2/homebrew/core"
        for tag, entry in stable["files"].items():
            assert tag in TAGS and set(entry) == {"cellar", "url", "sha256"}
            assert entry["url"] == f"{stable['root_url']}/{image}/blobs/sha256:{entry['sha256']}"
            assert cat.blob(entry["sha256"]).size == cat.bottle(f["name"], tag).size
    assert len(images) == len(cat.formulae)
    assert image_name("python@3.12") == "python/3.12" and image_name("libsigc++") == "libsigcxx"


def test_catalogue_starts_with_the_records_then_renamed_copies_with_their_own_blobs():
    records = load_records()
    cat = generate_catalogue(len(records) + 40, seed=9)
    assert [f["name"] for f in cat.formulae[: len(records)]] == [r.name for r in records]
    for record, served in zip(records, cat.formulae, strict=False):
        assert served["versions"] == record.formula["versions"] and served["revision"] == record.formula["revision"]
        assert list(_files(served)) == list(record.files)
        labels = [f["sha256"] for f in record.files.values()]
        digests = [f["sha256"] for f in _files(served).values()]
        assert len(set(digests)) == len(set(labels)) and not set(digests) & set(labels)
        assert [labels.index(x) for x in labels] == [digests.index(x) for x in digests]  # shared stays shared
        assert cat.size_class(record.name) == record.size_class
    shapes = {tuple(r.files) for r in records}
    copies = cat.formulae[len(records) :]
    assert len(copies) == 40 and not {f["name"] for f in copies} & {r.name for r in records}
    assert all(tuple(_files(f)) in shapes for f in copies)
    assert generate_catalogue(len(records) + 40, seed=10).names() != cat.names()


def test_a_malformed_record_is_one_clear_error(tmp_path):
    (tmp_path / "formula.json").write_text(json.dumps([dict(load_records()[0].formula, revision="1")]))
    (tmp_path / "ghcr.json").write_text(json.dumps({"python@3.12": {"created": "2026-10-06T09:14:52Z"}}))
    with pytest.raises(RecordError, match=r"entry 0: python@3\.12: revision must be an int >= 0"):
        load_records(tmp_path)
    (tmp_path / "formula.json").write_text(json.dumps([load_records()[0].formula]))
    (tmp_path / "ghcr.json").write_text("{}")
    with pytest.raises(RecordError, match=r"python@3\.12: missing from ghcr\.json"):
        load_records(tmp_path)


def test_names_and_file_names_follow_brew():
    cat = generate_catalogue(10)
    python = cat.find("python@3.12")
    assert pkg_version(python) == "3.12.7_1" and image_tag(python) == "3.12.7_1-1"
    expected = "python@3.12-3.12.7_1.arm64_tahoe.bottle.1.tar.gz"
    assert bottle_filename("python@3.12", "3.12.7_1", "arm64_tahoe", 1) == expected
    assert bottle_filename("curl", "8.0.0", "arm64_sonoma") == "curl-8.0.0.arm64_sonoma.bottle.tar.gz"
    assert image_tag(cat.find("curl")) == "8.16.0-2"


def test_blob_bytes_are_deterministic_chunkable_and_hash_to_the_api_digest():
    spec = BlobSpec(2 * MIB + 12345, seed=99)
    whole = b"".join(iter_blob_bytes(spec))
    assert len(whole) == spec.size
    assert b"".join(iter_blob_bytes(spec, chunk=7777)) == whole
    middle = b"".join(iter_blob_bytes(spec, chunk=4096, start=MIB - 10, stop=MIB + 20))
    assert middle == whole[MIB - 10 : MIB + 20]
    assert max(len(p) for p in iter_blob_bytes(spec)) <= MIB
    assert b"".join(iter_blob_bytes(BlobSpec(spec.size, 100))) != whole
    cat = generate_catalogue(12, seed=2)
    cat.add_formula("three-mib", tags=("arm64_sequoia",), size=3 * MIB + 1)
    sample = list(cat.iter_bottles())[:20] + [("three-mib", cat.bottle("three-mib", "arm64_sequoia"))]
    for name, bottle in sample:
        digest = hashlib.sha256(b"".join(iter_blob_bytes(cat.blob(bottle.sha256)))).hexdigest()
        assert digest == bottle.sha256, name


def test_big_bottles_add_one_all_bottle_each():
    cat = generate_catalogue(10, big_bottles={"huge-formula": 5 * MIB})
    assert cat.formulae[-1]["name"] == "huge-formula"
    (bottle,) = cat.bottles("huge-formula").values()
    assert bottle.tag == "all" and bottle.size == 5 * MIB
    assert hashlib.sha256(b"".join(iter_blob_bytes(bottle.spec))).hexdigest() == bottle.sha256


def test_mutations_change_what_is_served():
    cat = generate_catalogue(10, seed=1)
    with FakeUpstream(cat) as up, requests.Session() as s:
        s.headers.update(BEARER)
        first = s.get(f"{up.api_url}/formula.json")
        etag = first.headers["ETag"]

        old = cat.bottle("curl", "arm64_sonoma")
        new = cat.rebuild_bottle("curl", "arm64_sonoma")
        assert new.sha256 != old.sha256 and image_tag(cat.find("curl")) == "8.16.0-2"
        second = s.get(f"{up.api_url}/formula.json", headers={"If-None-Match": etag})
        assert second.status_code == 200 and second.headers["ETag"] != etag
        served = {f["name"]: f for f in second.json()}
        assert served["curl"]["bottle"]["stable"]["files"]["arm64_sonoma"]["sha256"] == new.sha256
        index = s.get(up.manifest_url("curl", "8.16.0-2")).json()
        digests = {m["annotations"]["sh.brew.bottle.digest"] for m in index["manifests"]}
        assert new.sha256 in digests and old.sha256 not in digests
        assert s.get(up.blob_url(old.sha256)).status_code == 200  # blobs never disappear

        cat.bump_version("openssl@3")
        openssl = cat.find("openssl@3")
        assert openssl["versions"]["stable"] == "3.6.1" and openssl["revision"] == 0
        assert s.get(up.manifest_url("openssl@3", "3.6.1")).status_code == 200
        assert s.get(up.manifest_url("openssl@3", "3.6.0")).status_code == 200  # old index stays

        cat.add_formula("brand-new", "2.0", tags=("arm64_tahoe", "sonoma"))
        cat.remove_formula("go.rice")
        cat.set_disabled("curl", True)
        served = {f["name"]: f for f in s.get(f"{up.api_url}/formula.json").json()}
        assert "brand-new" in served and "go.rice" not in served and served["curl"]["disabled"] is True
        assert set(served["brand-new"]["bottle"]["stable"]["files"]) == {"arm64_tahoe", "sonoma"}
        rebuilt = cat.bump_rebuild("brand-new")
        assert image_tag(rebuilt) == "2.0-1"


@pytest.mark.slow
def test_full_size_catalogue_has_homebrew_cores_proportions():
    started = time.perf_counter()
    cat = generate_catalogue(8300)
    generated = time.perf_counter() - started
    size = len(cat.formula_json_bytes())
    # Every field of a real entry, as served: the real file is ~30-35 MB (homebrew.md section 1).
    assert 27_000_000 <= size <= 36_000_000, size
    assert generated < 30, generated  # typically ~4 s; a loose bound so slow CI machines pass
    tags = {t for f in cat.formulae for t in _files(f)}
    assert tags == set(TAGS)
    formulae = cat.formulae
    disabled = sum(f["disabled"] for f in formulae) / len(formulae)
    assert 0.01 <= disabled <= 0.04
    bottled = [f["name"] for f in formulae if f["bottle"]]
    classes = [cat.size_class(n) for n in bottled]
    share = {c: classes.count(c) / len(classes) for c in ("unannotated", "no_index")}
    assert 0.07 <= share["unannotated"] <= 0.13 and 0.03 <= share["no_index"] <= 0.07
    assert any("+" in f["name"] for f in formulae[10:]) and any("@" in f["name"] for f in formulae[10:])


# --------------------------------------------------------------------------------------------
# API: formula.json and formula.jws.json


def test_formula_json_gzip_etag_and_304(up):
    url = f"{up.api_url}/formula.json"
    plain = requests.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.content == up.catalogue.formula_json_bytes()
    zipped = requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) < len(plain.content)
    assert zipped.content == plain.content  # requests decodes it
    etag, last_modified = plain.headers["ETag"], plain.headers["Last-Modified"]
    assert zipped.headers["ETag"] == etag
    assert requests.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert requests.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert requests.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = formatdate(up.catalogue.last_modified - 3600, usegmt=True)
    assert requests.get(url, headers={"If-Modified-Since": earlier}).status_code == 200


def _verify_jws(document: dict, public_pem: bytes) -> None:
    signature = document["signatures"][0]
    signed = f"{signature['protected']}.{document['payload']}".encode()
    raw = base64.urlsafe_b64decode(signature["signature"] + "=" * (-len(signature["signature"]) % 4))
    key = serialization.load_pem_public_key(public_pem)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    key.verify(raw, signed, pss, hashes.SHA512())


def test_jws_verifies_with_the_public_key_and_fails_when_tampered(up):
    url = f"{up.api_url}/formula.jws.json"
    response = requests.get(url)
    assert response.status_code == 200 and response.headers["ETag"]
    document = response.json()
    signature = document["signatures"][0]
    assert signature["header"] == {"kid": "homebrew-1"}
    protected = json.loads(base64.urlsafe_b64decode(signature["protected"] + "==="))
    assert protected == {"alg": "PS512", "b64": False, "crit": ["b64"]}
    assert document["payload"].encode() == up.catalogue.formula_json_bytes()
    _verify_jws(document, up.public_key_pem)
    _verify_jws(document, Path(up.public_key_path).read_bytes())
    assert requests.get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304

    up.faults.bad_signature = True
    with pytest.raises(InvalidSignature):
        _verify_jws(requests.get(url).json(), up.public_key_pem)
    up.faults.bad_signature = False
    up.faults.jws_payload_tamper = True
    tampered = requests.get(url).json()
    assert tampered["payload"] != document["payload"]
    with pytest.raises(InvalidSignature):
        _verify_jws(tampered, up.public_key_pem)


def test_unsigned_upstream_has_no_jws():
    with FakeUpstream(generate_catalogue(10), signing=False) as up:
        assert requests.get(f"{up.api_url}/formula.jws.json").status_code == 404
        assert requests.get(f"{up.api_url}/formula.json").status_code == 200


# --------------------------------------------------------------------------------------------
# Registry: manifests and blobs


def test_manifests_need_the_bearer_header(up):
    response = requests.get(up.manifest_url("curl", "8.16.0-2"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_image_index_annotations_and_platform_manifests(up, registry):
    cat = up.catalogue
    curl = cat.find("curl")
    response = registry.get(up.manifest_url("curl", image_tag(curl)))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    index = response.json()
    bottles = cat.bottles("curl")
    assert len(index["manifests"]) == len(bottles)
    for entry in index["manifests"]:
        notes = entry["annotations"]
        tag = notes["org.opencontainers.image.ref.name"].removeprefix("8.16.0.").removesuffix(".2")
        assert notes["org.opencontainers.image.ref.name"] == f"8.16.0.{tag}.2"
        bottle = bottles[tag]
        assert notes["sh.brew.bottle.digest"] == bottle.sha256
        assert notes["sh.brew.bottle.size"] == str(bottle.size)
        assert isinstance(json.loads(notes["sh.brew.tab"]), dict)
        assert entry["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        assert set(entry["platform"]) == {"architecture", "os", "os.version"}
        manifest = registry.get(up.manifest_url("curl", entry["digest"]))
        assert manifest.status_code == 200
        assert entry["size"] == len(manifest.content) != bottle.size
        assert entry["digest"] == "sha256:" + hashlib.sha256(manifest.content).hexdigest()
        layer = manifest.json()["layers"][0]
        assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        assert layer["digest"] == f"sha256:{bottle.sha256}" and layer["size"] == bottle.size


def test_older_uploads_lack_the_size_annotation_and_some_have_no_index(up, registry):
    cat = up.catalogue
    old = cat.find("md5sha1sum")
    index = registry.get(up.manifest_url("md5sha1sum", image_tag(old))).json()
    for entry in index["manifests"]:
        assert "sh.brew.bottle.size" not in entry["annotations"]
        layer = registry.get(up.manifest_url("md5sha1sum", entry["digest"])).json()["layers"][0]
        assert layer["size"] == cat.blob(layer["digest"].removeprefix("sha256:")).size
    youtube = cat.find("youtube-dl")
    assert registry.get(up.manifest_url("youtube-dl", image_tag(youtube))).status_code == 404
    assert registry.get(up.manifest_url("curl", "0.0.1")).status_code == 404
    assert registry.get(up.manifest_url("no-such-formula", "1.0")).status_code == 404
    python = cat.find("python@3.12")
    assert registry.get(f"{up.registry_url}/python/3.12/manifests/{image_tag(python)}").status_code == 200


def test_blob_redirects_to_the_blob_host_which_refuses_authorization(up, registry):
    sha = up.catalogue.bottle("libsigc++", "arm64_tahoe").sha256
    url = f"{up.registry_url}/libsigcxx/blobs/sha256:{sha}"
    assert requests.get(url).status_code == 401
    redirect = registry.get(url, allow_redirects=False)
    assert redirect.status_code == 307
    location = redirect.headers["Location"]
    assert location.startswith(f"http://{up.blob_host}/ghcr1/blobs/sha256:{sha}?se=")
    leaked = requests.get(location, headers=BEARER)
    assert leaked.status_code == 400 and up.authorization_refusals() == 1
    assert up.blob_downloads(sha) == 0
    followed = registry.get(url)  # requests drops Authorization on the cross-host redirect
    assert followed.status_code == 200
    assert followed.headers["Content-Type"] == "application/octet-stream"
    assert hashlib.sha256(followed.content).hexdigest() == sha
    assert up.blob_downloads(sha) == 1 and up.authorization_refusals() == 1
    assert requests.get(location.replace("sig=", "sig=x")).status_code == 403
    other = up.catalogue.bottle("curl", "arm64_tahoe").sha256
    assert registry.get(f"{up.registry_url}/libsigcxx/blobs/sha256:{other}").status_code == 404
    assert registry.get(f"{up.registry_url}/libsigcxx/blobs/sha256:{'0' * 64}").status_code == 404
    hosts = {r.host for r in up.requests}
    assert hosts == {"main", "blob"}
    assert up.requests[0]["status"] == 401 and up.requests[1].headers.get("Authorization") == "Bearer QQ=="


def test_blob_host_serves_ranges(up, registry):
    sha = up.catalogue.bottle("multi-mib", "all").sha256
    location = registry.get(up.blob_url(sha), allow_redirects=False).headers["Location"]
    whole = b"".join(iter_blob_bytes(up.catalogue.blob(sha)))
    part = requests.get(location, headers={"Range": f"bytes={MIB - 5}-"})
    assert part.status_code == 206 and part.content == whole[MIB - 5 :]
    assert part.headers["Content-Range"] == f"bytes {MIB - 5}-{len(whole) - 1}/{len(whole)}"


def test_sixteen_concurrent_downloads(up):
    sha = up.catalogue.bottle("multi-mib", "all").sha256

    def fetch(_):
        with requests.Session() as s:
            s.headers.update(BEARER)
            return hashlib.sha256(s.get(up.blob_url(sha), timeout=30).content).hexdigest()

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(fetch, range(16))) == {sha}
    assert up.blob_downloads(sha) == 16


# --------------------------------------------------------------------------------------------
# Faults


def test_fault_arguments_are_checked():
    faults = Faults()
    with pytest.raises(ValueError):
        faults.add("x", "meteor_strike")
    with pytest.raises(ValueError):
        faults.add("x", "rate_limit", status=500)
    with pytest.raises(ValueError):
        faults.add("x", "rate_limit", times=0)


def test_rate_limit_with_header_then_recovers(up, registry):
    sha = up.catalogue.bottle("curl", "arm64_tahoe").sha256
    fault = up.faults.add(sha, "rate_limit", times=1, retry_after=2)
    first = registry.get(up.blob_url(sha))
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert registry.get(up.blob_url(sha)).status_code == 200
    assert fault.hits == 1 and fault.remaining == 0


def test_rate_limit_body_variant_has_no_header(up, registry):
    sha = up.catalogue.bottle("curl", "sonoma").sha256
    up.faults.add(sha, "rate_limit_body", times=1, retry_after=3)
    first = registry.get(up.blob_url(sha))
    assert first.status_code == 429 and "Retry-After" not in first.headers
    error = {"code": "TOOMANYREQUESTS", "message": "rate limit exceeded", "detail": {"retry_after": 3}}
    assert first.json() == {"errors": [error]}
    assert registry.get(up.blob_url(sha)).status_code == 200


def test_server_error_times_and_always(up, registry):
    sha = up.catalogue.bottle("curl", "arm64_sequoia").sha256
    up.faults.add(sha, "server_error", times=2, status=502)
    assert [registry.get(up.blob_url(sha)).status_code for _ in range(3)] == [502, 502, 200]
    up.faults.add(sha, "server_error", times=-1)
    assert [registry.get(up.blob_url(sha)).status_code for _ in range(3)] == [503, 503, 503]
    up.faults.clear()
    assert registry.get(up.blob_url(sha)).status_code == 200


def test_truncated_body_then_recovers(up, registry):
    sha = up.catalogue.bottle("multi-mib", "all").sha256
    up.faults.add(sha, "truncated", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        registry.get(up.blob_url(sha)).content  # noqa: B018 - reading the body is the point
    assert hashlib.sha256(registry.get(up.blob_url(sha)).content).hexdigest() == sha
    assert up.blob_downloads(sha) == 1


def test_wrong_bytes_keep_the_length(up, registry):
    sha = up.catalogue.bottle("curl", "x86_64_linux").sha256
    up.faults.add(sha, "wrong_bytes", times=1)
    bad = registry.get(up.blob_url(sha)).content
    assert len(bad) == up.catalogue.blob(sha).size and hashlib.sha256(bad).hexdigest() != sha
    assert hashlib.sha256(registry.get(up.blob_url(sha)).content).hexdigest() == sha


def test_stall_times_out_a_reader(up, registry):
    sha = up.catalogue.bottle("curl", "arm64_linux").sha256
    up.faults.add(sha, "stall", times=1, seconds=30, prefix_bytes=10)
    response = registry.get(up.blob_url(sha), stream=True, timeout=(5, 0.5))
    assert response.status_code == 200
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        response.content  # noqa: B018
    assert time.monotonic() - started < 5
    assert hashlib.sha256(registry.get(up.blob_url(sha)).content).hexdigest() == sha


def test_slow_drip_delivers_slowly_but_correctly(up, registry):
    sha = up.catalogue.bottle("tiny-blob", "all").sha256
    up.faults.add(sha, "slow_drip", times=1, interval=0.05, chunk=256)
    started = time.monotonic()
    body = registry.get(up.blob_url(sha)).content
    assert time.monotonic() - started >= 0.1  # three pauses of 0.05 s before the last chunk
    assert hashlib.sha256(body).hexdigest() == sha


def test_manifest_and_api_errors(up, registry):
    up.faults.add("curl", "manifest_error", times=1)
    url = up.manifest_url("curl", "8.16.0-2")
    assert [registry.get(url).status_code for _ in range(2)] == [503, 200]
    up.faults.add("api", "api_error", times=2)
    api = f"{up.api_url}/formula.json"
    assert [requests.get(api).status_code for _ in range(3)] == [503, 503, 200]


def test_stop_is_prompt_with_a_stalled_connection():
    cat = generate_catalogue(10)
    up = FakeUpstream(cat).start()
    sha = cat.bottle("curl", "arm64_tahoe").sha256
    up.faults.add(sha, "stall", times=-1, seconds=3600, prefix_bytes=5)
    outcome = {}
    headers_seen = threading.Event()

    def download():
        try:
            response = requests.get(up.blob_url(sha), headers=BEARER, stream=True, timeout=(5, 60))
            headers_seen.set()
            response.content  # noqa: B018
            outcome["result"] = "completed"
        except requests.RequestException as exc:
            outcome["result"] = type(exc).__name__

    thread = threading.Thread(target=download, daemon=True)
    thread.start()
    assert headers_seen.wait(5)
    time.sleep(0.1)
    started = time.monotonic()
    up.stop()
    assert time.monotonic() - started < 1.0
    thread.join(5)
    assert outcome["result"] != "completed"


# --------------------------------------------------------------------------------------------
# Command line


def test_cli_prints_its_addresses_and_exits_on_sigterm(tmp_path):
    faults = tmp_path / "faults.json"
    armed = [
        {"kind": "api_error", "times": 1},
        {"kind": "truncated", "formula": "curl", "tag": "arm64_tahoe"},
    ]
    faults.write_text(json.dumps({"faults": armed}))
    key_out = tmp_path / "key.pem"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "fake_upstream.py"), "--formulae", "12", "--seed", "3",
         "--faults", str(faults), "--key-out", str(key_out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        ready, _, _ = select.select([process.stdout], [], [], 15)
        assert ready, process.stderr.read() if process.poll() is not None else "no announcement"
        info = json.loads(process.stdout.readline())
        assert set(info) == {"api_url", "registry_url", "allow_hosts", "public_key_path", "pid"}
        assert info["pid"] == process.pid and len(info["allow_hosts"]) == 2
        assert info["registry_url"].endswith("/v2/homebrew/core")
        assert Path(info["public_key_path"]).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
        assert key_out.exists()
        api = f"{info['api_url']}/formula.json"
        assert [requests.get(api, timeout=10).status_code for _ in range(2)] == [503, 200]
        assert len(requests.get(api, timeout=10).json()) == 12
        started = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - started < 3
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
