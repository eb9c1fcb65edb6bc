"""Verify Homebrew's signed API files (`*.jws.json`) the way brew does before trusting or publishing them.

JWS with an unencoded payload (RFC 7797): the protected header must say `alg: PS512`, `b64: false`
and `crit: ["b64"]` (a `crit` naming anything else is an extension this verifier does not understand, so
RFC 7515 section 4.1.11 says reject); RSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt is checked over
the bytes `<protected>.<payload>`, with the payload exactly as served.
"""

from __future__ import annotations

import base64
import binascii
import json
from importlib import resources
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from pydantic_core import from_json

from homebrew_sync.errors import ConfigError, SignatureError

PINNED_KEY_ID = "homebrew-1"


def pinned_key_pem() -> bytes:
    """Homebrew's public API signing key, committed with the package."""
    return resources.files("homebrew_sync").joinpath("keys/homebrew-1.pem").read_bytes()


def load_public_key(path: Path | None) -> rsa.RSAPublicKey:
    try:
        pem = path.read_bytes() if path else pinned_key_pem()
        key = serialization.load_pem_public_key(pem)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load signing key {path or PINNED_KEY_ID}: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f"signing key {path or PINNED_KEY_ID} is not an RSA public key")
    return key


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


UNDERSTOOD_CRIT = frozenset({"b64"})


def _header_acceptable(header: object) -> bool:
    if not isinstance(header, dict):
        return False
    crit = header.get("crit")
    return (
        header.get("alg") == "PS512"
        and header.get("b64") is False
        and isinstance(crit, list)
        and "b64" in crit
        and all(isinstance(item, str) and item in UNDERSTOOD_CRIT for item in crit)
    )


def verify_jws(document: bytes, key: rsa.RSAPublicKey, *, what: str = "formula.jws.json") -> str:
    """Return the verified payload (the JSON text inside) or raise SignatureError."""
    try:
        jws = from_json(document)  # pydantic-core's parser: the envelope holds ~30 MB of escaped JSON
        payload: str = jws["payload"]
        signatures = jws["signatures"]
        if not isinstance(payload, str) or not isinstance(signatures, list) or not signatures:
            raise TypeError("payload or signatures missing")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SignatureError(f"{what} is not a JWS document: {exc}") from None

    for entry in signatures:
        try:
            protected_b64: str = entry["protected"]
            header = json.loads(_b64url(protected_b64))
            signature = _b64url(entry["signature"])
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue
        if not _header_acceptable(header):
            continue
        digest = hashes.Hash(hashes.SHA512())  # hashed in pieces: the payload is ~30 MB
        digest.update(protected_b64.encode("ascii") + b".")
        digest.update(payload.encode("utf-8"))
        try:
            key.verify(
                signature,
                digest.finalize(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64),
                utils.Prehashed(hashes.SHA512()),
            )
        except InvalidSignature:
            continue
        return payload
    raise SignatureError(f"{what}: no signature verifies with the pinned key; refusing the API data")
