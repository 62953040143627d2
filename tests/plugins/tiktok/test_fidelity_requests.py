"""Second fidelity audit of the TikTok fake: requests independent real clients send.

Each test pins a behaviour of the real Open API that the fake got wrong; the source of each
fact is named in the test's docstring.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from shelfsync.core.testing.server import SwappableApp
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import signed_call
from shelfsync.plugins.tiktok.signing import sign_request

ORDERS = "/order/202309/orders/search"


@pytest.fixture
def fake(server: tuple[SwappableApp, str]) -> TikTokFake:
    server[0].app = TikTokFake(shops=2, products=10, variants=2, seed=9)
    return server[0].app


@pytest.fixture
def base(server: tuple[SwappableApp, str]) -> str:
    return server[1]


def creds(fake: TikTokFake, index: int = 0) -> dict[str, str]:
    return fake.connections()[index]["credentials"]


def place(base: str, fake: TikTokFake, status: str = "AWAITING_SHIPMENT") -> dict[str, Any]:
    shop = fake.shops[0]
    sku = next(s.seller_sku for s in shop.skus.values()
               if shop.products[s.product_id].status == "ACTIVATE" and len(s.available) == 1
               and sum(s.available.values()) >= 3)
    reply = httpx.post(base + "/_fake/orders", json={"status": status, "items": [
        {"seller_sku": sku, "quantity": 1}]})
    assert reply.status_code == 201, reply.text
    return reply.json()


def raw_call(base: str, creds: dict[str, str], path: str, query: dict[str, str], raw: bytes,
             content_type: str | None) -> httpx.Response:
    """A POST signed over `raw` as sent, with any Content-Type (or none)."""
    params = {"app_key": creds["app_key"], "timestamp": str(int(time.time())),
              "shop_cipher": creds["shop_cipher"], **query}
    params["sign"] = sign_request(creds["app_secret"], path, params, raw, content_type)
    headers = {"x-tts-access-token": creds["access_token"]}
    if content_type:
        headers["Content-Type"] = content_type
    return httpx.post(base + path, params=params, content=raw, headers=headers)


def test_order_search_honours_shipping_type_buyer_and_cancel_request(
        fake: TikTokFake, base: str) -> None:
    """Get Order List's body filters `shipping_type` (TIKTOK|SELLER), `buyer_user_id` and
    `is_buyer_request_cancel` narrow the result (lywzx/tiktok-partner-api
    `orders/GetOrderList.ts`; Workato's TikTok Shop search-records page)."""
    first, second = place(base, fake), place(base, fake)
    query = {"page_size": "20"}

    def ids(body: dict[str, Any]) -> list[str]:
        reply = signed_call(base, creds(fake), "POST", ORDERS, query=query, body=body).json()
        assert reply["code"] == 0, reply
        return sorted(o["id"] for o in reply["data"]["orders"])

    assert ids({"shipping_type": "TIKTOK"}) == sorted([first["id"], second["id"]])
    assert ids({"shipping_type": "SELLER"}) == []
    assert ids({"buyer_user_id": first["user_id"]}) == [first["id"]]
    assert ids({"is_buyer_request_cancel": True}) == []
    assert len(ids({"is_buyer_request_cancel": False})) == 2


def test_wrongly_typed_filter_gets_tiktoks_type_message(fake: TikTokFake, base: str) -> None:
    """A string where TikTok wants an int64 is refused with "param create_time_ge type
    invalid,actual type is:string,expected type is:int64" (real answer quoted in
    EcomPHP/tiktokshop-php issue #23)."""
    reply = signed_call(base, creds(fake), "POST", ORDERS, query={"page_size": "5"},
                        body={"create_time_ge": "1700000000"})
    payload = reply.json()
    assert payload["code"] == 36009004
    assert payload["message"] == ("param create_time_ge type invalid,actual type is:string,"
                                  "expected type is:int64")
    flag = signed_call(base, creds(fake), "POST", ORDERS, query={"page_size": "5"},
                       body={"is_buyer_request_cancel": "yes"}).json()
    assert flag["code"] == 36009004 and "expected type is:bool" in flag["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_that_is_not_json_by_content_type_is_refused(
        fake: TikTokFake, base: str, content_type: str) -> None:
    """36009022 "Invalid request format. The request body format must be `application/json`
    ..." (TikTok common-errors page, as collected in rymndcs/tiktok_shop_rb_api
    `test/fixtures/error_list.json`)."""
    reply = raw_call(base, creds(fake), ORDERS, {"page_size": "5"}, b'{"order_status":"UNPAID"}',
                     content_type)
    payload = reply.json()
    assert payload["code"] == 36009022
    assert payload["message"].startswith("Invalid request format.")
    assert payload["data"] is None and payload["request_id"]


def test_json_with_charset_parameter_is_accepted(fake: TikTokFake, base: str) -> None:
    reply = raw_call(base, creds(fake), ORDERS, {"page_size": "5"}, b'{}',
                     "application/json; charset=utf-8")
    assert reply.json()["code"] == 0


def test_empty_json_array_body_is_an_empty_filter(fake: TikTokFake, base: str) -> None:
    """EcomPHP/tiktokshop-php (`Resource::extractParams` + Guzzle's `json` option) sends an
    empty filter as `[]` (PHP's json_encode of an empty array) with every order and product
    search that has no body filters; the real API answers it."""
    place(base, fake)
    reply = raw_call(base, creds(fake), ORDERS, {"page_size": "5"}, b"[]", "application/json")
    payload = reply.json()
    assert payload["code"] == 0, payload
    assert payload["data"]["total_count"] == 1


def test_bad_sign_message_is_the_one_the_live_api_sends(fake: TikTokFake, base: str) -> None:
    """A live 2026 answer (captured on tiktok-api.gemyno-lab.fr/scripts/get_shops.php):
    HTTP 401, `{"code":106001,"data":null,"message":"Invalid credentials. The 'sign' query
    parameter is invalid. For more details: https://m.tiktok.shop/s/AIu6dbFhs2XW", ...}`."""
    reply = signed_call(base, creds(fake), "GET", "/authorization/202309/shops", cipher=False,
                        secret="wrong")
    assert reply.status_code == 401
    assert reply.headers["Content-Type"].startswith("application/json")
    assert list(reply.json()) == ["code", "data", "message", "request_id"]
    assert reply.json()["message"] == (
        "Invalid credentials. The 'sign' query parameter is invalid. For more details: "
        "https://m.tiktok.shop/s/AIu6dbFhs2XW")


def token_params(fake: TikTokFake, **extra: str) -> dict[str, str]:
    return {"app_key": fake.creds.app_key, "app_secret": fake.creds.app_secret, **extra}


def test_token_get_exchanges_a_single_use_auth_code(fake: TikTokFake, base: str) -> None:
    """`GET /api/v2/token/get?app_key&app_secret&auth_code&grant_type=authorized_code` on the
    auth host (EcomPHP `Auth::getToken`; TikTok's authorization overview, response sample in
    rymndcs/tiktok_shop_rb_api `test/fixtures/api_v2_token_get.json`); an unknown or used
    code is 36004004 "Invalid auth code." (common-errors page)."""
    minted = httpx.post(base + "/_fake/auth-codes", json={"shop_id": 1})
    assert minted.status_code == 201
    code = minted.json()["code"]
    params = token_params(fake, auth_code=code, grant_type="authorized_code")
    granted = httpx.get(base + "/api/v2/token/get", params=params)
    body = granted.json()
    assert granted.status_code == 200
    assert body["code"] == 0 and body["message"] == "success" and body["request_id"]
    data = body["data"]
    assert {"access_token", "access_token_expire_in", "refresh_token", "refresh_token_expire_in",
            "open_id", "seller_name", "seller_base_region", "user_type",
            "granted_scopes"} <= set(data)
    assert data["seller_base_region"] == fake.shops[1].region
    shops = signed_call(base, {**creds(fake, 1), "access_token": data["access_token"]}, "GET",
                        "/authorization/202309/shops", cipher=False).json()
    assert shops["data"]["shops"][0]["id"] == fake.shops[1].id
    again = httpx.get(base + "/api/v2/token/get", params=params).json()
    assert (again["code"], again["message"]) == (36004004, "Invalid auth code.")
    unknown = httpx.get(base + "/api/v2/token/get", params=token_params(
        fake, auth_code="nope", grant_type="authorized_code")).json()
    assert unknown["code"] == 36004004


def test_expired_refresh_token_is_rt_has_expired(server: tuple[SwappableApp, str]) -> None:
    """An expired refresh token is 36004001 "rt has expired"; an unknown one 36004005 "can not
    find related auth record" (both observed, EcomPHP/tiktokshop-php pull request #15)."""
    now = [1_800_000_000.0]
    fake = TikTokFake(shops=1, products=5, variants=1, seed=2, clock=lambda: now[0])
    server[0].app = fake
    refresh = creds(fake)["refresh_token"]
    now[0] += 366 * 86_400
    reply = httpx.get(server[1] + "/api/v2/token/refresh", params=token_params(
        fake, refresh_token=refresh, grant_type="refresh_token"))
    assert reply.status_code == 200
    assert (reply.json()["code"], reply.json()["message"]) == (36004001, "rt has expired")


def test_json_body_keys_of_success_are_tiktoks(fake: TikTokFake, base: str) -> None:
    reply = signed_call(base, creds(fake), "POST", ORDERS, query={"page_size": "1"}, body={})
    assert set(json.loads(reply.content)) == {"code", "data", "message", "request_id"}


def test_search_products_202502_is_served_with_its_sku_ids_filter(
        fake: TikTokFake, base: str) -> None:
    """`POST /product/202502/products/search` is what current clients call (hsib19/
    tiktok-shop-sdk `ProductModule.searchProducts`, rymndcs/tiktok_shop_rb_api
    `products.list`); it adds the body filter `sku_ids`, at most 10 (12019087 "The number of
    SKU IDs exceeds the limit of 10", search-products-202502 error table). Older versions do
    not know the field and ignore it."""
    shop = fake.shops[0]
    product = shop.products[shop.product_order[0]]
    sku_id = product.skus[0].id
    path = "/product/{}/products/search"
    found = signed_call(base, creds(fake), "POST", path.format("202502"),
                        query={"page_size": "50"}, body={"sku_ids": [sku_id]}).json()
    assert found["code"] == 0, found
    assert [p["id"] for p in found["data"]["products"]] == [product.id]
    assert found["data"]["total_count"] == 1
    too_many = signed_call(base, creds(fake), "POST", path.format("202502"),
                           query={"page_size": "50"},
                           body={"sku_ids": [str(i) for i in range(11)]}).json()
    assert (too_many["code"], too_many["message"]) == (
        12019087, "The number of SKU IDs exceeds the limit of 10")
    older = signed_call(base, creds(fake), "POST", path.format("202309"),
                        query={"page_size": "50"}, body={"sku_ids": [sku_id]}).json()
    assert older["data"]["total_count"] == len(shop.products)


@pytest.mark.parametrize(("timestamp", "says"), [
    ("ms", "must not exceed the current time by more than 30 seconds"),
    ("-1", "must not be lesser than 0"),
])
def test_timestamp_errors_say_what_is_wrong(fake: TikTokFake, base: str, timestamp: str,
                                            says: str) -> None:
    """A millisecond timestamp is far in the future, a negative one below 0: the common-errors
    page has a message for each (rymndcs/tiktok_shop_rb_api `error_list.json`)."""
    if timestamp == "ms":
        timestamp = str(int(time.time() * 1000))
    reply = signed_call(base, creds(fake), "GET", "/logistics/202309/warehouses",
                        timestamp=timestamp).json()
    assert reply["code"] == 36009004
    assert says in reply["message"]
