"""Signed webhooks from the Shopify fake arrive at a real receiver with Shopify's headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.shopify.fake import ShopifyFake

PATH = "/admin/api/2025-04/graphql.json"
HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-Event-Id",
)


class Receiver:
    """A WSGI app recording every delivery (path, headers, raw body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Headers, bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        # werkzeug's Headers are case-insensitive, as HTTP header names are.
        self.received.append((request.path, Headers(request.headers), request.get_data()))
        return Response("ok")(environ, start_response)


def verified(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["X-Shopify-Hmac-Sha256"])


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, RunningServer]]:
    app = Receiver()
    with serving(app) as server:
        yield app, server


@pytest.fixture(scope="module")
def fake() -> ShopifyFake:
    return ShopifyFake(products=5, variants=2, seed=2)


@pytest.fixture(scope="module")
def client(fake: ShopifyFake) -> Iterator[httpx.Client]:
    with serving(fake) as server, httpx.Client(base_url=server.base_url, timeout=5) as http:
        http.headers["X-Shopify-Access-Token"] = fake.access_token
        yield http


def subscribe(client: httpx.Client, topic: str, url: str) -> None:
    body = client.post(
        PATH,
        json={
            "query": "mutation($t: WebhookSubscriptionTopic!, $u: URL!) {"
            " webhookSubscriptionCreate(topic: $t,"
            " webhookSubscription: {callbackUrl: $u, format: JSON}) { userErrors { message } } }",
            "variables": {"t": topic, "u": url},
        },
    ).json()
    assert body["data"]["webhookSubscriptionCreate"]["userErrors"] == []


def test_subscribed_topic_gets_signed_inventory_update(
    fake: ShopifyFake, client: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    app, server = receiver
    subscribe(client, "INVENTORY_LEVELS_UPDATE", f"{server.base_url}/levels")
    subscribe(client, "PRODUCTS_UPDATE", f"{server.base_url}/products")
    variant = fake.store.variants[0]
    location = fake.store.locations[0]
    response = client.post(
        "/_fake/stock", json={"sku": variant.sku, "location_id": location.num, "available": 42}
    )
    assert response.status_code == 200
    fake.webhooks.wait_idle()
    deliveries = [d for d in app.received if d[0] in ("/levels", "/products")]
    assert len(deliveries) == 1
    path, headers, body = deliveries[0]
    assert path == "/levels"
    assert all(name in headers for name in HEADERS)
    assert headers["X-Shopify-Topic"] == "inventory_levels/update"
    assert headers["X-Shopify-Shop-Domain"] == "shelfsync-demo.myshopify.com"
    assert verified(fake.client_secret, headers, body)
    assert not verified("shpss_wrong", headers, body)
    payload = json.loads(body)
    assert payload["inventory_item_id"] == variant.item.num
    assert payload["location_id"] == location.num and payload["available"] == 42
    assert payload["admin_graphql_api_id"] == (
        f"gid://shopify/InventoryLevel/{location.num}?inventory_item_id={variant.item.num}"
    )
    assert set(payload) == {
        "inventory_item_id",
        "location_id",
        "available",
        "updated_at",
        "admin_graphql_api_id",
    }


def test_fake_wide_url_gets_every_topic_with_unique_webhook_ids(
    fake: ShopifyFake, client: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    app, server = receiver
    assert client.post("/_fake/webhooks", json={"url": f"{server.base_url}/all"}).status_code == 200
    variant = fake.store.variants[1]
    item_id = f"gid://shopify/InventoryItem/{variant.item.num}"
    location_id = f"gid://shopify/Location/{fake.store.locations[0].num}"
    mutation = {
        "query": "mutation($i: InventorySetQuantitiesInput!) {"
        " inventorySetQuantities(input: $i) { userErrors { code } } }",
        "variables": {
            "i": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [
                    {"inventoryItemId": item_id, "locationId": location_id, "quantity": 1234}
                ],
            }
        },
    }
    assert (
        client.post(PATH, json=mutation).json()["data"]["inventorySetQuantities"]["userErrors"]
        == []
    )
    order = {
        "query": "mutation($o: OrderCreateOrderInput!) { orderCreate(order: $o,"
        " options: {inventoryBehaviour: DECREMENT_IGNORING_POLICY}) { userErrors { message } } }",
        "variables": {
            "o": {
                "lineItems": [
                    {"variantId": f"gid://shopify/ProductVariant/{variant.num}", "quantity": 4}
                ]
            }
        },
    }
    assert client.post(PATH, json=order).json()["data"]["orderCreate"]["userErrors"] == []
    assert (
        client.post("/_fake/variant", json={"sku": variant.sku, "tracked": False}).status_code
        == 200
    )
    fake.webhooks.wait_idle()
    deliveries = [d for d in app.received if d[0] == "/all"]
    topics = [h["X-Shopify-Topic"] for _, h, _ in deliveries]
    assert topics == [
        "inventory_levels/update",
        "inventory_levels/update",
        "orders/create",
        "products/update",
        "inventory_items/update",
    ]
    assert len({h["X-Shopify-Webhook-Id"] for _, h, _ in app.received}) == len(app.received)
    assert all(verified(fake.client_secret, h, b) for _, h, b in deliveries)
    product = json.loads(deliveries[3][2])
    assert product["variants"][1]["sku"] == variant.sku
    assert json.loads(deliveries[4][2])["tracked"] is False


def test_webhook_sample_is_correctly_signed(client: httpx.Client, fake: ShopifyFake) -> None:
    sample = client.post("/_fake/webhook-sample", json={"available": 3}).json()
    body = sample["body"].encode()
    assert verified(fake.client_secret, sample["headers"], body)
    assert json.loads(body)["available"] == 3
    headers, raw = fake.webhook_sample({"sku": fake.store.variants[2].sku})
    assert json.loads(raw)["inventory_item_id"] == fake.store.variants[2].item.num
    assert verified(fake.client_secret, headers, raw)
