"""Shopify API JSON ↔ Shelfsync types, validated on the way in.

Every reader here checks what it relies on (presence, type, range) and raises `BadResponse`
naming the field and the value, because a half-read response turned into a wrong stock level
would be pushed to every channel. Negative available quantities are real in Shopify (units
oversold at a location) and pass through; only absurd magnitudes are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from shelfsync.core.errors import BadRequest, BadResponse, InvalidInput, NotFound
from shelfsync.core.types import (
    AccountInfo,
    Address,
    BackorderPolicy,
    CatalogItem,
    ChannelOrder,
    Location,
    Money,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
)

PLATFORM = "shopify"
#: Shopify's own ceiling on an inventory quantity; anything beyond is a corrupted answer.
MAX_ABS_QUANTITY = 1_000_000_000
MAX_PRICE = Decimal("1000000000")
GID_PREFIX = "gid://shopify/"


def bad(message: str, request_id: str | None = None) -> BadResponse:
    """A `BadResponse` for the Shopify platform."""
    return BadResponse(f"shopify: {message}", platform=PLATFORM, request_id=request_id)


def json_object(raw: bytes, request_id: str | None = None) -> dict[str, Any]:
    """Decode a response body that must be a JSON object."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"response is not JSON ({exc}): {raw[:120]!r}", request_id) from exc
    if not isinstance(value, dict):
        raise bad(f"response is a JSON {type(value).__name__}, not an object", request_id)
    return value


def obj(value: Any, where: str) -> dict[str, Any]:
    """`value` as a JSON object, or `BadResponse` naming `where`."""
    if not isinstance(value, dict):
        raise bad(f"{where} should be an object, got {_show(value)}")
    return value


def items(value: Any, where: str) -> list[Any]:
    """`value` as a JSON array."""
    if not isinstance(value, list):
        raise bad(f"{where} should be a list, got {_show(value)}")
    return value


