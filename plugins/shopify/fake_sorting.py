"""`sortKey` of the Shopify fake's connections: Shopify's enum values and their default orders.

Every connection that takes `sortKey` in the real 2025-04 schema takes it here, with the same
default (`products`/`productVariants`: ID, `Product.variants`: POSITION, `locations`: NAME,
`orders`: PROCESSED_AT, `webhookSubscriptions`: CREATED_AT). Ties are broken by id, so pages
are stable. Keys whose attribute the fake's shop does not hold (vendor, product type,
popularity, relevance without a search score...) order by id, which is what Shopify falls
back to when every value is equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from shelfsync.plugins.shopify.fake_store import Variant

SortKey = Callable[[Any], Any]


def _sellable(variant: Variant) -> int:
    return sum(
        lv.quantities["available"] for lv in variant.item.levels.values() if lv.location.active
    )


PRODUCT_KEYS: dict[str, SortKey] = {
    "TITLE": lambda p: p.title.lower(),
    "UPDATED_AT": lambda p: p.updated_at,
    "INVENTORY_TOTAL": lambda p: sum(_sellable(v) for v in p.variants),
}
VARIANT_KEYS: dict[str, SortKey] = {
    "SKU": lambda v: (v.sku or "").lower(),
    "TITLE": lambda v: v.title.lower(),
    "FULL_TITLE": lambda v: f"{v.product.title} - {v.title}".lower(),
    "NAME": lambda v: f"{v.product.title} - {v.title}".lower(),
    "POSITION": lambda v: (v.product.num, v.position),
    "INVENTORY_QUANTITY": _sellable,
    "INVENTORY_LEVELS_AVAILABLE": _sellable,
    "INVENTORY_POLICY": lambda v: v.policy,
    "INVENTORY_MANAGEMENT": lambda v: v.item.tracked,
}
LOCATION_KEYS: dict[str, SortKey] = {
    "NAME": lambda loc: loc.name.lower(),
}
ORDER_KEYS: dict[str, SortKey] = {
    "PROCESSED_AT": lambda o: o.processed_at,
    "CREATED_AT": lambda o: o.created_at,
    "UPDATED_AT": lambda o: o.updated_at or o.created_at,
    "ORDER_NUMBER": lambda o: o.number,
    "TOTAL_PRICE": lambda o: float(o.total()),
    "FINANCIAL_STATUS": lambda o: o.financial_status,
    "FULFILLMENT_STATUS": lambda o: bool(o.fulfillments),
    "TOTAL_ITEMS_QUANTITY": lambda o: sum(li.quantity for li in o.line_items),
    "CUSTOMER_NAME": lambda o: ((o.shipping_address or {}).get("name") or "").lower(),
}


def ordered(
    items: Sequence[Any], sort_key: str | None, keys: dict[str, SortKey]
) -> tuple[Sequence[Any], bool]:
    """`items` (kept in id order) in `sort_key`'s order; and whether that is id order."""
    key = keys.get(sort_key or "ID")
    if key is None:
        return items, True
    return sorted(items, key=lambda item: (key(item), item.num)), False
