"""The acme fake: an imaginary channel API (TODO: make it answer like the real one).

| method and path                   | answer                                                   |
| --------------------------------- | -------------------------------------------------------- |
| `GET /v1/shop`                    | `{"id", "name"}`                                         |
| `GET /v1/listings?cursor&limit`   | `{"listings": [{"product_id", "sku_id", "seller_sku",     |
|                                   | "quantity"}], "next_cursor"}`                            |
| `POST /v1/inventory`              | `{"updates": [{"sku_id", "quantity"}]}` ->               |
|                                   | `{"results": [{"sku_id", "ok", "error"?}]}`              |
| `GET /v1/orders?cursor`           | `{"orders": [...], "next_cursor"}`                       |
| `POST /v1/orders/<id>/ship`       | `{"tracking_number", "carrier"}`; 409 `already_shipped`   |
| `POST /v1/orders/<id>/cancel`     | `{"reason"}`; 409 `already_cancelled`                     |

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

TOKEN = "acme-token"
SECRET = "acme-webhook-secret"
WAREHOUSE = "default"


class AcmeFake(FakePlatform):
    """The acme channel API, listing the seeded catalog's SKUs."""

    platform = "acme"

    def __init__(self, products: int = 10, variants: int = 2, seed: int = 0,
                 throttle_every: int = 0) -> None:
        super().__init__()
        self.throttle_every = throttle_every
        self._served = 0
        self.listings = [
            {"product_id": f"P-{p.index}", "sku_id": f"S-{v.sku}", "seller_sku": v.sku,
             "quantity": v.rng("acme").randint(0, 30)}
            for p in seed_catalog(seed, products, variants) for v in p.variants
        ]
        self.orders = [{
            "id": f"ORD-{seed}-{n + 1}", "status": "AWAITING_SHIPMENT",
            "lines": [{"id": "1", "sku_id": item["sku_id"], "seller_sku": item["seller_sku"],
                       "quantity": 1}],
        } for n, item in enumerate(self.listings[:3])]
        self.shipments: dict[str, list[dict[str, Any]]] = {}
        self.cancellations: dict[str, list[str]] = {}

    def truth(self) -> FakeTruth:
        with self._lock:
            return FakeTruth(
                listings={item["sku_id"]: (item["seller_sku"], {WAREHOUSE: item["quantity"]})
                          for item in self.listings},
                shipments={k: len(v) for k, v in self.shipments.items()},
                cancellations={k: len(v) for k, v in self.cancellations.items()})

    def connections(self) -> list[dict[str, Any]]:
        return [{"name": "acme shop", "credentials": {"api_token": TOKEN,
                                                      "webhook_secret": SECRET}}]

    def webhook_sample(self, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        body = json.dumps({"event": "order", "id": options.get("id", "evt-1")}).encode()
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Acme-Signature": signature, "X-Acme-Event": "order"}, body

    def handle_api(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_response({"error": {"code": "unauthorized"}}, 401)
        with self._lock:
            self._served += 1
            throttled = self.throttle_every and self._served % self.throttle_every == 0
        if throttled:
            self.note_throttled()
            return json_response({"error": {"code": "throttled"}}, 429, {"Retry-After": "0"})
        if request.path == "/v1/shop":
            return json_response({"id": "acme-shop-1", "name": "Acme shop"})
        if request.path == "/v1/listings":
            return self._page(request, self.listings, "listings")
        if request.path == "/v1/orders":
            return self._page(request, self.orders, "orders")
        if request.path == "/v1/inventory" and request.method == "POST":
            return self._update(request.get_json())
        parts = request.path.split("/")  # "", "v1", "orders", id, action
        if len(parts) == 5 and parts[2] == "orders" and request.method == "POST":
            return self._order_action(parts[3], parts[4], request.get_json(silent=True) or {})
        return json_response({"error": {"code": "no_such_path"}}, 404)

    def _page(self, request: Request, rows: list[dict[str, Any]], key: str) -> Response:
        start, limit = int(request.args.get("cursor") or 0), int(request.args.get("limit", 50))
        more = start + limit < len(rows)
        return json_response({key: rows[start:start + limit],
                              "next_cursor": str(start + limit) if more else None})

    def _order_action(self, order_id: str, action: str, body: dict[str, Any]) -> Response:
        with self._lock:
            order = next((o for o in self.orders if o["id"] == order_id), None)
            if order is None:
                return json_response({"error": {"code": "not_found"}}, 404)
            if action == "ship":
                if order["status"] == "SHIPPED":
                    return json_response({"error": {"code": "already_shipped"}}, 409)
                order["status"] = "SHIPPED"
                self.shipments.setdefault(order_id, []).append(body)
            elif action == "cancel":
                if order["status"] == "CANCELLED":
                    return json_response({"error": {"code": "already_cancelled"}}, 409)
                order["status"] = "CANCELLED"
                self.cancellations.setdefault(order_id, []).append(str(body.get("reason")))
            else:
                return json_response({"error": {"code": "no_such_path"}}, 404)
        return json_response({"order": order})

    def _update(self, body: dict[str, Any]) -> Response:
        by_id = {item["sku_id"]: item for item in self.listings}
        results = []
        with self._lock:
            for update in body.get("updates", []):
                item = by_id.get(update.get("sku_id"))
                if item is None:
                    results.append({"sku_id": update.get("sku_id"), "ok": False,
                                    "error": "unknown_sku"})
                    continue
                item["quantity"] = int(update["quantity"])
                results.append({"sku_id": item["sku_id"], "ok": True})
        return json_response({"results": results})
