"""TikTok-specific `/_fake/` control endpoints (documented in `fake.py`'s module docstring)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.tiktok import (
    fake_aftersale,
    fake_orders,
    fake_rendezvous,
    fake_webhooks,
)
from shelfsync.plugins.tiktok.fake_state import PRODUCT_STATUSES, Shop

if TYPE_CHECKING:
    from shelfsync.plugins.tiktok.fake import TikTokFake

_ORDER_STATUS = re.compile(r"orders/(\d+)/status")
_PRODUCT_STATUS = re.compile(r"products/(\d+)/status")
_ORDER_CANCEL = re.compile(r"orders/(\d+)/cancel")
_SETTLE = re.compile(r"cancellations/(\d+)/settle")
_RETURN_STATUS = re.compile(r"returns/(\d+)/status")


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def handle(fake: TikTokFake, request: Request, name: str) -> Response | None:
    """Answer one control request, or `None` when `name` is not ours."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return _error("body must be a JSON object")
    post = request.method == "POST"
    if name == "orders" and post:
        return _create_order(fake, body)
    if (m := _ORDER_STATUS.fullmatch(name)) and post:
        return _order_status(fake, m.group(1), body)
    if (m := _PRODUCT_STATUS.fullmatch(name)) and post:
        return _product_status(fake, m.group(1), body)
    if (m := _ORDER_CANCEL.fullmatch(name)) and post:
        return _buyer_cancel(fake, m.group(1), body)
    if (m := _SETTLE.fullmatch(name)) and post:
        return _settle(fake, m.group(1), body)
    if name == "returns" and post:
        return _open_return(fake, body)
    if (m := _RETURN_STATUS.fullmatch(name)) and post:
        return _return_status(fake, m.group(1), body)
    if name == "auth-codes" and post:
        with fake.state_lock:
            try:
                shop = _shop(fake, body)
            except KeyError as exc:
                return _error(str(exc), 404)
            return json_response({"code": fake.mint_auth_code(shop), "shop_id": shop.id}, 201)
    if name == "tokens/expire" and post:
        return _expire_tokens(fake, body)
    if name == "qps" and post:
        qps = body.get("qps")
        if qps is not None and (isinstance(qps, bool) or not isinstance(qps, int | float)
                                or qps <= 0):
            return _error("qps must be a positive number or null")
        fake.limiter.set(qps)
        return json_response({"ok": True, "qps": qps})
    if name == "empty-answers" and post:
        count, path, data = body.get("count", 1), body.get("path", ""), body.get("data", {})
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            return _error("count must be a whole number of at least 1")
        if not isinstance(data, dict):
            return _error("data must be a JSON object")
        with fake.state_lock:
            fake.empty_answers.append([str(path), count, data])
        return json_response({"ok": True})
    if name == "rendezvous" and post:
        parsed = fake_rendezvous.parse(body)
        if isinstance(parsed, str):
            return _error(parsed)
        fake.rendezvous.arm(*parsed)
        return json_response(fake.rendezvous.status())
    if name == "rendezvous" and request.method == "GET":
        return json_response(fake.rendezvous.status())
    if name == "state" and request.method == "GET":
        return json_response(state(fake, request.args.get("inventory") == "1"))
    return None


def _shop(fake: TikTokFake, body: dict[str, Any]) -> Shop:
    return fake.find_shop(body.get("shop_id", body.get("shop")))


def _items(body: dict[str, Any]) -> Any:
    """`items: [{seller_sku, quantity}]`, or the shorthand `seller_skus: {sku: quantity}`."""
    shorthand = body.get("seller_skus")
    if "items" not in body and isinstance(shorthand, dict):
        return [{"seller_sku": sku, "quantity": count} for sku, count in shorthand.items()]
    return body.get("items")


