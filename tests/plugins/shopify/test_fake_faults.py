"""Injected faults come back in Shopify's own formats; the control endpoints behave."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.fake import ShopifyFake

PATH = "/admin/api/2025-04/graphql.json"
QUERY = {"query": "{ shop { name } }"}


@pytest.fixture(scope="module")
def fake() -> ShopifyFake:
    return ShopifyFake(products=3, variants=1)


@pytest.fixture(scope="module")
def client(fake: ShopifyFake) -> Iterator[httpx.Client]:
    with serving(fake) as server, httpx.Client(base_url=server.base_url, timeout=5) as http:
        http.headers["X-Shopify-Access-Token"] = fake.access_token
        yield http


def inject(client: httpx.Client, kind: str, **extra: object) -> None:
    assert client.post("/_fake/faults", json={"kind": kind, "count": 1, **extra}).status_code == 200


def test_429_has_retry_after_and_shopify_body(client: httpx.Client) -> None:
    inject(client, "429")
    response = client.post(PATH, json=QUERY)
    assert response.status_code == 429
    assert float(response.headers["Retry-After"]) > 0
    assert response.json()["errors"].startswith("Exceeded 2 calls per second")
    assert client.post(PATH, json=QUERY).status_code == 200


def test_server_errors(client: httpx.Client) -> None:
    inject(client, "500")
    response = client.post(PATH, json=QUERY)
    assert response.status_code == 500 and response.json() == {"errors": "Internal Server Error"}
    for kind in ("502", "503"):
        inject(client, kind)
        response = client.post(PATH, json=QUERY)
        assert response.status_code == int(kind)
        assert response.headers["Content-Type"].startswith("text/html")


def test_malformed_and_timeout(client: httpx.Client) -> None:
    inject(client, "malformed")
    response = client.post(PATH, json=QUERY)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    inject(client, "timeout", seconds=0.05)
    assert client.post(PATH, json=QUERY).status_code == 504


def test_fault_path_filter_and_request_counts(client: httpx.Client) -> None:
    client.delete("/_fake/requests")
    inject(client, "500", path="/admin/api/2024-01/")
    assert client.post(PATH, json=QUERY).status_code == 200
    assert client.post("/admin/api/2024-01/graphql.json", json=QUERY).status_code == 500
    assert client.get("/_fake/requests").json()["count"] == 2


def test_state_stock_and_connections(fake: ShopifyFake, client: httpx.Client) -> None:
    state = client.get("/_fake/state").json()
    assert state["variants"] == 3 and [loc["active"] for loc in state["locations"]] == [
        True,
        True,
        False,
    ]
    sku = fake.store.variants[0].sku
    stock = client.post("/_fake/stock", json={"sku": sku, "delta": 5}).json()
    assert stock["sku"] == sku and len(stock["levels"]) == 3
    assert client.get("/_fake/stock", params={"sku": sku}).json() == stock
    assert client.post("/_fake/stock", json={"sku": "NOPE", "available": 1}).status_code == 404
    assert client.post("/_fake/stock", json={"sku": sku}).status_code == 400
    assert client.post("/_fake/budget", json={"restore_rate": -1}).status_code == 400
    assert client.get("/_fake/nothing").status_code == 404
    [connection] = client.get("/_fake/connections").json()
    assert connection["credentials"] == {
        "access_token": fake.access_token,
        "client_secret": fake.client_secret,
    }
    assert connection["shop"] == "shelfsync-demo.myshopify.com"
