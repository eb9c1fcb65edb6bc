"""The API's sha256 values are trusted only after Homebrew's JWS signature checks out."""

import json

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from homebrew_sync.errors import SignatureError
from homebrew_sync.signature import load_public_key, pinned_key_pem, verify_jws

from fakes import jws
from tests.integration.conftest import bottle_listing

PAYLOAD = json.dumps([{"name": "curl", "versions": {"stable": "8.0.0"}}])


def key():
    return jws.signing_key().public_key()


def envelope(protected: dict, payload: str = PAYLOAD, sign_over: str | None = None) -> bytes:
    encoded = jws.b64url(json.dumps(protected).encode())
    signature = jws.signing_key().sign(
        f"{encoded}.{sign_over or payload}".encode(), jws.pss_padding(), jws.hashes.SHA512()
    )
    return json.dumps(
        {
            "payload": payload,
            "signatures": [{"protected": encoded, "header": {"kid": "homebrew-1"}, "signature": jws.b64url(signature)}],
        }
    ).encode()


def test_a_valid_signature_yields_the_payload_as_served():
    assert verify_jws(jws.sign_jws(PAYLOAD), key()) == PAYLOAD


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (lambda: jws.sign_jws(PAYLOAD, bad_signature=True), "signature over other bytes"),
        (lambda: jws.sign_jws(PAYLOAD, tamper=True), "payload changed after signing"),
        (lambda: envelope({"alg": "RS512", "b64": False, "crit": ["b64"]}), "wrong algorithm"),
        (lambda: envelope({"alg": "PS512", "b64": True, "crit": ["b64"]}), "encoded payload"),
        (lambda: envelope({"alg": "PS512", "b64": False}), "b64 not critical"),
        (lambda: envelope({"alg": "PS512", "b64": False, "crit": ["b64", "exp"]}), "unknown critical extension"),
        (lambda: envelope({"alg": "PS512", "b64": False, "crit": "b64"}), "crit not a list"),
        (lambda: envelope({"alg": "PS512", "b64": False, "crit": ["b64"]}, sign_over="[]"), "other payload"),
        (lambda: b"not json", "not a JWS"),
        (lambda: json.dumps({"payload": PAYLOAD, "signatures": []}).encode(), "no signature"),
    ],
)
def test_anything_else_is_refused(document, why):
    with pytest.raises(SignatureError):
        verify_jws(document(), key())


def test_the_pinned_key_is_homebrews():
    pinned = load_public_key(None)
    assert pinned.key_size >= 2048
    fake = key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert fake != pinned_key_pem()
    with pytest.raises(SignatureError):  # the fake upstream's signature does not verify with Homebrew's key
        verify_jws(jws.sign_jws(PAYLOAD), pinned)


def test_a_bad_signature_aborts_the_run_before_any_download(sync, upstream, tmp_path):
    upstream.faults.bad_signature = True
    result = sync()
    assert result.code == 2 and "no signature verifies" in result.err
    assert not any(r.host == "blob" or "/blobs/" in r.path for r in upstream.requests)
    assert not (tmp_path / "mirror" / "bottles_hash.json").exists()


def test_a_tampered_payload_aborts_the_run(sync, upstream, tmp_path):
    upstream.faults.jws_payload_tamper = True
    result = sync()
    assert result.code == 2 and "no signature verifies" in result.err
    assert not any(r.host == "blob" for r in upstream.requests)
    assert not (tmp_path / "mirror" / "bottles_hash.json").exists()


def test_homebrews_key_is_the_default(upstream, tmp_path):
    from tests.integration.conftest import run_cli

    args = upstream.cli_args()
    index = args.index("--signing-key")
    del args[index : index + 2]
    result = run_cli("sync", "--dest", str(tmp_path / "m"), *args)
    assert result.code == 2 and "refusing the API data" in result.err


def test_unsigned_api_is_refused_by_default_and_used_only_with_allow_unsigned(fast_retries, tmp_path):
    from fakes.catalogue import generate_catalogue
    from fakes.server import FakeUpstream
    from tests.integration.conftest import run_cli

    with FakeUpstream(generate_catalogue(10, seed=4), signing=False) as up:
        refused = run_cli("sync", "--dest", str(tmp_path / "n"), *up.cli_args())
        assert refused.code == 2 and "unsigned data is refused (--allow-unsigned accepts it)" in refused.err
        assert not (tmp_path / "n").exists() or bottle_listing(tmp_path / "n") == []
        result = run_cli("sync", "--dest", str(tmp_path / "m"), "--allow-unsigned", *up.cli_args())
        assert result.code == 0 and "using UNSIGNED formula.json" in result.err
        assert bottle_listing(tmp_path / "m")
        assert not (tmp_path / "m" / "api" / "formula.jws.json").exists()  # nothing unsigned is served as signed


def test_an_api_body_that_expands_past_the_cap_is_refused_and_never_cached(sync, upstream, tmp_path, monkeypatch):
    """A 20 KB gzip that expands to 20 MiB, with a 16 MiB cap: a clear error, no memory blow-up, no cache."""
    monkeypatch.setenv("HOMEBREW_SYNC_MAX_API_MB", "16")
    upstream.faults.add("api", "api_oversized", times=-1, bytes=20 << 20)
    decoded: list[int] = []  # decoded bytes taken from each API response
    iter_content = requests.Response.iter_content

    def counted(self, *args, **kwargs):
        decoded.append(0)
        for chunk in iter_content(self, *args, **kwargs):
            decoded[-1] += len(chunk)
            yield chunk

    monkeypatch.setattr(requests.Response, "iter_content", counted)
    result = sync()
    assert result.code == 2 and "body larger than 16 MiB once decoded; refused" in result.err
    assert decoded and max(decoded) <= (16 << 20) + (1 << 20)  # reading stopped at the cap, not at the end
    cached = [p for p in tmp_path.rglob("*") if p.is_file() and "formula" in p.name]
    assert cached == [] or all(p.stat().st_size < 1 << 20 for p in cached)
    assert not (tmp_path / "mirror").exists() or bottle_listing(tmp_path / "mirror") == []


def test_a_body_that_does_not_verify_is_not_cached(sync, upstream, monkeypatch, tmp_path_factory):
    cache = tmp_path_factory.mktemp("api-cache")
    monkeypatch.setenv("HOMEBREW_SYNC_CACHE_DIR", str(cache))
    upstream.faults.bad_signature = True
    assert sync().code == 2
    assert list(cache.rglob("*formula*")) == []  # a next run cannot revalidate against an unverified body
    upstream.faults.bad_signature = False
    assert sync().code == 0 and list(cache.rglob("*formula.jws.json"))