def _create_order(fake: TikTokFake, body: dict[str, Any]) -> Response:
    with fake.state_lock:
        try:
            shop = _shop(fake, body)
        except KeyError as exc:
            return _error(str(exc), 404)
        try:
            order = fake_orders.place_order(
                fake.seed, shop, _items(body), str(body.get("status", "AWAITING_SHIPMENT")),
                int(fake.clock()),
            )
        except fake_orders.OrderRefused as exc:
            return _error(str(exc), 409)
        if body.get("fulfillment_type") == "FULFILLMENT_BY_TIKTOK":
            order.fulfillment_type = "FULFILLMENT_BY_TIKTOK"
        fake.order_owner[order.id] = shop.id
        if order.status == "ON_HOLD":
            seconds = body.get("on_hold_seconds")
            if seconds is not None and (isinstance(seconds, bool)
                                        or not isinstance(seconds, int) or seconds < 0):
                return _error("on_hold_seconds must be a whole number of seconds, 0 or more")
            fake.hold(shop, order, seconds)
        fake.push_order(shop, order)
        return json_response(fake_orders.order_to_api(shop, order), 201)


def _owner(fake: TikTokFake, owners: dict[str, str], kind: str, key: str) -> Shop | Response:
    """The shop holding order or product `key`, or the 404 answer (under the state lock)."""
    shop_id = owners.get(key)
    if shop_id is None:
        return _error(f"no {kind} {key}", 404)
    return fake.find_shop(shop_id)


def _order_status(fake: TikTokFake, order_id: str, body: dict[str, Any]) -> Response:
    with fake.state_lock:
        shop = _owner(fake, fake.order_owner, "order", order_id)
        if isinstance(shop, Response):
            return shop
        order = shop.orders[order_id]
        try:
            fake_orders.change_status(order, str(body.get("status", "")), int(fake.clock()))
        except fake_orders.OrderRefused as exc:
            return _error(str(exc), 409)
        if order.status == "ON_HOLD":
            fake.hold(shop, order)
        fake.push_order(shop, order)
        return json_response(fake_orders.order_to_api(shop, order))


def _product_status(fake: TikTokFake, product_id: str, body: dict[str, Any]) -> Response:
    status = body.get("status")
    if status not in PRODUCT_STATUSES:
        return _error(f"status must be one of {PRODUCT_STATUSES}")
    with fake.state_lock:
        shop = _owner(fake, fake.product_owner, "product", product_id)
        if isinstance(shop, Response):
            return shop
        product = shop.products[product_id]
        if product.status != status:
            previous, product.status = product.status, status
            product.update_time = int(fake.clock())
            shop.product_changed()
            fake.push(shop, fake_webhooks.PRODUCT_STATUS_CHANGE,
                      fake_webhooks.product_data(product, previous))
        return json_response({"id": product.id, "status": product.status,
                              "update_time": product.update_time})


def _expire_tokens(fake: TikTokFake, body: dict[str, Any]) -> Response:
    with fake.state_lock:
        if body.get("shop_id") is None and body.get("shop") is None:
            shops = list(fake.shops)
        else:
            try:
                shops = [_shop(fake, body)]
            except KeyError as exc:
                return _error(str(exc), 404)
        for shop in shops:
            fake.expire_token(shop)
        return json_response({"ok": True, "expired": [s.id for s in shops]})


def state(fake: TikTokFake, with_inventory: bool = False) -> dict[str, Any]:
    """Per-shop counts (and, on request, total available per seller_sku)."""
    with fake.state_lock:
        shops = []
        for shop in fake.shops:
            by_status: dict[str, int] = {}
            for order in shop.orders.values():
                by_status[order.status] = by_status.get(order.status, 0) + 1
            entry: dict[str, Any] = {
                "id": shop.id,
                "name": shop.name,
                "products": len(shop.products),
                "live_products": sum(p.status == "ACTIVATE" for p in shop.products.values()),
                "skus": len(shop.skus),
                "orders": len(shop.orders),
                "orders_by_status": by_status,
                "token_expires": shop.tokens.access_expires,
                "subscriptions": sorted(shop.subscriptions),
            }
            if with_inventory:
                entry["inventory"] = {s.seller_sku: sum(s.available.values())
                                      for s in shop.skus.values()}
            shops.append(entry)
        return {"qps": fake.limiter.qps, "shops": shops}


