"""The TikTok fake's orders and webhooks over real HTTP, with a tiny webhook receiver."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.server import SwappableApp, serving
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import signed_call
from shelfsync.plugins.tiktok.signing import sign_webhook, signatures_match


class Receiver:
    """Records every webhook delivery (headers, raw body)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.received.append((dict(request.headers), request.get_data()))
        return Response("ok")(environ, start_response)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[SwappableApp, str, Receiver, str]]:
    mount, receiver = SwappableApp(), Receiver()
    with serving(mount) as api_server, serving(receiver) as hook_server:
        yield mount, api_server.base_url, receiver, hook_server.base_url


@pytest.fixture
def fake(servers: tuple[SwappableApp, str, Receiver, str]) -> TikTokFake:
    servers[0].app = TikTokFake(shops=2, products=10, variants=2, seed=5)
    servers[2].received.clear()
    return servers[0].app


@pytest.fixture
def base(servers: tuple[SwappableApp, str, Receiver, str]) -> str:
    return servers[1]


@pytest.fixture
def hooks(fake: TikTokFake, servers: tuple[SwappableApp, str, Receiver, str]) -> Receiver:
    """The receiver, registered through the shared `/_fake/webhooks` control endpoint."""
    httpx.post(servers[1] + "/_fake/webhooks", json={"url": servers[3] + "/tiktok"})
    return servers[2]


def api(fake: TikTokFake, base: str, method: str, path: str, query: dict[str, str] | None = None,
        body: Any = None, shop: int = 0) -> dict[str, Any]:
    return signed_call(base, fake.connections()[shop]["credentials"], method, path,
                       query=query, body=body).json()


def place(base: str, sku: str, quantity: int = 1, status: str = "AWAITING_SHIPMENT",
          shop: int = 0) -> httpx.Response:
    return httpx.post(base + "/_fake/orders", json={
        "shop_id": shop, "status": status, "items": [{"seller_sku": sku, "quantity": quantity}]})


def live_sku(fake: TikTokFake, shop: int = 0, stock: int = 3) -> str:
    the_shop = fake.shops[shop]
    return next(s.seller_sku for s in the_shop.skus.values()
                if the_shop.products[s.product_id].status == "ACTIVATE"
                and len(s.available) == 1 and sum(s.available.values()) >= stock)


def verified(fake: TikTokFake, receiver: Receiver) -> list[dict[str, Any]]:
    """Every delivery's body, after checking its signature as a receiver must."""
    fake.webhooks.wait_idle()
    bodies = []
    for headers, raw in receiver.received:
        expected = sign_webhook(fake.creds.app_key, fake.creds.app_secret, raw)
        assert signatures_match(expected, headers.get("Authorization"))
        bodies.append(json.loads(raw))
    return bodies


def test_placed_order_reserves_stock_and_pushes_a_signed_webhook(
        fake: TikTokFake, base: str, hooks: Receiver) -> None:
    sku_code = live_sku(fake)
    sku = fake.shops[0].by_seller_sku[sku_code]
    before = sum(sku.available.values())
    response = place(base, sku_code, quantity=2)
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "AWAITING_SHIPMENT"
    assert [li["seller_sku"] for li in order["line_items"]] == [sku_code, sku_code]
    assert len({li["id"] for li in order["line_items"]}) == 2
    assert "quantity" not in order["line_items"][0]
    assert order["recipient_address"]["region_code"] == "GB"
    inventory = api(fake, base, "POST", "/product/202309/inventory/search",
                    body={"sku_ids": [sku.id]})["data"]["inventory"][0]["skus"][0]
    assert inventory["total_available_quantity"] == before - 2
    assert inventory["total_committed_quantity"] == 2
    (push,) = verified(fake, hooks)
    assert push["type"] == 1 and push["shop_id"] == fake.shops[0].id
    assert push["data"] == {"order_id": order["id"], "order_status": "AWAITING_SHIPMENT",
                            "is_on_hold_order": False, "update_time": order["update_time"]}
    assert push["tts_notification_id"].isdigit()


