"""The TikTok fake held against an independent client: the `tiktok-shop-api` SDK.

That SDK is generated from TikTok's published API definitions and signs requests with its
own code, so whatever it sends the fake must accept, and whatever the fake answers must fit
the SDK's typed models: no field the documented schema lacks (`additional_properties`), no
required field missing. Every call below goes through the SDK; the fake's `/_fake/` control
endpoints only stage orders, auth codes and expired tokens.

SDK quirk worked around here (see `order_detail`): it sends Get Order Detail's `ids` list
as repeated `ids=a&ids=b` parameters, where clients in production join them with commas.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest
from tiktok_shop_api import (
    EVENT_TYPES,
    TikTokShop,
    TikTokShopAuth,
    TikTokShopError,
    Webhooks,
    WebhookSignatureError,
)
from tiktok_shop_api.generated import models as m
from tiktok_shop_api.generated.types import UNSET, Unset
from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.server import SwappableApp, serving
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.mapping import WEBHOOK_TOPICS

INVALID_SIGN = 106001
EXPIRED_TOKEN = 105002


def _allowed_types(annotation: Any) -> tuple[type, ...]:
    """The runtime types a resolved model annotation (`str | Unset`, `list[X] | Unset` …)
    admits; a `Literal[1]` (a webhook's `type`) admits int."""
    members = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (
        annotation,)
    allowed: list[type] = []
    for member in members:
        origin = typing.get_origin(member) or member
        allowed.append(int if origin is typing.Literal else origin)
    return tuple(t for t in allowed if isinstance(t, type))


def problems(value: Any, path: str = "") -> list[str]:
    """What a typed SDK model shows wrong in a parsed answer: fields its schema does not
    have, required fields missing, and values of the wrong JSON type (the generated
    `from_dict` copies scalars without checking them)."""
    found: list[str] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            found += problems(item, f"{path}[{index}]")
        return found
    model = type(value)
    if not attrs.has(model):
        return found
    if getattr(value, "additional_properties", None):
        found.append(f"{path or model.__name__}: unknown {sorted(value.additional_properties)}")
    attrs.resolve_types(model, globalns={**vars(sys.modules[model.__module__]), **vars(m)})
    for field in attrs.fields(model):
        if not field.init:
            continue
        item, where = getattr(value, field.name), f"{path}.{field.name}"
        if item is None or isinstance(item, Unset):
            if field.default is attrs.NOTHING:
                found.append(f"{where}: required but missing")
            continue
        allowed = _allowed_types(field.type)
        if allowed and (not isinstance(item, allowed)
                        or (isinstance(item, bool) and bool not in allowed)):
            found.append(f"{where}: {type(item).__name__}, expected {field.type}")
        found += problems(item, where)
    return found


def data(response: Any) -> Any:
    """The `data` of a successful typed response that fits its model exactly."""
    assert response is not None and response.code == 0
    assert problems(response) == []
    assert isinstance(response.request_id, str) and response.request_id
    return response.data


class Receiver:
    """A tiny webhook endpoint recording each delivery's headers and raw body."""

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
    servers[0].app = TikTokFake(shops=2, products=12, variants=2, seed=7)
    servers[2].received.clear()
    return servers[0].app


@pytest.fixture
def base(servers: tuple[SwappableApp, str, Receiver, str]) -> str:
    return servers[1]


def credentials(fake: TikTokFake, shop: int = 0) -> dict[str, str]:
    return fake.connections()[shop]["credentials"]


def client(fake: TikTokFake, base: str, shop: int = 0, **options: Any) -> TikTokShop:
    creds = credentials(fake, shop)
    return TikTokShop(creds["app_key"], creds["app_secret"], creds["access_token"],
                      creds["shop_cipher"], base_url=base, **options)


def auth(fake: TikTokFake, base: str) -> TikTokShopAuth:
    """The SDK's OAuth helper, pointed at the fake (which is its own auth host)."""
    creds = credentials(fake)
    return TikTokShopAuth(creds["app_key"], creds["app_secret"], base_url=base)


def place(base: str, sku: str, quantity: int = 1, status: str = "AWAITING_SHIPMENT",
          shop: int = 0) -> dict[str, Any]:
    reply = httpx.post(base + "/_fake/orders", json={
        "shop_id": shop, "status": status, "items": [{"seller_sku": sku, "quantity": quantity}]})
    assert reply.status_code == 201, reply.text
    return reply.json()


def all_products(sdk: TikTokShop, body: m.SearchProductsRequest | None = None,
                 size: int = 4) -> tuple[list[Any], int]:
    """Every product a search finds, page by page, and the total it reports."""
    products: list[Any] = []
    token: str | None = None
    while True:
        page = data(sdk.products.search_products(
            page_size=size, body=body or m.SearchProductsRequest(), page_token=token or UNSET))
        assert len(page.products) <= size
        products += page.products
        if not page.next_page_token:
            return products, page.total_count
        token = page.next_page_token


def live_skus(sdk: TikTokShop) -> list[Any]:
    """(product, sku) pairs of live products stocked in one warehouse, most stock first."""
    products, _ = all_products(sdk, m.SearchProductsRequest(
        status=m.SearchProductsRequestStatus.ACTIVATE), size=100)
    pairs = [(p, s) for p in products for s in p.skus if len(s.inventory) == 1]
    return sorted(pairs, key=lambda pair: -pair[1].inventory[0].quantity)


# --- shops, warehouses ---------------------------------------------------------------------


def test_each_token_sees_its_own_authorized_shop(fake: TikTokFake, base: str) -> None:
    for index, entry in enumerate(fake.connections()):
        (shop,) = data(client(fake, base, index).authorization.get_authorized_shops()).shops
        assert (shop.id, shop.name, shop.region) == (entry["id"], entry["name"], entry["region"])
        assert shop.cipher == entry["credentials"]["shop_cipher"]
        assert shop.seller_type in ("LOCAL", "CROSS_BORDER") and shop.code


def test_warehouses(fake: TikTokFake, base: str) -> None:
    warehouses = data(client(fake, base).logistics.get_warehouse_list()).warehouses
    kinds = sorted((w.type_, w.is_default) for w in warehouses)
    assert kinds == [("RETURN_WAREHOUSE", True), ("SALES_WAREHOUSE", False),
                     ("SALES_WAREHOUSE", True)]
    assert all(w.effect_status == "ENABLED" and w.address.region_code for w in warehouses)


# --- products and inventory ----------------------------------------------------------------


def test_product_search_pages_and_filters(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    products, total = all_products(sdk)
    ids = [p.id for p in products]
    assert len(ids) == len(set(ids)) == total == len(fake.shops[0].products)
    assert all(p.skus and p.skus[0].price.currency == "GBP" for p in products)

    live, live_total = all_products(sdk, m.SearchProductsRequest(
        status=m.SearchProductsRequestStatus.ACTIVATE))
    assert live_total == len(live) == total - 1  # one product is SELLER_DEACTIVATED
    assert {p.status for p in live} == {"ACTIVATE"}

    sku = products[3].skus[0]
    by_sku, _ = all_products(sdk, m.SearchProductsRequest(seller_skus=[sku.seller_sku]))
    assert [p.id for p in by_sku] == [products[3].id]
    by_id, _ = all_products(sdk, m.SearchProductsRequest(sku_ids=[sku.id]))
    assert [p.id for p in by_id] == [products[3].id]

    newest = max(p.create_time for p in products)
    recent, _ = all_products(sdk, m.SearchProductsRequest(create_time_ge=newest))
    assert [p.create_time for p in recent] == [newest]


def test_product_detail_agrees_with_search(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    products, _ = all_products(sdk, size=100)
    for found in products[:3]:
        product = data(sdk.products.get_product(found.id))
        assert (product.id, product.title, product.status) == (found.id, found.title,
                                                               found.status)
        assert [(s.id, s.seller_sku, s.price.sale_price) for s in product.skus] == [
            (s.id, s.seller_sku, s.price.sale_price) for s in found.skus]
        assert [[(i.warehouse_id, i.quantity) for i in s.inventory] for s in product.skus] == [
            [(i.warehouse_id, i.quantity) for i in s.inventory] for s in found.skus]
    with pytest.raises(TikTokShopError) as missing:
        sdk.products.get_product("1799999999999999999")
    assert missing.value.code == 12019150


def test_inventory_search_by_products_and_by_skus(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    products, _ = all_products(sdk, size=100)
    wanted = products[:2]
    found = data(sdk.products.inventory_search(
        body=m.InventorySearchRequest(product_ids=[p.id for p in wanted]))).inventory
    assert [group.product_id for group in found] == [p.id for p in wanted]
    for group, product in zip(found, wanted, strict=True):
        for row, sku in zip(group.skus, product.skus, strict=True):
            assert (row.id, row.seller_sku) == (sku.id, sku.seller_sku)
            assert row.total_available_quantity == sum(
                w.available_quantity for w in row.warehouse_inventory) == sum(
                i.quantity for i in sku.inventory)
    one = wanted[1].skus[0]
    # `sku_ids` wins when both lists are given.
    (group,) = data(sdk.products.inventory_search(body=m.InventorySearchRequest(
        product_ids=[wanted[0].id], sku_ids=[one.id]))).inventory
    assert (group.product_id, [s.id for s in group.skus]) == (wanted[1].id, [one.id])


def test_inventory_update_applies_good_skus_and_reports_the_others(
        fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    (product, sku), (other, foreign) = live_skus(sdk)[:2]
    if other.id == product.id:
        foreign = next(s for p, s in live_skus(sdk) if p.id != product.id)
    answer = data(sdk.products.update_inventory(product.id, body=m.UpdateInventoryRequest(skus=[
        m.UpdateInventoryRequestSku(id=sku.id, inventory=[
            m.UpdateInventoryRequestSkuInventory(quantity=41)]),
        m.UpdateInventoryRequestSku(id=foreign.id, inventory=[
            m.UpdateInventoryRequestSkuInventory(quantity=5)]),
    ])))
    (error,) = answer.errors
    assert (error.code, error.detail.sku_id) == (12052557, foreign.id)
    (group,) = data(sdk.products.inventory_search(
        body=m.InventorySearchRequest(sku_ids=[sku.id]))).inventory
    assert group.skus[0].total_available_quantity == 41


def test_inventory_update_of_a_multi_warehouse_sku_needs_warehouse_ids(
        fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    products, _ = all_products(sdk, size=100)
    product, sku = next((p, s) for p in products for s in p.skus if len(s.inventory) == 2)
    vague = data(sdk.products.update_inventory(product.id, body=m.UpdateInventoryRequest(skus=[
        m.UpdateInventoryRequestSku(id=sku.id, inventory=[
            m.UpdateInventoryRequestSkuInventory(quantity=3)])])))
    (error,) = vague.errors
    assert error.code == 12052990 and error.detail.sku_id == sku.id
    assert [e.code for e in error.detail.extra_errors] == [12019028]
    rows = [m.UpdateInventoryRequestSkuInventory(quantity=q, warehouse_id=i.warehouse_id)
            for q, i in zip((7, 8), sku.inventory, strict=True)]
    done = sdk.products.update_inventory(product.id, body=m.UpdateInventoryRequest(
        skus=[m.UpdateInventoryRequestSku(id=sku.id, inventory=rows)]))
    assert isinstance(data(done).errors, Unset)
    (group,) = data(sdk.products.inventory_search(
        body=m.InventorySearchRequest(sku_ids=[sku.id]))).inventory
    assert sorted(w.available_quantity for w in group.skus[0].warehouse_inventory) == [7, 8]


# --- orders --------------------------------------------------------------------------------


def order_detail(sdk: TikTokShop, ids: list[str]) -> list[Any]:
    """Get Order Detail through the SDK, its ids joined with commas.

    SDK quirk: given a list, the SDK sends `ids=a&ids=b` (its generator ignores the
    parameter's comma style). TikTok's reference types `ids` as a `[]string` query value and
    clients in production (EcomPHP/tiktokshop-php `implode(',', …)`, david-yappeter/go-tiktok
    `strings.Join(…, ",")`) send one comma-joined value, as the fake expects."""
    return data(sdk.orders.get_order_detail(ids=[",".join(ids)])).orders


def test_order_search_sorts_filters_and_pages(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    skus = [s.seller_sku for _, s in live_skus(sdk)[:3]]
    placed = [place(base, skus[0]), place(base, skus[1], status="UNPAID"),
              place(base, skus[2], quantity=2, status="ON_HOLD"), place(base, skus[0])]
    httpx.post(f"{base}/_fake/orders/{placed[0]['id']}/status", json={"status": "CANCELLED"})

    def search(size: int = 2, **query: Any) -> list[Any]:
        body, found, token = query.pop("body", m.GetOrderListRequest()), [], UNSET
        while True:
            page = data(sdk.orders.get_order_list(page_size=size, body=body, page_token=token,
                                                  **query))
            assert page.total_count >= len(page.orders)
            found += page.orders
            if not page.next_page_token:
                return found
            token = page.next_page_token

    ascending = search(sort_field=m.GetOrderListSortField.CREATE_TIME,
                       sort_order=m.GetOrderListSortOrder.ASC)
    assert sorted(o.id for o in ascending) == sorted(o["id"] for o in placed)
    keys = [(o.create_time, o.id) for o in ascending]
    assert keys == sorted(keys)
    descending = search(size=3, sort_field=m.GetOrderListSortField.UPDATE_TIME)
    keys = [(o.update_time, o.id) for o in descending]
    assert keys == sorted(keys, reverse=True)

    cancelled = search(body=m.GetOrderListRequest(
        order_status=m.GetOrderListRequestOrderStatus.CANCELLED))
    assert [(o.id, o.status) for o in cancelled] == [(placed[0]["id"], "CANCELLED")]
    buyer = placed[2]["user_id"]
    (mine,) = search(body=m.GetOrderListRequest(buyer_user_id=buyer))
    assert mine.id == placed[2]["id"] and len(mine.line_items) == 2  # one line per unit
    assert search(body=m.GetOrderListRequest(create_time_ge=mine.create_time + 3600)) == []


def test_order_detail(fake: TikTokFake, base: str) -> None:
    sdk = client(fake, base)
    (product, sku), *_ = live_skus(sdk)
    unpaid = place(base, sku.seller_sku, status="UNPAID")
    paid = place(base, sku.seller_sku, quantity=2)
    (one,) = order_detail(sdk, [paid["id"]])
    assert (one.id, one.status, one.paid_time) == (paid["id"], "AWAITING_SHIPMENT",
                                                   paid["create_time"])
    assert [(i.sku_id, i.product_id, i.seller_sku) for i in one.line_items] == [
        (sku.id, product.id, sku.seller_sku)] * 2
    assert one.payment.currency == "GBP" and one.recipient_address.postal_code
    both = {o.id: o for o in order_detail(sdk, [unpaid["id"], paid["id"]])}
    assert set(both) == {unpaid["id"], paid["id"]}
    # No recipient address while an order is UNPAID (Get Order Detail reference).
    assert isinstance(both[unpaid["id"]].recipient_address, Unset)

    other = client(fake, base, shop=1)
    with pytest.raises(TikTokShopError) as foreign:
        order_detail(other, [paid["id"]])
    assert foreign.value.code == 21008111


# --- signatures and tokens -----------------------------------------------------------------


class Tamper(httpx.HTTPTransport):
    """Spoils a request after the SDK signed it: its `sign`, or its body."""

    def __init__(self, part: str) -> None:
        super().__init__()
        self.part = part

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.part == "sign":
            sign = request.url.params["sign"]
            request.url = request.url.copy_set_param("sign", sign[::-1])
        else:
            body = request.content.replace(b"ACTIVATE", b"DELETED")
            headers = {k: v for k, v in request.headers.items() if k != "content-length"}
            request = httpx.Request(request.method, request.url, headers=headers, content=body)
        return super().handle_request(request)


def test_the_sdks_signatures_are_accepted_and_tampered_ones_refused(
        fake: TikTokFake, base: str) -> None:
    body = m.SearchProductsRequest(status=m.SearchProductsRequestStatus.ACTIVATE)
    assert data(client(fake, base).products.search_products(page_size=1, body=body)).products
    for part in ("sign", "body"):
        with pytest.raises(TikTokShopError) as refused:
            client(fake, base, transport=Tamper(part)).products.search_products(
                page_size=1, body=body)
        assert (refused.value.code, refused.value.http_status) == (INVALID_SIGN, 401)
    creds = credentials(fake)
    wrong = TikTokShop(creds["app_key"], creds["app_secret"][::-1], creds["access_token"],
                       creds["shop_cipher"], base_url=base)
    with pytest.raises(TikTokShopError) as refused:
        wrong.logistics.get_warehouse_list()
    assert refused.value.code == INVALID_SIGN


def test_the_sdk_and_the_fake_agree_on_which_calls_need_a_shop_cipher(
        fake: TikTokFake, base: str) -> None:
    """The SDK adds `shop_cipher` only where its operation table says so; the fake refuses
    it on Get Authorized Shops and demands the token's own shop's cipher elsewhere."""
    assert data(client(fake, base).authorization.get_authorized_shops()).shops
    without = client(fake, base).with_shop(shop_cipher=None)
    with pytest.raises(TikTokShopError) as missing:
        without.logistics.get_warehouse_list()
    assert missing.value.code == 106013
    crossed = client(fake, base).with_shop(shop_cipher=credentials(fake, 1)["shop_cipher"])
    with pytest.raises(TikTokShopError) as foreign:
        crossed.logistics.get_warehouse_list()
    assert foreign.value.code == 36009004


def test_token_get_with_an_auth_code(fake: TikTokFake, base: str) -> None:
    code = httpx.post(base + "/_fake/auth-codes", json={"shop_id": 1}).json()["code"]
    tokens = auth(fake, base).exchange_code(code)
    entry = fake.connections()[1]
    assert tokens.access_token == entry["credentials"]["access_token"]
    assert tokens.refresh_token == entry["credentials"]["refresh_token"]
    assert tokens.seller_name == entry["name"] and tokens.seller_base_region == entry["region"]
    assert tokens.access_token_expire_in > 0 and tokens.granted_scopes
    sdk = client(fake, base, shop=1).with_shop(access_token=tokens.access_token)
    (shop,) = data(sdk.authorization.get_authorized_shops()).shops
    assert shop.id == entry["id"]
    with pytest.raises(TikTokShopError) as reused:
        auth(fake, base).exchange_code(code)
    assert reused.value.code == 36004004


def test_an_expired_token_is_refused_until_refreshed(fake: TikTokFake, base: str) -> None:
    sdk, old = client(fake, base), credentials(fake)["access_token"]
    httpx.post(base + "/_fake/tokens/expire", json={"shop_id": 0})
    with pytest.raises(TikTokShopError) as expired:
        sdk.logistics.get_warehouse_list()
    assert expired.value.code == EXPIRED_TOKEN
    tokens = auth(fake, base).refresh(credentials(fake)["refresh_token"])
    assert tokens.access_token != old
    assert data(sdk.with_shop(access_token=tokens.access_token)
                .logistics.get_warehouse_list()).warehouses
    with pytest.raises(TikTokShopError) as unknown:
        auth(fake, base).refresh("ROW_not-a-refresh-token")
    assert unknown.value.code == 36004005


# --- webhooks ------------------------------------------------------------------------------


def test_webhook_subscriptions(fake: TikTokFake, base: str) -> None:
    sdk, other = client(fake, base), client(fake, base, shop=1)
    kinds = m.UpdateShopWebhookRequestEventType
    for kind in (kinds.ORDER_STATUS_CHANGE, kinds.PRODUCT_AUDIT_STATUS_CHANGE):
        data(sdk.event.update_shop_webhook(body=m.UpdateShopWebhookRequest(
            address=f"https://hooks.example.com/{kind.value.lower()}", event_type=kind)))
    listed = data(sdk.event.get_shop_webhooks())
    assert listed.total_count == 2
    assert {w.event_type: w.address for w in listed.webhooks} == {
        "ORDER_STATUS_CHANGE": "https://hooks.example.com/order_status_change",
        "PRODUCT_AUDIT_STATUS_CHANGE": "https://hooks.example.com/product_audit_status_change"}
    assert data(other.event.get_shop_webhooks()).total_count == 0
    data(sdk.event.delete_webhook_for_an_event(body=m.DeleteWebhookForAnEventRequest(
        event_type=m.DeleteWebhookForAnEventRequestEventType.ORDER_STATUS_CHANGE)))
    (left,) = data(sdk.event.get_shop_webhooks()).webhooks
    assert left.event_type == "PRODUCT_AUDIT_STATUS_CHANGE"


def test_pushed_webhooks_verify_and_parse_with_the_sdk(
        fake: TikTokFake, base: str, servers: tuple[SwappableApp, str, Receiver, str]) -> None:
    sdk, receiver = client(fake, base, shop=1), servers[2]
    for kind in ("ORDER_STATUS_CHANGE", "PRODUCT_STATUS_CHANGE"):
        data(sdk.event.update_shop_webhook(body=m.UpdateShopWebhookRequest(
            address=f"{servers[3]}/tiktok", event_type=m.UpdateShopWebhookRequestEventType(kind))))
    (product, sku), *_ = live_skus(sdk)
    order = place(base, sku.seller_sku, status="UNPAID", shop=1)
    httpx.post(f"{base}/_fake/orders/{order['id']}/status", json={"status": "CANCELLED"})
    httpx.post(f"{base}/_fake/products/{product.id}/status", json={"status": "FREEZE"})
    fake.webhooks.wait_idle()

    creds, shop_id = credentials(fake, 1), fake.connections()[1]["id"]
    events = [Webhooks.verify_and_parse(app_key=creds["app_key"], app_secret=creds["app_secret"],
                                        raw_body=body, signature=headers["Authorization"])
              for headers, body in receiver.received]
    assert [EVENT_TYPES[e.type_] for e in events] == [
        "ORDER_STATUS_CHANGE", "ORDER_STATUS_CHANGE", "PRODUCT_STATUS_CHANGE"]
    assert problems(events[:2]) == []
    assert problems(events[2]) == []
    assert all(e.shop_id == shop_id and e.tts_notification_id for e in events)
    assert len({e.tts_notification_id for e in events}) == 3
    placed, cancelled, frozen = events
    assert isinstance(placed, m.OrderStatusChangeWebhook)
    assert (placed.data.order_id, placed.data.order_status) == (order["id"], "UNPAID")
    assert cancelled.data.order_status == "CANCEL"  # the webhook's spelling of CANCELLED
    assert isinstance(frozen, m.ProductStatusChangeWebhook)
    assert frozen.data.status == "PRODUCT_STATUS_CHANGED"
    assert str(frozen.data.product_id) == product.id

    headers, body = receiver.received[0]
    with pytest.raises(WebhookSignatureError):
        Webhooks.verify_and_parse(app_key=creds["app_key"], app_secret=creds["app_secret"],
                                  raw_body=body.replace(b"UNPAID", b"AWAITING_SHIPMENT"),
                                  signature=headers["Authorization"])


def test_product_status_push_sends_product_id_as_a_number(
        fake: TikTokFake, base: str, servers: tuple[SwappableApp, str, Receiver, str]) -> None:
    httpx.post(base + "/_fake/webhooks", json={"url": servers[3] + "/all"})
    product = next(iter(fake.shops[0].products.values()))
    httpx.post(f"{base}/_fake/products/{product.id}/status", json={"status": "FREEZE"})
    fake.webhooks.wait_idle()
    [(headers, body)], creds = servers[2].received, credentials(fake)
    event = Webhooks.verify_and_parse(app_key=creds["app_key"], app_secret=creds["app_secret"],
                                      raw_body=body, signature=headers["Authorization"])
    assert problems(event) == []


def test_the_plugin_names_every_webhook_type_the_sdk_knows() -> None:
    """Both tables come from TikTok's definitions: a type the SDK names, the plugin names
    the same way (not `TYPE_<n>`)."""
    assert {n: WEBHOOK_TOPICS.get(n) for n in EVENT_TYPES} == dict(EVENT_TYPES)
