"""A stand-in for CloudFront in front of the mirror bucket, as terraform/modules/s3 configures it.

Only the serving paths reach the bucket (bottles `*.tar.gz`, image indexes `*/manifests/*`, `api/*`);
everything else (state, runs, locks) is refused. Origin access control signs every origin request with
the distribution's own credentials, so a client's `Authorization` header never reaches S3; here the
request is made with boto3 and the client's header is dropped. GET and HEAD only; If-Modified-Since is
passed on, so a 304 comes back as S3 gives it.
"""

from __future__ import annotations

import fnmatch
import threading
from datetime import UTC
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

from fakes.httpserver import StoppableServer

SERVED_PATTERNS = ("*.tar.gz", "*/manifests/*", "api/*")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_POST(self) -> None:
        self._plain(405, b"method not allowed")

    do_PUT = do_DELETE = do_POST

    def _plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, *, body: bool) -> None:
        cdn: FakeCdn = self.server.cdn  # type: ignore[attr-defined]
        path = unquote(urlsplit(self.path).path).lstrip("/")
        cdn.seen_authorization.append(self.headers.get("Authorization"))
        if ".." in path or not any(fnmatch.fnmatchcase(path, p) for p in SERVED_PATTERNS):
            self._plain(403, b"AccessDenied")
            return
        request: dict[str, Any] = {"Bucket": cdn.bucket, "Key": cdn.prefix + path}
        since = self.headers.get("If-Modified-Since")
        if since:
            request["IfModifiedSince"] = since
        try:
            response = (cdn.s3.get_object if body else cdn.s3.head_object)(**request)
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
            if status == 304:
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._plain(404 if status in (403, 404) else status, b"NotFound")
            return
        data = response["Body"].read() if body else b""
        self.send_response(200)
        self.send_header("Content-Type", response.get("ContentType", "binary/octet-stream"))
        self.send_header("Content-Length", str(response["ContentLength"]))
        modified = response["LastModified"].astimezone(UTC)
        self.send_header("Last-Modified", format_datetime(modified, usegmt=True))
        self.send_header("ETag", response["ETag"])
        self.end_headers()
        if body:
            self.wfile.write(data)


class FakeCdn:
    """`with FakeCdn(s3_client, "bucket", "prefix") as cdn: requests.get(cdn.url + "/api/formula.jws.json")`"""

    def __init__(self, s3: Any, bucket: str, prefix: str = "") -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.seen_authorization: list[str | None] = []
        self._server: StoppableServer | None = None

    def __enter__(self) -> FakeCdn:
        self._server = StoppableServer(("127.0.0.1", 0), _Handler)
        self._server.cdn = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
