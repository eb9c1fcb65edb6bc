"""A client that asks a mirror exactly what brew asks, written from brew's source (Homebrew/brew 6.0.18),
not from this project's code, so a mirror that satisfies it satisfies brew.

- Bottle (`bottle.rb`, `utils/bottles.rb`, `utils/curl.rb`): `HEAD` then `GET` of
  `<base>/` + ERB::Util.url_encode("<name>-<pkg_version>.<tag>.bottle[.<rebuild>].tar.gz"), no Authorization.
- Image index (brew >= 6.0.13, `bottle.rb` `fetch_tab`): `GET <base>/<image>/manifests/<pkg_version>[-<rebuild>]`
  with `Accept: application/vnd.oci.image.index.v1+json`; `<image>` is the name with `@` -> `/`, `+` -> `x`.
  brew sends `Authorization: Bearer QQ==` (or the user's token) unless HOMEBREW_ARTIFACT_DOMAIN is set.
  It accepts the answer when an entry has `sh.brew.bottle.digest` = the bottle's sha256,
  `org.opencontainers.image.ref.name` = `<pkg_version>.<tag>[.<rebuild>]` and a JSON `sh.brew.tab` (`resource.rb`).
- API files (`api.rb`, `cmd/update.sh`): `GET <api domain>/<file>` with `curl --compressed --time-cond <cache>`
  (If-Modified-Since), then the JWS is verified: protected header `alg` PS512 and `b64` false, RSA-PSS
  SHA-512 (salt 64) over `<protected>.<payload>` with the pinned key (a re-signed file is a "Potential MITM").
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from urllib.parse import quote

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ANONYMOUS = "Bearer QQ=="


class MirrorRefused(AssertionError):
    """What brew would report as a failure (and, without NO_FALLBACK, retry at ghcr.io)."""


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    status: int


@dataclass
class BrewClient:
    base: str  # HOMEBREW_BOTTLE_DOMAIN = HOMEBREW_ARTIFACT_DOMAIN
    api_base: str  # HOMEBREW_API_DOMAIN
    public_key_pem: bytes
    log: list[Request] = field(default_factory=list)

    def _request(self, method: str, url: str, headers: dict[str, str]) -> requests.Response:
        response = requests.request(method, url, headers=headers, timeout=10)
        self.log.append(Request(method, url, headers, response.status_code))
        return response

    def bottle(self, name: str, pkg_version: str, tag: str, rebuild: int, sha256: str) -> bytes:
        file = f"{name}-{pkg_version}.{tag}.bottle{f'.{rebuild}' if rebuild else ''}.tar.gz"
        url = f"{self.base}/{quote(file, safe='')}"  # ERB::Util.url_encode keeps only [A-Za-z0-9_.~-]
        head = self._request("HEAD", url, {})
        if head.status_code != 200:
            raise MirrorRefused(f"HEAD {url}: {head.status_code}")
        got = self._request("GET", url, {})
        if got.status_code != 200:
            raise MirrorRefused(f"GET {url}: {got.status_code}")
        if int(head.headers["Content-Length"]) != len(got.content):
            raise MirrorRefused(f"HEAD said {head.headers['Content-Length']} bytes, GET gave {len(got.content)}")
        if hashlib.sha256(got.content).hexdigest() != sha256:
            raise MirrorRefused(f"{file}: sha256 mismatch")
        return got.content

    def manifest(
        self, name: str, pkg_version: str, tag: str, rebuild: int, sha256: str, *, authorization: str | None = None
    ) -> dict:
        image = name.replace("@", "/").replace("+", "x")
        reference = f"{pkg_version}-{rebuild}" if rebuild else pkg_version
        url = f"{self.base}/{image}/manifests/{reference}"
        headers = {"Accept": OCI_INDEX}
        if authorization:
            headers["Authorization"] = authorization
        response = self._request("GET", url, headers)
        if response.status_code != 200:
            raise MirrorRefused(f"GET {url}: {response.status_code}")
        index = response.json()
        ref = f"{pkg_version}.{tag}" + (f".{rebuild}" if rebuild else "")
        for entry in index.get("manifests") or []:
            annotations = entry.get("annotations") or {}
            if (
                annotations.get("sh.brew.bottle.digest") == sha256
                and annotations.get("org.opencontainers.image.ref.name") == ref
            ):
                json.loads(annotations["sh.brew.tab"])  # "Couldn't find tab from manifest." otherwise
                return index
        raise MirrorRefused(f"{url}: Couldn't find manifest matching bottle checksum.")

    def api_file(self, name: str, *, if_modified_since: str | None = None) -> requests.Response:
        headers = {"Accept-Encoding": "gzip"}
        if if_modified_since:
            headers["If-Modified-Since"] = if_modified_since
        response = self._request("GET", f"{self.api_base}/{name}", headers)
        if response.status_code == 200:
            self.verify_jws(response.content)
        elif response.status_code != 304:
            raise MirrorRefused(f"GET {self.api_base}/{name}: {response.status_code}")
        return response

    def verify_jws(self, body: bytes) -> str:
        document = json.loads(body)
        payload = document["payload"]
        key = serialization.load_pem_public_key(self.public_key_pem)
        for signature in document["signatures"]:
            protected = signature["protected"]
            header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
            if header.get("alg") != "PS512" or header.get("b64") is not False:
                continue
            raw = base64.urlsafe_b64decode(signature["signature"] + "=" * (-len(signature["signature"]) % 4))
            key.verify(  # raises InvalidSignature: brew's "Potential MITM attempt detected"
                raw,
                f"{protected}.{payload}".encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64),
                hashes.SHA512(),
            )
            return payload
        raise MirrorRefused("no usable signature")
