"""After-sale in the Shopify fake: shipments with their lines, `orderCancel`, `refundCreate`.

Field and argument names follow the 2025-04 Admin schema (the appended block of
fake_schema.graphql, held against the real schema). Behaviour:

- A shipment (`/_fake/fulfill`) ships some lines (`fulfillmentLineItems`) or all that is
  left; the order is PARTIALLY_FULFILLED until every unit shipped. `fulfillments/create` and
  `orders/updated` are delivered.
- `orderCancel` is all-or-nothing and synchronous here (Shopify runs a Job; the fake's is
  done at once): an unknown order is NOT_FOUND, a cancelled or shipped one INVALID (real
  messages UNCONFIRMED). `restock: true` gives the order's committed units back to
  `available`. `orders/cancelled` and `orders/updated` are delivered.
- `refundCreate` refunds line units (never more than bought minus refunded) and money through
  the order's sale transaction (`parentId`; never more than paid minus refunded); RETURN /
  LEGACY_RESTOCK / CANCEL restock types put the units back in `available`. The order shows
  PARTIALLY_REFUNDED, then REFUNDED. `refunds/create` and `orders/updated` are delivered.
- An order made PAID has one successful SALE transaction (gateway `manual`) for its total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLSchema

from shelfsync.plugins.shopify import fake_webhooks as hooks
from shelfsync.plugins.shopify.fake_inventory import UserErrors, check_array, touch
from shelfsync.plugins.shopify.fake_paging import lookup, paginate
from shelfsync.plugins.shopify.fake_store import (
    FULFILLMENT_BASE,
    Fulfillment,
    LineItem,
    Order,
    ShopStore,
    gid,
    now_iso,
)

REFUND_BASE = 7_000_000_000
TRANSACTION_BASE = 9_000_000_000
JOB_BASE = 3_000_000_000
_RESTOCKING = ("RETURN", "LEGACY_RESTOCK", "CANCEL")


@dataclass(eq=False)
class Refund:
    """A refund of an order: units per line, money, a note."""

    num: int
    note: str | None
    created_at: str
    amount: Decimal
    currency: str
    lines: list[tuple[LineItem, int, str]] = field(default_factory=list)


def shipped_units(order: Order) -> dict[int, int]:
    """Line item number → units shipped so far."""
    units: dict[int, int] = {}
    for fulfilment in order.fulfillments:
        for line, quantity in fulfilment.lines or [(li, li.quantity) for li in order.line_items]:
            units[line.num] = units.get(line.num, 0) + quantity
    return units


def fulfilment_status(order: Order) -> str:
    """displayFulfillmentStatus from what shipped."""
    shipped = shipped_units(order)
    total = sum(li.quantity for li in order.line_items)
    done = sum(min(shipped.get(li.num, 0), li.quantity) for li in order.line_items)
    return "UNFULFILLED" if done == 0 else "FULFILLED" if done >= total else "PARTIALLY_FULFILLED"


def refunded_cents(order: Order) -> int:
    return sum(round(r.amount * 100) for r in order.refunds)


def financial_status(order: Order) -> str:
    """displayFinancialStatus after refunds."""
    if not order.refunds or refunded_cents(order) == 0:
        return order.financial_status
    total = round(Decimal(order.total()) * 100)
    return "REFUNDED" if refunded_cents(order) >= total else "PARTIALLY_REFUNDED"


def transactions(order: Order) -> list[dict[str, Any]]:
    """The order's transactions: one successful sale for a paid order."""
    if order.financial_status != "PAID":
        return []
    return [{"id": gid("OrderTransaction", TRANSACTION_BASE + order.num - 5_000_000_000),
             "kind": "SALE", "status": "SUCCESS", "gateway": "manual",
             "amountSet": _money(Decimal(order.total()), order.currency)}]


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": f"{amount:.2f}", "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


# --- shipments: fulfilment orders and fulfillmentCreate -------------------------------------


