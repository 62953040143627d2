"""TikTok Shop access-token refresh, and how the new tokens get back to whoever stores them.

A TikTok access token lives about a week and is renewed with the refresh token at
`GET {auth_base}/api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token`
(a GET with query parameters: the auth host answers POST with 404). The answer may rotate the
refresh token too, so the new pair must be stored or the connection is lost at the next refresh.
Plugins cannot write to the database, so the client hands the new tokens, as credentials
(`token_credentials`), to the connection's `on_credentials_refreshed` callback; core merges
them into the connection's stored credentials in a transaction of its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shelfsync.core.errors import AuthError, BadResponse
from shelfsync.core.http import (
    USER_AGENT,
    check_public_url,
    install_log_redaction,
    raise_for_status,
)
from shelfsync.core.types import Connection
from shelfsync.plugins.tiktok.settings import AUTH_BASE_URL

log = logging.getLogger(__name__)

PLATFORM = "tiktok"
DEFAULT_AUTH_BASE = "https://auth.tiktok-shops.com"
REFRESH_PATH = "/api/v2/token/refresh"


@dataclass(frozen=True)
class TokenSet:
    """A fresh access/refresh token pair; expiries are Unix seconds as TikTok sends them."""

    access_token: str = ""
    refresh_token: str = ""
    access_token_expires_at: int | None = None
    refresh_token_expires_at: int | None = None

    def __repr__(self) -> str:  # tokens are secrets: never in logs or tracebacks
        return (
            f"TokenSet(access_token_expires_at={self.access_token_expires_at}, "
            f"refresh_token_expires_at={self.refresh_token_expires_at})"
        )


def token_credentials(tokens: TokenSet) -> dict[str, str]:
    """The credentials a refresh changed: the new tokens and the access token's expiry."""
    changed = {}
    if tokens.access_token:
        changed["access_token"] = tokens.access_token
    if tokens.refresh_token:
        changed["refresh_token"] = tokens.refresh_token
    if tokens.access_token_expires_at:
        changed["access_token_expire_in"] = str(tokens.access_token_expires_at)
    return changed


def report_tokens(connection: Connection, tokens: TokenSet) -> bool:
    """Hand new tokens to the connection's `on_credentials_refreshed`; False without one."""
    callback = connection.on_credentials_refreshed
    if callback is None:
        log.warning("tiktok: access token refreshed but the connection has no "
                    "on_credentials_refreshed; the new tokens live only as long as this client")
        return False
    callback(token_credentials(tokens))
    return True


def auth_base_url(connection: Connection) -> str:
    """The auth host: `settings["auth_base_url"]` (a fake serves it itself) or TikTok's.

    The refresh call carries the app secret and the refresh token, and a setting is not
    checked when a connection is made, so a configured URL goes through the SSRF guard here:
    a private or loopback host is a `ConfigurationError` unless private URLs are allowed.
    TikTok's own host is not resolved in advance (a passing DNS failure stays retryable).
    """
    configured = AUTH_BASE_URL.read(connection.settings)
    if not configured:
        return DEFAULT_AUTH_BASE
    return check_public_url(str(configured))


def _int_or_none(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadResponse(f"tiktok: token refresh: {name} is not an integer", platform=PLATFORM)
    return value


def parse_token_response(payload: Any, request_id: str | None = None) -> TokenSet:
    """Read the refresh answer's `data`; a refused refresh is an `AuthError` (re-authorize)."""
    if not isinstance(payload, dict):
        raise BadResponse("tiktok: token refresh: body is not an object", platform=PLATFORM)
    request_id = str(payload.get("request_id") or request_id or "") or None
    code = payload.get("code")
    if code != 0:
        # 36004001 "rt has expired", 36004005 "can not find related auth record" …: every
        # refusal here means the seller must authorize the app again.
        raise AuthError(
            f"tiktok: token refresh refused: {payload.get('message', '')}",
            platform=PLATFORM,
            request_id=request_id,
            code=str(code),
        )
    data = payload.get("data")
    if not isinstance(data, dict):
        raise BadResponse(
            "tiktok: token refresh: data is missing", platform=PLATFORM, request_id=request_id
        )
    access = data.get("access_token")
    refresh = data.get("refresh_token")
    for name, value in (("access_token", access), ("refresh_token", refresh)):
        if not isinstance(value, str) or not value:
            raise BadResponse(
                f"tiktok: token refresh: data.{name} is missing",
                platform=PLATFORM,
                request_id=request_id,
            )
    return TokenSet(
        access_token=str(access),
        refresh_token=str(refresh),
        access_token_expires_at=_int_or_none(data, "access_token_expire_in"),
        refresh_token_expires_at=_int_or_none(data, "refresh_token_expire_in"),
    )


def request_refresh(connection: Connection, http: httpx.Client, refresh_token: str) -> TokenSet:
    """One refresh call (no retries: the caller runs it through `call_with_retries`).

    TikTok takes the app secret and refresh token in the query string, so httpx's request
    log line is redacted before the call is made.
    """
    credentials = connection.credentials
    if not refresh_token:
        raise AuthError("tiktok: no refresh token stored; authorize the shop again",
                        platform=PLATFORM)
    url = auth_base_url(connection) + REFRESH_PATH
    install_log_redaction()
    response = http.get(
        url,
        params={
            "app_key": credentials.get("app_key", ""),
            "app_secret": credentials.get("app_secret", ""),
            "refresh_token": refresh_token,
            "grant_type": "refresh_token",
        },
        headers={"User-Agent": USER_AGENT},
    )
    try:
        payload = json.loads(response.content)
    except ValueError:
        raise_for_status(response, PLATFORM)
        raise BadResponse(
            "tiktok: token refresh: body is not JSON", platform=PLATFORM
        ) from None
    if response.status_code >= 500 or response.status_code == 429:
        raise_for_status(response, PLATFORM, payload.get("request_id") if isinstance(
            payload, dict) else None)
    return parse_token_response(payload)
