"""HTTP client for the TikTok Shop Open API (202309 versioned paths).

Every call is signed as `signing.py` says: `app_key`, `timestamp` and (shop-scoped calls)
`shop_cipher` in the query, `sign` over the path, those parameters and the exact body bytes
sent, and the access token in the `x-tts-access-token` header. The `{code, message,
request_id, data}` envelope becomes typed errors (core/errors.py) carrying the request id;
retries go through `call_with_retries`; the access token is refreshed shortly before it
expires and once on an expired-token answer (see auth.py for how new tokens reach storage);
and a client-side pacer keeps a long push under the shop's QPS instead of being throttled.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from shelfsync.core.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    NotFound,
    PermissionDenied,
    PluginError,
    RateLimited,
    TransientError,
)
from shelfsync.core.http import (
    RetryPolicy,
    call_with_retries,
    make_client,
    parse_retry_after,
)
from shelfsync.core.types import Connection
from shelfsync.plugins.tiktok.auth import TokenSet, report_tokens, request_refresh
from shelfsync.plugins.tiktok.settings import QPS, QPS_HEADROOM, TOKEN_REFRESH_MARGIN
from shelfsync.plugins.tiktok.signing import sign_request

PLATFORM = "tiktok"
DEFAULT_BASE_URL = "https://open-api.tiktokglobalshop.com"

CODE_RATE_LIMITED = 36009002
CODE_INTERNAL = 36009003
CODE_INVALID_PARAM = 36009004
CODE_BAD_SIGNATURE = 106001
CODE_MISSING_SHOP_CIPHER = 106013
CODE_MISSING_SCOPE = 105005
#: Answers that a refresh can cure: 105001 invalid and 105002 expired access token.
TOKEN_CODES = frozenset({105001, 105002})
#: The message openings TikTok uses when it refuses the credentials themselves.
_CREDENTIAL_MESSAGES = ("Invalid credentials", "Missing credentials", "Expired credentials")


@dataclass(frozen=True)
class Envelope:
    """A successful (or, for partial-success endpoints, partly failed) API answer."""

    data: dict[str, Any]
    request_id: str | None = None
    code: int = 0
    message: str = ""


# --- pacing -------------------------------------------------------------------------------


@dataclass
class Pacer:
    """Spaces request starts at least 1/qps apart, shared by every client of one shop.

    TikTok's limit is per app and shop, so a shop's pacer is shared across the clients a
    process builds for it (see `pacer_for`). Each caller reserves the next free slot under
    the lock and sleeps outside it, so threads never start two requests in one slot.
    """

    qps: float
    sleep: Callable[[float], None] = time.sleep
    _next: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self) -> None:
        """Block until this caller's slot comes."""
        interval = 1.0 / self.qps
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + interval
        if start > now:
            self.sleep(start - now)