def ship(store: ShopStore, order: Order, lines: list[tuple[LineItem, int]],
         tracking: list[tuple[str | None, str | None, str | None]]
         ) -> tuple[Fulfillment, list[tuple[str, Any]]]:
    """Record a shipment of `lines` (already checked); its committed stock leaves. Returns
    the fulfilment and the events to deliver."""
    num = FULFILLMENT_BASE + store.next_id()
    fulfillment = Fulfillment(num, f"{order.name}.{len(order.fulfillments) + 1}", tracking,
                              now_iso(), lines=lines)
    order.fulfillments.append(fulfillment)
    order.updated_at = now_iso()
    for line, quantity in lines:
        # Shipping releases the commitment: on_hand drops, available does not change.
        level = next((lv for lv, _ in order.claims
                      if line.variant is not None and lv.item is line.variant.item), None)
        if level is not None:
            level.quantities["committed"] -= quantity
            level.updated_at = now_iso()
    return fulfillment, [("fulfillments/create", hooks.fulfillment_payload(order, fulfillment)),
                         ("orders/updated", hooks.order_payload(order))]


def remaining(order: Order) -> dict[int, int]:
    """Line item number → units not shipped yet."""
    shipped = shipped_units(order)
    return {li.num: li.quantity - shipped.get(li.num, 0) for li in order.line_items}


def fulfillment_order_status(order: Order) -> str:
    if order.cancelled_at is not None:
        return "CANCELLED"
    left = remaining(order)
    if not any(left.values()):
        return "CLOSED"
    return "IN_PROGRESS" if order.fulfillments else "OPEN"


def fulfillment_orders(order: Order) -> list[dict[str, Any]]:
    """The order's one fulfilment order (the fake ships everything from one location)."""
    left = remaining(order)
    return [{"id": gid("FulfillmentOrder", order.num), "orderId": gid("Order", order.num),
             "status": fulfillment_order_status(order),
             "lineItems": [{"id": gid("FulfillmentOrderLineItem", li.num), "lineItem": li,
                            "sku": li.sku, "totalQuantity": li.quantity,
                            "remainingQuantity": max(0, left[li.num])}
                           for li in order.line_items]}]


def fulfillment_create(_: Any, info: Any, fulfillment: dict[str, Any],
                       message: str | None = None) -> dict[str, Any]:
    """Ship fulfilment order line items (all that remain when none are named)."""
    store: ShopStore = info.context.store
    errors = UserErrors()
    groups = fulfillment["lineItemsByFulfillmentOrder"]
    check_array(groups)
    chosen: list[tuple[LineItem, int]] = []
    order: Order | None = None
    for index, group in enumerate(groups):
        base = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
        found = lookup(store, group["fulfillmentOrderId"].replace(
            "FulfillmentOrder", "Order"), "Order")
        if found is None or (order is not None and found is not order):
            errors.add("UserError", None, [*base, "fulfillmentOrderId"],
                       "Fulfillment order does not exist.")
            continue
        order = found
        if fulfillment_order_status(order) in ("CANCELLED", "CLOSED"):
            errors.add("UserError", None, [*base, "fulfillmentOrderId"],
                       f"Fulfillment order is {fulfillment_order_status(order).lower()}.")
            continue
        left = remaining(order)
        items = group.get("fulfillmentOrderLineItems")
        if not items:
            chosen += [(li, left[li.num]) for li in order.line_items if left[li.num] > 0]
            continue
        for position, item in enumerate(items):
            line = next((li for li in order.line_items
                         if gid("FulfillmentOrderLineItem", li.num) == item["id"]), None)
            where = [*base, "fulfillmentOrderLineItems", str(position)]
            if line is None:
                errors.add("UserError", None, [*where, "id"],
                           "Fulfillment order line item does not exist.")
            elif not 0 < item["quantity"] <= left[line.num]:
                errors.add("UserError", None, [*where, "quantity"],
                           f"Quantity must be between 1 and {left[line.num]}.")
            else:
                left[line.num] -= item["quantity"]
                chosen.append((line, item["quantity"]))
    if errors or order is None or not chosen:
        if not errors:
            errors.add("UserError", None, ["fulfillment"], "Nothing to fulfill.")
        return {"fulfillment": None, "userErrors": errors}
    info_ = fulfillment.get("trackingInfo") or {}
    tracking = ([(info_.get("company"), info_.get("number"), info_.get("url"))]
                if info_.get("number") or info_.get("company") else [])
    made, events = ship(store, order, chosen, tracking)
    info.context.events.extend(events)
    return {"fulfillment": made, "userErrors": []}


# --- orderCancel ---------------------------------------------------------------------------


