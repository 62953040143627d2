"""Binds the fake's SDL subset to the in-memory shop: query and object resolvers.

Resolvers get the shop from `info.context` (a `Context`), so the schema holds no state of
its own. Model attributes are snake_case; the resolver tables below map Shopify's field
names onto them, leaving graphql-core's default resolver for the names that already match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.resources import files
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema

from shelfsync.plugins.shopify.fake_filters import (
    ITEM_FIELDS,
    LEVEL_FIELDS,
    LOCATION_FIELDS,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    VARIANT_FIELDS,
    WEBHOOK_FIELDS,
    expression,
    filtered,
    orders_matching,
    variants_matching,
)
from shelfsync.plugins.shopify.fake_paging import Connection, lookup, paginate
from shelfsync.plugins.shopify.fake_sorting import (
    LOCATION_KEYS,
    ORDER_KEYS,
    PRODUCT_KEYS,
    VARIANT_KEYS,
    SortKey,
    ordered,
)
from shelfsync.plugins.shopify.fake_store import (
    QUANTITY_NAMES,
    AdjustmentGroup,
    Fulfillment,
    InventoryItem,
    Level,
    LineItem,
    Location,
    Order,
    Product,
    ShopStore,
    Subscription,
    Variant,
    gid,
)

TYPE_NAMES: dict[type, str] = {
    ShopStore: "Shop",
    Location: "Location",
    Product: "Product",
    Variant: "ProductVariant",
    InventoryItem: "InventoryItem",
    Level: "InventoryLevel",
    Order: "Order",
    LineItem: "LineItem",
    Subscription: "WebhookSubscription",
    Fulfillment: "Fulfillment",
    AdjustmentGroup: "InventoryAdjustmentGroup",
}


@dataclass
class Context:
    """Per-request context: the shop, and events to turn into webhooks once the request is done."""

    store: ShopStore
    events: list[tuple[str, Any]] = field(default_factory=list)
    # `extensions.search` entries: search terms Shopify would drop with a warning.
    search: list[dict[str, Any]] = field(default_factory=list)


def _levels(item_or_location: Any, info: Any, args: dict[str, Any]) -> Connection:
    if isinstance(item_or_location, InventoryItem):
        levels = list(item_or_location.levels.values())
    else:
        levels = _store(info).levels_by_location[item_or_location.num]
    expr = expression(info, args.get("query"), LEVEL_FIELDS)
    levels = filtered(levels, expr, LEVEL_FIELDS, ("location_id",))
    if isinstance(item_or_location, InventoryItem):
        return paginate(levels, args, num=lambda lv: lv.location.num)
    return paginate(levels, args, num=lambda lv: lv.item.num)


def _quantities(level: Level, names: list[str]) -> list[dict[str, Any]]:
    unknown = [n for n in names if n not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity name(s): {', '.join(unknown)}. "
            f"Valid names: {', '.join(QUANTITY_NAMES)}"
        )
    return [
        {"name": n, "quantity": level.quantity(n), "updatedAt": level.updated_at} for n in names
    ]


def _store(info: Any) -> ShopStore:
    return info.context.store


def _page(
    items: Any, args: dict[str, Any], keys: dict[str, SortKey], default: str = "ID"
) -> Connection:
    """One page of `items` in the order `sortKey` asks for (id order needs no sort)."""
    items, by_num = ordered(items, args.get("sortKey") or default, keys)
    return paginate(items, args, sorted_by_num=by_num)


def _searched(info: Any, items: Any, args: dict[str, Any], fields: Any, default: Any) -> Any:
    return filtered(items, expression(info, args.get("query"), fields), fields, default)


def _locations(info: Any, a: dict[str, Any]) -> Connection:
    shown = [loc for loc in _store(info).locations if loc.active or a.get("includeInactive")]
    return _page(_searched(info, shown, a, LOCATION_FIELDS, ("name",)), a, LOCATION_KEYS, "NAME")


def _subscriptions(info: Any, a: dict[str, Any]) -> Connection:
    subscriptions = [
        s
        for s in _store(info).subscriptions
        if (not a.get("topics") or s.topic in a["topics"])
        and (a.get("callbackUrl") is None or s.callback_url == a["callbackUrl"])
        and (a.get("format") is None or s.format == a["format"])
    ]
    return paginate(_searched(info, subscriptions, a, WEBHOOK_FIELDS, ("id",)), a)


QUERY_ROOT: dict[str, Callable[..., Any]] = {
    "shop": lambda _, info: _store(info),
    "location": lambda _, info, id=None: (
        lookup(_store(info), id, "Location") if id else _store(info).locations[0]
    ),
    "locations": lambda _, info, **a: _locations(info, a),
    "product": lambda _, info, id: lookup(_store(info), id, "Product"),
    "products": lambda _, info, **a: _page(
        _searched(info, _store(info).products, a, PRODUCT_FIELDS, ("title",)), a, PRODUCT_KEYS
    ),
    "productVariant": lambda _, info, id: lookup(_store(info), id, "ProductVariant"),
    "productVariants": lambda _, info, **a: _page(
        variants_matching(_store(info), expression(info, a.get("query"), VARIANT_FIELDS)),
        a,
        VARIANT_KEYS,
    ),
    "inventoryItem": lambda _, info, id: lookup(_store(info), id, "InventoryItem"),
    "inventoryItems": lambda _, info, **a: paginate(
        _searched(info, _store(info).items, a, ITEM_FIELDS, ("sku",)), a
    ),
    "inventoryLevel": lambda _, info, id: lookup(_store(info), id, "InventoryLevel"),
    "order": lambda _, info, id: lookup(_store(info), id, "Order"),
    "orders": lambda _, info, **a: _page(
        orders_matching(_store(info).orders, expression(info, a.get("query"), ORDER_FIELDS)),
        a,
        ORDER_KEYS,
        "PROCESSED_AT",
    ),
    "webhookSubscription": lambda _, info, id: lookup(_store(info), id, "WebhookSubscription"),
    "webhookSubscriptions": lambda _, info, **a: _subscriptions(info, a),
    "node": lambda _, info, id: lookup(_store(info), id),
    "nodes": lambda _, info, ids: _nodes(_store(info), ids),
}


def _nodes(store: ShopStore, ids: list[str]) -> list[Any]:
    if len(ids) > 250:
        raise GraphQLError(
            f"The input array size of {len(ids)} is greater than the maximum allowed of 250."
        )
    return [lookup(store, i) for i in ids]


def decimal_text(amount: str) -> str:
    """A `Decimal` as Shopify prints MoneyV2.amount: no trailing zeros, one decimal at least
    ("13.5", "12.0", "12.77": live orderCreate answers, airhorns/shopify-draft-proxy
    money-bag-presentment-parity)."""
    text = f"{Decimal(amount):f}"
    if "." in text:
        text = text.rstrip("0")
    return text + "0" if text.endswith(".") else (text if "." in text else text + ".0")


def _money(amount: str, currency: str) -> dict[str, Any]:
    money = {"amount": decimal_text(amount), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": money}


TYPE_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Shop": {
        "id": lambda s, _: gid("Shop", 1),
        "name": lambda s, _: s.shop.split(".")[0].replace("-", " ").title(),
        "currencyCode": lambda s, _: s.currency,
        "myshopifyDomain": lambda s, _: s.shop,
    },
    "Location": {
        "id": lambda loc, _: gid("Location", loc.num),
        "legacyResourceId": lambda loc, _: str(loc.num),
        "isActive": lambda loc, _: loc.active,
        "fulfillsOnlineOrders": lambda loc, _: loc.fulfills_online_orders,
        "hasActiveInventory": lambda loc, _: loc.active,
        "address": lambda loc, _: {
            "address1": f"{100 + loc.num % 900} Queen St",
            "city": loc.city,
            "countryCode": "CA",
            "zip": "M5V 2T6",
            "formatted": [f"{100 + loc.num % 900} Queen St", f"{loc.city} ON M5V 2T6", "Canada"],
        },
        "inventoryLevel": lambda loc, info, inventoryItemId: (
            item.levels.get(loc.num)
            if (item := lookup(_store(info), inventoryItemId, "InventoryItem"))
            else None
        ),
        "inventoryLevels": lambda loc, info, **a: _levels(loc, info, a),
    },
    "Product": {
        "id": lambda p, _: gid("Product", p.num),
        "legacyResourceId": lambda p, _: str(p.num),
        "totalInventory": lambda p, _: sum(_sellable(v) for v in p.variants),
        "tracksInventory": lambda p, _: any(v.item.tracked for v in p.variants),
        "createdAt": lambda p, _: "2025-01-01T00:00:00Z",
        "updatedAt": lambda p, _: p.updated_at,
        "variants": lambda p, _, **a: _page(p.variants, a, VARIANT_KEYS, "POSITION"),
    },
    "ProductVariant": {
        "id": lambda v, _: gid("ProductVariant", v.num),
        "legacyResourceId": lambda v, _: str(v.num),
        "barcode": lambda v, _: None,
        "displayName": lambda v, _: f"{v.product.title} - {v.title}",
        "inventoryPolicy": lambda v, _: v.policy,
        "inventoryQuantity": lambda v, _: _sellable(v),
        "selectedOptions": lambda v, _: [{"name": "Option", "value": v.title}],
        "createdAt": lambda v, _: "2025-01-01T00:00:00Z",
        "updatedAt": lambda v, _: v.updated_at,
        "inventoryItem": lambda v, _: v.item,
    },
    "InventoryItem": {
        "id": lambda i, _: gid("InventoryItem", i.num),
        "legacyResourceId": lambda i, _: str(i.num),
        "sku": lambda i, _: i.variant.sku,
        "requiresShipping": lambda i, _: True,
        "createdAt": lambda i, _: "2025-01-01T00:00:00Z",
        "updatedAt": lambda i, _: i.updated_at,
        "inventoryLevel": lambda i, info, locationId: (
            i.levels.get(loc.num) if (loc := lookup(_store(info), locationId, "Location")) else None
        ),
        "inventoryLevels": lambda i, info, **a: _levels(i, info, a),
    },
    "InventoryLevel": {
        "id": lambda lv, _: level_gid(lv),
        "updatedAt": lambda lv, _: lv.updated_at,
        "quantities": lambda lv, _, names: _quantities(lv, names),
    },
    "Order": {
        "id": lambda o, _: gid("Order", o.num),
        "legacyResourceId": lambda o, _: str(o.num),
        "customAttributes": lambda o, _: [{"key": k, "value": v} for k, v in o.custom_attributes],
        "sourceIdentifier": lambda o, _: o.source_identifier,
        "sourceName": lambda o, _: o.source_name,
        "currencyCode": lambda o, _: o.currency,
        "displayFinancialStatus": lambda o, _: o.financial_status,
        "displayFulfillmentStatus": lambda o, _: "FULFILLED" if o.fulfillments else "UNFULFILLED",
        "fulfillments": lambda o, _, first=None: o.fulfillments[:first],
        "totalPriceSet": lambda o, _: _money(o.total(), o.currency),
        "shippingAddress": lambda o, _: o.shipping_address,
        "cancelledAt": lambda o, _: None,
        "createdAt": lambda o, _: o.created_at,
        "processedAt": lambda o, _: o.processed_at,
        "updatedAt": lambda o, _: o.updated_at or o.created_at,
        "lineItems": lambda o, _, **a: paginate(o.line_items, a),
    },
    "LineItem": {
        "id": lambda li, _: gid("LineItem", li.num),
        "name": lambda li, _: f"{li.title} - {li.variant_title}" if li.variant_title else li.title,
        "variantTitle": lambda li, _: li.variant_title,
        "product": lambda li, _: li.variant.product if li.variant else None,
        "originalUnitPriceSet": lambda li, _: _money(li.price, li.currency),
    },
    "WebhookSubscription": {
        "id": lambda s, _: gid("WebhookSubscription", s.num),
        "legacyResourceId": lambda s, _: str(s.num),
        "callbackUrl": lambda s, _: s.callback_url,
        "endpoint": lambda s, _: {"callbackUrl": s.callback_url},
        "includeFields": lambda s, _: s.include_fields,
        "createdAt": lambda s, _: s.created_at,
        "updatedAt": lambda s, _: s.created_at,
    },
    "Fulfillment": {
        "id": lambda f, _: gid("Fulfillment", f.num),
        "createdAt": lambda f, _: f.created_at,
        "updatedAt": lambda f, _: f.created_at,
        "trackingInfo": lambda f, _, first=None: [
            {"company": c, "number": n, "url": u} for c, n, u in f.tracking[:first]
        ],
    },
    "InventoryAdjustmentGroup": {
        "id": lambda g, _: gid("InventoryAdjustmentGroup", g.num),
        "createdAt": lambda g, _: g.created_at,
        "referenceDocumentUri": lambda g, _: g.reference_document_uri,
        "changes": lambda g, _, **a: _changes(g, a),
    },
}


def level_gid(level: Level) -> str:
    """Shopify's InventoryLevel global id (location id plus an inventory_item_id parameter)."""
    return f"gid://shopify/InventoryLevel/{level.location.num}?inventory_item_id={level.item.num}"


