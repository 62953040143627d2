"""The WooCommerce REST API v3 client: `{site}/wp-json/wc/v3` with the site's consumer key.

Built on core's `RestClient` (retries for reads, typed errors, `create_once`). What is
WooCommerce's own:

- Auth: HTTP Basic `consumer_key:consumer_secret`, or, when the operator turns on
  `query_string_auth` (hosts that strip the Authorization header), the `consumer_key` and
  `consumer_secret` query parameters. Either way the secret travels with every request, so
  plain `http://` is refused unless the site is on a loopback or private address (a test
  store): a public site must be reached over HTTPS.
- `connection.base_url` is the site's root URL (the part before `/wp-json/`), which may sit
  in a sub-folder; the API's paths are joined under it.
- Collections are paged with `page`/`per_page` (at most 100); the end is `X-WP-TotalPages`,
  and a missing or unreadable header, or an answer that is not a list, is a bad answer.
- Errors are WordPress's `{code, message, data: {status}}`, mapped by `code` and status:
  `*_invalid_id` → NotFound, 401 → AuthError (a key without write permission:
  PermissionDenied), `rest_no_route` → a clear "no wc/v3 here" BadRequest.
- Batch endpoints take at most 100 items a call (`batch` splits larger ones).
"""

from __future__ import annotations

import base64
import ipaddress
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from shelfsync.core.errors import (
    AuthError,
    BadRequest,
    BadResponse,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    PluginError,
)
from shelfsync.core.http import call_with_retries
from shelfsync.core.http_guard import is_public_address, refused_host_name
from shelfsync.core.rest import RestClient
from shelfsync.core.types import Connection
from shelfsync.plugins.woocommerce import settings

PLATFORM = "woocommerce"
API_ROOT = "wp-json/wc/v3/"
#: `woocommerce_rest_batch_items_limit`'s default.
BATCH_LIMIT = 100


