"""Inventory mutations (compare-and-set), orderCreate stock and order lookup, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.fake import ShopifyFake

PATH = "/admin/api/2025-04/graphql.json"
SET = """mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""
ADJUST = """mutation Adjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) {
    inventoryAdjustmentGroup { changes(quantityNames: ["available"]) { delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""
ORDER = """mutation Create($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name tags customAttributes { key value } sourceIdentifier displayFinancialStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      lineItems(first: 5) { nodes { sku quantity variant { id } } } }
    userErrors { field message code }
  }
}"""


@pytest.fixture(scope="module")
def fake() -> ShopifyFake:
    return ShopifyFake(products=30, variants=2, seed=1)


@pytest.fixture(scope="module")
def client(fake: ShopifyFake) -> Iterator[httpx.Client]:
    with serving(fake) as server, httpx.Client(base_url=server.base_url, timeout=5) as http:
        http.headers["X-Shopify-Access-Token"] = fake.access_token
        yield http


def gql(
    client: httpx.Client, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = client.post(PATH, json={"query": query, "variables": variables or {}}).json()
    assert "errors" not in body, body
    return body["data"]


def stock(client: httpx.Client, sku: str) -> dict[str, Any]:
    """Ids and available quantity per active location of a SKU, read through the API."""
    data = gql(
        client,
        "query($q: String) { productVariants(first: 1, query: $q) { nodes { id inventoryItem { id"
        " inventoryLevels(first: 5) { nodes { location { id isActive }"
        ' quantities(names: ["available", "committed", "on_hand"])'
        " { name quantity } } } } } } }",
        {"q": f"sku:{sku}"},
    )
    variant = data["productVariants"]["nodes"][0]
    levels = {
        lv["location"]["id"]: {q["name"]: q["quantity"] for q in lv["quantities"]}
        for lv in variant["inventoryItem"]["inventoryLevels"]["nodes"]
        if lv["location"]["isActive"]
    }
    return {"variant": variant["id"], "item": variant["inventoryItem"]["id"], "levels": levels}


def tracked_deny_sku(fake: ShopifyFake, index: int) -> str:
    usable = [
        v.sku
        for v in fake.store.variants
        if v.item.tracked
        and v.policy == "DENY"
        and all(lv.quantities["available"] >= 0 for lv in v.item.levels.values())
    ]
    return usable[index]


def set_input(
    item: str, location: str, quantity: int, compare: int | None, **extra: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {"inventoryItemId": item, "locationId": location, "quantity": quantity}
    if compare is not None:
        entry["compareQuantity"] = compare
    return {"input": {"name": "available", "reason": "correction", "quantities": [entry], **extra}}


def test_set_quantities_compare_and_set(fake: ShopifyFake, client: httpx.Client) -> None:
    s = stock(client, tracked_deny_sku(fake, 0))
    location, current = next(iter(s["levels"].items()))
    ok = gql(client, SET, set_input(s["item"], location, 77, current["available"]))
    result = ok["inventorySetQuantities"]
    assert result["userErrors"] == []
    assert {c["name"]: c["delta"] for c in result["inventoryAdjustmentGroup"]["changes"]} == {
        "available": 77 - current["available"],
        "on_hand": 77 - current["available"],
    }
    stale = gql(client, SET, set_input(s["item"], location, 5, current["available"]))
    error = stale["inventorySetQuantities"]["userErrors"][0]
    assert error["code"] == "COMPARE_QUANTITY_STALE"
    assert error["field"] == ["input", "quantities", "0", "compareQuantity"]
    assert stale["inventorySetQuantities"]["inventoryAdjustmentGroup"] is None
    required = gql(client, SET, set_input(s["item"], location, 5, None))
    assert (
        required["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    )
    assert stock(client, tracked_deny_sku(fake, 0))["levels"][location]["available"] == 77
    forced = gql(client, SET, set_input(s["item"], location, 5, None, ignoreCompareQuantity=True))
    assert forced["inventorySetQuantities"]["userErrors"] == []
    assert stock(client, tracked_deny_sku(fake, 0))["levels"][location]["available"] == 5


def test_set_quantities_is_all_or_nothing(fake: ShopifyFake, client: httpx.Client) -> None:
    s = stock(client, tracked_deny_sku(fake, 1))
    location, current = next(iter(s["levels"].items()))
    payload = set_input(s["item"], location, 9, current["available"])
    payload["input"]["quantities"].append(
        {
            "inventoryItemId": "gid://shopify/InventoryItem/1",
            "locationId": location,
            "quantity": 1,
            "compareQuantity": 0,
        }
    )
    payload["input"]["reason"] = "because"
    errors = gql(client, SET, payload)["inventorySetQuantities"]["userErrors"]
    assert {e["code"] for e in errors} == {"INVALID_REASON", "INVALID_INVENTORY_ITEM"}
    assert stock(client, tracked_deny_sku(fake, 1))["levels"][location] == current


def test_adjust_quantities(fake: ShopifyFake, client: httpx.Client) -> None:
    s = stock(client, tracked_deny_sku(fake, 2))
    location, current = next(iter(s["levels"].items()))
    change = {"delta": -3, "inventoryItemId": s["item"], "locationId": location}
    data = gql(
        client,
        ADJUST,
        {"input": {"name": "available", "reason": "correction", "changes": [change]}},
    )
    group = data["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]
    # Shopify leaves quantityAfterChange null in the mutation's answer (live capture).
    assert group["changes"] == [{"delta": -3, "quantityAfterChange": None}]
    assert stock(client, tracked_deny_sku(fake, 2))["levels"][location]["available"] == (
        current["available"] - 3
    )
    bad = gql(
        client, ADJUST, {"input": {"name": "sold", "reason": "correction", "changes": [change]}}
    )
    assert bad["inventoryAdjustQuantities"]["userErrors"][0]["code"] == "INVALID_QUANTITY_NAME"


def test_order_create_decrements_stock(fake: ShopifyFake, client: httpx.Client) -> None:
    sku = tracked_deny_sku(fake, 3)
    before = stock(client, sku)
    order = {
        "currency": "USD",
        "email": "buyer@example.com",
        "tags": ["tiktok", "tiktok-order-5770001"],
        "customAttributes": [{"key": "tiktok_order_id", "value": "5770001"}],
        "sourceIdentifier": "tiktok-5770001",
        "note": "from TikTok Shop",
        "financialStatus": "PAID",
        "shippingAddress": {
            "address1": "1 Main St",
            "city": "Austin",
            "countryCode": "US",
            "zip": "78701",
        },
        "lineItems": [
            {
                "variantId": before["variant"],
                "quantity": 2,
                "priceSet": {"shopMoney": {"amount": "12.50", "currencyCode": "USD"}},
            },
        ],
    }
    created = gql(
        client,
        ORDER,
        {"order": order, "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}},
    )
    result = created["orderCreate"]
    assert result["userErrors"] == []
    assert result["order"]["name"].startswith("#10")
    assert result["order"]["customAttributes"] == [{"key": "tiktok_order_id", "value": "5770001"}]
    assert result["order"]["totalPriceSet"]["shopMoney"] == {
        "amount": "25.0",  # Shopify prints Decimals without trailing zeros
        "currencyCode": "USD",
    }
    assert result["order"]["displayFinancialStatus"] == "PAID"
    after = stock(client, sku)
    total = lambda s, n: sum(lv[n] for lv in s["levels"].values())  # noqa: E731
    assert total(after, "available") == total(before, "available") - 2
    assert total(after, "committed") == total(before, "committed") + 2
    assert total(after, "on_hand") == total(before, "on_hand")
    # The client's idempotency lookup finds it by tag (quoted or bare) and by source identifier.
    for query in (
        "tag:'tiktok-order-5770001'",
        "tag:tiktok-order-5770001",
        "source_identifier:tiktok-5770001",
    ):
        found = gql(
            client,
            "query($q: String) { orders(first: 5, query: $q) { nodes { id } } }",
            {"q": query},
        )
        assert found["orders"]["nodes"] == [{"id": result["order"]["id"]}]
    none = gql(client, '{ orders(first: 5, query: "tag:other") { nodes { id } } }')
    assert none["orders"]["nodes"] == []


def test_order_create_bypass_leaves_stock(fake: ShopifyFake, client: httpx.Client) -> None:
    sku = tracked_deny_sku(fake, 4)
    before = stock(client, sku)
    order = {"lineItems": [{"variantId": before["variant"], "quantity": 1}]}
    assert gql(client, ORDER, {"order": order})["orderCreate"]["userErrors"] == []
    assert stock(client, sku) == before


def test_order_create_obeying_policy_refuses_oversell(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    sku = tracked_deny_sku(fake, 5)
    before = stock(client, sku)
    order = {"lineItems": [{"variantId": before["variant"], "quantity": 100_000}]}
    options = {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}
    error = gql(client, ORDER, {"order": order, "options": options})["orderCreate"]["userErrors"][0]
    assert error["code"] == "INVENTORY_CLAIM_FAILED"
    options = {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"}
    assert gql(client, ORDER, {"order": order, "options": options})["orderCreate"]["order"]["id"]
    after = stock(client, sku)
    assert (
        sum(lv["available"] for lv in after["levels"].values())
        == sum(lv["available"] for lv in before["levels"].values()) - 100_000
    )


def test_order_create_unknown_variant_is_a_user_error(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    count = len(fake.store.orders)
    order = {"lineItems": [{"variantId": "gid://shopify/ProductVariant/999", "quantity": 1}]}
    result = gql(client, ORDER, {"order": order})["orderCreate"]
    assert result["order"] is None
    assert result["userErrors"][0]["field"] == ["order", "lineItems", "0", "variantId"]
    assert len(fake.store.orders) == count


def test_misspelled_inventory_behavior_is_rejected(client: httpx.Client) -> None:
    literal = client.post(
        PATH,
        json={
            "query": "mutation { orderCreate(order: {lineItems: []},"
            " options: {inventoryBehavior: BYPASS}) { userErrors { message } } }"
        },
    ).json()
    assert literal["errors"][0]["message"] == (
        "InputObject 'OrderCreateOptionsInput' doesn't accept argument 'inventoryBehavior'"
    )
    variables = {"order": {"lineItems": []}, "options": {"inventoryBehavior": "BYPASS"}}
    body = client.post(PATH, json={"query": ORDER, "variables": variables}).json()
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["extensions"]["problems"][0]["explanation"] == (
        "Field is not defined on OrderCreateOptionsInput"
    )


def test_webhook_subscription_create(client: httpx.Client) -> None:
    query = """mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
        webhookSubscription { id topic format callbackUrl
          endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
        userErrors { field message }
      }
    }"""
    variables = {
        "topic": "INVENTORY_LEVELS_UPDATE",
        "sub": {"callbackUrl": "https://example.com/a", "format": "JSON"},
    }
    created = gql(client, query, variables)["webhookSubscriptionCreate"]
    assert created["userErrors"] == []
    assert created["webhookSubscription"]["endpoint"] == {
        "__typename": "WebhookHttpEndpoint",
        "callbackUrl": "https://example.com/a",
    }
    again = gql(client, query, variables)["webhookSubscriptionCreate"]
    assert again["userErrors"][0]["message"] == "Address for this topic has already been taken"


def test_fulfilment_ships_committed_stock_and_shows_tracking(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    sku = tracked_deny_sku(fake, 6)
    before = stock(client, sku)
    order = {"lineItems": [{"variantId": before["variant"], "quantity": 3}]}
    options = {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"}
    order_id = gql(client, ORDER, {"order": order, "options": options})["orderCreate"]["order"][
        "id"
    ]
    shipped = client.post(
        "/_fake/fulfill", json={"order_id": order_id, "tracking_number": "1Z999", "company": "UPS"}
    )
    assert shipped.status_code == 200
    tracking = gql(
        client,
        "query($id: ID!) { order(id: $id) { displayFulfillmentStatus"
        " fulfillments(first: 5) { status trackingInfo(first: 1) { number company } } } }",
        {"id": order_id},
    )["order"]
    assert tracking["displayFulfillmentStatus"] == "FULFILLED"
    assert tracking["fulfillments"] == [
        {"status": "SUCCESS", "trackingInfo": [{"number": "1Z999", "company": "UPS"}]}
    ]
    after = stock(client, sku)

    def total(s: dict[str, Any], name: str) -> int:
        return sum(level[name] for level in s["levels"].values())

    assert total(after, "available") == total(before, "available") - 3
    assert total(after, "committed") == total(before, "committed")
    assert total(after, "on_hand") == total(before, "on_hand") - 3
    assert client.post("/_fake/fulfill", json={"order_id": order_id}).status_code == 409
