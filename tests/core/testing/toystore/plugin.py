"""A store plugin for the toy store, built on `shelfsync.core.rest`, with 15 switchable bugs.

`ToyStorePlugin(bugs={"name", ...})` turns bugs on; `BUGS` names and explains each. With no
bug on, the plugin is correct and passes the contract kit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from shelfsync.core.errors import (
    BadResponse,
    NotFound,
    PluginError,
    RateLimited,
    WebhookSignatureError,
)
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.http import RetryPolicy, call_with_retries
from shelfsync.core.rest import RestClient, create_once
from shelfsync.core.types import (
    AccountInfo,
    BackorderPolicy,
    Capabilities,
    CatalogItem,
    ChannelOrder,
    Connection,
    FieldKind,
    FieldSpec,
    Location,
    PassScope,
    PlatformInfo,
    Role,
    StockChanges,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
    WebhookEvent,
)

BUGS: Mapping[str, str] = {
    "rate_limit_is_end": "a 429 during the stock read is taken as the end of the data",
    "stock_first_page_only": "the stock read stops after its first page",
    "continue_selling_inverted": "the continue-selling flag is inverted",
    "all_locations_active": "every location is reported active",
    "lookup_once": "create_order looks the order up once, not before every retry",
    "swapped_variants": "stock is reported under the SKU of the product's other variant",
    "wrong_auth_header": "the token is sent as `Token …`, not `Bearer …`",
    "page_size_ignored": "the catalog read ignores the page_size setting",
    "no_5xx_retry": "a 5xx is not retried",
    "malformed_as_empty": "an unreadable stock page is read as an empty last page",
    "inactive_stock_counted": "stock at inactive locations is reported",
    "tracked_ignored": "every SKU is reported as tracked",
    "not_idempotent": "create_order never looks for an order it already created",
    "poll_off_by_one": "a change poll skips the first change after its cursor",
    "poll_error_is_no_change": "a change poll that fails answers 'nothing changed'",
}
PAGE_SIZE = FieldSpec("page_size", kind=FieldKind.INT, default=50, minimum=1, maximum=250)



def _in_pages(items: list[Any], size: int = 50) -> Iterator[list[Any]]:
    """A whole-catalog answer as the contract wants it: pages (lists). The toy reads
    everything first (its bugs are about what it reads, not how it hands it over)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]

class ToyStoreClient(RestClient):
    """The toy store's REST client."""

    platform = "toystore"

    def __init__(self, connection: Connection, bugs: frozenset[str]) -> None:
        self.bugs = bugs
        super().__init__(connection)
        if "no_5xx_retry" in bugs:
            self.policy = RetryPolicy(attempts=1)

    def auth_headers(self) -> dict[str, str]:
        scheme = "Token" if "wrong_auth_header" in self.bugs else "Bearer"
        return {"Authorization": f"{scheme} {self.connection.credentials['token']}"}

    def map_error(self, response: httpx.Response, payload: Any) -> PluginError | None:
        error = payload.get("error") if isinstance(payload, dict) else None
        if response.status_code == 422 and isinstance(error, dict) \
                and error.get("code") == "unknown_sku":
            return NotFound(f"toystore: no such SKU {error.get('sku')!r}", platform="toystore")
        return None

    def get(self, path: str, **params: Any) -> Any:
        if "no_5xx_retry" not in self.bugs:
            return super().get(path, **params)

        def once() -> Any:  # the bug: only a 429 is retried
            try:
                return self.request("GET", path, params=params, idempotent=False)
            except RateLimited:
                return self.request("GET", path, params=params, idempotent=False)

        return once()


