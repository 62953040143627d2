"""Store orders for TikTok orders: created once (also when the answer is lost), with only
fields WooCommerce keeps, read back, and cancelled once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shelfsync.core.errors import BadRequest, NotFound, TransientError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import (
    Address,
    ChannelOrder,
    Money,
    OrderLine,
    StoreOrderRef,
    StoreOrderStatus,
)
from shelfsync.plugins.woocommerce.fake_store import Product

from .conftest import ManualClock


def _managed_variation(woo: RunningFake) -> Product:
    store = woo.fake.store
    item = next(p for p in store.sellable() if store.manage_stock(p) is True)
    return item


def _order(order_id: str, sku: str, clock: ManualClock, quantity: int = 2) -> ChannelOrder:
    return ChannelOrder(
        id=order_id, status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="L1", sku_id="tt", seller_sku=sku, quantity=quantity,
                         unit_price=Money("12.50", "USD")),),
        total=Money("30.00", "USD"), shipping_fee=Money("5.00", "USD"),
        discount=Money("1.00", "USD"),
        recipient=Address(name="Ada Lovelace", phone="+1 555", lines=("1 Main St", "Apt 2"),
                          city="Toronto", region="ON", postal_code="M5V 1A1",
                          country_code="CA"),
        buyer_email="ada@example.com", created_at=clock.now - timedelta(minutes=3),
        shop_id="7001", shop_name="Ada's TikTok shop",
    )


def _held(woo: RunningFake, order_id: str) -> int:
    return woo.fake.truth().orders.get(order_id, 0)


def test_created_once_with_only_fields_woocommerce_keeps(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    item = _managed_variation(woo)
    before = woo.fake.store.stock_quantity(item)
    order = _order("576001", item.sku, clock)
    ref = plugin_manager.call(woo.connection, "shelfsync_create_order", order=order)
    assert isinstance(ref, StoreOrderRef) and ref.created and ref.name == f"#{ref.id}"
    # Nothing the plugin sent was silently dropped (a read-only `price`, a `total` …).
    assert woo.control("GET", "dropped") == []
    stored = woo.fake.store.orders[int(ref.id)]
    assert stored.status == "processing" and stored.date_paid is not None
    assert [(line.sku, line.quantity, line.total) for line in stored.lines] == \
        [(item.sku, 2, "25.00")]
    assert {m["key"]: m["value"] for m in stored.meta} == {"tiktok_order_id": "576001",
                                                          "tiktok_shop_id": "7001"}
    assert stored.shipping["city"] == "Toronto" and stored.billing["email"] == "ada@example.com"
    assert stored.shipping_lines[0]["total"] == "5.00"
    assert stored.fee_lines[0]["total"] == "-1.00"
    assert woo.fake.store.stock_quantity(item) == before - 2  # WooCommerce took the units
    clock.advance(30)
    again = plugin_manager.call(woo.connection, "shelfsync_create_order", order=order)
    assert again == StoreOrderRef(id=ref.id, name=ref.name, created=False)
    assert _held(woo, "576001") == 1


def test_a_lost_answer_never_makes_a_second_order(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    item = _managed_variation(woo)
    woo.inject_fault("lost", count=1, path="/orders")
    ref = plugin_manager.call(woo.connection, "shelfsync_create_order",
                              order=_order("576002", item.sku, clock))
    assert woo.pending_faults() == 0
    assert not ref.created  # found by its meta data after the lost answer
    assert _held(woo, "576002") == 1


def test_a_lost_answer_outliving_the_retries_still_leaves_one_order(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    item = _managed_variation(woo)
    order = _order("576003", item.sku, clock)
    woo.inject_fault("lost", count=1, path="/orders")
    woo.inject_fault("502", count=50, path="/orders", after=1)  # the look-ups after it
    with pytest.raises(TransientError):
        plugin_manager.call(woo.connection, "shelfsync_create_order", order=order)
    woo.clear_faults()
    ref = plugin_manager.call(woo.connection, "shelfsync_create_order", order=order)
    assert not ref.created and _held(woo, "576003") == 1


def test_look_up_pages_orders_from_before_the_tiktok_order(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    item = _managed_variation(woo)
    for _ in range(150):  # other orders in the window make the look-up page
        woo.control("POST", "orders", {"items": [{"sku": item.sku, "quantity": 1}],
                                       "webhooks": False})
    order = _order("576004", item.sku, clock, quantity=1)
    plugin_manager.call(woo.connection, "shelfsync_create_order", order=order)
    woo.fake.exchanges.clear()
    again = plugin_manager.call(woo.connection, "shelfsync_create_order", order=order)
    assert not again.created
    lookups = [dict(x["query"]) for x in woo.fake.exchanges if x["path"].endswith("/orders")]
    assert [q["page"] for q in lookups] == ["1", "2"]
    assert {q["after"] for q in lookups} == {"2026-12-03T07:57:00"}  # an hour before placing
    assert {q["dates_are_gmt"] for q in lookups} == {"true"}


def test_unknown_sku_is_not_found(woo: RunningFake, plugin_manager: ShelfsyncPluginManager,
                                  clock: ManualClock) -> None:
    with pytest.raises(NotFound):
        plugin_manager.call(woo.connection, "shelfsync_create_order",
                            order=_order("576005", "NO-SUCH-SKU", clock))
    assert _held(woo, "576005") == 0


def test_status_and_cancel_once(woo: RunningFake, plugin_manager: ShelfsyncPluginManager,
                                clock: ManualClock) -> None:
    item = _managed_variation(woo)
    before = woo.fake.store.stock_quantity(item)
    ref = plugin_manager.call(woo.connection, "shelfsync_create_order",
                              order=_order("576006", item.sku, clock))
    status = plugin_manager.call(woo.connection, "shelfsync_fetch_order_status", order_ref=ref)
    assert status == StoreOrderStatus(id=ref.id)
    cancelled = plugin_manager.call(woo.connection, "shelfsync_cancel_store_order",
                                    order_ref=ref, reason="buyer cancelled", restock=True)
    assert cancelled.cancelled and woo.fake.store.stock_quantity(item) == before
    again = plugin_manager.call(woo.connection, "shelfsync_cancel_store_order", order_ref=ref,
                                reason="buyer cancelled", restock=True)
    assert again.cancelled and woo.fake.store.stock_quantity(item) == before
    stored = woo.fake.store.orders[int(ref.id)]
    assert [m["value"] for m in stored.meta if m["key"] == "tiktok_cancel_reason"] == \
        ["buyer cancelled"]
    assert woo.control("GET", "dropped") == []


def test_a_completed_order_is_not_cancelled(woo: RunningFake,
                                            plugin_manager: ShelfsyncPluginManager,
                                            clock: ManualClock) -> None:
    item = _managed_variation(woo)
    ref = plugin_manager.call(woo.connection, "shelfsync_create_order",
                              order=_order("576007", item.sku, clock))
    stored = woo.fake.store.orders[int(ref.id)]
    stored.status = "completed"
    stored.meta.append({"id": 999, "key": "_wc_shipment_tracking_items",
                        "value": [{"tracking_provider": "ups", "tracking_number": "1Z9"}]})
    status = plugin_manager.call(woo.connection, "shelfsync_fetch_order_status", order_ref=ref)
    assert (status.fulfilled, status.tracking_number, status.carrier) == (True, "1Z9", "ups")
    with pytest.raises(BadRequest):
        plugin_manager.call(woo.connection, "shelfsync_cancel_store_order", order_ref=ref,
                            reason="late", restock=True)
    assert stored.status == "completed"


def test_unknown_order_is_not_found(woo: RunningFake,
                                    plugin_manager: ShelfsyncPluginManager) -> None:
    with pytest.raises(NotFound):
        plugin_manager.call(woo.connection, "shelfsync_fetch_order_status",
                            order_ref=StoreOrderRef(id="999999"))
