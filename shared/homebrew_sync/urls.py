"""Upstream URLs: the hosts the engine may contact, and the registry URLs it builds (never taken from JSON)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from homebrew_sync.errors import UnsafeInputError
from homebrew_sync.names import validate_image_tag, validate_sha256

DEFAULT_REDIRECT_HOSTS = ("pkg-containers.githubusercontent.com",)


@dataclass(frozen=True)
class AllowList:
    """Hosts the engine may contact; https only, except loopback hosts that were given explicitly.

    An entry is `host` (any port) or `host:port` (that port only).
    """

    https_hosts: frozenset[str]
    explicit_hosts: frozenset[str]

    @classmethod
    def build(cls, base_urls: list[str], extra_hosts: list[str]) -> AllowList:
        https = {urlsplit(u).netloc.lower() for u in base_urls if urlsplit(u).scheme == "https"}
        https.update(h.lower() for h in DEFAULT_REDIRECT_HOSTS)
        return cls(frozenset(https), frozenset(h.lower() for h in extra_hosts))

    def check(self, url: str) -> str:
        """Return the URL if it may be fetched, else raise UnsafeInputError (before any socket opens)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        netloc = parts.netloc.lower()
        if parts.username or parts.password or not host:
            raise UnsafeInputError(f"refused URL (no host or credentials in it): {url!r}")
        listed = any(entry in (host, netloc) for entry in self.https_hosts | self.explicit_hosts)
        if not listed:
            raise UnsafeInputError(f"refused URL (host {netloc} is not allowed): {url!r}")
        if parts.scheme == "https":
            return url
        if (
            parts.scheme == "http"
            and _is_loopback(host)
            and (host in self.explicit_hosts or netloc in self.explicit_hosts)
        ):
            return url
        raise UnsafeInputError(f"refused URL (https required; http only for loopback --allow-host): {url!r}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def blob_url(registry_url: str, image: str, sha256: str) -> str:
    """Blob URL built from the registry root, never taken from the JSON (homebrew.md section 3)."""
    return f"{registry_url.rstrip('/')}/{quote(image, safe='/')}/blobs/sha256:{validate_sha256(sha256)}"


def manifest_url(registry_url: str, image: str, reference: str) -> str:
    """Image index (by image tag) or per-platform manifest (by `sha256:<hex>`) URL."""
    if reference.startswith("sha256:"):
        validate_sha256(reference.removeprefix("sha256:"))
    else:
        validate_image_tag(reference)
    return f"{registry_url.rstrip('/')}/{quote(image, safe='/')}/manifests/{reference}"


def resolve_redirect(current_url: str, location: str) -> str:
    return urljoin(current_url, location)
