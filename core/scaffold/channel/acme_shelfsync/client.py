"""HTTP client for the acme API, on Shelfsync's REST base (auth, JSON, errors, pages, retries).

TODO: the real API's auth header, error envelope and paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from shelfsync.core.errors import Conflict, PluginError
from shelfsync.core.rest import RestClient, items_of
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
        error = payload.get("error") if isinstance(payload, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if response.status_code == 409 and code in {"already_shipped", "already_cancelled"}:
            return Conflict(f"{PLATFORM}: {code}", platform=PLATFORM, code=code)
        return None

    @property
    def page_size(self) -> int:
        """The `page_size` setting, parsed."""
        return int(PAGE_SIZE.read(self.connection.settings))

    def shop(self) -> Any:
        """The account behind the credentials."""
        return self.get("/v1/shop")

    def listings(self) -> Iterator[list[Any]]:
        """Pages of listings."""
        return self.cursor_pages("/v1/listings", items="listings", page_size=self.page_size)

    def orders(self, cursor: str | None) -> tuple[list[Any], str | None]:
        """One page of orders and the cursor of the next."""
        payload = self.get("/v1/orders", cursor=cursor, limit=self.page_size)
        return items_of(payload, "orders", PLATFORM), payload.get("next_cursor") or None

    def order_action(self, order_id: str, action: str, body: dict[str, Any]) -> bool:
        """Ship or cancel an order. Sent once (a write); when it was already done — our own
        earlier attempt whose answer was lost — the API says so with a 409, which is success.
        TODO: the real API's "already done" answer."""
        with contextlib.suppress(Conflict):  # already done: by our own earlier attempt
            self.request("POST", f"/v1/orders/{order_id}/{action}", json=body)
        return True

    def update_inventory(self, updates: list[dict[str, Any]]) -> list[Any]:
        """Set quantities; setting the same value twice is harmless, so it is retried."""
        payload = self.request("POST", "/v1/inventory", json={"updates": updates},
                               idempotent=True)
        return items_of(payload, "results", PLATFORM)
