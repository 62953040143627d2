"""The TikTok Shop fake's gateway: envelopes, error codes, request authentication and QPS.

Error codes and messages follow TikTok's "common errors" page (as collected in the public
`rymndcs/tiktok_shop_rb_api` fixture `test/fixtures/error_list.json`) and observed responses:
a bad `sign` is HTTP 401 + 106001 with `"data": null` and the live message (a 2026 capture on
tiktok-api.gemyno-lab.fr); 36009004 is TikTok's overloaded "invalid parameter" code (bad
app_key, stale timestamp, invalid access token, unexpected shop_cipher, a wrongly typed body
field: its message pattern is quoted in EcomPHP/tiktokshop-php issue #23). HTTP statuses
other than 401 for 106001 and 429 for 36009002 are our choice.
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.tiktok.fake_state import Shop
from shelfsync.plugins.tiktok.signing import sign_request, signatures_match

RATE_LIMITED = 36009002
INTERNAL_ERROR = 36009003
INVALID_PARAM = 36009004
REQUEST_TIMEOUT = 36009007
BAD_BODY_FORMAT = 36009022
INVALID_PATH = 36009009
INVALID_METHOD = 36009010
INVALID_SIGN = 106001
EXPIRED_TOKEN = 105002
MISSING_CIPHER = 106013
AUTH_RECORD_NOT_FOUND = 36004005

MESSAGES = {
    RATE_LIMITED: "Too many requests. You've made too many requests in a short period of time.",
    INTERNAL_ERROR: "Internal error. Please try again. If the issue persists after multiple "
    "attempts, please contact platform support.",
    REQUEST_TIMEOUT: "Request timeout. The request to the endpoint timed out.",
    INVALID_PATH: "Invalid path. The specified path does not match any available endpoint.",
    INVALID_METHOD: "Invalid method. The HTTP method used is not supported by this endpoint.",
    # The live text (2026); the common-errors page has `sign` in backticks and no link.
    INVALID_SIGN: "Invalid credentials. The 'sign' query parameter is invalid. For more "
    "details: https://m.tiktok.shop/s/AIu6dbFhs2XW",
    EXPIRED_TOKEN: "Expired credentials. The `access_token` or `x-tts-access-token` header "
    "has expired.",
    BAD_BODY_FORMAT: "Invalid request format. The request body format must be "
    "`application/json` for structured data or `multipart/form-data` for binary files.",
    MISSING_CIPHER: "Missing identifier. The `shop_cipher` query parameter is required to "
    "identify the target shop.",
}
BAD_APP_KEY = "Invalid credentials. Invalid `app_key` query parameter."
MISSING_SIGN = (
    "Missing credentials. The request does not include a required signature in the query."
)
STALE_TIMESTAMP = (
    "Invalid timestamp. The value of the `timestamp` query parameter must not be earlier than "
    "5 minutes before the current time."
)
FUTURE_TIMESTAMP = (
    "Invalid timestamp. The value of the `timestamp` query parameter must not exceed the "
    "current time by more than 30 seconds."
)
NEGATIVE_TIMESTAMP = (
    "Invalid timestamp. The value of the `timestamp` query parameter must not be lesser than 0."
)
BAD_TOKEN = "Invalid credentials. The `x-tts-access-token` header is invalid."
UNEXPECTED_CIPHER = (
    "Unexpected identifier. The `shop_cipher` query parameter is not required for this request."
)
# Patterned on the documented "The `shop_id` query parameter is invalid" (exact text unconfirmed).
BAD_CIPHER = "Invalid identifier. The `shop_cipher` query parameter is invalid."
FUTURE_SKEW = 30


class ApiError(Exception):
    """An error answered in TikTok's envelope."""

    def __init__(self, code: int, message: str | None = None, http_status: int = 200) -> None:
        super().__init__(message or MESSAGES.get(code, "error"))
        self.code = code
        self.message = message or MESSAGES.get(code, "error")
        self.http_status = http_status


def invalid_param(message: str = "invalid param error") -> ApiError:
    """TikTok's generic 36009004 with HTTP 400."""
    return ApiError(INVALID_PARAM, message, 400)


# Go-style names TikTok's type check reports for a JSON value ("actual type is:string").
_JSON_TYPES: dict[type, str] = {str: "string", bool: "bool", int: "int64", float: "float64",
                                list: "array", dict: "object", type(None): "null"}


