"""Bulk query operations in the Shopify fake, over real HTTP, on an injected clock.

The rules of `bulkOperationRunQuery`, the operation's states and counts as time passes,
one query at a time, cancel, lookup by id, the signed expiring file and the finish webhook.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shelfsync.core.testing.kit import RunningFake
from shelfsync.plugins.shopify import bulk
from shelfsync.plugins.shopify.client import ShopifyClient
from shelfsync.plugins.shopify.webhooks import verify_and_parse

RUN = ("mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } "
       "userErrors { field message code } } }")
STATE = ("{ currentBulkOperation { id status objectCount rootObjectCount fileSize url "
         "errorCode completedAt } }")


class Clock:
    """A clock tests move by hand (the fake reads it; the plugin's sleeps advance it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake], clock: Clock) -> RunningFake:
    return run_fake("shopify", products=10, variants=3, locations=3, seed=5,
                    restore_rate=20000.0, clock=clock, bulk_rate=10.0, bulk_startup=1.0)


def run(client: ShopifyClient, query: str) -> dict[str, Any]:
    return client.query(RUN, {"q": query})["bulkOperationRunQuery"]


def state(client: ShopifyClient) -> dict[str, Any]:
    return client.query(STATE)["currentBulkOperation"]


@pytest.mark.parametrize(("query", "words"), [
    ("{ shop { id } }", "at least one connection"),
    ("{ products { edges { node { id variants { edges { node { id inventoryItem { "
     "inventoryLevels { edges { node { id } } } } } } } } } } }", "levels deep"),
    ("{ products { edges { node { id " + " ".join(
        f"v{i}: variants {{ nodes {{ id }} }}" for i in range(5)) + " } } } }",
     "more than 5 connections"),
    ('{ node(id: "gid://shopify/Product/1") { id } }', "node"),
    ("{ productVariants { edges { node { id nope } } } }", "Invalid bulk query"),
    ("mutation { bulkOperationCancel(id: \"x\") { userErrors { message } } }", "query"),
])
def test_bulk_query_rules_answer_invalid_user_errors(shop: RunningFake, query: str,
                                                     words: str) -> None:
    with ShopifyClient(shop.connection) as client:
        payload = run(client, query)
    assert payload["bulkOperation"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "INVALID" and error["field"] == ["query"]
    assert words in error["message"]


def test_five_connections_two_deep_without_first_are_accepted(shop: RunningFake) -> None:
    query = ("{ products { edges { node { id " + " ".join(
        f"v{i}: variants {{ nodes {{ id }} }}" for i in range(4)) + " } } } }")
    with ShopifyClient(shop.connection) as client:
        payload = run(client, query)
    assert payload["userErrors"] == []
    assert payload["bulkOperation"]["status"] == "CREATED"


def test_states_counts_and_file_follow_the_clock(shop: RunningFake, clock: Clock) -> None:
    with ShopifyClient(shop.connection) as client:
        op_id = run(client, bulk.STOCK)["bulkOperation"]["id"]
        # 30 variants + 90 levels at 10 objects/s after 1 s of start-up: 13 s in all.
        assert state(client)["status"] == "CREATED"
        clock.advance(6.0)
        running = state(client)
        assert running["status"] == "RUNNING" and running["objectCount"] == "50"
        assert running["url"] is None and running["fileSize"] is None
        again = run(client, bulk.STOCK)
        assert again["bulkOperation"] is None
        assert again["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
        clock.advance(10.0)
        done = state(client)
        by_id = client.query(bulk.BY_ID, {"id": op_id})["node"]
    assert done["status"] == "COMPLETED" and done["id"] == op_id == by_id["id"]
    assert done["objectCount"] == "120" and done["rootObjectCount"] == "30"
    answer = httpx.get(done["url"])  # no access token: the link is signed
    assert answer.status_code == 200 and len(answer.content) == int(done["fileSize"])
    lines = [json.loads(line) for line in answer.content.splitlines()]
    assert len(lines) == 120
    assert sum("__parentId" in line for line in lines) == 90
    tampered = done["url"].replace("X-Goog-Signature=", "X-Goog-Signature=0")
    assert httpx.get(tampered).status_code == 403
    clock.advance(7 * 24 * 3600.0)
    with ShopifyClient(shop.connection) as client:
        assert state(client)["status"] == "EXPIRED"
    assert httpx.get(done["url"]).status_code == 400  # ExpiredToken


def test_cancel_goes_through_canceling_and_frees_the_shop(shop: RunningFake,
                                                         clock: Clock) -> None:
    with ShopifyClient(shop.connection) as client:
        op_id = run(client, bulk.STOCK)["bulkOperation"]["id"]
        payload = client.mutate(bulk.CANCEL, {"id": op_id}, "bulkOperationCancel")
        assert payload["bulkOperation"]["status"] == "CANCELING"
        clock.advance(1.0)
        assert state(client)["status"] == "CANCELED"
        assert run(client, bulk.FLAGS)["userErrors"] == []


def test_failure_with_partial_data(shop: RunningFake, clock: Clock) -> None:
    shop.control("POST", "bulk", {"fault": "fail", "error_code": "TIMEOUT", "partial": True})
    with ShopifyClient(shop.connection) as client:
        run(client, bulk.STOCK)
        clock.advance(60.0)
        failed = client.query("{ currentBulkOperation { status errorCode url partialDataUrl "
                              "objectCount } }")["currentBulkOperation"]
    assert failed["status"] == "FAILED" and failed["errorCode"] == "TIMEOUT"
    assert failed["url"] is None and failed["partialDataUrl"]
    partial = httpx.get(failed["partialDataUrl"]).content.splitlines()
    assert 0 < len(partial) == int(failed["objectCount"]) < 120


def test_finish_webhook_is_signed_and_the_plugin_accepts_its_topic(
        shop: RunningFake, clock: Clock) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    shop.fake.webhooks.send = lambda url, headers, body: received.append((headers, body))
    shop.fake.webhook_urls.append("http://receiver.invalid/hook")
    with ShopifyClient(shop.connection) as client:
        op_id = run(client, bulk.CATALOG)["bulkOperation"]["id"]
        clock.advance(60.0)
        state(client)
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    [(headers, body)] = received
    payload = json.loads(body)
    assert headers["X-Shopify-Topic"] == "bulk_operations/finish"
    assert payload["admin_graphql_api_id"] == op_id
    assert payload["status"] == "completed" and payload["type"] == "query"
    event = verify_and_parse(shop.fake.client_secret, headers, body)
    assert event.topic == "bulk_operations/finish" and event.skus == ()


def test_a_query_that_finds_nothing_completes_without_a_file(shop: RunningFake,
                                                             clock: Clock) -> None:
    with ShopifyClient(shop.connection) as client:
        run(client, '{ productVariants(query: "sku:NO-SUCH-SKU") { edges { node { id } } } }')
        clock.advance(5.0)
        done = state(client)
    assert done["status"] == "COMPLETED" and done["objectCount"] == "0"
    assert done["url"] is None and done["fileSize"] is None


def _built(shop: RunningFake) -> None:
    """Wait (on the thread, not the clock) until the background reads are done."""
    for thread in threading.enumerate():
        if thread.name.startswith("shopify-fake-bulk-"):
            thread.join(timeout=60)
    assert not any(op.building for op in shop.fake.bulk.operations)


def test_a_big_shop_is_read_in_the_background_with_the_same_file(shop: RunningFake,
                                                                 clock: Clock) -> None:
    """Shopify answers the mutation at once and reads while RUNNING; the fake does so for a
    shop too big to read inside the answer (here: any shop), and the file is the same."""
    with ShopifyClient(shop.connection) as client:
        run(client, bulk.STOCK)
        clock.advance(20.0)
        _built(shop)
        inline = state(client)
        inline_file = httpx.get(inline["url"]).content
        shop.fake.bulk.background_variants = 0
        created = run(client, bulk.STOCK)
        assert created["userErrors"] == [] and created["bulkOperation"]["status"] == "CREATED"
        clock.advance(0.5)
        _built(shop)
        assert state(client)["status"] == "CREATED"  # start-up time passes as before
        clock.advance(1.0)
        # 120 objects at 10/s: RUNNING until 13 s after creation, built or not.
        assert state(client)["status"] == "RUNNING"
        clock.advance(12.0)
        done = state(client)
    assert done["status"] == "COMPLETED" and done["objectCount"] == "120"
    assert done["rootObjectCount"] == "30"
    assert httpx.get(done["url"]).content == inline_file


def test_an_operation_still_being_built_cannot_finish(shop: RunningFake, clock: Clock) -> None:
    """Until its file exists an operation stays RUNNING, whatever the clock says."""
    shop.fake.bulk.background_variants = 0
    with ShopifyClient(shop.connection) as client:
        run(client, bulk.STOCK)
        [op] = shop.fake.bulk.operations
        _built(shop)
        with shop.fake.bulk._lock:
            op.building = True  # as it is while the shop is being read
        clock.advance(3600.0)
        assert state(client)["status"] == "RUNNING"
        with shop.fake.bulk._lock:
            op.building = False
        assert state(client)["status"] == "COMPLETED"
