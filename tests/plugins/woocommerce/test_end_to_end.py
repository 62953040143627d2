"""WooCommerce fake → Shelfsync → two TikTok shops, on SQLite and PostgreSQL: a signed
product webhook and a silent storefront order found by the change poll both reach both shops
under their own rules, and a TikTok order lands in WooCommerce once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from flask.testing import FlaskClient
from sqlmodel import Session, select

from shelfsync.core import broker as broker_module
from shelfsync.core import tasks
from shelfsync.core.broker import SYNC_QUEUE, BrokerSettings, middleware
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.demo import DemoOrganization, Fakes, connect_organization, running_fakes
from shelfsync.core.models import CatalogVariant, ChannelListing, PendingSku, SkuLink
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.sync import inventory
from shelfsync.web.app import create_app

FAST = {"retry_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 2, "timeout": 5}


@dataclass
class World:
    fakes: Fakes
    org: DemoOrganization
    broker: StubBroker
    client: FlaskClient

    def control(self, fake: str, method: str, name: str, body: Any = None) -> Any:
        server = self.fakes.store_server if fake == "store" else self.fakes.channel_server
        response = httpx.request(method, f"{server.base_url}/_fake/{name}", json=body,
                                 timeout=10)
        response.raise_for_status()
        return response.json()

    def shown(self, shop: int, sku: str) -> int:
        shops = self.control("channel", "GET", "state?inventory=1")["shops"]
        return int(shops[shop]["inventory"][sku])

    def expected(self, sku: str) -> tuple[int, int]:
        """Shop 1 shows 100 %, shop 2 80 % with a threshold of 5 (the demo's rules)."""
        store = self.fakes.store.store
        total = max(0, store.stock_quantity(store.by_sku(sku)) or 0)
        return total, (0 if total <= 5 else total * 80 // 100)

    def drain(self) -> None:
        self.broker.join(SYNC_QUEUE, timeout=30_000)
        self.broker.join(broker_module.BULK_QUEUE, timeout=30_000)


@pytest.fixture
def world(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("SHELFSYNC_COALESCE_MS", "0")
    broker = StubBroker(middleware=middleware(BrokerSettings(min_backoff_ms=10,
                                                             max_backoff_ms=40, max_retries=3)))
    broker.emit_after("process_boot")
    tasks.use_broker(broker)
    worker = Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    pm = get_plugin_manager()
    try:
        with running_fakes(pm, products=8, variants=2, seed=3,
                           store_platform="woocommerce") as fakes:
            with session_scope() as session:
                org = connect_organization(session, fakes, name="Woo e2e", settings=FAST)
            with session_scope() as session:
                inventory.refresh_catalog(session, pm, org.store_id, with_stock=True)
            for channel_id in org.channel_ids:
                with session_scope() as session:
                    inventory.refresh_listings(session, pm, channel_id)
            app = create_app({"TESTING": True, "DATABASE_URL": migrated_url,
                              "PLUGIN_MANAGER": pm})
            try:
                yield World(fakes, org, broker, app.test_client())
            finally:
                app.extensions["shelfsync.engine"].dispose()
                get_engine().dispose()
    finally:
        worker.stop()
        broker.close()
        tasks.use_broker(broker_module.broker)


def live_skus(world: World) -> list[str]:
    """Tracked, stop-when-sold-out SKUs, linked and live in both shops."""
    with Session(get_engine()) as session:
        plain = set(session.exec(select(CatalogVariant.sku).where(
            CatalogVariant.continue_selling == False, CatalogVariant.tracked)))  # noqa: E712
        per_channel = [plain]
        for channel_id in world.org.channel_ids:
            live = set(session.exec(select(ChannelListing.seller_sku).where(
                ChannelListing.channel_id == channel_id, ChannelListing.status == "ACTIVATE")))
            linked = set(session.exec(select(SkuLink.store_sku).where(
                SkuLink.channel_id == channel_id)))
            per_channel.append(live & linked)
    both = sorted(set.intersection(*per_channel))
    assert len(both) >= 2, "the seeded fakes share too few live linked SKUs"
    return both


def test_a_signed_product_webhook_reaches_both_shops(world: World) -> None:
    sku = live_skus(world)[0]
    world.control("store", "POST", "stock", {"sku": sku, "quantity": 41})
    headers, body = world.fakes.store.webhook_sample({"sku": sku})
    response = world.client.post(f"/webhooks/woocommerce/{world.org.store_id}",
                                 headers=headers, data=body)
    assert response.status_code == 200
    world.drain()
    assert (world.shown(0, sku), world.shown(1, sku)) == world.expected(sku) == (41, 32)
    ping = world.client.post(f"/webhooks/woocommerce/{world.org.store_id}",
                             data=b"webhook_id=7",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ping.status_code == 200  # WooCommerce wants a 200 for the ping
    again = world.client.post(f"/webhooks/woocommerce/{world.org.store_id}",
                              data=b"webhook_id=8",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    forged = world.client.post(f"/webhooks/woocommerce/{world.org.store_id}",
                               data=b'{"sku": "x"}', headers={"Content-Type": "application/json"})
    assert forged.status_code == 401


def test_a_silent_storefront_order_is_found_by_the_poll(world: World) -> None:
    sku = live_skus(world)[1]
    tasks.poll_store.send(world.org.store_id)  # the baseline
    world.drain()
    world.control("store", "POST", "stock", {"sku": sku, "quantity": 30})  # webhook unheard
    world.control("store", "POST", "orders", {"items": [{"sku": sku, "quantity": 4}],
                                              "webhooks": False})
    tasks.poll_store.send(world.org.store_id)
    world.drain()
    assert (world.shown(0, sku), world.shown(1, sku)) == world.expected(sku) == (26, 20)
    with Session(get_engine()) as session:
        assert session.exec(select(PendingSku)).all() == []
