"""Finding Magento stock changes by polling: source items diffed through the cursor, orders
and products updated since the last poll, legacy stock items; what a poll costs in calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shelfsync.core.errors import TransientError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import ChannelOrder, Connection, OrderLine, StockChanges
from shelfsync.plugins.magento.fake import MagentoFake

from .recording import Recorder, connection, served


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 61) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[tuple[MagentoFake, str, Recorder]]:
    fake = MagentoFake(products=40, variants=2, sources=3, seed=11, clock=clock)
    with served(fake) as (recorder, base):
        yield fake, base, recorder


def _poll(pm: ShelfsyncPluginManager, conn: Connection, cursor: str | None) -> StockChanges:
    changes = pm.call(conn, "shelfsync_poll_stock_changes", cursor=cursor)
    assert isinstance(changes, StockChanges) and not changes.more
    return changes


def test_first_poll_is_a_baseline_then_nothing_changed_is_nothing(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    first = _poll(plugin_manager, conn, None)
    assert first.skus == ()
    assert len(first.cursor) < 30_000  # digests, not rows
    assert _poll(plugin_manager, conn, first.cursor).skus == ()


def test_a_merchant_stock_edit_is_found(plugin_manager: ShelfsyncPluginManager,
                                        store: tuple[MagentoFake, str, Recorder],
                                        clock: Clock) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    cursor = _poll(plugin_manager, conn, None).cursor
    clock.tick()
    httpx.post(f"{base}/_fake/stock", json={"sku": "SKU-11-00007-02", "delta": -3,
                                             "source_code": "warehouse-2"})
    changes = _poll(plugin_manager, conn, cursor)
    assert "SKU-11-00007-02" in changes.skus
    assert len(changes.skus) <= 3  # the bucket's few SKUs, not the catalog
    assert _poll(plugin_manager, conn, changes.cursor).skus == ()


def test_an_order_and_its_cancellation_are_found(plugin_manager: ShelfsyncPluginManager,
                                                 store: tuple[MagentoFake, str, Recorder],
                                                 clock: Clock) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    sku = next(s for s, p in sorted(fake.store.products.items())
               if p.type_id == "simple" and fake.store.can_sell(p, 1))
    cursor = _poll(plugin_manager, conn, None).cursor
    clock.tick()
    ref = plugin_manager.call(conn, "shelfsync_create_order", order=ChannelOrder(
        id="7001", status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="1", sku_id="t", seller_sku=sku, quantity=1),)))
    placed = _poll(plugin_manager, conn, cursor)
    assert sku in placed.skus  # no source item moved: the reservation did
    clock.tick()
    plugin_manager.call(conn, "shelfsync_cancel_store_order", order_ref=ref, reason="x",
                        restock=True)
    cancelled = _poll(plugin_manager, conn, placed.cursor)
    assert sku in cancelled.skus


def test_product_stock_settings_and_source_switches_are_found(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder],
        clock: Clock) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    cursor = _poll(plugin_manager, conn, None).cursor
    clock.tick()
    httpx.post(f"{base}/_fake/product", json={"sku": "SKU-11-00003-01",
                                               "use_config_backorders": False,
                                               "backorders": 2})
    changes = _poll(plugin_manager, conn, cursor)
    assert "SKU-11-00003-01" in changes.skus
    httpx.post(f"{base}/_fake/source", json={"source_code": "warehouse-2", "enabled": False})
    switched = _poll(plugin_manager, conn, changes.cursor)
    held = {sku for (sku, code) in fake.store.source_items if code == "warehouse-2"}
    assert held <= set(switched.skus)


def test_legacy_stock_changes_are_found(plugin_manager: ShelfsyncPluginManager,
                                        clock: Clock) -> None:
    fake = MagentoFake(products=10, variants=1, legacy=True, seed=3, clock=clock)
    with served(fake) as (_, base):
        conn = connection(fake, base)
        cursor = _poll(plugin_manager, conn, None).cursor
        httpx.post(f"{base}/_fake/stock", json={"sku": "SKU-3-00004-01", "delta": 5})
        assert "SKU-3-00004-01" in _poll(plugin_manager, conn, cursor).skus


def test_a_poll_that_cannot_finish_raises_and_an_unreadable_cursor_rebaselines(
        plugin_manager: ShelfsyncPluginManager, store: tuple[MagentoFake, str, Recorder]
) -> None:
    fake, base, _ = store
    conn = connection(fake, base)
    httpx.post(f"{base}/_fake/faults", json={"kind": "503", "path": "source-items",
                                             "count": 100})
    with pytest.raises(TransientError):
        _poll(plugin_manager, conn, None)
    httpx.delete(f"{base}/_fake/faults")
    for garbage in ("not json", json.dumps({"v": 1, "digests": "!!"}), json.dumps([1])):
        assert _poll(plugin_manager, conn, garbage).skus == ()


def test_what_a_poll_costs(plugin_manager: ShelfsyncPluginManager,
                           store: tuple[MagentoFake, str, Recorder], clock: Clock) -> None:
    """Source-item pages, plus one orders page and one products page when little changed,
    plus the sources and links (cached for a pass)."""
    fake, base, recorder = store
    conn = connection(fake, base, page_size=50)
    cursor = _poll(plugin_manager, conn, None).cursor
    clock.tick()  # one product saved since: the newest second holds one product
    httpx.post(f"{base}/_fake/product", json={"sku": "SKU-11-00001-01", "backorders": 1})
    cursor = _poll(plugin_manager, conn, cursor).cursor
    recorder.exchanges.clear()
    _poll(plugin_manager, conn, cursor)
    items = len(fake.store.source_items)
    by_path: dict[str, int] = {}
    for exchange in recorder.exchanges:
        key = exchange.path.split("/V1/", 1)[1]
        by_path[key] = by_path.get(key, 0) + 1
    assert by_path == {"inventory/sources": 2, "inventory/stock-source-links": 1,
                       "inventory/source-items": -(-items // 50), "orders": 1,
                       "products": 1}
