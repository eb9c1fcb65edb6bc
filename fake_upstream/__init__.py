"""A local stand-in for formulae.brew.sh, ghcr.io and its blob CDN, plus a fake Slack webhook.

Tests, `make demo` and the benchmarks run the mirror against it so that nothing leaves 127.0.0.1,
every run is reproducible from a seed, and failures (429, 5xx, truncation, stalls) can be injected.
"""

from fake_upstream.catalogue import (
    ERAS,
    SIZE_CLASSES,
    TAGS,
    BlobSpec,
    Bottle,
    Catalogue,
    Release,
    bottle_filename,
    generate_catalogue,
    image_name,
    image_tag,
    iter_blob_bytes,
    pkg_version,
)
from fake_upstream.faults import FAULT_KINDS, Fault, Faults
from fake_upstream.server import FakeUpstream, RequestRecord
from fake_upstream.webhook import FakeWebhook

__all__ = [
    "ERAS",
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
