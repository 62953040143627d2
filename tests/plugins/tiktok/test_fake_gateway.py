"""The TikTok fake's gateway over real HTTP: signing, timestamps, tokens, ciphers, QPS, faults."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from shelfsync.core.testing.server import SwappableApp
from shelfsync.plugins.tiktok.fake import TikTokFake
from shelfsync.plugins.tiktok.fake_client import signed_call as call
from shelfsync.plugins.tiktok.signing import sign_request


@pytest.fixture
def fake(server: tuple[SwappableApp, str]) -> TikTokFake:
    server[0].app = TikTokFake(shops=2, products=6, variants=2, seed=3)
    return server[0].app


@pytest.fixture
def base(server: tuple[SwappableApp, str]) -> str:
    return server[1]


def creds_of(fake: TikTokFake, index: int = 0) -> dict[str, str]:
    return fake.connections()[index]["credentials"]


def test_authorized_shops_answers_the_tokens_shop(fake: TikTokFake, base: str) -> None:
    response = call(base, creds_of(fake, 1), "GET", "/authorization/202309/shops", cipher=False)
    payload = response.json()
    assert response.status_code == 200
    assert payload["code"] == 0 and payload["message"] == "Success" and payload["request_id"]
    (shop,) = payload["data"]["shops"]
    assert set(shop) == {"id", "name", "region", "seller_type", "cipher", "code"}
    assert shop["id"] == fake.connections()[1]["id"]
    assert shop["cipher"] == creds_of(fake, 1)["shop_cipher"]


def test_signature_covers_odd_params_and_exact_non_ascii_body(fake: TikTokFake, base: str) -> None:
    creds = creds_of(fake)
    raw = json.dumps({"seller_skus": ["Café-ß-😀"]}, ensure_ascii=False).encode("utf-8")
    query = {"page_size": "5", "a_b": "1", "ab": "2", "A": "3", "Z_": "ä ö"}
    ok = call(base, creds, "POST", "/product/202309/products/search", query=query, raw=raw)
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"]["total_count"] == 0
    # The same JSON re-serialised with escapes is a different byte string: the sign must fail.
    params = {"app_key": creds["app_key"], "timestamp": str(int(time.time())),
              "shop_cipher": creds["shop_cipher"], **query}
    params["sign"] = sign_request(creds["app_secret"], "/product/202309/products/search",
                                  params, raw, "application/json")
    escaped = json.dumps({"seller_skus": ["Café-ß-😀"]}).encode("ascii")
    bad = httpx.post(base + "/product/202309/products/search", params=params, content=escaped,
                     headers={"x-tts-access-token": creds["access_token"],
                              "Content-Type": "application/json"})
    assert bad.status_code == 401
    assert bad.json()["code"] == 106001
    assert bad.json()["data"] is None


def test_bad_or_missing_signature_is_refused(fake: TikTokFake, base: str) -> None:
    creds = creds_of(fake)
    wrong = call(base, creds, "GET", "/logistics/202309/warehouses", secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == 106001
    assert "sign" in wrong.json()["message"]
    params = {"app_key": creds["app_key"], "timestamp": str(int(time.time())),
              "shop_cipher": creds["shop_cipher"]}
    missing = httpx.get(base + "/logistics/202309/warehouses", params=params,
                        headers={"x-tts-access-token": creds["access_token"]})
    assert (missing.status_code, missing.json()["code"]) == (400, 36009004)


@pytest.mark.parametrize("timestamp", ["-301", "+120", "123", "not-a-time"])
def test_timestamp_out_of_window_is_refused(fake: TikTokFake, base: str, timestamp: str) -> None:
    if timestamp[0] in "+-":
        timestamp = str(int(time.time()) + int(timestamp))
    response = call(base, creds_of(fake), "GET", "/logistics/202309/warehouses",
                    timestamp=timestamp)
    assert (response.status_code, response.json()["code"]) == (400, 36009004)
    assert "timestamp" in response.json()["message"]


def test_timestamp_within_skew_is_accepted(fake: TikTokFake, base: str) -> None:
    old = str(int(time.time()) - 250)
    response = call(base, creds_of(fake), "GET", "/logistics/202309/warehouses", timestamp=old)
    assert response.json()["code"] == 0


def test_wrong_app_key_and_wrong_token_are_refused(fake: TikTokFake, base: str) -> None:
    creds = creds_of(fake)
    other_key = call(base, {**creds, "app_key": "somebodyelse"}, "GET",
                     "/logistics/202309/warehouses")
    assert (other_key.status_code, other_key.json()["code"]) == (400, 36009004)
    for token in ("ROW_forged", ""):
        response = call(base, creds, "GET", "/logistics/202309/warehouses", token=token)
        assert (response.status_code, response.json()["code"]) == (401, 36009004)
        assert "x-tts-access-token" in response.json()["message"]


def test_shops_are_kept_apart_by_cipher(fake: TikTokFake, base: str) -> None:
    shop_a, shop_b = creds_of(fake, 0), creds_of(fake, 1)
    crossed = call(base, shop_a, "GET", "/logistics/202309/warehouses",
                   cipher=shop_b["shop_cipher"])
    assert (crossed.status_code, crossed.json()["code"]) == (400, 36009004)
    assert "shop_cipher" in crossed.json()["message"]
    missing = call(base, shop_a, "GET", "/logistics/202309/warehouses", cipher=False)
    assert (missing.status_code, missing.json()["code"]) == (400, 106013)
    unexpected = call(base, shop_a, "GET", "/authorization/202309/shops")
    assert (unexpected.status_code, unexpected.json()["code"]) == (400, 36009004)
    own = call(base, shop_b, "GET", "/logistics/202309/warehouses")
    assert own.json()["code"] == 0


def test_expired_token_is_refused_until_refreshed(fake: TikTokFake, base: str) -> None:
    creds = creds_of(fake)
    httpx.post(base + "/_fake/tokens/expire", json={"shop_id": fake.shops[0].id})
    expired = call(base, creds, "GET", "/logistics/202309/warehouses")
    assert (expired.status_code, expired.json()["code"]) == (401, 105002)
    assert call(base, creds_of(fake, 1), "GET", "/logistics/202309/warehouses").json()["code"] == 0

    refreshed = httpx.get(base + "/api/v2/token/refresh", params={
        "app_key": creds["app_key"], "app_secret": creds["app_secret"],
        "refresh_token": creds["refresh_token"], "grant_type": "refresh_token"}).json()
    assert refreshed["code"] == 0 and refreshed["request_id"]
    data = refreshed["data"]
    assert {"access_token", "access_token_expire_in", "refresh_token", "refresh_token_expire_in",
            "open_id", "seller_name", "seller_base_region", "user_type"} <= set(data)
    assert data["access_token"] != creds["access_token"]
    assert data["access_token_expire_in"] > time.time() + 86_400  # an absolute Unix time
    fresh = call(base, {**creds, "access_token": data["access_token"]}, "GET",
                 "/logistics/202309/warehouses")
    assert fresh.json()["code"] == 0
    stale = call(base, creds, "GET", "/logistics/202309/warehouses")
    assert stale.json()["code"] == 36009004
    assert fake.connections()[0]["credentials"]["access_token"] == data["access_token"]


def test_refresh_refuses_bad_secret_and_unknown_refresh_token(fake: TikTokFake, base: str) -> None:
    creds = creds_of(fake)
    params = {"app_key": creds["app_key"], "app_secret": "wrong",
              "refresh_token": creds["refresh_token"], "grant_type": "refresh_token"}
    assert httpx.get(base + "/api/v2/token/refresh", params=params).json()["code"] == 36009004
    params.update(app_secret=creds["app_secret"], refresh_token="ROW_unknown")
    assert httpx.get(base + "/api/v2/token/refresh", params=params).json()["code"] == 36004005


def test_qps_limit_is_per_shop_with_a_sliding_window(fake: TikTokFake, base: str) -> None:
    httpx.post(base + "/_fake/qps", json={"qps": 3})
    shop_a, shop_b = creds_of(fake, 0), creds_of(fake, 1)
    codes = [call(base, shop_a, "GET", "/logistics/202309/warehouses") for _ in range(4)]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    assert (codes[3].status_code, codes[3].json()["code"]) == (429, 36009002)
    assert call(base, shop_b, "GET", "/logistics/202309/warehouses").status_code == 200
    time.sleep(1.05)
    assert call(base, shop_a, "GET", "/logistics/202309/warehouses").status_code == 200


def test_injected_faults_use_tiktoks_envelope(fake: TikTokFake, base: str) -> None:
    creds = creds_of(fake)
    path = "/logistics/202309/warehouses"
    expected = {"429": (429, 36009002), "500": (500, 36009003), "503": (503, 36009003)}
    for kind, (status, code) in expected.items():
        httpx.post(base + "/_fake/faults", json={"kind": kind, "count": 1})
        response = call(base, creds, "GET", path)
        assert (response.status_code, response.json()["code"]) == (status, code)
    httpx.post(base + "/_fake/faults", json={"kind": "timeout", "seconds": 0.01})
    timeout = call(base, creds, "GET", path)
    assert (timeout.status_code, timeout.json()["code"]) == (504, 36009007)
    httpx.post(base + "/_fake/faults", json={"kind": "malformed"})
    with pytest.raises(json.JSONDecodeError):
        call(base, creds, "GET", path).json()
    assert call(base, creds, "GET", path).json()["code"] == 0


def test_unknown_path_and_wrong_method(fake: TikTokFake, base: str) -> None:
    creds = creds_of(fake)
    unknown = call(base, creds, "GET", "/product/202309/nothing")
    assert (unknown.status_code, unknown.json()["code"]) == (404, 36009009)
    wrong = call(base, creds, "DELETE", "/logistics/202309/warehouses")
    assert (wrong.status_code, wrong.json()["code"]) == (405, 36009010)


def test_connections_hold_every_shops_credentials(fake: TikTokFake, base: str) -> None:
    listed = httpx.get(base + "/_fake/connections").json()
    assert [c["id"] for c in listed] == [s.id for s in fake.shops]
    for entry in listed:
        assert set(entry["credentials"]) == {"app_key", "app_secret", "access_token",
                                             "refresh_token", "shop_cipher"}
    assert len({c["credentials"]["access_token"] for c in listed}) == 2


def test_a_rendezvous_holds_a_shop_until_the_other_shop_calls(fake: TikTokFake,
                                                              base: str) -> None:
    warehouses = "/logistics/202309/warehouses"
    armed = httpx.post(base + "/_fake/rendezvous",
                       json={"path": warehouses, "shops": 2, "timeout": 60}).json()
    assert armed["armed"] and armed["arrived"] == []
    answers: list[int] = []
    first = threading.Thread(target=lambda: answers.append(
        call(base, creds_of(fake, 0), "GET", warehouses).status_code))
    first.start()
    for _ in range(3000):  # until the first shop's call is held (no assertion on time)
        if httpx.get(base + "/_fake/rendezvous").json()["arrived"]:
            break
        time.sleep(0.01)
    assert answers == [] and first.is_alive()  # held: the other shop has not called yet

    assert call(base, creds_of(fake, 1), "GET", warehouses).status_code == 200
    first.join(30)
    status = httpx.get(base + "/_fake/rendezvous").json()
    assert answers == [200] and status["met"] and not status["timed_out"]
    assert len(status["arrived"]) == 2 and not status["armed"]


def test_a_rendezvous_nobody_meets_gives_up_and_bad_settings_are_one_line(
        fake: TikTokFake, base: str) -> None:
    httpx.post(base + "/_fake/rendezvous", json={"shops": 2, "timeout": 0.2})
    assert call(base, creds_of(fake, 0), "GET", "/logistics/202309/warehouses").status_code == 200
    status = httpx.get(base + "/_fake/rendezvous").json()
    assert status["timed_out"] and not status["met"] and not status["armed"]

    for body, word in (({"shops": 1}, "shops"), ({"timeout": 0}, "timeout"),
                       ({"timeout": 10_000}, "timeout"), ({"path": 3}, "path")):
        refused = httpx.post(base + "/_fake/rendezvous", json=body)
        assert refused.status_code == 400 and word in refused.json()["error"]
