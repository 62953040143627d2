"""Requests an independent Shopify client may send (the plugin itself does not), answered as
Shopify answers them.

Error shapes marked "live" follow answers recorded from the real 2025 Admin API (the
airhorns/shopify-draft-proxy conformance captures): validation-stage errors carry no `data`
and no `extensions.cost`; a malformed global id is refused before execution.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.fake import ShopifyFake

PATH = "/admin/api/2025-04/graphql.json"


@pytest.fixture(scope="module")
def fake() -> ShopifyFake:
    return ShopifyFake(products=3, variants=2)


@pytest.fixture(scope="module")
def client(fake: ShopifyFake) -> Iterator[httpx.Client]:
    with serving(fake) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        http.headers["X-Shopify-Access-Token"] = fake.access_token
        yield http


def gql(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post(PATH, json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


def refused_before_running(body: dict[str, Any]) -> dict[str, Any]:
    """The single error of a request Shopify refuses before executing anything (live)."""
    assert "data" not in body and "extensions" not in body, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


def test_search_by_sku_in_reverse(fake: ShopifyFake, client: httpx.Client) -> None:
    sku = fake.store.variants[1].sku
    body = gql(
        client,
        "query($q: String, $n: Int = 5) { productVariants(reverse: true, query: $q, first: $n)"
        " { edges { cursor node { sku } } pageInfo { hasNextPage } } }",
        {"q": f"sku:{sku}"},
    )
    edges = body["data"]["productVariants"]["edges"]
    assert [e["node"]["sku"] for e in edges] == [sku]
    assert body["data"]["productVariants"]["pageInfo"]["hasNextPage"] is False
    forward = gql(client, "{ productVariants(first: 6) { nodes { id } } }")["data"]
    backward = gql(client, "{ productVariants(last: 6, reverse: true) { nodes { id } } }")["data"]
    assert forward["productVariants"]["nodes"][::-1] == backward["productVariants"]["nodes"]


def test_nodes_with_inline_fragments_and_typename(fake: ShopifyFake, client: httpx.Client) -> None:
    variant, location = fake.store.variants[0], fake.store.locations[0]
    ids = [
        f"gid://shopify/ProductVariant/{variant.num}",
        f"gid://shopify/Location/{location.num}",
        "gid://shopify/Product/0",  # well-formed but absent: null, no error (live)
        "gid://shopify/UnknownType/123",
    ]
    body = gql(
        client,
        """query($ids: [ID!]!) { nodes(ids: $ids) {
          __typename id
          ... on ProductVariant { sku inventoryItem { __typename tracked } }
          ... on Location { name isActive }
        } }""",
        {"ids": ids},
    )
    first, second, absent, unknown = body["data"]["nodes"]
    assert first["__typename"] == "ProductVariant" and first["sku"] == variant.sku
    assert first["inventoryItem"]["__typename"] == "InventoryItem"
    assert second == {
        "__typename": "Location",
        "id": ids[1],
        "name": location.name,
        "isActive": location.active,
    }
    assert absent is None and unknown is None and "errors" not in body


def test_inventory_item_with_variable_defaults_and_typename_everywhere(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    item = fake.store.variants[0].item
    body = gql(
        client,
        """query Item($id: ID!, $n: Int = 2, $names: [String!]! = ["available", "on_hand"]) {
          __typename
          inventoryItem(id: $id) { __typename sku
            inventoryLevels(first: $n) { __typename
              edges { __typename node { __typename quantities(names: $names) { __typename name } } }
              pageInfo { __typename hasNextPage } } } }""",
        {"id": f"gid://shopify/InventoryItem/{item.num}"},
    )
    data = body["data"]
    assert data["__typename"] == "QueryRoot"
    levels = data["inventoryItem"]["inventoryLevels"]
    assert levels["__typename"] == "InventoryLevelConnection"
    assert levels["pageInfo"]["__typename"] == "PageInfo"
    assert len(levels["edges"]) == 2 and levels["edges"][0]["__typename"] == "InventoryLevelEdge"
    quantities = levels["edges"][0]["node"]["quantities"]
    assert quantities == [
        {"__typename": "InventoryQuantity", "name": "available"},
        {"__typename": "InventoryQuantity", "name": "on_hand"},
    ]
    assert body["extensions"]["cost"]["requestedQueryCost"] >= 1


def test_introspection_is_allowed(client: httpx.Client) -> None:
    body = gql(
        client,
        '{ __schema { queryType { name } types { name } } __type(name: "InventoryLevel")'
        " { fields { name } } }",
    )
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert body["data"]["__schema"]["queryType"]["name"] == "QueryRoot"
    assert {"ProductVariant", "InventoryLevel", "Location"} <= names
    assert "quantities" in {f["name"] for f in body["data"]["__type"]["fields"]}


def test_first_zero_is_an_empty_page(client: httpx.Client) -> None:
    body = gql(client, "{ productVariants(first: 0) { nodes { id } edges { cursor } } }")
    assert body["data"]["productVariants"] == {"nodes": [], "edges": []}
    assert "errors" not in body


def test_garbage_cursor_is_an_error_not_a_crash(client: httpx.Client) -> None:
    for cursor in ("garbage", "Zm9v", ""):
        body = gql(
            client,
            "query($c: String) { productVariants(first: 2, after: $c) { nodes { id } } }",
            {"c": cursor},
        )
        if cursor == "":
            # An empty cursor is no cursor: the first page.
            assert len(body["data"]["productVariants"]["nodes"]) == 2
            continue
        assert body["errors"][0]["message"].startswith("Invalid cursor")
        assert body["errors"][0]["path"] == ["productVariants"]


def test_unknown_enum_value_is_an_argument_error(client: httpx.Client) -> None:
    body = gql(client, "{ webhookSubscriptions(first: 1, topics: [NOPE]) { nodes { id } } }")
    error = refused_before_running(body)
    assert error["message"] == (
        "Argument 'topics' on Field 'webhookSubscriptions' has an invalid value ([NOPE])."
        " Expected type '[WebhookSubscriptionTopic!]'."
    )
    assert error["extensions"]["code"] == "argumentLiteralsIncompatible"
    assert error["path"] == ["query", "webhookSubscriptions", "topics"]
    body = gql(
        client,
        "query($t: [WebhookSubscriptionTopic!]) { webhookSubscriptions(first: 1, topics: $t)"
        " { nodes { id } } }",
        {"t": ["NOPE"]},
    )
    error = refused_before_running(body)
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["extensions"]["problems"][0]["path"] == [0]


def test_malformed_global_ids_are_refused_before_execution(client: httpx.Client) -> None:
    literal = refused_before_running(gql(client, 'query Q { product(id: "123") { id } }'))
    assert literal["message"] == "Invalid global id '123'"
    assert literal["path"] == ["query Q", "product", "id"]
    assert literal["extensions"] == {
        "code": "argumentLiteralsIncompatible",
        "typeName": "CoercionError",
    }
    body = gql(
        client,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": ["gid://shopify/Product/0", "gid://shopify/Product"]},
    )
    error = refused_before_running(body)
    assert error["message"] == (
        "Variable $ids of type [ID!]! was provided invalid value for 1"
        " (Invalid global id 'gid://shopify/Product')"
    )
    assert error["extensions"]["problems"] == [
        {
            "path": [1],
            "explanation": "Invalid global id 'gid://shopify/Product'",
            "message": "Invalid global id 'gid://shopify/Product'",
        }
    ]


def test_validation_errors_in_shopify_words(client: httpx.Client) -> None:
    error = refused_before_running(gql(client, "query Named { shop }"))
    assert error["extensions"]["code"] == "selectionMismatch"
    assert error["message"].startswith("Field must have selections (field 'shop' returns Shop")
    error = refused_before_running(gql(client, "query Named { shop { nope } }"))
    assert error["path"] == ["query Named", "shop", "nope"]
    assert error["extensions"]["code"] == "undefinedField"
    error = refused_before_running(gql(client, "{ product { id } }"))
    assert error["message"] == "Field 'product' is missing required arguments: id"
    assert error["extensions"]["code"] == "missingRequiredArguments"
    error = refused_before_running(gql(client, "{ shop { id "))
    assert error["extensions"]["code"] == "PARSE_ERROR"


SET = """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {
  inventoryAdjustmentGroup { changes { name delta quantityAfterChange } }
  userErrors { field message code } } }"""
ADJUST = SET.replace("InventorySetQuantities", "InventoryAdjustQuantities").replace(
    "inventorySetQuantities", "inventoryAdjustQuantities"
)


def test_missing_variable_and_missing_required_input_field(client: httpx.Client) -> None:
    error = refused_before_running(gql(client, SET))
    assert error["message"] == (
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"
    )
    assert error["extensions"]["problems"] == [
        {"path": [], "explanation": "Expected value to not be null"}
    ]
    error = refused_before_running(
        gql(client, SET, {"input": {"reason": "correction", "quantities": []}})
    )
    assert error["message"] == (
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"
        " for name (Expected value to not be null)"
    )
    assert error["extensions"]["code"] == "INVALID_VARIABLE"


def test_set_quantities_at_an_unknown_location(fake: ShopifyFake, client: httpx.Client) -> None:
    item = fake.store.variants[0].item
    quantity = {
        "inventoryItemId": f"gid://shopify/InventoryItem/{item.num}",
        "locationId": "gid://shopify/Location/1",
        "quantity": 5,
    }
    body = gql(
        client,
        SET,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [quantity],
            }
        },
    )
    payload = body["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"][0]["code"] == "INVALID_LOCATION"
    assert payload["userErrors"][0]["field"] == ["input", "quantities", "0", "locationId"]


def test_adjust_may_take_available_below_zero(fake: ShopifyFake, client: httpx.Client) -> None:
    variant = fake.store.variants[1]
    level = next(lv for lv in variant.item.levels.values() if lv.location.active)
    before = level.quantities["available"]
    change = {
        "inventoryItemId": f"gid://shopify/InventoryItem/{variant.item.num}",
        "locationId": f"gid://shopify/Location/{level.location.num}",
        "delta": -(before + 7),
    }
    body = gql(
        client,
        ADJUST,
        {"input": {"name": "available", "reason": "correction", "changes": [change]}},
    )
    payload = body["data"]["inventoryAdjustQuantities"]
    assert payload["userErrors"] == []
    available = next(c for c in payload["inventoryAdjustmentGroup"]["changes"])
    assert available == {"name": "available", "delta": -(before + 7), "quantityAfterChange": None}
    assert level.quantities["available"] == -7


def test_order_create_without_line_items_creates_nothing(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    count = len(fake.store.orders)
    body = gql(
        client,
        'mutation { orderCreate(order: {email: "a@example.com"}) { order { id }'
        " userErrors { field code } } }",
    )
    payload = body["data"]["orderCreate"]
    assert payload["order"] is None
    assert payload["userErrors"][0]["field"] == ["order", "lineItems"]
    assert len(fake.store.orders) == count
