"""Benchmark: store stock change → webhook → workers → TikTok push, latency under steady load.

Runs in-process: the Shopify and TikTok fakes (2 shops), the webhook receiver, and a fresh
PostgreSQL database; runs as separate processes: `dramatiq` workers on Redis. Changes stock at
a steady rate through the store fake (each change fires a signed `inventory_levels/update`
webhook to the receiver) and times, per change, how long until TikTok shop 1 (100 % rule)
received the new quantity. Prints p50 / p90 / p99 / max and how many changes never arrived
(the goal: p99 < 1 s at 50 changes/s with 2 worker processes).

    .venv/bin/python bench/webhook_latency.py --rate 50 --seconds 20 --processes 2

Needs Redis (SHELFSYNC_TEST_REDIS_URL, default redis://127.0.0.1:6379/0) and PostgreSQL
(SHELFSYNC_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

REDIS_URL = os.environ.get("SHELFSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADMIN = os.environ.get("SHELFSYNC_TEST_POSTGRES_URL",
                                "postgresql://postgres@127.0.0.1:5432/postgres")


class PushLog:
    """Wraps the TikTok fake: when each (sku id, total quantity) update was answered."""

    def __init__(self, fake: Any) -> None:
        self.seen: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()
        inner = fake.handle_api

        def handle_api(request: Any) -> Any:
            response = inner(request)
            if request.path.endswith("/inventory/update") and response.status_code == 200:
                now = time.monotonic()
                body = json.loads(request.get_data() or b"{}")
                with self.lock:
                    for sku in body.get("skus", []):
                        total = sum(int(s.get("quantity", 0)) for s in sku.get("inventory", []))
                        self.seen.setdefault((str(sku.get("id")), total), now)
            return response

        fake.handle_api = handle_api


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
    parser.add_argument("--rate", type=float, default=50.0, help="stock changes per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--products", type=int, default=60)
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--coalesce-ms", type=int, default=None,
                        help="SHELFSYNC_COALESCE_MS for the workers (default: the code's)")
    parser.add_argument("--budget", type=int, default=None,
                        help="api_calls_per_second for every connection (default: the "
                             "defaults of core/budget.py)")
    parser.add_argument("--timeline", default=None,
                        help="write one line per change (seconds into the run, latency in ms, "
                             "or 'lost') to this file, to see when in a run the tail happens")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    db_name, db_url = _database()
    from shelfsync.core.crypto import generate_key

    env = {**os.environ, "SHELFSYNC_DATABASE_URL": db_url, "SHELFSYNC_SECRET_KEY": generate_key(),
           "SHELFSYNC_ALLOW_PRIVATE_URLS": "1", "SHELFSYNC_BROKER_URL": REDIS_URL,
           "SHELFSYNC_BROKER_NAMESPACE": f"shelfsync-bench-{secrets.token_hex(4)}"}
    if args.coalesce_ms is not None:
        env["SHELFSYNC_COALESCE_MS"] = str(args.coalesce_ms)
    os.environ.update({k: env[k] for k in ("SHELFSYNC_DATABASE_URL", "SHELFSYNC_SECRET_KEY",
                                           "SHELFSYNC_ALLOW_PRIVATE_URLS",
                                           "SHELFSYNC_BROKER_URL",
                                           "SHELFSYNC_BROKER_NAMESPACE")})
    # Imported only now: the broker module reads the environment when it is imported.
    from shelfsync.core import demo
    from shelfsync.core.db import get_engine, session_scope, upgrade
    from shelfsync.core.models import CatalogVariant, ChannelListing, SkuLink
    from shelfsync.core.plugins import get_plugin_manager
    from shelfsync.core.sync import inventory
    from shelfsync.core.testing.server import serving
    from shelfsync.web.app import create_app

    workers: subprocess.Popen[bytes] | None = None
    try:
        upgrade()
        pm = get_plugin_manager()
        with demo.running_fakes(pm, products=args.products, variants=args.variants, seed=0,
                                restore_rate=100000.0, bucket_size=100000.0) as fakes, \
                serving(create_app()) as receiver:
            pushes = PushLog(fakes.channel)
            with session_scope() as session:
                extra = {"api_calls_per_second": args.budget} if args.budget else {}
                world = demo.connect_organization(session, fakes, name="Bench", settings=extra)
            with session_scope() as session:
                inventory.refresh_catalog(session, pm, world.store_id, with_stock=True)
            for channel_id in world.channel_ids:
                with session_scope() as session:
                    inventory.refresh_listings(session, pm, channel_id)
            shop_one = world.channel_ids[0]
            with Session(get_engine()) as session:
                plain = set(session.exec(select(CatalogVariant.sku).where(
                    CatalogVariant.continue_selling == False,  # noqa: E712
                    CatalogVariant.tracked)))
                live = {seller_sku: sku_id for seller_sku, sku_id in session.exec(
                    select(ChannelListing.seller_sku, ChannelListing.sku_id).where(
                        ChannelListing.channel_id == shop_one,
                        ChannelListing.status == "ACTIVATE")).all()}
                linked = set(session.exec(select(SkuLink.store_sku).where(
                    SkuLink.channel_id == shop_one)))
            skus = sorted(sku for sku in plain & linked if sku in live)
            demo.subscribe_store_webhooks(fakes, f"{receiver.base_url}/webhooks/shopify/"
                                                 f"{world.store_id}")
            workers = subprocess.Popen(
                [sys.executable, "-m", "dramatiq", "shelfsync.core.broker:broker",
                 "shelfsync.core.tasks", "--processes", str(args.processes), "--threads",
                 str(args.threads)], env=env, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _warm_up(fakes.store_server.base_url, pushes, skus, live)
            for server in (fakes.store_server, fakes.channel_server):
                httpx.delete(f"{server.base_url}/_fake/requests", timeout=10)
            sent: list[tuple[str, int, float]] = []
            count = int(args.rate * args.seconds)
            started = time.monotonic()
            with httpx.Client(base_url=fakes.store_server.base_url, timeout=10) as client:
                for index in range(count):
                    due = started + index / args.rate
                    time.sleep(max(0.0, due - time.monotonic()))
                    sku = skus[index % len(skus)]
                    answer = client.post("/_fake/stock", json={"sku": sku, "delta": 1}).json()
                    at = time.monotonic()
                    total = sum(lv["available"] for lv in answer["levels"]
                                if lv["location_active"])
                    sent.append((live[sku], max(0, total), at))
            elapsed = time.monotonic() - started
            time.sleep(5.0)  # let the tail arrive
            calls = {name: httpx.get(f"{server.base_url}/_fake/requests", timeout=10).json()
                     for name, server in (("store", fakes.store_server),
                                          ("channel", fakes.channel_server))}
        latencies, missing, timeline = [], 0, []
        newest: dict[str, int] = defaultdict(int)
        for sku_id, total, _ in sent:
            newest[sku_id] = max(newest[sku_id], total)
        for sku_id, total, at in sent:
            arrived = [t for (sid, qty), t in pushes.seen.items()
                       if sid == sku_id and qty >= total and t >= at]
            if arrived:
                latencies.append(min(arrived) - at)
                timeline.append(f"{at - started:.3f} {latencies[-1] * 1000:.0f}")
            else:
                missing += 1
                timeline.append(f"{at - started:.3f} lost")
        if args.timeline:
            with open(args.timeline, "w", encoding="utf-8") as handle:
                handle.write("\n".join(timeline) + "\n")
        _report(args, count, elapsed, latencies, missing)
        _report_calls(count, calls)
    finally:
        if workers is not None:
            os.killpg(workers.pid, signal.SIGTERM)
            try:
                workers.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(workers.pid, signal.SIGKILL)
                workers.wait(timeout=5)
        get_engine_dispose()
        _drop(db_name)


def _warm_up(store_url: str, pushes: PushLog, skus: list[str], live: dict[str, str]) -> None:
    """Wait until the workers are up and warm: a few changes at 10/s, each seen on TikTok.

    The figure is the latency of running workers (a deployment's are always running), not of
    worker processes still importing, opening their first database connections and reading
    each shop's warehouses once: a fixed `sleep` before the run let those first seconds
    into the tail on a busy machine. Changes of the run itself start once every warm-up
    change arrived (at most 60 s).
    """
    waiting: list[tuple[str, int]] = []
    with httpx.Client(base_url=store_url, timeout=10) as client:
        for sku in skus[:30]:
            answer = client.post("/_fake/stock", json={"sku": sku, "delta": 1}).json()
            total = sum(lv["available"] for lv in answer["levels"] if lv["location_active"])
            waiting.append((live[sku], max(0, total)))
            time.sleep(0.1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with pushes.lock:
            seen = set(pushes.seen)
        if all(any(sid == sku_id and qty >= total for sid, qty in seen)
               for sku_id, total in waiting):
            return
        time.sleep(0.2)
    raise SystemExit("bench: the workers did not sync the warm-up changes within 60 s")


def get_engine_dispose() -> None:
    from shelfsync.core.db import get_engine

    get_engine().dispose()


def _defaults() -> str:
    from shelfsync.core.budget import DEFAULT_CALLS_PER_SECOND

    return ", ".join(f"{n}/s per {k}" for k, n in DEFAULT_CALLS_PER_SECOND.items())


def _report(args: argparse.Namespace, count: int, elapsed: float, latencies: list[float],
            missing: int) -> None:
    budget = f"{args.budget}/s per connection" if args.budget else f"default {_defaults()}"
    print(f"stock changes: {count} in {elapsed:.1f} s ({count / elapsed:.1f}/s), "
          f"{args.processes} worker processes × {args.threads} threads, Redis broker, "
          f"PostgreSQL, API budget {budget}")
    if not latencies:
        print("no push arrived")
        return
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    print(f"webhook → TikTok latency (ms): p50 {pct(50):.0f}  p90 {pct(90):.0f}  "
          f"p99 {pct(99):.0f}  max {ordered[-1] * 1000:.0f}  mean "
          f"{statistics.mean(ordered) * 1000:.0f}")
    print(f"arrived {len(latencies)}, never arrived {missing}; goal p99 < 1000 ms: "
          f"{'met' if pct(99) < 1000 and not missing else 'NOT met'}")


def _report_calls(count: int, calls: dict[str, Any]) -> None:
    """API calls the fakes answered during the run, per stock change."""
    channel = calls["channel"]["by_path"]
    updates = sum(n for path, n in channel.items() if path.endswith("/inventory/update"))
    warehouses = sum(n for path, n in channel.items() if "warehouses" in path)
    store = calls["store"]["count"]
    print(f"API calls per change: Shopify queries {store / count:.2f} ({store}), TikTok "
          f"inventory updates {updates / count:.2f} ({updates}, 2 shops), warehouse reads "
          f"{warehouses}, all TikTok calls {calls['channel']['count']}")


if __name__ == "__main__":
    main()
