"""The Shopify fake driven by Shopify's own Python library (ShopifyAPI, `import shopify`).

The library is an independent client: Shopify wrote it against the real Admin API, so every
answer it can read from the fake is one it reads from Shopify. Its GraphQL client is
`shopify.GraphQL().execute(query, variables, operation_name)`, which POSTs
`{"query", "variables", "operationName"}` (nulls included) to the session's
`{site}/graphql.json` and returns the body text; on an HTTP error it prints the body and
re-raises urllib's `HTTPError`.

Pointing it at the fake uses the library's own knobs (`Session.setup(protocol=, port=,
myshopify_domain=)`, as its `test_myshopify_domain_supports_non_standard_ports` does). A
`Session` keeps only the first DNS label of the shop and appends `.{myshopify_domain}:{port}`,
and `*.localhost` does not resolve everywhere, so the loopback address is spelled as shop
"127" in domain "0.0.1".

The queries are the kinds apps send: catalogue paging with nested inventory levels, SKU
look-ups, locations, named operations with fragments and aliases, the 2025-04 inventory
mutations, orderCreate and webhook subscriptions, all with variables.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import urllib.error
from collections.abc import Iterator
from typing import Any

import httpx
import pyactiveresource.connection
import pytest
import shopify

from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.shopify.fake import ShopifyFake
from shelfsync.plugins.shopify.fake_store import Variant

VERSION = "2025-04"
# Shopify's 401 body for a wrong or missing token (PLATFORM_APIS.md; the fake's docstring).
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
NAMES = ["available", "committed", "on_hand"]


@pytest.fixture
def fake() -> ShopifyFake:
    return ShopifyFake(products=3, variants=2, shop="maple-goods.myshopify.com", currency="CAD")


@pytest.fixture
def server(fake: ShopifyFake, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """The fake served, and the library's (process-wide) session pointed at it."""
    with serving(fake) as running:
        monkeypatch.setattr(shopify.Session, "protocol", "http")
        monkeypatch.setattr(shopify.Session, "myshopify_domain", "0.0.1")
        monkeypatch.setattr(shopify.Session, "port", running.server.server_port)
        activate(fake.access_token)
        try:
            yield running
        finally:
            shopify.ShopifyResource.clear_session()


def activate(token: str, version: str = VERSION) -> None:
    """Make `token` and `version` the library's current session."""
    shopify.ShopifyResource.activate_session(shopify.Session("127", version, token))


def execute(
    query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
) -> Any:
    """One request through the library's GraphQL client, its body decoded."""
    return json.loads(shopify.GraphQL().execute(query, variables, operation_name))


def data(query: str, variables: dict[str, Any] | None = None) -> Any:
    body = execute(query, variables)
    assert "errors" not in body, body
    return body["data"]


def gid(kind: str, num: int) -> str:
    return f"gid://shopify/{kind}/{num}"


def active_levels(variant: Variant) -> list[Any]:
    return [lv for lv in variant.item.levels.values() if lv.location.active]


# --- reads ------------------------------------------------------------------------------------


def test_the_library_reaches_the_admin_graphql_endpoint(
    fake: ShopifyFake, server: RunningServer
) -> None:
    assert shopify.GraphQL().endpoint == f"{server.base_url}/admin/api/{VERSION}/graphql.json"
    body = execute("{ shop { name currencyCode myshopifyDomain } }")
    assert body["data"]["shop"] == {
        "name": "Maple Goods",  # the fake names the shop after its domain
        "currencyCode": "CAD",
        "myshopifyDomain": "maple-goods.myshopify.com",
    }
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 1
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0


CATALOGUE = """
query Catalogue($first: Int!, $after: String, $names: [String!]!) {
  products(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id title
      variants(first: 10) { nodes {
        sku
        inventoryItem { id tracked
          inventoryLevels(first: 5) { nodes {
            quantities(names: $names) { name quantity }
            location { id name isActive }
          } }
        }
      } }
    } }
  }
}"""


