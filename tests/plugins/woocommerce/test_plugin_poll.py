"""Polling for stock no webhook reported: products and orders modified since a cursor."""

from __future__ import annotations

import json

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import PassScope, StockChanges

from .conftest import ManualClock


def _poll(pm: ShelfsyncPluginManager, woo: RunningFake, cursor: str | None) -> StockChanges:
    changes = pm.call(woo.connection, "shelfsync_poll_stock_changes", cursor=cursor,
                      scope=PassScope())
    assert isinstance(changes, StockChanges)
    return changes


def test_first_poll_is_a_baseline_then_nothing_changed(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    first = _poll(plugin_manager, woo, None)  # read in the very second the catalog was saved
    assert first.skus == () and not first.more
    clock.advance(60)
    again = _poll(plugin_manager, woo, first.cursor)
    # That second was not over at the read: a save after it would carry the same date, so
    # what shares it is reported (a superset) …
    assert set(again.skus) == {p.sku for p in woo.fake.store.sellable()}
    # … until a poll reads it closed: then nothing changed, and nothing is reported.
    assert _poll(plugin_manager, woo, again.cursor).skus == ()


def test_a_silent_storefront_order_is_found(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    store = woo.fake.store
    item = next(p for p in store.sellable() if store.manage_stock(p) is True)
    baseline = _poll(plugin_manager, woo, None)
    clock.advance(5)
    woo.control("POST", "orders", {"items": [{"sku": item.sku, "quantity": 1}],
                                   "webhooks": False})
    found = _poll(plugin_manager, woo, baseline.cursor)
    assert item.sku in found.skus
    # It is the newest change: a save in the same second would not change its date, so it
    # is reported again until something newer moves the cursor …
    assert item.sku in _poll(plugin_manager, woo, found.cursor).skus
    other = next(p for p in store.sellable() if store.manage_stock(p) is True and p is not item
                 and store.stock_owner(p) is not store.stock_owner(item))
    clock.advance(1)
    woo.control("POST", "orders", {"items": [{"sku": other.sku, "quantity": 1}],
                                   "webhooks": False})
    moved = _poll(plugin_manager, woo, found.cursor)
    assert other.sku in moved.skus
    # … and then, seen in the overlap and older than the cursor, it is not.
    clock.advance(60)
    after = _poll(plugin_manager, woo, moved.cursor)
    assert item.sku not in after.skus and other.sku in after.skus


def test_a_save_in_the_cursors_own_second_is_not_missed(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    store = woo.fake.store
    item = next(p for p in store.sellable() if store.manage_stock(p) is True)
    baseline = _poll(plugin_manager, woo, None)  # everything was saved this very second
    woo.control("POST", "stock", {"sku": item.sku, "delta": 1})  # same second, same date
    assert item.sku in _poll(plugin_manager, woo, baseline.cursor).skus


def test_a_parent_managed_sale_reports_every_variation(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    store = woo.fake.store
    parent = next(p for p in store.products.values() if p.type == "variable")
    parent.manage_stock, parent.stock_quantity = True, 10
    variations = [store.products[v] for v in parent.variations]
    for variation in variations:
        variation.manage_stock = False
    clock.advance(1)  # the catalog's second is over when the baseline is read
    baseline = _poll(plugin_manager, woo, None)
    clock.advance(5)
    woo.control("POST", "orders", {"items": [{"sku": variations[0].sku, "quantity": 1}],
                                   "webhooks": False})
    found = _poll(plugin_manager, woo, baseline.cursor)
    assert set(found.skus) == {v.sku for v in variations}
    assert parent.stock_quantity == 9


def test_a_change_in_the_same_second_as_the_cursor_is_not_missed(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    store = woo.fake.store
    first, second = [p for p in store.sellable() if store.manage_stock(p) is True][:2]
    clock.advance(5)
    woo.control("POST", "orders", {"items": [{"sku": first.sku, "quantity": 1}],
                                   "webhooks": False})
    baseline = _poll(plugin_manager, woo, None)  # its cursor is this very second
    woo.control("POST", "orders", {"items": [{"sku": second.sku, "quantity": 1}],
                                   "webhooks": False})  # the same second, after the read
    found = _poll(plugin_manager, woo, baseline.cursor)
    assert second.sku in found.skus


def test_many_changes_are_read_in_bounded_polls(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager, clock: ManualClock) -> None:
    conn = woo.with_settings(page_size=1)
    store = woo.fake.store
    items = [p for p in store.sellable() if store.manage_stock(p) is True]
    baseline = plugin_manager.call(conn, "shelfsync_poll_stock_changes", cursor=None, scope=None)
    for n in range(12):
        clock.advance(5)
        woo.control("POST", "orders", {"items": [{"sku": items[n % len(items)].sku,
                                                  "quantity": 1}], "webhooks": False})
    seen: set[str] = set()
    cursor, polls = baseline.cursor, 0
    while True:
        changes = plugin_manager.call(conn, "shelfsync_poll_stock_changes", cursor=cursor,
                                      scope=None)
        seen |= set(changes.skus)
        cursor, polls = changes.cursor, polls + 1
        if not changes.more:
            break
    assert polls >= 2 and seen >= {item.sku for item in items[:12]}


def test_an_unreadable_cursor_takes_a_new_baseline(
        woo: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    changes = _poll(plugin_manager, woo, "not a cursor")
    assert changes.skus == () and json.loads(changes.cursor)["v"] == 1
