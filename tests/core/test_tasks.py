"""The actors on the fast path: StubBroker + Worker, real fakes over HTTP, the real engine.

A store webhook goes through the receiver (Flask test client), the actors and the engine, and
ends as pushes in both TikTok shops, each per its own rules (shop 1: 100 %; shop 2: 80 % and
a threshold of 5). Runs on SQLite and PostgreSQL (the conftest's `migrated_url`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from flask.testing import FlaskClient
from sqlmodel import Session, select

from shelfsync.core import broker as broker_module
from shelfsync.core import tasks
from shelfsync.core.broker import SYNC_QUEUE, BrokerSettings, middleware
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.demo import DemoOrganization, Fakes, connect_organization, running_fakes
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelListing,
    ConnectionStatus,
    InventoryAudit,
    PendingSku,
    SkuLink,
    StoreConnection,
    utcnow,
)
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.scheduler import SWEEP_GRACE, Jobs
from shelfsync.core.sync import inventory
from shelfsync.web.app import create_app

FAST = {"retry_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 2, "timeout": 5}


@dataclass
class World:
    """An organization connected to running fakes, a stub broker with a worker, a client."""

    fakes: Fakes
    org: DemoOrganization
    broker: StubBroker
    client: FlaskClient
    counter: EnqueueCounter

    @property
    def sync_messages(self) -> int:
        """`sync_pending` messages enqueued since the world was made."""
        return self.counter.sent("sync_pending")

    def control(self, fake: str, method: str, name: str, body: Any = None,
                params: Any = None) -> Any:
        server = self.fakes.store_server if fake == "store" else self.fakes.channel_server
        response = httpx.request(method, f"{server.base_url}/_fake/{name}", json=body,
                                 params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def set_stock(self, sku: str, available: int) -> None:
        """Set the SKU's stock at its first active location."""
        self.control("store", "POST", "stock", {"sku": sku, "available": available})

    def store_total(self, sku: str) -> int:
        levels = self.control("store", "GET", "stock", params={"sku": sku})["levels"]
        return sum(level["available"] for level in levels if level["location_active"])

    def shown(self, shop: int, sku: str) -> int:
        shops = self.control("channel", "GET", "state", params={"inventory": "1"})["shops"]
        return int(shops[shop]["inventory"][sku])

    def store_webhook(self, sku: str) -> tuple[dict[str, str], bytes]:
        sample = self.control("store", "POST", "webhook-sample", {"sku": sku})
        return sample["headers"], sample["body"].encode()

    def post(self, path: str, headers: dict[str, str], body: bytes) -> Any:
        return self.client.post(path, headers=headers, data=body)

    def deliver(self, headers: dict[str, str], body: bytes) -> Any:
        response = self.post(f"/webhooks/shopify/{self.org.store_id}", headers, body)
        self.drain()
        return response

    def drain(self) -> None:
        self.broker.join(SYNC_QUEUE, timeout=30_000)
        self.broker.join(broker_module.BULK_QUEUE, timeout=30_000)

    def inventory_calls(self) -> int:
        by_path = self.control("channel", "GET", "requests")["by_path"]
        return sum(n for path, n in by_path.items() if path.endswith("/inventory/update"))


