"""Second fidelity audit: requests an independent client may send, answered as live Shopify does.

Each test names its source. "Live" means an answer recorded from the real Admin API (the
airhorns/shopify-draft-proxy conformance captures, 2025-01 shop); "schema" means the 2025-04
reference schema in /work/shared/reference (argument defaults, error-code descriptions, the
`query` argument's table of search fields).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shelfsync.core.testing.server import serving
from shelfsync.plugins.shopify.fake import ShopifyFake

PATH = "/admin/api/2025-04/graphql.json"
INVALID_FIELD = "Invalid search field for this query."


@pytest.fixture(scope="module")
def fake() -> ShopifyFake:
    return ShopifyFake(products=4, variants=2, bucket_size=10**9, restore_rate=10**9)


@pytest.fixture(scope="module")
def client(fake: ShopifyFake) -> Iterator[httpx.Client]:
    with serving(fake) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        http.headers["X-Shopify-Access-Token"] = fake.access_token
        yield http


def post(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = client.post(PATH, json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


def data(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = post(client, query, variables)
    assert "errors" not in body, body
    return body["data"]


# --- sortKey (schema: every connection below takes it, with these defaults) ---------------


def test_sort_keys_are_accepted_and_order_the_page(fake: ShopifyFake, client: httpx.Client) -> None:
    got = data(
        client,
        "query($id: ID!) { byTitle: products(first: 10, sortKey: TITLE) { nodes { title } }"
        " byTitleDesc: products(first: 10, sortKey: TITLE, reverse: true) { nodes { title } }"
        " byId: products(first: 10, sortKey: ID) { nodes { id } }"
        " bySku: productVariants(first: 10, sortKey: SKU, reverse: true) { nodes { sku } }"
        " locations(first: 5, sortKey: ID) { nodes { id } }"
        " orders(first: 5, sortKey: CREATED_AT) { nodes { id } }"
        " webhookSubscriptions(first: 5, sortKey: ID) { nodes { id } }"
        " product(id: $id) { variants(first: 5, sortKey: SKU, reverse: true) { nodes { sku } } } }",
        {"id": f"gid://shopify/Product/{fake.store.products[0].num}"},
    )
    titles = sorted((p.title for p in fake.store.products), key=str.lower)
    assert [n["title"] for n in got["byTitle"]["nodes"]] == titles
    assert [n["title"] for n in got["byTitleDesc"]["nodes"]] == titles[::-1]
    skus = sorted((v.sku for v in fake.store.variants), reverse=True)
    assert [n["sku"] for n in got["bySku"]["nodes"]] == skus
    own = sorted((v.sku for v in fake.store.products[0].variants), reverse=True)
    assert [n["sku"] for n in got["product"]["variants"]["nodes"]] == own


def test_pages_follow_the_sort_key(fake: ShopifyFake, client: httpx.Client) -> None:
    query = (
        "query($after: String) { productVariants(first: 3, after: $after, sortKey: SKU,"
        " reverse: true) { nodes { sku } pageInfo { hasNextPage endCursor } } }"
    )
    seen: list[str] = []
    after = None
    while True:
        page = data(client, query, {"after": after})["productVariants"]
        seen += [n["sku"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted((v.sku for v in fake.store.variants), reverse=True)


def test_orders_default_to_processed_at_order(fake: ShopifyFake, client: httpx.Client) -> None:
    variant = f"gid://shopify/ProductVariant/{fake.store.variants[0].num}"
    create = (
        "mutation($o: OrderCreateOrderInput!) { orderCreate(order: $o) { order { id }"
        " userErrors { message } } }"
    )
    ids = []
    for processed in ("2025-03-01T00:00:00Z", "2025-02-01T00:00:00Z"):
        order = {
            "lineItems": [{"variantId": variant, "quantity": 1}],
            "processedAt": processed,
            "tags": ["sort-probe"],
        }
        ids.append(data(client, create, {"o": order})["orderCreate"]["order"]["id"])
    listed = data(client, '{ orders(first: 5, query: "tag:sort-probe") { nodes { id } } }')
    # The later-created order was processed first: the default sortKey PROCESSED_AT puts it first.
    assert [n["id"] for n in listed["orders"]["nodes"]] == ids[::-1]
    by_id = data(
        client, '{ orders(first: 5, sortKey: ID, query: "tag:sort-probe") { nodes { id } } }'
    )
    assert [n["id"] for n in by_id["orders"]["nodes"]] == ids


# --- search syntax ---------------------------------------------------------------------------


def test_malformed_search_is_answered_not_refused(fake: ShopifyFake, client: httpx.Client) -> None:
    """Live (product-invalid-search-query-syntax): no errors; `(x` and `x OR` match as `x`,
    `field:(value` is a literal value that matches nothing."""
    sku = fake.store.variants[3].sku
    q = "query($q: String) { productVariants(first: 5, query: $q) { nodes { sku } } }"
    for query in (f"(sku:{sku}", f"sku:{sku} OR", f"sku:{sku} AND (", f"sku:{sku})"):
        body = post(client, q, {"q": query})
        assert "errors" not in body, (query, body)
        assert body["data"]["productVariants"]["nodes"] == [{"sku": sku}], query
    literal = post(client, q, {"q": f"sku:({sku}"})
    assert literal["data"]["productVariants"]["nodes"] == [] and "errors" not in literal


def test_unknown_search_field_is_dropped_with_a_warning(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    """Live (a capture of `staff_member:` on orders): the unknown term is removed from the
    query, the rest still filters, and `extensions.search` says so."""
    sku = fake.store.variants[1].sku
    body = post(
        client,
        "query($q: String) { hits: productVariants(first: 10, query: $q) { nodes { sku } } }",
        {"q": f"bogus_field:x AND sku:{sku}"},
    )
    assert body["data"]["hits"]["nodes"] == [{"sku": sku}]
    assert body["extensions"]["search"] == [
        {
            "path": ["hits"],
            "query": f"bogus_field:x AND sku:{sku}",
            "warnings": [
                {"field": "bogus_field", "message": INVALID_FIELD, "code": "invalid_field"}
            ],
        }
    ]
    alone = post(client, '{ productVariants(first: 50, query: "bogus_field:x") { nodes { id } } }')
    assert len(alone["data"]["productVariants"]["nodes"]) == len(fake.store.variants)
    # A documented field the shop has no value for filters (schema: `vendor` is searchable).
    vendor = post(client, '{ productVariants(first: 5, query: "vendor:acme") { nodes { id } } }')
    assert vendor["data"]["productVariants"]["nodes"] == []
    assert "search" not in vendor["extensions"]


def test_inventory_levels_search_has_no_location_id(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    """Schema: InventoryItem.inventoryLevels(query:) documents created_at, id,
    inventory_group_id, inventory_item_id and updated_at only."""
    item = fake.store.variants[0].item
    location = fake.store.locations[0].num
    body = post(
        client,
        "query($id: ID!, $q: String) { inventoryItem(id: $id) { inventoryLevels(first: 5,"
        " query: $q) { nodes { location { id } } } } }",
        {"id": f"gid://shopify/InventoryItem/{item.num}", "q": f"location_id:{location}"},
    )
    assert len(body["data"]["inventoryItem"]["inventoryLevels"]["nodes"]) == len(item.levels)
    warning = body["extensions"]["search"][0]
    assert warning["path"] == ["inventoryItem", "inventoryLevels"]
    assert warning["warnings"][0]["field"] == "location_id"


def test_tag_not_alone_keeps_untagged_orders(fake: ShopifyFake, client: httpx.Client) -> None:
    variant = f"gid://shopify/ProductVariant/{fake.store.variants[2].num}"
    data(
        client,
        "mutation($o: OrderCreateOrderInput!) { orderCreate(order: $o)"
        " { userErrors { message } } }",
        {"o": {"lineItems": [{"variantId": variant, "quantity": 1}], "tags": ["keep-me"]}},
    )
    kept = data(client, '{ orders(first: 50, query: "tag_not:nothing-has-this") { nodes { id } } }')
    assert len(kept["orders"]["nodes"]) == len(fake.store.orders)


# --- mutations ---------------------------------------------------------------------------------

SET = """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {
  inventoryAdjustmentGroup { reason referenceDocumentUri
    changes { name delta quantityAfterChange item { id } location { id } } }
  userErrors { field message code } } }"""
ADJUST = """mutation($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) {
    inventoryAdjustmentGroup { changes { name delta ledgerDocumentUri } }
    userErrors { field message code } } }"""


def _level(fake: ShopifyFake, index: int) -> tuple[str, str, list[str], Any]:
    variant = fake.store.variants[index]
    levels = [lv for lv in variant.item.levels.values() if lv.location.active]
    item = f"gid://shopify/InventoryItem/{variant.item.num}"
    locations = [f"gid://shopify/Location/{lv.location.num}" for lv in levels]
    return item, locations[0], locations, levels


def test_mutation_cost_counts_what_the_payload_selects_below_its_objects(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    """Live (inventorySetQuantities-name-validation): this very selection requests 13, and
    costs 10 when the group comes back null."""
    item, location, _, _ = _level(fake, 0)
    refused = {
        "name": "damaged",
        "reason": "correction",
        "ignoreCompareQuantity": True,
        "quantities": [{"inventoryItemId": item, "locationId": location, "quantity": 5}],
    }
    body = post(client, SET, {"input": refused})
    assert body["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "INVALID_NAME"
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (13, 10)
    bare = post(
        client,
        "mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input)"
        " { userErrors { code } } }",
        {"input": refused},
    )
    assert bare["extensions"]["cost"]["requestedQueryCost"] == 10


def test_set_quantities_as_live_shopify_answers(fake: ShopifyFake, client: httpx.Client) -> None:
    """Live (inventory-quantity-roots-parity): every `available` change is listed before the
    `on_hand` ones, quantityAfterChange is null, and a missing compareQuantity is one error
    on `ignoreCompareQuantity`."""
    item, _, locations, levels = _level(fake, 1)
    quantities = [
        {"inventoryItemId": item, "locationId": loc, "quantity": 7 + i}
        for i, loc in enumerate(locations[:2])
    ]
    missing = post(
        client,
        SET,
        {"input": {"name": "available", "reason": "correction", "quantities": quantities}},
    )
    assert missing["data"]["inventorySetQuantities"]["userErrors"] == [
        {
            "field": ["input", "ignoreCompareQuantity"],
            "message": "The compareQuantity argument must be given to each quantity or ignored"
            " using ignoreCompareQuantity.",
            "code": "COMPARE_QUANTITY_REQUIRED",
        }
    ]
    before = [lv.quantities["available"] for lv in levels[:2]]
    done = post(
        client,
        SET,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": "logistics://audit/1",
                "ignoreCompareQuantity": True,
                "quantities": quantities,
            }
        },
    )["data"]["inventorySetQuantities"]
    changes = done["inventoryAdjustmentGroup"]["changes"]
    assert [(c["name"], c["location"]["id"]) for c in changes] == [
        ("available", locations[0]),
        ("available", locations[1]),
        ("on_hand", locations[0]),
        ("on_hand", locations[1]),
    ]
    assert [c["delta"] for c in changes] == [7 - before[0], 8 - before[1]] * 2
    assert all(c["quantityAfterChange"] is None for c in changes)
    stale = post(
        client,
        SET,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [{**quantities[0], "quantity": 1, "compareQuantity": 99}],
            }
        },
    )["data"]["inventorySetQuantities"]["userErrors"]
    # Schema: the COMPARE_QUANTITY_STALE description (descriptions are the live messages).
    assert stale == [
        {
            "field": ["input", "quantities", "0", "compareQuantity"],
            "message": "The compareQuantity value does not match persisted value.",
            "code": "COMPARE_QUANTITY_STALE",
        }
    ]
    too_high = post(
        client,
        SET,
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "referenceDocumentUri": "not a uri",
                "quantities": [{**quantities[0], "quantity": 1_000_000_001}],
            }
        },
    )["data"]["inventorySetQuantities"]["userErrors"]
    assert {(e["code"], e["message"]) for e in too_high} == {
        ("INVALID_REFERENCE_DOCUMENT", "The specified reference document is invalid."),
        ("INVALID_QUANTITY_TOO_HIGH", "The total quantity can't be higher than 1,000,000,000."),
    }


def test_adjust_quantities_ledger_documents(fake: ShopifyFake, client: httpx.Client) -> None:
    """Schema: ledgerDocumentUri is required for every name but `available`, refused with
    `available`, never a gid://shopify/ id (InventoryChangeInput and the error codes)."""
    item, location, _, levels = _level(fake, 2)
    change = {"inventoryItemId": item, "locationId": location, "delta": 2}

    def adjust(name: str, **extra: Any) -> Any:
        body = post(
            client,
            ADJUST,
            {"input": {"name": name, "reason": "damaged", "changes": [{**change, **extra}]}},
        )
        return body["data"]["inventoryAdjustQuantities"]

    field = ["input", "changes", "0", "ledgerDocumentUri"]
    assert adjust("damaged")["userErrors"] == [
        {
            "field": field,
            "message": "A ledger document URI is required except when adjusting available.",
            "code": "INVALID_QUANTITY_DOCUMENT",
        }
    ]
    with_ledger = adjust("available", ledgerDocumentUri="ledger://x/1")["userErrors"]
    assert [e["code"] for e in with_ledger] == ["INVALID_AVAILABLE_DOCUMENT"]
    internal = adjust("damaged", ledgerDocumentUri="gid://shopify/Order/1")["userErrors"]
    assert [e["code"] for e in internal] == ["INTERNAL_LEDGER_DOCUMENT"]
    damaged = levels[0].quantities["damaged"]
    ok = adjust("damaged", ledgerDocumentUri="ledger://audit/7")
    assert ok["userErrors"] == []
    assert ok["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "damaged", "delta": 2, "ledgerDocumentUri": "ledger://audit/7"},
        {"name": "on_hand", "delta": 2, "ledgerDocumentUri": None},
    ]
    assert levels[0].quantities["damaged"] == damaged + 2
    bad_name = adjust("sold")["userErrors"]
    assert bad_name[0]["message"] == "The specified quantity name is invalid."
    huge = adjust("available", delta=2_000_000_001)["userErrors"]
    assert huge[0]["message"] == "The quantity can't be higher than 2,000,000,000."


