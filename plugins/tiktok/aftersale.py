"""TikTok after-sale hooks: shipping providers, tracking, seller cancellation, returns.

Every write looks first and looks again after a refusal: Mark Package As Shipped and Cancel
Order are not idempotent on TikTok's side (a second call is refused: "already shipped",
"already cancelled"), so a retry after a lost answer would fail a shipment that landed. The
order's own line items say what is shipped and with which tracking number, and its status
whether it is cancelled; a write TikTok already has answers True without a second call.

Paths: Mark Package As Shipped `POST /fulfillment/202309/orders/{order_id}/packages`
(`{order_line_item_ids, tracking_number, shipping_provider_id}`: only those lines ship),
Cancel Order `POST /return_refund/202309/cancellations` (`{order_id, cancel_reason}`),
Search Returns `POST /return_refund/202309/returns/search`, Get Warehouse Delivery Options
and Get Shipping Providers under `/logistics/202309/`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shelfsync.core.errors import BadRequest, NotFound
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.types import (
    ChannelReturn,
    Connection,
    Fulfillment,
    Money,
    ReturnLine,
    ReturnPage,
    ShippingProvider,
)
from shelfsync.plugins.tiktok import mapping, settings
from shelfsync.plugins.tiktok.client import PLATFORM, TikTokClient
from shelfsync.plugins.tiktok.mapping import Reader

WAREHOUSES_PATH = "/logistics/202309/warehouses"
OPTIONS_PATH = "/logistics/202309/warehouses/{warehouse_id}/delivery_options"
PROVIDERS_PATH = "/logistics/202309/delivery_options/{option_id}/shipping_providers"
SHIP_PATH = "/fulfillment/202309/orders/{order_id}/packages"
ORDER_DETAIL_PATH = "/order/202309/orders"
CANCEL_PATH = "/return_refund/202309/cancellations"
RETURNS_PATH = "/return_refund/202309/returns/search"
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
CANCELLED = "CANCELLED"
#: Return states where the buyer has the money back (TikTok's own words; the others wait).
REFUNDED = frozenset({"RETURN_OR_REFUND_REQUEST_COMPLETE", "EXCHANGE_REQUEST_REFUND_SUCCESS",
                      "REPLACEMENT_REQUEST_REFUND_SUCCESS"})
#: A store's cancel reason (Shopify's OrderCancelReason) → TikTok's seller cancel reason;
#: the others take the `cancel_reason` setting.
CANCEL_REASONS = {"INVENTORY": "seller_cancel_reason_out_of_stock"}


def _checked_id(value: str, what: str) -> str:
    if not _ID.match(value or ""):
        raise BadRequest(f"tiktok: {what} {value[:40]!r} is not a TikTok id", platform=PLATFORM)
    return value


def _order(client: TikTokClient, order_id: str) -> Reader:
    """The order as Get Order Detail shows it; NotFound when TikTok has no such order."""
    envelope = client.call("GET", ORDER_DETAIL_PATH, query={"ids": order_id})
    reader = Reader(envelope.data, "data", envelope.request_id)
    for order in reader.items("orders"):
        if order.text("id") == order_id:
            return order
    raise NotFound(f"tiktok: no order {order_id}", platform=PLATFORM,
                   request_id=envelope.request_id)


@hookimpl
def shelfsync_fetch_shipping_providers(connection: Connection) -> list[ShippingProvider]:
    """Every provider of every delivery option of the shop's enabled sales warehouses."""
    found: list[ShippingProvider] = []
    with TikTokClient(connection) as client:
        envelope = client.call("GET", WAREHOUSES_PATH)
        warehouses = mapping.parse_warehouses(envelope.data, envelope.request_id)
        for warehouse in (w for w in warehouses if w.active):
            answer = client.call("GET", OPTIONS_PATH.format(
                warehouse_id=_checked_id(warehouse.id, "warehouse id")))
            for option in Reader(answer.data, "data", answer.request_id).items(
                    "delivery_options"):
                option_id = _checked_id(option.text("id"), "delivery option id")
                providers = client.call("GET", PROVIDERS_PATH.format(option_id=option_id))
                for provider in Reader(providers.data, "data", providers.request_id).items(
                        "shipping_providers"):
                    found.append(ShippingProvider(
                        id=provider.text("id"), name=provider.text("name", required=False),
                        delivery_option_id=option_id,
                        delivery_option_name=option.text("name", required=False)))
    return found


def _shipped_with(order: Reader, fulfillment: Fulfillment) -> bool:
    """Whether the shipment's lines already carry its tracking number; `BadRequest` when the
    order cannot take it (cancelled, or the lines shipped with other tracking)."""
    if order.text("status", required=False) == CANCELLED:
        raise BadRequest(f"tiktok: order {fulfillment.order_id} is cancelled",
                         platform=PLATFORM)
    wanted = set(fulfillment.line_ids)
    lines = [li for li in order.items("line_items")
             if not wanted or li.text("id") in wanted]
    if wanted - {li.text("id") for li in lines}:
        raise BadRequest(f"tiktok: order {fulfillment.order_id} has no line items "
                         f"{', '.join(sorted(wanted - {li.text('id') for li in lines}))}",
                         platform=PLATFORM)
    numbers = {li.text("tracking_number", required=False) for li in lines}
    if numbers == {fulfillment.tracking_number}:
        return True
    other = sorted(n for n in numbers if n and n != fulfillment.tracking_number)
    if other:
        raise BadRequest(f"tiktok: order {fulfillment.order_id}'s lines already shipped with "
                         f"tracking {', '.join(other)}", platform=PLATFORM)
    return False


