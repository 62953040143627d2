"""`shelfsync_subscribe_webhooks`: the app's subscriptions, made once, then delivered."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.errors import BadRequest
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.subscriptions import TOPICS

LIST = """{ webhookSubscriptions(first: 50) { nodes { topic
  endpoint { ... on WebhookHttpEndpoint { callbackUrl } } } } }"""
SET = """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input)
  { userErrors { message } } }"""


def gql(shop: RunningFake, query: str, variables: dict[str, Any] | None = None) -> Any:
    """A request to the fake as any Shopify client would send it."""
    response = httpx.post(f"{shop.base_url}/admin/api/2025-04/graphql.json",
                          json={"query": query, "variables": variables or {}},
                          headers={"X-Shopify-Access-Token":
                                   shop.connection.credentials["access_token"]}, timeout=10)
    response.raise_for_status()
    return response.json()


def subscriptions(shop: RunningFake) -> list[tuple[str, str]]:
    data = gql(shop, LIST)["data"]["webhookSubscriptions"]["nodes"]
    return sorted((node["topic"], node["endpoint"]["callbackUrl"]) for node in data)


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake]) -> RunningFake:
    return run_fake("shopify", products=3, variants=1)


@pytest.fixture
def subscribe(shop: RunningFake, plugin_manager: ShelfsyncPluginManager
              ) -> Callable[[str], list[str]]:
    def run(address: str) -> list[str]:
        topics: list[str] = plugin_manager.call(shop.connection, "shelfsync_subscribe_webhooks",
                                                address=address)
        return topics
    return run


@pytest.fixture
def inbox() -> Iterator[tuple[str, list[dict[str, str]]]]:
    received: list[dict[str, str]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received.append(dict(request.headers))
        return Response("ok")(environ, start_response)

    with serving(app) as server:
        yield server.base_url + "/webhooks/shopify/7", received


def test_subscribes_each_topic_once(shop: RunningFake,
                                   subscribe: Callable[[str], list[str]]) -> None:
    address = "https://shelfsync.example.com/webhooks/shopify/7"
    assert subscribe(address) == list(TOPICS)
    assert subscribe(address) == list(TOPICS)  # again: nothing duplicated
    assert subscriptions(shop) == sorted((topic, address) for topic in TOPICS)


def test_a_new_address_gets_its_own_subscriptions(
        shop: RunningFake, subscribe: Callable[[str], list[str]]) -> None:
    subscribe("https://old.example.com/webhooks/shopify/7")
    subscribe("https://new.example.com/webhooks/shopify/7")
    assert {url for _, url in subscriptions(shop)} == {
        "https://old.example.com/webhooks/shopify/7", "https://new.example.com/webhooks/shopify/7"}
    assert len(subscriptions(shop)) == 2 * len(TOPICS)


def test_an_address_shopify_refuses_is_a_bad_request(
        subscribe: Callable[[str], list[str]]) -> None:
    with pytest.raises(BadRequest, match="Address is invalid"):
        subscribe("ftp://shelfsync.example.com/hooks")


def test_stock_changes_are_delivered_to_the_address(
        shop: RunningFake, subscribe: Callable[[str], list[str]],
        inbox: tuple[str, list[dict[str, str]]]) -> None:
    address, received = inbox
    subscribe(address)
    variant = next(v for v in shop.fake.store.variants if v.item.tracked)
    location = shop.fake.store.locations[0]
    answer = gql(shop, SET, {"input": {
        "name": "available", "reason": "correction", "ignoreCompareQuantity": True,
        "quantities": [{"inventoryItemId": f"gid://shopify/InventoryItem/{variant.item.num}",
                        "locationId": f"gid://shopify/Location/{location.num}",
                        "quantity": 17}]}})
    assert answer["data"]["inventorySetQuantities"]["userErrors"] == []
    deadline = time.monotonic() + 10  # deliveries are asynchronous: wait, don't time
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received and received[0]["X-Shopify-Topic"] == "inventory_levels/update"
