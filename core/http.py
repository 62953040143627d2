"""One httpx client factory and retry policy for every plugin, plus the SSRF guard.

Plugins build their clients with `make_client()` and run each API call through
`call_with_retries()`, so timeouts, backoff and the meaning of 429 / 5xx / timeouts are the
same everywhere. Platform-specific throttle signals (Shopify's THROTTLED inside a 200,
TikTok's code 36009002) are raised by the plugin's client as `RateLimited`, and this module
retries them like a 429.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

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
from shelfsync.core.http_guard import (
    guarded_transport,
    is_public_address,
    proxy_configured,
    proxy_mounts,
    refused_host_name,
    target_check,
)
from shelfsync.core.types import CONNECTION_SETTING_FIELDS, Connection

log = logging.getLogger(__name__)

T = TypeVar("T")

ALLOW_PRIVATE_ENV = "SHELFSYNC_ALLOW_PRIVATE_URLS"
USER_AGENT = "shelfsync/0.1 (+https://github.com/shelfsync/shelfsync)"
#: Query parameters whose values never reach a log line (some APIs, TikTok's token refresh
#: among them, take secrets in the query string).
SENSITIVE_QUERY_KEYS = frozenset({
    "access_token", "app_secret", "auth_code", "client_secret", "password", "refresh_token",
    "shop_cipher", "sign", "token",
    "consumer_key", "consumer_secret",  # WooCommerce's query-string auth
})
REDACTED = "REDACTED"


#: What is said instead of httpx's own text when a header cannot be sent: its message
#: ("Illegal header value b'…'", "'ascii' codec can't encode …") quotes the value, which is
#: usually a credential.
UNSENDABLE = ("the request was not sent: a header value (a credential?) holds a line break, a "
              "control or a non-ASCII character; the value is not shown")


def unsendable(platform: str) -> BadRequest:
    """The error for a request whose headers HTTP cannot carry: not retried, value not shown."""
    return BadRequest(f"{platform}: {UNSENDABLE}", platform=platform, code="unsendable_header")


def redact_url(url: object) -> str:
    """`url` as text with its sensitive query values and any password replaced."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<unparseable URL>"
    if parsed.password:
        parsed = parsed.copy_with(username=parsed.username, password=REDACTED)
    if parsed.query:
        params = [
            (key, REDACTED if key.lower() in SENSITIVE_QUERY_KEYS else value)
            for key, value in parsed.params.multi_items()
        ]
        parsed = parsed.copy_with(params=params)
    return str(parsed)


class RedactingFilter(logging.Filter):
    """Rewrites the URLs httpx logs ("HTTP Request: GET <url> …") through `redact_url`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx.URL) for arg in record.args
        ):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


_REDACTING_FILTER = RedactingFilter()
#: httpcore's loggers; at DEBUG they log a failed step's exception, header value included.
_HTTPCORE_LOGGERS = ("httpcore.connection", "httpcore.http11", "httpcore.http2",
                     "httpcore.proxy", "httpcore.socks")


class UnsendableHeaderFilter(logging.Filter):
    """Replaces a log line quoting a header httpx refused to send with `UNSENDABLE`."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "Illegal header value" in text or "codec can't encode" in text:
            record.msg, record.args = "%s", (UNSENDABLE,)
        return True


_UNSENDABLE_FILTER = UnsendableHeaderFilter()


def install_log_redaction() -> None:
    """Make httpx's request log lines safe (idempotent): it logs full URLs at INFO, and
    httpcore's debug lines quote a header value it could not send."""
    logging.getLogger("httpx").addFilter(_REDACTING_FILTER)
    for name in _HTTPCORE_LOGGERS:
        logging.getLogger(name).addFilter(_UNSENDABLE_FILTER)


#: Set to 1 to log every API request (httpx's own INFO line, URL redacted) in the workers.
LOG_REQUESTS_ENV = "SHELFSYNC_LOG_REQUESTS"


def quiet_request_log() -> None:
    """Keep httpx's one-line-per-request log out of a long-running process's INFO output,
    unless `SHELFSYNC_LOG_REQUESTS=1` asks for it.

    A worker makes several calls per order and per push; their lines drowned the ones a
    merchant reads (each order's outcome, each sync's counts) and cost about 3 % of the
    embedded process's CPU at 20 orders a second (bench/order_sync.py). Failures are still
    logged by our own code, with their reason.
    """
    if not env_flag(LOG_REQUESTS_ENV):
        logging.getLogger("httpx").setLevel(logging.WARNING)


