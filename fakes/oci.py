"""OCI image index and per-platform manifests, shaped as brew's GitHub Packages upload writes them.

The mirror reads bottle sizes from these documents before downloading (homebrew.md section 3):
the index annotation `sh.brew.bottle.size` when present, else the manifest's `layers[0].size`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from fakes.brew import LINUX_TAGS, MACOS_VERSIONS, bottle_filename
from fakes.catalogue import Bottle, Release

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
LINUX_OS_VERSION = "Ubuntu 22.04"
LINUX_GLIBC_VERSION = "2.35"


@dataclass(frozen=True)
class IndexDocument:
    """An image index's exact bytes plus the per-platform manifests it points to, by digest."""

    body: bytes
    digest: str
    manifests: dict[str, bytes]


def _pretty(obj: object) -> bytes:
    # brew writes these with JSON.pretty_generate; digests are over exactly these bytes.
    return json.dumps(obj, indent=2).encode()


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _macos_name(tag: str) -> str | None:
    name = tag.removeprefix("arm64_")
    return name if name in MACOS_VERSIONS else None


def platform_for(tag: str) -> dict:
    """OCI platform of a bottle tag: architecture from the build machine, darwin or linux."""
    if tag in LINUX_TAGS:
        arch = "arm64" if tag.startswith("arm64") else "amd64"
        return {"architecture": arch, "os": "linux", "os.version": LINUX_OS_VERSION}
    if tag == "all":
        # `all` bottles are built on an Apple Silicon runner; the platform names that machine.
        return {"architecture": "arm64", "os": "darwin", "os.version": f"macOS {MACOS_VERSIONS['sequoia']}"}
    arch = "arm64" if tag.startswith("arm64_") else "amd64"
    return {"architecture": arch, "os": "darwin", "os.version": f"macOS {MACOS_VERSIONS[_macos_name(tag)]}"}


def _tab(release: Release, bottle: Bottle) -> dict:
    platform = platform_for(bottle.tag)
    created = datetime.strptime(release.created, "%Y-%m-%dT%H:%M:%SZ")
    if platform["os"] == "linux":
        built_on = {
            "os": "Linux",
            "os_version": LINUX_OS_VERSION,
            "cpu_family": "dunno",
            "glibc_version": LINUX_GLIBC_VERSION,
            "oldest_cpu_family": "core2",
        }
    else:
        xcode = "16.4" if created.year >= 2025 else "15.4"
        built_on = {
            "os": "Macintosh",
            "os_version": platform["os.version"],
            "cpu_family": "dunno",
            "xcode": xcode,
            "clt": f"{xcode}.0.0.1.1747106510",
            "preferred_perl": "5.34",
        }
    return {
        "homebrew_version": f"{created.year - 2020}.{created.month % 7}.{created.day}",
        "changed_files": [],
        "source_modified_time": int(created.timestamp()) - 86400,
        "compiler": "clang" if platform["os"] == "darwin" else "gcc-12",
        "runtime_dependencies": [],  # the catalogue models no dependencies: nothing the mirror reads
        "arch": "arm64" if platform["architecture"] == "arm64" else "x86_64",
        "built_on": built_on,
    }


def ref_name(release: Release, tag: str) -> str:
    """`{pkg_version}.{tag}` plus `.{rebuild}` when rebuild > 0 (homebrew.md section 3)."""
    return f"{release.pkg_version}.{tag}" + (f".{release.rebuild}" if release.rebuild else "")


@lru_cache(maxsize=4096)
def build_index(release: Release) -> IndexDocument:
    """The image index for one formula version, and its per-platform manifests."""
    documentation = f"https://formulae.brew.sh/formula/{release.name}"
    source = f"https://github.com/Homebrew/homebrew-core/blob/{release.git_revision}/Formula/{release.name}.rb"
    formula_annotations = {
        "com.github.package.type": "homebrew_bottle",
        "org.opencontainers.image.created": release.created,
        "org.opencontainers.image.documentation": documentation,
        "org.opencontainers.image.ref.name": release.image_tag,
        "org.opencontainers.image.revision": release.git_revision,
        "org.opencontainers.image.source": source,
        "org.opencontainers.image.title": release.name,
        "org.opencontainers.image.vendor": "homebrew",
        "org.opencontainers.image.version": release.pkg_version,
    }
    formula_annotations = {k: v for k, v in formula_annotations.items() if v}
    manifests: dict[str, bytes] = {}
    descriptors = []
    for bottle in release.bottles:
        platform = platform_for(bottle.tag)
        tag_ref = ref_name(release, bottle.tag)
        descriptor_annotations = {"org.opencontainers.image.ref.name": tag_ref}
        if bottle.tag == "x86_64_linux":
            descriptor_annotations["sh.brew.bottle.cpu.variant"] = "core2"
        descriptor_annotations["sh.brew.bottle.digest"] = bottle.sha256
        if platform["os"] == "linux":
            descriptor_annotations["sh.brew.bottle.glibc.version"] = LINUX_GLIBC_VERSION
        if release.size_annotation:
            descriptor_annotations["sh.brew.bottle.size"] = str(bottle.size)
        descriptor_annotations["sh.brew.tab"] = json.dumps(_tab(release, bottle), separators=(",", ":"))

        tar_sha = hashlib.sha256(b"tar:" + bottle.sha256.encode()).hexdigest()
        config = _pretty({**platform, "rootfs": {"type": "layers", "diff_ids": [f"sha256:{tar_sha}"]}})
        manifest_annotations = dict(
            sorted(
                {
                    **formula_annotations,
                    **descriptor_annotations,
                    "org.opencontainers.image.created": release.created,
                    "org.opencontainers.image.documentation": documentation,
                    "org.opencontainers.image.title": f"{release.name} {tag_ref}",
                }.items()
            )
        )
        manifest = _pretty(
            {
                "schemaVersion": 2,
                "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": _digest(config), "size": len(config)},
                "layers": [
                    {
                        "mediaType": LAYER_MEDIA_TYPE,
                        "digest": f"sha256:{bottle.sha256}",
                        "size": bottle.size,
                        "annotations": {
                            "org.opencontainers.image.title": bottle_filename(
                                release.name, release.pkg_version, bottle.tag, release.rebuild
                            )
                        },
                    }
                ],
                "annotations": manifest_annotations,
            }
        )
        digest = _digest(manifest)
        manifests[digest] = manifest
        descriptors.append(
            {
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": digest,
                "size": len(manifest),
                "platform": platform,
                "annotations": descriptor_annotations,
            }
        )
    body = _pretty({"schemaVersion": 2, "manifests": descriptors, "annotations": formula_annotations})
    return IndexDocument(body=body, digest=_digest(body), manifests=manifests)
