"""The toy store's fake: a small JSON REST API with bearer auth, pages, cursors and a throttle.

| method and path                 | answer                                                     |
| ------------------------------- | ---------------------------------------------------------- |
| `GET /v1/shop`                  | `{"id", "name"}`                                           |
| `GET /v1/locations`             | `{"locations": [{"id", "name", "active"}]}`                |
| `GET /v1/products?page&per_page`| `{"products": [{"id", "title", "variants"}], "has_more"}`  |
| `GET /v1/stock?cursor&limit&skus` | `{"levels": [{"sku", "location_id", "available"}],       |
|                                 | "next_cursor"}`, at every location (inactive ones too)     |
| `GET /v1/orders?external_id`    | `{"orders": [...]}`; `GET /v1/orders/<id>`: `{"order"}`     |
| `POST /v1/orders`               | 201 `{"order"}`; an unknown SKU is 422 `unknown_sku`        |
| `GET /v1/stock/changes?after&limit` | `{"changes": [{"seq", "sku"}], "last_seq"}`: the stock   |
|                                 | change log, oldest first, after sequence number `after`    |
| `POST /_fake/stock`             | `{"sku", "delta"}`: a merchant's change at the first active |
|                                 | location, logged                                            |

`throttle_every=N` answers every Nth API request with a 429 (`Retry-After: 0`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.catalog import seed_catalog
from shelfsync.core.testing.fakes import FakePlatform, FakeTruth, json_response

TOKEN = "toy-store-token"
SECRET = "toy-store-secret"
LOCATIONS = (("LOC-1", "Main", True), ("LOC-2", "Shop", True), ("LOC-3", "Closed", False))


class ToyStoreFake(FakePlatform):
    """The toy store's API, seeded from `seed_catalog`."""

    platform = "toystore"

    def __init__(self, products: int = 10, variants: int = 2, seed: int = 0,
                 throttle_every: int = 0) -> None:
        super().__init__()
        self.throttle_every = throttle_every
        self._served = 0
        self.products: list[dict[str, Any]] = []
        self.stock: dict[tuple[str, str], int] = {}
        for product in seed_catalog(seed, products, variants):
            variants_json = []
            for v in product.variants:
                rng = v.rng("toystore")
                variants_json.append({
                    "id": f"V-{product.index}-{v.variant_index}", "sku": v.sku,
                    "price": v.price, "continue_selling": rng.random() < 0.3,
                    "tracked": rng.random() >= 0.2,
                })
                for location_id, _, _ in LOCATIONS:
                    self.stock[(v.sku, location_id)] = rng.randint(0, 40)
            self.products.append({"id": f"P-{product.index}", "title": product.title,
                                  "variants": variants_json})
        self.orders: list[dict[str, Any]] = []
        #: The SKU of every stock change, oldest first (sequence number = index + 1).
        self.change_log: list[str] = []

    def variants(self) -> list[dict[str, Any]]:
        """Every variant, in catalog order."""
        return [v for p in self.products for v in p["variants"]]

    def truth(self) -> FakeTruth:
        active = {loc: on for loc, _, on in LOCATIONS}
        counts: dict[str, int] = {}
        for order in self.orders:
            counts[order["external_id"]] = counts.get(order["external_id"], 0) + 1
        return FakeTruth(
            locations=active,
            stock={key: qty for key, qty in self.stock.items() if active[key[1]]},
            backorder={v["sku"]: (v["continue_selling"], v["tracked"]) for v in self.variants()},
            catalog={v["sku"]: v["id"] for v in self.variants()},
            orders=counts,
        )

    def connections(self) -> list[dict[str, Any]]:
        return [{"name": "toy store", "credentials": {"token": TOKEN, "secret": SECRET}}]

    def webhook_sample(self, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = json.dumps({"event": "stock", "id": options.get("id", "evt-1")}).encode()
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Toy-Signature": signature, "X-Toy-Event": "stock"}, body

    def handle_api(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_response({"error": {"code": "unauthorized"}}, 401)
        with self._lock:
            self._served += 1
            throttled = self.throttle_every and self._served % self.throttle_every == 0
        if throttled:
            self.note_throttled()
            return json_response({"error": {"code": "throttled"}}, 429, {"Retry-After": "0"})
        path = request.path
        if path == "/v1/shop":
            return json_response({"id": "toy-store-1", "name": "Toy store"})
        if path == "/v1/locations":
            return json_response({"locations": [{"id": i, "name": n, "active": a}
                                                for i, n, a in LOCATIONS]})
        if path == "/v1/products":
            page, size = int(request.args.get("page", 1)), int(request.args.get("per_page", 50))
            chunk = self.products[(page - 1) * size: page * size]
            return json_response({"products": chunk,
                                  "has_more": page * size < len(self.products)})
        if path == "/v1/stock":
            return self._stock(request)
        if path == "/v1/stock/changes":
            after, limit = int(request.args.get("after", 0)), int(request.args.get("limit", 50))
            with self._lock:
                log = list(enumerate(self.change_log, start=1))
            return json_response({"changes": [{"seq": n, "sku": sku} for n, sku in log
                                              if n > after][:limit], "last_seq": len(log)})
        if path == "/v1/orders" and request.method == "POST":
            return self._create_order(request.get_json())
        if path == "/v1/orders":
            wanted = request.args.get("external_id")
            return json_response({"orders": [o for o in self.orders
                                             if o["external_id"] == wanted]})
        if path.startswith("/v1/orders/"):
            found = [o for o in self.orders if o["id"] == path.rsplit("/", 1)[1]]
            if not found:
                return json_response({"error": {"code": "not_found"}}, 404)
            return json_response({"order": found[0]})
        return json_response({"error": {"code": "no_such_path"}}, 404)

    def handle_control(self, request: Request, name: str) -> Response | None:
        if name != "stock" or request.method != "POST":
            return None
        body = request.get_json(silent=True) or {}
        location = next(loc for loc, _, active in LOCATIONS if active)
        key = (str(body.get("sku")), location)
        if key not in self.stock:
            return json_response({"error": f"unknown sku {body.get('sku')!r}"}, 404)
        with self._lock:
            self.stock[key] += int(body.get("delta", 0))
            self.change_log.append(key[0])
        return json_response({"sku": key[0], "available": self.stock[key]})

    def _stock(self, request: Request) -> Response:
        skus = [s for s in request.args.get("skus", "").split(",") if s]
        rows = [{"sku": sku, "location_id": loc, "available": qty}
                for (sku, loc), qty in self.stock.items() if not skus or sku in skus]
        start, limit = int(request.args.get("cursor") or 0), int(request.args.get("limit", 50))
        more = start + limit < len(rows)
        return json_response({"levels": rows[start:start + limit],
                              "next_cursor": str(start + limit) if more else None})

    def _create_order(self, body: dict[str, Any]) -> Response:
        known = {v["sku"] for v in self.variants()}
        for line in body.get("lines", []):
            if line.get("sku") not in known:
                return json_response({"error": {"code": "unknown_sku",
                                                "sku": line.get("sku")}}, 422)
        with self._lock:
            order = {"id": f"O-{len(self.orders) + 1}", "external_id": body["external_id"],
                     "status": "open", "lines": body["lines"]}
            self.orders.append(order)
        return json_response({"order": order}, 201)
