"""Calculated query cost, the leaky bucket and THROTTLED / MAX_COST_EXCEEDED, over HTTP.

The bucket reads an injected clock that only the test moves, so the figures asserted are
exact however slowly the machine runs (a wall-clock refill made them flaky under load).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.fake import ShopifyFake
from shelfsync.plugins.shopify.fake_cost import LeakyBucket

PATH = "/admin/api/2025-04/graphql.json"


@pytest.fixture(scope="module")
def fake() -> ShopifyFake:
    return ShopifyFake(products=10, variants=2)


@pytest.fixture(scope="module")
def server_client(fake: ShopifyFake) -> Iterator[httpx.Client]:
    with serving(fake) as server, httpx.Client(base_url=server.base_url, timeout=5) as http:
        http.headers["X-Shopify-Access-Token"] = fake.access_token
        yield http


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(fake: ShopifyFake, server_client: httpx.Client, clock: ManualClock) -> httpx.Client:
    """The shared server with a full Standard-plan bucket on the test's clock."""
    fake.bucket = LeakyBucket(2000, 100, clock=clock)
    return server_client


def post(
    client: httpx.Client, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = client.post(PATH, json={"query": query, "variables": variables or {}})
    assert response.status_code == 200
    return response.json()


def test_cost_extension_follows_shopify_rules(client: httpx.Client) -> None:
    # connection: 2 + first × (node 1); shop object 1; scalars free.
    body = post(client, "{ shop { name } products(first: 10) { edges { node { id title } } } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 + 12
    assert cost["actualQueryCost"] == 1 + 12
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0
    # Nested connection: 2 + 5 × (1 + inventoryItem 1 + (2 + 3 × (1 + location 1))).
    nested = post(
        client,
        "{ productVariants(first: 5) { nodes { inventoryItem { inventoryLevels(first: 3) {"
        " nodes { location { id } } } } } } }",
    )["extensions"]["cost"]
    assert nested["requestedQueryCost"] == 2 + 5 * (1 + 1 + 2 + 3 * 2)
    # Only 3 levels exist per item: the actual cost counts what came back.
    assert nested["actualQueryCost"] == 2 + 5 * (1 + 1 + 2 + 3 * 2)


def test_short_page_costs_less_and_is_refunded(fake: ShopifyFake, client: httpx.Client) -> None:
    body = post(client, "{ productVariants(first: 250) { nodes { id } } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 252
    assert cost["actualQueryCost"] == 2 + 20
    # The bucket lost only the actual cost: the rest of the requested 252 came back.
    assert cost["throttleStatus"]["currentlyAvailable"] == 2000 - 22


def test_mutation_costs_ten(client: httpx.Client) -> None:
    body = post(
        client,
        "mutation { webhookSubscriptionCreate(topic: PRODUCTS_UPDATE, webhookSubscription: "
        '{callbackUrl: "https://example.com/hook", format: JSON}) { userErrors { message } } }',
    )
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10


def test_throttled_when_bucket_is_spent(client: httpx.Client) -> None:
    budget = client.post(
        "/_fake/budget", json={"bucket_size": 50, "restore_rate": 1, "available": 30}
    )
    assert budget.json()["throttleStatus"]["currentlyAvailable"] == 30
    body = post(client, "{ productVariants(first: 40) { nodes { id } } }")
    assert "data" not in body
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 42 and cost["actualQueryCost"] is None
    # Nothing was consumed by the refused query: a cheap one still fits.
    assert cost["throttleStatus"]["currentlyAvailable"] == 30
    cheap = post(client, "{ shop { name } }")
    assert cheap["data"]["shop"]["name"] and cheap["extensions"]["cost"]["actualQueryCost"] == 1


def test_bucket_refills_at_restore_rate(client: httpx.Client, clock: ManualClock) -> None:
    client.post("/_fake/budget", json={"bucket_size": 100, "restore_rate": 200, "available": 0})
    assert post(client, "{ shop { name } }")["errors"][0]["message"] == "Throttled"
    clock.advance(0.004)  # 0.8 of a point: still short of the 1 the query costs
    assert post(client, "{ shop { name } }")["errors"][0]["message"] == "Throttled"
    clock.advance(0.001)
    body = post(client, "{ shop { name } }")
    assert body["data"]["shop"]["name"]
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    clock.advance(10)  # never above the bucket's size
    assert post(client, "{ shop { name } }")["extensions"]["cost"]["throttleStatus"][
        "currentlyAvailable"] == 99


def test_query_over_max_cost_is_refused(client: httpx.Client) -> None:
    body = post(
        client,
        "{ productVariants(first: 250) { nodes { inventoryItem { inventoryLevels(first: 3) {"
        " nodes { id } } } } } }",
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["maxCost"] == 1000 and error["extensions"]["cost"] > 1000
    assert error["message"].startswith(
        f"Query cost is {error['extensions']['cost']}, which exceeds"
    )


def test_fragments_on_interfaces_cost_the_maximum(client: httpx.Client) -> None:
    body = post(
        client,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on ProductVariant { product { id } } "
        "... on InventoryItem { variant { product { id } } } } }",
        {"ids": ["gid://shopify/ProductVariant/40000000001", "gid://shopify/Location/70000001"]},
    )
    # 2 ids × (node 1 + the costliest branch: variant 1 + product 1).
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 * 3
    assert body["data"]["nodes"][0]["product"]["id"].startswith("gid://shopify/Product/")


def test_leaky_bucket_unit() -> None:
    now = [0.0]
    bucket = LeakyBucket(100, 10, clock=lambda: now[0])
    assert bucket.try_take(80) and not bucket.try_take(30)
    now[0] = 1.0
    assert bucket.status()["currentlyAvailable"] == 30 and bucket.try_take(30)
    bucket.refund(500)
    assert bucket.status()["currentlyAvailable"] == 100
