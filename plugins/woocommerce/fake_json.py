"""The WooCommerce fake's JSON: objects as `wc/v3` prints them, and its error envelope.

Field names, types and the read-only derived fields (`price`, `stock_status`,
`backorders_allowed`, `backordered`, `purchasable`) follow the controllers' prepare-for-response
code; the reference tests check every answer against the generated OpenAPI description of a
live store's `wc/v3` routes. Prices are strings, as WooCommerce prints them.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.woocommerce.fake_store import Order, Product, Webhook, WooStore, wp_date


def error(code: str, message: str, status: int, **data: Any) -> Response:
    """WordPress's REST error envelope: `{code, message, data: {status}}`."""
    return json_response({"code": code, "message": message, "data": {"status": status, **data}},
                         status)


def _dates(created: Any, modified: Any) -> dict[str, Any]:
    return {"date_created": wp_date(created), "date_created_gmt": wp_date(created),
            "date_modified": wp_date(modified), "date_modified_gmt": wp_date(modified)}


def _stock_fields(store: WooStore, product: Product) -> dict[str, Any]:
    backorders = store.backorders(product)
    status = store.stock_status(product)
    return {
        "manage_stock": store.manage_stock(product),
        "stock_quantity": store.stock_quantity(product),
        "stock_status": status,
        "backorders": backorders,
        "backorders_allowed": backorders != "no",
        "backordered": status == "onbackorder",
        "low_stock_amount": None,
    }


def _meta(meta: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": m["id"], "key": m["key"], "value": m["value"]} for m in meta]


def product(store: WooStore, item: Product, base: str) -> dict[str, Any]:
    """A product (or a variation read through `/products/{id}`) as `/products` prints it."""
    price = item.regular_price
    link = f"{base}/product/{item.id}/"
    body: dict[str, Any] = {
        "id": item.id, "name": item.name, "slug": f"product-{item.id}", "permalink": link,
        **_dates(item.created, item.modified),
        "type": item.type, "status": item.status, "featured": False,
        "catalog_visibility": "visible", "description": "", "short_description": "",
        "sku": item.sku, "price": price, "regular_price": price, "sale_price": "",
        "on_sale": False, "purchasable": price != "" or item.type == "variable",
        "total_sales": 0, "virtual": False, "downloadable": False, "tax_status": "taxable",
        "tax_class": "",
        **_stock_fields(store, item),
        "sold_individually": False, "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": True, "shipping_taxable": True, "shipping_class": "",
        "shipping_class_id": 0, "reviews_allowed": True, "average_rating": "0",
        "rating_count": 0, "parent_id": item.parent_id, "categories": [], "tags": [],
        "images": [], "attributes": _attributes(store, item), "default_attributes": [],
        "variations": list(item.variations), "grouped_products": [], "menu_order": 0,
        "related_ids": [], "meta_data": _meta(item.meta),
    }
    return body


def _attributes(store: WooStore, item: Product) -> list[dict[str, Any]]:
    if item.type != "variable":
        return []
    options = [store.products[v].option for v in item.variations if v in store.products]
    return [{"id": 0, "name": "Option", "position": 0, "visible": True, "variation": True,
             "options": options}]


def variation(store: WooStore, item: Product, base: str) -> dict[str, Any]:
    """A variation as `/products/{id}/variations` prints it."""
    price = item.regular_price
    return {
        "id": item.id, **_dates(item.created, item.modified), "description": "",
        "permalink": f"{base}/product/{item.parent_id}/?attribute_option={item.option}",
        "sku": item.sku, "price": price, "regular_price": price, "sale_price": "",
        "date_on_sale_from": None, "date_on_sale_from_gmt": None, "date_on_sale_to": None,
        "date_on_sale_to_gmt": None, "on_sale": False, "status": item.status,
        "purchasable": price != "", "virtual": False, "downloadable": False, "downloads": [],
        "download_limit": -1, "download_expiry": -1, "tax_status": "taxable",
        "tax_class": "", **_stock_fields(store, item), "weight": "",
        "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "",
        "shipping_class_id": 0, "image": None,
        "attributes": [{"id": 0, "name": "Option", "option": item.option}],
        "menu_order": 0, "meta_data": _meta(item.meta),
    }


def order(item: Order) -> dict[str, Any]:
    """An order as `/orders` prints it (the fields the fake keeps)."""
    total = sum(float(line.total) for line in item.lines)
    shipping = sum(float(s.get("total") or 0) for s in item.shipping_lines)
    fees = sum(float(f.get("total") or 0) for f in item.fee_lines)
    return {
        "id": item.id, "parent_id": 0, "status": item.status, "currency": item.currency,
        "version": "9.4.0", "prices_include_tax": False,
        **_dates(item.created, item.modified),
        "discount_total": "0.00", "discount_tax": "0.00",
        "shipping_total": f"{shipping:.2f}", "shipping_tax": "0.00", "cart_tax": "0.00",
        "total": f"{total + shipping + fees:.2f}", "total_tax": "0.00", "customer_id": 0,
        "order_key": item.order_key, "billing": _address(item.billing, billing=True),
        "shipping": _address(item.shipping, billing=False),
        "payment_method": item.payment_method, "payment_method_title": item.payment_method_title,
        "transaction_id": item.transaction_id, "customer_ip_address": "",
        "customer_user_agent": "", "created_via": item.created_via,
        "customer_note": item.customer_note, "date_completed": None,
        "date_paid": wp_date(item.date_paid), "cart_hash": "", "number": str(item.id),
        "meta_data": _meta(item.meta),
        "line_items": [{
            "id": line.id, "name": line.name, "product_id": line.product_id,
            "variation_id": line.variation_id, "quantity": line.quantity, "tax_class": "",
            "subtotal": line.subtotal, "subtotal_tax": "0.00", "total": line.total,
            "total_tax": "0.00", "taxes": [], "meta_data": _meta(line.meta), "sku": line.sku,
            "price": line.price,
        } for line in item.lines],
        "tax_lines": [], "shipping_lines": [dict(s) for s in item.shipping_lines],
        "fee_lines": [dict(f) for f in item.fee_lines], "coupon_lines": [],
        "refunds": list(item.refunds),
        "date_completed_gmt": None, "date_paid_gmt": wp_date(item.date_paid),
    }


_ADDRESS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state",
            "postcode", "country")


def _address(values: dict[str, str], *, billing: bool) -> dict[str, str]:
    # The shipping address has no phone in the wc/v3 schema of the reference store.
    keys = (*_ADDRESS, "email", "phone") if billing else _ADDRESS
    return {key: str(values.get(key, "")) for key in keys}


def webhook(item: Webhook, *, edit: bool) -> dict[str, Any]:
    """A webhook; its secret is shown in the `edit` context only."""
    resource, _, event = item.topic.partition(".")
    body: dict[str, Any] = {
        "id": item.id, "name": item.name, "status": item.status, "topic": item.topic,
        "resource": resource, "event": event, "hooks": [f"woocommerce_{event}_{resource}"],
        "delivery_url": item.delivery_url, **_dates(item.created, item.modified),
    }
    if edit:
        body["secret"] = item.secret
    return body


def currency_setting(currency: str) -> dict[str, Any]:
    """`/settings/general/woocommerce_currency`."""
    return {"id": "woocommerce_currency", "label": "Currency",
            "description": "This controls what currency prices are listed at in the catalog "
                           "and which currency gateways will take payments in.",
            "type": "select", "default": "USD", "tip": "This controls what currency prices "
            "are listed at in the catalog and which currency gateways will take payments in.",
            "value": currency, "options": {currency: currency}, "group_id": "general"}
