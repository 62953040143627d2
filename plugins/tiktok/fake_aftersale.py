"""After-sale endpoints of the TikTok Shop fake: shipping providers, packages, cancellations,
returns.

Paths and fields follow the `tiktok-shop-api` SDK (generated from TikTok's published
definitions) and the 202309 docs:

- Get Warehouse Delivery Options `GET /logistics/202309/warehouses/{id}/delivery_options` →
  `delivery_options[{id, name, type, description, platform}]`; Get Shipping Providers
  `GET /logistics/202309/delivery_options/{id}/shipping_providers` →
  `shipping_providers[{id, name}]`.
- Mark Package As Shipped: `POST /fulfillment/202309/orders/{order_id}/packages` with
  `{order_line_item_ids, tracking_number, shipping_provider_id}` (the 202309 body), and the
  SDK's `/fulfillment/202610/orders/{order_id}/packages` with
  `{order_line_list[{order_line_id}], shipping_info_list[{tracking_number,
  shipping_provider_id}]}`; both answer `{order_id, order_line_item_ids, package_id}`. Lines
  left out stay unshipped (the order is PARTIALLY_SHIPPING until every line is shipped, then
  AWAITING_COLLECTION). Get Package Detail `GET /fulfillment/202309/packages/{id}`.
- Cancel Order `POST /return_refund/202309/cancellations` (and 202602) `{order_id,
  cancel_reason}` → `{cancel_id, cancel_status}`; refused once any line shipped.
- Search Returns `POST /return_refund/202309/returns/search` (and 202602): `return_orders[…]`
  with `return_line_items[{return_line_item_id, order_line_item_id, sku_id, seller_sku,
  refund_amount}]` and `refund_amount{currency, refund_total, refund_subtotal,
  refund_shipping_fee, refund_tax}`.

The error codes of refusals (already shipped, not cancellable, unknown provider) are the
fake's own: TikTok's real codes for these are UNCONFIRMED. Webhooks: type 11
CANCELLATION_STATUS_CHANGE `{order_id, cancellations_role, cancel_status, cancel_id,
create_time}` and type 12 RETURN_STATUS_CHANGE `{order_id, return_role, return_type,
return_status, return_id, create_time, update_time}` (the SDK's models).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shelfsync.plugins.tiktok.fake_gateway import ApiError, invalid_param, type_error
from shelfsync.plugins.tiktok.fake_orders import NOT_YOUR_ORDER, OrderRefused, change_status
from shelfsync.plugins.tiktok.fake_products import (
    decode_token,
    encode_token,
    fingerprint,
    page_size,
)
from shelfsync.plugins.tiktok.fake_state import Order, OrderLine, Shop, numeric_id

CANCELLATION_STATUS_CHANGE = 11
RETURN_STATUS_CHANGE = 12
#: The fake's own refusal codes (TikTok's real ones are UNCONFIRMED).
ALREADY_SHIPPED = 21011001
NOT_CANCELLABLE = 21011002
UNKNOWN_PROVIDER = 21011003
ORDER_CANCELLED = 21011004
FULFILLED_BY_TIKTOK = 21011005
PACKAGE_NOT_FOUND = 21011006
PROVIDERS = ("USPS", "UPS", "FedEx", "DHL eCommerce")
#: TikTok's seller cancel reasons (the Get Reject Reasons list as clients use it).
CANCEL_REASONS = ("seller_cancel_reason_out_of_stock", "seller_cancel_reason_wrong_price",
                  "seller_cancel_paid_reason_address_not_deliver",
                  "seller_cancel_unpaid_reason_out_of_stock")
RETURN_STATUSES = ("RETURN_OR_REFUND_REQUEST_PENDING", "REFUND_OR_RETURN_REQUEST_REJECT",
                   "AWAITING_BUYER_SHIP", "BUYER_SHIPPED_ITEM", "REJECT_RECEIVE_PACKAGE",
                   "RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_CANCEL",
                   "RETURN_OR_REFUND_REQUEST_COMPLETE")
RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND")
_SHIPPED_STATUSES = ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED")


# --- logistics ---------------------------------------------------------------------------


def delivery_option_id(shop: Shop, warehouse_id: str) -> str:
    """The one delivery option the fake gives each sales warehouse."""
    return numeric_id("69", 19, shop.id, warehouse_id, "delivery_option")


def provider_id(shop: Shop, name: str) -> str:
    """A provider's id, the same under every option of the shop."""
    return numeric_id("69", 19, shop.id, "provider", name)


