"""Benchmark: read stock for 10,000 variants × 3 locations from the Shopify fake.

The fake meters GraphQL cost like Shopify, with the Standard plan's restore rate (100 points
per second), so the run is bound by the budget, not by the machine. What matters is how close
the client gets to the fastest pace the budget allows, and that no throttled request ever
surfaces as an error:

    minimum seconds = max(0, (points spent − initial bucket) / restore rate)

The bucket starts full, so its first `initial bucket` points are free; every point beyond that
has to be restored first, at `restore rate` points per second. A client that paces itself
perfectly finishes in that time; the ratio printed is wall-clock seconds over that minimum.

Run: `.venv/bin/python bench/shopify_fetch.py [--products 2500 --variants 4]`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from shelfsync.core.http import ALLOW_PRIVATE_ENV
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.testing.kit_runner import start_fake
from shelfsync.plugins.shopify.client import ShopifyClient
from shelfsync.plugins.shopify.reads import read_stock_levels

RESTORE_RATE = 100.0  # Shopify Standard plan, points per second


def main() -> int:
    """Run the benchmark once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2500)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--locations", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault(ALLOW_PRIVATE_ENV, "1")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise

    pm = get_plugin_manager()
    options = {"products": args.products, "variants": args.variants,
               "locations": args.locations, "restore_rate": RESTORE_RATE}
    with start_fake(pm, "shopify", timeout=30.0, settings={"retry_backoff": 0.5},
                    **options) as running:
        running.reset_requests()
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


if __name__ == "__main__":
    sys.exit(main())
