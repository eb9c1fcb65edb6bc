"""A local stand-in for formulae.brew.sh, ghcr.io and its blob CDN, plus a fake Slack webhook.

Tests, `make demo` and the benchmarks run the mirror against it so that nothing leaves 127.0.0.1,
every run is reproducible from a seed, and failures (429, 5xx, truncation, stalls) can be injected.
"""

from fakes.blobs import BlobSpec, iter_blob_bytes
from fakes.brew import TAGS, bottle_filename, image_name, image_tag, pkg_version
from fakes.catalogue import SIZE_CLASSES, Bottle, Catalogue, Release, generate_catalogue
from fakes.faults import FAULT_KINDS, Fault, Faults
from fakes.handler import RequestRecord
from fakes.server import FakeUpstream
from fakes.webhook import FakeWebhook

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
