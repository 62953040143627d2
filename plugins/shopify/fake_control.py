"""The Shopify fake's own `/_fake/` control endpoints (documented in `fake.py`).

They change the shop behind the API's back, as a merchant in the Shopify admin would, so
tests and the demo can provoke webhooks, drift and throttling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.shopify import fake_webhooks as hooks
from shelfsync.plugins.shopify.fake_aftersale import cancel, cancel_refusal, ship, shipped_units
from shelfsync.plugins.shopify.fake_store import (
    MAX_QUANTITY,
    Level,
    LineItem,
    Location,
    Variant,
    now_iso,
    parse_gid,
)

if TYPE_CHECKING:
    from shelfsync.plugins.shopify.fake import ShopifyFake


class ControlError(ValueError):
    """A bad control request (answered 400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def handle_control(fake: ShopifyFake, request: Request, name: str) -> Response | None:
    """Dispatch `/_fake/<name>`; None for names this fake does not know."""
    body = request.get_json(silent=True) or {}
    routes = {
        ("state", "GET"): lambda: _state(fake),
        ("stock", "GET"): lambda: _stock(fake, _variant(fake, request.args.get("sku"))),
        ("stock", "POST"): lambda: _set_stock(fake, body),
        ("variant", "POST"): lambda: _edit_variant(fake, body),
        ("budget", "POST"): lambda: _budget(fake, body),
        ("fulfill", "POST"): lambda: _fulfill(fake, body),
        ("cancel", "POST"): lambda: _cancel(fake, body),
        ("order-faults", "POST"): lambda: _order_fault(fake, body),
        ("order-calls", "GET"): lambda: dict(fake.order_calls),
        ("bulk", "GET"): lambda: fake.bulk.state(),
        ("bulk", "POST"): lambda: fake.bulk.control(body, fake.schema),
    }
    route = routes.get((name, request.method))
    if route is None:
        return None
    try:
        with fake.state_lock:
            return json_response(route())
    except ControlError as exc:
        return json_response({"error": str(exc)}, exc.status)
    except (TypeError, ValueError) as exc:
        return json_response({"error": f"invalid request: {exc}"}, 400)


def _order_fault(fake: ShopifyFake, body: dict[str, Any]) -> dict[str, Any]:
    """`{"kind": "500"|"lost", "count"?, "seconds"?}`: the next `count` orderCreate calls make
    their order, then answer 500, or answer too late (after `seconds`) and garbled."""
    kind, count, seconds = body.get("kind"), body.get("count", 1), body.get("seconds", 1.0)
    if kind not in ("500", "lost"):
        raise ControlError("kind must be 500 or lost")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ControlError("count must be a whole number of at least 1")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 30:
        raise ControlError("seconds must be from 0 to 30")
    fake.order_faults.append([kind, count, float(seconds)])
    return {"ok": True}


def _variant(fake: ShopifyFake, sku: Any) -> Variant:
    variant = fake.store.by_sku.get(str(sku or ""))
    if variant is None:
        raise ControlError(f"unknown sku {sku!r}", 404)
    return variant


def _location(fake: ShopifyFake, value: Any) -> Location:
    if value is None:
        return next(loc for loc in fake.store.locations if loc.active)
    parsed = parse_gid(str(value))
    num = parsed[1] if parsed else int(value)
    location = fake.store.location(num)
    if location is None:
        raise ControlError(f"unknown location {value!r}", 404)
    return location


def _level_summary(level: Level) -> dict[str, Any]:
    return {
        "location_id": level.location.num,
        "location_active": level.location.active,
        "available": level.quantity("available"),
        "committed": level.quantity("committed"),
        "on_hand": level.quantity("on_hand"),
    }


def _stock(fake: ShopifyFake, variant: Variant) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "inventory_item_id": variant.item.num,
        "tracked": variant.item.tracked,
        "inventory_policy": variant.policy,
        "levels": [_level_summary(lv) for lv in variant.item.levels.values()],
    }


def _set_stock(fake: ShopifyFake, body: dict[str, Any]) -> dict[str, Any]:
    variant = _variant(fake, body.get("sku"))
    location = _location(fake, body.get("location_id"))
    level = variant.item.levels.get(location.num)
    if level is None:
        raise ControlError("the item is not stocked at that location")
    if "available" in body:
        new = int(body["available"])
    elif "delta" in body:
        new = level.quantities["available"] + int(body["delta"])
    else:
        raise ControlError("give 'available' or 'delta'")
    if abs(new) > MAX_QUANTITY:
        raise ControlError(f"quantity must be within ±{MAX_QUANTITY}")
    changed = new != level.quantities["available"]
    level.quantities["available"] = new
    level.updated_at = variant.item.updated_at = now_iso()
    if changed:
        payload = hooks.level_payload(level)
        fake.deliver("inventory_levels/update", payload)
    return _stock(fake, variant)