@hookimpl
def shelfsync_push_fulfillment(connection: Connection, fulfillment: Fulfillment) -> bool:
    """Mark the shipment's lines shipped with its tracking, unless they already are."""
    order_id = _checked_id(fulfillment.order_id, "order id")
    if not fulfillment.tracking_number.strip() or not fulfillment.shipping_provider_id:
        raise BadRequest("tiktok: a shipment needs a tracking number and a shipping provider",
                         platform=PLATFORM)
    with TikTokClient(connection) as client:
        order = _order(client, order_id)
        if order.text("fulfillment_type", required=False) == "FULFILLMENT_BY_TIKTOK":
            raise BadRequest(f"tiktok: order {order_id} is fulfilled by TikTok",
                             platform=PLATFORM)
        if _shipped_with(order, fulfillment):
            return True
        body = {"order_line_item_ids": list(fulfillment.line_ids),
                "tracking_number": fulfillment.tracking_number,
                "shipping_provider_id": fulfillment.shipping_provider_id}
        try:
            client.call("POST", SHIP_PATH.format(order_id=order_id), body=body)
        except BadRequest:
            # A retry of a call whose answer was lost is refused as "already shipped".
            if _shipped_with(_order(client, order_id), fulfillment):
                return True
            raise
    return True


@hookimpl
def shelfsync_push_cancellation(connection: Connection, order_id: str, reason: str) -> bool:
    """Cancel the order as the seller, unless it is cancelled already; TikTok's refusal
    (shipped, past the window) is a `BadRequest` carrying its message."""
    order_id = _checked_id(order_id, "order id")
    with TikTokClient(connection) as client:
        order = _order(client, order_id)
        if order.text("status", required=False) == CANCELLED:
            return True
        tiktok_reason = CANCEL_REASONS.get(reason.strip().upper()) or str(
            settings.CANCEL_REASON.read(connection.settings))
        if order.text("status", required=False) == "UNPAID":
            tiktok_reason = "seller_cancel_unpaid_reason_out_of_stock"
        try:
            client.call("POST", CANCEL_PATH,
                        body={"order_id": order_id, "cancel_reason": tiktok_reason})
        except BadRequest:
            if _order(client, order_id).text("status", required=False) == CANCELLED:
                return True
            raise
    return True


def parse_return(item: Reader) -> ChannelReturn:
    """One return of Search Returns → `ChannelReturn`."""
    status = item.text("return_status")
    refund = item.child("refund_amount", required=False)
    currency = refund.text("currency", required=False) if refund else ""
    total = refund.amount("refund_total", required=False) if refund else ""
    lines = []
    for line in item.items("return_line_items"):
        amount = line.child("refund_amount", required=False)
        line_total = amount.amount("refund_total", required=False) if amount else ""
        lines.append(ReturnLine(
            line_id=line.text("order_line_item_id"), sku_id=line.text("sku_id", required=False),
            seller_sku=line.text("seller_sku", required=False),
            refund=Money(line_total, currency) if line_total else None))
    kind = item.text("return_type", required=False)
    return ChannelReturn(
        id=item.text("return_id"), order_id=item.text("order_id"), status=status,
        completed=status in REFUNDED, lines=tuple(lines),
        refund_total=Money(total, currency) if total else None, return_type=kind,
        # A refund without a return leaves the item with the buyer: nothing to restock.
        restock=kind != "REFUND", updated_at=item.moment("update_time"))


@hookimpl
def shelfsync_fetch_returns(connection: Connection, order_id: str | None,
                            updated_since: datetime | None, cursor: str | None) -> ReturnPage:
    """One page of Search Returns (one order's, or those updated since), oldest update
    first; an answer without its `return_orders` list is a bad answer."""
    query: dict[str, Any] = {"page_size": 50, "sort_field": "update_time", "sort_order": "ASC"}
    if cursor:
        query["page_token"] = cursor
    body: dict[str, Any] = {}
    if order_id:
        body["order_ids"] = [_checked_id(order_id, "order id")]
    if updated_since is not None:
        body["update_time_ge"] = int(updated_since.timestamp())
    with TikTokClient(connection) as client:
        envelope = client.call("POST", RETURNS_PATH, query=query, body=body)
    reader = Reader(envelope.data, "data", envelope.request_id)
    returns = tuple(parse_return(item) for item in reader.items("return_orders"))
    return ReturnPage(returns, reader.text("next_page_token", required=False) or None)
