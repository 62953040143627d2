"""TikTok Shop API JSON ↔ Shelfsync's plain types, validating as it goes.

A missing field or a wrong type is a `BadResponse` naming the field's path (for example
`data.products[3].skus[0].id`), never a `KeyError` and never a silently wrong value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shelfsync.core.errors import BadResponse
from shelfsync.core.types import (
    Address,
    AuthorizedShop,
    ChannelOrder,
    InventoryUpdate,
    Listing,
    Location,
    Money,
    OrderLine,
    WebhookEvent,
)
from shelfsync.plugins.tiktok import markets

PLATFORM = "tiktok"
#: More units than this on one order line is not an order but corrupt data.
MAX_LINE_QUANTITY = 99_999

#: Webhook `type` numbers, as TikTok's API definitions list them (the generated
#: `tiktok-shop-api` SDK carries the same table); 2 is the legacy reverse-order push.
WEBHOOK_TOPICS = {
    1: "ORDER_STATUS_CHANGE",
    2: "REVERSE_STATUS_UPDATE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    6: "SELLER_DEAUTHORIZATION",
    7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE",
    12: "RETURN_STATUS_CHANGE",
    13: "NEW_CONVERSATION",
    14: "NEW_MESSAGE",
    15: "PRODUCT_INFORMATION_CHANGE",
    16: "PRODUCT_CREATION",
    18: "PRODUCT_CATEGORY_CHANGE",
    33: "NEW_MESSAGE_LISTENER",
    36: "INVOICE_STATUS_CHANGE",
    37: "PRODUCT_AUDIT_STATUS_CHANGE",
}
#: The seller removed the app's authorization for the shop: its tokens no longer work.
SELLER_DEAUTHORIZATION = 6


class Reader:
    """Typed access to one JSON object, errors naming `where` the value sat."""

    def __init__(self, obj: Any, where: str, request_id: str | None = None) -> None:
        if not isinstance(obj, dict):
            raise BadResponse(f"tiktok: {where} is not an object", platform=PLATFORM,
                              request_id=request_id)
        self.obj = obj
        self.where = where
        self.request_id = request_id

    def fail(self, name: str, what: str) -> BadResponse:
        """The error for field `name` of this object: `{where}.{name} {what}`."""
        return BadResponse(f"tiktok: {self.where}.{name} {what}", platform=PLATFORM,
                           request_id=self.request_id)

    def text(self, name: str, *, required: bool = True) -> str:
        """A string (ids arrive as strings; a bare integer id is accepted and kept exact)."""
        value = self.obj.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is missing")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(name, "is not a string")
        return str(value)

    def integer(self, name: str, *, required: bool = True) -> int | None:
        """An integer (not a bool, not a float)."""
        value = self.obj.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, "is not an integer")
        return value

    def moment(self, name: str) -> datetime | None:
        """Unix seconds → aware UTC datetime (None when absent); out-of-range is refused."""
        value = self.integer(name, required=False)
        if value is None:
            return None
        try:
            if value < 0:
                raise ValueError(value)
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise self.fail(name, f"is not a Unix time: {value}") from None

    def amount(self, name: str, *, required: bool = True) -> str:
        """A decimal amount as TikTok sends it (a string), checked to be a finite number."""
        value = self.text(name, required=required)
        if not value:
            return value
        try:
            valid = Decimal(value).is_finite()
        except InvalidOperation:
            valid = False
        if not valid:
            raise self.fail(name, f"is not a decimal amount: {value[:40]!r}")
        return value

    def flag(self, name: str) -> bool:
        """A boolean, False when absent."""
        value = self.obj.get(name, False)
        if not isinstance(value, bool):
            raise self.fail(name, "is not a boolean")
        return value

    def array(self, name: str, *, required: bool = True) -> list[Any]:
        """A list (empty when absent and not required)."""
        value = self.obj.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is missing")
            return []
        if not isinstance(value, list):
            raise self.fail(name, "is not a list")
        return value

    def items(self, name: str, *, required: bool = True) -> Iterable[Reader]:
        """Each object of a list field, as a Reader."""
        for index, item in enumerate(self.array(name, required=required)):
            yield Reader(item, f"{self.where}.{name}[{index}]", self.request_id)

    def child(self, name: str, *, required: bool = True) -> Reader | None:
        """A nested object."""
        value = self.obj.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is missing")
            return None
        return Reader(value, f"{self.where}.{name}", self.request_id)


# --- shops and warehouses -----------------------------------------------------------------


def parse_shops(data: dict[str, Any], request_id: str | None = None) -> list[AuthorizedShop]:
    """`GET /authorization/202309/shops` → the shops with their ciphers, and the currency
    each sells in, from its market region (`markets`; "" for a region not known there)."""
    reader = Reader(data, "data", request_id)
    shops = []
    for shop in reader.items("shops", required=False):
        region = shop.text("region", required=False)
        shops.append(AuthorizedShop(
            id=shop.text("id"),
            name=shop.text("name", required=False),
            region=region,
            cipher=shop.text("cipher", required=False),
            currency=markets.currency_of(region),
        ))
    return shops


def parse_warehouses(data: dict[str, Any], request_id: str | None = None) -> list[Location]:
    """`GET /logistics/202309/warehouses` → the sales warehouses (return ones are not stock)."""
    reader = Reader(data, "data", request_id)
    locations = []
    for warehouse in reader.items("warehouses", required=False):
        kind = warehouse.text("type", required=False)
        if kind and kind != "SALES_WAREHOUSE":
            continue
        locations.append(
            Location(
                id=warehouse.text("id"),
                name=warehouse.text("name", required=False),
                active=warehouse.text("effect_status", required=False) == "ENABLED",
                is_default=warehouse.flag("is_default"),
            )
        )
    return locations


# --- products and inventory ---------------------------------------------------------------


def parse_listings(data: dict[str, Any], request_id: str | None = None) -> list[Listing]:
    """One page of product search → one `Listing` per SKU, quantities per warehouse.

    An answer without its `products` list is a bad answer (BadResponse: retried, then
    failed), never "this shop has no products": read as none, it would delete every link.
    A shop with no products answers an empty list.
    """
    reader = Reader(data, "data", request_id)
    listings = []
    for product in reader.items("products"):
        product_id = product.text("id")
        status = product.text("status", required=False)
        title = product.text("title", required=False)
        for sku in product.items("skus", required=False):
            quantities: dict[str, int] = {}
            for stock in sku.items("inventory", required=False):
                quantity = stock.integer("quantity")
                quantities[stock.text("warehouse_id", required=False)] = quantity or 0
            listings.append(
                Listing(
                    product_id=product_id,
                    sku_id=sku.text("id"),
                    seller_sku=sku.text("seller_sku", required=False),
                    status=status,
                    title=title,
                    quantities=quantities,
                )
            )
    return listings


def inventory_body(updates: Sequence[InventoryUpdate]) -> dict[str, Any]:
    """The update-inventory body for one product: one entry per SKU, one per warehouse."""
    skus: dict[str, list[dict[str, Any]]] = {}
    for update in updates:
        entry: dict[str, Any] = {"quantity": update.quantity}
        if update.warehouse_id:
            entry = {"warehouse_id": update.warehouse_id, "quantity": update.quantity}
        skus.setdefault(update.sku_id, []).append(entry)
    return {"skus": [{"id": sku_id, "inventory": stock} for sku_id, stock in skus.items()]}


SkuError = tuple[str, str]


def parse_inventory_errors(
    data: dict[str, Any], request_id: str | None = None
) -> dict[tuple[str, str | None], SkuError]:
    """`data.errors` of an inventory update → {(sku_id, warehouse_id or None): (code, message)}.

    A per-warehouse error (`detail.extra_errors`) names its warehouse; an error without one
    applies to every warehouse of the SKU (key warehouse None).
    """
    reader = Reader(data, "data", request_id)
    failures: dict[tuple[str, str | None], SkuError] = {}
    for error in reader.items("errors", required=False):
        code = error.text("code", required=False)
        message = error.text("message", required=False)
        detail = error.child("detail", required=False)
        if detail is None:
            raise BadResponse(f"tiktok: {error.where}.detail is missing: the failed SKU "
                              "cannot be told", platform=PLATFORM, request_id=request_id)
        sku_id = detail.text("sku_id")
        extra = list(detail.items("extra_errors", required=False))
        if not extra:
            failures[(sku_id, None)] = (code, message)
        for item in extra:
            failures[(sku_id, item.text("warehouse_id", required=False) or None)] = (
                item.text("code", required=False) or code,
                item.text("message", required=False) or message,
            )
    return failures


# --- orders -------------------------------------------------------------------------------


def _address(reader: Reader | None) -> Address | None:
    if reader is None:
        return None
    lines = tuple(
        line
        for line in (reader.text(f"address_line{n}", required=False) for n in range(1, 5))
        if line
    ) or tuple(filter(None, [reader.text("full_address", required=False)]))
    city = region = ""
    for district in reader.items("district_info", required=False):
        level_name = district.text("address_level_name", required=False).lower()
        level = district.text("address_level", required=False).upper()
        name = district.text("address_name", required=False)
        if level_name == "city" or (level == "L3" and not city):
            city = name
        elif level_name in {"state", "province", "region"} or (level == "L1" and not region):
            region = name
    return Address(
        name=reader.text("name", required=False),
        phone=reader.text("phone_number", required=False),
        lines=lines,
        city=city,
        region=region,
        postal_code=reader.text("postal_code", required=False),
        country_code=reader.text("region_code", required=False),
    )


def _lines(order: Reader, currency: str) -> tuple[OrderLine, ...]:
    """Line items → order lines. TikTok's line items have no quantity: each is one unit, so
    items of the same SKU at the same price are counted into one line (first item's id)."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for item in order.items("line_items"):
        sku_id = item.text("sku_id")
        price = item.amount("sale_price", required=False)
        units = item.integer("quantity", required=False)  # honoured if TikTok ever sends it
        if units is None:
            units = 1
        elif not 1 <= units <= MAX_LINE_QUANTITY:
            raise item.fail("quantity", f"is not a unit count: {units}")
        key = (sku_id, price)
        if key in grouped:
            grouped[key]["quantity"] += units
            grouped[key]["unit_line_ids"] += (item.text("id"),)
            continue
        item_currency = item.text("currency", required=False) or currency
        grouped[key] = {
            "line_id": item.text("id"),
            "sku_id": sku_id,
            "seller_sku": item.text("seller_sku", required=False),
            "quantity": units,
            "unit_price": Money(price, item_currency) if price else None,
            "product_id": item.text("product_id", required=False),
            "title": item.text("product_name", required=False),
            "unit_line_ids": (item.text("id"),),
        }
    return tuple(OrderLine(**fields) for fields in grouped.values())


def parse_order(order: Reader, shop_id: str = "") -> ChannelOrder:
    """One order of `orders/search` → `ChannelOrder`."""
    payment = order.child("payment", required=False)
    currency = payment.text("currency", required=False) if payment else ""
    total = None
    if payment is not None and payment.amount("total_amount", required=False):
        total = Money(payment.amount("total_amount"), currency)
    recipient = _address(order.child("recipient_address", required=False))
    return ChannelOrder(
        id=order.text("id"),
        status=order.text("status"),
        lines=_lines(order, currency),
        total=total,
        recipient=recipient,
        buyer_email=order.text("buyer_email", required=False),
        created_at=order.moment("create_time"),
        updated_at=order.moment("update_time"),
        shop_id=shop_id,
        buyer_name=recipient.name if recipient is not None else "",
        shipping_fee=_payment_money(payment, currency, "shipping_fee"),
        tax=_payment_money(payment, currency, "tax"),
        discount=_discount(payment, currency),
        fulfilled_by_channel=order.text("fulfillment_type", required=False)
        == "FULFILLMENT_BY_TIKTOK",
        cancel_reason=order.text("cancel_reason", required=False),
    )


def _payment_money(payment: Reader | None, currency: str, name: str) -> Money | None:
    """One amount of the order's `payment` (None when TikTok reports none)."""
    if payment is None:
        return None
    amount = payment.amount(name, required=False)
    return Money(amount, currency) if amount else None


def _discount(payment: Reader | None, currency: str) -> Money | None:
    """Seller and platform discounts on products and shipping, added up (None when zero)."""
    if payment is None:
        return None
    names = ("seller_discount", "platform_discount", "shipping_fee_seller_discount",
             "shipping_fee_platform_discount")
    total = sum((Decimal(payment.amount(n, required=False) or "0") for n in names), Decimal(0))
    return Money(f"{total:.2f}", currency) if total else None


def parse_orders(
    data: dict[str, Any], shop_id: str = "", request_id: str | None = None
) -> tuple[list[ChannelOrder], str | None]:
    """One page of `orders/search` → the orders and the next page token (None at the end)."""
    reader = Reader(data, "data", request_id)
    orders = [parse_order(order, shop_id) for order in reader.items("orders", required=False)]
    return orders, reader.text("next_page_token", required=False) or None


# --- webhooks -----------------------------------------------------------------------------


def parse_webhook(payload: Any) -> WebhookEvent:
    """A verified webhook body → `WebhookEvent`, routed by its `shop_id`."""
    reader = Reader(payload, "webhook")
    kind = reader.integer("type")
    data = reader.child("data", required=False)
    order_id = data.text("order_id", required=False) if data else ""
    return WebhookEvent(
        platform=PLATFORM,
        topic=WEBHOOK_TOPICS.get(kind or 0, f"TYPE_{kind}"),
        dedup_key=reader.text("tts_notification_id"),
        payload=payload,
        occurred_at=reader.moment("timestamp"),
        shop_id=reader.text("shop_id"),
        order_id=order_id,
        access_revoked=kind == SELLER_DEAUTHORIZATION,
    )
