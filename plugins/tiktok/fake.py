"""A faithful local fake of the TikTok Shop Open API (202309 versions) for several shops.

One app (`app_key`/`app_secret`) is authorized by `shops` shops; each shop has its own
access token, refresh token and `shop_cipher`, warehouses, listings and orders (see
`fake_state` for the seeded data and its deliberate gaps). Every API call is checked like
the real gateway: `app_key`, a `timestamp` in Unix seconds (at most `clock_skew` seconds old,
at most 30 s ahead, not negative), `sign` over path + sorted query + exact body bytes, the
`x-tts-access-token` header, on shop-scoped calls the token's own shop's `shop_cipher`, and a
body of media type `application/json` (36009022 otherwise). A per-shop QPS limit (sliding
one-second window, `qps=None` = off) answers HTTP 429 + 36009002.

API served:

| method and path                                      | what                                |
| ---------------------------------------------------- | ----------------------------------- |
| `GET /authorization/202309/shops`                    | the token's shop (no shop_cipher)   |
| `GET /logistics/202309/warehouses`                   | 2 sales + 1 return warehouse        |
| `POST /product/202309/products/search` (202312, 202502) | listings, keyset page tokens     |
| `GET /product/202309/products/{id}`                  | product detail                      |
| `POST /product/202309/inventory/search`              | per-warehouse available/committed   |
| `POST /product/202309/products/{id}/inventory/update`| per-SKU errors, valid SKUs applied  |
| `POST /order/202309/orders/search`                   | orders, sort + page tokens          |
| `GET /order/202309/orders?ids=a,b` (and 202507)      | order detail (≤ 50 ids)             |
| `GET /logistics/202309/warehouses/{id}/delivery_options` | one STANDARD option per warehouse |
| `GET /logistics/202309/delivery_options/{id}/shipping_providers` | 4 carriers |
| `POST /fulfillment/202309/orders/{id}/packages` (202610) | mark package as shipped (lines)   |
| `GET /fulfillment/202309/packages/{id}`              | package detail                      |
| `POST /return_refund/202309/cancellations` (202602)  | seller cancellation                 |
| `POST /return_refund/202309/returns/search` (202602) | returns and refunds                 |
| `GET`/`PUT`/`DELETE /event/202309/webhooks`          | per-shop webhook subscriptions      |
| `GET /api/v2/token/get`                              | auth host: auth code → tokens       |
| `GET /api/v2/token/refresh`                          | auth host's token refresh           |

Control endpoints, besides the shared ones of `FakePlatform` (faults, latency, requests,
connections, webhooks, webhook-sample):

| method and path                      | body / answer                                            |
| ------------------------------------ | -------------------------------------------------------- |
| `POST /_fake/orders`                 | `{"shop_id"?, "items": [{"seller_sku", "quantity"}]`     |
|                                      | (or `"seller_skus": {"<sku>": quantity}`),               |
|                                      | "status"?: UNPAID/ON_HOLD/AWAITING_SHIPMENT (default),   |
|                                      | "on_hold_seconds"?: this order's hold window}`:          |
|                                      | a buyer order (one line item per unit); reserves stock,  |
|                                      | pushes ORDER_STATUS_CHANGE; answers the order as the API |
|                                      | would; 409 when a buyer could not place it               |
| `POST /_fake/orders/<id>/status`     | `{"status"}`: moves the order, pushes the webhook        |
|                                      | (an ON_HOLD order moves to AWAITING_SHIPMENT by itself   |
|                                      | `on_hold_seconds` after payment, default 3600 as TikTok: |
|                                      | checked at every request, on the fake's clock)           |
| `POST /_fake/products/<id>/status`   | `{"status"}`: e.g. SELLER_DEACTIVATED; pushes type 5     |
| `POST /_fake/orders/<id>/cancel`     | `{"request"?: bool}`: the buyer cancels (pushes types 1  |
|                                      | and 11), or with `request` asks the seller (type 11,     |
|                                      | CANCELLATION_REQUEST_PENDING)                            |
| `POST /_fake/cancellations/<id>/settle` | `{"approve": bool}`: the seller answers the request   |
|                                      | on Seller Center (approve cancels the order)             |
| `POST /_fake/returns`                | `{"order_id", "line_ids"?, "type"?, "status"?}`: a buyer |
|                                      | return/refund (default RETURN_AND_REFUND, COMPLETE);     |
|                                      | pushes type 12                                           |
| `POST /_fake/returns/<id>/status`    | `{"status"}`: moves a return, pushes type 12             |
| `POST /_fake/auth-codes`             | `{"shop_id"?}` → 201 `{"code", "shop_id"}`: a single-use |
|                                      | auth code for `GET /api/v2/token/get`                    |
| `POST /_fake/tokens/expire`          | `{"shop_id"?}`: that shop's (or every) access token      |
|                                      | expires now (105002 until refreshed)                     |
| `POST /_fake/qps`                    | `{"qps": n or null}`: the per-shop limit                 |
| `POST /_fake/empty-answers`          | `{"count"?, "path"?, "data"?}`: the next `count`         |
|                                      | (default 1) requests (whose path contains `path`) answer |
|                                      | a success with `data` (default `{}`: a list missing from |
|                                      | a well-formed answer; `{"products": []}`: an empty shop) |
| `GET /_fake/state`                   | per-shop counts; `?inventory=1` adds seller_sku → total  |
|                                      | available                                                |
| `POST /_fake/rendezvous`             | `{"path"?, "shops"? (2), "timeout"? (30 s)}`: each shop's |
|                                      | first request (whose path contains `path`) is held until |
|                                      | `shops` shops have sent one, or the timeout (see         |
|                                      | `fake_rendezvous`: proof that shops are called at once); |
|                                      | `"by": "path"` counts request paths instead of shops     |
| `GET /_fake/rendezvous`              | `{"armed", "shops", "arrived", "met", "timed_out"}`      |

`shop_id` in control bodies may be a shop id or a 0-based shop index; default the first shop.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import FakePlatform, FakeTruth, Fault, json_response
from shelfsync.plugins.tiktok import (
    fake_aftersale,
    fake_control,
    fake_orders,
    fake_products,
    fake_webhooks,
)
from shelfsync.plugins.tiktok.fake_gateway import (
    AUTH_RECORD_NOT_FOUND,
    INTERNAL_ERROR,
    INVALID_METHOD,
    INVALID_PATH,
    RATE_LIMITED,
    REQUEST_TIMEOUT,
    ApiError,
    Credentials,
    QpsLimiter,
    RequestIds,
    check_cipher,
    check_signed_request,
    envelope_response,
    json_body,
    shop_for_token,
)
from shelfsync.plugins.tiktok.fake_rendezvous import Rendezvous
from shelfsync.plugins.tiktok.fake_state import (
    Order,
    Shop,
    build_shops,
    new_tokens,
    opaque_token,
)

Handler = Callable[["ApiCall"], dict[str, Any]]
AUTH_CODE_INVALID = 36004004  # "Invalid auth code." (common-errors page)
REFRESH_TOKEN_EXPIRED = 36004001  # "rt has expired" (observed, EcomPHP PR #15)
DEFAULT_TOKEN_TTL = 7 * 86_400
#: How long a paid order stays ON_HOLD (TikTok's free-cancellation window: one hour after
#: payment, Seller University "'On Hold' Order Status").
ON_HOLD_SECONDS = 3600
SAMPLE_ORDER = "576653688135258178"  # the order id of TikTok's own webhook example


class ApiCall:
    """One authenticated API call: the caller's shop, query, parsed body, path match."""

    def __init__(self, shop: Shop, query: dict[str, str], body: dict[str, Any],
                 match: re.Match[str], now: int) -> None:
        self.shop, self.query, self.body, self.match, self.now = shop, query, body, match, now


