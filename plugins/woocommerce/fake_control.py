"""The WooCommerce fake's own `/_fake/` control endpoints (documented in `fake.py`).

They change the site behind the API's back, as a merchant in wp-admin or a shopper at the
checkout would, so tests and the demo can provoke webhooks, silent stock moves and drift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.woocommerce import fake_json as render
from shelfsync.plugins.woocommerce import fake_orders
from shelfsync.plugins.woocommerce.fake_store import BACKORDERS, MAX_QUANTITY, Product

if TYPE_CHECKING:
    from shelfsync.plugins.woocommerce.fake import WooCommerceFake


class ControlError(ValueError):
    """A bad control request (answered 400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def handle_control(fake: WooCommerceFake, request: Request, name: str) -> Response | None:
    """Dispatch `/_fake/<name>`; None for names this fake does not know."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return json_response({"error": "the body must be a JSON object"}, 400)
    routes: dict[tuple[str, str], Callable[[], Any]] = {
        ("state", "GET"): lambda: state(fake),
        ("stock", "POST"): lambda: _stock(fake, body),
        ("product", "POST"): lambda: _product(fake, body),
        ("orders", "POST"): lambda: _order(fake, request, body),
        ("silent-stock", "POST"): lambda: _silent_stock(fake, request, body),
        ("dropped", "GET"): lambda: list(fake.dropped),
        ("dropped", "DELETE"): lambda: _clear_dropped(fake),
    }
    route = routes.get((name, request.method))
    if route is None:
        return None
    try:
        with fake.state_lock:
            answer = route()
    except ControlError as exc:
        return json_response({"error": str(exc)}, exc.status)
    except (TypeError, ValueError) as exc:
        return json_response({"error": f"invalid request: {exc}"}, 400)
    return answer if isinstance(answer, Response) else json_response(answer)


def _clear_dropped(fake: WooCommerceFake) -> dict[str, bool]:
    fake.dropped.clear()
    return {"ok": True}


def _item(fake: WooCommerceFake, sku: Any) -> Product:
    item = fake.store.by_sku(str(sku or ""))
    if item is None:
        raise ControlError(f"unknown sku {sku!r}", 404)
    return item


def _summary(fake: WooCommerceFake, item: Product) -> dict[str, Any]:
    store = fake.store
    return {"sku": item.sku, "id": item.id, "manage_stock": store.manage_stock(item),
            "stock_quantity": store.stock_quantity(item), "backorders": store.backorders(item),
            "stock_status": store.stock_status(item)}


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_QUANTITY:
        raise ControlError(f"{name} must be a whole number within ±{MAX_QUANTITY}")
    return value


def _stock(fake: WooCommerceFake, body: dict[str, Any]) -> dict[str, Any]:
    """The merchant changes stock in wp-admin: the stock owner is saved, `product.updated`
    carries it (for a parent-managed variation: the parent product)."""
    item = _item(fake, body.get("sku"))
    owner = fake.store.stock_owner(item)
    if owner is None:
        raise ControlError(f"{item.sku}: stock is not managed")
    if "quantity" in body:
        delta = _whole(body["quantity"], "quantity") - (owner.stock_quantity or 0)
    elif "delta" in body:
        delta = _whole(body["delta"], "delta")
    else:
        raise ControlError("give 'quantity' or 'delta'")
    fake.store.move_stock(item, delta)
    fake.deliver("product.updated", render.product(fake.store, owner, fake.site_url))
    return _summary(fake, item)


def _product(fake: WooCommerceFake, body: dict[str, Any]) -> dict[str, Any]:
    """A product edit in wp-admin; `product.updated` fires."""
    item = _item(fake, body.get("sku"))
    if "manage_stock" in body:
        item.manage_stock = bool(body["manage_stock"])
        item.stock_quantity = (item.stock_quantity or 0) if item.manage_stock else None
    if "backorders" in body:
        if body["backorders"] not in BACKORDERS:
            raise ControlError("backorders must be no, notify or yes")
        item.backorders = str(body["backorders"])
    if "stock_status" in body:
        if body["stock_status"] not in ("instock", "outofstock", "onbackorder"):
            raise ControlError("stock_status must be instock, outofstock or onbackorder")
        item.stock_status = str(body["stock_status"])
    if "price" in body:
        item.regular_price = f"{float(body['price']):.2f}"
    fake.store.touch(item)
    fake.deliver("product.updated", render.product(fake.store, item, fake.site_url))
    return _summary(fake, item)


def _silent_stock(fake: WooCommerceFake, request: Request, body: dict[str, Any]) -> Response:
    """Stock that leaves with no webhook at all (the contract kit's poll check): a shopper's
    checkout of `-delta` units on a site without an order webhook."""
    delta = _whole(body.get("delta"), "delta")
    if delta >= 0:
        raise ControlError("delta must be negative: a storefront order only takes stock")
    return _order(fake, request, {"items": [{"sku": body.get("sku"), "quantity": -delta}],
                                  "webhooks": False})


def _order(fake: WooCommerceFake, request: Request, body: dict[str, Any]) -> Response:
    """A shopper's checkout: stock moves, no product webhook (`order.created` unless
    `webhooks` is false, as when the site has no order webhook)."""
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ControlError("items must be a non-empty list of {sku, quantity}")
    lines = [{"sku": str(_item(fake, entry.get("sku")).sku),
              "quantity": _whole(entry.get("quantity", 1), "quantity")}
             for entry in items if isinstance(entry, dict)]
    order_body = {"status": str(body.get("status") or "processing"), "line_items": lines,
                  "payment_method": "cod", "payment_method_title": "Cash on delivery"}
    return fake_orders.create_order(fake, request, order_body, created_via="checkout",
                                    webhooks=bool(body.get("webhooks", True)))


def state(fake: WooCommerceFake) -> dict[str, Any]:
    """What the site holds, for people and tests."""
    store = fake.store
    return {
        "currency": store.currency,
        "products": sum(1 for p in store.products.values() if p.type != "variation"),
        "variations": sum(1 for p in store.products.values() if p.type == "variation"),
        "orders": [{"id": o.id, "status": o.status, "created_via": o.created_via,
                    "meta_data": [{"key": m["key"], "value": m["value"]} for m in o.meta],
                    "line_items": [{"sku": line.sku, "quantity": line.quantity,
                                    "total": line.total} for line in o.lines],
                    "notes": list(o.notes)} for o in store.orders.values()],
        "webhooks": [{"id": w.id, "topic": w.topic, "status": w.status,
                      "delivery_url": w.delivery_url} for w in store.webhooks.values()],
        "webhook_urls": list(fake.webhook_urls),
        "webhooks_delivered": len(fake.webhooks.delivered),
        "dropped": list(fake.dropped),
    }
