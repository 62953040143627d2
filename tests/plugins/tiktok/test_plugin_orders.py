"""Order polling: update-time window, page tokens, lines counted from per-unit line items."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import NotFound, PluginError
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import ChannelOrder, Connection, OrderPage
from shelfsync.plugins.tiktok import plugin
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for as connect

SKU_A = "SKU-0-00001-01"
SKU_B = "SKU-0-00002-02"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=6, variants=2, seed=0)) as running:
        yield running


def place(server: RunningServer, items: list[tuple[str, int]], shop: int = 0,
          status: str = "AWAITING_SHIPMENT") -> dict[str, Any]:
    response = httpx.post(server.base_url + "/_fake/orders", json={
        "shop_id": shop, "status": status,
        "items": [{"seller_sku": sku, "quantity": n} for sku, n in items]})
    response.raise_for_status()
    return response.json()


def fetch(connection: Connection, since: datetime | None = None,
          cursor: str | None = None) -> OrderPage:
    return plugin.shelfsync_fetch_orders(connection=connection, updated_since=since,
                                         cursor=cursor)


def test_an_order_with_its_lines_total_and_address(server: RunningServer) -> None:
    placed = place(server, [(SKU_A, 3), (SKU_B, 1)])
    assert len(placed["line_items"]) == 4  # TikTok: one line item per unit

    page = fetch(connect(server), datetime.now(UTC) - timedelta(minutes=5))

    assert page.next_cursor is None
    (order,) = page.orders
    assert isinstance(order, ChannelOrder)
    assert order.id == placed["id"] and order.status == "AWAITING_SHIPMENT"
    assert order.shop_id == server.app.connections()[0]["id"]
    assert [(line.seller_sku, line.quantity) for line in order.lines] == [(SKU_A, 3), (SKU_B, 1)]
    first = order.lines[0]
    assert first.line_id == placed["line_items"][0]["id"]
    assert first.sku_id == placed["line_items"][0]["sku_id"]
    assert first.unit_price and first.unit_price.currency == placed["payment"]["currency"]
    assert order.total and order.total.amount == placed["payment"]["total_amount"]
    address = placed["recipient_address"]
    assert order.recipient and order.recipient.name == address["name"]
    assert order.recipient.lines == (address["address_line1"],)
    assert order.recipient.postal_code == address["postal_code"]
    assert order.recipient.city == "Fakeville"
    assert order.recipient.country_code == address["region_code"]
    assert order.buyer_email == placed["buyer_email"]
    assert order.created_at and order.updated_at


def test_an_unpaid_order_has_no_address_yet(server: RunningServer) -> None:
    place(server, [(SKU_A, 1)], status="UNPAID")
    (order,) = fetch(connect(server)).orders
    assert order.status == "UNPAID" and order.recipient is None


def test_pages_follow_the_cursor_in_update_order(server: RunningServer) -> None:
    placed = [place(server, [(SKU_A, 1)])["id"] for _ in range(5)]
    connection = connect(server, order_page_size=2)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = fetch(connection, datetime(2020, 1, 1, tzinfo=UTC), cursor)
        pages += 1
        seen.extend(order.id for order in page.orders)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(placed) and len(seen) == 5


def test_the_window_leaves_older_updates_out(server: RunningServer) -> None:
    place(server, [(SKU_A, 1)])
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert fetch(connect(server), later).orders == ()


def test_each_shop_sees_its_own_orders(server: RunningServer) -> None:
    mine = place(server, [(SKU_A, 1)], shop=0)["id"]
    theirs = place(server, [(SKU_A, 1)], shop=1)["id"]
    assert [o.id for o in fetch(connect(server, 0)).orders] == [mine]
    assert [o.id for o in fetch(connect(server, 1)).orders] == [theirs]


def test_a_cancelled_order_is_reported_cancelled(server: RunningServer) -> None:
    order_id = place(server, [(SKU_A, 2)])["id"]
    httpx.post(f"{server.base_url}/_fake/orders/{order_id}/status",
               json={"status": "CANCELLED"}).raise_for_status()
    (order,) = fetch(connect(server)).orders
    assert order.status == "CANCELLED"
    assert [line.quantity for line in order.lines] == [2]


def test_one_order_is_read_by_its_id_as_the_search_reads_it(server: RunningServer) -> None:
    placed = place(server, [(SKU_A, 2)])
    place(server, [(SKU_B, 1)])  # another order: not read
    connection = connect(server)

    order = plugin.shelfsync_fetch_order(connection=connection, order_id=placed["id"])

    (searched,) = [o for o in fetch(connection).orders if o.id == placed["id"]]
    assert order == searched
    assert order.shop_id == server.app.connections()[0]["id"]


def test_an_order_the_shop_does_not_have_is_not_found(server: RunningServer) -> None:
    other_shops_order = place(server, [(SKU_A, 1)], shop=1)["id"]
    with pytest.raises(NotFound):
        plugin.shelfsync_fetch_order(connection=connect(server), order_id="5764000000000000001")
    with pytest.raises(PluginError) as refused:  # TikTok: not this seller's order
        plugin.shelfsync_fetch_order(connection=connect(server), order_id=other_shops_order)
    assert "does not belong" in str(refused.value)
