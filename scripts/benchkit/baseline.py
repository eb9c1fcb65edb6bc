"""The simplest correct mirrors, run as a process of their own: what the engine's throughput is set against.

    python scripts/benchkit/baseline.py JOB.json

Per unique blob: registry GET with the anonymous Bearer header, the 307 followed by hand without it, the
body read in 1 MiB pieces through sha256, then either a temp file + fsync + rename into a folder (`local`)
or the whole blob in ONE `put_object` carrying `ChecksumSHA256` (`s3`). Prints one JSON line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

CHUNK = 1 << 20


def main(job_path: str) -> int:
    # The clock starts before the S3 client library is imported and the client built, as the engine's
    # own clock (duration_s) includes opening its storage; neither includes interpreter start-up.
    started = time.perf_counter()
    job = json.loads(Path(job_path).read_text())
    local = threading.local()
    client = None
    if job["mode"] == "s3":
        import boto3
        from botocore.config import Config

        config = Config(max_pool_connections=max(10, job["concurrency"]))
        client = boto3.client("s3", endpoint_url=job["endpoint"], config=config)

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def body(blob: dict[str, Any]) -> requests.Response:
        http = session()
        response = http.get(blob["url"], headers={"Authorization": "Bearer QQ=="}, allow_redirects=False, timeout=60)
        if response.status_code in (301, 302, 303, 307, 308):
            location = urljoin(blob["url"], response.headers["Location"])
            response.close()
            response = http.get(location, stream=True, timeout=60)
        response.raise_for_status()
        return response

    def to_folder(blob: dict[str, Any]) -> int:
        response = body(blob)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=job["dest"], prefix=".part-")
        with os.fdopen(fd, "wb") as out:
            for chunk in response.iter_content(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        response.close()
        if digest.hexdigest() != blob["sha256"]:
            os.unlink(tmp)
            raise RuntimeError(f"sha256 mismatch for {blob['sha256']}")
        os.rename(tmp, os.path.join(job["dest"], blob["sha256"]))
        return size

    def to_bucket(blob: dict[str, Any]) -> int:
        response = body(blob)
        digest = hashlib.sha256()
        data = bytearray()
        for chunk in response.iter_content(CHUNK):
            digest.update(chunk)
            data += chunk
        response.close()
        if digest.hexdigest() != blob["sha256"]:
            raise RuntimeError(f"sha256 mismatch for {blob['sha256']}")
        client.put_object(
            Bucket=job["bucket"],
            Key=f"{job['prefix']}/{blob['sha256']}",
            Body=bytes(data),
            ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
        )
        return len(data)

    store = to_bucket if job["mode"] == "s3" else to_folder
    setup = time.perf_counter() - started
    with ThreadPoolExecutor(max_workers=job["concurrency"]) as pool:
        sizes = list(pool.map(store, job["blobs"]))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "setup_s": setup, "bytes": sum(sizes), "blobs": len(sizes)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
