"""Order endpoints of the TikTok Shop fake, and buyer orders placed through the control API.

Field names follow `lywzx/tiktok-partner-api` `orders/GetOrderList.ts` and `GetOrderDetail.ts`;
Get Order List honours its body filters `order_status`, `create_time_ge/lt`,
`update_time_ge/lt`, `shipping_type`, `buyer_user_id` and `is_buyer_request_cancel`.
Line items carry no quantity: a buyer's two units of one SKU are two line items (inferred from
the schema, unconfirmed by TikTok prose). `recipient_address` is left out while an order is
UNPAID or ON_HOLD, as the Get Order Detail reference says.

Stock: placing an order moves units from available to committed in the TikTok-side
inventory; shipping (AWAITING_COLLECTION and later) drops them from committed; cancelling
returns them to available.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shelfsync.plugins.tiktok.fake_gateway import ApiError, invalid_param, type_error
from shelfsync.plugins.tiktok.fake_products import (
    decode_token,
    encode_token,
    fingerprint,
    page_size,
    time_bound,
)
from shelfsync.plugins.tiktok.fake_state import LIVE_STATUS, Order, OrderLine, Shop, numeric_id

ORDER_STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)
INITIAL_STATUSES = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT")
_HOLDING = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING")
_SHIPPED = ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED")
NOT_YOUR_ORDER = 21008111
SHIPPING_FEE = Decimal("2.99")
SHIPPING_TYPE = "TIKTOK"  # shipping by TikTok's logistics; SELLER is never seeded
_FIRST = ("Alex", "Sam", "Charlie", "Jordan", "Robin", "Taylor", "Morgan", "Jamie")
_LAST = ("Smith", "Jones", "Brown", "García", "Müller", "Martin", "Rossi", "Nowak")
_STREETS = ("High Street", "Station Road", "Main Street", "Church Lane", "Park Avenue")


class OrderRefused(ValueError):
    """A control-API order that a real buyer could not place (unknown SKU, no stock …)."""


def _buyer(seed: int, shop: Shop, number: int) -> dict[str, str]:
    rng = random.Random(f"{seed}:{shop.index}:buyer:{number}")
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    line1 = f"{rng.randint(1, 200)} {rng.choice(_STREETS)}"
    postal = f"{rng.randint(10000, 99999)}"
    return {
        "name": f"{first} {last}",
        "phone_number": f"(+1)555{rng.randint(1000000, 9999999)}",
        "address_line1": line1,
        "postal_code": postal,
        "city": "Fakeville",
        "email": f"{first.lower()}{number}@scs.tiktokw.us",
        "user_id": numeric_id("7", 19, seed, shop.index, "user", number),
    }


def place_order(
    seed: int, shop: Shop, items: Any, status: str, now: int
) -> Order:
    """A buyer order of `items` ([{seller_sku, quantity}]); reserves TikTok-side stock."""
    if status not in INITIAL_STATUSES:
        raise OrderRefused(f"status must be one of {INITIAL_STATUSES}")
    if not isinstance(items, list) or not items:
        raise OrderRefused("items must be a non-empty list of {seller_sku, quantity}")
    wanted: dict[str, int] = {}
    for item in items:
        sku_code = item.get("seller_sku") if isinstance(item, dict) else None
        count = item.get("quantity", 1) if isinstance(item, dict) else None
        if not isinstance(sku_code, str) or isinstance(count, bool) or not isinstance(count, int):
            raise OrderRefused("each item needs a seller_sku and an integer quantity")
        if count < 1:
            raise OrderRefused(f"quantity of {sku_code} must be >= 1")
        wanted[sku_code] = wanted.get(sku_code, 0) + count
    for sku_code, count in wanted.items():
        sku = shop.by_seller_sku.get(sku_code)
        if sku is None:
            raise OrderRefused(f"{sku_code} is not listed in shop {shop.id}")
        if shop.products[sku.product_id].status != LIVE_STATUS:
            raise OrderRefused(f"{sku_code} is not live in shop {shop.id}")
        if sum(max(q, 0) for q in sku.available.values()) < count:
            raise OrderRefused(f"not enough TikTok-side stock of {sku_code} for {count}")
    number = len(shop.orders) + 1
    order_id = numeric_id("57", 18, seed, shop.index, "order", number)
    lines: list[OrderLine] = []
    for sku_code, count in wanted.items():
        sku = shop.by_seller_sku[sku_code]
        for _ in range(count):
            warehouse_id = next(w for w, q in sku.available.items() if q > 0)
            sku.available[warehouse_id] -= 1
            sku.committed[warehouse_id] = sku.committed.get(warehouse_id, 0) + 1
            line_id = numeric_id("57", 18, seed, shop.index, "line", number, len(lines))
            lines.append(OrderLine(line_id, sku, shop.products[sku.product_id].title,
                                   warehouse_id))
    order = Order(
        id=order_id,
        number=number,
        status=status,
        create_time=now,
        update_time=now,
        paid_time=None if status == "UNPAID" else now,
        lines=lines,
        warehouse_id=lines[0].warehouse_id,
        buyer=_buyer(seed, shop, number),
        is_on_hold_order=status == "ON_HOLD",
    )
    shop.orders[order.id] = order
    return order


def change_status(order: Order, status: str, now: int) -> None:
    """Move an order to `status`, releasing or shipping its committed stock."""
    if status not in ORDER_STATUSES:
        raise OrderRefused(f"status must be one of {ORDER_STATUSES}")
    if order.status in ("CANCELLED", "COMPLETED"):
        raise OrderRefused(f"order {order.id} is {order.status} and cannot change")
    if order.stock_state == "reserved" and (status == "CANCELLED" or status in _SHIPPED):
        for line in order.lines:
            line.sku.committed[line.warehouse_id] -= 1
            if status == "CANCELLED":
                line.sku.available[line.warehouse_id] += 1
        order.stock_state = "released" if status == "CANCELLED" else "shipped"
    if status == "ON_HOLD":
        order.is_on_hold_order = True
    if order.paid_time is None and status not in ("UNPAID", "CANCELLED"):
        order.paid_time = now
    if status == "CANCELLED":
        order.cancel_time = now
    if status == "IN_TRANSIT":
        order.collection_time = now
    if status == "DELIVERED":
        order.delivery_time = now
    order.status = status
    order.update_time = now


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


#: Every third order of a shop carries a seller discount of this share on each item.
SELLER_DISCOUNT = Decimal("0.10")
#: Sales tax added on top of the prices where prices exclude it (US); VAT regions' prices
#: include their VAT, so TikTok reports no separate tax there.
SALES_TAX = {"US": Decimal("0.08")}
_CENT = Decimal("0.01")


def _line_discount(order: Order, line: OrderLine) -> Decimal:
    if order.number % 3:
        return Decimal(0)
    return (Decimal(line.sku.price) * SELLER_DISCOUNT).quantize(_CENT)


def order_to_api(shop: Shop, order: Order) -> dict[str, Any]:
    """An order as Get Order List / Get Order Detail return it: line sale prices after the
    seller's discount, the sub-total of those, shipping, and sales tax where prices exclude
    it (total = sub-total + shipping + tax)."""
    original = sum((Decimal(line.sku.price) for line in order.lines), Decimal(0))
    discount = sum((_line_discount(order, line) for line in order.lines), Decimal(0))
    sub_total = original - discount
    tax = (sub_total * SALES_TAX.get(shop.region, Decimal(0))).quantize(_CENT)
    buyer = order.buyer
    item: dict[str, Any] = {
        "id": order.id,
        "status": order.status,
        "create_time": order.create_time,
        "update_time": order.update_time,
        "user_id": buyer["user_id"],
        "buyer_email": buyer["email"],
        "buyer_message": "",
        "warehouse_id": order.warehouse_id,
        "fulfillment_type": order.fulfillment_type,
        "shipping_type": SHIPPING_TYPE,
        "delivery_type": "HOME_DELIVERY",
        "is_cod": False,
        "is_on_hold_order": order.is_on_hold_order,
        "is_sample_order": False,
        "is_buyer_request_cancel": buyer_requested_cancel(order),
        "payment_method_name": "Card",
        "payment": {
            "currency": shop.currency,
            "sub_total": _money(sub_total),
            "shipping_fee": _money(SHIPPING_FEE),
            "seller_discount": _money(discount),
            "platform_discount": "0.00",
            "total_amount": _money(sub_total + SHIPPING_FEE + tax),
            "original_total_product_price": _money(original),
            "original_shipping_fee": _money(SHIPPING_FEE),
            "shipping_fee_seller_discount": "0.00",
            "shipping_fee_platform_discount": "0.00",
            "tax": _money(tax),
        },
        "line_items": [_line_to_api(shop, order, line) for line in order.lines],
        "packages": [{"id": p} for p in _package_ids(order)],
    }
    for name in ("paid_time", "cancel_time", "collection_time", "delivery_time"):
        if getattr(order, name) is not None:
            item[name] = getattr(order, name)
    if order.status == "CANCELLED":
        item["cancel_reason"] = order.cancel_reason or "Buyer changed their mind"
        item["cancellation_initiator"] = order.cancel_initiator or "BUYER"
    if order.status not in ("UNPAID", "ON_HOLD"):
        item["recipient_address"] = {
            "name": buyer["name"],
            "phone_number": buyer["phone_number"],
            "full_address": f"{buyer['address_line1']}, {buyer['city']}, {buyer['postal_code']},"
            f" {shop.country}",
            "postal_code": buyer["postal_code"],
            "region_code": shop.region,
            "address_detail": buyer["address_line1"],
            "address_line1": buyer["address_line1"],
            "address_line2": "",
            "address_line3": "",
            "address_line4": "",
            "district_info": [
                {"address_level_name": "Country", "address_name": shop.country,
                 "address_level": "L0"},
                {"address_level_name": "City", "address_name": buyer["city"],
                 "address_level": "L2"},
            ],
        }
    return item


def _line_to_api(shop: Shop, order: Order, line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "sku_id": line.sku.id,
        "seller_sku": line.sku.seller_sku,
        "product_id": line.sku.product_id,
        "product_name": line.product_name,
        "sku_name": line.sku.option,
        "sku_image": "",
        "original_price": line.sku.price,
        "sale_price": _money(Decimal(line.sku.price) - _line_discount(order, line)),
        "platform_discount": "0.00",
        "seller_discount": _money(_line_discount(order, line)),
        "currency": shop.currency,
        "display_status": order.status,
        "sku_type": "NORMAL",
        "is_gift": False,
        "package_id": line.package_id or numeric_id("11", 18, order.id, "package"),
        **({"tracking_number": line.tracking, "shipping_provider_name": line.provider,
            "package_status": "PROCESSING"} if line.tracking else {}),
    }


def _package_ids(order: Order) -> list[str]:
    """The order's packages: those the seller shipped, and one for the unshipped lines."""
    ids = list(order.packages)
    if not order.packages or any(not line.tracking for line in order.lines):
        ids.append(numeric_id("11", 18, order.id, "package"))
    return ids


