"""A base for JSON-over-HTTP platform clients: a plugin says only what differs.

Following Airbyte's `HttpStream`, a plugin's client subclasses `RestClient` and gives its
`platform`, `auth_headers()`, and, where the platform has them, `map_error()` (a 422 "no such
SKU" is a `NotFound`) and `check_payload()` (a throttle signal inside a 200). The base owns
what every REST plugin would otherwise write again:

- one httpx client per instance from `make_client` (base URL, timeout, address guard, the
  shared TLS context, log redaction);
- JSON decoding: an unreadable 2xx body is `BadResponse` (retried), an error status a typed
  error (`raise_for_status`, after `map_error`);
- retries from `RetryPolicy.for_connection`, for reads only: a write is sent once unless the
  caller says it is idempotent (setting a quantity is; creating an order is not);
- `page_number_pages()` and `cursor_pages()`, which yield one page of items at a time and read
  a missing or non-list item array as a bad answer, never as the end of the data;
- `create_once()`: look the object up before every attempt to create it, so "created, answer
  lost" cannot make a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import httpx

from shelfsync.core.errors import BadResponse, PluginError
from shelfsync.core.http import RetryPolicy, call_with_retries, make_client, raise_for_status
from shelfsync.core.types import Connection

T = TypeVar("T")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RestClient:
    """A JSON REST API client for one connection; use it as a context manager."""

    #: The platform's name, as in `PlatformInfo.name` (set by each subclass).
    platform: ClassVar[str] = ""

    def __init__(self, connection: Connection, *, sleep: Callable[[float], None] = time.sleep
                 ) -> None:
        self.connection = connection
        self.policy = RetryPolicy.for_connection(connection)
        self._sleep = sleep
        self._http = make_client(connection, headers=self.auth_headers())

    # --- what a platform says -------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate every request (from `self.connection.credentials`)."""
        return {}

    def map_error(self, response: httpx.Response, payload: Any) -> PluginError | None:
        """The typed error for an error `response` the standard mapping gets wrong, or None.

        `payload` is the decoded JSON body (None when it is not JSON). Example: a platform
        answering 422 `{"error": {"code": "unknown_sku"}}` returns `NotFound(…)` here.
        """
        return None

    def check_payload(self, response: httpx.Response, payload: Any) -> None:
        """Raise a typed error for a 2xx answer that is really a failure (a throttle signal
        inside a 200, an error envelope); do nothing otherwise."""

    # --- requests --------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, idempotent: bool | None = None) -> Any:
        """Send one request and return its decoded JSON body (None for an empty 204).

        Reads are retried under the connection's retry policy; a write only when the caller
        passes `idempotent=True`, because a retried create can create twice.
        """
        retried = method.upper() in _SAFE_METHODS if idempotent is None else idempotent

        def once() -> Any:
            response = self._http.request(method, path, params=_clean(params), json=json)
            return self._decode(response)

        if not retried:
            return call_with_retries(once, RetryPolicy(attempts=1), platform=self.platform)
        return call_with_retries(once, self.policy, platform=self.platform, sleep=self._sleep)

    def get(self, path: str, **params: Any) -> Any:
        """GET `path` with query `params` (None values left out); retried."""
        return self.request("GET", path, params=params)

    def _decode(self, response: httpx.Response) -> Any:
        payload = _json_or_none(response)
        if response.status_code >= 400:
            mapped = self.map_error(response, payload)
            if mapped is not None:
                raise mapped
            raise_for_status(response, self.platform,
                             request_id=response.headers.get("X-Request-Id"))
        if response.status_code == 204 or not response.content:
            return None
        if payload is None:
            raise BadResponse(f"{self.platform}: the answer to {response.request.url.path} is "
                              "not JSON", platform=self.platform)
        self.check_payload(response, payload)
        return payload

    # --- pagination ------------------------------------------------------------------------

    def page_number_pages(self, path: str, *, items: str, page_size: int,
                          params: Mapping[str, Any] | None = None, page_param: str = "page",
                          size_param: str = "per_page", first_page: int = 1,
                          more: str | None = None) -> Iterator[list[Any]]:
        """Yield the `items` array of each page of `path` (`?page=N&per_page=M`).

        The end is the answer's `more` flag when the platform has one, else a short page.
        """
        page = first_page
        while True:
            payload = self.get(path, **{**(params or {}), page_param: page,
                                        size_param: page_size})
            found = items_of(payload, items, self.platform)
            yield found
            if more is not None:
                flag = payload.get(more)
                if not isinstance(flag, bool):
                    raise BadResponse(f"{self.platform}: {path}: {more!r} is not a boolean",
                                      platform=self.platform)
                if not flag:
                    return
            elif len(found) < page_size:
                return
            page += 1

    def cursor_pages(self, path: str, *, items: str, page_size: int,
                     params: Mapping[str, Any] | None = None, cursor_param: str = "cursor",
                     size_param: str = "limit", next_key: str = "next_cursor"
                     ) -> Iterator[list[Any]]:
        """Yield the `items` array of each page of `path`, following `next_key` cursors until
        the answer gives none (null or an empty string)."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            payload = self.get(path, **{**(params or {}), cursor_param: cursor,
                                        size_param: page_size})
            yield items_of(payload, items, self.platform)
            cursor = payload.get(next_key)
            if not cursor:
                return
            if not isinstance(cursor, str) or cursor in seen:
                raise BadResponse(f"{self.platform}: {path}: {next_key} {cursor!r} is not a "
                                  "new cursor", platform=self.platform)
            seen.add(cursor)

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def items_of(payload: Any, key: str, platform: str) -> list[Any]:
    """`payload[key]` as a list; a missing or non-list array is a `BadResponse`, because
    reading it as "no items" would end a paged read early and lose data."""
    found = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(found, list):
        raise BadResponse(f"{platform}: the answer has no {key!r} array", platform=platform)
    return found


def create_once(find: Callable[[], T | None], create: Callable[[], T], policy: RetryPolicy,
                *, platform: str = "", sleep: Callable[[float], None] = time.sleep,
                looked_up: bool = False) -> tuple[T, bool]:
    """`(object, created)`: look the object up, create it only when absent, and on a retryable
    failure start again from the look-up, so a create whose answer was lost is found, not
    repeated. `find` must look up by the caller's own key (the channel's order id).

    `looked_up=True`: the caller has just looked (in a request that also read what the create
    needs) and found nothing, so the first attempt creates at once; every retry still looks
    up first.
    """
    attempts = 0

    def attempt() -> tuple[T, bool]:
        nonlocal attempts
        attempts += 1
        if not (looked_up and attempts == 1):
            existing = find()
            if existing is not None:
                return existing, False
        return create(), True

    return call_with_retries(attempt, policy, platform=platform, sleep=sleep)


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {key: value for key, value in params.items() if value is not None}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
