"""Benchmark: read stock for 10,000 variants × 3 locations from the Shopify fake.

The fake meters GraphQL cost like Shopify, with the Standard plan's restore rate (100 points
per second), so the run is bound by the budget, not by the machine. What matters is how close
the client gets to the fastest pace the budget allows, and that no throttled request ever
surfaces as an error:

    minimum seconds = max(0, (points spent − initial bucket) / restore rate)

The bucket starts full, so its first `initial bucket` points are free; every point beyond that
has to be restored first, at `restore rate` points per second. A client that paces itself
perfectly finishes in that time; the ratio printed is wall-clock seconds over that minimum.

Run: `.venv/bin/python bench/shopify_fetch.py [--products 2500 --variants 4] [--bulk]`.

With `--bulk` the read is one bulk query operation: its minimum is the fake's processing time
(start-up + objects / the bulk rate, see plugins/shopify/fake_bulk.py), not the cost budget.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.testing.kit_runner import start_fake
from shelfsync.plugins.shopify.client import ShopifyClient
from shelfsync.plugins.shopify.reads import read_locations, read_stock_levels

RESTORE_RATE = 100.0  # Shopify Standard plan, points per second


def main() -> int:
    """Run the benchmark once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2500)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--locations", type=int, default=3)
    parser.add_argument("--bulk", action="store_true",
                        help="one bulk query operation instead of paged reads")
    args = parser.parse_args()
    os.environ.setdefault(ALLOW_PRIVATE_ENV, "1")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise

    pm = get_plugin_manager()
    options = {"products": args.products, "variants": args.variants,
               "locations": args.locations, "restore_rate": RESTORE_RATE}
    with start_fake(pm, "shopify", timeout=30.0, settings={"retry_backoff": 0.5},
                    **options) as running:
        running.reset_requests()
        if args.bulk:
            return _bulk(running, args)
        with ShopifyClient(running.connection) as client:
            started = time.monotonic()
            levels = read_stock_levels(client, None)
            seconds = time.monotonic() - started
            stats, budget = client.stats, client.budget
        requests = running.request_count()

    initial = budget.maximum or 0.0
    minimum = max(0.0, (stats.points - initial) / RESTORE_RATE)
    variants = args.products * args.variants
    print(f"variants × locations     {variants} × {args.locations}")
    print(f"stock levels read        {len(levels)}")
    print(f"pages (all queries)      {stats.pages} (1 of locations, the rest of variants)")
    print(f"HTTP requests            {requests} (THROTTLED answers: {stats.throttled})")
    print(f"cost points spent        {stats.points:.0f} (actualQueryCost summed)")
    print(f"bucket / restore rate    {initial:.0f} points / {RESTORE_RATE:.0f} points/s")
    print(f"seconds                  {seconds:.1f} (of which paced sleeping {stats.waited:.1f})")
    print(f"minimum seconds          {minimum:.1f} = max(0, ({stats.points:.0f} − {initial:.0f}) "
          f"/ {RESTORE_RATE:.0f}): the points beyond the initial full bucket, restored at "
          "the plan's rate")
    ratio = seconds / minimum if minimum else float("nan")
    print(f"ratio seconds / minimum  {ratio:.3f} (goal ≤ 1.1)")
    return 0 if stats.throttled == 0 else 1


def _bulk(running: Any, args: argparse.Namespace) -> int:
    """The same read as one bulk operation (the fake processes it at its documented rate)."""
    from shelfsync.plugins.shopify import bulk, mapping

    with ShopifyClient(running.connection) as client:
        started = time.monotonic()
        read = bulk.BulkRead(client, running.connection, bulk.STOCK)
        op = read.finished()
        processed = time.monotonic() - started
        spool = bulk.download(running.connection, op)
        active = {loc.id for loc in read_locations(client) if loc.active}
        count = 0
        with spool:
            for page in bulk.pages_of(spool, lambda p, c: mapping.to_variant_stock(
                    bulk.with_levels(p, c))):
                count += sum(len(mapping.stock_levels(v, active)) for v in page)
        seconds = time.monotonic() - started
        stats = client.stats
    fake = running.fake
    rate = fake.bulk.rate
    minimum = fake.bulk.startup + op.object_count / rate
    print(f"variants × locations     {args.products * args.variants} × {args.locations}")
    print(f"stock levels read        {count}")
    print(f"bulk objects             {op.object_count} (variants + inventory levels), file "
          f"{op.file_size} bytes")
    print(f"HTTP requests            {running.request_count()} ({read.polls} status polls, "
          f"1 download; THROTTLED answers: {stats.throttled})")
    print(f"cost points spent        {stats.points:.0f} (actualQueryCost summed)")
    print(f"processing (fake)        {minimum:.1f} s = {fake.bulk.startup:g} s start-up + "
          f"{op.object_count} objects / {rate:g} objects/s")
    print(f"seconds to completion    {processed:.1f} (polling overshoot "
          f"{processed - minimum:.1f})")
    print(f"seconds in all           {seconds:.1f} (download, check and parse included)")
    print(f"ratio seconds / minimum  {seconds / minimum:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
