"""Exactly once under concurrency: webhooks racing the poller and workers racing each other
(threads, each with its own session, on SQLite and PostgreSQL), and a worker process
SIGKILLed after the store made the order but before the binding recorded it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.models import OrderBinding
from shelfsync.core.sync.order_poll import read_orders
from shelfsync.core.sync.orders import OrderState, accept_order, create_in_store

from .conftest import World
from .test_orders import binding, place, store_orders

THREADS = 6


def _together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads released at once; their results, or the first error raised."""
    start = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], Any]) -> None:
        start.wait()
        try:
            results[index] = job()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


def _engine(world: World) -> Engine:
    return world.session.get_bind().engine  # type: ignore[union-attr]


def test_webhooks_pollers_and_workers_racing_make_one_store_order(linked: World) -> None:
    engine = _engine(linked)
    orders = [place(linked, 0, {linked.plain_sku(): 1}) for _ in range(3)]
    channel = linked.channel_ids[0]
    since = datetime.now(UTC) - timedelta(hours=1)

    def webhook(order: dict[str, Any]) -> Callable[[], int]:
        def job() -> int:
            with Session(engine, expire_on_commit=False) as session:
                found = accept_order(session, channel, order_id=order["id"],
                                     status="AWAITING_SHIPMENT",
                                     updated_at=datetime.now(UTC))
                session.commit()
                return found
        return job

    def poller() -> list[int]:
        with Session(engine, expire_on_commit=False) as session:
            return read_orders(session, linked.pm, channel, since).binding_ids

    _together([*(webhook(o) for o in orders for _ in range(2)), poller, poller])
    ids = {binding(linked, o["id"]).id for o in orders}
    assert len(ids) == 3

    def worker(binding_id: int, owner: str) -> Callable[[], str]:
        def job() -> str:
            with Session(engine, expire_on_commit=False) as session:
                return create_in_store(session, linked.pm, binding_id, owner).state
        return job

    states = _together([worker(i or 0, f"w{n}") for i in ids for n in range(THREADS // 3 * 2)])
    assert OrderState.CREATED in states
    for order in orders:
        assert len(store_orders(linked, order["id"])) == 1
        assert binding(linked, order["id"]).status == OrderState.CREATED
    rows = linked.session.exec(select(OrderBinding)).all()
    assert len(rows) == len({(r.channel_id, r.channel_order_id) for r in rows})


_KILLED_WORKER = """
import sys
from datetime import UTC, datetime
from sqlmodel import Session
from shelfsync.core.db import make_engine
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.sync.orders import create_in_store

engine = make_engine(sys.argv[1])
with Session(engine, expire_on_commit=False) as session:
    print("leasing", flush=True)
    create_in_store(session, get_plugin_manager(), int(sys.argv[2]), "doomed")
print("finished", flush=True)
"""


def test_a_worker_sigkilled_after_the_store_answered_leaves_one_order(
        linked: World, migrated_url: str) -> None:
    """The store makes the order and its answer is slow to arrive: the worker is killed
    before it can record it. Once its lease expires, another worker finds the order."""
    order = place(linked, 0, {linked.plain_sku(): 1})
    since = datetime.now(UTC) - timedelta(hours=1)
    read_orders(linked.session, linked.pm, linked.channel_ids[0], since)
    target = binding(linked, order["id"])
    linked.control(linked.shopify, "POST", "order-faults",
                   {"kind": "lost", "count": 1, "seconds": 20})
    env = {**os.environ, "SHELFSYNC_ALLOW_PRIVATE_URLS": "1"}
    process = subprocess.Popen([sys.executable, "-c", _KILLED_WORKER, migrated_url,
                                str(target.id)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not store_orders(linked, order["id"]):
            time.sleep(0.05)
        assert len(store_orders(linked, order["id"])) == 1  # made; its answer not yet back
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    row = binding(linked, order["id"])
    assert row.status == OrderState.WAITING and row.lease_owner == "doomed"
    assert row.lease_expires_at is not None
    # Within the dead worker's lease nobody takes it; after, the next worker finds the order.
    assert create_in_store(linked.session, linked.pm, row.id or 0, "w2").attempted is False
    later = row.lease_expires_at + timedelta(seconds=1)
    outcome = create_in_store(linked.session, linked.pm, row.id or 0, "w2",
                              clock=lambda: later)
    assert outcome.state == OrderState.CREATED and outcome.store_order is not None
    assert outcome.store_order.created is False
    assert len(store_orders(linked, order["id"])) == 1
    assert linked.control(linked.shopify, "GET", "order-calls")["create"] == 1