def test_order_create_without_line_items_message(client: httpx.Client) -> None:
    """Live (order-create-validation-matrix): no full stop."""
    body = post(
        client,
        'mutation { orderCreate(order: {email: "a@example.com", lineItems: []}) { order { id }'
        " userErrors { field message } } }",
    )
    assert body["data"]["orderCreate"] == {
        "order": None,
        "userErrors": [
            {
                "field": ["order", "lineItems"],
                "message": "Line items must have at least one line item",
            }
        ],
    }


# --- HTTP ---------------------------------------------------------------------------------------


def test_version_and_deprecation_headers(client: httpx.Client) -> None:
    """Shopify names the version that served a request, and as of 2025-04 lists the deprecated
    fields used (shopify.dev changelog: graphql-return-actual-deprecation-reasons)."""
    response = client.post(
        "/admin/api/2025-01/graphql.json",
        json={"query": "{ webhookSubscriptions(first: 1) { nodes { id callbackUrl } } }"},
    )
    assert response.headers["X-Shopify-API-Version"] == "2025-01"
    assert response.headers["X-Shopify-API-Deprecated-Reason"] == "WebhookSubscription.callbackUrl"
    plain = client.post(PATH, json={"query": "{ shop { name } }"})
    assert plain.headers["X-Shopify-API-Version"] == "2025-04"
    assert "X-Shopify-API-Deprecated-Reason" not in plain.headers


