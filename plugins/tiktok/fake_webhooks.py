"""Webhooks of the TikTok Shop fake: signed pushes and the per-shop subscription API.

A push is `{type, tts_notification_id, shop_id, timestamp, data}` with an `Authorization`
header of hex HMAC-SHA256(app_secret, app_key + raw body) (TikTok's webhooks overview page).
Type 1 ORDER_STATUS_CHANGE carries `{order_id, order_status, is_on_hold_order, update_time}`
and spells a cancelled order `CANCEL`. Type 5 PRODUCT_STATUS_CHANGE carries
`{product_id, status, suspended_reason, update_time}` where `status` is an audit event, not a
product status: `PRODUCT_FIRST_PASS_REVIEW`, `PRODUCT_STATUS_CHANGED` or
`PRODUCT_AUDIT_FAILURE` (https://partner.tiktokshop.com/docv2/page/5-product-status-change,
as mirrored publicly and in the tiktok-shop-api SDK's spec). That page's samples and the SDK
type `product_id` as a JSON number; the fake still sends the id as a string (unchanged so far
because a plugin test pins the string).

The subscribable event types are the 17 of the Update Shop Webhook reference.

Subscriptions (`GET`/`PUT`/`DELETE /event/202309/webhooks`) follow `event/GetShopWebhooks.ts`
and `UpdateShopWebhook.ts`: PUT `{address, event_type}`; GET answers
`{webhooks[{event_type, address, create_time, update_time}], total_count}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shelfsync.plugins.tiktok.fake_gateway import invalid_param
from shelfsync.plugins.tiktok.fake_state import Order, Product, Shop, numeric_id
from shelfsync.plugins.tiktok.signing import sign_webhook

ORDER_STATUS_CHANGE = 1
PRODUCT_STATUS_CHANGE = 5
EVENT_TYPES = (
    "ORDER_STATUS_CHANGE",
    "CANCELLATION_STATUS_CHANGE",
    "RETURN_STATUS_CHANGE",
    "RECIPIENT_ADDRESS_UPDATE",
    "PACKAGE_UPDATE",
    "PRODUCT_STATUS_CHANGE",
    "SELLER_DEAUTHORIZATION",
    "UPCOMING_AUTHORIZATION_EXPIRATION",
    "PRODUCT_INFORMATION_CHANGE",
    "PRODUCT_CREATION",
    "PRODUCT_CATEGORY_CHANGE",
    "PRODUCT_AUDIT_STATUS_CHANGE",
    "NEW_CONVERSATION",
    "NEW_MESSAGE",
    "NEW_MESSAGE_LISTENER",
    "INVOICE_STATUS_CHANGE",
    "REVERSE_STATUS_UPDATE",
)
_EVENT_NAMES = {ORDER_STATUS_CHANGE: "ORDER_STATUS_CHANGE", 11: "CANCELLATION_STATUS_CHANGE",
                12: "RETURN_STATUS_CHANGE",
                PRODUCT_STATUS_CHANGE: "PRODUCT_STATUS_CHANGE"}


def webhook_status(order_status: str) -> str:
    """The webhook's spelling of an order status (`CANCELLED` is pushed as `CANCEL`)."""
    return "CANCEL" if order_status == "CANCELLED" else order_status


def signed_push(
    app_key: str, app_secret: str, shop: Shop, kind: int, notification_id: str,
    timestamp: int, data: dict[str, Any],
) -> tuple[dict[str, str], bytes]:
    """Headers and raw body of one webhook push."""
    body = json.dumps(
        {"type": kind, "tts_notification_id": notification_id, "shop_id": shop.id,
         "timestamp": timestamp, "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    headers = {
        "Authorization": sign_webhook(app_key, app_secret, body),
        "Content-Type": "application/json",
    }
    return headers, body


def order_data(order: Order) -> dict[str, Any]:
    """`data` of an ORDER_STATUS_CHANGE push."""
    return {
        "order_id": order.id,
        "order_status": webhook_status(order.status),
        "is_on_hold_order": order.is_on_hold_order,
        "update_time": order.update_time,
    }


def product_data(product: Product, previous: str = "") -> dict[str, Any]:
    """`data` of a PRODUCT_STATUS_CHANGE push for a move from `previous` to the product's
    current status: a failed audit, a first pass of the audit, or any other change."""
    if product.status == "FAILED":
        event, reason = "PRODUCT_AUDIT_FAILURE", "The product failed the audit."
    elif product.status == "ACTIVATE" and previous == "PENDING":
        event, reason = "PRODUCT_FIRST_PASS_REVIEW", ""
    else:
        event = "PRODUCT_STATUS_CHANGED"
        reason = "Frozen by the platform." if product.status == "FREEZE" else ""
    return {
        # A JSON number here, unlike the string ids of the API's own answers (TikTok's
        # example of this push, and the SDK generated from its definitions, type it so).
        "product_id": int(product.id),
        "status": event,
        "suspended_reason": reason,
        "update_time": product.update_time,
    }


def notification_id(seed: int, shop: Shop, counter: int) -> str:
    """A deterministic 19-digit `tts_notification_id`."""
    return numeric_id("73", 19, seed, shop.index, "notification", counter)


def subscribed_urls(shop: Shop, kind: int) -> list[str]:
    """The address the shop subscribed for this push type, if any."""
    sub = shop.subscriptions.get(_EVENT_NAMES.get(kind, ""))
    return [sub["address"]] if sub else []


def list_subscriptions(shop: Shop) -> dict[str, Any]:
    """Get Shop Webhooks."""
    hooks = [dict(v) for _, v in sorted(shop.subscriptions.items())]
    return {"webhooks": hooks, "total_count": len(hooks)}


def put_subscription(shop: Shop, body: Mapping[str, Any], now: int) -> dict[str, Any]:
    """Update Shop Webhook: one address per event type."""
    address, event_type = body.get("address"), body.get("event_type")
    if event_type not in EVENT_TYPES:
        raise invalid_param("Invalid param. `event_type` is invalid.")
    if (not isinstance(address, str) or len(address) > 255
            or not address.startswith(("http://", "https://"))):
        raise invalid_param("Invalid param. `address` must be an http(s) URL of at most 255 "
                            "characters.")
    previous = shop.subscriptions.get(event_type)
    shop.subscriptions[event_type] = {
        "event_type": event_type,
        "address": address,
        "create_time": previous["create_time"] if previous else now,
        "update_time": now,
    }
    return {}


def delete_subscription(shop: Shop, body: Mapping[str, Any]) -> dict[str, Any]:
    """Delete Shop Webhook for one event type."""
    event_type = body.get("event_type")
    if event_type not in EVENT_TYPES:
        raise invalid_param("Invalid param. `event_type` is invalid.")
    shop.subscriptions.pop(event_type, None)
    return {}