class TikTokFake(FakePlatform):
    """WSGI app faking TikTok Shop's Open API for several shops of one app."""

    platform = "tiktok"

    def __init__(
        self,
        shops: int = 2,
        products: int = 20,
        variants: int = 3,
        seed: int = 0,
        qps: float | None = None,
        max_quantity: int = 99_999,
        app_key: str | None = None,
        app_secret: str | None = None,
        clock_skew: int = 300,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        gaps: bool = True,
        multi_warehouse: bool = True,
        clock: Callable[[], float] = time.time,
        on_hold_seconds: int = ON_HOLD_SECONDS,
        orders: int = 0,
    ) -> None:
        super().__init__()
        self.seed = seed
        self.on_hold_seconds = on_hold_seconds
        self.max_quantity = max_quantity
        self.token_ttl = token_ttl
        self.clock = clock
        digest = hashlib.sha256(f"tiktok-fake:{seed}".encode()).hexdigest()
        self.creds = Credentials(app_key or digest[:13], app_secret or digest[13:53], clock_skew)
        self.limiter = QpsLimiter(qps)
        self.rendezvous = Rendezvous()
        #: [path fragment, remaining, data] of `/_fake/empty-answers`.
        self.empty_answers: list[list[Any]] = []
        self.request_ids = RequestIds(seed)
        self.state_lock = threading.RLock()
        self.shops = build_shops(seed, shops, products, variants, now=int(clock()),
                                 token_ttl=token_ttl, gaps=gaps, multi_warehouse=multi_warehouse)
        self._by_token = {s.tokens.access_token: s for s in self.shops}
        self.product_owner = {pid: s.id for s in self.shops for pid in s.products}
        self.order_owner: dict[str, str] = {}
        #: (hold_until, order id, shop id) of ON_HOLD orders, soonest first.
        self._holds: list[tuple[int, str, str]] = []
        self._notifications = itertools.count(1)
        self._auth_counter = itertools.count(1)
        self.auth_codes: dict[str, str] = {}  # unused auth code -> shop id
        self._seed_orders(orders)
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = [
            ("GET", re.compile(r"/authorization/202309/shops"),
             lambda c: {"shops": [c.shop.to_api()]}, False),
            ("GET", re.compile(r"/logistics/202309/warehouses"), self._warehouses, True),
            ("POST", re.compile(r"/product/(202309|202312|202502)/products/search"),
             lambda c: fake_products.search_products(c.shop, c.query, c.body,
                                                     c.match.group(1)), True),
            ("POST", re.compile(r"/product/202309/inventory/search"),
             lambda c: fake_products.inventory_search(c.shop, c.body), True),
            ("POST", re.compile(r"/product/202309/products/(\d+)/inventory/update"),
             self._update_inventory, True),
            ("GET", re.compile(r"/product/202309/products/(\d+)"), self._product, True),
            ("POST", re.compile(r"/order/202309/orders/search"),
             lambda c: fake_orders.search_orders(c.shop, c.query, c.body), True),
            ("GET", re.compile(r"/order/(?:202309|202507)/orders"),
             lambda c: fake_orders.order_detail(c.shop, c.query, self.order_owner), True),
            ("GET", re.compile(r"/logistics/202309/warehouses/(\d+)/delivery_options"),
             lambda c: fake_aftersale.delivery_options(c.shop, c.match.group(1)), True),
            ("GET", re.compile(r"/logistics/202309/delivery_options/(\d+)/shipping_providers"),
             lambda c: fake_aftersale.shipping_providers(c.shop, c.match.group(1)), True),
            ("POST", re.compile(r"/fulfillment/(?:202309|202610)/orders/(\d+)/packages"),
             self._mark_shipped, True),
            ("GET", re.compile(r"/fulfillment/202309/packages/(\d+)"),
             lambda c: fake_aftersale.package_detail(c.shop, c.match.group(1)), True),
            ("POST", re.compile(r"/return_refund/(?:202309|202602)/cancellations"),
             self._seller_cancel, True),
            ("POST", re.compile(r"/return_refund/(?:202309|202602)/returns/search"),
             lambda c: fake_aftersale.search_returns(c.shop, c.query, c.body), True),
            ("GET", re.compile(r"/event/202309/webhooks"),
             lambda c: fake_webhooks.list_subscriptions(c.shop), True),
            ("PUT", re.compile(r"/event/202309/webhooks"),
             lambda c: fake_webhooks.put_subscription(c.shop, c.body, c.now), True),
            ("DELETE", re.compile(r"/event/202309/webhooks"),
             lambda c: fake_webhooks.delete_subscription(c.shop, c.body), True),
        ]

    # --- FakePlatform ---------------------------------------------------------------------

    def take_empty_answer(self, path: str) -> dict[str, Any] | None:
        """The injected empty answer's data for this request (`/_fake/empty-answers`), if any."""
        with self.state_lock:
            for entry in self.empty_answers:
                if entry[1] > 0 and entry[0] in path:
                    entry[1] -= 1
                    if entry[1] == 0:
                        self.empty_answers.remove(entry)
                    return dict(entry[2])
        return None

    def handle_api(self, request: Request) -> Response:
        """Authenticate, rate-limit and route one Open API (or token refresh) request."""
        request_id = self.request_ids.next()
        self.release_due_holds()
        if request.path in ("/api/v2/token/get", "/api/v2/token/refresh"):
            return self._token(request, request_id)
        empty = self.take_empty_answer(request.path)
        if empty is not None:
            return envelope_response(request_id, data=empty)
        try:
            matched = [(m, r) for r in self._routes if (m := r[1].fullmatch(request.path))]
            if not matched:
                raise ApiError(INVALID_PATH, http_status=404)
            route = next(((m, r) for m, r in matched if r[0] == request.method), None)
            if route is None:
                raise ApiError(INVALID_METHOD, http_status=405)
            match, (_, _, handler, shop_scoped) = route
            now = self.clock()
            query = check_signed_request(request, self.creds, now)
            with self.state_lock:
                shop = shop_for_token(request.headers.get("x-tts-access-token"),
                                      self._by_token, now)
            self.rendezvous.wait(shop.id, request.path)  # outside the state lock
            if not self.limiter.allow(f"{self.creds.app_key}:{shop.id}"):
                self.note_throttled()
                raise ApiError(RATE_LIMITED, http_status=429)
            check_cipher(query, shop, shop_scoped)
            body = json_body(request)
            with self.state_lock:
                data = handler(ApiCall(shop, query, body, match, int(now)))
        except ApiError as error:
            return envelope_response(request_id, error=error)
        return envelope_response(request_id, data)

    def truth(self) -> FakeTruth:
        """What the first shop (the kit's connection) lists: each SKU's seller SKU and its
        available quantity per warehouse."""
        with self.state_lock:
            shop = self.shops[0]
            return FakeTruth(listings={
                sku.id: (sku.seller_sku, dict(sku.available))
                for pid in shop.product_order for sku in shop.products[pid].skus
            }, shipments={o.id: len(o.packages) for o in shop.orders.values()},
                cancellations={o.id: sum(c["role"] == "SELLER" for c in o.cancellations)
                               for o in shop.orders.values()})

    def is_write(self, request: Request) -> bool:
        """Searches are POSTs too; only inventory updates, cancellations, shipments and
        subscription changes write."""
        return request.method != "GET" and not request.path.endswith("/search")

    def connections(self) -> list[dict[str, Any]]:
        """One entry per shop, with that shop's current tokens and cipher."""
        with self.state_lock:
            return [
                {
                    "id": shop.id,
                    "name": shop.name,
                    "region": shop.region,
                    "credentials": {
                        "app_key": self.creds.app_key,
                        "app_secret": self.creds.app_secret,
                        "access_token": shop.tokens.access_token,
                        "refresh_token": shop.tokens.refresh_token,
                        "shop_cipher": shop.cipher,
                    },
                }
                for shop in self.shops
            ]

    def webhook_sample(self, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """A correctly signed ORDER_STATUS_CHANGE for `options["shop"]` (id or index)."""
        with self.state_lock:
            shop = self.find_shop(options.get("shop"))
            status = str(options.get("order_status", "AWAITING_SHIPMENT"))
            order = next(iter(shop.orders.values()), None)
            now = int(self.clock())
            data = {
                "order_id": order.id if order else str(options.get("order_id", SAMPLE_ORDER)),
                "order_status": fake_webhooks.webhook_status(status),
                "is_on_hold_order": False,
                "update_time": now,
            }
            return self._signed(shop, fake_webhooks.ORDER_STATUS_CHANGE, data, now)

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """Injected faults in TikTok's envelope: 36009002/429, 36009003/5xx, 36009007/504."""
        request_id = self.request_ids.next()
        if fault.kind == "429":
            return envelope_response(request_id, error=ApiError(RATE_LIMITED, http_status=429))
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
            return envelope_response(request_id, error=ApiError(REQUEST_TIMEOUT, http_status=504))
        if fault.kind == "malformed":
            return Response('{"code":0,"data":{"trunc', status=200, mimetype="application/json")
        return envelope_response(request_id,
                                 error=ApiError(INTERNAL_ERROR, http_status=int(fault.kind)))

    def handle_control(self, request: Request, name: str) -> Response | None:
        """TikTok-specific control endpoints (see the module docstring)."""
        self.release_due_holds()
        return fake_control.handle(self, request, name)

    # --- helpers shared with the control API ----------------------------------------------

    def find_shop(self, key: Any) -> Shop:
        """A shop by id or 0-based index; the first shop when `key` is None."""
        if key is None or key == "":
            return self.shops[0]
        for shop in self.shops:
            if shop.id == str(key):
                return shop
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(self.shops):
            return self.shops[key]
        raise KeyError(f"no shop {key!r}")

    def push(self, shop: Shop, kind: int, data: dict[str, Any]) -> None:
        """Sign and send a webhook to /_fake/webhooks URLs and the shop's subscription."""
        headers, body = self._signed(shop, kind, data, int(self.clock()))
        # A shop's pushes stay in order; other shops' go side by side.
        key = shop.id
        self.send_webhook(headers, body, key)
        for url in fake_webhooks.subscribed_urls(shop, kind):
            if url not in self.webhook_urls:
                self.webhooks.send(url, headers, body, key)

    def hold(self, shop: Shop, order: Order, seconds: int | None = None) -> None:
        """Start an ON_HOLD order's free-cancellation window (under the state lock)."""
        window = self.on_hold_seconds if seconds is None else seconds
        order.hold_until = int(order.paid_time or self.clock()) + window
        heapq.heappush(self._holds, (order.hold_until, order.id, shop.id))

    def release_due_holds(self) -> int:
        """Move every ON_HOLD order whose window ended to AWAITING_SHIPMENT, pushing its
        webhook, as TikTok does one hour after payment; returns how many moved. Called at
        every request, so the fake's clock (injectable) decides, not a timer thread."""
        now = int(self.clock())
        released = 0
        with self.state_lock:
            while self._holds and self._holds[0][0] <= now:
                until, order_id, shop_id = heapq.heappop(self._holds)
                shop = self.find_shop(shop_id)
                order = shop.orders.get(order_id)
                if order is None or order.status != "ON_HOLD" or order.hold_until != until:
                    continue  # cancelled, moved by hand, or held again since
                fake_orders.change_status(order, "AWAITING_SHIPMENT", now)
                order.is_on_hold_order = False
                order.hold_until = None
                self.push_order(shop, order)
                released += 1
        return released

    def push_order(self, shop: Shop, order: Order) -> None:
        """Push ORDER_STATUS_CHANGE for an order's current status."""
        self.push(shop, fake_webhooks.ORDER_STATUS_CHANGE, fake_webhooks.order_data(order))

    def expire_token(self, shop: Shop) -> None:
        """Make the shop's access token expired now (a refresh gives a new one)."""
        shop.tokens.access_expires = int(self.clock()) - 1

    def _signed(self, shop: Shop, kind: int, data: dict[str, Any],
                now: int) -> tuple[dict[str, str], bytes]:
        nid = fake_webhooks.notification_id(self.seed, shop, next(self._notifications))
        return fake_webhooks.signed_push(self.creds.app_key, self.creds.app_secret, shop, kind,
                                         nid, now, data)

    # --- endpoint handlers needing the fake ------------------------------------------------

    def _warehouses(self, call: ApiCall) -> dict[str, Any]:
        shop = call.shop
        return {"warehouses": [w.to_api(shop.region, shop.country) for w in shop.warehouses]}

    def _product(self, call: ApiCall) -> dict[str, Any]:
        product = call.shop.products.get(call.match.group(1))
        if product is None:
            raise ApiError(fake_products.PRODUCT_NOT_FOUND, "The product ID does not exist.")
        return fake_products.product_to_api(call.shop, product, detail=True)

    def _update_inventory(self, call: ApiCall) -> dict[str, Any]:
        product = fake_products.find_product(call.shop, call.match.group(1), self.product_owner)
        return fake_products.update_inventory(call.shop, product, call.body, self.max_quantity,
                                              call.now)

    def _seed_orders(self, count: int) -> None:
        """`count` AWAITING_SHIPMENT orders of one unit each in the first shop (the kit ships
        and cancels them), placed like a buyer's."""
        shop = self.shops[0]
        live = [s for s in shop.skus.values()
                if shop.products[s.product_id].status == fake_orders.LIVE_STATUS
                and sum(max(q, 0) for q in s.available.values()) > 0]
        for number in range(count):
            sku = live[number % len(live)]
            order = fake_orders.place_order(self.seed, shop, [{"seller_sku": sku.seller_sku,
                                                              "quantity": 1}],
                                            "AWAITING_SHIPMENT", int(self.clock()))
            self.order_owner[order.id] = shop.id

    def _mark_shipped(self, call: ApiCall) -> dict[str, Any]:
        order = fake_aftersale.find_order(call.shop, call.match.group(1), self.order_owner)
        before = order.status
        data = fake_aftersale.mark_shipped(call.shop, order, call.body, call.now)
        if order.status != before:
            self.push_order(call.shop, order)
        return data

    def _seller_cancel(self, call: ApiCall) -> dict[str, Any]:
        body = call.body
        if not isinstance(body.get("order_id"), str):
            raise fake_aftersale.invalid_param("Invalid param. `order_id` is required.")
        order = fake_aftersale.find_order(call.shop, body["order_id"], self.order_owner)
        data = fake_aftersale.seller_cancel(order, body, call.now)
        order.cancel_reason, order.cancel_initiator = str(body["cancel_reason"]), "SELLER"
        self.push_order(call.shop, order)
        self.push(call.shop, fake_aftersale.CANCELLATION_STATUS_CHANGE,
                  fake_aftersale.cancel_data(order.cancellations[-1]))
        return data

    def mint_auth_code(self, shop: Shop) -> str:
        """A single-use auth code for `shop`, as the seller's consent redirect would carry."""
        code = opaque_token("", self.seed, shop.index, "auth_code", next(self._auth_counter),
                            size=64)
        self.auth_codes[code] = shop.id
        return code

    def _token(self, request: Request, request_id: str) -> Response:
        """The auth host's `GET /api/v2/token/get` and `/refresh` (errors come with HTTP 200).

        get: `app_key, app_secret, auth_code, grant_type=authorized_code`, a code minted by
        `POST /_fake/auth-codes`, single use (36004004 "Invalid auth code." otherwise).
        refresh: `app_key, app_secret, refresh_token, grant_type=refresh_token`; unknown is
        36004005, expired 36004001 "rt has expired" (EcomPHP/tiktokshop-php PR #15)."""
        args = request.args
        grant = "authorized_code" if request.path.endswith("/get") else "refresh_token"
        if request.method != "GET":
            return envelope_response(request_id, error=ApiError(INVALID_METHOD, http_status=405))
        if args.get("app_key") != self.creds.app_key or args.get(
                "app_secret") != self.creds.app_secret:
            return envelope_response(request_id, error=ApiError(
                36009004, "Invalid credentials. Invalid `app_key` or `app_secret`."))
        if args.get("grant_type") != grant:
            return envelope_response(request_id, error=ApiError(
                36009004, f"Invalid param. `grant_type` must be {grant}."))
        with self.state_lock:
            now = self.clock()
            if grant == "authorized_code":
                shop_id = self.auth_codes.pop(args.get("auth_code", ""), None)
                if shop_id is None:
                    return envelope_response(request_id, error=ApiError(
                        AUTH_CODE_INVALID, "Invalid auth code."))
                shop = self.find_shop(shop_id)
            else:
                found = next((s for s in self.shops
                              if s.tokens.refresh_token == args.get("refresh_token")), None)
                if found is None:
                    return envelope_response(request_id, error=ApiError(
                        AUTH_RECORD_NOT_FOUND, "can not find related auth record"))
                if found.tokens.refresh_expires <= now:
                    return envelope_response(request_id, error=ApiError(
                        REFRESH_TOKEN_EXPIRED, "rt has expired"))
                shop = found
            old = shop.tokens
            shop.tokens = new_tokens(self.seed, shop.index, old.generation + 1, int(now),
                                     self.token_ttl)
            self._by_token.pop(old.access_token, None)
            self._by_token[shop.tokens.access_token] = shop
            tokens = shop.tokens
        return json_response({
            "code": 0,
            "message": "success",
            "data": {
                "access_token": tokens.access_token,
                "access_token_expire_in": tokens.access_expires,
                "refresh_token": tokens.refresh_token,
                "refresh_token_expire_in": tokens.refresh_expires,
                "open_id": shop.open_id,
                "seller_name": shop.name,
                "seller_base_region": shop.region,
                "user_type": 0,
                "granted_scopes": ["seller.product.basic", "seller.order.info",
                                   "seller.logistics", "seller.authorization.info"],
            },
            "request_id": request_id,
        })