def check_transport(connection: Connection) -> None:
    """Refuse to send the consumer secret in clear text to a public host.

    HTTPS always; plain HTTP only to a loopback or private address, or a local-only name
    (`localhost`, `*.local`, `*.internal` …): a test store on the operator's own network.
    """
    try:
        url = httpx.URL(connection.base_url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ConfigurationError(f"{PLATFORM}: the site URL is not a URL") from None
    if url.scheme == "https":
        return
    if url.scheme != "http" or not url.host:
        raise ConfigurationError(f"{PLATFORM}: the site URL must be http(s)")
    if refused_host_name(url.host) is not None:
        return  # a local-only name
    try:
        if not is_public_address(ipaddress.ip_address(url.host)):
            return
    except ValueError:
        pass
    raise ConfigurationError(
        f"{PLATFORM}: the consumer key would travel in clear text over http:// to "
        f"{url.host}; use the site's https:// URL (plain HTTP is accepted only for a test "
        "store on a loopback or private address)", code="insecure_transport")


class WooClient(RestClient):
    """A WooCommerce site's wc/v3 API for one connection."""

    platform = PLATFORM

    def __init__(self, connection: Connection, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        check_transport(connection)
        credentials = connection.credentials
        self._key = credentials.get("consumer_key", "")
        self._secret = credentials.get("consumer_secret", "")
        if not self._key or not self._secret:
            raise ConfigurationError(f"{PLATFORM}: consumer_key and consumer_secret are "
                                     "required", code="missing_credentials")
        self._query_auth = bool(settings.QUERY_STRING_AUTH.read(connection.settings))
        self.page_size = int(settings.PAGE_SIZE.read(connection.settings))
        super().__init__(connection, sleep=sleep)
        self.sleep = sleep
        #: The server's `Date` on the last page read (None when it sent none): the store's
        #: own clock, which the change poll compares modification dates with.
        self.last_date: datetime | None = None

    def auth_headers(self) -> dict[str, str]:
        """HTTP Basic with the key, unless the key travels in the query string."""
        if self._query_auth:
            return {}
        token = base64.b64encode(f"{self._key}:{self._secret}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, idempotent: bool | None = None) -> Any:
        """One call to `wc/v3/<path>` (see `RestClient.request`)."""
        return super().request(method, API_ROOT + path.lstrip("/"), params=self._auth(params),
                               json=json, idempotent=idempotent)

    def _auth(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = dict(params or {})
        if self._query_auth:
            merged.update(consumer_key=self._key, consumer_secret=self._secret)
        return merged

    # --- errors ---------------------------------------------------------------------------

    def map_error(self, response: httpx.Response, payload: Any) -> PluginError | None:
        """WordPress's `{code, message, data.status}` as a typed error."""
        if not isinstance(payload, dict) or not isinstance(payload.get("code"), str):
            return None
        code = payload["code"]
        message = str(payload.get("message") or "")[:200]
        text = f"{PLATFORM}: {code}: {message}"
        status = response.status_code
        if status == 401:
            if "permission" in message.lower():
                return PermissionDenied(text, platform=PLATFORM, code=code)
            return AuthError(text, platform=PLATFORM, code=code)
        if status == 403:
            return PermissionDenied(text, platform=PLATFORM, code=code)
        if code == "rest_no_route":
            return BadRequest(f"{PLATFORM}: no wc/v3 route at {response.request.url.path}: is "
                              "the URL the site's root (before /wp-json/), with WooCommerce "
                              "active and pretty permalinks on?", platform=PLATFORM, code=code)
        if code.endswith("_invalid_id") or code == "woocommerce_rest_invalid_product_id" \
                or status == 404:
            return NotFound(text, platform=PLATFORM, code=code)
        if 400 <= status < 500 and status != 429:
            return BadRequest(text, platform=PLATFORM, code=code)
        return None

    # --- pages ----------------------------------------------------------------------------

    def pages(self, path: str, params: Mapping[str, Any] | None = None,
              page_size: int | None = None, *, max_pages: int | None = None
              ) -> Iterator[list[dict[str, Any]]]:
        """Yield each page of a collection, in order, until `X-WP-TotalPages`."""
        size = page_size or self.page_size
        page = 1
        while True:
            items, total_pages = self.page(path, {**(params or {}), "page": page,
                                                  "per_page": size})
            yield items
            if page >= total_pages or (max_pages is not None and page >= max_pages):
                return
            page += 1

    def page(self, path: str, params: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int]:
        """One page of a collection and the number of pages (`X-WP-TotalPages`); retried."""
        url = API_ROOT + path.lstrip("/")
        query = {k: v for k, v in self._auth(params).items() if v is not None}

        def once() -> tuple[list[dict[str, Any]], int]:
            response = self._http.request("GET", url, params=query)
            payload = self._decode(response)
            if not isinstance(payload, list) or not all(isinstance(i, dict) for i in payload):
                raise BadResponse(f"{PLATFORM}: {path}: the answer is not a list of objects",
                                  platform=PLATFORM)
            raw = response.headers.get("X-WP-TotalPages", "")
            if not raw.strip().isdigit():
                raise BadResponse(f"{PLATFORM}: {path}: no readable X-WP-TotalPages header",
                                  platform=PLATFORM)
            # The last `Date` when several came (the fake's clock follows its server's).
            dates = response.headers.get_list("Date")
            self.last_date = _http_date(dates[-1] if dates else None)
            return payload, int(raw)

        return call_with_retries(once, self.policy, platform=PLATFORM, sleep=self.sleep)

    def batch(self, path: str, *, update: Sequence[Mapping[str, Any]] = (),
              delete: Sequence[int] = ()) -> list[dict[str, Any]]:
        """Send updates and deletes through `<path>/batch`, at most 100 items a call; the
        per-item answers in order (an item WooCommerce refused carries an `error`).
        Retried: an update sets values and a delete of a deleted id answers an error item."""
        items: list[tuple[str, Any]] = [("update", u) for u in update]
        items += [("delete", d) for d in delete]
        answers: list[dict[str, Any]] = []
        for start in range(0, len(items), BATCH_LIMIT):
            chunk = items[start:start + BATCH_LIMIT]
            body = {"update": [v for k, v in chunk if k == "update"],
                    "delete": [v for k, v in chunk if k == "delete"]}
            payload = self.request("POST", f"{path.rstrip('/')}/batch",
                                   json={k: v for k, v in body.items() if v}, idempotent=True)
            if not isinstance(payload, dict):
                raise BadResponse(f"{PLATFORM}: {path}/batch: the answer is not an object",
                                  platform=PLATFORM)
            for kind in ("update", "delete"):
                got = payload.get(kind, [])
                if body[kind] and (not isinstance(got, list) or len(got) != len(body[kind])):
                    raise BadResponse(f"{PLATFORM}: {path}/batch: {kind} answered "
                                      f"{len(got) if isinstance(got, list) else 'no'} items "
                                      f"for {len(body[kind])}", platform=PLATFORM)
                answers += got if body[kind] else []
        return answers


def _http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` header as an aware UTC time; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