def test_status_changes_move_stock_and_cancel_is_pushed_as_cancel(
        fake: TikTokFake, base: str, hooks: Receiver) -> None:
    sku_code = live_sku(fake)
    sku = fake.shops[0].by_seller_sku[sku_code]
    start = sum(sku.available.values())
    cancelled = place(base, sku_code).json()
    shipped = place(base, sku_code).json()
    assert httpx.post(base + f"/_fake/orders/{cancelled['id']}/status",
                      json={"status": "CANCELLED"}).json()["status"] == "CANCELLED"
    httpx.post(base + f"/_fake/orders/{shipped['id']}/status", json={"status": "IN_TRANSIT"})
    assert sum(sku.available.values()) == start - 1
    assert sum(sku.committed.values()) == 0
    # One order's webhooks arrive in order; two orders' may interleave (as TikTok's do).
    statuses: dict[str, list[str]] = {}
    for push in verified(fake, hooks):
        statuses.setdefault(push["data"]["order_id"], []).append(push["data"]["order_status"])
    assert statuses == {cancelled["id"]: ["AWAITING_SHIPMENT", "CANCEL"],
                        shipped["id"]: ["AWAITING_SHIPMENT", "IN_TRANSIT"]}
    again = httpx.post(base + f"/_fake/orders/{cancelled['id']}/status",
                       json={"status": "AWAITING_SHIPMENT"})
    assert again.status_code == 409


def test_orders_a_buyer_could_not_place_are_refused(fake: TikTokFake, base: str) -> None:
    inactive = next(p for p in fake.shops[0].products.values() if p.status != "ACTIVATE")
    assert place(base, "NOT-A-SKU").status_code == 409
    assert place(base, inactive.skus[0].seller_sku).status_code == 409
    assert place(base, live_sku(fake), quantity=100_000).status_code == 409
    assert place(base, live_sku(fake), status="DELIVERED").status_code == 409


def test_order_search_pages_completely_in_both_orders(fake: TikTokFake, base: str) -> None:
    sku_code = live_sku(fake, stock=8)
    placed = [place(base, sku_code).json()["id"] for _ in range(7)]
    place(base, live_sku(fake, shop=1), shop=1)
    for sort_order in ("ASC", "DESC"):
        ids, token = [], ""
        while True:
            query = {"page_size": "3", "sort_order": sort_order, "sort_field": "create_time"}
            if token:
                query["page_token"] = token
            data = api(fake, base, "POST", "/order/202309/orders/search", query, {})["data"]
            assert data["total_count"] == 7
            ids += [o["id"] for o in data["orders"]]
            token = data["next_page_token"]
            if not token:
                break
        assert sorted(ids) == sorted(placed) and len(ids) == 7
    bad = api(fake, base, "POST", "/order/202309/orders/search", {"page_size": "0"}, {})
    assert bad["code"] == 36009004


def test_order_search_filters(fake: TikTokFake, base: str) -> None:
    sku_code = live_sku(fake)
    unpaid = place(base, sku_code, status="UNPAID").json()
    place(base, sku_code)
    path = "/order/202309/orders/search"
    only_unpaid = api(fake, base, "POST", path, {"page_size": "10"}, {"order_status": "UNPAID"})
    assert [o["id"] for o in only_unpaid["data"]["orders"]] == [unpaid["id"]]
    future = api(fake, base, "POST", path, {"page_size": "10"},
                 {"create_time_ge": int(time.time()) + 100})
    assert future["data"] == {"total_count": 0, "next_page_token": "", "orders": []}
    assert api(fake, base, "POST", path, {"page_size": "10"},
               {"order_status": "CANCEL"})["code"] == 36009004


