"""Every request the plugin sends, and every answer the fake gives, holds against Adobe's
published Magento 2.4.8 admin REST schema (paths, query parameter names in both spellings,
body and answer schemas, no undeclared field at any depth): see `swagger.py`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shelfsync.core.errors import AuthError, NotFound, PluginError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import ChannelOrder, OrderLine, StoreOrderRef
from shelfsync.plugins.magento.fake import MagentoFake

from . import swagger
from .recording import Exchange, Recorder, connection, served


@pytest.fixture(autouse=True)
def _reference() -> None:
    swagger.schema()  # skip (or fail in CI) before any server starts


def _drive(pm: ShelfsyncPluginManager, recorder: Recorder, base: str, fake: MagentoFake
           ) -> None:
    """Call every hook the plugin implements, the failing paths included."""
    conn = connection(fake, base, page_size=7)

    def whole(hook: str, **kwargs: Any) -> list[Any]:
        return [x for page in pm.call(conn, hook, **kwargs) for x in page]

    assert pm.call(conn, "shelfsync_check_connection").currency == fake.store.currency
    pm.call(conn, "shelfsync_fetch_locations")
    levels = whole("shelfsync_fetch_stock_levels", skus=None)
    skus = sorted({level.sku for level in levels})[:3]
    pm.call(conn, "shelfsync_fetch_stock_levels", skus=skus)
    whole("shelfsync_fetch_backorder_policies", skus=None)
    pm.call(conn, "shelfsync_fetch_backorder_policies", skus=skus)
    whole("shelfsync_fetch_catalog")
    cursor = pm.call(conn, "shelfsync_poll_stock_changes", cursor=None).cursor
    sellable = next(sku for sku in sorted(fake.store.products)
                    if not sku.startswith("CFG") and fake.store.can_sell(
                        fake.store.products[sku], 1))
    order = ChannelOrder(id="5770001", status="AWAITING_SHIPMENT", lines=(
        OrderLine(line_id="1", sku_id="t1", seller_sku=sellable, quantity=1),))
    ref = pm.call(conn, "shelfsync_create_order", order=order)
    pm.call(conn, "shelfsync_create_order", order=order)
    pm.call(conn, "shelfsync_fetch_order_status", order_ref=ref)
    pm.call(conn, "shelfsync_poll_stock_changes", cursor=cursor)
    shipped = pm.call(conn, "shelfsync_create_order", order=ChannelOrder(
        id="5770003", status="AWAITING_SHIPMENT", lines=order.lines))
    httpx.post(f"{base}/_fake/ship", json={"order_id": int(shipped.id), "track_number": "T1"})
    assert pm.call(conn, "shelfsync_fetch_order_status", order_ref=shipped).tracking_number
    pm.call(conn, "shelfsync_cancel_store_order", order_ref=ref, reason="buyer", restock=True)
    pm.call(conn, "shelfsync_cancel_store_order", order_ref=ref, reason="buyer", restock=True)
    with pytest.raises(NotFound):
        pm.call(conn, "shelfsync_create_order", order=ChannelOrder(
            id="5770002", status="AWAITING_SHIPMENT",
            lines=(OrderLine(line_id="1", sku_id="t", seller_sku="NO-SUCH", quantity=1),)))
    with pytest.raises(NotFound):
        pm.call(conn, "shelfsync_fetch_order_status", order_ref=StoreOrderRef(id="999999"))
    spoiled = connection(fake, base)
    spoiled = type(spoiled)(platform="magento", base_url=base,
                            credentials={"access_token": "wrong"}, settings=spoiled.settings)
    with pytest.raises(AuthError):
        pm.call(spoiled, "shelfsync_check_connection")


def _check(exchanges: list[Exchange], *, sent_by_client: bool) -> Iterator[str]:
    for exchange in exchanges:
        op = swagger.operation(exchange.method, exchange.path)
        swagger.check_query(op, [name for name, _ in exchange.query])
        if sent_by_client:
            swagger.check_body(op, exchange.body)
            if exchange.method != "GET":
                assert exchange.content_type.startswith("application/json"), exchange
        swagger.check_answer(op, exchange.status, exchange.answer)
        yield f"{exchange.method} {op.template} {exchange.status}"


@pytest.mark.parametrize("options", [
    {"sources": 3, "input_limits": True},
    {"legacy": True},
], ids=["msi-input-limits", "legacy"])
def test_every_request_and_answer_matches_the_schema(
        plugin_manager: ShelfsyncPluginManager, options: dict[str, Any]) -> None:
    fake = MagentoFake(products=6, variants=2, seed=3, **options,
                       clock=lambda: datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    with served(fake) as (recorder, base):
        _drive(plugin_manager, recorder, base, fake)
    checked = list(_check(recorder.exchanges, sent_by_client=True))
    # The run covered reads, paging, the checkout, cancel and errors.
    templates = {line.rsplit(" ", 1)[0] for line in checked}
    expected = {"GET /V1/products", "GET /V1/store/storeConfigs", "GET /V1/orders",
                "GET /V1/orders/{id}", "POST /V1/guest-carts",
                "POST /V1/guest-carts/{cartId}/items",
                "POST /V1/guest-carts/{cartId}/shipping-information",
                "POST /V1/guest-carts/{cartId}/payment-information",
                "POST /V1/orders/{id}/cancel", "GET /V1/shipments",
                "POST /V1/orders/{id}/comments"}
    if not options.get("legacy"):
        expected |= {"GET /V1/inventory/source-items", "GET /V1/inventory/sources",
                     "GET /V1/inventory/stock-source-links",
                     "GET /V1/inventory/get-product-salable-quantity/{sku}/{stockId}"}
    assert expected <= templates, expected - templates
    assert any(line.endswith((" 401", " 404")) for line in checked)


def test_fake_answers_snake_case_criteria_and_refusals_within_the_schema() -> None:
    """Requests a client may send (snake_case criteria, bad bodies, wrong media types) are
    answered within the schema; their query names are declared ones."""
    fake = MagentoFake(products=3, variants=2, input_limits=True)
    with served(fake) as (recorder, base), httpx.Client(base_url=base) as http:
        auth = {"Authorization": f"Bearer {fake.access_token}"}
        snake = {"searchCriteria[filter_groups][0][filters][0][field]": "sku",
                 "searchCriteria[filter_groups][0][filters][0][value]": "SKU-0-%",
                 "searchCriteria[filter_groups][0][filters][0][condition_type]": "like",
                 "searchCriteria[sort_orders][0][field]": "sku",
                 "searchCriteria[sort_orders][0][direction]": "DESC",
                 "searchCriteria[page_size]": "2", "searchCriteria[current_page]": "9"}
        answer = http.get("/rest/default/V1/products", params=snake, headers=auth).json()
        assert answer["total_count"] == 6 and len(answer["items"]) == 2  # the last page again
        http.get("/rest/V1/inventory/source-items", params={"searchCriteria[pageSize]": "301"},
                 headers=auth)
        cart = http.post("/rest/default/V1/guest-carts", json={}).json()
        http.post(f"/rest/default/V1/guest-carts/{cart}/items",
                  json={"cartItem": {"sku": "SKU-0-00001-01", "qty": 1, "quote_id": cart,
                                     "extension_attributes": {"nope": 1}}})
        http.post(f"/rest/default/V1/guest-carts/{cart}/items", content=b"sku=1",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        http.post(f"/rest/default/V1/guest-carts/{cart}/items", content=b"{not json",
                  headers={"Content-Type": "application/json"})
        http.get("/rest/default/V1/inventory/sources")
    statuses = list(_check(recorder.exchanges, sent_by_client=False))
    assert [s.rsplit(" ", 1)[1] for s in statuses] == ["200", "400", "200", "400", "400",
                                                       "400", "401"]


def test_a_request_outside_the_schema_is_caught() -> None:
    """The validator itself refuses what Magento's schema does not have (it can fail)."""
    with pytest.raises(AssertionError):
        swagger.operation("GET", "/rest/default/V1/inventory/source-items-everything")
    op = swagger.operation("POST", "/rest/default/V1/guest-carts/abc/items")
    with pytest.raises(AssertionError):
        swagger.check_body(op, {"cartItem": {"sku": "A", "qty": 1, "quote_id": "abc",
                                             "tiktok_order": "1"}})
    with pytest.raises(AssertionError):
        swagger.check_query(swagger.operation("GET", "/rest/V1/products"),
                            ["searchCriteria[pageSizes]"])
    with pytest.raises((AssertionError, PluginError)):
        swagger.check_answer(op, 200, {"item_id": "not an integer", "qty": 1, "quote_id": "x"})