def test_paging_the_catalogue_with_inventory_levels(
    fake: ShopifyFake, server: RunningServer
) -> None:
    """An app's full inventory read: pages of products, their variants, every level."""
    skus: list[str] = []
    pages, cursor = 0, None
    while True:
        page = data(CATALOGUE, {"first": 2, "after": cursor, "names": NAMES})["products"]
        pages += 1
        for edge in page["edges"]:
            for node in edge["node"]["variants"]["nodes"]:
                variant = fake.store.by_sku[node["sku"]]
                skus.append(node["sku"])
                assert node["inventoryItem"]["id"] == gid("InventoryItem", variant.item.num)
                levels = node["inventoryItem"]["inventoryLevels"]["nodes"]
                assert len(levels) == len(variant.item.levels)
                for level in levels:
                    num = int(level["location"]["id"].rsplit("/", 1)[1])
                    stored = variant.item.levels[num]
                    assert level["location"]["isActive"] is stored.location.active
                    assert level["quantities"] == [
                        {"name": name, "quantity": stored.quantity(name)} for name in NAMES
                    ]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert pages == 2
    assert skus == [v.sku for v in fake.store.variants]


def test_locations_and_sku_look_ups(fake: ShopifyFake, server: RunningServer) -> None:
    active = sorted(loc.name for loc in fake.store.locations if loc.active)
    got = data("{ locations(first: 10) { nodes { name isActive } } }")["locations"]["nodes"]
    assert [n["name"] for n in got] == active  # sortKey NAME by default; active only
    everything = data("{ locations(first: 10, includeInactive: true) { nodes { name } } }")
    assert len(everything["locations"]["nodes"]) == len(fake.store.locations)

    first, last = fake.store.variants[0], fake.store.variants[-1]
    query = """query BySku($q: String) { productVariants(first: 250, query: $q) {
      nodes { sku price product { title } inventoryItem { id } } } }"""
    nodes = data(query, {"q": f"sku:{first.sku} OR sku:{last.sku}"})["productVariants"]["nodes"]
    assert [n["sku"] for n in nodes] == [first.sku, last.sku]
    assert nodes[0]["price"] == first.price
    assert nodes[0]["product"]["title"] == first.product.title
    assert data(query, {"q": "sku:NO-SUCH-SKU"})["productVariants"]["nodes"] == []
    items = data(
        "query($q: String) { inventoryItems(first: 5, query: $q)"
        " { nodes { id variant { sku } } } }",
        {"q": f"sku:{last.sku}"},
    )["inventoryItems"]["nodes"]
    assert items == [{"id": gid("InventoryItem", last.item.num), "variant": {"sku": last.sku}}]


DOCUMENT = """
query ShopInfo { shop { name } }
query Stock($id: ID!, $names: [String!]!) {
  variant: productVariant(id: $id) {
    code: sku
    inventoryItem { levels: inventoryLevels(first: 5) { nodes { ...LevelFields } } }
  }
}
fragment LevelFields on InventoryLevel {
  location { id }
  counts: quantities(names: $names) { name quantity }
}"""


def test_named_operations_fragments_and_aliases(fake: ShopifyFake, server: RunningServer) -> None:
    variant = fake.store.variants[1]
    variables = {"id": gid("ProductVariant", variant.num), "names": ["available"]}
    body = execute(DOCUMENT, variables, "Stock")
    assert set(body["data"]) == {"variant"}
    assert body["data"]["variant"]["code"] == variant.sku
    levels = body["data"]["variant"]["inventoryItem"]["levels"]["nodes"]
    assert {lv["location"]["id"]: lv["counts"] for lv in levels} == {
        gid("Location", num): [{"name": "available", "quantity": lv.quantity("available")}]
        for num, lv in variant.item.levels.items()
    }
    assert execute(DOCUMENT, None, "ShopInfo")["data"] == {"shop": {"name": "Maple Goods"}}
    # Live answers (Admin API 2026-04, airhorns/shopify-draft-proxy conformance capture
    # graphql-request-execution-operation-name-defaults): errors only, no data, no cost.
    assert execute(DOCUMENT, variables) == {
        "errors": [{"message": "An operation name is required"}]
    }
    assert execute(DOCUMENT, variables, "Missing") == {
        "errors": [{"message": 'No operation named "Missing"'}]
    }


# --- mutations --------------------------------------------------------------------------------

