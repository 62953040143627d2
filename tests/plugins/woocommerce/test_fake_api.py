"""The fake answers like WooCommerce: auth, pages and their headers, date filters, batch
limits, dropped fields, webhooks made through the API, silent storefront orders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from shelfsync.core.errors import AuthError, BadRequest, NotFound, PermissionDenied
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import Connection
from shelfsync.plugins.woocommerce.client import WooClient

from .conftest import ManualClock, api


def test_auth_basic_query_and_refusals(woo: RunningFake) -> None:
    creds = woo.connection.credentials
    url = f"{woo.base_url}/wp-json/wc/v3/products"
    assert httpx.get(url, params={"consumer_key": creds["consumer_key"],
                                  "consumer_secret": creds["consumer_secret"]}).status_code == 200
    for auth, code, message in (
            (None, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
            (("ck_wrong", creds["consumer_secret"]), "woocommerce_rest_authentication_error",
             "Consumer key is invalid."),
            ((creds["consumer_key"], "cs_wrong"), "woocommerce_rest_authentication_error",
             "Consumer secret is invalid.")):
        answer = httpx.get(url, auth=auth)
        assert answer.status_code == 401
        assert answer.json() == {"code": code, "message": message, "data": {"status": 401}}


def test_pages_headers_and_links(woo: RunningFake) -> None:
    answer = api(woo, "GET", "products", params={"per_page": 2, "page": 2, "orderby": "id",
                                                 "order": "asc"})
    assert answer.headers["X-WP-Total"] == "5" and answer.headers["X-WP-TotalPages"] == "3"
    links = answer.headers["Link"]
    assert 'page=1>; rel="prev"' in links and 'page=3>; rel="next"' in links
    tops = sorted(p.id for p in woo.fake.store.products.values() if p.type == "variable")
    assert [p["id"] for p in answer.json()] == tops[2:4]
    too_big = api(woo, "GET", "products", params={"per_page": 101})
    assert too_big.status_code == 400 and too_big.json()["code"] == "rest_invalid_param"
    assert api(woo, "GET", "products", params={"page": 9}).json() == []


def test_dates_filter_strictly_after(woo: RunningFake, clock: ManualClock) -> None:
    store = woo.fake.store
    clock.advance(10)
    item = store.sellable()[0]
    store.touch(item)
    parent = store.parent_of(item)
    store.touch(parent)
    at = "2026-12-03T09:00:10"
    newer = api(woo, "GET", "products", params={"modified_after": "2026-12-03T09:00:09",
                                                "dates_are_gmt": "true"}).json()
    assert [p["id"] for p in newer] == [parent.id]
    assert api(woo, "GET", "products", params={"modified_after": at}).json() == []
    assert api(woo, "GET", "products", params={"after": "2026-12-03T09:00:00Z"}).json() == []
    bad = api(woo, "GET", "orders", params={"modified_after": "last week"})
    assert bad.status_code == 400 and bad.json()["message"] == \
        "Invalid parameter(s): modified_after"


def test_a_sku_look_up_finds_variations_with_the_parents_stock(woo: RunningFake) -> None:
    store = woo.fake.store
    parent = next(p for p in store.products.values() if p.type == "variable")
    parent.manage_stock, parent.stock_quantity, parent.backorders = True, 42, "notify"
    child = store.products[parent.variations[1]]
    child.manage_stock = False
    found, = api(woo, "GET", "products", params={"sku": child.sku}).json()
    assert (found["type"], found["parent_id"], found["manage_stock"], found["stock_quantity"],
            found["backorders"], found["backorders_allowed"]) == \
        ("variation", parent.id, "parent", 42, "notify", True)
    assert isinstance(found["price"], str) and isinstance(found["regular_price"], str)


def test_batch_limit_and_client_chunks(woo: RunningFake) -> None:
    over = api(woo, "POST", "products/batch", json={"update": [{"id": 1}] * 60,
                                                    "delete": [2] * 41})
    assert over.status_code == 413
    assert over.json()["code"] == "woocommerce_rest_request_entity_too_large"
    store = woo.fake.store
    variations = [p for p in store.sellable() if p.type == "variation"]
    updates = [{"id": v.id, "manage_stock": True, "stock_quantity": 5} for v in variations] * 14
    # The fixture's 2 s timeout would let a busy machine retry a chunk (counted twice below).
    with WooClient(replace(woo.connection, timeout=60.0)) as client:
        answers = client.batch("products", update=updates)
    assert len(answers) == len(updates) == 210
    calls = [x for x in woo.fake.exchanges if x["path"].endswith("/products/batch")]
    assert [len(x["body"]["update"]) for x in calls[1:]] == [100, 100, 10]
    assert all(store.stock_quantity(v) == 5 for v in variations)


def test_dropped_fields_are_recorded(woo: RunningFake) -> None:
    item = woo.fake.store.sellable()[0]
    created = api(woo, "POST", "orders", json={
        "line_items": [{"product_id": item.parent_id, "variation_id": item.id, "quantity": 1,
                        "price": "1.00"}],
        "total": "1.00", "date_created": "2020-01-01T00:00:00"})
    assert created.status_code == 201  # WooCommerce says nothing …
    assert created.json()["line_items"][0]["price"] == float(item.regular_price)
    # … but the fake remembers what it dropped, so a test can fail on it.
    assert sorted(d["field"] for d in woo.control("GET", "dropped")) == \
        ["date_created", "line_items[0].price", "total"]
    woo.control("DELETE", "dropped")
    assert woo.control("GET", "dropped") == []


def test_webhook_api_errors(woo: RunningFake) -> None:
    missing = api(woo, "POST", "webhooks", json={"name": "x"})
    assert missing.json()["code"] == "rest_missing_callback_param"
    bad_topic = api(woo, "POST", "webhooks", json={"topic": "stock.moved",
                                                   "delivery_url": "https://x.example/"})
    assert bad_topic.json()["code"] == "woocommerce_rest_shop_webhook_invalid_topic"
    made = api(woo, "POST", "webhooks", json={"topic": "order.created",
                                              "delivery_url": "https://x.example/"})
    assert made.status_code == 201 and made.headers["Location"].endswith(
        f"/wp-json/wc/v3/webhooks/{made.json()['id']}")
    listed = api(woo, "GET", "webhooks").json()
    assert "secret" not in listed[0]  # the view context hides it
    no_force = api(woo, "DELETE", f"webhooks/{made.json()['id']}")
    assert no_force.status_code == 501


def test_storefront_order_moves_stock_without_a_product_webhook(
        woo: RunningFake, clock: ManualClock) -> None:
    store = woo.fake.store
    item = next(p for p in store.sellable() if store.manage_stock(p) is True)
    before = store.stock_quantity(item)
    clock.advance(3)
    woo.control("POST", "orders", {"items": [{"sku": item.sku, "quantity": 2}],
                                   "webhooks": False})
    assert store.stock_quantity(item) == before - 2
    assert item.modified == clock.now  # the stock owner was saved
    assert woo.control("GET", "state")["webhooks_delivered"] == 0


@pytest.mark.parametrize(("permissions", "error"), [("read", PermissionDenied)])
def test_a_read_only_key_cannot_create_orders(
        run_fake: Callable[..., RunningFake], plugin_manager: ShelfsyncPluginManager,
        permissions: str, error: type[Exception]) -> None:
    woo = run_fake("woocommerce", products=2, variants=1, key_permissions=permissions)
    with pytest.raises(error), WooClient(woo.connection) as client:
        client.request("POST", "orders", json={"line_items": []})


def test_client_maps_woocommerce_errors(woo: RunningFake) -> None:
    with WooClient(woo.connection) as client:
        with pytest.raises(NotFound) as missing:
            client.get("products/999999")
        assert missing.value.code == "woocommerce_rest_product_invalid_id"
        with pytest.raises(BadRequest) as no_route:
            client.get("no/such/route")
        assert no_route.value.code == "rest_no_route" and "site's root" in str(no_route.value)
    bad = Connection(platform="woocommerce", base_url=woo.base_url,
                     credentials={"consumer_key": "ck_x", "consumer_secret": "cs_x"},
                     settings={"query_string_auth": True})
    with pytest.raises(AuthError) as refused, WooClient(bad) as client:
        client.get("products")
    assert "cs_x" not in str(refused.value)


def test_orders_batch_limit_and_updates(woo: RunningFake) -> None:
    item = next(p for p in woo.fake.store.sellable() if woo.fake.store.manage_stock(p) is True)
    order = woo.control("POST", "orders", {"items": [{"sku": item.sku, "quantity": 1}]})
    over = api(woo, "POST", "orders/batch", json={"update": [{"id": order["id"]}] * 101})
    assert over.status_code == 413
    done = api(woo, "POST", "orders/batch", json={"update": [
        {"id": order["id"], "status": "completed"}, {"id": 999999, "status": "completed"}]})
    first, second = done.json()["update"]
    assert first["status"] == "completed"
    assert second["error"]["code"] == "woocommerce_rest_shop_order_invalid_id"


@pytest.mark.parametrize(("products", "variants", "seed"), [(4, 3, 2), (6, 1, 9)])
def test_the_same_skus_as_the_shopify_fake(products: int, variants: int, seed: int) -> None:
    from shelfsync.plugins.shopify.fake import ShopifyFake
    from shelfsync.plugins.woocommerce.fake import WooCommerceFake

    shopify = ShopifyFake(products=products, variants=variants, seed=seed)
    woo = WooCommerceFake(products=products, variants=variants, seed=seed)
    assert set(woo.truth().catalog) == {v.sku for v in shopify.store.variants}
    kinds = {p.type for p in woo.store.products.values()}
    assert kinds == ({"simple"} if variants == 1 else {"variable", "variation"})