def test_order_detail(fake: TikTokFake, base: str) -> None:
    unpaid = place(base, live_sku(fake), status="UNPAID").json()
    paid = place(base, live_sku(fake)).json()
    elsewhere = place(base, live_sku(fake, shop=1), shop=1).json()
    data = api(fake, base, "GET", "/order/202309/orders",
               {"ids": f"{unpaid['id']},{paid['id']}"})["data"]
    by_id = {o["id"]: o for o in data["orders"]}
    assert "recipient_address" not in by_id[unpaid["id"]]
    assert "paid_time" not in by_id[unpaid["id"]]
    assert by_id[paid["id"]]["recipient_address"]["name"]
    assert set(by_id[paid["id"]]["payment"]) >= {"currency", "sub_total", "shipping_fee",
                                                 "total_amount"}
    crossed = api(fake, base, "GET", "/order/202309/orders", {"ids": elsewhere["id"]})
    assert crossed["code"] == 21008111
    too_many = ",".join(str(i) for i in range(51))
    assert api(fake, base, "GET", "/order/202309/orders", {"ids": too_many})["code"] == 36009004


def test_product_status_change_pushes_type_5(
        fake: TikTokFake, base: str, hooks: Receiver) -> None:
    product = next(iter(fake.shops[1].products.values()))
    reply = httpx.post(base + f"/_fake/products/{product.id}/status",
                       json={"status": "SELLER_DEACTIVATED"})
    assert reply.json()["status"] == "SELLER_DEACTIVATED"
    (push,) = verified(fake, hooks)
    assert push["type"] == 5 and push["shop_id"] == fake.shops[1].id
    assert push["data"]["product_id"] == int(product.id)  # a number in this push
    # The push names the audit event, not the new product status (5-product-status-change).
    assert push["data"]["status"] == "PRODUCT_STATUS_CHANGED"


def test_product_status_pushes_name_the_audit_event(
        fake: TikTokFake, base: str, hooks: Receiver) -> None:
    product = next(iter(fake.shops[0].products.values()))
    for status in ("PENDING", "ACTIVATE", "FAILED"):
        httpx.post(base + f"/_fake/products/{product.id}/status", json={"status": status})
    events = [(p["data"]["status"], bool(p["data"]["suspended_reason"]))
              for p in verified(fake, hooks)]
    assert events == [("PRODUCT_STATUS_CHANGED", False), ("PRODUCT_FIRST_PASS_REVIEW", False),
                      ("PRODUCT_AUDIT_FAILURE", True)]


def test_shop_subscription_receives_only_that_shops_pushes(
        fake: TikTokFake, base: str, servers: tuple[SwappableApp, str, Receiver, str]) -> None:
    address = servers[3] + "/subscribed"
    put = api(fake, base, "PUT", "/event/202309/webhooks",
              body={"address": address, "event_type": "ORDER_STATUS_CHANGE"}, shop=1)
    assert put["code"] == 0
    listed = api(fake, base, "GET", "/event/202309/webhooks", shop=1)["data"]
    assert listed["total_count"] == 1 and listed["webhooks"][0]["address"] == address
    assert api(fake, base, "PUT", "/event/202309/webhooks",
               body={"address": address, "event_type": "NOPE"}, shop=1)["code"] == 36009004
    place(base, live_sku(fake, shop=0), shop=0)
    order = place(base, live_sku(fake, shop=1), shop=1).json()
    (push,) = verified(fake, servers[2])
    assert push["data"]["order_id"] == order["id"]


def test_webhook_sample_is_correctly_signed(fake: TikTokFake, base: str) -> None:
    sample = httpx.post(base + "/_fake/webhook-sample", json={"shop": fake.shops[1].id}).json()
    raw = sample["body"].encode("utf-8")
    expected = sign_webhook(fake.creds.app_key, fake.creds.app_secret, raw)
    assert signatures_match(expected, sample["headers"]["Authorization"])
    body = json.loads(raw)
    assert body["type"] == 1 and body["shop_id"] == fake.shops[1].id
    assert set(body["data"]) == {"order_id", "order_status", "is_on_hold_order", "update_time"}
    headers, raw_first = fake.webhook_sample({})
    assert json.loads(raw_first)["shop_id"] == fake.shops[0].id
    tampered = raw_first.replace(b'"type":1', b'"type":2')
    assert not signatures_match(sign_webhook(fake.creds.app_key, fake.creds.app_secret, tampered),
                                headers["Authorization"])


