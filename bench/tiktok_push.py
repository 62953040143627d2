"""Benchmark: push new quantities for every SKU of one TikTok shop under a QPS limit.

Starts the TikTok fake in-process (2,000 products × 5 SKUs by default) with its QPS limit on,
reads the shop's listings, then pushes a new quantity for every SKU through the plugin hook
and prints: the API calls the push made (read from the fake's /_fake/requests; the goal is
exactly one per product, none throttled), the seconds it took, and the ratio of those seconds
to the minimum the QPS limit allows (calls / qps; the goal is ≤ 1.1).

    .venv/bin/python bench/tiktok_push.py --products 2000 --variants 5 --qps 50
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import httpx

from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.testing.server import serving
from shelfsync.core.types import Connection, InventoryUpdate, Listing


def build_updates(listings: list[Listing]) -> list[InventoryUpdate]:
    """A changed quantity for every SKU at every warehouse it is stocked in."""
    updates = []
    for listing in listings:
        warehouses = list(listing.quantities) or [None]
        for warehouse_id in warehouses:
            old = listing.quantities.get(warehouse_id, 0) if warehouse_id else 0
            updates.append(
                InventoryUpdate(
                    product_id=listing.product_id,
                    sku_id=listing.sku_id,
                    quantity=(old + 7) % 1_000,
                    warehouse_id=warehouse_id if len(warehouses) > 1 else None,
                    seller_sku=listing.seller_sku,
                )
            )
    return updates


def main() -> None:
    """Run the benchmark once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--variants", type=int, default=5)
    parser.add_argument("--qps", type=float, default=50.0, help="the fake's (and our) QPS limit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    os.environ.setdefault("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    os.environ.setdefault("SHELFSYNC_PLUGINS", "tiktok")  # only this plugin's fake is needed
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access line per call
    pm = get_plugin_manager()
    factory = dict(pm.hook.shelfsync_fake_factory())["tiktok"]
    fake = factory(shops=2, products=args.products, variants=args.variants, seed=args.seed,
                   qps=args.qps)
    with serving(fake) as server, httpx.Client(base_url=server.base_url) as control:
        shop = fake.connections()[0]
        connection = Connection(
            platform="tiktok",
            base_url=server.base_url,
            credentials=shop["credentials"],
            settings={"qps": args.qps, "auth_base_url": server.base_url},
            platform_id=str(shop["id"]),
            timeout=10.0,
        )
        listings = [item for page in pm.call(connection, "shelfsync_fetch_listings")
                    for item in page]
        updates = build_updates(listings)
        products = len({u.product_id for u in updates})
        control.delete("/_fake/requests")
        started = time.perf_counter()
        results = pm.call(connection, "shelfsync_push_inventory", updates=updates)
        seconds = time.perf_counter() - started
        counts = control.get("/_fake/requests").json()

    calls = counts["count"]
    minimum = calls / args.qps
    failed = [r for r in results if not r.ok]
    print(f"SKUs listed:         {len(listings)}")
    print(f"updates pushed:      {len(updates)} over {products} products")
    print(f"API calls:           {calls} ({calls / max(products, 1):.3f} per product)")
    print(f"seconds:             {seconds:.2f}")
    print(f"minimum at {args.qps:g} QPS: {minimum:.2f} s")
    print(f"ratio to minimum:    {seconds / minimum if minimum else float('nan'):.3f}")
    print(f"results:             {len(results) - len(failed)} ok, {len(failed)} failed")
    for code in sorted({r.error_code or "" for r in failed}):
        print(f"  failed with {code}: {sum(1 for r in failed if r.error_code == code)}")


if __name__ == "__main__":
    main()
