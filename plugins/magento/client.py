"""The Magento 2 REST client: paths under `{base}/rest/{store_code}/V1/`, bearer auth,
Magento's error envelope mapped to the typed errors, and `searchCriteria` paging.

Paging follows Magento's collections, which answer the *last page again* for a page past the
end: the client never asks for a page past `ceil(total_count / pageSize)` (recomputed from
each answer), so it cannot loop on a repeated page, and a page that comes back empty before
the end is a bad answer, never the end of the data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from shelfsync.core.errors import AuthError, BadRequest, BadResponse, NotFound, PluginError
from shelfsync.core.rest import RestClient, items_of
from shelfsync.core.types import Connection
from shelfsync.plugins.magento import settings

PLATFORM = "magento"
#: One filter: (field, value, condition type).
Filter = tuple[str, str, str]


def render_message(payload: Any) -> str:
    """Magento's error message with its parameters put in (`%1`, or `%name`), shortened."""
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), str):
        return ""
    text = payload["message"]
    parameters = payload.get("parameters")
    if isinstance(parameters, list):
        for index, value in reversed(list(enumerate(parameters, start=1))):
            text = text.replace(f"%{index}", str(value))
    elif isinstance(parameters, dict):
        for name, value in parameters.items():
            text = text.replace(f"%{name}", str(value))
    return text[:300]


class MagentoClient(RestClient):
    """A client for one store view of one Magento installation."""

    platform = PLATFORM

    def __init__(self, connection: Connection, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.store_code = settings.STORE_CODE.read(connection.settings)
        self.page_size = int(settings.PAGE_SIZE.read(connection.settings))

    @property
    def sleep(self) -> Any:
        """The sleep function retries use (injected by tests)."""
        return self._sleep

    def auth_headers(self) -> dict[str, str]:
        """The integration access token as a bearer token."""
        return {"Authorization": f"Bearer {self.connection.credentials.get('access_token', '')}",
                "Accept": "application/json"}

    def map_error(self, response: httpx.Response, payload: Any) -> PluginError | None:
        """Magento's envelope as a typed error: 401 re-auth, 404 not found, other 4xx (not
        429) refused; 429 and 5xx keep the standard (retryable) mapping."""
        status = response.status_code
        if status == 429 or status >= 500:
            return None
        text = render_message(payload) or f"HTTP {status}"
        message = f"magento: {text}"
        if status == 401:
            return AuthError(message, platform=PLATFORM, code="unauthorized")
        if status == 404:
            return NotFound(message, platform=PLATFORM)
        return BadRequest(message, platform=PLATFORM)

    # --- paths -----------------------------------------------------------------------------

    def path(self, rest: str) -> str:
        """`rest` (after `/V1/`) under this store view."""
        return f"rest/{self.store_code}/V1/{rest}"

    def call(self, method: str, rest: str, *, params: dict[str, Any] | None = None,
             body: Any = None) -> Any:
        """One request to `/V1/{rest}`; a write always carries a JSON body (Magento refuses
        a write without `Content-Type: application/json`)."""
        if method == "GET":
            return self.request("GET", self.path(rest), params=params)
        return self.request(method, self.path(rest), params=params,
                            json={} if body is None else body)

    # --- searchCriteria --------------------------------------------------------------------

    def search_pages(self, rest: str, groups: Sequence[Sequence[Filter]] = (),
                     sort: Sequence[tuple[str, str]] = (), page_size: int | None = None
                     ) -> Iterator[list[dict[str, Any]]]:
        """Yield each page of a `searchCriteria` list (`items`), up to `total_count`."""
        size = page_size or self.page_size
        page = 1
        while True:
            params = criteria_params(groups, sort, size, page)
            payload = self.call("GET", rest, params=params)
            items = items_of(payload, "items", PLATFORM)
            total = payload.get("total_count") if isinstance(payload, dict) else None
            if isinstance(total, bool) or not isinstance(total, int) or total < 0:
                raise BadResponse(f"magento: {rest}: total_count is not a count",
                                  platform=PLATFORM)
            for item in items:
                if not isinstance(item, dict):
                    raise BadResponse(f"magento: {rest}: an item is not an object",
                                      platform=PLATFORM)
            last = max(1, math.ceil(total / size))
            if not items and total > (page - 1) * size:  # the page must hold something
                raise BadResponse(f"magento: {rest}: page {page} of {last} came back empty",
                                  platform=PLATFORM)
            yield items
            if page >= last:
                return
            page += 1


def criteria_params(groups: Sequence[Sequence[Filter]], sort: Sequence[tuple[str, str]],
                    page_size: int, page: int) -> dict[str, Any]:
    """`searchCriteria` as query parameters (the camelCase spelling of Adobe's schema)."""
    params: dict[str, Any] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filterGroups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = value
            params[f"{prefix}[conditionType]"] = condition
    for s, (field, direction) in enumerate(sort):
        params[f"searchCriteria[sortOrders][{s}][field]"] = field
        params[f"searchCriteria[sortOrders][{s}][direction]"] = direction
    params["searchCriteria[pageSize]"] = page_size
    params["searchCriteria[currentPage]"] = page
    return params


def sku_path(sku: str) -> str:
    """A SKU as one path segment (a SKU may hold `/`, spaces, `#` …)."""
    return quote(sku, safe="")


def in_list(values: Sequence[str]) -> str:
    """Values for an `in` filter (comma-separated, as Magento splits them)."""
    for value in values:
        if "," in value:
            raise BadRequest(f"magento: cannot filter on a value holding a comma: {value!r}",
                             platform=PLATFORM)
    return ",".join(values)
