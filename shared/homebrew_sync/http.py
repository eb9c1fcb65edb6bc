"""HTTP with the politeness rules the mirror promises: allow-listed hosts, timeouts, bounded retries.

Retries use full-jitter exponential backoff, and honour `Retry-After` on 429 and 5xx (the header, or the
JSON body form ghcr.io uses) as long as it fits the retry budget. Redirects are followed by hand so that
each hop is checked against the allow-list and the registry's Authorization header is never forwarded.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import requests
from requests.adapters import HTTPAdapter

from homebrew_sync import __version__
from homebrew_sync.errors import RedirectRefused, UnsafeInputError, UpstreamError
from homebrew_sync.urls import AllowList, resolve_redirect

if TYPE_CHECKING:
    from homebrew_sync.config import Settings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
GHCR_ANONYMOUS = {"Authorization": "Bearer QQ=="}  # base64("A"): ghcr.io wants a header even anonymously
USER_AGENT = f"homebrew-bottles-sync/{__version__}"
_BODY_RETRY_RE = re.compile(r"retry[-_ ]after\D{0,3}([0-9]+(?:\.[0-9]+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 60.0
    budget_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.max_attempts,
            base_s=settings.backoff_base_s,
            max_backoff_s=settings.backoff_max_s,
            max_retry_after_s=settings.max_retry_after_s,
            budget_s=settings.retry_budget_s,
        )

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_backoff_s, self.base_s * 2**attempt))


class RetryState:
    """Attempts and sleep budget of one logical request (a download may span several HTTP requests)."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None]) -> None:
        self.policy = policy
        self.sleep = sleep
        self.attempt = 0
        self.slept = 0.0

    def wait(self, reason: str, retry_after: float | None = None) -> None:
        """Sleep before the next attempt, or raise UpstreamError when attempts or budget are spent."""
        self.attempt += 1
        if self.attempt >= self.policy.max_attempts:
            raise UpstreamError(f"{reason} (gave up after {self.attempt} attempts)")
        if retry_after is not None:
            if retry_after > self.policy.max_retry_after_s:
                raise UpstreamError(f"{reason}: Retry-After {retry_after:.0f}s exceeds the allowed wait")
            delay = retry_after
        else:
            delay = self.policy.backoff(self.attempt)
        if self.slept + delay > self.policy.budget_s:
            raise UpstreamError(f"{reason} (retry budget of {self.policy.budget_s:.0f}s spent)")
        self.slept += delay
        self.sleep(delay)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or a ghcr-style JSON error body."""
    header = response.headers.get("Retry-After")
    if header:
        header = header.strip()
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                return None
    try:
        if int(response.headers.get("Content-Length", "0") or 0) > 65536:
            return None
        body = response.content
    except (requests.RequestException, ValueError):
        return None
    try:
        for error in json.loads(body).get("errors", []):
            detail = error.get("detail")
            if isinstance(detail, dict) and isinstance(detail.get("retry_after"), int | float):
                return max(0.0, float(detail["retry_after"]))
            match = _BODY_RETRY_RE.search(str(error.get("message", "")))
            if match:
                return float(match.group(1))
    except (ValueError, AttributeError, TypeError):
        pass
    match = _BODY_RETRY_RE.search(body[:4096].decode("utf-8", "replace"))
    return float(match.group(1)) if match else None


class HttpClient:
    """A requests session bound to the allow-list, timeouts and retry policy of the settings."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.allow: AllowList = settings.allow_list()
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        self.policy = RetryPolicy.from_settings(settings)
        self.sleep = sleep
        self._local = threading.local()
        self._pool = max(settings.concurrency, settings.size_concurrency) + 4

    @property
    def session(self) -> requests.Session:
        """One session per thread: requests sessions are not documented as thread-safe."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self._pool, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        ok: frozenset[int] = frozenset({200}),
        retry: RetryState | None = None,
        what: str = "request",
    ) -> requests.Response:
        """GET one URL (no redirects) with retries; returns a response whose status is in `ok`.

        404 and other final statuses raise UpstreamError with `.status` set.
        """
        self.allow.check(url)
        retry = retry or RetryState(self.policy, self.sleep)
        while True:
            try:
                response = self.session.get(
                    url, headers=dict(headers or {}), stream=stream, timeout=self.timeout, allow_redirects=False
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                retry.wait(f"{what}: {type(exc).__name__}")
                continue
            if response.status_code in ok:
                return response
            if response.status_code in RETRY_STATUSES:
                delay = retry_after_seconds(response)
                response.close()
                retry.wait(f"{what}: HTTP {response.status_code}", delay)
                continue
            response.close()
            error = UpstreamError(f"{what}: HTTP {response.status_code} from {_host(url)}")
            error.status = response.status_code
            raise error

    def get_blob(
        self, url: str, *, retry: RetryState | None = None, what: str = "download", max_hops: int = 3
    ) -> requests.Response:
        """GET a registry blob with the anonymous Bearer header, following redirects by hand.

        Each hop must be allow-listed; the Authorization header is sent to the registry only
        (homebrew.md section 3: pkg-containers must not receive it).
        """
        retry = retry or RetryState(self.policy, self.sleep)
        headers: dict[str, str] = dict(GHCR_ANONYMOUS)
        for _ in range(max_hops + 1):
            response = self.get(url, headers=headers, stream=True, ok=REDIRECT_STATUSES | {200}, retry=retry, what=what)
            if response.status_code == 200:
                return response
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise UpstreamError(f"{what}: redirect without Location")
            target = resolve_redirect(url, location)
            try:
                self.allow.check(target)
            except UnsafeInputError as exc:
                raise RedirectRefused(f"{what}: {exc.message}") from None
            if _host(target) != _host(url):
                headers = {}
            url = target
        raise UpstreamError(f"{what}: more than {max_hops} redirects")


def _host(url: str) -> str:
    return requests.utils.urlparse(url).netloc