def cancel(store: ShopStore, order: Order, reason: str, restock: bool) -> list[tuple[str, Any]]:
    """Cancel an order (already checked), restocking its committed units; the events."""
    order.cancelled_at, order.cancel_reason = now_iso(), reason
    order.updated_at = now_iso()
    events: list[tuple[str, Any]] = []
    if restock:  # nothing shipped (a shipped order is refused): every claim comes back
        for level, quantity in order.claims:
            level.quantities["available"] += quantity
            level.quantities["committed"] -= quantity
            level.updated_at = now_iso()
            events.append(("inventory_levels/update", hooks.level_payload(level)))
        order.claims = []
    payload = hooks.order_payload(order)
    payload.update(cancelled_at=order.cancelled_at, cancel_reason=reason.lower())
    events += [("orders/cancelled", payload), ("orders/updated", payload)]
    return events


def cancel_refusal(order: Order | None) -> tuple[str, str] | None:
    """(code, message) when the order cannot be cancelled."""
    if order is None:
        return "NOT_FOUND", "Order does not exist"
    if order.cancelled_at is not None:
        return "INVALID", "Order has already been cancelled"
    if order.fulfillments:
        return "INVALID", "Cannot cancel an order with fulfillments"
    return None


def order_cancel(_: Any, info: Any, orderId: str, refund: bool, restock: bool,
                 reason: str, notifyCustomer: bool = False,
                 staffNote: str | None = None) -> dict[str, Any]:
    """Cancel an order: checked first, nothing changes on an error."""
    store: ShopStore = info.context.store
    order = lookup(store, orderId, "Order")
    refused = cancel_refusal(order)
    if refused is not None:
        return {"job": None, "orderCancelUserErrors": [
            {"__typename": "OrderCancelUserError", "code": refused[0], "field": ["orderId"],
             "message": refused[1]}]}
    assert order is not None
    if staffNote:
        order.note = f"{order.note or ''}\n{staffNote}".strip()
    info.context.events.extend(cancel(store, order, reason, restock))
    return {"job": {"id": gid("Job", JOB_BASE + store.next_id()), "done": True},
            "orderCancelUserErrors": []}


# --- refundCreate --------------------------------------------------------------------------


def _refund_lines(store: ShopStore, order: Order, entries: list[dict[str, Any]],
                  errors: UserErrors) -> list[tuple[LineItem, int, str]]:
    refunded: dict[int, int] = {}
    for existing in order.refunds:
        for line, quantity, _ in existing.lines:
            refunded[line.num] = refunded.get(line.num, 0) + quantity
    lines = []
    for index, entry in enumerate(entries):
        base = ["refundLineItems", str(index)]
        line = next((li for li in order.line_items
                     if gid("LineItem", li.num) == entry["lineItemId"]), None)
        if line is None:
            errors.add("UserError", None, [*base, "lineItemId"], "Line item does not exist")
            continue
        quantity = int(entry["quantity"])
        left = line.quantity - refunded.get(line.num, 0)
        if quantity < 1 or quantity > left:
            errors.add("UserError", None, [*base, "quantity"],
                       f"Quantity cannot refund more items than were purchased ({left} left)")
            continue
        refunded[line.num] = refunded.get(line.num, 0) + quantity
        lines.append((line, quantity, str(entry.get("restockType") or "NO_RESTOCK")))
    return lines


def _refund_amount(order: Order, entries: list[dict[str, Any]], errors: UserErrors) -> Decimal:
    total = Decimal(0)
    sale = {t["id"] for t in transactions(order)}
    for index, entry in enumerate(entries):
        base = ["transactions", str(index)]
        if entry["kind"] != "REFUND":
            errors.add("UserError", None, [*base, "kind"], "Kind must be refund")
            continue
        if entry.get("parentId") not in sale:
            errors.add("UserError", None, [*base, "parentId"],
                       "Parent transaction does not exist")
            continue
        try:
            amount = Decimal(str(entry["amount"]))
        except InvalidOperation:
            errors.add("UserError", None, [*base, "amount"], "Amount is invalid")
            continue
        if amount <= 0:
            errors.add("UserError", None, [*base, "amount"], "Amount must be greater than 0")
        total += amount
    left = Decimal(order.total()) - Decimal(refunded_cents(order)) / 100
    if total > left:
        errors.add("UserError", None, ["transactions"],
                   f"Amount exceeds the refundable amount of {left:.2f}")
    return total


