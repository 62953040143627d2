"""Every request the plugin sends, and every answer the fake gives, fits the reference: the
OpenAPI description generated from a live WooCommerce store's wc/v3 routes."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

import pytest

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import Address, ChannelOrder, Connection, Money, OrderLine, PassScope

from .conftest import ManualClock
from .reference import check_exchange, find_reference, load


@pytest.fixture(scope="module")
def reference() -> dict:
    path = find_reference()
    if path is None or not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("the WooCommerce reference (../shared/reference) is missing")
        pytest.skip("no ../shared/reference/ here (set SHELFSYNC_REFERENCE_DIR)")
    return load(str(path))


def _everything(pm: ShelfsyncPluginManager, conn: Connection, woo: RunningFake,
                clock: ManualClock) -> None:
    """Every hook that talks to the API, as core calls them."""
    assert pm.call(conn, "shelfsync_check_connection").currency == "USD"  # the fake's default
    skus = [item.sku for page in pm.call(conn, "shelfsync_fetch_catalog") for item in page]
    for hook in ("shelfsync_fetch_stock_levels", "shelfsync_fetch_backorder_policies"):
        list(pm.call(conn, hook, skus=None, scope=None))
        pm.call(conn, hook, skus=skus[:4], scope=PassScope())
    cursor = pm.call(conn, "shelfsync_poll_stock_changes", cursor=None, scope=None).cursor
    order = ChannelOrder(id=f"ref-{conn.settings.get('query_string_auth')}", status="AWAITING",
                         lines=(OrderLine("1", "t", skus[0], 1, Money("9.99", "USD")),),
                         total=Money("9.99", "USD"), shipping_fee=Money("1.00", "USD"),
                         discount=Money("0.50", "USD"), buyer_email="a@example.com",
                         recipient=Address(name="Ada Lovelace", phone="+1", lines=("1 Main",),
                                           city="Toronto", postal_code="M5V", country_code="CA"),
                         created_at=clock.now - timedelta(minutes=1))
    ref = pm.call(conn, "shelfsync_create_order", order=order)
    pm.call(conn, "shelfsync_create_order", order=order)
    clock.advance(5)
    pm.call(conn, "shelfsync_poll_stock_changes", cursor=cursor, scope=None)
    pm.call(conn, "shelfsync_fetch_order_status", order_ref=ref)
    pm.call(conn, "shelfsync_cancel_store_order", order_ref=ref, reason="ref", restock=True)
    address = "https://shelfsync.example/webhooks/woocommerce/1"
    pm.call(conn, "shelfsync_subscribe_webhooks", address=address)
    next(iter(woo.fake.store.webhooks.values())).secret = "rotated"
    pm.call(conn, "shelfsync_subscribe_webhooks", address=address)


@pytest.mark.parametrize("query_string_auth", [False, True])
def test_requests_and_answers_fit_the_reference(
        run_fake: Callable[..., RunningFake], plugin_manager: ShelfsyncPluginManager,
        clock: ManualClock, reference: dict, query_string_auth: bool) -> None:
    woo = run_fake("woocommerce", products=6, variants=2, seed=1, clock=clock)
    conn = woo.with_settings(page_size=4, query_string_auth=query_string_auth)
    _everything(plugin_manager, conn, woo, clock)
    exchanges = woo.fake.exchanges
    assert len(exchanges) > 20
    assert {x["auth"] for x in exchanges} == {"query" if query_string_auth else "basic"}
    problems = [p for x in exchanges for p in check_exchange(reference, x)]
    assert problems == []


def test_error_answers_and_batches_fit_the_reference(
        woo: RunningFake, reference: dict) -> None:
    from .conftest import api

    variation = woo.fake.store.sellable()[0]
    api(woo, "GET", "products/999999")
    api(woo, "GET", "products", params={"per_page": 101})
    api(woo, "GET", "products", params={"modified_after": "yesterday"})
    api(woo, "POST", "products/batch", json={"update": [{"id": 1}] * 101})
    api(woo, "POST", f"products/{variation.parent_id}/variations/batch",
        json={"update": [{"id": variation.id, "stock_quantity": 3, "manage_stock": True}]})
    api(woo, "POST", "webhooks", json={"topic": "product.nope", "delivery_url": "x"})
    api(woo, "GET", f"products/{variation.parent_id}/variations/{variation.id}")
    api(woo, "POST", "orders/batch", json={"update": [{"id": 1}] * 101})
    assert [x["status"] for x in woo.fake.exchanges] == \
        [404, 400, 400, 413, 200, 400, 200, 413]
    problems = [p for x in woo.fake.exchanges
                for p in check_exchange(reference, x, request=False)]
    assert problems == []


def test_the_check_catches_a_field_the_reference_does_not_have(reference: dict) -> None:
    exchange = {"method": "POST", "path": "/wp-json/wc/v3/orders", "query": [],
                "body": {"line_items": [{"product_id": 1, "quantity": 1}], "shop": "x"},
                "status": 201, "answer": {"id": 1, "unheard_of": True}}
    problems = check_exchange(reference, exchange)
    assert any("'shop'" in p for p in problems)
    assert any("unheard_of" in p for p in problems)


def test_webhook_payloads_fit_the_reference(woo: RunningFake, reference: dict) -> None:
    """A product.updated body is a product, an order.created body an order (the REST
    answer of the resource, as WC_Webhook::build_payload makes it)."""
    import json

    from .reference import check

    _, body = woo.webhook_sample()
    item = woo.fake.store.sellable()[0]
    order = woo.control("POST", "orders", {"items": [{"sku": item.sku, "quantity": 1}]})
    errors: list[str] = []
    check(json.loads(body), {"$ref": "#/components/schemas/product"}, reference, "product",
          errors)
    check(order, {"$ref": "#/components/schemas/shop_order"}, reference, "order", errors)
    assert errors == []
