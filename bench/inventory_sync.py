"""Benchmark: full inventory reconciliation of N SKUs × 3 TikTok shops on the fakes.

One organization: a Shopify store (the fake meters GraphQL cost at the Standard plan's 100
points/s) and three TikTok shops (the fake enforces a per-shop QPS), all over real HTTP, with
the engine on a SQLite file. It runs `reconcile_organization` twice and prints:

- API calls made vs the minimum needed. The minimum is, per shop, the listing pages
  (100 products a page) + 1 warehouse read + one update per product with a changed SKU; for
  the store, the pages the reads need at the page size the plugin chose (the calls the fake
  answered with data, i.e. without THROTTLED answers or retries). Goal: 1.00.
- That the second reconcile (nothing changed) makes zero update calls.
- Wall time vs the bound the fakes' rate limits set for this pass (the store read, then the
  shops side by side): max(0, Shopify points − bucket) / 100 points/s + Σ shop calls /
  (QPS × shops). "Rate used" is that bound over the wall time (goal ≥ 90 %). (Before the
  reconcile pushed its shops side by side, the TikTok term was Σ shop calls / QPS.)
- Peak traced Python memory (tracemalloc) of the first reconcile.
- The process CPU time of each reconcile (on a loaded machine wall time says little about
  our own work), and when each shop's run started and finished (its `SyncRun`), seconds after
  the reconcile started: whether the shops' passes overlapped.

Each fake serves from a process of its own (forked from this one, reporting its meters over a
pipe), as the real platforms are outside Shelfsync's process: the engine's process holds only
the engine, so its CPU time and traced memory are the engine's own. `--fakes-in-process`
serves them from this process as before 2026-12-03 (every figure recorded until then).

    .venv/bin/python bench/inventory_sync.py --skus 10000
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlmodel import Session

RESTORE_RATE = 100.0


class MeteredBucket:
    """Counts the points the Shopify fake's bucket charged and the queries it throttled."""

    def __init__(self, bucket: Any) -> None:
        self.bucket = bucket
        self.points = 0.0
        self.throttled = 0
        self.lock = threading.Lock()
        take, refund = bucket.try_take, bucket.refund

        def try_take(cost: int) -> bool:
            ok = take(cost)
            with self.lock:
                if ok:
                    self.points += cost
                else:
                    self.throttled += 1
            return ok

        def give_back(points: int) -> None:
            refund(points)
            with self.lock:
                self.points -= max(0, points)

        bucket.try_take, bucket.refund = try_take, give_back


def _figures(fake: Any, meter: MeteredBucket | None) -> dict[str, Any]:
    """What only the fake knows: the Shopify bucket's meter and the bulk operations it ran."""
    operations = getattr(getattr(fake, "bulk", None), "operations", [])
    return {"points": meter.points if meter else 0.0,
            "throttled": meter.throttled if meter else 0,
            "bucket": float(fake.bucket.size) if meter else 0.0,
            "operations": [(op.duration, op.objects) for op in operations]}


class ForkedFake:
    """A fake served from a forked process: its address, its connections, and on request the
    figures only it knows (the Shopify bucket's meter, the bulk operations it ran)."""

    def __init__(self, build: Any) -> None:
        context = multiprocessing.get_context("fork")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=self._serve, args=(build, child), daemon=True)
        self._process.start()
        self.base_url, self.entries = self._pipe.recv()

    @staticmethod
    def _serve(build: Any, pipe: Any) -> None:
        from shelfsync.core.testing.server import serving

        fake = build()
        meter = MeteredBucket(fake.bucket) if hasattr(fake, "bucket") else None
        with serving(fake) as server:
            pipe.send((server.base_url, fake.connections()))
            while pipe.recv() == "figures":
                pipe.send(_figures(fake, meter))

    def connections(self) -> list[dict[str, Any]]:
        return self.entries

    def figures(self) -> dict[str, Any]:
        self._pipe.send("figures")
        return self._pipe.recv()

    def stop(self) -> None:
        self._pipe.send("stop")
        self._process.join(timeout=30)


class InProcessFake:
    """The same interface for a fake served from this process (`--fakes-in-process`)."""

    def __init__(self, build: Any) -> None:
        from shelfsync.core.testing.server import start_server

        self.fake = build()
        self.meter = MeteredBucket(self.fake.bucket) if hasattr(self.fake, "bucket") else None
        self.server = start_server(self.fake)
        self.base_url = self.server.base_url

    def connections(self) -> list[dict[str, Any]]:
        return self.fake.connections()

    def figures(self) -> dict[str, Any]:
        return _figures(self.fake, self.meter)

    def stop(self) -> None:
        self.server.stop()