class EnqueueCounter(Middleware):
    """Counts the messages sent, per actor (a delayed message enqueued again when it is due
    keeps its id: counted once)."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {}

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        self.ids.setdefault(message.actor_name, set()).add(message.message_id)

    def sent(self, actor_name: str) -> int:
        return len(self.ids.get(actor_name, ()))


@pytest.fixture
def stub_broker() -> Iterator[StubBroker]:
    """A StubBroker with our middleware (tiny backoffs) that the actors are bound to."""
    settings = BrokerSettings(min_backoff_ms=10, max_backoff_ms=40, max_retries=3)
    broker = StubBroker(middleware=middleware(settings))
    broker.emit_after("process_boot")
    tasks.use_broker(broker)
    worker = Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        yield broker
    finally:
        worker.stop()
        broker.close()
        tasks.use_broker(broker_module.broker)


@pytest.fixture
def world(migrated_url: str, monkeypatch: pytest.MonkeyPatch,
          stub_broker: StubBroker) -> Iterator[World]:
    """Fakes (6 products × 2 variants), the demo's organization on them, catalog and links."""
    monkeypatch.setenv("SHELFSYNC_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("SHELFSYNC_COALESCE_MS", "0")
    pm = get_plugin_manager()
    with running_fakes(pm, products=6, variants=2, seed=3, restore_rate=20000.0) as fakes:
        with session_scope() as session:
            org = connect_organization(session, fakes, name="Tasks test", settings=FAST)
        with session_scope() as session:
            inventory.refresh_catalog(session, pm, org.store_id, with_stock=True)
        for channel_id in org.channel_ids:
            with session_scope() as session:
                inventory.refresh_listings(session, pm, channel_id)
        app = create_app({"TESTING": True, "DATABASE_URL": migrated_url, "PLUGIN_MANAGER": pm})
        counter = EnqueueCounter()
        stub_broker.add_middleware(counter)
        try:
            yield World(fakes, org, stub_broker, app.test_client(), counter)
        finally:
            app.extensions["shelfsync.engine"].dispose()
            get_engine().dispose()


def live_sku(world: World) -> str:
    """A tracked, stop-when-sold-out store SKU, linked and live (ACTIVATE) in both shops."""
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
    assert both, "the seeded fakes share no live linked SKU"
    return both[0]


def expected(world: World, sku: str) -> tuple[int, int]:
    """What shop 1 (100 %) and shop 2 (80 %, threshold 5) should show for the store's stock."""
    total = max(0, world.store_total(sku))
    return total, (0 if total <= 5 else total * 80 // 100)


def test_webhook_pushes_to_both_shops_per_their_rules(world: World) -> None:
    sku = live_sku(world)
    world.set_stock(sku, 41)
    response = world.deliver(*world.store_webhook(sku))
    assert response.status_code == 200 and response.json["skus"] == 1
    assert (world.shown(0, sku), world.shown(1, sku)) == expected(world, sku)
    with Session(get_engine()) as session:
        assert session.exec(select(PendingSku)).all() == []
        audits = session.exec(select(InventoryAudit).where(InventoryAudit.sku == sku)).all()
    assert {(a.channel_id, a.outcome) for a in audits} == {
        (world.org.channel_ids[0], "ok"), (world.org.channel_ids[1], "ok")}


def test_threshold_hides_low_stock_in_shop_two_only(world: World) -> None:
    sku = live_sku(world)
    levels = world.control("store", "GET", "stock", params={"sku": sku})["levels"]
    for level in levels:  # every location to zero, then 4 units at the first
        world.control("store", "POST", "stock", {"sku": sku, "location_id": level["location_id"],
                                                 "available": 0})
    world.set_stock(sku, 4)
    world.deliver(*world.store_webhook(sku))
    assert (world.shown(0, sku), world.shown(1, sku)) == (4, 0)


def test_duplicate_delivery_is_answered_and_ignored(world: World) -> None:
    sku = live_sku(world)
    world.set_stock(sku, 23)
    headers, body = world.store_webhook(sku)
    first = world.deliver(headers, body)
    calls = world.inventory_calls()
    second = world.deliver(headers, body)
    assert first.json["status"] == "accepted"
    assert second.status_code == 200 and second.json["status"] == "duplicate"
    assert world.inventory_calls() == calls
    assert (world.shown(0, sku), world.shown(1, sku)) == expected(world, sku)


def test_out_of_order_webhooks_end_on_the_newest_stock(world: World) -> None:
    sku = live_sku(world)
    world.set_stock(sku, 30)
    older = world.store_webhook(sku)
    world.set_stock(sku, 12)
    newer = world.store_webhook(sku)
    world.deliver(*newer)
    world.deliver(*older)  # late, stale: the engine reads the store, not the payload
    assert (world.shown(0, sku), world.shown(1, sku)) == expected(world, sku)


def test_a_burst_is_synced_with_one_push_per_shop(world: World,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFSYNC_COALESCE_MS", "1500")  # wide: five posts on a busy machine
    sku = live_sku(world)
    world.set_stock(sku, 17)
    before, messages = world.inventory_calls(), world.sync_messages
    for change in range(5):  # five deliveries inside the coalescing window, distinct bodies
        # (the same body again is a duplicate, whatever its webhook id)
        sample = world.control("store", "POST", "webhook-sample",
                               {"sku": sku, "available": 17 + change})
        response = world.post(f"/webhooks/shopify/{world.org.store_id}", sample["headers"],
                              sample["body"].encode())
        assert response.json["status"] == "accepted"
    world.drain()
    assert world.inventory_calls() - before == 2
    assert (world.shown(0, sku), world.shown(1, sku)) == expected(world, sku)
    # One message for the burst: the first one was still waiting when the others came.
    assert world.sync_messages - messages == 1


def test_the_same_message_twice_leaves_the_same_state(world: World) -> None:
    sku = live_sku(world)
    world.set_stock(sku, 9)
    for _ in range(2):  # at-least-once delivery: the whole job again
        tasks.handle_store_webhook.send(world.org.store_id, [sku], "2030-01-01T00:00:00+00:00")
        world.drain()
    assert (world.shown(0, sku), world.shown(1, sku)) == expected(world, sku)


def test_refused_store_token_marks_needs_reauth_without_retrying(world: World) -> None:
    sku = live_sku(world)
    with session_scope() as session:
        store = session.get_one(StoreConnection, world.org.store_id)
        store.set_credentials({**store.credentials(), "access_token": "shpat_revoked"})
    world.control("store", "DELETE", "requests")
    world.deliver(*world.store_webhook(sku))
    requests_after_job = world.control("store", "GET", "requests")["count"]
    world.drain()
    with Session(get_engine()) as session:
        store = session.get_one(StoreConnection, world.org.store_id)
        pending = session.exec(select(PendingSku.sku)).all()
    assert store.status == ConnectionStatus.NEEDS_REAUTH.value
    assert "credentials" in store.status_message or store.status_message
    assert pending == [sku]  # nothing lost: synced once the store is reconnected
    assert requests_after_job == world.control("store", "GET", "requests")["count"] <= 2


def test_refused_channel_token_marks_that_channel_only(world: World) -> None:
    sku = live_sku(world)
    broken, healthy = world.org.channel_ids
    with session_scope() as session:
        channel = session.get_one(ChannelConnection, broken)
        channel.set_credentials({**channel.credentials(), "access_token": "ROW_revoked",
                                 "refresh_token": "ROW_revoked_too"})
    world.set_stock(sku, 27)
    world.deliver(*world.store_webhook(sku))
    with Session(get_engine()) as session:
        statuses = {c.id: c.status for c in session.exec(select(ChannelConnection))}
    assert statuses == {broken: ConnectionStatus.NEEDS_REAUTH.value,
                        healthy: ConnectionStatus.OK.value}
    assert world.shown(1, sku) == expected(world, sku)[1]


def test_reconcile_and_refresh_actors_repair_a_missed_webhook(world: World) -> None:
    sku = live_sku(world)
    world.set_stock(sku, 33)  # no webhook reaches us
    tasks.refresh_catalog.send(world.org.organization_id)
    for channel_id in world.org.channel_ids:
        tasks.reconcile_channel.send(channel_id)
    world.drain()
    assert (world.shown(0, sku), world.shown(1, sku)) == expected(world, sku)


def test_a_broker_outage_loses_no_webhook(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox: while the broker refuses every message, webhooks are still answered 200 and
    their SKUs recorded; once it is back, the scheduler's sweeper sends the syncs and every
    change reaches TikTok."""
    skus = [live_sku(world), *_other_live_skus(world)[:1]]
    assert len(skus) == 2

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("broker unreachable")

    with monkeypatch.context() as outage:
        outage.setattr(world.broker, "enqueue", down)
        for sku, available in zip(skus, (21, 8), strict=True):
            world.set_stock(sku, available)
            response = world.post(f"/webhooks/shopify/{world.org.store_id}",
                                  *world.store_webhook(sku))
            assert response.status_code == 200 and response.json["status"] == "accepted"
        jobs = Jobs(get_engine(), print, print, tasks.sync_pending.send,
                    clock=lambda: utcnow() + SWEEP_GRACE + timedelta(seconds=1))
        assert jobs.sweep() == []  # still down: nothing sent, nothing lost
    world.drain()
    with Session(get_engine()) as session:
        assert sorted(session.exec(select(PendingSku.sku))) == sorted(skus)

    assert jobs.sweep() == [world.org.organization_id]  # the broker is back
    world.drain()

    for sku in skus:
        assert (world.shown(0, sku), world.shown(1, sku)) == expected(world, sku)
    with Session(get_engine()) as session:
        assert session.exec(select(PendingSku)).all() == []


def _other_live_skus(world: World) -> list[str]:
    """Live linked SKUs other than `live_sku`'s, for a second change."""
    first = live_sku(world)
    with Session(get_engine()) as session:
        plain = set(session.exec(select(CatalogVariant.sku).where(
            CatalogVariant.continue_selling == False, CatalogVariant.tracked)))  # noqa: E712
        for channel_id in world.org.channel_ids:
            plain &= set(session.exec(select(ChannelListing.seller_sku).where(
                ChannelListing.channel_id == channel_id, ChannelListing.status == "ACTIVATE")))
            plain &= set(session.exec(select(SkuLink.store_sku).where(
                SkuLink.channel_id == channel_id)))
    return sorted(plain - {first})


def test_a_sync_request_is_not_sent_again_while_the_last_one_waits() -> None:
    now = [1000.0]
    requests = tasks.SyncRequests(clock=lambda: now[0])
    assert requests.claim(7, 100)  # sent: due at 1000.1
    now[0] += 0.05
    assert not requests.claim(7, 100)  # the waiting message will lease what is pending now
    assert requests.claim(8, 100)  # another organization has its own
    now[0] += 0.04  # due in 10 ms: it may be starting, so a new message is sent
    assert requests.claim(7, 100)
    requests.forget(7)  # that send failed: the next request sends
    assert requests.claim(7, 100)
    assert requests.claim(9, 0) and requests.claim(9, 0)  # no delay: every request is sent
    assert not requests.claim(8, 100)  # still waiting
    requests.clear()  # another broker: none of these messages is in it
    assert requests.claim(8, 100)
