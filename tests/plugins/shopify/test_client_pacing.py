"""Cost pacing: the client waits for the bucket instead of being throttled."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from shelfsync.core.testing.kit import RunningFake
from shelfsync.plugins.shopify.client import CostBudget, ShopifyClient, budget_for
from shelfsync.plugins.shopify.queries import CATALOG, SHOP
from shelfsync.plugins.shopify.reads import read_stock_levels


class PacedTime:
    """The client's clock and sleep: time moves for the client only when it sleeps, so the
    waits it computes depend on what the server reported, never on how fast this machine is.
    Each sleep also happens for real, since the fake's bucket refills in real time. Every
    wait is recorded beside the availability the client believed in when it chose to wait.
    """

    def __init__(self, budget: CostBudget) -> None:
        self.budget = budget
        self.now = 1000.0
        self.waits: list[float] = []
        self.believed_available: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.believed_available.append(self.budget.available)
        self.now += seconds
        time.sleep(seconds)


def test_waits_exactly_the_deficit_over_the_restore_rate(
    run_fake: Callable[..., RunningFake]
) -> None:
    shop = run_fake("shopify", products=20, variants=2, bucket_size=100, restore_rate=100.0)
    paced = PacedTime(budget_for(shop.connection.base_url))
    with ShopifyClient(shop.connection, sleep=paced.sleep, clock=paced.clock) as client:
        client.query(SHOP)  # 1 point: learns the bucket
        variables = {"first": 30, "after": None, "query": None}  # 2 + 30 × 3 = 92 points
        client.query(CATALOG, variables)
        assert paced.waits == []  # 99 points were there
        # The server now reports 7 points, plus what refilled at 100/s while the two requests
        # ran: still short of 92 unless they took 0.85 s.
        reported = client.budget.available
        assert reported < 92
        client.query(CATALOG, variables)
        assert paced.waits == [pytest.approx((92 - reported) / 100.0, abs=1e-9)]
        assert client.stats.throttled == 0  # the real wait was long enough for the real bucket


def test_long_read_on_a_small_bucket_is_never_throttled(
    run_fake: Callable[..., RunningFake]
) -> None:
    shop = run_fake("shopify", products=60, variants=3, locations=3, bucket_size=400,
                    restore_rate=2000.0)
    shop.reset_requests()
    with ShopifyClient(shop.connection) as client:
        levels = read_stock_levels(client, None)
        stats = client.stats
    assert stats.throttled == 0 and stats.waited > 0
    assert shop.request_count() == stats.requests == stats.pages  # no request was repeated
    tracked = [v for v in shop.fake.store.variants if v.item.tracked]
    assert len(levels) == 2 * len(tracked)  # two active locations each
    # Pages were sized to fit the 400-point bucket: 2 + first × 13 ≤ 400.
    assert stats.pages >= 1 + 180 // 30


def test_a_throttled_answer_is_retried_after_the_bucket_refills(
    run_fake: Callable[..., RunningFake]
) -> None:
    shop = run_fake("shopify", products=10, variants=2, bucket_size=1000, restore_rate=500.0)
    paced = PacedTime(budget_for(shop.connection.base_url))
    with ShopifyClient(shop.connection, sleep=paced.sleep, clock=paced.clock) as client:
        client.query(SHOP)
        # Someone else (another worker of the fleet) drains the shop's bucket.
        shop.control("POST", "budget", {"available": 0})
        data = client.query(CATALOG, {"first": 20, "after": None, "query": None})
        assert len(data["productVariants"]["nodes"]) == 20
        assert client.stats.throttled == 1
    # The retry waited for the 62 points to come back at 500 points/s, counted from what the
    # THROTTLED answer reported (a few points may have refilled already), not a blind backoff.
    assert len(paced.waits) == 1
    reported = paced.believed_available[0]
    assert 0 <= reported < 62
    assert paced.waits[0] == pytest.approx(max(0.05, (62 - reported) / 500.0), abs=1e-9)


def test_pages_are_sized_to_the_single_query_limit(run_fake: Callable[..., RunningFake]
                                                   ) -> None:
    shop = run_fake("shopify", products=100, variants=3, restore_rate=20000.0)
    with ShopifyClient(shop.connection) as client:
        # 250 variants × 13 points would be refused (above 1000): the client asks for 76.
        levels = read_stock_levels(client, None, page_size=250)
        assert client.stats.pages >= 1 + 300 // 76
    assert {level.sku for level in levels} <= {v.sku for v in shop.fake.store.variants}
