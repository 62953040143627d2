"""TikTok after-sale hooks against the fake: providers, shipments, cancellations, returns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import BadRequest, BadResponse, NotFound
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import Fulfillment
from shelfsync.plugins.tiktok import aftersale
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import connection_for as connect

SKU_A = "SKU-0-00001-01"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serving(TikTokFake(shops=2, products=6, variants=2, seed=0)) as running:
        yield running


def place(server: RunningServer, units: int = 2) -> dict[str, Any]:
    response = httpx.post(server.base_url + "/_fake/orders", json={
        "shop_id": 0, "items": [{"seller_sku": SKU_A, "quantity": units}]})
    response.raise_for_status()
    return response.json()


def provider(server: RunningServer, name: str = "UPS") -> str:
    found = aftersale.shelfsync_fetch_shipping_providers(connection=connect(server))
    return next(p.id for p in found if p.name == name)


def test_shipping_providers_of_each_enabled_warehouse_option(server: RunningServer) -> None:
    found = aftersale.shelfsync_fetch_shipping_providers(connection=connect(server))
    assert {p.name for p in found} == {"USPS", "UPS", "FedEx", "DHL eCommerce"}
    assert all(p.delivery_option_id and p.delivery_option_name for p in found)


def test_an_answer_without_providers_is_a_bad_answer(server: RunningServer) -> None:
    httpx.post(server.base_url + "/_fake/empty-answers",
               json={"path": "/shipping_providers", "count": 5})
    with pytest.raises(BadResponse, match="shipping_providers"):
        aftersale.shelfsync_fetch_shipping_providers(connection=connect(server))


def test_a_partial_shipment_ships_its_lines_and_a_retry_ships_nothing(
        server: RunningServer) -> None:
    order = place(server)
    first = order["line_items"][0]["id"]
    shipment = Fulfillment(order_id=order["id"], tracking_number="T-1", carrier="UPS",
                           line_ids=(first,), shipping_provider_id=provider(server))
    assert aftersale.shelfsync_push_fulfillment(connection=connect(server),
                                                fulfillment=shipment) is True
    assert aftersale.shelfsync_push_fulfillment(connection=connect(server),
                                                fulfillment=shipment) is True
    fake: TikTokFake = server.app
    placed = fake.shops[0].orders[order["id"]]
    assert [ln.tracking for ln in placed.lines] == ["T-1", ""]
    assert len(placed.packages) == 1
    other = Fulfillment(order_id=order["id"], tracking_number="T-2", carrier="UPS",
                        line_ids=(first,), shipping_provider_id=provider(server))
    with pytest.raises(BadRequest, match="already shipped with tracking T-1"):
        aftersale.shelfsync_push_fulfillment(connection=connect(server), fulfillment=other)


def test_an_unknown_order_is_not_found(server: RunningServer) -> None:
    shipment = Fulfillment(order_id="576000000000000001", tracking_number="T", carrier="UPS",
                           shipping_provider_id=provider(server))
    with pytest.raises(NotFound):
        aftersale.shelfsync_push_fulfillment(connection=connect(server), fulfillment=shipment)


def test_push_cancellation_maps_the_reason_and_is_idempotent(server: RunningServer) -> None:
    order = place(server, 1)
    assert aftersale.shelfsync_push_cancellation(connection=connect(server),
                                                 order_id=order["id"], reason="INVENTORY")
    assert aftersale.shelfsync_push_cancellation(connection=connect(server),
                                                 order_id=order["id"], reason="INVENTORY")
    fake: TikTokFake = server.app
    cancellations = fake.shops[0].orders[order["id"]].cancellations
    assert [c["cancel_reason"] for c in cancellations] == ["seller_cancel_reason_out_of_stock"]


def test_a_shipped_order_cannot_be_cancelled(server: RunningServer) -> None:
    order = place(server, 1)
    httpx.post(f"{server.base_url}/_fake/orders/{order['id']}/status",
               json={"status": "IN_TRANSIT"})
    with pytest.raises(BadRequest, match="shipped and cannot be cancelled"):
        aftersale.shelfsync_push_cancellation(connection=connect(server),
                                              order_id=order["id"], reason="CUSTOMER")


def test_fetch_returns_by_order_and_by_time(server: RunningServer) -> None:
    order = place(server)
    lines = [li["id"] for li in order["line_items"]]
    httpx.post(server.base_url + "/_fake/returns",
               json={"order_id": order["id"], "line_ids": lines[:1], "type": "REFUND"})
    httpx.post(server.base_url + "/_fake/returns",
               json={"order_id": order["id"], "line_ids": lines[1:],
                     "status": "AWAITING_BUYER_SHIP"})
    page = aftersale.shelfsync_fetch_returns(connection=connect(server), order_id=order["id"],
                                             updated_since=None, cursor=None)
    found = sorted(((r.completed, r.restock, [li.line_id for li in r.lines])
                    for r in page.returns), reverse=True)
    assert found == [(True, False, lines[:1]), (False, True, lines[1:])]
    assert all(r.refund_total is not None for r in page.returns)
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert len(aftersale.shelfsync_fetch_returns(connection=connect(server), order_id=None,
                                                 updated_since=since, cursor=None).returns) == 2


def test_a_returns_answer_without_its_list_is_a_bad_answer(server: RunningServer) -> None:
    httpx.post(server.base_url + "/_fake/empty-answers",
               json={"path": "/returns/search", "count": 5})
    with pytest.raises(BadResponse, match="return_orders"):
        aftersale.shelfsync_fetch_returns(connection=connect(server), order_id=None,
                                          updated_since=None, cursor=None)