def delivery_options(shop: Shop, warehouse_id: str) -> dict[str, Any]:
    """Get Warehouse Delivery Options."""
    if not any(w.id == warehouse_id for w in shop.warehouses):
        raise invalid_param("Invalid param. The warehouse does not exist.")
    return {"delivery_options": [{
        "id": delivery_option_id(shop, warehouse_id), "name": "Standard shipping",
        "type": "STANDARD", "description": "Shipped by the seller with a carrier of its choice",
        "platform": ["TIKTOK_SHOP"]}]}


def shipping_providers(shop: Shop, option_id: str) -> dict[str, Any]:
    """Get Shipping Providers of one delivery option."""
    if option_id not in {delivery_option_id(shop, w.id) for w in shop.warehouses}:
        raise invalid_param("Invalid param. The delivery option does not exist.")
    return {"shipping_providers": [{"id": provider_id(shop, n), "name": n} for n in PROVIDERS]}


# --- packages ----------------------------------------------------------------------------


def find_order(shop: Shop, order_id: str, owners: Mapping[str, str]) -> Order:
    """The shop's order, or TikTok's error for another seller's or an unknown one."""
    order = shop.orders.get(order_id)
    if order is None:
        if order_id in owners:
            raise ApiError(NOT_YOUR_ORDER,
                           "The order or package does not belong to the current seller.")
        raise ApiError(NOT_YOUR_ORDER, "The order does not exist.", 404)
    return order


def _shipment(body: Mapping[str, Any]) -> tuple[list[str], str, str]:
    """(line ids, tracking number, provider id) of either version's body."""
    if "shipping_info_list" in body or "order_line_list" in body:
        infos, lines = body.get("shipping_info_list"), body.get("order_line_list") or []
        if not isinstance(infos, list) or len(infos) != 1 or not isinstance(infos[0], dict):
            raise invalid_param("Invalid param. `shipping_info_list` needs one entry.")
        if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
            raise type_error("order_line_list", lines, "array")
        ids = [str(x.get("order_line_id") or "") for x in lines]
        return ids, str(infos[0].get("tracking_number") or ""), str(
            infos[0].get("shipping_provider_id") or "")
    ids_value = body.get("order_line_item_ids") or []
    if not isinstance(ids_value, list) or not all(isinstance(x, str) for x in ids_value):
        raise type_error("order_line_item_ids", ids_value, "array")
    for name in ("tracking_number", "shipping_provider_id"):
        if not isinstance(body.get(name), str):
            raise type_error(name, body.get(name), "string")
    return list(ids_value), str(body["tracking_number"]), str(body["shipping_provider_id"])


def mark_shipped(shop: Shop, order: Order, body: Mapping[str, Any], now: int) -> dict[str, Any]:
    """Mark Package As Shipped: the given lines (all unshipped ones when none are given) go
    into a new package with the tracking; the order moves on."""
    ids, tracking, provider = _shipment(body)
    if not tracking.strip():
        raise invalid_param("Invalid param. `tracking_number` is required.")
    if provider not in {provider_id(shop, n) for n in PROVIDERS}:
        raise ApiError(UNKNOWN_PROVIDER, "The shipping provider is not available for this "
                                         "order's delivery option.")
    if order.fulfillment_type != "FULFILLMENT_BY_SELLER":
        raise ApiError(FULFILLED_BY_TIKTOK, "This order is fulfilled by TikTok.")
    if order.status == "CANCELLED":
        raise ApiError(ORDER_CANCELLED, "The order has been cancelled.")
    if order.status in ("UNPAID", "ON_HOLD"):
        raise ApiError(NOT_CANCELLABLE, f"The order is {order.status} and cannot ship yet.")
    by_id = {line.id: line for line in order.lines}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise invalid_param(f"Invalid param. Unknown order line items: {', '.join(unknown)}")
    lines = [by_id[i] for i in ids] if ids else [ln for ln in order.lines if not ln.tracking]
    shipped = [line.id for line in lines if line.tracking]
    if shipped or not lines:
        raise ApiError(ALREADY_SHIPPED, f"Order line items already shipped: "
                                        f"{', '.join(shipped) or 'all'}.")
    package = numeric_id("11", 18, order.id, "package", len(order.packages) + 1)
    name = next(n for n in PROVIDERS if provider_id(shop, n) == provider)
    for line in lines:
        line.package_id, line.tracking, line.provider = package, tracking, name
    order.packages[package] = {"line_ids": [ln.id for ln in lines], "tracking": tracking,
                               "provider_id": provider, "provider": name, "create_time": now,
                               "status": "PROCESSING"}
    if all(line.tracking for line in order.lines):
        change_status(order, "AWAITING_COLLECTION", now)
        for pkg in order.packages.values():
            pkg["status"] = "PROCESSING"
    else:
        order.status, order.update_time = "PARTIALLY_SHIPPING", now
    return {"order_id": order.id, "order_line_item_ids": [ln.id for ln in lines],
            "package_id": package}