def _sellable(variant: Variant) -> int:
    """`inventoryQuantity`: available summed over active locations."""
    return sum(
        lv.quantities["available"] for lv in variant.item.levels.values() if lv.location.active
    )


def _changes(group: AdjustmentGroup, args: dict[str, Any]) -> list[dict[str, Any]]:
    wanted_items = set(args.get("inventoryItemIds") or [])
    wanted_locations = set(args.get("locationIds") or [])
    wanted_names = set(args.get("quantityNames") or [])
    return [
        c
        for c in group.changes
        if (not wanted_items or gid("InventoryItem", c["item"].num) in wanted_items)
        and (not wanted_locations or gid("Location", c["location"].num) in wanted_locations)
        and (not wanted_names or c["name"] in wanted_names)
    ]


def build_fake_schema(mutations: dict[str, Callable[..., Any]]) -> GraphQLSchema:
    """The SDL subset with every resolver attached."""
    source = files("shelfsync.plugins.shopify").joinpath("fake_schema.graphql").read_text("utf-8")
    schema = build_schema(source)
    for name, resolver in QUERY_ROOT.items():
        schema.query_type.fields[name].resolve = resolver  # type: ignore[union-attr]
    for name, resolver in mutations.items():
        schema.mutation_type.fields[name].resolve = resolver  # type: ignore[union-attr]
    for type_name, resolvers in TYPE_RESOLVERS.items():
        fields = schema.get_type(type_name).fields  # type: ignore[union-attr]
        for name, resolver in resolvers.items():
            fields[name].resolve = resolver
    for interface in ("Node", "LegacyInteroperability"):
        schema.get_type(interface).resolve_type = (  # type: ignore[union-attr]
            lambda obj, *_: TYPE_NAMES.get(type(obj))
        )
    schema.get_type("DisplayableError").resolve_type = (  # type: ignore[union-attr]
        lambda obj, *_: obj.get("__typename", "UserError")
    )
    schema.get_type("WebhookSubscriptionEndpoint").resolve_type = (  # type: ignore[union-attr]
        lambda *_: "WebhookHttpEndpoint"
    )
    return schema
