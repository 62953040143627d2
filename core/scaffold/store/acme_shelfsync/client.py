"""HTTP client for the acme API, on Shelfsync's REST base (auth, JSON, errors, pages, retries).

TODO: the real API's auth header, error envelope and paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from shelfsync.core.errors import NotFound, PluginError
from shelfsync.core.rest import RestClient, create_once
from shelfsync.core.types import FieldKind, FieldSpec

PLATFORM = "acme"
#: Arrives as an int from the kit and as text from `--setting page_size=20`: `read` parses
#: both and falls back to the default on a bad stored value.
PAGE_SIZE = FieldSpec("page_size", "Items per page", FieldKind.INT, default=50, minimum=1,
                      maximum=250)


class AcmeClient(RestClient):
    """The acme REST API for one connection."""

    platform = PLATFORM

    def auth_headers(self) -> dict[str, str]:
        # TODO: the real API's authentication.
        return {"Authorization": f"Bearer {self.connection.credentials['api_token']}"}

    def map_error(self, response: httpx.Response, payload: Any) -> PluginError | None:
        # TODO: statuses the API uses its own way. Here a 422 "unknown_sku" is a NotFound.
        error = payload.get("error") if isinstance(payload, dict) else None
        if response.status_code == 422 and isinstance(error, dict) \
                and error.get("code") == "unknown_sku":
            return NotFound(f"{PLATFORM}: no such SKU {error.get('sku')!r}", platform=PLATFORM)
        return None

    @property
    def page_size(self) -> int:
        """The `page_size` setting, parsed."""
        return int(PAGE_SIZE.read(self.connection.settings))

    def shop(self) -> Any:
        """The account behind the credentials."""
        return self.get("/v1/shop")

    def locations(self) -> list[Any]:
        """Every location, active or not."""
        return list(self.get("/v1/locations").get("locations") or [])

    def products(self) -> Iterator[list[Any]]:
        """Pages of products with their variants."""
        return self.page_number_pages("/v1/products", items="products",
                                      page_size=self.page_size, more="has_more")

    def stock(self, skus: Sequence[str] | None) -> Iterator[list[Any]]:
        """Pages of stock rows (every location), for `skus` or all."""
        params = {"skus": ",".join(skus) if skus is not None else None}
        return self.cursor_pages("/v1/stock", items="levels", page_size=self.page_size,
                                 params=params)

    def order_for(self, external_id: str) -> Any | None:
        """The order created for a channel order id, or None."""
        orders = self.get("/v1/orders", external_id=external_id).get("orders")
        return orders[0] if orders else None

    def create_order(self, external_id: str, body: dict[str, Any]) -> tuple[Any, bool]:
        """(order, created): looked up by the channel's order id before every attempt."""
        return create_once(lambda: self.order_for(external_id),
                           lambda: self.request("POST", "/v1/orders", json=body)["order"],
                           self.policy, platform=PLATFORM)

    def order(self, order_id: str) -> Any:
        """One order by its id."""
        return self.get(f"/v1/orders/{order_id}")["order"]
