"""Real `dramatiq` worker processes on real Redis and RabbitMQ, with PostgreSQL.

What a StubBroker never shows: a job run by another process that shares only the broker and
the database, and at-least-once redelivery after a worker is killed with SIGKILL in the middle
of a push. The TikTok fake is slowed (`/_fake/latency`) so the kill lands while the push is in
flight; the killed transaction rolls back, the broker hands the message to a new worker (Redis:
after the short heartbeat timeout set here; RabbitMQ: when the connection drops), and the end
state is the same as if nothing had happened: the right quantity in both shops, nothing left
pending, one successful audit row per shop.

With CI=true a missing Redis, RabbitMQ or PostgreSQL fails these tests; otherwise they are
skipped with the reason. Servers: SHELFSYNC_TEST_REDIS_URL (redis://127.0.0.1:6379/0),
SHELFSYNC_TEST_RABBITMQ_URL (amqp://guest:guest@127.0.0.1:5672/%2F).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from shelfsync.core import broker as broker_module
from shelfsync.core import tasks
from shelfsync.core.broker import BrokerSettings, build_broker
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import get_engine, session_scope
from shelfsync.core.demo import (
    DemoOrganization,
    Fakes,
    connect_organization,
    running_fakes,
    wait_for,
)
from shelfsync.core.models import (
    CatalogVariant,
    ChannelListing,
    InventoryAudit,
    PendingSku,
    SkuLink,
)
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.sync import inventory
from shelfsync.core.testing.environment import unavailable

REDIS_URL = os.environ.get("SHELFSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("SHELFSYNC_TEST_RABBITMQ_URL",
                              "amqp://guest:guest@127.0.0.1:5672/%2F")
FAST = {"retry_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 2, "timeout": 10}

pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("database_backend", ["postgresql"])]
BROKERS = [pytest.param("redis", marks=pytest.mark.redis),
           pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)]


def _reachable(kind: str) -> None:
    """Skip (fail under CI=true) when the broker's server does not answer."""
    try:
        if kind == "redis":
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        else:
            import pika

            pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL)).close()
    except Exception as exc:
        unavailable(f"{kind} not reachable: {type(exc).__name__}: {exc}")