class ToyStorePlugin:
    """Hooks of the toy store plugin; `bugs` switches on entries of `BUGS`."""

    def __init__(self, fake_class: Callable[..., Any],
                 bugs: frozenset[str] | set[str] = frozenset()) -> None:
        unknown = set(bugs) - set(BUGS)
        assert not unknown, f"unknown bugs {unknown}"
        self.fake_class = fake_class
        self.bugs = frozenset(bugs)

    def _client(self, connection: Connection) -> ToyStoreClient:
        return ToyStoreClient(connection, self.bugs)

    def _page_size(self, connection: Connection) -> int:
        return int(PAGE_SIZE.read(connection.settings))

    @hookimpl
    def shelfsync_platform_info(self) -> PlatformInfo:
        return PlatformInfo(
            name="toystore", title="Toy store", role=Role.STORE,
            capabilities=Capabilities(has_locations=True),
            credential_fields=(FieldSpec("token", secret=True, required=True),
                               FieldSpec("secret", secret=True, required=True)),
            setting_fields=(PAGE_SIZE,))

    @hookimpl
    def shelfsync_fake_factory(self) -> tuple[str, Callable[..., Any]]:
        return "toystore", self.fake_class

    @hookimpl
    def shelfsync_check_connection(self, connection: Connection) -> AccountInfo:
        with self._client(connection) as client:
            shop = client.get("/v1/shop")
        return AccountInfo(platform_id=str(shop["id"]), name=str(shop["name"]))

    @hookimpl
    def shelfsync_fetch_locations(self, connection: Connection) -> list[Location]:
        with self._client(connection) as client:
            rows = client.get("/v1/locations")["locations"]
        return [Location(id=r["id"], name=r["name"],
                         active=True if "all_locations_active" in self.bugs else r["active"])
                for r in rows]

    def _stock_pages(self, client: ToyStoreClient, skus: Sequence[str] | None,
                     size: int) -> Iterator[list[Any]]:
        params = {"skus": ",".join(skus) if skus is not None else None}
        pages = client.cursor_pages("/v1/stock", items="levels", page_size=size, params=params)
        while True:
            try:
                yield next(pages)
            except StopIteration:
                return
            except RateLimited:
                if "rate_limit_is_end" in self.bugs:
                    return
                raise
            except BadResponse:
                if "malformed_as_empty" in self.bugs:
                    return
                raise
            if "stock_first_page_only" in self.bugs:
                return

    @hookimpl
    def shelfsync_fetch_stock_levels(self, connection: Connection, skus: Sequence[str] | None
                                     ) -> list[StockLevel] | Iterator[list[StockLevel]]:
        if skus is not None and not skus:
            return []
        levels = self._stock_levels(connection, skus)
        return levels if skus is not None else _in_pages(levels)

    def _stock_levels(self, connection: Connection,
                      skus: Sequence[str] | None) -> list[StockLevel]:
        with self._client(connection) as client:
            active = {r["id"] for r in client.get("/v1/locations")["locations"] if r["active"]}
            if "rate_limit_is_end" in self.bugs or "malformed_as_empty" in self.bugs:
                client.policy = RetryPolicy(attempts=1)
            rows = [row for page in self._stock_pages(client, skus, self._page_size(connection))
                    for row in page]
            if "swapped_variants" in self.bugs:
                catalog = [v["sku"] for p in _products(client, 250) for v in p["variants"]]
                swap = {a: b for a, b in zip(catalog[0::2], catalog[1::2], strict=False)}
                swap.update({b: a for a, b in swap.items()})
                rows = [{**row, "sku": swap.get(row["sku"], row["sku"])} for row in rows]
        return [StockLevel(sku=r["sku"], location_id=r["location_id"],
                           available=int(r["available"]))
                for r in rows
                if r["location_id"] in active or "inactive_stock_counted" in self.bugs]

    @hookimpl
    def shelfsync_fetch_backorder_policies(
            self, connection: Connection, skus: Sequence[str] | None
    ) -> list[BackorderPolicy] | Iterator[list[BackorderPolicy]]:
        policies = self._policies(connection, skus)
        return policies if skus is not None else _in_pages(policies)

    def _policies(self, connection: Connection,
                  skus: Sequence[str] | None) -> list[BackorderPolicy]:
        with self._client(connection) as client:
            variants = [v for p in _products(client, self._page_size(connection))
                        for v in p["variants"] if skus is None or v["sku"] in skus]
        inverted = "continue_selling_inverted" in self.bugs
        return [BackorderPolicy(sku=v["sku"], continue_selling=v["continue_selling"] != inverted,
                                tracked=True if "tracked_ignored" in self.bugs else v["tracked"])
                for v in variants]

    @hookimpl
    def shelfsync_fetch_catalog(self, connection: Connection) -> Iterator[list[CatalogItem]]:
        size = 250 if "page_size_ignored" in self.bugs else self._page_size(connection)
        with self._client(connection) as client:
            items = [CatalogItem(product_id=p["id"], variant_id=v["id"], sku=v["sku"],
                                 title=p["title"], price=v["price"], currency="USD")
                     for p in _products(client, size) for v in p["variants"]]
        return _in_pages(items)

    @hookimpl
    def shelfsync_create_order(self, connection: Connection, order: ChannelOrder
                               ) -> StoreOrderRef:
        body = {"external_id": order.id,
                "lines": [{"sku": line.seller_sku, "quantity": line.quantity}
                          for line in order.lines]}
        with self._client(connection) as client:
            def find() -> StoreOrderRef | None:
                if "not_idempotent" in self.bugs:
                    return None
                found = client.get("/v1/orders", external_id=order.id)["orders"]
                return StoreOrderRef(id=found[0]["id"], created=False) if found else None

            def create() -> StoreOrderRef:
                answer = client.request("POST", "/v1/orders", json=body)
                return StoreOrderRef(id=answer["order"]["id"], created=True)

            if "lookup_once" in self.bugs:
                existing = find()
                if existing is not None:
                    return existing
                return call_with_retries(create, client.policy, platform="toystore")
            ref, _ = create_once(find, create, client.policy, platform="toystore")
            return ref

    @hookimpl
    def shelfsync_poll_stock_changes(self, connection: Connection, cursor: str | None,
                                     scope: PassScope | None) -> StockChanges:
        """The SKUs of the change log after `cursor` (a sequence number), a page at a time."""
        after = int(cursor or 0)
        if cursor and "poll_off_by_one" in self.bugs:
            after += 1
        read_at = datetime.now(UTC)
        with self._client(connection) as client:
            try:
                page = client.get("/v1/stock/changes", after=after, limit=50)
            except PluginError:
                if "poll_error_is_no_change" not in self.bugs:
                    raise
                return StockChanges((), str(after), read_at)
        changes = page.get("changes") if isinstance(page, dict) else None
        if not isinstance(changes, list):
            raise BadResponse("toystore: a change page without its changes", platform="toystore")
        last = int(changes[-1]["seq"]) if changes else after
        return StockChanges(tuple(dict.fromkeys(str(c["sku"]) for c in changes)), str(last),
                            read_at, more=last < int(page.get("last_seq", last)))

    @hookimpl
    def shelfsync_fetch_order_status(self, connection: Connection,
                                     order_ref: StoreOrderRef) -> StoreOrderStatus:
        with self._client(connection) as client:
            order = client.get(f"/v1/orders/{order_ref.id}")["order"]
        return StoreOrderStatus(id=order["id"], cancelled=order["status"] == "cancelled")

    @hookimpl
    def shelfsync_verify_webhook(self, connection: Connection, headers: Mapping[str, str],
                                 body: bytes) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        expected = hmac.new(connection.credentials["secret"].encode(), body,
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, lowered.get("x-toy-signature", "")):
            raise WebhookSignatureError("toystore: bad signature", platform="toystore")
        payload = json.loads(body)
        return WebhookEvent(platform="toystore", topic=lowered.get("x-toy-event", ""),
                            dedup_key=str(payload["id"]), payload=payload)


def _products(client: ToyStoreClient, size: int) -> list[dict[str, Any]]:
    return [p for page in client.page_number_pages("/v1/products", items="products",
                                                   page_size=size, more="has_more")
            for p in page]

