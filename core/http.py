"""One httpx client factory and retry policy for every plugin, plus the SSRF guard.

Plugins build their clients with `make_client()` and run each API call through
`call_with_retries()`, so timeouts, backoff and the meaning of 429 / 5xx / timeouts are the
same everywhere. Platform-specific throttle signals (Shopify's THROTTLED inside a 200,
TikTok's code 36009002) are raised by the plugin's client as `RateLimited`, and this module
retries them like a 429.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from shelfsync.core.errors import (
    AuthError,
    BadRequest,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    PluginError,
    RateLimited,
    TransientError,
)
from shelfsync.core.types import Connection

log = logging.getLogger(__name__)

T = TypeVar("T")

ALLOW_PRIVATE_ENV = "SHELFSYNC_ALLOW_PRIVATE_URLS"
USER_AGENT = "shelfsync/0.1 (+https://github.com/shelfsync/shelfsync)"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is retried."""

    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0

    @classmethod
    def for_connection(cls, connection: Connection) -> RetryPolicy:
        """Read `retry_attempts` / `retry_backoff` from the connection's settings."""
        settings = connection.settings
        return cls(
            attempts=int(settings.get("retry_attempts", cls.attempts)),
            backoff=float(settings.get("retry_backoff", cls.backoff)),
            max_backoff=float(settings.get("retry_max_backoff", cls.max_backoff)),
        )

    def delay(self, attempt: int, hint: float | None = None) -> float:
        """Seconds to wait before retry `attempt` (1-based): the server's hint, or jittered
        exponential backoff."""
        if hint is not None and hint > 0:
            return min(hint, self.max_backoff)
        base = min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)
        return base * (0.5 + random.random() / 2)


def make_client(connection: Connection, **kwargs: object) -> httpx.Client:
    """An httpx client for a connection: its base URL, its timeout, our user agent."""
    headers = {"User-Agent": USER_AGENT}
    headers.update(kwargs.pop("headers", {}) or {})  # type: ignore[arg-type]
    return httpx.Client(
        base_url=connection.base_url,
        timeout=httpx.Timeout(connection.timeout),
        headers=headers,
        **kwargs,  # type: ignore[arg-type]
    )


def raise_for_status(
    response: httpx.Response, platform: str, request_id: str | None = None
) -> None:
    """Map an HTTP error status to a typed error; do nothing on 2xx/3xx."""
    status = response.status_code
    if status < 400:
        return
    text = response.text[:300]
    if status == 401:
        raise AuthError(
            f"{platform}: unauthorized: {text}", platform=platform, request_id=request_id
        )
    if status == 403:
        raise PermissionDenied(
            f"{platform}: forbidden: {text}", platform=platform, request_id=request_id
        )
    if status == 404:
        raise NotFound(f"{platform}: not found: {text}", platform=platform, request_id=request_id)
    if status == 429:
        raise RateLimited(
            f"{platform}: rate limited",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            platform=platform,
            request_id=request_id,
        )
    if status >= 500:
        raise TransientError(
            f"{platform}: server error {status}", platform=platform, request_id=request_id
        )
    raise BadRequest(f"{platform}: HTTP {status}: {text}", platform=platform, request_id=request_id)


def parse_retry_after(value: str | None, default: float = 1.0) -> float:
    """Seconds from a Retry-After header (seconds form), or `default`."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    platform: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying retryable failures (rate limits, 5xx, timeouts, unreadable bodies).

    Transport errors and timeouts raised by httpx become `TransientError`. The last error is
    re-raised once the attempts are spent, so the engine can decide what to do next.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            try:
                return call()
            except httpx.TimeoutException as exc:
                raise TransientError(f"{platform}: timed out: {exc}", platform=platform) from exc
            except httpx.TransportError as exc:
                raise TransientError(
                    f"{platform}: connection failed: {exc}", platform=platform
                ) from exc
        except PluginError as exc:
            if not exc.retryable or attempt >= policy.attempts:
                raise
            hint = exc.retry_after if isinstance(exc, RateLimited) else None
            wait = policy.delay(attempt, hint)
            log.info("%s: %s; retry %d in %.2fs", platform, type(exc).__name__, attempt, wait)
            sleep(wait)


def private_urls_allowed() -> bool:
    """Whether the operator allowed private and loopback API base URLs (demo, tests)."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "") in {"1", "true", "yes"}


def check_public_url(url: str) -> str:
    """Refuse a user-given base URL that is not http(s) or resolves to a private address.

    Returns the URL without a trailing slash. Raises `ConfigurationError` with the reason.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(f"not an http(s) URL: {url!r}")
    if private_urls_allowed():
        return url.rstrip("/")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ConfigurationError(f"cannot resolve {parts.hostname!r}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ConfigurationError(
                f"{parts.hostname!r} resolves to the non-public address {address}; "
                f"set {ALLOW_PRIVATE_ENV}=1 to allow private and loopback URLs"
            )
    return url.rstrip("/")
