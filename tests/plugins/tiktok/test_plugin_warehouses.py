"""The plugin spreads each SKU's quantity over the shop's warehouses and says what a refusal
means (done, retry, quarantine, stale target): core never picks a warehouse or reads text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import AuthError
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import InventoryUpdate, Listing, PassScope, PushOutcome
from shelfsync.plugins.tiktok import plugin, warehouses
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for as connect


def listed(**kwargs: Any) -> list[Listing]:
    """The listings hook's pages, joined."""
    return [item for page in plugin.shelfsync_fetch_listings(**kwargs) for item in page]

WAREHOUSES = "/logistics/202309/warehouses"
GONE = "7499999999999999999"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=12, variants=3, seed=0)) as running:
        yield running


def live_single(server: RunningServer, count: int) -> list[Listing]:
    found = listed(connection=connect(server))
    return [item for item in found
            if item.status == "ACTIVATE" and len(item.quantities) == 1][:count]


def totals(server: RunningServer) -> dict[str, dict[str, int]]:
    return {item.sku_id: dict(item.quantities)
            for item in listed(connection=connect(server))}


def warehouse_reads(server: RunningServer) -> int:
    return int(httpx.get(server.base_url + "/_fake/requests").json()["by_path"]
               .get(WAREHOUSES, 0))


def push(server: RunningServer, items: list[Listing], quantity: int,
         scope: PassScope | None) -> list:
    updates = [InventoryUpdate(i.product_id, i.sku_id, quantity, seller_sku=i.seller_sku,
                               shown=dict(i.quantities)) for i in items]
    return plugin.shelfsync_push_inventory(connection=connect(server), updates=updates,
                                           scope=scope)


def test_the_warehouses_are_read_once_per_pass(server: RunningServer) -> None:
    items = live_single(server, 4)
    scope = PassScope()
    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()
    first = push(server, items[:2], 11, scope)
    second = push(server, items[2:], 12, scope)
    assert all(r.kind is PushOutcome.DONE for r in first + second)
    assert warehouse_reads(server) == 1
    default = server.app.shops[0].default_warehouse.id
    shown = totals(server)
    assert all(shown[i.sku_id][default] == q for i, q in zip(items, (11, 11, 12, 12),
                                                                strict=True))


def test_a_stale_kept_warehouse_is_retried_for_every_sku_and_read_again(
        server: RunningServer) -> None:
    """The pass kept a warehouse the shop no longer has: every SKU refused for it is a stale
    target (tried again soon, not quarantined), and the pass's next push reads again."""
    items = live_single(server, 3)
    before = totals(server)
    scope = PassScope()
    warehouses.remember(scope, None, str(server.app.connections()[0]["id"]), GONE)

    refused = push(server, items, 21, scope)

    assert [r.kind for r in refused] == [PushOutcome.STALE_TARGET] * 3
    assert all(not r.ok and r.retryable for r in refused)
    assert totals(server) == before  # nothing applied to the gone warehouse
    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()
    again = push(server, items, 21, scope)
    assert [r.kind for r in again] == [PushOutcome.DONE] * 3
    assert warehouse_reads(server) == 1
    assert all(sum(totals(server)[i.sku_id].values()) == 21 for i in items)


def test_a_freshly_read_warehouse_refused_is_a_quarantine(server: RunningServer) -> None:
    """Read this very call, the warehouse is not stale: TikTok refused the SKU there."""
    items = live_single(server, 2)
    for warehouse in server.app.shops[0].warehouses:
        warehouse.effect_status = "DISABLED"  # no sales warehouse left to take stock
    results = push(server, items, 5, PassScope())
    assert [r.kind for r in results] == [PushOutcome.QUARANTINE] * 2
    assert all(not r.retryable and r.error_code == "12052532" for r in results)


def test_a_failed_warehouse_read_fails_the_call_once_and_is_retried(
        server: RunningServer) -> None:
    items = live_single(server, 12)
    products = {item.product_id for item in items}
    assert len(products) > 1
    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()
    httpx.post(server.base_url + "/_fake/faults",
               json={"kind": "500", "count": 100, "path": WAREHOUSES}).raise_for_status()
    results = plugin.shelfsync_push_inventory(
        connection=connect(server, retry_attempts=2), scope=PassScope(),
        updates=[InventoryUpdate(i.product_id, i.sku_id, 3) for i in items])
    assert [r.kind for r in results] == [PushOutcome.RETRY] * len(items)
    assert warehouse_reads(server) == 2  # one read (2 attempts) for the call, not per product


def test_a_refused_token_on_the_warehouse_read_stops_the_push(server: RunningServer) -> None:
    items = live_single(server, 1)
    with pytest.raises(AuthError):
        push_connection = connect(server, credentials={"access_token": "ROW_wrong"})
        plugin.shelfsync_push_inventory(
            connection=push_connection, scope=PassScope(),
            updates=[InventoryUpdate(items[0].product_id, items[0].sku_id, 3)])
