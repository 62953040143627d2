"""`shelfsync webhooks subscribe`: the fakes then deliver real, signed events to the running
receiver, which verifies and records them (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlmodel import Session, select

from shelfsync.core import broker as broker_module
from shelfsync.core import tasks
from shelfsync.core.broker import BrokerSettings, middleware
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.demo import DemoOrganization, Fakes, connect_organization, running_fakes
from shelfsync.core.models import ChannelConnection, WebhookReceipt
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.web.app import create_app

from .conftest import run

SET = """mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input)
  { userErrors { message } } }"""


@pytest.fixture
def world(migrated_url: str, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[tuple[Fakes, DemoOrganization, RunningServer]]:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    broker = StubBroker(middleware=middleware(BrokerSettings()))
    tasks.use_broker(broker)
    pm = get_plugin_manager()
    try:
        with running_fakes(pm, products=4, variants=1, seed=3) as fakes:
            with session_scope() as session:
                org = connect_organization(session, fakes, name="Hooked")
            app = create_app({"DATABASE_URL": migrated_url, "PLUGIN_MANAGER": pm})
            with serving(app) as receiver:
                yield fakes, org, receiver
            app.extensions["shelfsync.engine"].dispose()
    finally:
        get_engine().dispose()
        broker.close()
        tasks.use_broker(broker_module.broker)


def receipts() -> list[tuple[str, int, str]]:
    with Session(get_engine()) as session:
        rows = session.exec(select(WebhookReceipt)).all()
        return sorted((row.platform, row.connection_id, row.topic) for row in rows)


def wait_for(condition: Any) -> bool:
    deadline = time.monotonic() + 15  # deliveries are asynchronous: wait, don't time
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def change_stock(fakes: Fakes) -> None:
    store = fakes.store.store
    variant = next(v for v in store.variants if v.item.tracked)
    location = store.locations[0]
    response = httpx.post(
        f"{fakes.store_server.base_url}/admin/api/2025-04/graphql.json",
        headers={"X-Shopify-Access-Token": fakes.store.access_token},
        json={"query": SET, "variables": {"input": {
            "name": "available", "reason": "correction", "ignoreCompareQuantity": True,
            "quantities": [{"inventoryItemId": f"gid://shopify/InventoryItem/{variant.item.num}",
                            "locationId": f"gid://shopify/Location/{location.num}",
                            "quantity": 23}]}}}, timeout=10)
    assert response.json()["data"]["inventorySetQuantities"]["userErrors"] == []


def test_subscribed_events_reach_the_receiver(
        world: tuple[Fakes, DemoOrganization, RunningServer]) -> None:
    fakes, org, receiver = world
    result = run("webhooks", "subscribe", "--org", "Hooked", "--public-url",
                 receiver.base_url + "/", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(row["kind"], row["connection_id"]) for row in rows] == [
        ("store", org.store_id), *(("channel", c) for c in org.channel_ids)]
    assert all(not row["error"] and row["topics"] for row in rows)
    assert rows[0]["address"] == f"{receiver.base_url}/webhooks/shopify/{org.store_id}"
    again = run("webhooks", "subscribe", "--org", str(org.organization_id), "--public-url",
                receiver.base_url, "--json")
    assert json.loads(again.stdout) == rows

    change_stock(fakes)
    assert wait_for(lambda: ("shopify", org.store_id, "inventory_levels/update") in receipts())

    shop = fakes.channel.shops[1]
    sku = next(iter(shop.products.values())).skus[0].seller_sku
    httpx.post(f"{fakes.channel_server.base_url}/_fake/orders",
               json={"shop": 1, "seller_skus": {sku: 1}}, timeout=10).raise_for_status()
    second = org.channel_ids[1]
    assert wait_for(lambda: ("tiktok", second, "ORDER_STATUS_CHANGE") in receipts())
    assert not any(r[:2] == ("tiktok", org.channel_ids[0]) for r in receipts())


def test_a_refused_connection_is_reported_and_the_others_subscribed(
        world: tuple[Fakes, DemoOrganization, RunningServer]) -> None:
    _, org, receiver = world
    with session_scope() as session:
        channel = session.get(ChannelConnection, org.channel_ids[0])
        assert channel is not None
        channel.set_credentials({**channel.credentials(), "access_token": "TTP_revoked"})
    result = run("webhooks", "subscribe", "--org", "Hooked", "--public-url", receiver.base_url)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and "FAILED" in lines[1] and "FAILED" not in lines[0] + lines[2]


@pytest.mark.parametrize("url", ["ftp://example.com", "not a url", "https://x.example.com/?a=1"])
def test_a_bad_public_url_is_refused_by_name(
        world: tuple[Fakes, DemoOrganization, RunningServer], url: str) -> None:
    result = run("webhooks", "subscribe", "--org", "Hooked", "--public-url", url)
    assert result.exit_code == 2 and result.stderr.startswith("error: --public-url"), \
        result.output


def test_plain_http_needs_private_urls_allowed(
        world: tuple[Fakes, DemoOrganization, RunningServer],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHELFSYNC_ALLOW_PRIVATE_URLS")
    result = run("webhooks", "subscribe", "--org", "Hooked", "--public-url",
                 "http://shelfsync.example.com")
    assert result.exit_code == 2 and "https://" in result.stderr
