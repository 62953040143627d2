"""Inventory pushes: one call per product, per-SKU results, validation, shops kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import AuthError
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import InventoryUpdate, Listing, PushOutcome
from shelfsync.plugins.tiktok import plugin
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for as connect


def listed(**kwargs: Any) -> list[Listing]:
    """The listings hook's pages, joined."""
    return [item for page in plugin.shelfsync_fetch_listings(**kwargs) for item in page]

INVENTORY = "/product/202309/products/{}/inventory/update"
WAREHOUSES = "/logistics/202309/warehouses"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=20, variants=3, seed=0)) as running:
        yield running


def listings(server: RunningServer, index: int = 0) -> list[Listing]:
    return listed(connection=connect(server, index))


def updates_for(items: list[Listing], quantity: int) -> list[InventoryUpdate]:
    """One update per SKU and warehouse (warehouse named only where the SKU has several)."""
    return [
        InventoryUpdate(item.product_id, item.sku_id, quantity,
                        warehouse if len(item.quantities) > 1 else None, item.seller_sku)
        for item in items
        for warehouse in item.quantities
    ]


def by_path(server: RunningServer) -> dict[str, int]:
    return httpx.get(server.base_url + "/_fake/requests").json()["by_path"]


def reset_counts(server: RunningServer) -> None:
    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()


def test_one_call_per_product_and_quantities_applied(server: RunningServer) -> None:
    before = listings(server)
    live = [item for item in before if item.status == "ACTIVATE"]
    updates = updates_for(live, 42)
    reset_counts(server)

    results = plugin.shelfsync_push_inventory(scope=None, connection=connect(server),
                                              updates=updates)

    assert [r.sku_id for r in results] == [u.sku_id for u in updates]
    assert all(r.ok and r.quantity == 42 and r.request_id for r in results)
    products = {item.product_id for item in live}
    # One warehouse read for the whole call (no pass scope here), then one call per product.
    assert by_path(server) == {WAREHOUSES: 1, **{INVENTORY.format(p): 1 for p in products}}
    after = {item.sku_id: item for item in listings(server)}
    for item in live:
        assert set(after[item.sku_id].quantities.values()) == {42}


def test_a_rejected_sku_fails_alone(server: RunningServer) -> None:
    items = listings(server)
    inactive = [item for item in items if item.status != "ACTIVATE"]
    live = [item for item in items if item.status == "ACTIVATE"][:4]
    results = plugin.shelfsync_push_inventory(
        scope=None, connection=connect(server), updates=updates_for(inactive + live, 7)
    )
    failed = [r for r in results if not r.ok]
    assert {r.sku_id for r in failed} == {item.sku_id for item in inactive}
    assert all(r.error_code == "12052901" and r.error_message and r.request_id for r in failed)
    after = {item.sku_id: item for item in listings(server)}
    assert all(set(after[item.sku_id].quantities.values()) == {7} for item in live)


def test_an_unknown_sku_fails_alone_and_a_total_spreads_to_the_default_warehouse(
        server: RunningServer) -> None:
    items = listings(server)
    multi = next(item for item in items if len(item.quantities) > 1)
    sibling = next(item for item in items
                   if item.product_id == multi.product_id and item.sku_id != multi.sku_id)
    default = server.app.shops[0].default_warehouse.id
    updates = [
        # Two warehouses, none named: the plugin puts the total at the default warehouse and
        # clears the other one it was shown in.
        InventoryUpdate(multi.product_id, multi.sku_id, 5, shown=dict(multi.quantities)),
        InventoryUpdate(multi.product_id, "1700000000000000000", 5),  # not in this product
        *updates_for([sibling], 9),
    ]
    results = plugin.shelfsync_push_inventory(scope=None, connection=connect(server),
                                              updates=updates)
    assert [(r.ok, r.error_code) for r in results] == [
        (True, None), (False, "12052557"), (True, None), (True, None)
    ]
    assert results[1].kind is PushOutcome.QUARANTINE
    assert len({r.request_id for r in results}) == 1  # one call for the whole product
    shown = {item.sku_id: item.quantities for item in listings(server)}[multi.sku_id]
    assert shown[default] == 5 and sum(shown.values()) == 5
    assert results[0].quantities == shown


def test_invalid_quantities_fail_without_a_call(server: RunningServer) -> None:
    item = next(item for item in listings(server) if item.status == "ACTIVATE")
    reset_counts(server)
    updates = [
        InventoryUpdate(item.product_id, item.sku_id, -1),
        InventoryUpdate(item.product_id, item.sku_id, 100_000),
        InventoryUpdate(item.product_id, item.sku_id, True),  # type: ignore[arg-type]
        InventoryUpdate("../../orders", item.sku_id, 1),
    ]
    results = plugin.shelfsync_push_inventory(scope=None, connection=connect(server),
                                              updates=updates)
    assert [r.ok for r in results] == [False] * 4
    assert [r.error_code for r in results] == ["invalid_quantity"] * 3 + ["invalid_update"]
    assert "99999" in (results[1].error_message or "")
    assert by_path(server) == {}