def _edit_variant(fake: ShopifyFake, body: dict[str, Any]) -> dict[str, Any]:
    variant = _variant(fake, body.get("sku"))
    if "inventory_policy" in body:
        policy = str(body["inventory_policy"]).upper()
        if policy not in ("DENY", "CONTINUE"):
            raise ControlError("inventory_policy must be DENY or CONTINUE")
        variant.policy = policy
    if "price" in body:
        variant.price = f"{float(body['price']):.2f}"
    tracked_changed = "tracked" in body and bool(body["tracked"]) != variant.item.tracked
    if tracked_changed:
        variant.item.tracked = bool(body["tracked"])
        variant.item.updated_at = now_iso()
    variant.updated_at = variant.product.updated_at = now_iso()
    fake.deliver("products/update", hooks.product_payload(variant.product))
    if tracked_changed:
        fake.deliver("inventory_items/update", hooks.item_payload(variant.item))
    return _stock(fake, variant)


def _fulfill(fake: ShopifyFake, body: dict[str, Any]) -> dict[str, Any]:
    """The merchant ships `lines` ([{sku, quantity}]) of an order, or all that is left."""
    raw = body.get("order_id")
    parsed = parse_gid(str(raw)) if raw is not None else None
    order = fake.store.order(parsed[1] if parsed else int(raw or 0))
    if order is None:
        raise ControlError(f"unknown order {raw!r}", 404)
    if order.cancelled_at is not None:
        raise ControlError(f"order {order.name} is cancelled", 409)
    shipped = shipped_units(order)
    left = {li.num: li.quantity - shipped.get(li.num, 0) for li in order.line_items}
    lines: list[tuple[LineItem, int]] = []
    wanted = body.get("lines")
    if wanted is None:
        lines = [(li, left[li.num]) for li in order.line_items if left[li.num] > 0]
    else:
        if not isinstance(wanted, list):
            raise ControlError("lines must be a list of {sku, quantity}")
        for entry in wanted:
            sku = entry.get("sku") if isinstance(entry, dict) else None
            count = entry.get("quantity") if isinstance(entry, dict) else None
            line = next((li for li in order.line_items if li.sku == sku and left[li.num]), None)
            if line is None or not isinstance(count, int) or not 0 < count <= left[line.num]:
                raise ControlError(f"order {order.name} has no {count!r} unshipped of {sku!r}")
            left[line.num] -= count
            lines.append((line, count))
    if not lines:
        raise ControlError(f"order {order.name} is already fulfilled", 409)
    number, company = body.get("tracking_number"), body.get("company")
    tracking = [(company, number, body.get("url"))] if number or company else []
    fulfillment, events = ship(fake.store, order, lines, tracking)
    for topic, payload in events:
        fake.deliver(topic, payload)
    return {"order_id": order.num, "name": order.name, "fulfillment_id": fulfillment.num,
            "fulfillment_gid": f"gid://shopify/Fulfillment/{fulfillment.num}"}


def _cancel(fake: ShopifyFake, body: dict[str, Any]) -> dict[str, Any]:
    """The merchant cancels an order in the admin (as `orderCancel` would)."""
    raw = body.get("order_id")
    parsed = parse_gid(str(raw)) if raw is not None else None
    order = fake.store.order(parsed[1] if parsed else int(raw or 0))
    refused = cancel_refusal(order)
    if refused is not None:
        raise ControlError(refused[1], 404 if refused[0] == "NOT_FOUND" else 409)
    assert order is not None
    reason = str(body.get("reason") or "CUSTOMER")
    for topic, payload in cancel(fake.store, order, reason, bool(body.get("restock", True))):
        fake.deliver(topic, payload)
    return {"order_id": order.num, "name": order.name, "cancelled_at": order.cancelled_at}


def _budget(fake: ShopifyFake, body: dict[str, Any]) -> dict[str, Any]:
    values = {k: body.get(k) for k in ("bucket_size", "restore_rate", "available")}
    if any(v is not None and float(v) < 0 for v in values.values()):
        raise ControlError("budget figures must be >= 0")
    fake.bucket.configure(
        size=values["bucket_size"],
        restore_rate=values["restore_rate"],
        available=values["available"],
    )
    return {"throttleStatus": fake.bucket.status()}


def _state(fake: ShopifyFake) -> dict[str, Any]:
    store = fake.store
    return {
        "shop": fake.shop,
        "currency": store.currency,
        "products": len(store.products),
        "variants": len(store.variants),
        "locations": [
            {"id": loc.num, "name": loc.name, "active": loc.active} for loc in store.locations
        ],
        "orders": [
            {
                "id": o.num,
                "name": o.name,
                "tags": o.tags,
                "source_identifier": o.source_identifier,
                "line_items": [{"sku": li.sku, "quantity": li.quantity} for li in o.line_items],
            }
            for o in store.orders
        ],
        "webhook_subscriptions": [
            {"id": s.num, "topic": s.topic, "callback_url": s.callback_url}
            for s in store.subscriptions
        ],
        "webhook_urls": list(fake.webhook_urls),
        "webhooks_delivered": len(fake.webhooks.delivered),
        "throttle_status": fake.bucket.status(),
    }
