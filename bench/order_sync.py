"""Benchmark: TikTok buyer orders → webhooks → workers → Shopify store orders, exactly once.

Runs in-process: the Shopify fake, the TikTok fake (3 shops), the webhook receiver, and a
fresh PostgreSQL database; runs as separate processes: `dramatiq` workers on Redis. Places
buyer orders at a steady rate through the TikTok fake's control API, round-robin over the
shops (each fires a signed ORDER_STATUS_CHANGE to the receiver), then waits until every order
is in the store. Prints:

- store calls per order: `orderCreate` calls, order searches (the plugin's look-up before
  every attempt) and all GraphQL requests (with the variant look-up); goal: one create and
  at most one look-up;
- p50 / p99 / max from the buyer's order to the store order's recording (goal p99 < 2 s);
- duplicates (TikTok orders with more than one store order) and lost ones (none), goal 0/0.

`--fault-rate 0.1` makes 10 % of `orderCreate` calls fail after the order was made: half
answer 500, half lose their answer (it arrives late and garbled).

    .venv/bin/python bench/order_sync.py --orders 1000 --rate 20
    .venv/bin/python bench/order_sync.py --orders 1000 --rate 20 --fault-rate 0.1
    .venv/bin/python bench/order_sync.py --orders 1000 --rate 20 --embedded

`--embedded` runs `shelfsync run` (the embedded default: SQLite, the in-process broker and its
worker threads, the receiver and the scheduler, in one process of its own) instead of
`dramatiq` workers on Redis and PostgreSQL; the fakes stay in this process, as remote
platforms would be outside Shelfsync's.

`--timeline` also prints where the time went: waiting in the fake's webhook queue (the fake
sends one webhook at a time, in order, so a receiver answering slower than the order rate
shows up there), the receiver's answer, and from the answer to the store order; and the CPU
seconds Shelfsync's processes (and this one) used while the orders ran.

Needs Redis (SHELFSYNC_TEST_REDIS_URL, default redis://127.0.0.1:6379/0) and PostgreSQL
(SHELFSYNC_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

REDIS_URL = os.environ.get("SHELFSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN = os.environ.get("SHELFSYNC_TEST_POSTGRES_URL",
                                "postgresql://postgres@127.0.0.1:5432/postgres")


def _database() -> tuple[str, str]:
    name = f"shelfsync_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    return name, url


def _drop(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="orders per second")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of orderCreate calls failing after the order was made")
    parser.add_argument("--embedded", action="store_true",
                        help="SQLite and the in-process broker (shelfsync run's default)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="worker threads (default: 4 per Dramatiq process; shelfsync "
                             "run's own default with --embedded)")
    parser.add_argument("--products", type=int, default=60)
    parser.add_argument("--wait", type=float, default=300.0,
                        help="seconds to wait for the last orders after the last is placed")
    parser.add_argument("--timeline", action="store_true",
                        help="also print where each order's time went: waiting in the fake's "
                             "webhook queue, the receiver's answer, the workers")
    args = parser.parse_args()
    if args.threads is None:
        args.threads = 8 if args.embedded else 4
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    scratch = tempfile.TemporaryDirectory(prefix="shelfsync-bench-")
    db_name, db_url = ((None, f"sqlite:///{scratch.name}/bench.db") if args.embedded
                       else _database())
    from shelfsync.core.crypto import generate_key

    env = {**os.environ, "SHELFSYNC_DATABASE_URL": db_url, "SHELFSYNC_SECRET_KEY": generate_key(),
           "SHELFSYNC_ALLOW_PRIVATE_URLS": "1", "SHELFSYNC_BROKER_URL": REDIS_URL,
           "SHELFSYNC_BROKER_NAMESPACE": f"shelfsync-bench-{secrets.token_hex(4)}"}
    if args.embedded:
        del env["SHELFSYNC_BROKER_URL"], env["SHELFSYNC_BROKER_NAMESPACE"]
        os.environ.pop("SHELFSYNC_BROKER_URL", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("SHELFSYNC_")})
    # Imported only now: the broker module reads the environment when it is imported.
    from shelfsync.core import demo
    from shelfsync.core.db import get_engine, session_scope, upgrade
    from shelfsync.core.models import ChannelListing, OrderBinding, Organization, SkuLink
    from shelfsync.core.plugins import get_plugin_manager
    from shelfsync.core.sync import inventory
    from shelfsync.core.testing.server import serving
    from shelfsync.core.webhook_setup import subscribe_organization
    from shelfsync.web.app import create_app

    workers: subprocess.Popen[bytes] | None = None
    try:
        upgrade()
        pm = get_plugin_manager()
        with demo.running_fakes(pm, products=args.products, variants=2, seed=0, shops=3,
                                restore_rate=100000.0, bucket_size=100000.0) as fakes, \
                serving(create_app()) as receiver:
            receiver_url = receiver.base_url
            with session_scope() as session:
                world = demo.connect_organization(session, fakes, name="Bench")
            with session_scope() as session:
                inventory.refresh_catalog(session, pm, world.store_id, with_stock=True)
            for channel_id in world.channel_ids:
                with session_scope() as session:
                    inventory.refresh_listings(session, pm, channel_id)
            with Session(get_engine()) as session:
                skus = {
                    index: sorted(set(session.exec(
                        select(ChannelListing.seller_sku).join(
                            SkuLink, (SkuLink.channel_id == ChannelListing.channel_id)
                            & (SkuLink.sku_id == ChannelListing.sku_id))
                        .where(ChannelListing.channel_id == channel_id,
                               ChannelListing.status == "ACTIVATE"))))
                    for index, channel_id in enumerate(world.channel_ids)}
            if args.embedded:
                workers, receiver_url = _shelfsync_run(env, args.threads)
            else:
                workers = subprocess.Popen(
                    [sys.executable, "-m", "dramatiq", "shelfsync.core.broker:broker",
                     "shelfsync.core.tasks", "--processes", str(args.processes), "--threads",
                     str(args.threads)], env=env, start_new_session=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(3.0)  # workers import and connect
            with session_scope() as session:
                organization = session.get(Organization, world.organization_id)
                assert organization is not None
                for subscribed in subscribe_organization(session, pm, organization,
                                                         receiver_url):
                    if subscribed.error:
                        raise SystemExit(f"could not subscribe: {subscribed.error}")
            for server in (fakes.store_server, fakes.channel_server):
                httpx.delete(f"{server.base_url}/_fake/requests", timeout=10)
            probe_before = _speed_probe()
            cpu_before = _group_cpu(workers.pid), time.process_time()
            placed = _place_orders(args, fakes, skus)
            elapsed = placed.pop("_elapsed")
            done_at = _wait_for_orders(get_engine(), OrderBinding, set(placed), args.wait)
            cpu = (_group_cpu(workers.pid) - cpu_before[0],
                   time.process_time() - cpu_before[1])
            calls = fakes.store.order_calls
            requests = httpx.get(f"{fakes.store_server.base_url}/_fake/requests",
                                 timeout=10).json()["count"]
            made = Counter(o.source_identifier for o in fakes.store.store.orders)
            deliveries = {"tiktok": list(fakes.channel.webhooks.delivered),
                          "shopify": list(fakes.store.webhooks.delivered)}
            probe_after = _speed_probe()
        _report(args, placed, elapsed, done_at, calls, requests, made)
        print(f"speed probe (a fixed pure-Python loop, CPU ms; higher: a slower host): "
              f"{probe_before:.0f} before the orders, {probe_after:.0f} after")
        if args.timeline:
            _timeline(placed, done_at, deliveries)
            print(f"CPU while the orders ran: Shelfsync {cpu[0]:.1f} s "
                  f"({cpu[0] / len(placed) * 1000:.1f} ms per order), this process (the fakes "
                  f"and the buyers) {cpu[1]:.1f} s")
    finally:
        if workers is not None:
            os.killpg(workers.pid, signal.SIGTERM)
            try:
                workers.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(workers.pid, signal.SIGKILL)
                workers.wait(timeout=5)
        from shelfsync.core.db import get_engine as engine_of

        engine_of().dispose()
        if db_name is not None:
            _drop(db_name)
        scratch.cleanup()


def _speed_probe() -> float:
    """CPU milliseconds of a fixed pure-Python loop, best of three: the same tree's figures
    differ by half between two hours of this shared machine (docs/performance.md), and this
    says which hour a run had."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(300_000):
            total += i * i % 7
        best = min(best, (time.process_time() - started) * 1000)
    return best


