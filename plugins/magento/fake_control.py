"""The Magento fake's own `/_fake/` control endpoints (documented in `fake.py`).

They change the store behind the API's back, as a merchant in the Magento admin would
(Magento sends no webhook for any of it), so tests and the demo can provoke what a poll must
find.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.magento import fake_orders
from shelfsync.plugins.magento.fake_errors import MagentoError
from shelfsync.plugins.magento.fake_store import MAX_QUANTITY, Product

if TYPE_CHECKING:
    from shelfsync.plugins.magento.fake import MagentoFake


class ControlError(ValueError):
    """A bad control request (answered 400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def handle_control(fake: MagentoFake, request: Request, name: str) -> Response | None:
    """Dispatch `/_fake/<name>`; None for names this fake does not know."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return json_response({"error": "the body must be a JSON object"}, 400)
    routes = {
        ("state", "GET"): lambda: _state(fake),
        ("stock", "POST"): lambda: _stock(fake, body),
        ("product", "POST"): lambda: _product(fake, body),
        ("config", "POST"): lambda: _config(fake, body),
        ("source", "POST"): lambda: _source(fake, body),
        ("ship", "POST"): lambda: fake_orders.ship(fake.store, str(body.get("order_id")),
                                                   body),
        ("limits", "POST"): lambda: _limits(fake, body),
    }
    route = routes.get((name, request.method))
    if route is None:
        return None
    try:
        with fake.state_lock:
            return json_response(route())
    except ControlError as exc:
        return json_response({"error": str(exc)}, exc.status)
    except MagentoError as exc:
        return json_response({"error": exc.message}, exc.status)
    except (TypeError, ValueError) as exc:
        return json_response({"error": f"invalid request: {exc}"}, 400)


def _product_of(fake: MagentoFake, sku: Any) -> Product:
    product = fake.store.products.get(str(sku or ""))
    if product is None or product.type_id == "configurable":
        raise ControlError(f"unknown simple product {sku!r}", 404)
    return product


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"{name} must be a number")
    return float(value)


def _stock(fake: MagentoFake, body: dict[str, Any]) -> dict[str, Any]:
    """`{sku, delta, source_code?}`: the merchant adds or removes units."""
    store = fake.store
    product = _product_of(fake, body.get("sku"))
    delta = _number(body, "delta")
    if store.legacy:
        new = product.stock.qty + delta
        if abs(new) > MAX_QUANTITY:
            raise ControlError(f"quantity must be within ±{MAX_QUANTITY}")
        product.stock.qty = new
        product.stock.is_in_stock = new > 0  # the admin save sets it from the quantity
        store.touch(product)
        return {"sku": product.sku, "qty": new, "is_in_stock": product.stock.is_in_stock}
    code = body.get("source_code")
    if code is None:
        code = next(s.code for s in store.sources if s.enabled)
    if store.source(str(code)) is None:
        raise ControlError(f"unknown source {code!r}", 404)
    item = store.source_items.get((product.sku, str(code)))
    quantity = (item.quantity if item else 0.0) + delta
    if abs(quantity) > MAX_QUANTITY:
        raise ControlError(f"quantity must be within ±{MAX_QUANTITY}")
    # Saving a source item in the admin sets its status from the quantity.
    item = store.add_source_item(product.sku, str(code), quantity, 1 if quantity > 0 else 0)
    return {"sku": item.sku, "source_code": item.source_code, "quantity": item.quantity,
            "status": item.status}


def _product(fake: MagentoFake, body: dict[str, Any]) -> dict[str, Any]:
    """A product's stock settings (and, with `source_code`, its source item's status)."""
    product = _product_of(fake, body.get("sku"))
    stock = product.stock
    for name in ("use_config_backorders", "use_config_manage_stock", "use_config_min_qty",
                 "manage_stock", "is_in_stock"):
        if name in body:
            setattr(stock, name, bool(body[name]))
    if "backorders" in body:
        if body["backorders"] not in (0, 1, 2):
            raise ControlError("backorders must be 0, 1 or 2")
        stock.backorders = int(body["backorders"])
    if "min_qty" in body:
        stock.min_qty = _number(body, "min_qty")
    if "status" in body:
        item = fake.store.source_items.get((product.sku, str(body.get("source_code"))))
        if item is None:
            raise ControlError("give the source_code of an assigned source", 404)
        item.status = 1 if body["status"] else 0
    fake.store.touch(product)
    backorders, manage, min_qty = fake.store.effective(product)
    return {"sku": product.sku, "backorders": backorders, "manage_stock": manage,
            "min_qty": min_qty}


def _config(fake: MagentoFake, body: dict[str, Any]) -> dict[str, Any]:
    config = fake.store.config
    if "backorders" in body:
        if body["backorders"] not in (0, 1, 2):
            raise ControlError("backorders must be 0, 1 or 2")
        config["backorders"] = int(body["backorders"])
    if "manage_stock" in body:
        config["manage_stock"] = bool(body["manage_stock"])
    if "min_qty" in body:
        config["min_qty"] = _number(body, "min_qty")
    return dict(config)


def _source(fake: MagentoFake, body: dict[str, Any]) -> dict[str, Any]:
    source = fake.store.source(str(body.get("source_code")))
    if source is None:
        raise ControlError(f"unknown source {body.get('source_code')!r}", 404)
    source.enabled = bool(body.get("enabled"))
    return {"source_code": source.code, "enabled": source.enabled}


def _limits(fake: MagentoFake, body: dict[str, Any]) -> dict[str, Any]:
    fake.input_limits = bool(body.get("input_limits"))
    return {"input_limits": fake.input_limits}


def _state(fake: MagentoFake) -> dict[str, Any]:
    store = fake.store
    return {
        "legacy": store.legacy, "input_limits": fake.input_limits, "config": store.config,
        "products": len(store.products),
        "sources": [{"source_code": s.code, "enabled": s.enabled} for s in store.sources],
        "stocks": {str(k): {"name": n, "sources": c} for k, (n, c) in store.stocks.items()},
        "reservations": [[sku, stock, qty] for (sku, stock), qty in store.reservations.items()],
        "orders": [{"entity_id": o.id, "state": o.entity["state"],
                    "customer_email": o.entity["customer_email"],
                    "items": [{"sku": i["sku"], "qty": i["qty_ordered"]}
                              for i in o.entity["items"]]} for o in store.orders],
    }
