"""Injectable upstream failures, so retry, backoff, timeout and verification paths can be tested.

A fault is keyed by what the failing request is about (a bottle sha256, a formula name, or "api")
and fires for its next `times` matching requests (-1: always), then the upstream behaves again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# kind -> default parameters. Where each one fires:
#   registry blob request (/v2/.../blobs/sha256:X): rate_limit, rate_limit_body, server_error
#   blob host (the 307 target): truncated, wrong_bytes, stall, slow_drip
#   manifests endpoint (keyed by formula name or image): manifest_error, manifest_wrong_digest (an image index
#   whose bottle digests do not match the API, as a stale or foreign index would)
#   formula.json / formula.jws.json (key "api"), any API file (key "api:<file>", e.g.
#   "api:cask.jws.json", "api:internal/packages.arm64_sonoma.jws.json"): api_error (status 404 = not served)
FAULT_KINDS: dict[str, dict[str, float | int]] = {
    "rate_limit": {"retry_after": 1},
    "rate_limit_body": {"retry_after": 1},
    "server_error": {"status": 503},
    "truncated": {},
    "wrong_bytes": {},
    "stall": {"seconds": 3600, "prefix_bytes": 0},
    "slow_drip": {"interval": 0.5, "chunk": 1},
    "manifest_error": {"status": 503},
    "manifest_wrong_digest": {},
    "api_error": {"status": 503},
    "api_oversized": {"bytes": 20 << 20, "gzip": 1},  # a body this large once decoded (zeros, gzipped by default)
}
REGISTRY_BLOB_KINDS = ("rate_limit", "rate_limit_body", "server_error")
BLOB_HOST_KINDS = ("truncated", "wrong_bytes", "stall", "slow_drip")
API_KEY = "api"


@dataclass
class Fault:
    """One armed fault. `remaining` counts down from `times` (-1 never does); `hits` counts firings."""

    key: str
    kind: str
    times: int = 1
    params: dict = field(default_factory=dict)
    remaining: int = 1
    hits: int = 0

    def __getattr__(self, item: str):
        # fault.retry_after, fault.seconds ... read the parameters.
        params = self.__dict__.get("params", {})
        if item in params:
            return params[item]
        raise AttributeError(item)


class Faults:
    """The upstream's fault switchboard (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.bad_signature = False
        self.jws_payload_tamper = False
        self.bad_signature_files: set[str] = set()  # e.g. {"cask.jws.json"}: served with a signature that fails

    def add(self, key: str, kind: str, times: int = 1, **params) -> Fault:
        """Arm `kind` for requests about `key` for the next `times` requests (-1 = always)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
        unknown = set(params) - set(FAULT_KINDS[kind])
        if unknown:
            raise ValueError(f"fault {kind!r} takes no parameter(s) {sorted(unknown)}")
        if times == 0 or times < -1:
            raise ValueError("times must be a positive count or -1 (always)")
        fault = Fault(key=key, kind=kind, times=times, params={**FAULT_KINDS[kind], **params}, remaining=times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, keys: Iterable[str], kinds: Iterable[str]) -> Fault | None:
        """Consume one firing of the first armed fault matching any key and kind, if any."""
        keys, kinds = set(keys), set(kinds)
        with self._lock:
            for fault in self._faults:
                if fault.key in keys and fault.kind in kinds and fault.remaining != 0:
                    if fault.remaining > 0:
                        fault.remaining -= 1
                    fault.hits += 1
                    return fault
        return None

    def pending(self) -> list[Fault]:
        """Faults that will still fire."""
        with self._lock:
            return [f for f in self._faults if f.remaining != 0]

    def all(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.bad_signature = False
        self.jws_payload_tamper = False
        self.bad_signature_files = set()

    def load(self, spec: dict | list, resolve: Callable[[str, str | None], list[str]] | None = None) -> list[Fault]:
        """Arm faults from a JSON document (see load_file)."""
        if isinstance(spec, list):
            spec = {"faults": spec}
        self.bad_signature = bool(spec.get("bad_signature", self.bad_signature))
        self.jws_payload_tamper = bool(spec.get("jws_payload_tamper", self.jws_payload_tamper))
        added = []
        for item in spec.get("faults", []):
            item = dict(item)
            kind = item.pop("kind")
            times = int(item.pop("times", 1))
            key = item.pop("key", None)
            formula = item.pop("formula", None)
            tag = item.pop("tag", None)
            if kind.startswith("api_"):
                keys = [key or API_KEY]
            elif key:
                keys = [key]
            elif formula and kind.startswith("manifest_"):
                keys = [formula]
            elif formula and resolve:
                keys = resolve(formula, tag)
            else:
                raise ValueError(f"fault {kind!r} needs 'key' (sha256 / formula name) or 'formula' [+ 'tag']")
            for k in keys:
                added.append(self.add(k, kind, times=times, **item))
        return added

    def load_file(self, path: str | Path, resolve: Callable[[str, str | None], list[str]] | None = None):
        """Arm faults from a JSON file:

        {"bad_signature": false, "jws_payload_tamper": false,
         "faults": [{"kind": "rate_limit", "key": "<sha256>", "times": 2, "retry_after": 1},
                    {"kind": "truncated", "formula": "curl", "tag": "arm64_sonoma"},
                    {"kind": "manifest_error", "formula": "curl", "times": -1},
                    {"kind": "api_error", "times": 1}]}

        A bare list is taken as the "faults" list. `formula` without `tag` arms every bottle of it.
        """
        return self.load(json.loads(Path(path).read_text()), resolve)