def package_detail(shop: Shop, package_id: str) -> dict[str, Any]:
    """Get Package Detail of a package the seller shipped."""
    for order in shop.orders.values():
        pkg = order.packages.get(package_id)
        if pkg is None:
            continue
        skus: dict[str, dict[str, Any]] = {}
        for line in order.lines:
            if line.id in pkg["line_ids"]:
                entry = skus.setdefault(line.sku.id, {"id": line.sku.id, "name": line.sku.option,
                                                      "image_url": "", "quantity": 0})
                entry["quantity"] += 1
        return {"package_id": package_id, "package_status": pkg["status"],
                "shipping_type": "SELLER", "tracking_number": pkg["tracking"],
                "shipping_provider_id": pkg["provider_id"],
                "shipping_provider_name": pkg["provider"],
                "order_line_item_ids": list(pkg["line_ids"]), "create_time": pkg["create_time"],
                "update_time": order.update_time, "warehouse_id": order.warehouse_id,
                "orders": [{"id": order.id, "skus": list(skus.values())}]}
    raise ApiError(PACKAGE_NOT_FOUND, "The package does not exist.")


def line_shipping(line: OrderLine) -> dict[str, Any]:
    """The shipping fields Get Order Detail shows on a line item."""
    if not line.tracking:
        return {}
    return {"tracking_number": line.tracking, "shipping_provider_name": line.provider,
            "package_status": "PROCESSING"}


# --- cancellations -----------------------------------------------------------------------


def cancel_record(order: Order, role: str, status: str, reason: str, now: int) -> dict[str, Any]:
    """A cancellation of the order, kept on it (Search Cancellations' fields)."""
    record = {"cancel_id": numeric_id("58", 18, order.id, "cancel", len(order.cancellations)),
              "order_id": order.id, "role": role, "cancel_status": status,
              "cancel_reason": reason, "cancel_type": "CANCEL", "create_time": now,
              "update_time": now}
    order.cancellations.append(record)
    return record


def seller_cancel(order: Order, body: Mapping[str, Any], now: int) -> dict[str, Any]:
    """Cancel Order by the seller: refused once anything shipped or it is cancelled."""
    reason = body.get("cancel_reason")
    if not isinstance(reason, str) or not reason:
        raise invalid_param("Invalid param. `cancel_reason` is required.")
    if reason not in CANCEL_REASONS:
        raise invalid_param("Invalid param. `cancel_reason` is invalid.")
    if order.status == "CANCELLED":
        raise ApiError(ORDER_CANCELLED, "The order has already been cancelled.")
    if order.status in _SHIPPED_STATUSES or any(line.tracking for line in order.lines):
        raise ApiError(NOT_CANCELLABLE, "The order has been shipped and cannot be cancelled.")
    change_status(order, "CANCELLED", now)
    record = cancel_record(order, "SELLER", "CANCELLATION_REQUEST_COMPLETE", reason, now)
    return {"cancel_id": record["cancel_id"], "cancel_status": record["cancel_status"]}


def cancel_data(record: Mapping[str, Any]) -> dict[str, Any]:
    """`data` of a CANCELLATION_STATUS_CHANGE push."""
    return {"order_id": record["order_id"], "cancellations_role": record["role"],
            "cancel_status": record["cancel_status"], "cancel_id": record["cancel_id"],
            "create_time": record["create_time"]}