def _requests(base_url: str) -> dict[str, int]:
    return httpx.get(f"{base_url}/_fake/requests", timeout=30).json()["by_path"]


def _reset(*base_urls: str) -> None:
    for url in base_urls:
        httpx.delete(f"{url}/_fake/requests", timeout=30).raise_for_status()


def _setup(session: Session, shopify: Any, tiktok: Any, shopify_url: str, tiktok_url: str,
           qps: float, bulk: bool = True) -> int:
    from shelfsync.core.models import (
        ChannelConnection,
        ChannelSettings,
        Organization,
        add_store_connection,
    )

    org = Organization(name="Bench")
    session.add(org)
    session.flush()
    assert org.id is not None
    entry = shopify.connections()[0]
    add_store_connection(session, organization_id=org.id, platform="shopify",
                         base_url=shopify_url, credentials=entry["credentials"],
                         settings={"retry_backoff": 0.5, "timeout": 60, "bulk_reads": bulk})
    rules = [(100, 0), (50, 3), (90, 5)]
    for index, shop in enumerate(tiktok.connections()):
        channel = ChannelConnection(
            organization_id=org.id, platform="tiktok", base_url=tiktok_url, shop_id=shop["id"],
            shop_name=shop["name"], credentials_token="",
            settings={"auth_base_url": tiktok_url, "qps": qps,
                      "timeout": 60, "retry_backoff": 0.2})
        channel.set_credentials(shop["credentials"])
        session.add(channel)
        session.flush()
        percent, threshold = rules[index % len(rules)]
        session.add(ChannelSettings(channel_id=channel.id, percent=percent, threshold=threshold))
    session.commit()
    return org.id


def _run_spans(session: Session, began: Any) -> str:
    """Each reconcile run of the pass: its channel, and when it started and finished."""
    from sqlmodel import select

    from shelfsync.core.models import SyncRun

    runs = session.exec(select(SyncRun).where(SyncRun.started_at >= began)
                        .order_by(SyncRun.channel_id)).all()
    return "; ".join(
        f"channel {run.channel_id} {(run.started_at - began).total_seconds():.1f}–"
        f"{(run.finished_at - began).total_seconds():.1f}" if run.finished_at else
        f"channel {run.channel_id} unfinished" for run in runs)


