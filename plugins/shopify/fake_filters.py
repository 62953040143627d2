"""Search filters (`query:` arguments) of the Shopify fake's connections.

Each resource maps Shopify's documented search field names to values of a record; the
common SKU lookup (`sku:A OR sku:B ...`) goes through the SKU index instead of a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shelfsync.plugins.shopify import fake_search as search
from shelfsync.plugins.shopify.fake_store import Order, ShopStore, Variant

INVALID_FIELD = "Invalid search field for this query."


def expression(info: Any, query: str | None, fields: search.Fields) -> search.Expr | None:
    """The parsed `query:` argument, minus terms on unsupported fields.

    Each dropped field is reported the way Shopify reports it, in `extensions.search` of the
    response: `{path, query, warnings: [{field, message, code: "invalid_field"}]}` (the shape
    live answers carry; Shopify's `parsed` rendering of the query is not reproduced).
    """
    expr, dropped = search.supported(search.parse(query or ""), fields)
    if dropped:
        info.context.search.append(
            {
                "path": list(info.path.as_list()),
                "query": query,
                "warnings": [
                    {"field": name, "message": INVALID_FIELD, "code": "invalid_field"}
                    for name in dict.fromkeys(dropped)
                ],
            }
        )
    return expr


def filtered(
    items: Sequence[Any], expr: search.Expr | None, fields: search.Fields, default: tuple[str, ...]
) -> Sequence[Any]:
    """The items matching a search expression (all of them for no expression)."""
    expr = _rewritten(expr)
    if expr is None:
        return items
    return [i for i in items if search.matches(expr, i, fields, default)]


def _documented(modeled: search.Fields, names: str) -> search.Fields:
    """A resource's searchable fields: every name Shopify documents for it (2025-04 schema,
    the `query` argument's table), those the fake's shop does not hold having no value (so
    `field:x` matches nothing and `-field:x` everything, as on a shop without that data)."""
    fields: search.Fields = dict.fromkeys(names.split(), lambda _: ())
    unknown = set(modeled) - set(fields)
    assert not unknown, f"not documented by Shopify: {sorted(unknown)}"
    return {**fields, **modeled}


def _sellable(variant: Variant) -> int:
    return sum(
        lv.quantities["available"] for lv in variant.item.levels.values() if lv.location.active
    )


VARIANT_FIELDS = _documented(
    {
        "sku": lambda v: (v.sku,),
        "id": lambda v: (v.num,),
        "product_id": lambda v: (v.product.num,),
        "product_ids": lambda v: (v.product.num,),
        "title": lambda v: (v.title, v.product.title),
        "option1": lambda v: (v.title,),
        "product_status": lambda v: (v.product.status,),
        "inventory_quantity": lambda v: (_sellable(v),),
        "location_id": lambda v: tuple(v.item.levels),
        "gift_card": lambda v: (False,),
        "taxable": lambda v: (True,),
        "updated_at": lambda v: (v.updated_at,),
    },
    "default barcode collection delivery_profile_id exclude_composite"
    " exclude_variants_with_components gift_card id inventory_quantity location_id managed"
    " managed_by option1 option2 option3 product_id product_ids product_publication_status"
    " product_status product_type publishable_status published_status requires_components sku"
    " tag tag_not taxable title updated_at vendor",
)
PRODUCT_FIELDS = _documented(
    {
        "id": lambda p: (p.num,),
        "title": lambda p: (p.title,),
        "handle": lambda p: (p.handle,),
        "status": lambda p: (p.status,),
        "sku": lambda p: tuple(v.sku for v in p.variants),
        "variant_id": lambda p: tuple(v.num for v in p.variants),
        "variant_title": lambda p: tuple(v.title for v in p.variants),
        "price": lambda p: tuple(v.price for v in p.variants),
        "inventory_total": lambda p: (sum(_sellable(v) for v in p.variants),),
        "gift_card": lambda p: (False,),
        "created_at": lambda p: ("2025-01-01T00:00:00Z",),
        "updated_at": lambda p: (p.updated_at,),
    },
    "default barcode bundles category_id collection_id combined_listing_role created_at"
    " delivery_profile_id error_feedback gift_card handle has_only_composites"
    " has_only_default_variant has_variant_with_components id inventory_total is_price_reduced"
    " out_of_stock_somewhere price product_configuration_owner product_publication_status"
    " product_type publication_ids publishable_status published_at published_status sku status"
    " tag tag_not title updated_at variant_id variant_title vendor",
)
ITEM_FIELDS = _documented(
    {
        "id": lambda i: (i.num,),
        "sku": lambda i: (i.variant.sku,),
        "created_at": lambda i: ("2025-01-01T00:00:00Z",),
        "updated_at": lambda i: (i.updated_at,),
    },
    "created_at id sku updated_at",
)
LOCATION_FIELDS = _documented(
    {
        "id": lambda loc: (loc.num,),
        "location_id": lambda loc: (loc.num,),
        "name": lambda loc: (loc.name,),
        "active": lambda loc: (loc.active,),
        "city": lambda loc: (loc.city,),
        "country": lambda loc: ("CA", "Canada"),
        "legacy": lambda loc: (False,),
    },
    "default active address1 address2 city country created_at geolocated id legacy location_id"
    " name pickup_in_store province zip",
)
ORDER_FIELDS = _documented(
    {
        "id": lambda o: (o.num,),
        "name": lambda o: (o.name, str(o.number)),
        "tag": lambda o: tuple(o.tags),
        "email": lambda o: (o.email,),
        "source_identifier": lambda o: (o.source_identifier,),
        "source_name": lambda o: (o.source_name,),
        "financial_status": lambda o: (o.financial_status,),
        "fulfillment_status": lambda o: (
            ("shipped", "fulfilled") if o.fulfillments else ("unshipped", "unfulfilled")
        ),
        "status": lambda o: ("open",),
        "sku": lambda o: tuple(li.sku for li in o.line_items),
        "test": lambda o: (o.test,),
        "created_at": lambda o: (o.created_at,),
        "updated_at": lambda o: (o.updated_at or o.created_at,),
        "processed_at": lambda o: (o.processed_at,),
    },
    "default cart_token channel channel_id chargeback_status checkout_token confirmation_number"
    " created_at credit_card_last4 customer_id delivery_method discount_code email"
    " financial_status fraud_protection_level fulfillment_location_id fulfillment_status gateway"
    " id location_id name payment_id payment_provider_id po_number processed_at"
    " reference_location_id return_status risk_level sales_channel sku source_identifier"
    " source_name status subtotal_line_items_quantity tag tag_not test updated_at",
)
WEBHOOK_FIELDS = _documented(
    {
        "id": lambda s: (s.num,),
        "created_at": lambda s: (s.created_at,),
        "updated_at": lambda s: (s.created_at,),
    },
    "created_at id updated_at",
)
# `InventoryItem.inventoryLevels` / `Location.inventoryLevels`: Shopify documents no
# `location_id` here (a level's numeric id is its location's in this fake).
LEVEL_FIELDS = _documented(
    {
        "id": lambda lv: (lv.location.num,),
        "inventory_item_id": lambda lv: (lv.item.num,),
        "created_at": lambda lv: ("2025-01-01T00:00:00Z",),
        "updated_at": lambda lv: (lv.updated_at,),
    },
    "created_at id inventory_group_id inventory_item_id updated_at",
)


def _rewritten(expr: search.Expr | None) -> search.Expr | None:
    """Shopify's composite filters in plain terms: `tag_not:x` is `NOT tag:x`, and
    `product_ids:1,2` is `product_ids:1 OR product_ids:2`."""
    if expr is None:
        return None
    if isinstance(expr, search.Node):
        return search.Node(expr.kind, tuple(_rewritten(c) for c in expr.children))  # type: ignore[misc]
    if expr.field == "tag_not":
        return search.Node("NOT", (search.Term("tag", expr.op, expr.value, expr.prefix),))
    if expr.field == "product_ids" and "," in expr.value:
        parts = [v.strip() for v in expr.value.split(",") if v.strip()]
        return search.Node("OR", tuple(search.Term("product_ids", ":", v) for v in parts))
    return expr


def variants_matching(store: ShopStore, expr: search.Expr | None) -> Sequence[Variant]:
    """Variants matching a `productVariants(query:)` filter."""
    skus = search.equality_values(expr, "sku")
    if skus is not None:  # the common "sku:A OR sku:B" lookup goes through the SKU index
        found = {store.by_sku_lower.get(s.lower()) for s in skus}
        return sorted((v for v in found if v is not None), key=lambda v: v.num)
    return filtered(store.variants, expr, VARIANT_FIELDS, ("title", "sku"))


def orders_matching(orders: Sequence[Order], expr: search.Expr | None) -> Sequence[Order]:
    """Orders matching an `orders(query:)` filter."""
    return filtered(orders, expr, ORDER_FIELDS, ("name", "email", "tag"))
