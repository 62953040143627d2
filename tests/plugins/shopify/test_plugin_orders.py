"""Creating store orders for TikTok orders: exactly once, even when a response is lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import InvalidInput, NotFound
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.testing.server import serving
from shelfsync.core.types import (
    Address,
    ChannelOrder,
    Connection,
    Money,
    OrderLine,
    StoreOrderRef,
    StoreOrderStatus,
)


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake]) -> RunningFake:
    return run_fake("shopify", products=5, variants=2, restore_rate=20000.0)


def _order(order_id: str, sku: str, quantity: int = 2) -> ChannelOrder:
    return ChannelOrder(
        id=order_id, status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="L1", sku_id="tt-sku", seller_sku=sku, quantity=quantity,
                         unit_price=Money("12.50", "USD")),),
        total=Money("25.00", "USD"),
        recipient=Address(name="Ada Lovelace", lines=("1 Main St", "Apt 2"), city="Toronto",
                          region="ON", postal_code="M5V 1A1", country_code="ca"),
        buyer_email="ada@example.com",
    )


def _orders_for(fake: Any, order_id: str) -> list[Any]:
    return [o for o in fake.store.orders if f"tiktok-order:{order_id}" in o.tags]


def _available(fake: Any, sku: str) -> int:
    levels = fake.store.by_sku[sku].item.levels.values()
    return sum(level.quantities["available"] for level in levels)


def test_create_order_once_then_find_it(shop: RunningFake,
                                        plugin_manager: ShelfsyncPluginManager) -> None:
    sku = shop.fake.store.variants[0].sku
    before = _available(shop.fake, sku)
    ref = plugin_manager.call(shop.connection, "shelfsync_create_order", order=_order("5770001",
                              sku))
    assert isinstance(ref, StoreOrderRef) and ref.created and ref.name.startswith("#")
    again = plugin_manager.call(shop.connection, "shelfsync_create_order", order=_order("5770001",
                                sku))
    assert again == StoreOrderRef(id=ref.id, name=ref.name, created=False)
    [stored] = _orders_for(shop.fake, "5770001")
    assert ("tiktok_order_id", "5770001") in stored.custom_attributes
    assert stored.email == "ada@example.com"
    # TikTok sold the units already: the store's stock goes down by them.
    assert _available(shop.fake, sku) == before - 2


def test_a_lost_create_response_is_not_a_second_order(
    shop: RunningFake, plugin_manager: ShelfsyncPluginManager
) -> None:
    """The first orderCreate reaches Shopify but its answer is lost on the way back."""
    dropped: list[str] = []

    def lossy_proxy(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        upstream = httpx.post(shop.base_url + request.path, content=raw,
                              headers={k: v for k, v in request.headers.items()
                                       if k.lower() not in {"host", "content-length"}})
        if b"orderCreate" in raw and not dropped:
            dropped.append(json.loads(raw)["query"][:40])
            response = Response("<html>504 Gateway Time-out</html>", status=504)
        else:
            response = Response(upstream.content, status=upstream.status_code,
                                mimetype="application/json")
        return response(environ, start_response)

    sku = shop.fake.store.variants[1].sku
    with serving(lossy_proxy) as proxy:
        via_proxy = Connection(platform="shopify", base_url=proxy.base_url,
                               credentials=shop.connection.credentials,
                               settings=shop.connection.settings, timeout=5.0)
        ref = plugin_manager.call(via_proxy, "shelfsync_create_order", order=_order("5770002", sku))
    assert dropped, "the proxy never saw the create"
    [stored] = _orders_for(shop.fake, "5770002")
    assert ref.id == f"gid://shopify/Order/{stored.num}" and not ref.created


def test_unknown_sku_creates_nothing(shop: RunningFake,
                                     plugin_manager: ShelfsyncPluginManager) -> None:
    with pytest.raises(NotFound, match="NO-SUCH-SKU"):
        plugin_manager.call(shop.connection, "shelfsync_create_order", order=_order("5770003",
                            "NO-SUCH-SKU"))
    assert _orders_for(shop.fake, "5770003") == []


def test_non_positive_quantity_is_refused_before_sending(
    shop: RunningFake, plugin_manager: ShelfsyncPluginManager
) -> None:
    sku = shop.fake.store.variants[0].sku
    with pytest.raises(InvalidInput, match="quantity"):
        plugin_manager.call(shop.connection, "shelfsync_create_order", order=_order("5770004",
                            sku, quantity=0))
    assert _orders_for(shop.fake, "5770004") == []


def test_order_status_of_a_new_order(shop: RunningFake,
                                     plugin_manager: ShelfsyncPluginManager) -> None:
    sku = shop.fake.store.variants[0].sku
    ref = plugin_manager.call(shop.connection, "shelfsync_create_order", order=_order("5770005",
                              sku))
    status = plugin_manager.call(shop.connection, "shelfsync_fetch_order_status", order_ref=ref)
    assert status == StoreOrderStatus(id=ref.id)
    with pytest.raises(NotFound):
        plugin_manager.call(shop.connection, "shelfsync_fetch_order_status",
                            order_ref=StoreOrderRef(id="gid://shopify/Order/1"))


def test_order_status_carries_tracking_once_fulfilled(
    shop: RunningFake, plugin_manager: ShelfsyncPluginManager
) -> None:
    sku = shop.fake.store.variants[1].sku
    ref = plugin_manager.call(shop.connection, "shelfsync_create_order", order=_order("5770006",
                              sku)
    )
    answer = httpx.post(
        f"{shop.base_url}/_fake/fulfill",
        json={"order_id": ref.id, "tracking_number": "1Z999AA10123456784", "company": "UPS"},
    )
    assert answer.status_code == 200, answer.text
    status = plugin_manager.call(shop.connection, "shelfsync_fetch_order_status", order_ref=ref
    )
    assert status.fulfilled is True
    assert (status.tracking_number, status.carrier) == ("1Z999AA10123456784", "UPS")
    assert not status.cancelled
