"""FakeUpstream: formulae.brew.sh and ghcr.io on one local port, ghcr's blob CDN on another.

Two real HTTP servers, because the behaviours a mirror must get right are HTTP behaviours: the
Bearer header ghcr wants, the 307 to another host that must not receive that header, gzip and
conditional requests on the API, and the failures injected through `faults`.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

from fakes import api_files, jws, oci
from fakes.blob_host import BlobHandler
from fakes.brew import image_name
from fakes.catalogue import Catalogue, generate_catalogue
from fakes.faults import API_KEY, REGISTRY_BLOB_KINDS, Faults
from fakes.handler import Handler, RequestRecord, Server

ANONYMOUS_BEARER = "Bearer QQ=="  # base64("A"): ghcr's anonymous token (homebrew.md section 3)
REGISTRY_PREFIX = "/v2/homebrew/core/"
_URL_TTL = 600


@dataclass(frozen=True)
class _ApiDocument:
    identity: bytes
    gzipped: bytes
    etag: str
    last_modified: int


class _MainHandler(Handler):
    """formulae.brew.sh (/api/...) and ghcr.io (/v2/...)."""

    host_label = "main"

    def _route(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/api/") and path.endswith(".json"):
            self._api(path[len("/api/") :])
        elif path == "/token":
            self._send(200, json.dumps({"token": "QQ==", "access_token": "QQ=="}).encode())
        elif path in ("/v2", "/v2/"):
            if self._authorized("*"):
                self._send(200, b"{}")
        elif path.startswith(REGISTRY_PREFIX):
            rest = path[len(REGISTRY_PREFIX) :]
            if "/manifests/" in rest:
                self._manifest(*rest.rsplit("/manifests/", 1))
            elif "/blobs/" in rest:
                self._registry_blob(*rest.rsplit("/blobs/", 1))
            else:
                self._error(404, "NAME_UNKNOWN", "repository name not known to registry")
        else:
            self._send(404, b"Not Found", content_type="text/plain")

    # ---- API -------------------------------------------------------------------------------

    def _api(self, file: str) -> None:
        """`<name>.json` (unsigned) or `<name>.jws.json` (signed), gzip and conditional GET as the CDN does."""
        signed = file.endswith(".jws.json")
        name = file.removesuffix(".jws.json") if signed else file.removesuffix(".json")
        keys = [f"api:{file}"] + ([API_KEY] if name == "formula" else [])
        fault = self.up.faults.take(keys, ["api_error", "api_oversized"])
        if fault and fault.kind == "api_oversized":
            self._note = "fault:api_oversized"
            body = b"\0" * int(fault.params["bytes"])
            if fault.params["gzip"]:
                self._send(200, gzip.compress(body, compresslevel=9), headers={"Content-Encoding": "gzip"})
            else:
                self._send(200, body)
            return
        if fault:
            self._note = "fault:api_error"
            self._send(int(fault.params["status"]), b"Service Unavailable", content_type="text/plain")
            return
        doc = None if signed and not self.up.signing else self.up._api_document(name, signed, file)
        if doc is None:
            self._send(404, b"Not Found", content_type="text/plain")
            return
        headers = {
            "ETag": doc.etag,
            "Last-Modified": formatdate(doc.last_modified, usegmt=True),
            "Cache-Control": "public, max-age=600",
            "Vary": "Accept-Encoding",
        }
        if self._not_modified(doc):
            self._send(304, headers=headers)
            return
        body = doc.identity
        if _accepts_gzip(self.headers.get("Accept-Encoding", "")):
            body = doc.gzipped
            headers["Content-Encoding"] = "gzip"
        self._send(200, body, headers=headers)

    def _not_modified(self, doc: _ApiDocument) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or doc.etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return doc.last_modified <= since
        return False

    # ---- registry ----------------------------------------------------------------------------

    def _authorized(self, image: str) -> bool:
        if self.headers.get("Authorization") == ANONYMOUS_BEARER:
            return True
        realm = f"http://{self.up.main_host}/token"
        challenge = f'Bearer realm="{realm}",service="ghcr.io",scope="repository:homebrew/core/{image}:pull"'
        self._error(401, "UNAUTHORIZED", "authentication required", headers={"WWW-Authenticate": challenge})
        return False

    def _manifest(self, image: str, reference: str) -> None:
        if not self._authorized(image):
            return
        catalogue = self.up.catalogue
        name = catalogue.name_for_image(image)
        releases = catalogue.releases_for_image(image)
        if name is None and not releases:
            self._error(404, "NAME_UNKNOWN", "repository name not known to registry")
            return
        keys = {image, *(r.name for r in releases)} | ({name} if name else set())
        fault = self.up.faults.take(keys, ["manifest_error", "manifest_wrong_digest"])
        if fault and fault.kind == "manifest_error":
            self._note = "fault:manifest_error"
            self._error(int(fault.params["status"]), "UNAVAILABLE", "service unavailable")
            return
        if reference.startswith("sha256:"):
            for release in releases:
                doc = oci.build_index(release)
                if reference in doc.manifests:
                    self._send(
                        200,
                        doc.manifests[reference],
                        oci.MANIFEST_MEDIA_TYPE,
                        {"Docker-Content-Digest": reference},
                    )
                    return
                if reference == doc.digest:
                    self._send(200, doc.body, oci.INDEX_MEDIA_TYPE, {"Docker-Content-Digest": reference})
                    return
            self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return
        release = catalogue.release(image, reference)
        if release is None:
            self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return
        doc = oci.build_index(release)
        body = doc.body
        if fault:  # manifest_wrong_digest
            self._note = "fault:manifest_wrong_digest"
            body = re.sub(rb'("sh.brew.bottle.digest": ")[0-9a-f]{64}', rb"\g<1>" + b"0" * 64, body)
        self._send(200, body, oci.INDEX_MEDIA_TYPE, {"Docker-Content-Digest": doc.digest})

    def _registry_blob(self, image: str, digest: str) -> None:
        if not self._authorized(image):
            return
        sha = digest.removeprefix("sha256:")
        self._sha = sha
        if not digest.startswith("sha256:") or self.up.catalogue.blob_image(sha) != image:
            self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return
        fault = self.up.faults.take([sha], REGISTRY_BLOB_KINDS)
        if fault:
            self._note = f"fault:{fault.kind}"
            if fault.kind == "rate_limit":
                retry_after = str(math.ceil(float(fault.params["retry_after"])))
                self._error(429, "TOOMANYREQUESTS", "rate limit exceeded", headers={"Retry-After": retry_after})
            elif fault.kind == "rate_limit_body":
                detail = {"retry_after": fault.params["retry_after"]}
                self._error(429, "TOOMANYREQUESTS", "rate limit exceeded", detail=detail)
            else:
                self._error(int(fault.params["status"]), "UNKNOWN", "internal server error")
            return
        self._send(307, b"", content_type="text/plain", headers={"Location": self.up.signed_blob_url(sha)})


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and float(q[2:] or 0) == 0)
    return False


class FakeUpstream:
    """Serves a Catalogue as formulae.brew.sh + ghcr.io (main host) and ghcr's blob CDN (blob host).

    with FakeUpstream(generate_catalogue(40)) as up:
        requests.get(up.api_url + "/formula.json")
    """

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        signing: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        blob_port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else generate_catalogue(40)
        self.signing = signing
        self.faults = faults if faults is not None else Faults()
        self.host = host
        self._requested_ports = (port, blob_port)
        self._servers: list[Server] = []
        self._threads: list[threading.Thread] = []
        self._stop_event = threading.Event()
        self._log_lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._doc_lock = threading.Lock()
        self._docs: dict[tuple, _ApiDocument] = {}
        self._secret = secrets.token_bytes(32)
        self.public_key_path: str | None = None
        self.port = 0
        self.blob_port = 0

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeUpstream:
        if self._servers:
            return self
        self._stop_event.clear()
        main = Server((self.host, self._requested_ports[0]), _MainHandler, self)
        blob = Server((self.host, self._requested_ports[1]), BlobHandler, self)
        self._servers = [main, blob]
        self.port = main.server_address[1]
        self.blob_port = blob.server_address[1]
        fd, path = tempfile.mkstemp(prefix="fake-upstream-", suffix=".pem")
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.public_key_pem)
        self.public_key_path = path
        for server, label in ((main, "main"), (blob, "blob")):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-upstream-{label}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop both servers promptly, cutting stalled and idle connections."""
        self._stop_event.set()
        servers, self._servers = self._servers, []
        for server in servers:
            server.shutdown()
        for server in servers:
            server.close_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=1)
        self._threads = []
        if self.public_key_path:
            with contextlib.suppress(OSError):
                os.unlink(self.public_key_path)
            self.public_key_path = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- addresses ---------------------------------------------------------------------------

    @property
    def main_host(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def blob_host(self) -> str:
        return f"{self.host}:{self.blob_port}"

    @property
    def allow_hosts(self) -> list[str]:
        return [self.main_host, self.blob_host]

    def cli_args(self) -> list[str]:
        """The homebrew-sync (and invoke_local) flags that point a run at this upstream."""
        args = [
            "--api-url",
            self.api_url,
            "--registry-url",
            self.registry_url,
            "--signing-key",
            str(self.public_key_path),
        ]
        for host in self.allow_hosts:
            args += ["--allow-host", host]
        return args

    def settings_env(self) -> dict[str, str]:
        """The same as HOMEBREW_SYNC_* environment variables (Lambda handlers, the ECS entrypoint)."""
        return {
            "HOMEBREW_SYNC_API_URL": self.api_url,
            "HOMEBREW_SYNC_REGISTRY_URL": self.registry_url,
            "HOMEBREW_SYNC_ALLOW_HOSTS": ",".join(self.allow_hosts),
            "HOMEBREW_SYNC_SIGNING_KEY": str(self.public_key_path),
        }

    @property
    def api_url(self) -> str:
        return f"http://{self.main_host}/api"

    @property
    def registry_url(self) -> str:
        return f"http://{self.main_host}/v2/homebrew/core"

    @property
    def public_key_pem(self) -> bytes:
        return jws.public_key_pem()

    def blob_url(self, sha256: str, name: str | None = None) -> str:
        """Registry URL of a blob (what formula.json's url becomes with root_url = registry_url)."""
        image = image_name(name) if name else self.catalogue.blob_image(sha256)
        return f"{self.registry_url}/{image}/blobs/sha256:{sha256}"

    def manifest_url(self, name: str, reference: str) -> str:
        return f"{self.registry_url}/{image_name(name)}/manifests/{reference}"

    def signed_blob_url(self, sha256: str) -> str:
        """A blob-host URL as the registry's 307 gives it: valid for ten minutes."""
        expiry = int(time.time()) + _URL_TTL
        query = f"se={expiry}&sig={self._sign(sha256, expiry)}"
        return f"http://{self.blob_host}/ghcr1/blobs/sha256:{sha256}?{query}"

    def _sign(self, sha256: str, expiry: int) -> str:
        mac = hmac.new(self._secret, f"{sha256}:{expiry}".encode(), hashlib.sha256).digest()
        return jws.b64url(mac)

    def _verify_signature(self, sha256: str, query: dict[str, list[str]]) -> bool:
        try:
            expiry = int(query["se"][0])
            signature = query["sig"][0]
        except (KeyError, IndexError, ValueError):
            return False
        return expiry >= time.time() and hmac.compare_digest(signature, self._sign(sha256, expiry))

    # ---- API documents -----------------------------------------------------------------------

    def _api_document(self, name: str, signed: bool, file: str) -> _ApiDocument | None:
        """An API file's bytes, gzipped and ETagged once per catalogue generation; None if not served."""
        catalogue = self.catalogue
        faults = self.faults
        bad_signature = signed and (file in faults.bad_signature_files or (name == "formula" and faults.bad_signature))
        tamper = signed and name == "formula" and faults.jws_payload_tamper
        with catalogue.lock:
            generation = catalogue.generation
            last_modified = catalogue.last_modified
            key = (name, signed, generation, bad_signature, tamper)
            with self._doc_lock:
                doc = self._docs.get(key)
            if doc is not None:
                return doc
            payload = api_files.payload(catalogue, name)
        if payload is None:
            return None
        body = jws.sign_jws(payload.decode(), bad_signature=bad_signature, tamper=tamper) if signed else payload
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        doc = _ApiDocument(body, gzip.compress(body, compresslevel=6, mtime=0), etag, last_modified)
        with self._doc_lock:
            # Keep only the newest documents: the 8,300-formula ones are tens of MB each.
            self._docs = {k: v for k, v in self._docs.items() if k[2] == generation}
            self._docs[key] = doc
        return doc

    # ---- request log -------------------------------------------------------------------------

    def _log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._records.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request so far, oldest first."""
        with self._log_lock:
            return list(self._records)

    def reset_log(self) -> None:
        with self._log_lock:
            self._records.clear()

    def blob_downloads(self, sha256: str) -> int:
        """Complete 200 GETs of this blob on the blob host."""
        return sum(
            1
            for r in self.requests
            if r.host == "blob" and r.method == "GET" and r.status == 200 and r.completed and r.sha256 == sha256
        )

    def index_requests(self, status: int | None = None) -> Counter[str]:
        """Requests for image indexes (`<image>/manifests/<tag>`, not manifests by digest), by path."""
        return Counter(
            r.path
            for r in self.requests
            if "/manifests/" in r.path and "sha256:" not in r.path and status in (None, r.status)
        )

    def authorization_refusals(self) -> int:
        """Requests the blob host refused because they carried an Authorization header."""
        return sum(1 for r in self.requests if r.host == "blob" and r.note == "authorization refused")