def test_order_create_takes_every_2025_04_input_field(
    fake: ShopifyFake, client: httpx.Client
) -> None:
    """Schema: OrderCreateOrderInput has name, shippingLines, transactions, customer, taxLines,
    presentmentCurrency...; a client that sends them must not get "Field is not defined"."""
    variant = fake.store.variants[0]
    order = {
        "name": "TT-1001",
        "presentmentCurrency": "USD",
        "customer": {"toUpsert": {"email": "buyer@example.com", "firstName": "Ada"}},
        "lineItems": [
            {
                "variantId": f"gid://shopify/ProductVariant/{variant.num}",
                "quantity": 2,
                "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "USD"}},
                "properties": [{"name": "gift", "value": "no"}],
            }
        ],
        "shippingLines": [
            {
                "title": "Standard",
                "priceSet": {"shopMoney": {"amount": "4.50", "currencyCode": "USD"}},
            }
        ],
        "transactions": [
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "amountSet": {"shopMoney": {"amount": "26.50", "currencyCode": "USD"}},
            }
        ],
        "taxLines": [
            {
                "title": "VAT",
                "rate": "0.1",
                "priceSet": {"shopMoney": {"amount": "2.00", "currencyCode": "USD"}},
            }
        ],
    }
    created = data(
        client,
        "mutation($o: OrderCreateOrderInput!) { orderCreate(order: $o) { order { name"
        " totalPriceSet { shopMoney { amount } } } userErrors { field message } } }",
        {"o": order},
    )["orderCreate"]
    assert created["userErrors"] == []
    assert created["order"]["name"] == "TT-1001"
    # Live: shipping and tax lines count, and amounts print like "26.5" (money-bag-presentment).
    assert created["order"]["totalPriceSet"]["shopMoney"]["amount"] == "26.5"
