"""Magento orders: placed exactly once through the guest checkout whatever step loses its
answer, refused when out of stock without backorders, read, cancelled once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shelfsync.core.errors import BadRequest, NotFound, TransientError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import Address, ChannelOrder, OrderLine, StoreOrderStatus
from shelfsync.plugins.magento.fake import MagentoFake

from .recording import Recorder, connection, served


@pytest.fixture
def store() -> Iterator[tuple[MagentoFake, str, Recorder]]:
    fake = MagentoFake(products=4, variants=2, sources=2, seed=7)
    with served(fake) as (recorder, base):
        yield fake, base, recorder


def _sku(fake: MagentoFake, minimum: int = 5) -> str:
    for sku, product in sorted(fake.store.products.items()):
        backorders, manage, _ = fake.store.effective(product)
        if product.type_id == "simple" and manage and backorders == 0 \
                and fake.store.salable_qty(sku, 1) >= minimum:
            return sku
    raise AssertionError("no sellable SKU in the seed")


def _order(order_id: str, sku: str, quantity: int = 2) -> ChannelOrder:
    return ChannelOrder(
        id=order_id, status="AWAITING_SHIPMENT", shop_name="Shop One",
        lines=(OrderLine(line_id="1", sku_id="tt", seller_sku=sku, quantity=quantity),),
        recipient=Address(name="Ada Lovelace", phone="+1 555 0100", lines=("1 Main St",),
                          city="Austin", region="TX", postal_code="78701", country_code="US"))


def _held(fake: MagentoFake, order_id: str) -> int:
    return (fake.truth().orders or {}).get(order_id, 0)


def _fault(base: str, kind: str, path: str, count: int = 1) -> None:
    httpx.post(f"{base}/_fake/faults", json={"kind": kind, "path": path, "count": count})


def test_an_order_is_placed_once_and_found_again(plugin_manager: ShelfsyncPluginManager,
                                                 store: tuple[MagentoFake, str, Recorder]
                                                 ) -> None:
    fake, base, recorder = store
    conn = connection(fake, base)
    sku = _sku(fake)
    before = fake.store.salable_qty(sku, 1)
    ref = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9001", sku))
    assert ref.created and ref.name == f"{int(ref.id):09d}"
    again = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9001", sku))
    assert (again.id, again.created) == (ref.id, False)
    assert _held(fake, "9001") == 1
    assert fake.store.salable_qty(sku, 1) == before - 2
    entity = fake.store.orders[0].entity
    assert entity["customer_email"] == "tiktok-order-9001@example.com"
    assert [h["comment"] for h in entity["status_histories"]] == [
        "TikTok Shop order 9001 in Shop One (placed by Shelfsync)."]
    assert entity["billing_address"]["city"] == "Austin"
    lookups = [e for e in recorder.exchanges if e.path.endswith("/V1/orders")]
    assert all(dict(e.query)["searchCriteria[filterGroups][0][filters][0][field]"]
               == "customer_email" for e in lookups)


@pytest.mark.parametrize("step", ["guest-carts", "/items", "/shipping-information",
                                  "/payment-information", "/comments"])
def test_a_lost_answer_at_any_checkout_step_makes_one_order(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder],
        step: str) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    sku = _sku(fake)
    _fault(base, "lost", step)
    ref = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9100", sku))
    assert httpx.get(f"{base}/_fake/faults").json()["pending"] == 0
    assert _held(fake, "9100") == 1
    # The placement that lost its answer is found, not repeated.
    assert ref.created is (step != "/payment-information")
    # A comment whose answer was lost is not written twice (nor retried into a new order).
    comments = fake.store.orders[0].entity["status_histories"]
    assert len(comments) == 1
    again = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9100", sku))
    assert again.id == ref.id and _held(fake, "9100") == 1


def test_nothing_is_placed_while_the_look_up_cannot_be_made(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    """The look-up comes before every attempt: when it keeps failing, no cart is even
    opened, and the error is a retryable one for core."""
    fake, base, recorder = store
    conn = connection(fake, base)
    _fault(base, "500", "/V1/orders", count=50)
    with pytest.raises(TransientError):
        plugin_manager.call(conn, "shelfsync_create_order", order=_order("9200", _sku(fake)))
    assert _held(fake, "9200") == 0
    assert not any("guest-carts" in e.path for e in recorder.exchanges)


def test_out_of_stock_without_backorders_is_refused_and_with_backorders_placed(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    sku = _sku(fake)
    too_many = int(fake.store.salable_qty(sku, 1)) + 1
    with pytest.raises(BadRequest, match="requested qty is not available"):
        plugin_manager.call(conn, "shelfsync_create_order", order=_order("9300", sku,
                                                                         too_many))
    assert _held(fake, "9300") == 0
    httpx.post(f"{base}/_fake/product", json={"sku": sku, "use_config_backorders": False,
                                               "backorders": 1})
    ref = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9300", sku,
                                                                           too_many))
    assert ref.created and fake.store.salable_qty(sku, 1) < 0


def test_unknown_sku_and_configurable_parent_are_refused(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    with pytest.raises(NotFound):
        plugin_manager.call(conn, "shelfsync_create_order", order=_order("9400", "NOPE"))
    with pytest.raises(BadRequest, match="choose options"):
        plugin_manager.call(conn, "shelfsync_create_order", order=_order("9401",
                                                                         "CFG-7-00001"))
    assert fake.store.orders == []


def test_status_cancel_once_and_shipped_orders_refuse_cancel(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    sku = _sku(fake)
    before = fake.store.salable_qty(sku, 1)
    ref = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9500", sku))
    assert plugin_manager.call(conn, "shelfsync_fetch_order_status", order_ref=ref) == \
        StoreOrderStatus(id=ref.id)
    _fault(base, "lost", "/cancel")
    with pytest.raises(TransientError):
        plugin_manager.call(conn, "shelfsync_cancel_store_order", order_ref=ref,
                            reason="buyer", restock=True)
    status = plugin_manager.call(conn, "shelfsync_cancel_store_order", order_ref=ref,
                                 reason="buyer", restock=True)
    assert status.cancelled and fake.store.salable_qty(sku, 1) == before
    cancels = [e for e in fake.request_counts if e.endswith("/cancel")]
    assert sum(fake.request_counts[p] for p in cancels) == 1  # the second call only read

    shipped = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9501", sku))
    httpx.post(f"{base}/_fake/ship", json={"order_id": int(shipped.id),
                                            "track_number": "1Z999", "carrier_code": "ups",
                                            "title": "United Parcel Service"})
    status = plugin_manager.call(conn, "shelfsync_fetch_order_status", order_ref=shipped)
    assert status.fulfilled and not status.cancelled
    assert (status.tracking_number, status.carrier) == ("1Z999", "United Parcel Service")
    untracked = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9502", sku))
    httpx.post(f"{base}/_fake/ship", json={"order_id": int(untracked.id)})
    status = plugin_manager.call(conn, "shelfsync_fetch_order_status", order_ref=untracked)
    assert status.fulfilled and (status.tracking_number, status.carrier) == ("", "")
    with pytest.raises(BadRequest, match="cannot be cancelled"):
        plugin_manager.call(conn, "shelfsync_cancel_store_order", order_ref=shipped,
                            reason="buyer", restock=True)


def test_order_status_of_an_unknown_order_is_not_found(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    from shelfsync.core.types import StoreOrderRef

    for bad in ("424242", "../1"):
        with pytest.raises(NotFound):
            plugin_manager.call(conn, "shelfsync_fetch_order_status",
                                order_ref=StoreOrderRef(id=bad))


def test_an_order_answer_with_unreadable_quantities_is_a_bad_response(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    from shelfsync.core.errors import BadResponse

    fake, base, _ = store
    conn = connection(fake, base)
    ref = plugin_manager.call(conn, "shelfsync_create_order", order=_order("9600", _sku(fake)))
    fake.store.orders[-1].entity["items"][0]["qty_shipped"] = "lots"
    with pytest.raises(BadResponse, match="qty_shipped"):
        plugin_manager.call(conn, "shelfsync_fetch_order_status", order_ref=ref)
