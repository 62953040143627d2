"""The fake's entities as Magento's REST layer writes them (field names of the 2.4.8 schema).

Stock items carry the *effective* `backorders`, `manage_stock` and `min_qty` (the
`use_config_*` switches applied), as `GET /V1/stockItems/{sku}` and the products list's
`extension_attributes.stock_item` answer them; the switches themselves come along too.
"""

from __future__ import annotations

from typing import Any

from shelfsync.plugins.magento.fake_store import (
    DEFAULT_STOCK_ID,
    MagentoStore,
    Product,
    Source,
    SourceItem,
)


def stock_item(store: MagentoStore, product: Product) -> dict[str, Any]:
    """`cataloginventory-data-stock-item-interface` for a product."""
    backorders, manage, min_qty = store.effective(product)
    stock = product.stock
    return {
        "item_id": product.id, "product_id": product.id, "stock_id": DEFAULT_STOCK_ID,
        "qty": stock.qty, "is_in_stock": stock.is_in_stock, "is_qty_decimal": False,
        "show_default_notification_message": False,
        "use_config_min_qty": stock.use_config_min_qty, "min_qty": min_qty,
        "use_config_min_sale_qty": 1, "min_sale_qty": 1, "use_config_max_sale_qty": True,
        "max_sale_qty": 10000, "use_config_backorders": stock.use_config_backorders,
        "backorders": backorders, "use_config_notify_stock_qty": True, "notify_stock_qty": 1,
        "use_config_qty_increments": True, "qty_increments": 0,
        "use_config_enable_qty_inc": True, "enable_qty_increments": False,
        "use_config_manage_stock": stock.use_config_manage_stock, "manage_stock": manage,
        "low_stock_date": None, "is_decimal_divided": False, "stock_status_changed_auto": 0,
    }


def product(store: MagentoStore, item: Product) -> dict[str, Any]:
    """`catalog-data-product-interface`, with the stock item and configurable links."""
    extensions: dict[str, Any] = {"website_ids": [1]}
    if item.type_id == "configurable":
        extensions["configurable_product_links"] = list(item.children)
    else:
        extensions["stock_item"] = stock_item(store, item)
    return {
        "id": item.id, "sku": item.sku, "name": item.name, "attribute_set_id": 4,
        "price": item.price, "status": 1, "visibility": item.visibility,
        "type_id": item.type_id, "created_at": item.created_at, "updated_at": item.updated_at,
        "weight": 1, "extension_attributes": extensions, "product_links": [], "options": [],
        "media_gallery_entries": [], "tier_prices": [], "custom_attributes": [],
    }


def product_record(item: Product) -> dict[str, Any]:
    """What a products search filters and sorts on."""
    return {"entity_id": item.id, "sku": item.sku, "name": item.name, "type_id": item.type_id,
            "price": item.price, "status": 1, "visibility": item.visibility,
            "created_at": item.created_at, "updated_at": item.updated_at}


def source(item: Source) -> dict[str, Any]:
    """`inventory-api-data-source-interface`."""
    return {"source_code": item.code, "name": item.name, "enabled": item.enabled,
            "country_id": "US", "postcode": "10001", "use_default_carrier_config": True,
            "carrier_links": []}


def source_item(item: SourceItem) -> dict[str, Any]:
    """`inventory-api-data-source-item-interface`."""
    return {"sku": item.sku, "source_code": item.source_code, "quantity": item.quantity,
            "status": item.status}


def source_item_record(item: SourceItem) -> dict[str, Any]:
    """What a source-items search filters and sorts on."""
    return {"source_item_id": item.id, **source_item(item)}


def stock(store: MagentoStore, stock_id: int) -> dict[str, Any]:
    """`inventory-api-data-stock-interface`, with its sales channel."""
    name, _ = store.stocks[stock_id]
    return {"stock_id": stock_id, "name": name, "extension_attributes": {
        "sales_channels": [{"type": "website", "code": "base"}]}}


def store_config(store: MagentoStore, code: str, store_id: int) -> dict[str, Any]:
    """`store-data-store-config-interface` for one store view."""
    base = "https://magento.example/"
    return {
        "id": store_id, "code": code, "website_id": 1, "locale": "en_US",
        "base_currency_code": store.currency, "default_display_currency_code": store.currency,
        "timezone": "UTC", "weight_unit": "lbs", "base_url": base, "base_link_url": base,
        "base_static_url": f"{base}static/", "base_media_url": f"{base}media/",
        "secure_base_url": base, "secure_base_link_url": base,
        "secure_base_static_url": f"{base}static/", "secure_base_media_url": f"{base}media/",
    }