SET = """mutation InventorySet($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta } }
    userErrors { field message code }
  }
}"""
ADJUST = """mutation InventoryAdjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) {
    inventoryAdjustmentGroup { reason referenceDocumentUri changes { name delta } }
    userErrors { field message code }
  }
}"""
LEVEL = """query Level($item: ID!, $location: ID!) {
  inventoryItem(id: $item) { inventoryLevel(locationId: $location) {
    quantities(names: ["available", "on_hand"]) { name quantity } } } }"""


def test_inventory_set_and_adjust_with_variables(fake: ShopifyFake, server: RunningServer) -> None:
    variant = fake.store.variants[2]
    level = active_levels(variant)[0]
    before = level.quantity("available")
    target = {
        "item": gid("InventoryItem", variant.item.num),
        "location": gid("Location", level.location.num),
    }
    quantity = {
        "inventoryItemId": target["item"],
        "locationId": target["location"],
        "quantity": before + 12,
        "compareQuantity": before,
    }
    payload = data(
        SET, {"input": {"name": "available", "reason": "correction", "quantities": [quantity]}}
    )["inventorySetQuantities"]
    assert payload["userErrors"] == []
    assert payload["inventoryAdjustmentGroup"] == {
        "reason": "correction",
        "changes": [{"name": "available", "delta": 12}, {"name": "on_hand", "delta": 12}],
    }
    assert level.quantity("available") == before + 12

    stale = data(
        SET, {"input": {"name": "available", "reason": "correction", "quantities": [quantity]}}
    )["inventorySetQuantities"]
    assert stale["inventoryAdjustmentGroup"] is None
    assert [e["code"] for e in stale["userErrors"]] == ["COMPARE_QUANTITY_STALE"]

    change = {"inventoryItemId": target["item"], "locationId": target["location"], "delta": -5}
    adjusted = data(
        ADJUST,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "logistics://cycle-count/42",
                "changes": [change],
            }
        },
    )["inventoryAdjustQuantities"]
    assert adjusted["userErrors"] == []
    assert adjusted["inventoryAdjustmentGroup"]["referenceDocumentUri"] == (
        "logistics://cycle-count/42"
    )
    assert adjusted["inventoryAdjustmentGroup"]["changes"][0] == {"name": "available", "delta": -5}
    read_back = data(LEVEL, target)["inventoryItem"]["inventoryLevel"]["quantities"]
    assert read_back == [
        {"name": "available", "quantity": before + 7},
        {"name": "on_hand", "quantity": level.quantity("on_hand")},
    ]


def test_wrongly_typed_variables_are_refused_as_graphql_ruby_words_them(
    fake: ShopifyFake, server: RunningServer
) -> None:
    """Python callers often pass numbers as strings. Shopify runs graphql-ruby, whose scalar
    check explains "Could not coerce value "2" to Int" (graphql-ruby Schema::Scalar
    .validate_non_null_input; GraphQL::Language.serialize prints the value), and whose
    message names every problem below the variable, in the order found: the keys given,
    then the required fields left out (Query::VariableValidationError, InputObject
    .validate_non_null_input)."""
    body = execute("query($n: Int!) { products(first: $n) { nodes { id } } }", {"n": "2"})
    assert "data" not in body and "extensions" not in body
    (error,) = body["errors"]
    assert error["message"] == "Variable $n of type Int! was provided invalid value"
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["extensions"]["problems"] == [
        {"path": [], "explanation": 'Could not coerce value "2" to Int'}
    ]

    variant, location = fake.store.variants[0], fake.store.locations[0]
    quantity = {
        "inventoryItemId": gid("InventoryItem", variant.item.num),
        "locationId": gid("Location", location.num),
        "quantity": "5",
    }
    body = execute(SET, {"input": {"name": "available", "quantities": [quantity]}})
    (error,) = body["errors"]
    assert error["message"] == (
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value for"
        ' quantities.0.quantity (Could not coerce value "5" to Int),'
        " reason (Expected value to not be null)"
    )
    assert [p["path"] for p in error["extensions"]["problems"]] == [
        ["quantities", 0, "quantity"],
        ["reason"],
    ]

    # A single value given for a list stands for a one-item list: its problem is item 0
    # (graphql-ruby Schema::List.validate_non_null_input wraps it with ensure_array).
    (error,) = execute(SUBSCRIPTIONS, {"topics": "ORDERS_CREATED"})["errors"]
    (problem,) = error["extensions"]["problems"]
    assert problem["path"] == [0]
    assert problem["explanation"].startswith('Expected "ORDERS_CREATED" to be one of: ')
    assert error["message"].endswith("for 0 (" + problem["explanation"] + ")")