def refund_create(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Refund units and money of an order; all-or-nothing."""
    store: ShopStore = info.context.store
    errors = UserErrors()
    order = lookup(store, input["orderId"], "Order")
    if order is None:
        errors.add("UserError", None, ["orderId"], "Order does not exist")
        return {"order": None, "refund": None, "userErrors": errors}
    entries = input.get("refundLineItems") or []
    check_array(entries)
    lines = _refund_lines(store, order, entries, errors)
    amount = _refund_amount(order, input.get("transactions") or [], errors)
    if errors:
        return {"order": None, "refund": None, "userErrors": errors}
    refund = Refund(REFUND_BASE + store.next_id(), input.get("note"), now_iso(), amount,
                    order.currency, lines)
    order.refunds.append(refund)
    order.updated_at = now_iso()
    for line, quantity, restock_type in lines:
        if restock_type in _RESTOCKING and line.variant is not None:
            level = next((lv for lv, _ in order.claims if lv.item is line.variant.item), None)
            level = level or next(iter(line.variant.item.levels.values()), None)
            if level is not None:
                level.quantities["available"] += quantity
                touch(info, level, available_changed=True)
    info.context.events.append(("refunds/create", {
        "id": refund.num, "order_id": order.num, "note": refund.note,
        "admin_graphql_api_id": gid("Refund", refund.num), "created_at": refund.created_at,
        "refund_line_items": [{"line_item_id": li.num, "quantity": q, "restock_type":
                               r.lower()} for li, q, r in lines]}))
    info.context.events.append(("orders/updated", hooks.order_payload(order)))
    return {"order": order, "refund": refund, "userErrors": []}


# --- resolvers -----------------------------------------------------------------------------

RESOLVERS: dict[str, dict[str, Any]] = {
    "Order": {
        "cancelledAt": lambda o, _: o.cancelled_at,
        "cancelReason": lambda o, _: o.cancel_reason,
        "displayFulfillmentStatus": lambda o, _: fulfilment_status(o),
        "displayFinancialStatus": lambda o, _: financial_status(o),
        "refunds": lambda o, _, first=None: o.refunds[:first],
        "transactions": lambda o, _, first=None, **__: transactions(o)[:first],
        "fulfillmentOrders": lambda o, _, **a: paginate(
            fulfillment_orders(o), {k: v for k, v in a.items() if k != "displayable"},
            num=lambda fo: int(fo["orderId"].rsplit("/", 1)[1])),
    },
    "FulfillmentOrder": {
        "lineItems": lambda fo, _, **a: paginate(fo["lineItems"], a,
                                                 num=lambda item: item["lineItem"].num),
    },
    "Fulfillment": {
        "fulfillmentLineItems": lambda f, _, **a: paginate(
            [{"id": gid("FulfillmentLineItem", f.num * 1000 + i), "num": f.num * 1000 + i,
              "lineItem": li, "quantity": q} for i, (li, q) in enumerate(f.lines)], a,
            num=lambda item: item["num"]),
    },
    "Refund": {
        "id": lambda r, _: gid("Refund", r.num),
        "legacyResourceId": lambda r, _: str(r.num),
        "createdAt": lambda r, _: r.created_at,
        "totalRefundedSet": lambda r, _: _money(r.amount, r.currency),
        "refundLineItems": lambda r, _, **a: paginate(
            [{"id": gid("RefundLineItem", r.num * 1000 + i), "num": r.num * 1000 + i,
              "lineItem": li, "quantity": q, "restockType": t, "restocked": t in _RESTOCKING}
             for i, (li, q, t) in enumerate(r.lines)], a, num=lambda item: item["num"]),
    },
}


def bind(schema: GraphQLSchema) -> None:
    """Attach the after-sale resolvers (they override the base ones of the same fields)."""
    for type_name, resolvers in RESOLVERS.items():
        fields = schema.get_type(type_name).fields  # type: ignore[union-attr]
        for name, resolver in resolvers.items():
            fields[name].resolve = resolver


MUTATIONS = {"orderCancel": order_cancel, "refundCreate": refund_create,
             "fulfillmentCreate": fulfillment_create}