def _shelfsync_run(env: dict[str, str], threads: int) -> tuple[subprocess.Popen[bytes], str]:
    """`shelfsync run` on the embedded default in a process of its own; returns it and the
    address its first line names (its receiver)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "shelfsync.core", "run", "--port", "0", "--threads",
         str(threads)], env={k: v for k, v in env.items() if "BROKER" not in k},
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    first = process.stdout.readline().decode()
    if not first.startswith("Shelfsync on "):
        raise SystemExit(f"shelfsync run did not start: {first!r}")
    return process, first.split()[2]


def _group_cpu(group: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group
    (`shelfsync run`, or the `dramatiq` master and its worker processes); Linux only."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group:  # field 5, pgrp, counted after the ")" of the name
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _place_orders(args: argparse.Namespace, fakes: Any,
                  skus: dict[int, list[str]]) -> dict[str, Any]:
    """Place the orders at the rate; TikTok order id → when the buyer placed it (UTC)."""
    rng = random.Random(0)
    placed: dict[str, Any] = {}
    shops = sorted(index for index, found in skus.items() if found)
    started = time.monotonic()
    with httpx.Client(base_url=fakes.channel_server.base_url, timeout=10) as client, \
            httpx.Client(base_url=fakes.store_server.base_url, timeout=10) as store:
        for index in range(args.orders):
            due = started + index / args.rate
            time.sleep(max(0.0, due - time.monotonic()))
            if args.fault_rate and rng.random() < args.fault_rate:
                kind = "500" if index % 2 else "lost"
                store.post("/_fake/order-faults", json={"kind": kind, "seconds": 1.0})
            shop = shops[index % len(shops)]
            for _ in range(20):
                at = datetime.now(UTC)
                answer = client.post("/_fake/orders", json={
                    "shop": shop, "seller_skus": {rng.choice(skus[shop]): 1}})
                if answer.status_code == 201:
                    placed[str(answer.json()["id"])] = at
                    break
    placed["_elapsed"] = time.monotonic() - started
    return placed


def _wait_for_orders(engine: Any, model: Any, order_ids: set[str],
                     wait: float) -> dict[str, tuple[datetime, datetime, int]]:
    """When each order was first recorded (the webhook) and recorded created, and how many
    attempts it took; waits until all are created, or `wait` seconds pass."""
    deadline = time.monotonic() + wait
    done: dict[str, tuple[datetime, datetime, int]] = {}
    while time.monotonic() < deadline:
        with Session(engine) as session:
            for order_id, first, updated, attempts in session.exec(select(
                    model.channel_order_id, model.created_at, model.updated_at,
                    model.attempts).where(model.status == "created")):
                done[order_id] = (first, updated, attempts)
        if order_ids <= set(done):
            break
        time.sleep(0.5)
    return done


def _report(args: argparse.Namespace, placed: dict[str, datetime], elapsed: float,
            done_at: dict[str, tuple[datetime, datetime, int]], calls: dict[str, int],
            requests: int,
            made: Counter[str | None]) -> None:
    count = len(placed)
    latencies = sorted((done_at[o][1] - at).total_seconds() for o, at in placed.items()
                       if o in done_at)
    received = sorted((done_at[o][0] - at).total_seconds() for o, at in placed.items()
                      if o in done_at)
    attempts = Counter(done_at[o][2] for o in placed if o in done_at)
    duplicates = sum(1 for order_id in placed if made.get(order_id, 0) > 1)
    lost = sum(1 for order_id in placed if made.get(order_id, 0) == 0)
    unrecorded = count - len(latencies)
    where = (f"embedded default: one process, {args.threads} worker threads, in-process "
             "broker, SQLite" if args.embedded else
             f"{args.processes} worker processes × {args.threads} threads, Redis, PostgreSQL")
    print(f"orders: {count} placed in {elapsed:.1f} s ({count / elapsed:.1f}/s) over 3 shops, "
          f"{where}, orderCreate faults after creation: {args.fault_rate:.0%}")
    print(f"store calls per order: orderCreate {calls['create'] / count:.2f}, order look-ups "
          f"{calls['search'] / count:.2f}, all GraphQL requests {requests / count:.2f}")
    if latencies:

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

        print(f"buyer's order → store order recorded (s): p50 {pct(50):.2f}  p99 {pct(99):.2f}"
              f"  max {latencies[-1]:.2f}  mean {statistics.mean(latencies):.2f}")
        print(f"buyer's order → webhook recorded (s): p50 {received[len(received) // 2]:.2f}"
              f"  max {received[-1]:.2f}; attempts per order: "
              f"{', '.join(f'{n}: {c}' for n, c in sorted(attempts.items()))}")
    p99_met = bool(latencies) and latencies[int(0.99 * (len(latencies) - 1))] < 2
    print(f"duplicates {duplicates}, lost {lost}, not recorded created {unrecorded}; goals "
          f"p99 < 2 s: {'met' if p99_met else 'NOT met'}"
          f", 0 duplicates: {'met' if not duplicates else 'NOT met'}, 0 lost: "
          f"{'met' if not lost else 'NOT met'}")


def _timeline(placed: dict[str, datetime], done_at: dict[str, tuple[datetime, datetime, int]],
              deliveries: dict[str, list[Any]]) -> None:
    """Where the orders' time went, p50 / p99 / max of each stage (seconds): the fake sends
    its webhooks one at a time, in order, so a receiver slower than the order rate shows as
    time waiting in the fake's queue, not as the receiver's answer time."""
    # Deliveries are timed on this process's monotonic clock; the bindings on the wall clock.
    offset = datetime.now(UTC).timestamp() - time.monotonic()

    def line(name: str, values: list[float]) -> None:
        if not values:
            print(f"  {name}: none")
            return
        values.sort()
        p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
        print(f"  {name}: p50 {values[len(values) // 2]:.3f}  p99 {p99:.3f}  "
              f"max {values[-1]:.3f}  (n={len(values)})")

    answered: dict[str, float] = {}
    queue_wait, answer = [], []
    for delivery in deliveries["tiktok"]:
        data = json.loads(delivery.body).get("data") or {}
        order_id = str(data.get("order_id") or "")
        if order_id not in placed or order_id in answered:
            continue
        answered[order_id] = delivery.finished + offset
        queue_wait.append(delivery.started - delivery.queued)
        answer.append(delivery.finished - delivery.started)
    to_answer = [answered[o] - at.timestamp() for o, at in placed.items() if o in answered]
    workers = [done_at[o][1].timestamp() - answered[o] for o in answered if o in done_at]
    print("timeline (s), TikTok order webhooks:")
    line("buyer's order → webhook answered", to_answer)
    line("waiting in the fake's queue (one delivery at a time)", queue_wait)
    line("receiver's answer", answer)
    line("webhook answered → store order recorded (workers)", workers)
    print("Shopify webhooks (stock changed by orderCreate):")
    line("waiting in the fake's queue", [d.started - d.queued for d in deliveries["shopify"]])
    line("receiver's answer", [d.finished - d.started for d in deliveries["shopify"]])


if __name__ == "__main__":
    main()