ORDER = """mutation OrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name email tags sourceIdentifier
      lineItems(first: 5) { nodes { sku quantity variant { id } } } }
    userErrors { field message code }
  }
}"""


def order_input(variant: Variant, quantity: int) -> dict[str, Any]:
    return {
        "order": {
            "email": "buyer@example.com",
            "tags": ["marketplace"],
            "sourceIdentifier": "MKT-1001",
            "lineItems": [{"variantId": gid("ProductVariant", variant.num), "quantity": quantity}],
        },
        "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
    }


def test_order_create_commits_stock(fake: ShopifyFake, server: RunningServer) -> None:
    variant = fake.store.variants[0]
    available = sum(lv.quantity("available") for lv in active_levels(variant))
    committed = sum(lv.quantity("committed") for lv in active_levels(variant))
    payload = data(ORDER, order_input(variant, 2))["orderCreate"]
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["name"] == "#1001"
    assert (order["email"], order["tags"], order["sourceIdentifier"]) == (
        "buyer@example.com",
        ["marketplace"],
        "MKT-1001",
    )
    assert order["lineItems"]["nodes"] == [
        {"sku": variant.sku, "quantity": 2, "variant": {"id": gid("ProductVariant", variant.num)}}
    ]
    assert [o.name for o in fake.store.orders] == ["#1001"]
    assert sum(lv.quantity("available") for lv in active_levels(variant)) == available - 2
    assert sum(lv.quantity("committed") for lv in active_levels(variant)) == committed + 2
    read_back = data("query($id: ID!) { order(id: $id) { name } }", {"id": order["id"]})
    assert read_back == {"order": {"name": "#1001"}}


class Receiver:
    """A WSGI webhook endpoint that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        self.received.append((headers, body))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


SUBSCRIBE = """mutation Subscribe(
  $topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic format endpoint { __typename ... on WebhookHttpEndpoint
      { callbackUrl } } }
    userErrors { field message }
  }
}"""
SUBSCRIPTIONS = """query Subscriptions($topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 10, topics: $topics) { edges { node { id topic
    endpoint { ... on WebhookHttpEndpoint { callbackUrl } } } } } }"""


def test_webhook_subscription_then_a_signed_delivery(
    fake: ShopifyFake, server: RunningServer
) -> None:
    """Subscribe, list, then create an order and check the delivery's signature. The Python
    library has no webhook verifier (its `Session.calculate_hmac` is the OAuth query-string
    hex HMAC), so the check is Shopify's documented one: base64 HMAC-SHA256 of the raw body
    keyed with the client secret (shopify.dev, verify-deliveries)."""
    receiver = Receiver()
    with serving(receiver) as endpoint:
        url = f"{endpoint.base_url}/webhooks/orders"
        sub = {"callbackUrl": url, "format": "JSON"}
        created = data(SUBSCRIBE, {"topic": "ORDERS_CREATE", "sub": sub})
        subscription = created["webhookSubscriptionCreate"]["webhookSubscription"]
        assert created["webhookSubscriptionCreate"]["userErrors"] == []
        assert subscription["topic"] == "ORDERS_CREATE" and subscription["format"] == "JSON"
        assert subscription["endpoint"] == {"__typename": "WebhookHttpEndpoint", "callbackUrl": url}
        again = data(SUBSCRIBE, {"topic": "ORDERS_CREATE", "sub": sub})
        assert again["webhookSubscriptionCreate"]["webhookSubscription"] is None
        assert again["webhookSubscriptionCreate"]["userErrors"][0]["field"] == [
            "webhookSubscription",
            "callbackUrl",
        ]
        listed = data(SUBSCRIPTIONS, {"topics": ["ORDERS_CREATE"]})["webhookSubscriptions"]
        assert [e["node"] for e in listed["edges"]] == [
            {"id": subscription["id"], "topic": "ORDERS_CREATE", "endpoint": {"callbackUrl": url}}
        ]
        assert data(SUBSCRIPTIONS, {"topics": ["PRODUCTS_UPDATE"]})["webhookSubscriptions"] == {
            "edges": []
        }

        order = data(ORDER, order_input(fake.store.variants[1], 1))["orderCreate"]["order"]
        fake.webhooks.wait_idle()
    (headers, body) = receiver.received[-1]
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"] == "maple-goods.myshopify.com"
    digest = hmac.new(fake.client_secret.encode(), body, hashlib.sha256).digest()
    assert headers["X-Shopify-Hmac-Sha256"] == base64.b64encode(digest).decode()
    payload = json.loads(body)
    assert payload["name"] == order["name"]
    assert payload["admin_graphql_api_id"] == order["id"]


# --- errors the library sees ------------------------------------------------------------------


def test_a_wrong_token_is_shopifys_401(
    fake: ShopifyFake, server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Library quirk: `execute` reads the error body, prints it (a bytes repr) and re-raises,
    so the body is gone from the exception; it is taken from what was printed."""
    activate("shpat_" + "0" * 32)
    capsys.readouterr()
    with pytest.raises(urllib.error.HTTPError) as raised:
        shopify.GraphQL().execute("{ shop { name } }")
    assert raised.value.code == 401
    assert raised.value.headers.get_content_type() == "application/json"
    printed = capsys.readouterr().out.splitlines()[0]
    assert json.loads(ast.literal_eval(printed)) == {"errors": INVALID_TOKEN}