def text(node: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    """A string field; `optional` lets null through as ''."""
    if key not in node:
        raise bad(f"{where}.{key} is missing")
    value = node[key]
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise bad(f"{where}.{key} should be a string, got {_show(value)}")
    return value


def flag(node: Mapping[str, Any], key: str, where: str) -> bool:
    """A boolean field."""
    value = node.get(key)
    if not isinstance(value, bool):
        raise bad(f"{where}.{key} should be true or false, got {_show(value)}")
    return value


def gid(node: Mapping[str, Any], key: str, kind: str, where: str) -> str:
    """A Shopify global id of the given kind (`gid://shopify/<kind>/<n>`)."""
    value = text(node, key, where)
    if not value.startswith(f"{GID_PREFIX}{kind}/"):
        raise bad(f"{where}.{key} should be a {kind} id, got {value!r}")
    return value


def quantity(value: Any, where: str) -> int:
    """An inventory quantity: an integer within Shopify's own bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{where} should be an integer quantity, got {_show(value)}")
    if abs(value) > MAX_ABS_QUANTITY:
        raise bad(f"{where} is an impossible quantity: {value}")
    return value


def price(value: Any, where: str) -> str:
    """A Money scalar: a non-negative decimal string, kept as the string Shopify sent."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise bad(f"{where} should be a decimal amount, got {_show(value)}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise bad(f"{where} is not a decimal amount: {value!r}") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        raise bad(f"{where} is an impossible price: {value!r}")
    return str(value)


def _show(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown[:60]}"


# --- connections ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a connection."""

    nodes: list[dict[str, Any]]
    has_next: bool
    end_cursor: str | None


def page_of(value: Any, where: str) -> Page:
    """Read a connection object (`nodes` and `pageInfo`)."""
    conn = obj(value, where)
    nodes = [obj(n, f"{where}.nodes[{i}]") for i, n in enumerate(items(conn.get("nodes"),
                                                                          f"{where}.nodes"))]
    info = obj(conn.get("pageInfo"), f"{where}.pageInfo")
    has_next = flag(info, "hasNextPage", f"{where}.pageInfo")
    cursor = info.get("endCursor")
    if cursor is not None and not isinstance(cursor, str):
        raise bad(f"{where}.pageInfo.endCursor should be a string, got {_show(cursor)}")
    return Page(nodes, has_next, cursor)


def connection_page(data: Mapping[str, Any], root: str) -> Page:
    """The page of the root connection `root` in a query's `data`."""
    return page_of(data.get(root), root)


# --- reads ----------------------------------------------------------------------------------


def to_location(node: Mapping[str, Any]) -> Location:
    """A `Location` from a Location node."""
    where = "location"
    return Location(
        id=gid(node, "id", "Location", where),
        name=text(node, "name", where),
        active=flag(node, "isActive", where),
    )


@dataclass(frozen=True)
class VariantStock:
    """A variant's stock fields as read, before location filtering."""

    variant_id: str
    sku: str
    continue_selling: bool
    inventory_item_id: str
    tracked: bool
    levels: list[tuple[str, int]]
    more_levels_after: str | None


def to_variant_stock(node: Mapping[str, Any]) -> VariantStock:
    """Read one variant of the StockLevels / BackorderPolicies queries."""
    where = "productVariant"
    variant_id = gid(node, "id", "ProductVariant", where)
    where = f"productVariant {variant_id}"
    policy = text(node, "inventoryPolicy", where)
    if policy not in {"CONTINUE", "DENY"}:
        raise bad(f"{where}.inventoryPolicy is {policy!r}, expected CONTINUE or DENY")
    item = obj(node.get("inventoryItem"), f"{where}.inventoryItem")
    levels: list[tuple[str, int]] = []
    after: str | None = None
    if "inventoryLevels" in item:
        levels, after = to_levels(item["inventoryLevels"], f"{where}.inventoryItem")
    return VariantStock(
        variant_id=variant_id,
        sku=text(node, "sku", where, optional=True).strip(),
        continue_selling=policy == "CONTINUE",
        inventory_item_id=gid(item, "id", "InventoryItem", f"{where}.inventoryItem"),
        tracked=flag(item, "tracked", f"{where}.inventoryItem"),
        levels=levels,
        more_levels_after=after,
    )


def to_levels(value: Any, where: str) -> tuple[list[tuple[str, int]], str | None]:
    """(location id, available) pairs of an inventoryLevels page, and the cursor for more."""
    page = page_of(value, f"{where}.inventoryLevels")
    levels = []
    for i, level in enumerate(page.nodes):
        here = f"{where}.inventoryLevels[{i}]"
        location = gid(obj(level.get("location"), f"{here}.location"), "id", "Location",
                       f"{here}.location")
        available = [
            obj(q, f"{here}.quantities")
            for q in items(level.get("quantities"), f"{here}.quantities")
        ]
        named = [q for q in available if q.get("name") == "available"]
        if len(named) != 1:
            raise bad(f"{here}.quantities should hold one 'available' entry, got {len(named)}")
        levels.append((location, quantity(named[0].get("quantity"), f"{here}.available")))
    return levels, page.end_cursor if page.has_next else None


def stock_levels(variant: VariantStock, active: set[str]) -> list[StockLevel]:
    """The `StockLevel`s of a tracked variant with a SKU, at active locations only."""
    if not variant.sku or not variant.tracked:
        return []
    return [
        StockLevel(sku=variant.sku, location_id=loc, available=qty)
        for loc, qty in variant.levels
        if loc in active
    ]


def backorder_policy(variant: VariantStock) -> BackorderPolicy:
    """Untracked stock can always be sold, so it counts as continue-selling."""
    return BackorderPolicy(
        sku=variant.sku,
        continue_selling=variant.continue_selling or not variant.tracked,
        tracked=variant.tracked,
    )


def to_catalog_item(node: Mapping[str, Any], currency: str) -> CatalogItem:
    """A `CatalogItem` from a variant node of the Catalog query."""
    where = "productVariant"
    variant_id = gid(node, "id", "ProductVariant", where)
    where = f"productVariant {variant_id}"
    product = obj(node.get("product"), f"{where}.product")
    item = obj(node.get("inventoryItem"), f"{where}.inventoryItem")
    product_title = text(product, "title", f"{where}.product")
    variant_title = text(node, "title", where)
    title = product_title if variant_title in {"", "Default Title"} else (
        f"{product_title} - {variant_title}"
    )
    return CatalogItem(
        product_id=gid(product, "id", "Product", f"{where}.product"),
        variant_id=variant_id,
        sku=text(node, "sku", where, optional=True).strip(),
        title=title,
        price=price(node.get("price"), f"{where}.price"),
        currency=currency,
        inventory_item_id=gid(item, "id", "InventoryItem", f"{where}.inventoryItem"),
    )


def shop_account(data: Mapping[str, Any]) -> AccountInfo:
    """The shop's own id (its myshopify domain, which names it in every webhook) and name."""
    shop = obj(data.get("shop"), "shop")
    return AccountInfo(platform_id=text(shop, "myshopifyDomain", "shop"),
                       name=str(shop.get("name") or ""))


def shop_currency(data: Mapping[str, Any]) -> str:
    """The shop's currency code (ISO 4217, three capital letters)."""
    shop = obj(data.get("shop"), "shop")
    code = text(shop, "currencyCode", "shop")
    if len(code) != 3 or not code.isalpha() or not code.isupper():
        raise bad(f"shop.currencyCode is not a currency code: {code!r}")
    return code


# --- orders ---------------------------------------------------------------------------------


def raise_user_errors(payload: Mapping[str, Any], root: str) -> None:
    """Turn a mutation's `userErrors` into `BadRequest` with every message."""
    errors = items(payload.get("userErrors", []), f"{root}.userErrors")
    if not errors:
        return
    parts, code = [], None
    for error in errors:
        error = obj(error, f"{root}.userErrors[]")
        where = ".".join(str(f) for f in error.get("field") or [])
        parts.append(f"{where}: {error.get('message')}" if where else str(error.get("message")))
        code = code or error.get("code")
    raise BadRequest(f"shopify: {root} refused: {'; '.join(parts)}", platform=PLATFORM,
                     code=str(code) if code else None)


def find_tagged_order(nodes: Iterable[Mapping[str, Any]], tag: str, key: str,
                      value: str) -> StoreOrderRef | None:
    """The order carrying exactly `tag` or the custom attribute `key=value`, if any.

    The search index matches loosely, so the match is confirmed on the order itself.
    """
    for node in nodes:
        tags = items(node.get("tags", []), "order.tags")
        attributes = items(node.get("customAttributes", []), "order.customAttributes")
        by_attribute = any(
            isinstance(a, dict) and a.get("key") == key and a.get("value") == value
            for a in attributes
        )
        if tag in tags or by_attribute:
            return StoreOrderRef(
                id=gid(node, "id", "Order", "order"), name=text(node, "name", "order"),
                created=False,
            )
    return None


def to_order_status(data: Mapping[str, Any], order_id: str) -> StoreOrderStatus:
    """A `StoreOrderStatus` from the OrderStatus query (tracking is added separately)."""
    node = data.get("order")
    if node is None:
        raise NotFound(f"shopify: order {order_id} not found", platform=PLATFORM)
    node = obj(node, "order")
    fulfillment = text(node, "displayFulfillmentStatus", "order")
    financial = text(node, "displayFinancialStatus", "order", optional=True)
    return StoreOrderStatus(
        id=gid(node, "id", "Order", "order"),
        fulfilled=fulfillment == "FULFILLED",
        cancelled=node.get("cancelledAt") is not None,
        refunded=financial == "REFUNDED",
    )


def has_shipped(data: Mapping[str, Any]) -> bool:
    """Whether an OrderStatus answer says some of the order was fulfilled."""
    node = obj(data.get("order"), "order")
    return node.get("displayFulfillmentStatus") in {"FULFILLED", "PARTIALLY_FULFILLED"}


def order_input(order: ChannelOrder, variants: Mapping[str, str], tag: str,
                attribute_key: str) -> dict[str, Any]:
    """The `OrderCreateOrderInput` for a channel order; `variants` maps SKU → variant id."""
    lines = []
    for line in order.lines:
        if line.quantity <= 0:
            raise InvalidInput("quantity", f"line {line.line_id} has quantity {line.quantity}")
        item: dict[str, Any] = {"variantId": variants[line.seller_sku], "quantity": line.quantity}
        if line.unit_price is not None:
            item["priceSet"] = {"shopMoney": {"amount": line.unit_price.amount,
                                              "currencyCode": line.unit_price.currency}}
        lines.append(item)
    shop = order.shop_name or order.shop_id
    attributes = [{"key": attribute_key, "value": order.id}]
    if shop:
        attributes.append({"key": "tiktok_shop", "value": shop})
    if order.buyer_name:
        attributes.append({"key": "tiktok_buyer", "value": order.buyer_name})
    if order.discount is not None:
        attributes.append({"key": "tiktok_discount", "value": order.discount.amount})
    payload: dict[str, Any] = {
        "lineItems": lines,
        "tags": [tag],
        "customAttributes": attributes,
        # Shopify's advice for orders from another channel: name the source and the
        # channel's own order id (shown in the admin, searchable as source_identifier).
        "sourceName": "tiktok",
        "sourceIdentifier": order.id,
        "note": f"TikTok Shop order {order.id}" + (f" from {shop}" if shop else ""),
        "financialStatus": "PAID",
    }
    currency = next((m.currency for m in (order.total, *(li.unit_price for li in order.lines))
                     if m is not None and m.currency), "")
    if currency:
        payload["currency"] = currency
    if order.shipping_fee is not None:
        payload["shippingLines"] = [{"title": "TikTok Shop shipping", "source": "tiktok",
                                     "priceSet": _money_bag(order.shipping_fee)}]
    if order.tax is not None and Decimal(order.tax.amount) != 0:
        payload["taxLines"] = [{"title": "TikTok Shop tax", "rate": _tax_rate(order),
                                "priceSet": _money_bag(order.tax)}]
    if order.buyer_email:
        payload["email"] = order.buyer_email
    if order.recipient is not None:
        payload["shippingAddress"] = _address(order.recipient)
    return payload


def _money_bag(money: Money) -> dict[str, Any]:
    return {"shopMoney": {"amount": money.amount, "currencyCode": money.currency}}


def _tax_rate(order: ChannelOrder) -> str:
    """The tax as a share of the goods (Shopify wants a rate with every tax line)."""
    goods = sum((Decimal(li.unit_price.amount) * li.quantity for li in order.lines
                 if li.unit_price is not None), Decimal(0))
    if order.tax is None or goods == 0:
        return "0"
    return f"{(Decimal(order.tax.amount) / goods).quantize(Decimal('0.0001'))}"


def _address(address: Address) -> dict[str, Any]:
    first, _, last = address.name.strip().partition(" ")
    result: dict[str, Any] = {
        "firstName": first,
        "lastName": last,
        "address1": address.lines[0] if address.lines else "",
        "address2": ", ".join(address.lines[1:]),
        "city": address.city,
        "provinceCode": address.region,
        "zip": address.postal_code,
        "phone": address.phone,
    }
    code = address.country_code.strip().upper()
    if len(code) == 2 and code.isalpha():
        result["countryCode"] = code
    return {key: value for key, value in result.items() if value}


def created_order(payload: Mapping[str, Any]) -> StoreOrderRef:
    """The ref of the order an `orderCreate` payload returned."""
    node = obj(payload.get("order"), "orderCreate.order")
    return StoreOrderRef(id=gid(node, "id", "Order", "orderCreate.order"),
                         name=text(node, "name", "orderCreate.order"), created=True)