def type_error(name: str, value: Any, expected: str) -> ApiError:
    """A body field of the wrong JSON type, refused as TikTok does (36009004).

    Only the string/int64 wording is quoted from a real answer; the names of other types
    follow the same Go pattern and are our guess."""
    actual = _JSON_TYPES.get(type(value), type(value).__name__)
    return invalid_param(f"param {name} type invalid,actual type is:{actual},"
                         f"expected type is:{expected}")


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body (`{}` when empty).

    A body sent under another media type is 36009022; `application/json` with parameters
    (charset) is fine, and so is a body without a Content-Type (unconfirmed, kept lenient).
    An empty JSON array counts as an empty object: EcomPHP/tiktokshop-php sends `[]` for
    searches without body filters and the real API answers them."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    media = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if media and media != "application/json":
        raise ApiError(BAD_BODY_FORMAT, http_status=400)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise invalid_param("Invalid param. The request body is not valid JSON.") from exc
    if body == []:
        return {}
    if not isinstance(body, dict):
        raise invalid_param("Invalid param. The request body must be a JSON object.")
    return body


class RequestIds:
    """Request ids shaped like TikTok's: UTC time to the second + 20 upper-case hex digits."""

    def __init__(self, seed: int) -> None:
        self._counter = itertools.count(seed * 1_000_003 + 1)
        self._lock = threading.Lock()

    def next(self) -> str:
        """A new request id."""
        with self._lock:
            n = next(self._counter)
        return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"{n:020X}"[-20:]


def envelope_response(
    request_id: str, data: Any = None, error: ApiError | None = None
) -> Response:
    """`{code, message, request_id, data}`; errors carry `data: null` as TikTok's do."""
    if error is not None:
        body = {"code": error.code, "data": None, "message": error.message,
                "request_id": request_id}
        return json_response(body, error.http_status)
    return json_response({"code": 0, "data": data, "message": "Success", "request_id": request_id})


class QpsLimiter:
    """A sliding one-second window per key (app + shop); `qps=None` turns it off."""

    def __init__(self, qps: float | None) -> None:
        self.qps = qps
        self._hits: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record one request for `key` unless that would exceed the limit."""
        if self.qps is None:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, collections.deque())
            while hits and hits[0] <= now - 1.0:
                hits.popleft()
            if len(hits) >= self.qps:
                return False
            hits.append(now)
            return True

    def set(self, qps: float | None) -> None:
        """Change the limit and forget past requests."""
        with self._lock:
            self.qps = qps
            self._hits.clear()


@dataclass
class Credentials:
    """The app's key and secret plus how far in the past a timestamp may be."""

    app_key: str
    app_secret: str
    clock_skew: int = 300


def check_signed_request(request: Request, creds: Credentials, now: float) -> dict[str, str]:
    """Check app_key, timestamp and sign; return the query parameters."""
    query = {key: request.args.get(key, "") for key in request.args}
    if query.get("app_key") != creds.app_key:
        raise invalid_param(BAD_APP_KEY)
    if not query.get("sign"):
        raise invalid_param(MISSING_SIGN)
    timestamp = query.get("timestamp", "")
    # Compared as a number: milliseconds are "too far ahead", a negative value "below 0".
    if not timestamp.removeprefix("-").isdigit():
        raise invalid_param(STALE_TIMESTAMP)
    if int(timestamp) < 0:
        raise invalid_param(NEGATIVE_TIMESTAMP)
    if int(timestamp) < now - creds.clock_skew:
        raise invalid_param(STALE_TIMESTAMP)
    if int(timestamp) > now + FUTURE_SKEW:
        raise invalid_param(FUTURE_TIMESTAMP)
    expected = sign_request(
        creds.app_secret, request.path, query, request.get_data(cache=True),
        request.headers.get("Content-Type"),
    )
    if not signatures_match(expected, query["sign"]):
        raise ApiError(INVALID_SIGN, http_status=401)
    return query


def shop_for_token(token: str | None, shops_by_token: Mapping[str, Shop], now: float) -> Shop:
    """The shop whose access token this is; expired or unknown tokens are refused."""
    shop = shops_by_token.get(token or "")
    if shop is None:
        raise ApiError(INVALID_PARAM, BAD_TOKEN, 401)
    if shop.tokens.access_expires <= now:
        raise ApiError(EXPIRED_TOKEN, http_status=401)
    return shop


def check_cipher(query: Mapping[str, str], shop: Shop, shop_scoped: bool) -> None:
    """Shop-scoped calls need the token's own shop's cipher; others must not send one."""
    cipher = query.get("shop_cipher")
    if not shop_scoped:
        if cipher:
            raise invalid_param(UNEXPECTED_CIPHER)
        return
    if not cipher:
        raise ApiError(MISSING_CIPHER, http_status=400)
    if cipher != shop.cipher:
        raise invalid_param(BAD_CIPHER)