def env_flag(name: str) -> bool:
    """Whether the operator turned an on/off variable on (`1`, `true` or `yes`)."""
    return os.environ.get(name, "") in {"1", "true", "yes"}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is retried."""

    attempts: int = 6
    backoff: float = 0.5
    max_backoff: float = 30.0

    @classmethod
    def for_connection(cls, connection: Connection) -> RetryPolicy:
        """Read `retry_attempts` / `retry_backoff` / `retry_max_backoff` through core's declared
        fields: a stored value out of type or range (`1e300` would park a worker) reads as the
        default, so one bad setting cannot stop every call."""
        fields = {field.name: field for field in CONNECTION_SETTING_FIELDS}
        settings = connection.settings
        return cls(
            attempts=int(fields["retry_attempts"].read(settings)),
            backoff=float(fields["retry_backoff"].read(settings)),
            max_backoff=float(fields["retry_max_backoff"].read(settings)),
        )

    def delay(self, attempt: int, hint: float | None = None) -> float:
        """Seconds to wait before retry `attempt` (1-based): the server's hint, or jittered
        exponential backoff."""
        if hint is not None and hint > 0:
            return min(hint, self.max_backoff)
        base = min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)
        return base * (0.5 + random.random() / 2)


def make_client(connection: Connection, **kwargs: object) -> httpx.Client:
    """An httpx client for a connection: its base URL, its timeout, our user agent.

    Also installs the log redaction, since httpx logs every request's full URL at INFO, and,
    unless private URLs are allowed, the guard that refuses a host resolving to a private
    address at request time: on the address dialled for a direct connection, and, when a
    proxy from the environment will carry requests, by name and resolved address before
    each request leaves (see core/http_guard.py).
    """
    install_log_redaction()
    headers = {"User-Agent": USER_AGENT}
    headers.update(kwargs.pop("headers", {}) or {})  # type: ignore[arg-type]
    kwargs.setdefault("verify", shared_ssl_context())
    if "transport" not in kwargs and not private_urls_allowed():
        # Checked again at every new connection: the host's DNS may have changed since the
        # connection was saved (see core/http_guard.py).
        verify = kwargs.pop("verify")
        kwargs["transport"] = guarded_transport(verify, is_public_address)  # type: ignore[arg-type]
        if kwargs.get("trust_env", True) and proxy_configured():
            # Given a transport, httpx drops the environment's proxies: mount them again.
            # Proxied requests bypass the guarded transport: check each before it leaves.
            kwargs["mounts"] = {**proxy_mounts(verify),  # type: ignore[arg-type]
                                **(kwargs.get("mounts") or {})}  # type: ignore[dict-item]
            hooks = dict(kwargs.pop("event_hooks", None) or {})  # type: ignore[call-overload]
            hooks["request"] = [target_check(is_public_address), *hooks.get("request", [])]
            kwargs["event_hooks"] = hooks
    try:
        return httpx.Client(
            base_url=connection.base_url,
            timeout=httpx.Timeout(connection.timeout),
            headers=headers,
            **kwargs,  # type: ignore[arg-type]
        )
    except UnicodeEncodeError:
        raise unsendable(connection.platform) from None


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client of the process.

    httpx builds a new context (loading the CA bundle) for each client unless given one: about
    35 ms, more than the API call itself, for a hook that opens a client per call.
    """
    return httpx.create_ssl_context()


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
            except (httpx.LocalProtocolError, UnicodeEncodeError):
                # Raised before anything is sent, with the header's value in the text.
                raise unsendable(platform) from None
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
    return env_flag(ALLOW_PRIVATE_ENV)


def check_public_url(url: str) -> str:
    """Refuse a user-given base URL that is not http(s) or resolves to a private address.

    The URL is parsed with httpx, the parser that later sends the requests, so the host
    checked is the host contacted. A URL carrying a user name or password is refused: it
    would sit in plain text in the database and in logs. Returns the URL without a trailing
    slash. Raises `ConfigurationError` with the reason.
    """
    try:
        parts = httpx.URL(url)
        port = parts.port
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ConfigurationError(f"not an http(s) URL: {url!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.host:
        raise ConfigurationError(f"not an http(s) URL: {url!r}")
    if parts.userinfo:
        raise ConfigurationError("the URL must not carry a user name or password; "
                                 "give credentials as credential fields")
    if port is not None and not 0 < port < 65536:
        raise ConfigurationError(f"not an http(s) URL: port {port} is out of range")
    if private_urls_allowed():
        return url.rstrip("/")
    reason = refused_host_name(parts.host)
    if reason is not None:
        raise ConfigurationError(f"{reason}; set {ALLOW_PRIVATE_ENV}=1 to allow private and "
                                 "loopback URLs")
    default_port = 443 if parts.scheme == "https" else 80
    try:
        infos = socket.getaddrinfo(parts.host, port or default_port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigurationError(f"cannot resolve {parts.host!r}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not is_public_address(address):
            raise ConfigurationError(
                f"{parts.host!r} resolves to the non-public address {address}; "
                f"set {ALLOW_PRIVATE_ENV}=1 to allow private and loopback URLs"
            )
    return url.rstrip("/")
