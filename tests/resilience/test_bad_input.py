"""Arbitrary URLs: either refused before any socket opens, or inside the allow-list."""

import socket
from urllib.parse import urlsplit

import pytest
from homebrew_sync.config import load_settings
from homebrew_sync.errors import UnsafeInputError
from homebrew_sync.http import HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HOSTS = [
    "ghcr.io",
    "formulae.brew.sh",
    "pkg-containers.githubusercontent.com",
    "evil.example",
    "127.0.0.1",
    "localhost",
    "10.0.0.1",
    "[::1]",
    "ghcr.io.evil.example",
    "user@ghcr.io",
    "",
]
urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
    st.sampled_from(["https", "http", "ftp", "file", "gopher", "HTTPS", "javascript"]),
    st.sampled_from(HOSTS),
    st.sampled_from(["", ":443", ":8080", ":1", ":65535"]),
    st.text(max_size=30),
) | st.text(max_size=60)


@pytest.fixture(scope="module")
def client():
    return HttpClient(load_settings(allow_hosts=["127.0.0.1:8080"]))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=urls)
def test_rejected_urls_open_no_socket(client, url, monkeypatch):
    opened = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: opened.append(address))
    try:
        client.allow.check(url)
    except UnsafeInputError:
        with pytest.raises(UnsafeInputError):
            client.get(url)
        assert opened == []
        return
    parts = urlsplit(url)
    allowed = {"ghcr.io", "formulae.brew.sh", "pkg-containers.githubusercontent.com"}
    explicitly_allowed = parts.netloc == "127.0.0.1:8080"  # the --allow-host entry: https, or http on loopback
    assert (parts.scheme == "https" and parts.hostname in allowed) or (
        parts.scheme in ("http", "https") and explicitly_allowed
    )
