"""The TikTok fake's after-sale endpoints held against the independent `tiktok-shop-api` SDK.

Same rule as test_independent_client.py: every call goes through the SDK (its own paths,
versions, signing and typed models), and every answer must fit the SDK's model exactly. The
SDK speaks the newest versions (Mark Package As Shipped 202610, cancellations and returns
202602); the fake serves those and the 202309 ones the plugin uses.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tiktok_shop_api import TikTokShopError, Webhooks
from tiktok_shop_api.generated import models as m

from shelfsync.plugins.tiktok.fake import TikTokFake

from . import test_independent_client as independent

# The same fixtures and helpers as the rest of the fake's SDK checks.
servers, fake, base = independent.servers, independent.fake, independent.base
client, credentials, data = independent.client, independent.credentials, independent.data
live_skus, place, problems = independent.live_skus, independent.place, independent.problems


def _order(fake: TikTokFake, base: str, units: int = 2) -> dict[str, Any]:
    sdk = client(fake, base)
    _, sku = live_skus(sdk)[0]
    return place(base, sku.seller_sku, units)


def test_delivery_options_and_shipping_providers(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    warehouses = data(sdk.logistics.get_warehouse_list()).warehouses
    sales = next(w for w in warehouses if w.type_ == "SALES_WAREHOUSE")
    options = data(sdk.logistics.get_warehouse_delivery_options(sales.id)).delivery_options
    assert [o.type_ for o in options] == ["STANDARD"]
    providers = data(sdk.logistics.get_shipping_providers(options[0].id)).shipping_providers
    assert {p.name for p in providers} >= {"UPS", "USPS"}


def test_mark_package_as_shipped_ships_only_the_named_lines(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    order = _order(fake, base)
    warehouse = order["warehouse_id"]
    option = data(sdk.logistics.get_warehouse_delivery_options(warehouse)).delivery_options[0]
    provider = data(sdk.logistics.get_shipping_providers(option.id)).shipping_providers[0]
    first = order["line_items"][0]["id"]
    body = m.MarkPackageAsShippedRequest(
        order_line_list=[m.ConfirmOrderSplitRequestSplittableGroupsV2OrderLineList(
            order_line_id=first)],
        shipping_info_list=[m.ShippingInfoList(tracking_number="TRACK-1",
                                               shipping_provider_id=provider.id)])
    shipped = data(sdk.fulfillment.mark_package_as_shipped(order["id"], body=body))
    assert shipped.order_line_item_ids == [first]
    detail = data(sdk.fulfillment.get_package_detail(shipped.package_id))
    assert (detail.tracking_number, detail.order_line_item_ids) == ("TRACK-1", [first])
    lines = data(sdk.orders.get_order_detail(ids=[order["id"]])).orders[0]
    assert lines.status == "PARTIALLY_SHIPPING"
    assert [li.tracking_number or "" for li in lines.line_items] == ["TRACK-1", ""]
    with pytest.raises(TikTokShopError, match="already shipped"):
        sdk.fulfillment.mark_package_as_shipped(order["id"], body=m.MarkPackageAsShippedRequest(
            order_line_list=[m.ConfirmOrderSplitRequestSplittableGroupsV2OrderLineList(
                order_line_id=first)],
            shipping_info_list=[m.ShippingInfoList(tracking_number="TRACK-1",
                                                   shipping_provider_id=provider.id)]))


def test_cancel_order_and_its_webhooks(fake: TikTokFake, base: str,
                                       servers: Any) -> None:
    sdk = client(fake, base)
    order = _order(fake, base, 1)
    fake.webhooks.wait_idle()
    servers[2].received.clear()
    httpx.post(base + "/_fake/webhooks", json={"url": servers[3] + "/all"})
    answer = data(sdk.return_and_refund.cancel_order(body=m.CancelOrderRequest(
        order_id=order["id"], cancel_reason="seller_cancel_reason_out_of_stock")))
    assert answer.cancel_status == "CANCELLATION_REQUEST_COMPLETE"
    assert data(sdk.orders.get_order_detail(ids=[order["id"]])).orders[0].status == "CANCELLED"
    fake.webhooks.wait_idle()
    creds = credentials(fake)
    events = [Webhooks.verify_and_parse(app_key=creds["app_key"], app_secret=creds["app_secret"],
                                        raw_body=body, signature=headers["Authorization"])
              for headers, body in servers[2].received]
    assert problems(events) == []
    cancelled = [e for e in events if isinstance(e, m.CancellationStatusChangeWebhook)]
    assert [(e.data.order_id, e.data.cancel_status, e.data.cancellations_role)
            for e in cancelled] == [(order["id"], "CANCELLATION_REQUEST_COMPLETE", "SELLER")]
    with pytest.raises(TikTokShopError, match="already been cancelled"):
        sdk.return_and_refund.cancel_order(body=m.CancelOrderRequest(
            order_id=order["id"], cancel_reason="seller_cancel_reason_out_of_stock"))


def test_return_webhook_fits_the_sdk(fake: TikTokFake, base: str,
                                     servers: Any) -> None:
    order = _order(fake, base, 1)
    fake.webhooks.wait_idle()
    servers[2].received.clear()
    httpx.post(base + "/_fake/webhooks", json={"url": servers[3] + "/all"})
    httpx.post(base + "/_fake/returns", json={"order_id": order["id"]})
    fake.webhooks.wait_idle()
    creds = credentials(fake)
    [(headers, body)] = servers[2].received
    event = Webhooks.verify_and_parse(app_key=creds["app_key"], app_secret=creds["app_secret"],
                                      raw_body=body, signature=headers["Authorization"])
    assert isinstance(event, m.ReturnStatusChangeWebhook) and problems(event) == []
    assert event.data.order_id == order["id"]


def test_search_returns_fits_the_sdk(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    order = _order(fake, base)
    reply = httpx.post(base + "/_fake/returns", json={
        "order_id": order["id"], "line_ids": [order["line_items"][0]["id"]]})
    assert reply.status_code == 201, reply.text
    found = data(sdk.return_and_refund.search_returns(
        body=m.SearchReturnsRequest(order_ids=[order["id"]]), page_size="10"))
    [ret] = found.return_orders
    assert ret.return_status == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    assert [li.order_line_item_id for li in ret.return_line_items] == [
        order["line_items"][0]["id"]]
    assert ret.refund_amount.refund_total == order["line_items"][0]["sale_price"]
