"""formula.jws.json signing, as formulae.brew.sh does it: JWS JSON serialization, PS512, unencoded payload.

brew verifies the signature with a pinned key (homebrew.md section 4); the fake signs with its own
key so a mirror can be tested with that key pinned instead, and both tamper modes can be served.
"""

from __future__ import annotations

import base64
import json
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_ID = "homebrew-1"
PROTECTED_HEADER = {"alg": "PS512", "b64": False, "crit": ["b64"]}
_KEY_BITS = 3072
_key: rsa.RSAPrivateKey | None = None
_key_lock = threading.Lock()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per process: generating it takes a noticeable fraction of a second."""
    global _key
    with _key_lock:
        if _key is None:
            _key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
        return _key


def public_key_pem() -> bytes:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def pss_padding() -> padding.PSS:
    """RSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt (PS512)."""
    return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)


def sign_jws(payload: str, *, bad_signature: bool = False, tamper: bool = False) -> bytes:
    """`{"payload", "signatures": [...]}` over `<protected>.<payload>`.

    bad_signature: the signature covers other bytes, so it never verifies.
    tamper: the payload is altered after signing (a bottle digest is swapped), as an attacker would.
    """
    protected = b64url(json.dumps(PROTECTED_HEADER, separators=(",", ":")).encode())
    signed = f"{protected}.{payload}".encode()
    if bad_signature:
        signed += b" "
    signature = signing_key().sign(signed, pss_padding(), hashes.SHA512())
    if tamper:
        payload = _tamper(payload)
    document = {
        "payload": payload,
        "signatures": [{"protected": protected, "header": {"kid": KEY_ID}, "signature": b64url(signature)}],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _tamper(payload: str) -> str:
    marker = '"sha256":"'
    at = payload.find(marker)
    if at < 0:
        return payload + " "
    start = at + len(marker)
    return payload[:start] + "0" * 64 + payload[start + 64 :]
