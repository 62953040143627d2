"""Search filters (`query:` arguments) of the Shopify fake's connections.

Each resource maps Shopify's documented search field names to values of a record; the
common SKU lookup (`sku:A OR sku:B ...`) goes through the SKU index instead of a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError

from shelfsync.plugins.shopify import fake_search as search
from shelfsync.plugins.shopify.fake_store import Order, ShopStore, Variant


def _parse(query: str | None) -> search.Expr | None:
    try:
        return search.parse(query or "")
    except search.SearchSyntaxError as exc:
        raise GraphQLError(str(exc)) from exc


def filtered(
    items: Sequence[Any], query: str | None, fields: search.Fields, default: tuple[str, ...]
) -> Sequence[Any]:
    """The items matching a search query (all of them for no query)."""
    expr = _parse(query)
    if expr is None:
        return items
    return [i for i in items if search.matches(expr, i, fields, default)]


VARIANT_FIELDS: search.Fields = {
    "sku": lambda v: (v.sku,),
    "id": lambda v: (v.num,),
    "product_id": lambda v: (v.product.num,),
    "title": lambda v: (v.title, v.product.title),
    "product_status": lambda v: (v.product.status,),
    "inventory_quantity": lambda v: (v.inventory_quantity(),),
    "updated_at": lambda v: (v.updated_at,),
}
PRODUCT_FIELDS: search.Fields = {
    "id": lambda p: (p.num,),
    "title": lambda p: (p.title,),
    "handle": lambda p: (p.handle,),
    "status": lambda p: (p.status,),
    "sku": lambda p: tuple(v.sku for v in p.variants),
    "variant_id": lambda p: tuple(v.num for v in p.variants),
    "updated_at": lambda p: (p.updated_at,),
}
ITEM_FIELDS: search.Fields = {
    "id": lambda i: (i.num,),
    "sku": lambda i: (i.variant.sku,),
    "updated_at": lambda i: (i.updated_at,),
}
LOCATION_FIELDS: search.Fields = {
    "id": lambda loc: (loc.num,),
    "location_id": lambda loc: (loc.num,),
    "name": lambda loc: (loc.name,),
    "active": lambda loc: (loc.active,),
    "city": lambda loc: (loc.city,),
    "legacy": lambda loc: (False,),
}
ORDER_FIELDS: search.Fields = {
    "id": lambda o: (o.num,),
    "name": lambda o: (o.name, str(o.number)),
    "tag": lambda o: tuple(o.tags),
    "tag_not": lambda o: (),
    "email": lambda o: (o.email,),
    "source_identifier": lambda o: (o.source_identifier,),
    "source_name": lambda o: (o.source_name,),
    "financial_status": lambda o: (o.financial_status,),
    "sku": lambda o: tuple(li.sku for li in o.line_items),
    "test": lambda o: (o.test,),
    "created_at": lambda o: (o.created_at,),
    "updated_at": lambda o: (o.created_at,),
}
LEVEL_FIELDS: search.Fields = {
    "location_id": lambda lv: (lv.location.num,),
    "inventory_item_id": lambda lv: (lv.item.num,),
    "updated_at": lambda lv: (lv.updated_at,),
}


def variants_matching(store: ShopStore, query: str | None) -> Sequence[Variant]:
    """Variants matching a `productVariants(query:)` filter."""
    expr = _parse(query)
    skus = search.equality_values(expr, "sku")
    if skus is not None:  # the common "sku:A OR sku:B" lookup goes through the SKU index
        found = {store.by_sku_lower.get(s.lower()) for s in skus}
        return sorted((v for v in found if v is not None), key=lambda v: v.num)
    if expr is None:
        return store.variants
    return [v for v in store.variants if search.matches(expr, v, VARIANT_FIELDS, ("title", "sku"))]


def orders_matching(orders: Sequence[Order], query: str | None) -> Sequence[Order]:
    """Orders matching an `orders(query:)` filter, `tag_not:` included."""
    expr = _parse(query)
    if expr is None:
        return orders
    return [
        o
        for o in orders
        if search.matches(expr, o, ORDER_FIELDS, ("name", "email", "tag")) and not _tag_not(expr, o)
    ]


def _tag_not(expr: search.Expr, order: Order) -> bool:
    """`tag_not:x` excludes orders tagged x (Shopify's dedicated negative filter)."""
    if isinstance(expr, search.Term):
        return expr.field == "tag_not" and expr.value.lower() in {t.lower() for t in order.tags}
    return expr.kind == "AND" and any(_tag_not(c, order) for c in expr.children)