# --- returns -----------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def open_return(shop: Shop, order: Order, line_ids: Any, kind: str, status: str,
                now: int) -> dict[str, Any]:
    """A buyer's return or refund of some lines (all when none are named)."""
    if kind not in RETURN_TYPES:
        raise OrderRefused(f"type must be one of {RETURN_TYPES}")
    if status not in RETURN_STATUSES:
        raise OrderRefused(f"status must be one of {RETURN_STATUSES}")
    by_id = {line.id: line for line in order.lines}
    ids = list(line_ids or [line.id for line in order.lines])
    if not all(isinstance(i, str) and i in by_id for i in ids):
        raise OrderRefused("line_ids must name line items of the order")
    taken = {i for r in order.returns for i in r["line_ids"]
             if r["return_status"] != "RETURN_OR_REFUND_REQUEST_CANCEL"}
    if taken & set(ids):
        raise OrderRefused(f"line items already returned: {', '.join(sorted(taken & set(ids)))}")
    record = {"return_id": numeric_id("49", 18, order.id, "return", len(order.returns)),
              "order_id": order.id, "return_type": kind, "return_status": status,
              "line_ids": ids, "create_time": now, "update_time": now}
    order.returns.append(record)
    return record


def return_to_api(shop: Shop, order: Order, record: Mapping[str, Any]) -> dict[str, Any]:
    """A return as Search Returns answers it."""
    by_id = {line.id: line for line in order.lines}
    items, total = [], Decimal(0)
    for index, line_id in enumerate(record["line_ids"]):
        line = by_id[line_id]
        price = Decimal(line.sku.price)
        total += price
        items.append({
            "return_line_item_id": numeric_id("49", 18, record["return_id"], "line", index),
            "order_line_item_id": line.id, "sku_id": line.sku.id, "seller_sku":
            line.sku.seller_sku, "sku_name": line.sku.option, "product_name": line.product_name,
            "refund_amount": {"currency": shop.currency, "refund_total": _money(price),
                              "refund_subtotal": _money(price), "refund_shipping_fee": "0.00",
                              "refund_tax": "0.00"}})
    return {
        "return_id": record["return_id"], "order_id": order.id,
        "return_type": record["return_type"], "return_status": record["return_status"],
        "role": "BUYER", "return_reason": "ecom_order_delivered_refund_and_return_reason_"
        "damaged_product", "return_reason_text": "Damaged product",
        "create_time": record["create_time"], "update_time": record["update_time"],
        "return_line_items": items,
        "refund_amount": {"currency": shop.currency, "refund_total": _money(total),
                          "refund_subtotal": _money(total), "refund_shipping_fee": "0.00",
                          "refund_tax": "0.00"},
    }


def return_data(record: Mapping[str, Any]) -> dict[str, Any]:
    """`data` of a RETURN_STATUS_CHANGE push."""
    return {"order_id": record["order_id"], "return_role": "BUYER",
            "return_type": record["return_type"], "return_status": record["return_status"],
            "return_id": record["return_id"], "create_time": record["create_time"],
            "update_time": record["update_time"]}


def _str_list(body: Mapping[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise type_error(name, value, "array")
    return value


def search_returns(shop: Shop, query: Mapping[str, str], body: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """Search Returns: filters by ids, status and update time; keyset pages on
    (update_time, return id), oldest first unless `sort_order=DESC`."""
    size = page_size(query)
    descending = (query.get("sort_order") or "ASC").upper() == "DESC"
    orders, ids, statuses = (_str_list(body, n) for n in ("order_ids", "return_ids",
                                                          "return_status"))
    bounds = {}
    for name in ("update_time_ge", "update_time_lt", "create_time_ge", "create_time_lt"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise type_error(name, value, "int64")
        bounds[name] = value
    rows = []
    for order in shop.orders.values():
        if orders is not None and order.id not in orders:
            continue
        for record in order.returns:
            if ids is not None and record["return_id"] not in ids:
                continue
            if statuses is not None and record["return_status"] not in statuses:
                continue
            if not _within(record, bounds):
                continue
            rows.append(((record["update_time"], record["return_id"]), order, record))
    rows.sort(key=lambda row: row[0], reverse=descending)
    fp = fingerprint("returns", descending, orders, ids, statuses, bounds)
    if query.get("page_token"):
        last = tuple(decode_token(query["page_token"], fp))
        rows = [r for r in rows if (r[0] < last if descending else r[0] > last)]
    page, more = rows[:size], len(rows) > size
    return {"return_orders": [return_to_api(shop, o, r) for _, o, r in page],
            "total_count": len(page),
            "next_page_token": encode_token(list(page[-1][0]), fp) if more else ""}


def _within(record: Mapping[str, Any], bounds: Mapping[str, int | None]) -> bool:
    for name, bound in bounds.items():
        if bound is None:
            continue
        value = record["update_time" if name.startswith("update") else "create_time"]
        if (name.endswith("_ge") and value < bound) or (name.endswith("_lt") and value >= bound):
            return False
    return True