def buyer_requested_cancel(order: Order) -> bool:
    """Whether a buyer's cancellation request waits for the seller's answer."""
    return any(c["role"] == "BUYER" and c["cancel_status"] == "CANCELLATION_REQUEST_PENDING"
               for c in order.cancellations)


def _typed(body: Mapping[str, Any], name: str, kind: type, type_name: str) -> Any:
    """A body filter of JSON type `kind` (None when absent); any other type is refused."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise type_error(name, value, type_name)
    return value


def _filter_fields(order: Order) -> dict[str, Any]:
    """The order fields Get Order List's equality filters compare (as `order_to_api` shows)."""
    return {"shipping_type": SHIPPING_TYPE, "user_id": order.buyer["user_id"],
            "is_buyer_request_cancel": buyer_requested_cancel(order)}


def search_orders(shop: Shop, query: Mapping[str, str], body: Mapping[str, Any]) -> dict:
    """Get Order List: filters, sorting, keyset pagination on (sort value, id)."""
    size = page_size(query)
    sort_field = query.get("sort_field") or "create_time"
    sort_order = (query.get("sort_order") or "DESC").upper()
    if sort_field not in ("create_time", "update_time"):
        raise invalid_param("Invalid param. `sort_field` must be create_time or update_time.")
    if sort_order not in ("ASC", "DESC"):
        raise invalid_param("Invalid param. `sort_order` must be ASC or DESC.")
    status = _typed(body, "order_status", str, "string")
    if status is not None and status not in ORDER_STATUSES:
        raise invalid_param("Invalid param. `order_status` is invalid.")
    bounds = {n: time_bound(body, n) for n in
              ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")}
    # Equality filters on an order's own fields; the fake never has SELLER shipping or a
    # pending buyer cancellation, so those values simply match nothing.
    equal = {
        "shipping_type": _typed(body, "shipping_type", str, "string"),
        "user_id": _typed(body, "buyer_user_id", str, "string"),
        "is_buyer_request_cancel": _typed(body, "is_buyer_request_cancel", bool, "bool"),
    }
    equal = {k: v for k, v in equal.items() if v is not None}

    def matches(order: Order) -> bool:
        if status is not None and order.status != status:
            return False
        if equal:
            fields = _filter_fields(order)
            if any(fields[k] != v for k, v in equal.items()):
                return False
        for name, bound in bounds.items():
            if bound is None:
                continue
            value = order.create_time if name.startswith("create") else order.update_time
            too_early = name.endswith("_ge") and value < bound
            if too_early or (name.endswith("_lt") and value >= bound):
                return False
        return True

    descending = sort_order == "DESC"
    rows = sorted(
        ((getattr(o, sort_field), o.id) for o in shop.orders.values() if matches(o)),
        reverse=descending,
    )
    fp = fingerprint(sort_field, sort_order, status, bounds, equal)
    if query.get("page_token"):
        position = decode_token(query["page_token"], fp)
        try:
            last = (int(position[0]), str(position[1]))
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise invalid_param("Invalid param. `page_token` is invalid.") from exc
        rows_after = [r for r in rows if (r < last if descending else r > last)]
    else:
        rows_after = rows
    page = rows_after[:size]
    more = len(rows_after) > size
    return {
        "total_count": len(rows),
        "next_page_token": encode_token(list(page[-1]), fp) if more else "",
        "orders": [order_to_api(shop, shop.orders[oid]) for _, oid in page],
    }


def order_detail(shop: Shop, query: Mapping[str, str], owners: Mapping[str, str]) -> dict:
    """Get Order Detail (202309, and 202507 with the same fields here): `ids` is a
    comma-separated list of at most 50 order ids (EcomPHP/tiktokshop-php and
    david-yappeter/go-tiktok join them with commas)."""
    ids = [i for i in (query.get("ids") or "").split(",") if i]
    if not ids or len(ids) > 50:
        raise invalid_param("Invalid param. `ids` needs 1 to 50 order ids.")
    for order_id in ids:
        if order_id not in shop.orders and order_id in owners:
            raise ApiError(NOT_YOUR_ORDER,
                           "The order or package does not belong to the current seller.")
    return {"orders": [order_to_api(shop, shop.orders[i]) for i in ids if i in shop.orders]}