def test_state_counts(fake: TikTokFake, base: str) -> None:
    place(base, live_sku(fake))
    httpx.post(base + "/_fake/qps", json={"qps": 50})
    state = httpx.get(base + "/_fake/state", params={"inventory": "1"}).json()
    assert state["qps"] == 50
    first = state["shops"][0]
    assert first["orders"] == 1 and first["orders_by_status"] == {"AWAITING_SHIPMENT": 1}
    assert first["products"] == 10 and first["live_products"] == 9
    assert len(first["inventory"]) == first["skus"] == 19
    assert httpx.post(base + "/_fake/qps", json={"qps": -1}).status_code == 400


def test_order_shorthand_and_forged_page_token(fake: TikTokFake, base: str) -> None:
    sku_code = live_sku(fake)
    order = httpx.post(base + "/_fake/orders", json={"seller_skus": {sku_code: 2}}).json()
    assert [li["seller_sku"] for li in order["line_items"]] == [sku_code, sku_code]
    reply = api(fake, base, "POST", "/order/202309/orders/search",
                {"page_size": "1", "page_token": "bm90LWEtdG9rZW4"}, {})
    assert reply["code"] == 36009004


def test_an_on_hold_order_moves_to_awaiting_shipment_when_its_hour_is_up(
        servers: tuple[SwappableApp, str, Receiver, str], base: str) -> None:
    now = [time.time()]
    fake = TikTokFake(shops=1, products=10, variants=2, seed=5, clock=lambda: now[0])
    servers[0].app = fake
    servers[2].received.clear()
    httpx.post(base + "/_fake/webhooks", json={"url": servers[3] + "/tiktok"})
    held = place(base, live_sku(fake), status="ON_HOLD").json()
    short = httpx.post(base + "/_fake/orders", json={
        "status": "ON_HOLD", "on_hold_seconds": 60,
        "items": [{"seller_sku": live_sku(fake), "quantity": 1}]}).json()
    cancelled = place(base, live_sku(fake), status="ON_HOLD").json()
    httpx.post(base + f"/_fake/orders/{cancelled['id']}/status", json={"status": "CANCELLED"})

    def status(order_id: str) -> str:
        detail = signed_call(base, fake.connections()[0]["credentials"], "GET",
                             "/order/202309/orders", query={"ids": order_id},
                             timestamp=int(now[0])).json()  # signed on the fake's clock
        return detail["data"]["orders"][0]["status"]

    now[0] += 59
    assert (status(held["id"]), status(short["id"])) == ("ON_HOLD", "ON_HOLD")
    now[0] += 1  # the 60-second window ends: the next request moves it
    assert (status(held["id"]), status(short["id"])) == ("ON_HOLD", "AWAITING_SHIPMENT")
    now[0] += 3600
    assert status(held["id"]) == "AWAITING_SHIPMENT"
    assert status(cancelled["id"]) == "CANCELLED"  # a cancelled hold stays cancelled
    moves = [(p["data"]["order_id"], p["data"]["order_status"], p["data"]["is_on_hold_order"])
             for p in verified(fake, servers[2])
             if p["data"]["order_status"] == "AWAITING_SHIPMENT"]
    assert moves == [(short["id"], "AWAITING_SHIPMENT", False),
                     (held["id"], "AWAITING_SHIPMENT", False)]
    bad = httpx.post(base + "/_fake/orders", json={
        "status": "ON_HOLD", "on_hold_seconds": -1,
        "items": [{"seller_sku": live_sku(fake), "quantity": 1}]})
    assert bad.status_code == 400 and "on_hold_seconds" in bad.text