def test_a_drained_bucket_is_answered_throttled(fake: ShopifyFake, server: RunningServer) -> None:
    """Shopify answers THROTTLED with HTTP 200, so the library returns it without raising:
    the caller must read `errors[].extensions.code` and `extensions.cost.throttleStatus`."""
    budget = f"{server.base_url}/_fake/budget"
    httpx.post(budget, json={"available": 0, "restore_rate": 0}).raise_for_status()
    body = execute("{ shop { name } }")
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 1,
        "actualQueryCost": None,
        "throttleStatus": {
            "maximumAvailable": 2000.0,
            "currentlyAvailable": 0,
            "restoreRate": 0.0,
        },
    }
    httpx.post(budget, json={"available": 2000, "restore_rate": 100}).raise_for_status()
    assert data("{ shop { currencyCode } }") == {"shop": {"currencyCode": "CAD"}}


def test_api_versions(fake: ShopifyFake, server: RunningServer) -> None:
    """The library knows versions up to 2024-10 but builds any `YYYY-MM` on the fly, and
    `unstable`; the fake serves its 2025-04 subset under any of them. A version that is no
    month at all is a 404 here (the fake's documented choice; no live answer recorded)."""
    for version in ("unstable", "2025-07"):
        activate(fake.access_token, version)
        assert shopify.GraphQL().endpoint.endswith(f"/admin/api/{version}/graphql.json")
        assert data("{ shop { myshopifyDomain } }")["shop"]["myshopifyDomain"] == fake.shop
    with pytest.raises(shopify.VersionNotFoundError):
        activate(fake.access_token, "latest")  # refused by the library, nothing is sent
    activate(fake.access_token, "2025-13")
    with pytest.raises(urllib.error.HTTPError) as raised:
        shopify.GraphQL().execute("{ shop { name } }")
    assert raised.value.code == 404


def test_rest_is_not_served_an_unknown_path_is_shopifys_404(server: RunningServer) -> None:
    """The fake serves GraphQL only. For a REST path Shopify does not have either it
    answers 404 `{"errors":"Not Found"}` (e.g. Shopify/cli#4171); the library's REST layer
    (pyactiveresource) raises ResourceNotFound with that body."""

    class Gizmo(shopify.ShopifyResource):
        pass

    with pytest.raises(pyactiveresource.connection.ResourceNotFound) as raised:
        Gizmo.find()
    assert raised.value.response.code == 404
    assert json.loads(raised.value.response.body) == {"errors": "Not Found"}
    assert str(raised.value).endswith(f"/admin/api/{VERSION}/gizmos.json")
