"""A faithful local fake of the WooCommerce REST API v3, for tests, benchmarks and the demo.

Serves `{site}/wp-json/wc/v3/...` with WooCommerce's paths, field names, headers and errors:

- Consumer-key auth: HTTP Basic (`consumer_key:consumer_secret`) or the `consumer_key` and
  `consumer_secret` query parameters. No credentials is `woocommerce_rest_cannot_view` (401);
  a wrong key or secret `woocommerce_rest_authentication_error` (401, "Consumer key is
  invalid." / "Consumer secret is invalid."); a write with a read-only key is refused the same
  way. (Real WooCommerce takes Basic auth only when it sees HTTPS — a test store behind a
  TLS-terminating proxy; the fake serves plain HTTP on loopback and accepts it.)
- Products (simple and variable), variations (`manage_stock: "parent"` takes the parent's
  stock and backorders), `page`/`per_page` (≤ 100) with `X-WP-Total`, `X-WP-TotalPages` and
  `Link`; `after`/`before`/`modified_after`/`modified_before`/`dates_are_gmt`; `sku` (a SKU
  look-up also finds variations); batch endpoints with the 100-item limit (413).
- Orders with `meta_data` (listed by date, never searched by meta data), order notes;
  a paid order takes stock without a product webhook, a cancellation gives it back.
- `/settings/general/woocommerce_currency`, and webhooks made through `/webhooks`, pinged on
  creation and signed like WooCommerce's (`fake_webhooks`).
- Unknown and read-only body fields are dropped without an error, as WooCommerce does, and
  recorded (`GET /_fake/dropped`); every exchange is kept in `exchanges` for the reference
  tests.

Control endpoints beyond the shared ones of `FakePlatform`:

| method and path          | body / answer                                                    |
| ------------------------ | ---------------------------------------------------------------- |
| `GET /_fake/state`       | counts, orders (id, status, meta, lines), webhooks, dropped       |
| `POST /_fake/stock`      | `{sku, delta? or quantity?}`: the merchant edits stock in the     |
|                          | admin; the stock owner is saved and `product.updated` fires       |
| `POST /_fake/product`    | `{sku, manage_stock?, backorders?, stock_status?, price?}`: a      |
|                          | product edit; `product.updated` fires                             |
| `POST /_fake/orders`     | `{items: [{sku, quantity}], status?, webhooks?}`: a storefront     |
|                          | order; stock moves with no product webhook (`order.created` only  |
|                          | unless `webhooks: false`)                                         |
| `GET/DELETE /_fake/dropped` | body fields WooCommerce would have dropped: `[{method, path,   |
|                          | field}]`                                                          |
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import FakePlatform, FakeTruth, Fault, json_response
from shelfsync.plugins.woocommerce import fake_json as render
from shelfsync.plugins.woocommerce import fake_orders as orders
from shelfsync.plugins.woocommerce import fake_products as products
from shelfsync.plugins.woocommerce import fake_webhooks as signing
from shelfsync.plugins.woocommerce.fake_control import handle_control
from shelfsync.plugins.woocommerce.fake_hooks_api import webhook_route
from shelfsync.plugins.woocommerce.fake_query import InvalidParam
from shelfsync.plugins.woocommerce.fake_store import WooStore, utc_now

API_PREFIX = "/wp-json/wc/v3/"
#: The meta key the plugin stores the TikTok order id under (counted by `truth()`).
ORDER_META_KEY = "tiktok_order_id"
MAX_EXCHANGES = 20_000
_GET_ROUTES: list[tuple[re.Pattern[str], Callable[..., Response]]] = [
    (re.compile(r"products"), products.list_products),
    (re.compile(r"products/(\d+)"), products.get_product),
    (re.compile(r"products/(\d+)/variations"), products.list_variations),
    (re.compile(r"products/(\d+)/variations/(\d+)"), products.get_variation),
    (re.compile(r"orders"), orders.list_orders),
    (re.compile(r"orders/(\d+)"), orders.get_order),
    (re.compile(r"settings/general"), products.general_settings),
    (re.compile(r"settings/general/woocommerce_currency"), products.currency),
]
_WRITE_ROUTES: list[tuple[re.Pattern[str], Callable[..., Response]]] = [
    (re.compile(r"products/batch"), lambda f, r, b: products.batch(f, r, b)),
    (re.compile(r"products/(\d+)/variations/batch"),
     lambda f, r, pid, b: products.batch(f, r, b, int(pid))),
    (re.compile(r"products/(\d+)"), lambda f, r, pid, b: products.update_product(
        f, r, int(pid), b)),
    (re.compile(r"products/(\d+)/variations/(\d+)"), lambda f, r, pid, vid, b:
     products.update_product(f, r, int(vid), b, variation_of=int(pid))),
    (re.compile(r"orders/batch"), lambda f, r, b: orders.batch(f, r, b)),
    (re.compile(r"orders/(\d+)/notes"), lambda f, r, oid, b: orders.add_note(
        f, r, int(oid), b)),
    (re.compile(r"orders/(\d+)"), lambda f, r, oid, b: orders.update_order(
        f, r, int(oid), b)),
]


def _derived(seed: int, purpose: str, prefix: str) -> str:
    digest = hashlib.sha256(f"shelfsync-woocommerce-fake:{seed}:{purpose}".encode()).hexdigest()
    return prefix + digest[:40]


class WooCommerceFake(FakePlatform):
    """One WooCommerce site behind `/wp-json/wc/v3` (see the module docstring)."""

    platform = "woocommerce"

    def __init__(self, *, products: int = 20, variants: int = 3, seed: int = 0,
                 currency: str = "USD", key_permissions: str = "read_write",
                 consumer_key: str | None = None, consumer_secret: str | None = None,
                 webhook_secret: str | None = None, clock: Callable[[], datetime] = utc_now
                 ) -> None:
        super().__init__()
        if key_permissions not in ("read", "write", "read_write"):
            raise ValueError("key_permissions must be read, write or read_write")
        self.state_lock = threading.RLock()
        self.consumer_key = consumer_key or _derived(seed, "key", "ck_")
        self.consumer_secret = consumer_secret or _derived(seed, "secret", "cs_")
        self.webhook_secret = webhook_secret or _derived(seed, "webhook", "")
        self.key_permissions = key_permissions
        self.store = WooStore(products=products, variants=variants, seed=seed,
                              currency=currency, clock=clock)
        self.site_url = "http://127.0.0.1"
        self.dropped: list[dict[str, str]] = []
        self.exchanges: list[dict[str, Any]] = []
        self._deliveries = 0

    # --- FakePlatform ---------------------------------------------------------------------

    def connections(self) -> list[dict[str, Any]]:
        """The one site, with the credentials the plugin connects with."""
        return [{"name": "WooCommerce fake", "platform": self.platform,
                 "credentials": {"consumer_key": self.consumer_key,
                                 "consumer_secret": self.consumer_secret,
                                 "webhook_secret": self.webhook_secret}}]

    def truth(self) -> FakeTruth:
        """What the site holds, as the plugin must read it: stock of every SKU whose stock is
        managed (its own or its parent's) at the one implicit location; continue selling when
        backorders are allowed, or when stock is not managed and the product is in stock."""
        with self.state_lock:
            store = self.store
            stock: dict[tuple[str, str], int] = {}
            backorder: dict[str, tuple[bool, bool]] = {}
            catalog: dict[str, str] = {}
            for item in store.sellable():
                if not item.sku:
                    continue
                catalog[item.sku] = str(item.id)
                managed = store.manage_stock(item) is not False
                if managed:
                    stock[(item.sku, "default")] = store.stock_quantity(item) or 0
                    sells_on = store.backorders(item) != "no"
                else:
                    sells_on = store.stock_status(item) != "outofstock"
                backorder[item.sku] = (sells_on, managed)
            counted: dict[str, int] = {}
            for order in store.orders.values():
                for meta in order.meta:
                    if meta["key"] == ORDER_META_KEY:
                        counted[str(meta["value"])] = counted.get(str(meta["value"]), 0) + 1
            return FakeTruth(locations={"default": True}, stock=stock, backorder=backorder,
                             catalog=catalog, orders=counted)

    def webhook_sample(self, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """A signed `product.updated` for a SKU (the first sellable one by default)."""
        with self.state_lock:
            sku = options.get("sku")
            item = self.store.by_sku(str(sku)) if sku else self.store.sellable()[0]
            if item is None:
                raise KeyError(f"unknown sku {sku!r}")
            payload = render.product(self.store, item, self.site_url)
            body = signing.encode(payload)
            self._deliveries += 1
            headers = signing.headers(source=self.site_url + "/", topic="product.updated",
                                      webhook_id=0, delivery_id=self._deliveries,
                                      secret=self.webhook_secret, body=body)
        return headers, body

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """Faults as a WordPress site fails: its JSON error for a fatal error, a proxy's HTML
        page for a 502/503/504."""
        if fault.kind == "429":
            return json_response({"code": "woocommerce_rest_too_many_requests",
                                  "message": "Too many requests.", "data": {"status": 429}},
                                 429, {"Retry-After": "1"})
        if fault.kind == "malformed":
            return Response('[{"id":1,"name":"trunc', status=200, mimetype="application/json")
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
            return Response("<html><body>504 Gateway Time-out</body></html>", status=504,
                            mimetype="text/html")
        if fault.kind == "500":
            return json_response({"code": "internal_server_error",
                                  "message": "<p>There has been a critical error on this "
                                             "website.</p>",
                                  "data": {"status": 500}, "additional_errors": []}, 500)
        return Response(f"<html><body>{fault.kind} Bad Gateway</body></html>",
                        status=int(fault.kind), mimetype="text/html")

    def handle_control(self, request: Request, name: str) -> Response | None:
        """`/_fake/state`, `stock`, `product`, `orders`, `dropped` (module docstring)."""
        return handle_control(self, request, name)

    # --- the API --------------------------------------------------------------------------

    def handle_api(self, request: Request) -> Response:
        """Authenticate, route and record one API request."""
        body = request.get_data()
        with self.state_lock:
            self.site_url = request.host_url.rstrip("/")
            response = self._answer(request)
            # The site's own clock, as the web server in front of WordPress stamps it.
            response.headers["Date"] = http_date(self.store.now())
            self._record(request, body, response)
        return response

    def _record(self, request: Request, raw: bytes, response: Response) -> None:
        try:
            sent = json.loads(raw) if raw else None
        except ValueError:
            sent = raw.decode("utf-8", "replace")
        try:
            answered = json.loads(response.get_data()) if response.get_data() else None
        except ValueError:
            answered = None
        if len(self.exchanges) >= MAX_EXCHANGES:
            del self.exchanges[: MAX_EXCHANGES // 2]
        self.exchanges.append({
            "method": request.method, "path": request.path,
            "query": [(k, v) for k, v in request.args.items(multi=True)],
            "auth": "basic" if request.authorization else (
                "query" if "consumer_key" in request.args else "none"),
            "body": sent, "status": response.status_code, "answer": answered,
        })

    def _answer(self, request: Request) -> Response:
        if not request.path.startswith(API_PREFIX):
            return render.error("rest_no_route", "No route was found matching the URL and "
                                "request method.", 404)
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        route = request.path.removeprefix(API_PREFIX).strip("/")
        try:
            if route.startswith("webhooks"):
                answer = webhook_route(self, request, route)
                if answer is not None:
                    return answer
            elif request.method == "GET":
                for pattern, handler in _GET_ROUTES:
                    match = pattern.fullmatch(route)
                    if match:
                        return handler(self, request, *map(int, match.groups()))
            elif request.method in ("POST", "PUT", "PATCH"):
                body = self._json_body(request)
                if isinstance(body, Response):
                    return body
                if route == "orders" and request.method == "POST":
                    return orders.create_order(self, request, body)
                for pattern, handler in _WRITE_ROUTES:
                    match = pattern.fullmatch(route)
                    if match:
                        return handler(self, request, *match.groups(), body)
        except InvalidParam as exc:
            return exc.response()
        return render.error("rest_no_route", "No route was found matching the URL and request "
                            "method.", 404)

    @staticmethod
    def _json_body(request: Request) -> dict[str, Any] | Response:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            return render.error("rest_invalid_json", "Invalid JSON body passed.", 400)
        if not isinstance(body, dict):
            return render.error("rest_invalid_json", "Invalid JSON body passed.", 400)
        return body

    def _authenticate(self, request: Request) -> Response | None:
        key = secret = None
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            key, _, secret = decoded.partition(":")
        elif "consumer_key" in request.args:
            key, secret = request.args.get("consumer_key"), request.args.get("consumer_secret")
        if key is None:
            reading = request.method == "GET"
            return render.error("woocommerce_rest_cannot_view" if reading
                                else "woocommerce_rest_cannot_create",
                                "Sorry, you cannot list resources." if reading
                                else "Sorry, you are not allowed to create resources.", 401)
        if not hmac.compare_digest(key.encode(), self.consumer_key.encode()):
            return render.error("woocommerce_rest_authentication_error",
                                "Consumer key is invalid.", 401)
        if not hmac.compare_digest((secret or "").encode(), self.consumer_secret.encode()):
            return render.error("woocommerce_rest_authentication_error",
                                "Consumer secret is invalid.", 401)
        writing = request.method not in ("GET", "HEAD", "OPTIONS")
        if (writing and self.key_permissions == "read") or (
                not writing and self.key_permissions == "write"):
            needed = "write" if writing else "read"
            return render.error("woocommerce_rest_authentication_error",
                                f"The API key provided does not have {needed} permissions.",
                                401)
        return None

    # --- helpers for the routes -----------------------------------------------------------

    def api_url(self, request: Request, route: str) -> str:
        """The absolute URL of an API route on this site."""
        return f"{request.host_url.rstrip('/')}{API_PREFIX}{route}"

    def record_dropped(self, request: Request, names: list[str]) -> None:
        """Remember body fields WooCommerce would have dropped without a word."""
        self.dropped += [{"method": request.method, "path": request.path, "field": name}
                         for name in names]

    def deliver(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Sign and queue one event to the API's webhooks for `topic` and to every URL given
        to `POST /_fake/webhooks` (signed with the `webhook_secret` credential)."""
        body = signing.encode(dict(payload))
        targets = [(hook.delivery_url, hook.secret, hook.id)
                   for hook in self.store.webhooks.values()
                   if hook.status == "active" and hook.topic == topic]
        targets += [(url, self.webhook_secret, 0) for url in self.webhook_urls]
        for url, secret, webhook_id in targets:
            self._deliveries += 1
            headers = signing.headers(source=self.site_url + "/", topic=topic,
                                      webhook_id=webhook_id, delivery_id=self._deliveries,
                                      secret=secret, body=body)
            self.webhooks.send(url, headers, body)