_pacers: dict[tuple[str, str, str, float], Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(connection: Connection, base_url: str) -> Pacer | None:
    """The shared pacer of the connection's shop, when `settings["qps"]` sets a limit.

    Both are read through their declared fields: an unusable stored value counts as unset.
    """
    settings = connection.settings
    if settings.get("qps") in (None, "", 0):
        return None
    qps = float(QPS.read(settings)) * float(QPS_HEADROOM.read(settings))
    if qps <= 0:
        return None
    key = (
        base_url,
        connection.credentials.get("app_key", ""),
        connection.credentials.get("shop_cipher", ""),
        qps,
    )
    with _pacers_lock:
        pacer = _pacers.get(key)
        if pacer is None:
            pacer = _pacers[key] = Pacer(qps)
        return pacer


# --- envelope -----------------------------------------------------------------------------


def error_for(
    code: int | None, status: int, message: str, request_id: str | None, retry_after: float
) -> PluginError:
    """The typed error for a failed answer: TikTok's code first, the HTTP status otherwise."""
    text = f"tiktok: {message or 'HTTP ' + str(status)} (code {code}, HTTP {status})"
    kwargs: dict[str, Any] = {
        "platform": PLATFORM,
        "request_id": request_id,
        "code": None if code is None else str(code),
    }
    if code == CODE_RATE_LIMITED or status == 429:
        return RateLimited(text, retry_after=retry_after, **kwargs)
    if code == CODE_INTERNAL or status >= 500:
        return TransientError(text, **kwargs)
    if code == CODE_MISSING_SCOPE or status == 403:
        return PermissionDenied(text, **kwargs)
    # 105xxx are access-token errors, 106xxx credential/signature errors, 36004xxx token
    # grants; TikTok also answers a bad token or app key with its catch-all 36009004 but
    # HTTP 401 and an "Invalid credentials." message. All mean: re-authorize (or refresh).
    prefix = str(code or "")
    credentials_refused = message.startswith(_CREDENTIAL_MESSAGES)
    if code != CODE_MISSING_SHOP_CIPHER and (
        status == 401 or credentials_refused or prefix.startswith(("105", "106", "36004"))
    ):
        return AuthError(text, **kwargs)
    if code in (CODE_INVALID_PARAM, CODE_MISSING_SHOP_CIPHER):
        return BadRequest(text, **kwargs)
    if status == 404:
        return NotFound(text, **kwargs)
    return BadRequest(text, **kwargs)


def parse_envelope(response: httpx.Response, *, partial_ok: bool = False) -> Envelope:
    """Read `{code, message, request_id, data}`; raise the typed error when code != 0.

    With `partial_ok`, an answer whose code is not 0 but whose `data.errors` lists what
    failed (inventory update) is returned so the caller can report per SKU.
    """
    status = response.status_code
    header_id = response.headers.get("x-tt-logid")
    retry_after = parse_retry_after(response.headers.get("Retry-After"), default=0.0)
    try:
        payload = json.loads(response.content)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        if status >= 400:
            raise error_for(None, status, response.text[:200], header_id, retry_after)
        raise BadResponse(
            "tiktok: the answer is not a JSON object", platform=PLATFORM, request_id=header_id
        )
    raw_id = payload.get("request_id")
    request_id = str(raw_id) if raw_id else header_id
    code = payload.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        if status >= 400:
            raise error_for(None, status, str(payload)[:200], request_id, retry_after)
        raise BadResponse(
            "tiktok: the answer has no integer `code`", platform=PLATFORM, request_id=request_id
        )
    message = str(payload.get("message") or "")
    data = payload.get("data")
    if data is None:
        data = {}
    if code == 0 and status < 400:
        if not isinstance(data, dict):
            raise BadResponse(
                "tiktok: `data` is not an object", platform=PLATFORM, request_id=request_id
            )
        return Envelope(data, request_id, code, message)
    error = error_for(code, status, message, request_id, retry_after)
    partial = (
        partial_ok
        and type(error) is BadRequest
        and isinstance(data, dict)
        and isinstance(data.get("errors"), list)
        and bool(data["errors"])
    )
    if partial:
        return Envelope(data, request_id, code, message)
    raise error


# --- client -------------------------------------------------------------------------------


def _expiry(raw: Any) -> float | None:
    """A stored token expiry (Unix seconds); unreadable means unknown, so the token is then
    refreshed when TikTok calls it expired rather than ahead of time."""
    try:
        value = float(raw) if raw not in (None, "") and not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and math.isfinite(value) else None


class TikTokClient:
    """A signed, paced, retrying client for one connection (one shop of one app)."""

    def __init__(self, connection: Connection, http: httpx.Client | None = None) -> None:
        self.connection = connection
        self.base_url = (connection.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.policy = RetryPolicy.for_connection(connection)
        creds = connection.credentials
        self.app_key = str(creds.get("app_key", ""))
        self._app_secret = str(creds.get("app_secret", ""))
        self.shop_cipher = str(creds.get("shop_cipher", ""))
        self._access_token = str(creds.get("access_token", ""))
        self._refresh_token = str(creds.get("refresh_token", ""))
        self._expires_at = _expiry(creds.get("access_token_expire_in")
                                   or connection.settings.get("access_token_expires_at"))
        self._margin = float(TOKEN_REFRESH_MARGIN.read(connection.settings))
        self._token_lock = threading.Lock()
        #: The tokens of the last refresh made by this client (None when none was needed).
        self.refreshed: TokenSet | None = None
        self.pacer = pacer_for(connection, self.base_url)
        self._own_http = http is None
        self.http = http or make_client(
            Connection(
                connection.platform, self.base_url, {}, connection.settings,
                connection.id, connection.timeout,
            )
        )

    def close(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._own_http:
            self.http.close()

    def __enter__(self) -> TikTokClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- tokens ---------------------------------------------------------------------------

    def refresh_access_token(self, stale: str | None = None) -> TokenSet | None:
        """Renew the access token with the refresh token and report the new pair.

        With `stale` (the token a call was refused with), nothing is done when another
        thread already replaced that token, so one expiry costs one refresh.
        """
        with self._token_lock:
            if stale is not None and stale != self._access_token:
                return None
            tokens = call_with_retries(
                lambda: request_refresh(self.connection, self.http, self._refresh_token),
                self.policy,
                platform=PLATFORM,
            )
            self._access_token = tokens.access_token
            self._refresh_token = tokens.refresh_token or self._refresh_token
            self._expires_at = tokens.access_token_expires_at
            self.refreshed = tokens
        report_tokens(self.connection, tokens)
        return tokens

    def _ensure_fresh_token(self) -> None:
        if self._expires_at is None or not self._refresh_token:
            return
        if time.time() >= self._expires_at - self._margin:
            self.refresh_access_token(stale=self._access_token)

    # --- calls ----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        shop_scoped: bool = True,
        partial_ok: bool = False,
    ) -> Envelope:
        """One API call, retried; refreshes the token once if TikTok says it expired."""
        self._ensure_fresh_token()
        # Serialized once: these exact bytes are signed and sent on every attempt.
        raw = b"" if body is None else json.dumps(
            body, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        params = {key: str(value) for key, value in (query or {}).items() if value is not None}

        def attempt() -> Envelope:
            return self._send(method, path, params, raw, body is not None, shop_scoped, partial_ok)

        used = self._access_token
        try:
            return call_with_retries(attempt, self.policy, platform=PLATFORM)
        except AuthError as exc:
            # Another thread may have refreshed, or be refreshing, while this call was in
            # flight: the token it was sent with may be gone already (TikTok then answers
            # "invalid", not "expired"). Wait for any refresh under way, then look.
            with self._token_lock:
                replaced = used != self._access_token
            expired = exc.code in {str(c) for c in TOKEN_CODES} and bool(self._refresh_token)
            if not (replaced or expired):
                raise
        if not replaced:
            self.refresh_access_token(stale=used)
        return call_with_retries(attempt, self.policy, platform=PLATFORM)

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        raw: bytes,
        has_body: bool,
        shop_scoped: bool,
        partial_ok: bool,
    ) -> Envelope:
        if self.pacer is not None:
            self.pacer.wait()
        query = dict(params)
        query["app_key"] = self.app_key
        query["timestamp"] = str(int(time.time()))
        if shop_scoped and self.shop_cipher:
            query["shop_cipher"] = self.shop_cipher
        content_type = "application/json" if has_body else None
        query["sign"] = sign_request(self._app_secret, path, query, raw, content_type)
        headers = {"x-tts-access-token": self._access_token}
        if content_type:
            headers["Content-Type"] = content_type
        response = self.http.request(
            method, self.base_url + path, params=query, content=raw if has_body else None,
            headers=headers,
        )
        return parse_envelope(response, partial_ok=partial_ok)

    def pages(
        self,
        method: str,
        path: str,
        *,
        page_size: int,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        page_token: str | None = None,
    ) -> Iterator[Envelope]:
        """Every page of a `page_token`/`next_page_token` listing, from `page_token` on."""
        seen: set[str] = set()
        while True:
            params = dict(query or {})
            params["page_size"] = page_size
            if page_token:
                params["page_token"] = page_token
            envelope = self.call(method, path, query=params, body=body)
            yield envelope
            token = envelope.data.get("next_page_token") or ""
            if not isinstance(token, str):
                raise BadResponse("tiktok: data.next_page_token is not a string",
                                  platform=PLATFORM, request_id=envelope.request_id)
            if not token:
                return
            if token in seen:
                raise BadResponse(f"tiktok: {path} repeated page token {token!r}",
                                  platform=PLATFORM, request_id=envelope.request_id)
            seen.add(token)
            page_token = token