def test_the_maximum_is_accepted(server: RunningServer) -> None:
    item = next(item for item in listings(server)
                if item.status == "ACTIVATE" and len(item.quantities) == 1)
    results = plugin.shelfsync_push_inventory(
        scope=None, connection=connect(server),
        updates=[InventoryUpdate(item.product_id, item.sku_id, 99_999)],
    )
    assert results[0].ok


def test_a_later_update_of_the_same_sku_wins(server: RunningServer) -> None:
    item = next(item for item in listings(server)
                if item.status == "ACTIVATE" and len(item.quantities) == 1)
    updates = [InventoryUpdate(item.product_id, item.sku_id, q) for q in (1, 2)]
    results = plugin.shelfsync_push_inventory(scope=None, connection=connect(server),
                                              updates=updates)
    assert [(r.ok, r.error_code) for r in results] == [(False, "superseded"), (True, None)]
    after = {x.sku_id: x for x in listings(server)}
    assert list(after[item.sku_id].quantities.values()) == [2]


def test_a_failing_product_does_not_stop_the_others(server: RunningServer) -> None:
    live = [item for item in listings(server)
            if item.status == "ACTIVATE" and len(item.quantities) == 1]
    first, other = live[0], next(x for x in live if x.product_id != live[0].product_id)
    httpx.post(server.base_url + "/_fake/faults", json={
        "kind": "500", "count": 10, "path": INVENTORY.format(first.product_id)})
    unknown = InventoryUpdate("1799999999999999999", "1799999999999999998", 3)
    updates = [*updates_for([first], 3), unknown, *updates_for([other], 3)]
    results = plugin.shelfsync_push_inventory(scope=None, connection=connect(server,
                                              retry_attempts=2),
                                              updates=updates)
    assert [(r.ok, r.error_code) for r in results] == [
        (False, "36009003"), (False, "12019150"), (True, None)
    ]
    assert results[0].request_id and results[1].request_id
    # A 5xx may pass, an unknown product will not: the engine retries only the first.
    assert [r.retryable for r in results] == [True, False, False]


def test_refused_credentials_stop_the_push(server: RunningServer) -> None:
    item = listings(server)[0]
    with pytest.raises(AuthError):
        plugin.shelfsync_push_inventory(
            scope=None, connection=connect(server, credentials={"app_secret": "wrong"}),
            updates=[InventoryUpdate(item.product_id, item.sku_id, 1)],
        )


def test_pushing_to_one_shop_never_changes_another(server: RunningServer) -> None:
    other_before = listings(server, 1)
    mine = [item for item in listings(server, 0) if item.status == "ACTIVATE"]
    results = plugin.shelfsync_push_inventory(scope=None, connection=connect(server, 0),
                                              updates=updates_for(mine, 11))
    assert all(r.ok for r in results)
    assert listings(server, 1) == other_before
    # Shop A's token cannot write shop B's products, whatever cipher it sends.
    theirs = next(item for item in other_before if item.status == "ACTIVATE")
    results = plugin.shelfsync_push_inventory(
        scope=None, connection=connect(server, 0),
        updates=[InventoryUpdate(theirs.product_id, theirs.sku_id, 0)],
    )
    assert not results[0].ok and results[0].error_code == "12052048"
    assert listings(server, 1) == other_before


def _arm(server: RunningServer, parties: int, timeout: float) -> None:
    httpx.post(server.base_url + "/_fake/rendezvous",
               json={"path": "/inventory/update", "shops": parties, "timeout": timeout,
                     "by": "path"}).raise_for_status()


def _rendezvous(server: RunningServer) -> dict[str, Any]:
    return httpx.get(server.base_url + "/_fake/rendezvous").json()


def test_a_push_keeps_several_products_in_flight(server: RunningServer) -> None:
    """Three products' update calls are held until all three have arrived: met only when the
    plugin sends them at once (no clock involved; a client waits longer than the hold)."""
    live = [item for item in listings(server) if item.status == "ACTIVATE"]
    updates = updates_for(live, 7)
    assert len({u.product_id for u in updates}) >= 3
    _arm(server, 3, 60)
    results = plugin.shelfsync_push_inventory(scope=None, connection=connect(server),
                                              updates=updates)
    assert _rendezvous(server)["met"]
    assert [r.sku_id for r in results] == [u.sku_id for u in updates]
    assert all(r.ok and r.quantity == 7 for r in results)


def test_one_product_at_a_time_when_the_shop_asks_for_it(server: RunningServer) -> None:
    """`push_concurrency=1`: the same rendezvous is never met (the check can tell)."""
    live = [item for item in listings(server) if item.status == "ACTIVATE"]
    updates = updates_for(live, 8)
    _arm(server, 2, 0.5)
    plain = connect(server)
    connection = replace(plain, settings={**plain.settings, "push_concurrency": 1})
    results = plugin.shelfsync_push_inventory(scope=None, connection=connection,
                                              updates=updates)
    status = _rendezvous(server)
    assert status["timed_out"] and not status["met"]
    assert all(r.ok and r.quantity == 8 for r in results)