def main() -> None:
    """Run the benchmark once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=5)
    parser.add_argument("--shops", type=int, default=3)
    parser.add_argument("--qps", type=float, default=50.0, help="TikTok per-shop QPS limit")
    parser.add_argument("--no-memory", action="store_true", help="skip tracemalloc")
    parser.add_argument("--no-bulk", action="store_true",
                        help="whole-store reads page by page (bulk_reads off)")
    parser.add_argument("--fakes-in-process", action="store_true",
                        help="serve the fakes from this process (the figures before 2026-12-03)")
    args = parser.parse_args()
    os.environ.setdefault("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    os.environ.setdefault("SHELFSYNC_SECRET_KEY", Fernet.generate_key().decode())
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from shelfsync.core.db import make_engine, upgrade
    from shelfsync.core.models import utcnow
    from shelfsync.core.plugins import get_plugin_manager
    from shelfsync.core.sync.inventory import reconcile_organization
    from shelfsync.plugins.shopify.fake import ShopifyFake
    from shelfsync.plugins.tiktok.fake import TikTokFake

    products = math.ceil(args.skus / args.variants)

    def build_shopify() -> ShopifyFake:
        return ShopifyFake(products=products, variants=args.variants, locations=3, seed=0,
                           restore_rate=RESTORE_RATE)

    def build_tiktok() -> TikTokFake:
        return TikTokFake(shops=args.shops, products=products, variants=args.variants, seed=0,
                          qps=args.qps)

    serve = InProcessFake if args.fakes_in_process else ForkedFake
    shopify, tiktok = serve(build_shopify), serve(build_tiktok)
    s_url, t_url = shopify.base_url, tiktok.base_url
    pm = get_plugin_manager()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            engine = make_engine(url)
            with Session(engine, expire_on_commit=False) as session:
                org_id = _setup(session, shopify, tiktok, s_url, t_url, args.qps,
                                not args.no_bulk)
                _reset(s_url, t_url)
                if not args.no_memory:
                    tracemalloc.start()
                started, cpu, began = time.perf_counter(), time.process_time(), utcnow()
                first = reconcile_organization(session, pm, org_id)
                session.commit()
                seconds = time.perf_counter() - started
                first_cpu = time.process_time() - cpu
                spans = _run_spans(session, began)
                peak = tracemalloc.get_traced_memory()[1] if not args.no_memory else 0
                tracemalloc.stop()
                store_calls = sum(_requests(s_url).values())
                shop_paths = _requests(t_url)
                figures = shopify.figures()
                points, throttled = figures["points"], figures["throttled"]
                first_ops = figures["operations"]
                bulk_seconds = sum(duration for duration, _ in first_ops)
                _reset(s_url, t_url)
                again, cpu = time.perf_counter(), time.process_time()
                second = reconcile_organization(session, pm, org_id)
                session.commit()
                second_seconds = time.perf_counter() - again
                second_cpu = time.process_time() - cpu
                second_updates = sum(n for p, n in _requests(t_url).items()
                                     if p.endswith("/inventory/update"))
                second_ops = shopify.figures()["operations"][len(first_ops):]
            engine.dispose()
    finally:
        shopify.stop()
        tiktok.stop()
    bucket = figures["bucket"]

    updates = sum(n for p, n in shop_paths.items() if p.endswith("/inventory/update"))
    shop_calls = sum(shop_paths.values())
    changed_products = len({(i.channel_id, i.product_id) for i in first.items
                            if i.outcome in ("pushed", "failed")})
    listing_pages = args.shops * math.ceil(products / 100)
    tiktok_minimum = listing_pages + args.shops + changed_products
    store_minimum = store_calls - throttled
    made, minimum = store_calls + shop_calls, store_minimum + tiktok_minimum
    shopify_bound = max(0.0, points - bucket) / RESTORE_RATE
    side_by_side = shop_calls / (args.qps * args.shops)
    bound = shopify_bound + side_by_side
    print(f"SKUs × shops               {args.skus} × {args.shops} ({products} products)")
    print(f"first reconcile            {first.counts()}")
    print(f"TikTok calls               {shop_calls} (minimum {tiktok_minimum}: {listing_pages} "
          f"listing pages + {args.shops} warehouse reads + {changed_products} changed products)"
          f"; updates {updates}")
    print(f"Shopify calls              {store_calls} ({throttled} THROTTLED answers)")
    print(f"API calls / minimum        {made} / {minimum} = {made / minimum:.3f} (goal 1.00)")
    print(f"second reconcile           {second.counts()}; update calls {second_updates} "
          f"(goal 0); {second_seconds:.1f} s")
    print(f"Shopify points spent       {points:.0f} (bucket {bucket:.0f}, {RESTORE_RATE:.0f}/s)")
    print(f"wall time                  {seconds:.1f} s (process CPU {first_cpu:.1f} s; second "
          f"reconcile CPU {second_cpu:.1f} s)")
    print(f"shop runs (s after start)  {spans}")
    print(f"rate-limit bound           {bound:.1f} s = Shopify {shopify_bound:.1f} s + TikTok "
          f"{shop_calls} calls / ({args.qps:g} QPS × {args.shops} shops) {side_by_side:.1f} s")
    print(f"rate used                  {100 * bound / seconds:.1f} % (goal ≥ 90 %)")
    print(f"fakes                      "
          f"{'in this process' if args.fakes_in_process else 'a process each'}")
    print(f"bulk operations            first pass {len(first_ops)} "
          f"({bulk_seconds:.1f} s of processing on the fake's clock: "
          f"{', '.join(str(objects) for _, objects in first_ops)} "
          f"objects); second pass {len(second_ops)} "
          f"({sum(duration for duration, _ in second_ops):.1f} s)")
    goal = bulk_seconds + side_by_side
    print(f"issue-17 goal bound        {goal:.1f} s = bulk processing {bulk_seconds:.1f} s + "
          f"{shop_calls} calls / ({args.qps:g} QPS × {args.shops} shops) {side_by_side:.1f} s;"
          f" wall / bound {seconds / goal:.2f} (goal ≤ 1.2)")
    if peak:
        print(f"peak traced memory         {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
