"""TikTok JSON → core types: malformed answers are BadResponse errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from shelfsync.core.errors import BadResponse
from shelfsync.core.types import InventoryUpdate
from shelfsync.plugins.tiktok import mapping


def product(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "1729", "title": "Tee", "status": "ACTIVATE",
        "skus": [{"id": "1730", "seller_sku": "SKU-1",
                  "inventory": [{"warehouse_id": "W1", "quantity": 4}]}],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"products": [product(id=None)]}, "data.products[0].id is missing"),
        ({"products": [product(skus=[{"seller_sku": "X"}])]}, "data.products[0].skus[0].id"),
        ({"products": [product(skus=[{"id": "1", "inventory": [{"quantity": "4"}]}])]},
         "data.products[0].skus[0].inventory[0].quantity is not an integer"),
        ({"products": "nope"}, "data.products is not a list"),
        ({"products": [product(skus=[{"id": True}])]}, "data.products[0].skus[0].id"),
    ],
)
def test_malformed_listings_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(BadResponse, match=field.replace("[", r"\[").replace("]", r"\]")) as raised:
        mapping.parse_listings(data, "REQ-1")
    assert raised.value.request_id == "REQ-1"


def test_listings_keep_quantities_per_warehouse() -> None:
    (listing,) = mapping.parse_listings({"products": [product()]})
    assert (listing.product_id, listing.sku_id, listing.seller_sku) == ("1729", "1730", "SKU-1")
    assert dict(listing.quantities) == {"W1": 4}


def test_malformed_orders_name_the_field() -> None:
    order = {"id": "5", "status": "AWAITING_SHIPMENT", "line_items": [{"id": "L1"}]}
    with pytest.raises(BadResponse, match=r"data\.orders\[0\]\.line_items\[0\]\.sku_id"):
        mapping.parse_orders({"orders": [order]})
    with pytest.raises(BadResponse, match=r"data\.orders\[0\]\.status is missing"):
        mapping.parse_orders({"orders": [{"id": "5", "line_items": []}]})


def test_line_items_of_one_sku_are_counted_into_one_line() -> None:
    items = [
        {"id": "L1", "sku_id": "S1", "seller_sku": "A", "sale_price": "5.00"},
        {"id": "L2", "sku_id": "S2", "seller_sku": "B", "sale_price": "7.00"},
        {"id": "L3", "sku_id": "S1", "seller_sku": "A", "sale_price": "5.00"},
        {"id": "L4", "sku_id": "S1", "seller_sku": "A", "sale_price": "4.00"},  # discounted
    ]
    orders, cursor = mapping.parse_orders({"orders": [{
        "id": "5", "status": "AWAITING_SHIPMENT", "line_items": items,
        "payment": {"currency": "GBP", "total_amount": "21.00"}}], "next_page_token": ""})
    assert cursor is None
    lines = orders[0].lines
    assert [(x.line_id, x.sku_id, x.quantity) for x in lines] == [
        ("L1", "S1", 2), ("L2", "S2", 1), ("L4", "S1", 1)
    ]
    assert lines[0].unit_price and lines[0].unit_price.currency == "GBP"
    assert orders[0].total and orders[0].total.amount == "21.00"


def test_inventory_errors_by_sku_and_warehouse() -> None:
    data = {"errors": [
        {"code": 12052901, "message": "not live", "detail": {"sku_id": "S1"}},
        {"code": 12052990, "message": "check failed", "detail": {
            "sku_id": "S2", "extra_errors": [
                {"warehouse_id": "W2", "code": 12052055, "message": "out of range"}]}},
    ]}
    assert mapping.parse_inventory_errors(data) == {
        ("S1", None): ("12052901", "not live"),
        ("S2", "W2"): ("12052055", "out of range"),
    }
    with pytest.raises(BadResponse, match="detail"):
        mapping.parse_inventory_errors({"errors": [{"code": 1, "message": "?"}]})


def test_inventory_body_groups_warehouses_per_sku() -> None:
    body = mapping.inventory_body([
        InventoryUpdate("P", "S1", 3, "W1"),
        InventoryUpdate("P", "S1", 4, "W2"),
        InventoryUpdate("P", "S2", 0),
    ])
    assert body == {"skus": [
        {"id": "S1", "inventory": [{"warehouse_id": "W1", "quantity": 3},
                                   {"warehouse_id": "W2", "quantity": 4}]},
        {"id": "S2", "inventory": [{"quantity": 0}]},
    ]}


def test_warehouses_skip_return_ones_and_flag_disabled() -> None:
    locations = mapping.parse_warehouses({"warehouses": [
        {"id": "W1", "name": "Main", "type": "SALES_WAREHOUSE", "effect_status": "ENABLED",
         "is_default": True},
        {"id": "W2", "name": "Old", "type": "SALES_WAREHOUSE", "effect_status": "DISABLED"},
        {"id": "W3", "name": "Returns", "type": "RETURN_WAREHOUSE", "effect_status": "ENABLED"},
    ]})
    assert [(x.id, x.active, x.is_default) for x in locations] == [
        ("W1", True, True), ("W2", False, False)
    ]
    with pytest.raises(BadResponse, match=r"data\.warehouses\[0\]\.is_default"):
        mapping.parse_warehouses({"warehouses": [{"id": "W", "is_default": "yes"}]})


def test_webhook_topics() -> None:
    event = mapping.parse_webhook({"type": 5, "tts_notification_id": "N", "shop_id": "S",
                                   "timestamp": 1, "data": {"product_id": "P"}})
    assert (event.topic, event.shop_id, event.order_id) == ("PRODUCT_STATUS_CHANGE", "S", "")
    assert mapping.parse_webhook({"type": 99, "tts_notification_id": "N",
                                  "shop_id": "S"}).topic == "TYPE_99"


def order(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "5761", "status": "AWAITING_SHIPMENT", "create_time": 1_700_000_000,
        "update_time": 1_700_000_100, "payment": {"currency": "GBP", "total_amount": "12.50"},
        "line_items": [{"id": "L1", "sku_id": "1730", "seller_sku": "SKU-1",
                        "sale_price": "9.51"}],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"update_time": 10**15}, "data.orders[0].update_time is not a Unix time"),
        ({"create_time": -5}, "data.orders[0].create_time is not a Unix time"),
        ({"line_items": [{"id": "L1", "sku_id": "1730", "quantity": -3}]},
         "data.orders[0].line_items[0].quantity is not a unit count: -3"),
        ({"line_items": [{"id": "L1", "sku_id": "1730", "quantity": 0}]},
         "data.orders[0].line_items[0].quantity is not a unit count: 0"),
        ({"line_items": [{"id": "L1", "sku_id": "1730", "quantity": 10**9}]},
         "data.orders[0].line_items[0].quantity is not a unit count"),
        ({"line_items": [{"id": "L1", "sku_id": "1730", "sale_price": "ten"}]},
         "data.orders[0].line_items[0].sale_price is not a decimal amount"),
        ({"payment": {"currency": "GBP", "total_amount": "NaN"}},
         "data.orders[0].payment.total_amount is not a decimal amount"),
    ],
)
def test_absurd_order_values_are_bad_responses(changes: dict[str, Any], field: str) -> None:
    """Negative units or an unreadable price must never reach the store as an order."""
    with pytest.raises(BadResponse, match=field.replace("[", r"\[").replace("]", r"\]")):
        mapping.parse_orders({"orders": [order(**changes)]}, "shop", "REQ-2")


def test_a_sane_order_still_parses() -> None:
    orders, _ = mapping.parse_orders({"orders": [order()]}, "shop")
    assert orders[0].lines[0].quantity == 1 and orders[0].total is not None
    assert orders[0].total.amount == "12.50"
    assert orders[0].updated_at is not None and orders[0].updated_at.year == 2023


def test_webhook_with_an_out_of_range_timestamp_is_a_bad_response() -> None:
    with pytest.raises(BadResponse, match=r"webhook\.timestamp is not a Unix time"):
        mapping.parse_webhook({"type": 1, "tts_notification_id": "1", "shop_id": "7",
                               "timestamp": 10**17, "data": {}})


@pytest.mark.parametrize("data", [{}, {"total_count": 0}, {"products": None}])
def test_a_search_page_without_its_products_list_is_a_bad_answer(data: dict[str, Any]) -> None:
    """Read as "no products", it would delete every listing and link of the shop."""
    with pytest.raises(BadResponse, match="products"):
        mapping.parse_listings(data, "REQ-1")


def test_a_search_page_with_an_empty_products_list_is_an_empty_shop() -> None:
    assert mapping.parse_listings({"products": [], "total_count": 0}) == []
