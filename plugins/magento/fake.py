"""A faithful local fake of the Magento 2 (Adobe Commerce) admin REST API, for tests,
benchmarks and the demo.

Served under `/rest/{store_code}/V1/…` and `/rest/V1/…` (the default store view); `all` and
`default` are the store codes it knows. What it does like Magento 2.4:

- `Authorization: Bearer <integration token>` checked on every admin route; a missing or
  wrong token is a 401 `The consumer isn't authorized to access %resources.` naming the
  route's ACL resource. Guest-cart routes are anonymous, as in Magento's `webapi.xml`.
- Errors in Magento's envelope, `{"message": "…%1…", "parameters": …}`; an unknown route is
  a 404 `Request does not match any route.`.
- `searchCriteria` in both spellings, eq/neq/in/nin/gt/gteq/lt/lteq/like/null/notnull, sort
  orders and paging with the last page repeated past the end (`fake_search`).
- Bodies refused as Magento refuses them: not JSON, or any unknown field at any depth
  (`fake_bodies`).
- MSI: sources, stocks, stock-source links, source items (`GET` and `POST`), reservations
  made by orders, `get-product-salable-quantity`; with `legacy=True` no MSI route exists
  and stock lives in the stock items.
- Optional Web API input limits (`input_limits=True`): page size at most 300 (20 when none
  is given), lists of at most 20 complex items per call.
- Guest carts, orders search, order cancel, shipments search (`fake_orders`).

Control endpoints beyond the shared ones of `FakePlatform` (see `fake_control`):

| method and path        | body / answer                                                     |
| ---------------------- | ----------------------------------------------------------------- |
| `GET /_fake/state`     | counts, sources, stocks, config, orders                            |
| `POST /_fake/stock`    | `{sku, delta, source_code?}`: stock moves as a merchant's edit     |
|                        | (MSI: the source item, the first enabled source by default;       |
|                        | legacy: the stock item)                                           |
| `POST /_fake/product`  | `{sku, backorders?, manage_stock?, use_config_backorders?, …,     |
|                        | status?}`: a product's stock settings, or its source item status  |
| `POST /_fake/config`   | `{backorders?, manage_stock?, min_qty?}`: the store configuration |
| `POST /_fake/source`   | `{source_code, enabled}`                                          |
| `POST /_fake/ship`     | `{order_id, track_number?, carrier_code?, title?}`: the merchant   |
|                        | ships an order (a shipment, with a track when a number is given)  |
| `POST /_fake/limits`   | `{input_limits}`: switch the Web API input limits                  |
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import FakePlatform, FakeTruth, Fault, json_response
from shelfsync.plugins.magento.fake_errors import NO_ROUTE, NOT_AUTHORIZED, MagentoError
from shelfsync.plugins.magento.fake_routes import ROUTES, Route
from shelfsync.plugins.magento.fake_store import DEFAULT_STOCK_ID, MagentoStore, whole

_PATH = re.compile(r"^/rest(?:/(?P<store>[A-Za-z0-9_]+))?/V1/(?P<rest>.+)$")
STORE_CODES = {"default": 1, "all": 0}
#: The location id under which the plugin reports a stock's reservations and threshold.
RESERVATIONS_LOCATION = "stock:{stock_id}:reservations"
#: The guest email local part that carries the channel order id (see the plugin's docs).
ORDER_EMAIL_PREFIX = "tiktok-order-"


def _derived_token(seed: int) -> str:
    return hashlib.sha256(f"shelfsync-magento-fake:{seed}:token".encode()).hexdigest()[:32]


class MagentoFake(FakePlatform):
    """One Magento 2 installation (one website, store view `default`)."""

    platform = "magento"

    def __init__(self, *, products: int = 20, variants: int = 3, sources: int = 3,
                 seed: int = 0, legacy: bool = False, input_limits: bool = False,
                 access_token: str | None = None, currency: str = "USD",
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.state_lock = threading.RLock()
        self.access_token = access_token or _derived_token(seed)
        self.input_limits = input_limits
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store = MagentoStore(products=products, variants=variants, sources=sources,
                                  seed=seed, legacy=legacy, clock=self.clock,
                                  currency=currency)

    # --- FakePlatform ---------------------------------------------------------------------

    def connections(self) -> list[dict[str, Any]]:
        """The one store view, with the integration token the plugin connects with."""
        # A local fake costs nothing to poll: the demo sees stock moves within seconds.
        return [{"name": "Magento fake (default store view)", "platform": "magento",
                 "settings": {"store_code": "default", "stock_id": DEFAULT_STOCK_ID,
                              "poll_seconds": 5},
                 "credentials": {"access_token": self.access_token}}]

    def truth(self) -> FakeTruth:
        """What the store holds, as the plugin must read it: MSI sources (active when enabled
        and linked to the default stock) and per-source quantities of in-stock items, plus
        the stock's reservations and threshold under one more location, so the levels of a
        SKU add up to its salable quantity; legacy stores one `default` location."""
        store = self.store
        with self.state_lock:
            simple = [p for p in store.products.values() if p.type_id != "configurable"]
            orders: dict[str, int] = {}
            for order in store.orders:
                email = str(order.entity["customer_email"])
                if email.startswith(ORDER_EMAIL_PREFIX):
                    key = email.removeprefix(ORDER_EMAIL_PREFIX).split("@", 1)[0]
                    orders[key] = orders.get(key, 0) + 1
            backorder = {}
            for product in simple:
                backorders, manage, _ = store.effective(product)
                backorder[product.sku] = (not manage or backorders in (1, 2), manage)
            catalog = {p.sku: str(p.id) for p in simple}
            if store.legacy:
                return FakeTruth(
                    locations={"default": True},
                    stock={(p.sku, "default"): whole(store.legacy_available(p))
                           for p in simple},
                    backorder=backorder, catalog=catalog, orders=orders)
            linked = store.stocks[DEFAULT_STOCK_ID][1]
            locations = {s.code: s.enabled and s.code in linked for s in store.sources}
            stock: dict[tuple[str, str], int] = {}
            extra = RESERVATIONS_LOCATION.format(stock_id=DEFAULT_STOCK_ID)
            for product in simple:
                counted = 0
                items = [store.source_items.get((product.sku, code)) for code in linked]
                if not any(items):
                    continue
                for code, item in zip(linked, items, strict=True):
                    if item is None or not locations[code]:
                        continue
                    level = whole(item.quantity) if item.status == 1 else 0
                    stock[(product.sku, code)] = level
                    counted += level
                salable = whole(store.salable_qty(product.sku, DEFAULT_STOCK_ID))
                stock[(product.sku, extra)] = salable - counted
            return FakeTruth(locations=locations, stock=stock, backorder=backorder,
                             catalog=catalog, orders=orders)

    def handle_control(self, request: Request, name: str) -> Response | None:
        """This fake's own `/_fake/` endpoints (see `fake_control`)."""
        from shelfsync.plugins.magento.fake_control import handle_control

        return handle_control(self, request, name)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """Injected faults in Magento's envelope (a 429 is what a rate-limiting proxy or
        Magento's order back-pressure answers)."""
        if fault.kind == "429":
            return json_response({"message": "Too many requests"}, 429, {"Retry-After": "1"})
        if fault.kind == "malformed":
            return Response('{"items": [{"sku": "trunc', status=200,
                            mimetype="application/json")
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
            return json_response({"message": "Gateway Time-out"}, 504)
        return json_response({"message": "Internal Error. Details are available in Magento "
                              "log file. Report ID: webapi-fake"}, int(fault.kind))

    # --- the API --------------------------------------------------------------------------

    def handle_api(self, request: Request) -> Response:
        """Route, authenticate and answer one REST request."""
        try:
            return self._answer(request)
        except MagentoError as exc:
            return exc.response()

    def _answer(self, request: Request) -> Response:
        match = _PATH.match(request.path)
        if match is None:
            raise MagentoError(404, NO_ROUTE)
        store_code = match.group("store") or "default"
        if store_code not in STORE_CODES:
            raise MagentoError(400, "Requested store is not found")
        route, params = self._route(request.method, match.group("rest"))
        if route.resource and not self._authorized(request):
            raise MagentoError(401, NOT_AUTHORIZED, {"resources": route.resource})
        with self.state_lock:
            answer = route.handler(self, request, *params)
        return json_response(answer)

    def _route(self, method: str, rest: str) -> tuple[Route, tuple[str, ...]]:
        for route in ROUTES:
            if route.method != method or (self.store.legacy and route.msi):
                continue
            found = route.pattern.fullmatch(rest)
            if found:
                return route, found.groups()
        raise MagentoError(404, NO_ROUTE)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.access_token.encode())
