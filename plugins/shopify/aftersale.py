"""Shopify after-sale: an order's shipments, its cancellation and refunds, each once.

- Shipments: `Order.fulfillments` with `fulfillmentLineItems` (what each one shipped, by SKU)
  and `trackingInfo`; core binds each by its `Fulfillment` id.
- Cancellation: `orderCancel(orderId, reason, refund: false, restock, staffNote)` — TikTok
  already refunded its buyer, so no money moves here. The order's `cancelledAt` is read
  first and again after a refusal: an order already cancelled answers its status, never a
  second cancellation.
- Refunds: `refundCreate(input: {orderId, note, refundLineItems, transactions})`, the note
  carrying `tiktok-return:<id>`; the order's refunds are read before every attempt
  (`create_once`), so a refund whose answer was lost is found, not made twice. The money
  goes back through the order's own sale transaction (its gateway, as `parentId`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from shelfsync.core.errors import BadRequest, NotFound, PluginError
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.rest import create_once
from shelfsync.core.types import (
    Connection,
    FulfilledLine,
    Money,
    StoreFulfillment,
    StoreOrderRef,
    StoreOrderStatus,
    StoreRefund,
    StoreRefundResult,
)
from shelfsync.plugins.shopify.client import PLATFORM, ShopifyClient
from shelfsync.plugins.shopify.mapping import gid, items, obj

REFUND_NOTE_PREFIX = "tiktok-return:"
#: Shopify's own cancel reasons; anything else the channel says is OTHER (kept in the note).
CANCEL_REASONS = frozenset({"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "STAFF", "OTHER"})

ORDER_SHIPMENTS = """
query OrderShipments($id: ID!) {
  order(id: $id) {
    id
    cancelReason
    fulfillments(first: 10) {
      id
      createdAt
      status
      trackingInfo(first: 1) { number company }
      fulfillmentLineItems(first: 25) { nodes { quantity lineItem { sku } } }
    }
  }
}
"""

ORDER_CANCEL = """
mutation CancelOrder($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!,
                     $staffNote: String) {
  orderCancel(orderId: $orderId, reason: $reason, refund: false, restock: $restock,
              notifyCustomer: false, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}
"""

ORDER_CANCELLED = """
query OrderCancelled($id: ID!) {
  order(id: $id) { id cancelledAt displayFulfillmentStatus displayFinancialStatus }
}
"""

ORDER_REFUNDS = """
query OrderRefunds($id: ID!) {
  order(id: $id) {
    id
    refunds(first: 50) { id note totalRefundedSet { shopMoney { amount currencyCode } } }
    transactions(first: 20) { id kind status gateway }
    lineItems(first: 100) { nodes { id sku quantity } }
  }
}
"""

REFUND_CREATE = """
mutation RefundOrder($input: RefundInput!) {
  refundCreate(input: $input) {
    refund { id totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}
"""


def _order(data: Mapping[str, Any], order_id: str) -> dict[str, Any]:
    node = data.get("order")
    if node is None:
        raise NotFound(f"shopify: order {order_id} not found", platform=PLATFORM)
    return obj(node, "order")


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def shipments(data: Mapping[str, Any], order_id: str) -> tuple[tuple[StoreFulfillment, ...], str]:
    """The successful shipments of an OrderShipments answer, and the order's cancel reason."""
    node = _order(data, order_id)
    found = []
    for raw in items(node.get("fulfillments", []), "order.fulfillments"):
        fulfilment = obj(raw, "order.fulfillments[]")
        if fulfilment.get("status") not in (None, "SUCCESS"):
            continue  # cancelled, failed or errored shipments carry no tracking to send
        number, company = "", ""
        for info in items(fulfilment.get("trackingInfo", []), "fulfillments[].trackingInfo"):
            info = obj(info, "fulfillments[].trackingInfo[]")
            number, company = str(info.get("number") or ""), str(info.get("company") or "")
        lines = obj(fulfilment.get("fulfillmentLineItems"), "fulfillments[].fulfillmentLineItems")
        shipped: dict[str, int] = {}
        for line in items(lines.get("nodes"), "fulfillmentLineItems.nodes"):
            line = obj(line, "fulfillmentLineItems.nodes[]")
            sku = str(obj(line.get("lineItem"), "fulfillmentLineItems.nodes[].lineItem")
                      .get("sku") or "")
            shipped[sku] = shipped.get(sku, 0) + int(line.get("quantity") or 0)
        found.append(StoreFulfillment(
            id=gid(fulfilment, "id", "Fulfillment", "order.fulfillments[]"),
            tracking_number=number, carrier=company,
            lines=tuple(FulfilledLine(sku, qty) for sku, qty in shipped.items() if qty > 0),
            created_at=_moment(fulfilment.get("createdAt"))))
    return tuple(found), str(node.get("cancelReason") or "")


def _cancelled(client: ShopifyClient, order_id: str) -> StoreOrderStatus:
    node = _order(client.query(ORDER_CANCELLED, {"id": order_id}), order_id)
    return StoreOrderStatus(
        id=gid(node, "id", "Order", "order"),
        fulfilled=node.get("displayFulfillmentStatus") == "FULFILLED",
        cancelled=node.get("cancelledAt") is not None,
        refunded=node.get("displayFinancialStatus") == "REFUNDED")


@hookimpl
def shelfsync_cancel_store_order(connection: Connection, order_ref: StoreOrderRef, reason: str,
                                 restock: bool) -> StoreOrderStatus:
    """Cancel the order (no money moves: the channel refunded its buyer), restocking or not;
    an order already cancelled answers its status."""
    with ShopifyClient(connection) as client:
        status = _cancelled(client, order_ref.id)
        if status.cancelled:
            return status
        word = reason.strip().upper()
        variables = {"orderId": order_ref.id, "restock": restock,
                     "reason": word if word in CANCEL_REASONS else "OTHER",
                     "staffNote": reason[:255] or None}
        try:
            data = client.send_once(ORDER_CANCEL, variables)
            payload = obj(data.get("orderCancel"), "orderCancel")
            errors = items(payload.get("orderCancelUserErrors", []), "orderCancelUserErrors")
            if errors:
                messages = "; ".join(str(obj(e, "orderCancelUserErrors[]").get("message"))
                                     for e in errors)
                raise BadRequest(f"shopify: orderCancel refused: {messages}", platform=PLATFORM)
        except BadRequest:
            status = _cancelled(client, order_ref.id)
            if status.cancelled:
                return status
            raise
        except PluginError:
            # The answer may be lost after Shopify took it: look before the caller retries.
            status = _cancelled(client, order_ref.id)
            if status.cancelled:
                return status
            raise
        return _cancelled(client, order_ref.id)


def _existing_refund(client: ShopifyClient, order_id: str, refund_id: str
                     ) -> tuple[StoreRefundResult | None, dict[str, Any]]:
    node = _order(client.query(ORDER_REFUNDS, {"id": order_id}), order_id)
    note = f"{REFUND_NOTE_PREFIX}{refund_id}"
    for raw in items(node.get("refunds", []), "order.refunds"):
        refund = obj(raw, "order.refunds[]")
        if note in str(refund.get("note") or "").split():
            return StoreRefundResult(id=gid(refund, "id", "Refund", "order.refunds[]"),
                                     amount=_money(refund), created=False), node
    return None, node


def _money(refund: Mapping[str, Any]) -> Money | None:
    money = (refund.get("totalRefundedSet") or {}).get("shopMoney") or {}
    if not money.get("amount"):
        return None
    return Money(str(money["amount"]), str(money.get("currencyCode") or ""))


def refund_input(node: Mapping[str, Any], order_id: str, refund: StoreRefund) -> dict[str, Any]:
    """The `RefundInput`: the refunded units on the order's lines of their SKUs, the money
    back through the order's sale transaction."""
    lines = [obj(n, "order.lineItems.nodes[]") for n in items(
        obj(node.get("lineItems"), "order.lineItems").get("nodes"), "order.lineItems.nodes")]
    refund_lines = []
    for wanted in refund.lines:
        left = wanted.quantity
        for line in lines:
            if left <= 0:
                break
            if line.get("sku") != wanted.sku:
                continue
            take = min(left, int(line.get("quantity") or 0))
            if take > 0:
                refund_lines.append({"lineItemId": line["id"], "quantity": take,
                                     "restockType": "RETURN" if refund.restock else
                                     "NO_RESTOCK"})
                left -= take
        if left > 0:
            raise BadRequest(f"shopify: order {order_id} has no {wanted.quantity} unit(s) of "
                             f"SKU {wanted.sku!r} to refund", platform=PLATFORM)
    note = f"{refund.note} {REFUND_NOTE_PREFIX}{refund.id}".strip()
    body: dict[str, Any] = {"orderId": order_id, "note": note, "notify": False,
                            "refundLineItems": refund_lines}
    if refund.amount is not None and Decimal(refund.amount.amount) > 0:
        sale = next((obj(t, "order.transactions[]") for t in items(
            node.get("transactions", []), "order.transactions")
            if obj(t, "order.transactions[]").get("kind") in ("SALE", "CAPTURE")
            and obj(t, "order.transactions[]").get("status") == "SUCCESS"), None)
        if sale is None:
            raise BadRequest(f"shopify: order {order_id} has no successful sale transaction "
                             "to refund through", platform=PLATFORM)
        body["transactions"] = [{"orderId": order_id, "kind": "REFUND",
                                 "gateway": sale.get("gateway") or "manual",
                                 "amount": refund.amount.amount, "parentId": sale["id"]}]
    return body


@hookimpl
def shelfsync_refund_store_order(connection: Connection, order_ref: StoreOrderRef,
                                 refund: StoreRefund) -> StoreRefundResult:
    """Refund the returned units and money once per channel return id (found by the note)."""
    with ShopifyClient(connection) as client:
        existing, node = _existing_refund(client, order_ref.id, refund.id)
        if existing is not None:
            return existing
        variables = {"input": refund_input(node, order_ref.id, refund)}

        def made() -> StoreRefundResult:
            payload = client.mutate(REFUND_CREATE, variables, "refundCreate")
            node = obj(payload.get("refund"), "refundCreate.refund")
            return StoreRefundResult(id=gid(node, "id", "Refund", "refundCreate.refund"),
                                     amount=_money(node), created=True)

        result, _ = create_once(lambda: _existing_refund(client, order_ref.id, refund.id)[0],
                                made, client.policy, platform=PLATFORM, sleep=client.sleep,
                                looked_up=True)
        return result