@dataclass
class Fleet:
    """Fakes, an organization, a producer bound to a real broker, and worker processes."""

    kind: str
    env: dict[str, str]
    fakes: Fakes
    org: DemoOrganization
    workers: list[subprocess.Popen[bytes]]
    log_dir: Path

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "shelfsync.core.broker:broker",
             "shelfsync.core.tasks", "--processes", "1", "--threads", "2"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Signal the worker's whole process group (dramatiq's parent and its children)."""
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def control(self, fake: str, method: str, name: str, body: Any = None,
                params: Any = None) -> Any:
        server = self.fakes.store_server if fake == "store" else self.fakes.channel_server
        response = httpx.request(method, f"{server.base_url}/_fake/{name}", json=body,
                                 params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def store_total(self, sku: str) -> int:
        levels = self.control("store", "GET", "stock", params={"sku": sku})["levels"]
        return sum(level["available"] for level in levels if level["location_active"])

    def shown(self) -> tuple[dict[str, int], dict[str, int]]:
        shops = self.control("channel", "GET", "state", params={"inventory": "1"})["shops"]
        return shops[0]["inventory"], shops[1]["inventory"]

    def expected(self, sku: str) -> tuple[int, int]:
        total = max(0, self.store_total(sku))
        return total, (0 if total <= 5 else total * 80 // 100)

    def in_sync(self, sku: str) -> bool:
        one, two = self.shown()
        return (one[sku], two[sku]) == self.expected(sku)

    def update_calls(self) -> int:
        by_path = self.control("channel", "GET", "requests")["by_path"]
        return sum(n for path, n in by_path.items() if path.endswith("/inventory/update"))

    def webhook(self, sku: str, available: int) -> None:
        """The SKU's whole stock set to `available` (all at one location), announced as the
        receiver would enqueue it."""
        levels = self.control("store", "GET", "stock", params={"sku": sku})["levels"]
        for index, level in enumerate(levels):
            self.control("store", "POST", "stock", {"sku": sku,
                                                    "location_id": level["location_id"],
                                                    "available": available if index == 0 else 0})
        tasks.handle_store_webhook.send(self.org.store_id, [sku], inventory.utcnow().isoformat())


@pytest.fixture(params=BROKERS)
def fleet(request: pytest.FixtureRequest, migrated_url: str, monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> Iterator[Fleet]:
    kind = str(request.param)
    _reachable(kind)
    env = {
        **os.environ,
        "SHELFSYNC_DATABASE_URL": migrated_url,
        "SHELFSYNC_SECRET_KEY": generate_key(),
        "SHELFSYNC_ALLOW_PRIVATE_URLS": "1",
        "SHELFSYNC_BROKER_URL": REDIS_URL if kind == "redis" else RABBITMQ_URL,
        "SHELFSYNC_BROKER_NAMESPACE": f"shelfsync-test-{secrets.token_hex(4)}",
        "SHELFSYNC_REDIS_HEARTBEAT_MS": "1500",
        "SHELFSYNC_REDIS_MAINTENANCE_CHANCE": "1000000",
        "SHELFSYNC_RETRY_MIN_BACKOFF_MS": "50",
        "SHELFSYNC_RETRY_MAX_BACKOFF_MS": "500",
        "SHELFSYNC_COALESCE_MS": "0",
    }
    for name in ("SHELFSYNC_DATABASE_URL", "SHELFSYNC_SECRET_KEY", "SHELFSYNC_ALLOW_PRIVATE_URLS"):
        monkeypatch.setenv(name, env[name])
    producer = build_broker(BrokerSettings.from_env(env))
    tasks.use_broker(producer)
    producer.flush_all()  # RabbitMQ queues are shared: start from empty ones
    pm = get_plugin_manager()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with running_fakes(pm, products=4, variants=2, seed=5, restore_rate=20000.0) as fakes:
            with session_scope() as session:
                org = connect_organization(session, fakes, name=f"Fleet {kind}", settings=FAST)
            with session_scope() as session:
                inventory.refresh_catalog(session, pm, org.store_id, with_stock=True)
            for channel_id in org.channel_ids:
                with session_scope() as session:
                    inventory.refresh_listings(session, pm, channel_id)
            fleet = Fleet(kind, env, fakes, org, workers, tmp_path)
            yield fleet
            for process in workers:
                fleet.kill(process, signal.SIGTERM)
    finally:
        producer.flush_all()
        producer.close()
        tasks.use_broker(broker_module.broker)
        get_engine().dispose()


def _live_sku() -> str:
    """A tracked SKU without continue-selling, linked and live in every shop."""
    with Session(get_engine()) as session:
        sets = [set(session.exec(select(CatalogVariant.sku).where(
            CatalogVariant.continue_selling == False, CatalogVariant.tracked)))]  # noqa: E712
        for channel_id in sorted(set(session.exec(select(SkuLink.channel_id)))):
            live = set(session.exec(select(ChannelListing.seller_sku).where(
                ChannelListing.channel_id == channel_id, ChannelListing.status == "ACTIVATE")))
            sets.append(live & set(session.exec(select(SkuLink.store_sku).where(
                SkuLink.channel_id == channel_id))))
    return sorted(set.intersection(*sets))[0]


def _logs(fleet: Fleet) -> str:
    return "\n".join(p.read_text(errors="replace")[-2000:] for p in fleet.log_dir.glob("*.log"))


def test_a_worker_process_syncs_a_webhook(fleet: Fleet) -> None:
    sku = _live_sku()
    fleet.start_worker()
    fleet.webhook(sku, 38)
    assert wait_for(lambda: fleet.in_sync(sku), timeout=30), _logs(fleet)
    fleet.webhook(sku, 3)  # low stock: shop 2's threshold hides it
    assert wait_for(lambda: fleet.in_sync(sku), timeout=30), _logs(fleet)
    assert fleet.shown()[1][sku] == 0


def test_a_worker_killed_mid_push_is_redelivered_to_the_same_end_state(fleet: Fleet) -> None:
    sku = _live_sku()
    first = fleet.start_worker()
    fleet.control("channel", "POST", "latency", {"seconds": 2.0})
    calls = fleet.update_calls()
    fleet.webhook(sku, 44)
    # The push reached TikTok and is held there: kill the worker in the middle of the job.
    assert wait_for(lambda: fleet.update_calls() > calls, timeout=30), _logs(fleet)
    fleet.kill(first)
    fleet.control("channel", "POST", "latency", {"seconds": 0.0})
    fleet.start_worker()
    assert wait_for(lambda: fleet.in_sync(sku), timeout=40), _logs(fleet)
    assert wait_for(lambda: _audited(sku) == 2, timeout=20), _logs(fleet)
    with Session(get_engine()) as session:
        assert session.exec(select(PendingSku)).all() == []
        outcomes = session.exec(select(InventoryAudit.channel_id, InventoryAudit.outcome)
                                .where(InventoryAudit.sku == sku)).all()
    # The killed attempt's audit rolled back with its transaction: one success per shop.
    assert sorted(outcomes) == sorted((c, "ok") for c in fleet.org.channel_ids)
    assert fleet.update_calls() - calls >= 3  # the killed push, then both shops again


def _audited(sku: str) -> int:
    with Session(get_engine()) as session:
        return len(session.exec(select(InventoryAudit.id).where(
            InventoryAudit.sku == sku, InventoryAudit.outcome == "ok")).all())


def test_orders_survive_a_worker_sigkilled_mid_batch(fleet: Fleet) -> None:
    """Issue 12: two worker processes take a batch of orders; the store makes one order and
    its answer is held back, and a worker is SIGKILLed mid-batch. Every TikTok order ends
    with exactly one store order, every binding records it."""
    from datetime import UTC, datetime, timedelta

    from shelfsync.core.models import OrderBinding
    from shelfsync.core.sync.order_poll import read_orders

    sku = _live_sku()
    shop_id = fleet.fakes.channel.shops[1].id
    placed = [fleet.control("channel", "POST", "orders",
                            {"shop_id": shop_id, "seller_skus": {sku: 1}})["id"]
              for _ in range(6)]
    with session_scope() as session:
        found = read_orders(session, get_plugin_manager(), fleet.org.channel_ids[1],
                            datetime.now(UTC) - timedelta(hours=1))
    assert set(placed) <= found.seen
    fleet.control("store", "POST", "order-faults", {"kind": "lost", "seconds": 4.0})
    first = fleet.start_worker()
    fleet.start_worker()
    for binding_id in sorted(set(found.binding_ids)):
        tasks.handle_order.send(binding_id)

    def store_orders() -> list[str]:
        return [o.source_identifier for o in fleet.fakes.store.store.orders]

    # The first create was made and its answer is held: kill a worker mid-batch.
    assert wait_for(lambda: len(store_orders()) >= 1, timeout=30), _logs(fleet)
    fleet.kill(first)
    fleet.start_worker()

    def all_created() -> bool:
        with Session(get_engine()) as session:
            states = session.exec(select(OrderBinding.status).where(
                OrderBinding.channel_order_id.in_(placed))).all()  # type: ignore[attr-defined]
        return sorted(states) == ["created"] * len(placed)

    assert wait_for(all_created, timeout=60), _logs(fleet)
    made = store_orders()
    assert sorted(made) == sorted(placed)  # one store order each: no duplicate, none lost
    with Session(get_engine()) as session:
        rows = session.exec(select(OrderBinding).where(
            OrderBinding.channel_order_id.in_(placed))).all()  # type: ignore[attr-defined]
    assert all(row.store_order_id and row.store_order_name for row in rows)