def _buyer_cancel(fake: TikTokFake, order_id: str, body: dict[str, Any]) -> Response:
    """The buyer cancels at once (before shipping), or asks the seller to (`request`)."""
    with fake.state_lock:
        shop = _owner(fake, fake.order_owner, "order", order_id)
        if isinstance(shop, Response):
            return shop
        order, now = shop.orders[order_id], int(fake.clock())
        if body.get("request"):
            if order.status == "CANCELLED":
                return _error(f"order {order_id} is cancelled", 409)
            record = fake_aftersale.cancel_record(order, "BUYER", "CANCELLATION_REQUEST_PENDING",
                                                  "Buyer changed their mind", now)
            order.update_time = now
        else:
            try:
                fake_orders.change_status(order, "CANCELLED", now)
            except fake_orders.OrderRefused as exc:
                return _error(str(exc), 409)
            order.cancel_reason, order.cancel_initiator = "Buyer changed their mind", "BUYER"
            record = fake_aftersale.cancel_record(order, "BUYER", "CANCELLATION_REQUEST_COMPLETE",
                                                  order.cancel_reason, now)
            fake.push_order(shop, order)
        fake.push(shop, fake_aftersale.CANCELLATION_STATUS_CHANGE,
                  fake_aftersale.cancel_data(record))
        return json_response({"cancel_id": record["cancel_id"],
                              "cancel_status": record["cancel_status"], "order_id": order_id})


def _settle(fake: TikTokFake, cancel_id: str, body: dict[str, Any]) -> Response:
    """The seller answers a buyer's cancellation request on Seller Center."""
    with fake.state_lock:
        for shop in fake.shops:
            for order in shop.orders.values():
                record = next((c for c in order.cancellations if c["cancel_id"] == cancel_id),
                              None)
                if record is None:
                    continue
                if record["cancel_status"] != "CANCELLATION_REQUEST_PENDING":
                    return _error(f"cancellation {cancel_id} is settled", 409)
                now = int(fake.clock())
                if body.get("approve"):
                    fake_orders.change_status(order, "CANCELLED", now)
                    order.cancel_reason, order.cancel_initiator = record["cancel_reason"], "BUYER"
                    record["cancel_status"] = "CANCELLATION_REQUEST_COMPLETE"
                    fake.push_order(shop, order)
                else:
                    record["cancel_status"] = "CANCELLATION_REQUEST_CANCEL"
                record["update_time"] = order.update_time = now
                fake.push(shop, fake_aftersale.CANCELLATION_STATUS_CHANGE,
                          fake_aftersale.cancel_data(record))
                return json_response(dict(record))
        return _error(f"no cancellation {cancel_id}", 404)


def _open_return(fake: TikTokFake, body: dict[str, Any]) -> Response:
    """A buyer's return or refund of an order's lines."""
    with fake.state_lock:
        shop = _owner(fake, fake.order_owner, "order", str(body.get("order_id", "")))
        if isinstance(shop, Response):
            return shop
        order = shop.orders[str(body["order_id"])]
        try:
            record = fake_aftersale.open_return(
                shop, order, body.get("line_ids"), str(body.get("type", "RETURN_AND_REFUND")),
                str(body.get("status", "RETURN_OR_REFUND_REQUEST_COMPLETE")), int(fake.clock()))
        except fake_orders.OrderRefused as exc:
            return _error(str(exc), 409)
        fake.push(shop, fake_aftersale.RETURN_STATUS_CHANGE, fake_aftersale.return_data(record))
        return json_response(fake_aftersale.return_to_api(shop, order, record), 201)


def _return_status(fake: TikTokFake, return_id: str, body: dict[str, Any]) -> Response:
    """Move a return on (the buyer shipped it back, TikTok refunded …)."""
    status = body.get("status")
    if status not in fake_aftersale.RETURN_STATUSES:
        return _error(f"status must be one of {fake_aftersale.RETURN_STATUSES}")
    with fake.state_lock:
        for shop in fake.shops:
            for order in shop.orders.values():
                record = next((r for r in order.returns if r["return_id"] == return_id), None)
                if record is None:
                    continue
                record["return_status"], record["update_time"] = status, int(fake.clock())
                fake.push(shop, fake_aftersale.RETURN_STATUS_CHANGE,
                          fake_aftersale.return_data(record))
                return json_response(fake_aftersale.return_to_api(shop, order, record))
        return _error(f"no return {return_id}", 404)
