"""Driving the TikTok fake by hand: a connection to one of its shops, and bare signed requests.

For tests, benchmarks and debugging sessions. Production calls go through `client.py`;
`signed_call` builds the request from TikTok's signing guide with plain httpx instead, so a
test can also send what the client never would (a wrong secret, a stale timestamp, another
shop's cipher, a body that differs from the one signed).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from shelfsync.core.testing.server import RunningServer
from shelfsync.core.types import Connection, CredentialsCallback
from shelfsync.plugins.tiktok.signing import sign_request

#: Retry settings that keep fault tests fast.
FAST_RETRIES = {"retry_backoff": 0.01, "retry_max_backoff": 0.05}


def connection_for(
    running: RunningServer,
    index: int = 0,
    credentials: dict[str, str] | None = None,
    timeout: float = 2.0,
    on_credentials_refreshed: CredentialsCallback | None = None,
    **settings: Any,
) -> Connection:
    """A connection to shop `index` of a served `TikTokFake`: tiny retry backoffs, the fake as
    its own auth host, the shop's id as `platform_id`; `credentials` and `settings`
    override."""
    shop = running.app.connections()[index]
    options = {**FAST_RETRIES, "auth_base_url": running.base_url, **settings}
    creds = dict(shop["credentials"], **(credentials or {}))
    return Connection("tiktok", running.base_url, creds, options, timeout=timeout,
                      platform_id=str(shop["id"]),
                      on_credentials_refreshed=on_credentials_refreshed)


def signed_call(
    base: str,
    creds: dict[str, str],
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    raw: bytes | None = None,
    cipher: str | bool = True,
    token: str | None = None,
    timestamp: str | None = None,
    secret: str | None = None,
) -> httpx.Response:
    """One request signed the way TikTok's guide says; each keyword spoils one part of it."""
    params = {"app_key": creds["app_key"], "timestamp": timestamp or str(int(time.time()))}
    if cipher:
        params["shop_cipher"] = creds["shop_cipher"] if cipher is True else str(cipher)
    params.update(query or {})
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    headers = {"x-tts-access-token": creds["access_token"] if token is None else token}
    if content:
        headers["Content-Type"] = "application/json"
    params["sign"] = sign_request(secret or creds["app_secret"], path, params, content,
                                  headers.get("Content-Type"))
    return httpx.request(method, base + path, params=params, content=content, headers=headers)
