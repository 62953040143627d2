"""Which body fields WooCommerce writes, per resource; the rest it drops without a word.

WordPress builds an endpoint's arguments from the writable part of its schema and ignores
any other key of a JSON body; WooCommerce's controllers then read only the keys they know
(`prepare_object_for_database`, `prepare_line_items`). A client sending `price` on a line item
or `total` on an order gets a 201 and an order without what it meant. The fake answers the
same way and records every dropped field (`GET /_fake/dropped`), so a test can fail on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PRODUCT = frozenset({
    "name", "slug", "type", "status", "featured", "catalog_visibility", "description",
    "short_description", "sku", "regular_price", "sale_price", "date_on_sale_from",
    "date_on_sale_to", "virtual", "downloadable", "tax_status", "tax_class", "manage_stock",
    "stock_quantity", "stock_status", "backorders", "low_stock_amount", "sold_individually",
    "weight", "dimensions", "shipping_class", "reviews_allowed", "parent_id", "categories",
    "tags", "images", "attributes", "default_attributes", "menu_order", "meta_data",
    "inventory_delta",
})
VARIATION = frozenset({
    "description", "sku", "regular_price", "sale_price", "date_on_sale_from",
    "date_on_sale_to", "status", "virtual", "downloadable", "tax_status", "tax_class",
    "manage_stock", "stock_quantity", "stock_status", "backorders", "low_stock_amount",
    "weight", "dimensions", "shipping_class", "image", "attributes", "menu_order", "meta_data",
    "inventory_delta",
})
ORDER = frozenset({
    "parent_id", "status", "currency", "customer_id", "customer_note", "billing", "shipping",
    "payment_method", "payment_method_title", "transaction_id", "meta_data", "line_items",
    "shipping_lines", "fee_lines", "coupon_lines", "set_paid",
})
LINE_ITEM = frozenset({"id", "name", "product_id", "variation_id", "quantity", "tax_class",
                       "subtotal", "total", "meta_data", "sku"})
SHIPPING_LINE = frozenset({"id", "method_title", "method_id", "instance_id", "total",
                           "meta_data"})
FEE_LINE = frozenset({"id", "name", "tax_class", "tax_status", "total", "meta_data"})
META = frozenset({"id", "key", "value"})
ADDRESS = frozenset({"first_name", "last_name", "company", "address_1", "address_2", "city",
                     "state", "postcode", "country", "email", "phone"})
SHIPPING_ADDRESS = ADDRESS - {"email", "phone"}
WEBHOOK = frozenset({"name", "status", "topic", "secret", "delivery_url"})
ORDER_NOTE = frozenset({"note", "customer_note", "added_by_user"})
SETTING = frozenset({"value"})
#: Keys every request may carry besides a resource's fields: the id in a batch update, and
#: the arguments of the route itself.
ROUTE_ARGS = frozenset({"id", "force", "product_id", "order_id", "context"})


def dropped(body: Mapping[str, Any], allowed: frozenset[str], where: str = "") -> list[str]:
    """The dotted names of the keys of `body` WooCommerce would not write."""
    return [f"{where}{key}" for key in body if key not in allowed and key not in ROUTE_ARGS]


def dropped_in_order(body: Mapping[str, Any]) -> list[str]:
    """Dropped keys of an order body, nested lines and meta included."""
    found = dropped(body, ORDER)
    nested = (("line_items", LINE_ITEM), ("shipping_lines", SHIPPING_LINE),
              ("fee_lines", FEE_LINE), ("meta_data", META))
    for name, allowed in nested:
        for index, line in enumerate(body.get(name) or []):
            if isinstance(line, Mapping):
                found += dropped(line, allowed, f"{name}[{index}].")
                for m_index, meta in enumerate(line.get("meta_data") or []):
                    if isinstance(meta, Mapping) and name != "meta_data":
                        found += dropped(meta, META, f"{name}[{index}].meta_data[{m_index}].")
    for name, allowed in (("billing", ADDRESS), ("shipping", SHIPPING_ADDRESS)):
        if isinstance(body.get(name), Mapping):
            found += dropped(body[name], allowed, f"{name}.")
    return found
