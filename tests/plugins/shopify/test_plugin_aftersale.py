"""Shopify after-sale hooks against the fake: shipments with lines, cancel, refunds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import BadRequest
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import (
    ChannelOrder,
    FulfilledLine,
    Money,
    OrderLine,
    StoreOrderRef,
    StoreRefund,
)


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake]) -> RunningFake:
    return run_fake("shopify", products=5, variants=2, restore_rate=20000.0)


def _created(shop: RunningFake, pm: ShelfsyncPluginManager, units: int = 2,
             order_id: str = "5779001") -> tuple[StoreOrderRef, str]:
    sku = shop.fake.store.variants[0].sku
    order = ChannelOrder(id=order_id, status="AWAITING_SHIPMENT", lines=(OrderLine(
        line_id="L1", sku_id="tt", seller_sku=sku, quantity=units,
        unit_price=Money("10.00", "USD")),), total=Money(f"{10 * units}.00", "USD"))
    return pm.call(shop.connection, "shelfsync_create_order", order=order), sku


def _control(shop: RunningFake, name: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{shop.base_url}/_fake/{name}", json=body, timeout=10)


def _available(shop: RunningFake, sku: str) -> int:
    levels = shop.fake.store.by_sku[sku].item.levels.values()
    return sum(level.quantities["available"] for level in levels)


def test_each_shipment_comes_with_its_lines_and_tracking(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    ref, sku = _created(shop, plugin_manager)
    assert _control(shop, "fulfill", {"order_id": ref.id, "tracking_number": "A1",
                                      "company": "UPS",
                                      "lines": [{"sku": sku, "quantity": 1}]}).status_code == 200
    status = plugin_manager.call(shop.connection, "shelfsync_fetch_order_status", order_ref=ref)
    assert not status.fulfilled
    [first] = status.fulfillments
    assert (first.tracking_number, first.carrier, first.lines) == (
        "A1", "UPS", (FulfilledLine(sku, 1),))
    _control(shop, "fulfill", {"order_id": ref.id, "tracking_number": "B2", "company": "USPS"})
    status = plugin_manager.call(shop.connection, "shelfsync_fetch_order_status", order_ref=ref)
    assert status.fulfilled and [f.tracking_number for f in status.fulfillments] == ["A1", "B2"]
    assert len({f.id for f in status.fulfillments}) == 2


def test_cancel_restocks_once_and_refuses_a_shipped_order(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    ref, sku = _created(shop, plugin_manager)
    before = _available(shop, sku)
    status = plugin_manager.call(shop.connection, "shelfsync_cancel_store_order", order_ref=ref,
                                 reason="Buyer changed their mind", restock=True)
    assert status.cancelled and _available(shop, sku) == before + 2
    again = plugin_manager.call(shop.connection, "shelfsync_cancel_store_order", order_ref=ref,
                                reason="Buyer changed their mind", restock=True)
    assert again.cancelled and _available(shop, sku) == before + 2
    shipped, _ = _created(shop, plugin_manager, order_id="5779002")
    _control(shop, "fulfill", {"order_id": shipped.id, "tracking_number": "X"})
    with pytest.raises(BadRequest, match="fulfillments"):
        plugin_manager.call(shop.connection, "shelfsync_cancel_store_order", order_ref=shipped,
                            reason="late", restock=False)


def test_refunds_add_up_once_per_return_and_never_exceed_the_order(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    ref, sku = _created(shop, plugin_manager)
    one = StoreRefund(id="R1", lines=(FulfilledLine(sku, 1),), amount=Money("10.00", "USD"),
                      restock=True)
    made = plugin_manager.call(shop.connection, "shelfsync_refund_store_order", order_ref=ref,
                               refund=one)
    assert made.created and made.amount == Money("10.00", "USD")
    found = plugin_manager.call(shop.connection, "shelfsync_refund_store_order", order_ref=ref,
                                refund=one)
    assert (found.created, found.id) == (False, made.id)
    two = StoreRefund(id="R2", lines=(FulfilledLine(sku, 1),), amount=Money("10.00", "USD"))
    plugin_manager.call(shop.connection, "shelfsync_refund_store_order", order_ref=ref,
                        refund=two)
    status = plugin_manager.call(shop.connection, "shelfsync_fetch_order_status", order_ref=ref)
    assert status.refunded
    three = StoreRefund(id="R3", lines=(FulfilledLine(sku, 1),), amount=Money("1.00", "USD"))
    with pytest.raises(BadRequest, match="more items than were purchased"):
        plugin_manager.call(shop.connection, "shelfsync_refund_store_order", order_ref=ref,
                            refund=three)


def test_order_webhooks_name_their_order(shop: RunningFake,
                                         plugin_manager: ShelfsyncPluginManager) -> None:
    ref, _ = _created(shop, plugin_manager)
    secret = shop.connection.credentials["client_secret"]
    number = int(ref.id.rsplit("/", 1)[1])
    for topic, body in (("orders/cancelled", {"id": number, "updated_at": "2026-12-03T09:00:00Z"}),
                        ("fulfillments/create", {"id": 6000000001, "order_id": number,
                                                 "updated_at": "2026-12-03T09:00:00Z"})):
        raw = json.dumps(body).encode()
        signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
        event = plugin_manager.call(shop.connection, "shelfsync_verify_webhook", headers={
            "X-Shopify-Hmac-Sha256": signature.decode(), "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop.connection.platform_id or "x.myshopify.com"},
            body=raw)
        assert event.order_id == ref.id, topic


def _graphql(shop: RunningFake, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{shop.base_url}/admin/api/2025-04/graphql.json",
                        json={"query": query, "variables": variables},
                        headers={"X-Shopify-Access-Token":
                                 shop.connection.credentials["access_token"]}, timeout=10)
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    return body["data"]


def test_fulfillment_create_ships_fulfillment_order_lines_as_the_merchant_would(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    ref, sku = _created(shop, plugin_manager, units=3)
    orders = _graphql(shop, """query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) {
      nodes { id status lineItems(first: 5) { nodes { id sku remainingQuantity } } } } } }""",
                      {"id": ref.id})["order"]["fulfillmentOrders"]["nodes"]
    [fo] = orders
    [item] = fo["lineItems"]["nodes"]
    assert (fo["status"], item["sku"], item["remainingQuantity"]) == ("OPEN", sku, 3)
    create = """mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
      fulfillment { id } userErrors { field message } } }"""
    made = _graphql(shop, create, {"f": {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"],
                                         "fulfillmentOrderLineItems": [
                                             {"id": item["id"], "quantity": 2}]}],
        "trackingInfo": {"number": "FC-1", "company": "DHL eCommerce"}}})["fulfillmentCreate"]
    assert made["userErrors"] == [] and made["fulfillment"]["id"]
    too_many = _graphql(shop, create, {"f": {"lineItemsByFulfillmentOrder": [{
        "fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": [
            {"id": item["id"], "quantity": 2}]}]}})["fulfillmentCreate"]
    assert too_many["fulfillment"] is None and "between 1 and 1" in str(too_many["userErrors"])
    status = plugin_manager.call(shop.connection, "shelfsync_fetch_order_status", order_ref=ref)
    assert [(f.tracking_number, f.carrier, f.lines) for f in status.fulfillments] == [
        ("FC-1", "DHL eCommerce", (FulfilledLine(sku, 2),))]
