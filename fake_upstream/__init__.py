"""A local stand-in for formulae.brew.sh, ghcr.io and its blob CDN, plus a fake Slack webhook.

Tests, `make demo` and the benchmarks run the mirror against it so that nothing leaves 127.0.0.1,
every run is reproducible from a seed, and failures (429, 5xx, truncation, stalls) can be injected.
"""

from fake_upstream.blobs import BlobSpec, iter_blob_bytes
from fake_upstream.brew import TAGS, bottle_filename, image_name, image_tag, pkg_version
from fake_upstream.catalogue import SIZE_CLASSES, Bottle, Catalogue, Release, generate_catalogue
from fake_upstream.faults import FAULT_KINDS, Fault, Faults
from fake_upstream.handler import RequestRecord
from fake_upstream.server import FakeUpstream
from fake_upstream.webhook import FakeWebhook

__all__ = [
    "FAULT_KINDS",
    "SIZE_CLASSES",
    "TAGS",
    "BlobSpec",
    "Bottle",
    "Catalogue",
    "FakeUpstream",
    "FakeWebhook",
    "Fault",
    "Faults",
    "Release",
    "RequestRecord",
    "bottle_filename",
    "generate_catalogue",
    "image_name",
    "image_tag",
    "iter_blob_bytes",
    "pkg_version",
]
