"""Whole-store reads through bulk operations: the same answers as paged reads, and every
failure mode falling back to paged reads with a logged reason.

The hooks run against the fake over real HTTP. Where the plugin has to wait (another
operation running, ours being processed) the fake and the plugin share an injected clock:
the plugin's sleeps move it. Elsewhere the fake processes instantly, so no outcome depends
on how fast the machine is.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.paging import checked_pages
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import (
    BackorderPolicy,
    CatalogItem,
    Connection,
    PassScope,
    StockLevel,
)
from shelfsync.plugins.shopify import bulk, bulk_reads, mapping
from shelfsync.plugins.shopify.client import ShopifyClient

KINDS = {"shelfsync_fetch_stock_levels": StockLevel,
         "shelfsync_fetch_backorder_policies": BackorderPolicy,
         "shelfsync_fetch_catalog": CatalogItem}
STOCK = "shelfsync_fetch_stock_levels"
FLAGS = "shelfsync_fetch_backorder_policies"
CATALOG = "shelfsync_fetch_catalog"


class Clock:
    """A clock tests move by hand (the fake reads it; the plugin's sleeps advance it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def whole(pm: ShelfsyncPluginManager, connection: Connection, hook: str,
          **kwargs: Any) -> list[Any]:
    """A whole-store read's pages, each checked as core checks it, joined."""
    pages = checked_pages(pm.call(connection, hook, **kwargs), KINDS[hook],
                          platform="shopify", hook=hook)
    return [item for page in pages for item in page]


def gid(kind: str, num: int) -> str:
    return f"gid://shopify/{kind}/{num}"


def truth_levels(fake: Any) -> set[StockLevel]:
    return {StockLevel(sku=v.sku, location_id=gid("Location", level.location.num),
                       available=level.quantities["available"])
            for v in fake.store.variants if v.item.tracked
            for level in v.item.levels.values() if level.location.active}


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake]) -> RunningFake:
    """600 variants: more than the two pages a shop may have and still be read paged."""
    return run_fake("shopify", products=200, variants=3, locations=3, seed=11,
                    restore_rate=50000.0, bulk_rate=1e9, bulk_startup=0.0)


def bulk_ops(shop: RunningFake) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = shop.control("GET", "bulk")["operations"]
    return operations


def test_whole_reads_from_one_bulk_file_equal_the_truth(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    scope = PassScope()
    levels = whole(plugin_manager, shop.connection, STOCK, skus=None, scope=scope)
    policies = whole(plugin_manager, shop.connection, FLAGS, skus=None, scope=scope)
    assert set(levels) == truth_levels(shop.fake) and len(levels) == len(set(levels))
    truth = shop.fake.truth()
    assert {p.sku: (p.continue_selling, p.tracked) for p in policies} == truth.backorder
    # The flags read took the stock read's file: one operation for both.
    assert [op["status"] for op in bulk_ops(shop)] == ["COMPLETED"]
    refresh = PassScope()
    catalog = whole(plugin_manager, shop.connection, CATALOG, scope=refresh)
    assert {item.sku: item.variant_id for item in catalog} == truth.catalog
    assert all(isinstance(item, CatalogItem) for item in catalog)
    # A catalog refresh's flags read takes the catalog's file.
    policies = whole(plugin_manager, shop.connection, FLAGS, skus=None, scope=refresh)
    assert {p.sku: (p.continue_selling, p.tracked) for p in policies} == truth.backorder
    assert len(bulk_ops(shop)) == 2


def test_flags_without_a_lent_file_run_their_own_query(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    policies = whole(plugin_manager, shop.connection, FLAGS, skus=None, scope=None)
    assert all(isinstance(p, BackorderPolicy) for p in policies)
    assert len(policies) == len(shop.fake.truth().backorder)
    [op] = bulk_ops(shop)
    assert bulk.same_query(op["query"], bulk.FLAGS)


def test_setting_off_and_tuned_pages_keep_paged_reads(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    for settings in ({"bulk_reads": False}, {"bulk_reads": "false"}, {"page_size": 50}):
        levels = whole(plugin_manager, shop.with_settings(**settings), STOCK, skus=None,
                       scope=None)
        assert set(levels) == truth_levels(shop.fake)
    assert bulk_ops(shop) == []


def test_sku_scoped_reads_stay_paged(shop: RunningFake,
                                     plugin_manager: ShelfsyncPluginManager) -> None:
    sku = shop.fake.store.variants[0].sku
    plugin_manager.call(shop.connection, STOCK, skus=[sku], scope=None)
    plugin_manager.call(shop.connection, FLAGS, skus=[sku], scope=None)
    assert bulk_ops(shop) == []


def test_a_small_shop_is_read_page_by_page(run_fake: Callable[..., RunningFake],
                                           plugin_manager: ShelfsyncPluginManager) -> None:
    small = run_fake("shopify", products=20, variants=3, seed=1, restore_rate=50000.0)
    levels = whole(plugin_manager, small.connection, STOCK, skus=None, scope=None)
    assert set(levels) == truth_levels(small.fake)
    assert bulk_ops(small) == []


@pytest.mark.parametrize(("fault", "reason"), [
    ({"fault": "fail", "error_code": "ACCESS_DENIED"}, "FAILED with ACCESS_DENIED"),
    ({"fault": "fail", "error_code": "INTERNAL_SERVER_ERROR", "partial": True},
     "only a partial file"),
    ({"fault": "fail", "error_code": "TIMEOUT"}, "FAILED with TIMEOUT"),
    ({"fault": "expire"}, "is EXPIRED"),
    ({"fault": "expire_url"}, "HTTP 400"),
    ({"fault": "lose_file"}, "HTTP 404"),
    ({"fault": "truncate"}, "partial file"),
])
def test_every_failure_falls_back_to_paged_reads_with_a_reason(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager,
        caplog: pytest.LogCaptureFixture, fault: dict[str, Any], reason: str) -> None:
    shop.control("POST", "bulk", fault)
    with caplog.at_level(logging.WARNING, logger="shelfsync.plugins.shopify"):
        levels = whole(plugin_manager, shop.connection, STOCK, skus=None, scope=None)
    assert set(levels) == truth_levels(shop.fake)
    assert len(levels) == len(set(levels)), "the probe pages were handed on once"
    lines = [r.getMessage() for r in caplog.records if "page by page" in r.getMessage()]
    assert len(lines) == 1 and reason in lines[0], lines


def test_a_lent_file_that_expired_is_read_again(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    scope = PassScope()
    whole(plugin_manager, shop.connection, STOCK, skus=None, scope=scope)
    shop.control("POST", "bulk", {"fault": "lose_file"})
    shop.fake.bulk.operations[0].lost = True  # the stock read's file is gone from storage
    policies = whole(plugin_manager, shop.connection, FLAGS, skus=None, scope=scope)
    assert len(policies) == len(shop.fake.truth().backorder)


def test_top_level_access_denied_on_the_mutation_falls_back(
        shop: RunningFake, plugin_manager: ShelfsyncPluginManager,
        caplog: pytest.LogCaptureFixture) -> None:
    original = shop.fake.graphql

    def denied(query: str, variables: dict[str, Any], name: str | None = None) -> Any:
        if "bulkOperationRunQuery" in query:
            return {"errors": [{"message": "Access denied for bulkOperationRunQuery field.",
                                "extensions": {"code": "ACCESS_DENIED"}}], "data": None}
        return original(query, variables, name)

    shop.fake.graphql = denied
    with caplog.at_level(logging.WARNING, logger="shelfsync.plugins.shopify"):
        levels = whole(plugin_manager, shop.connection, STOCK, skus=None, scope=None)
    assert set(levels) == truth_levels(shop.fake)
    assert any("ACCESS_DENIED" in r.getMessage() for r in caplog.records)


# --- waiting on the shop's one bulk query, on an injected clock ---------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slow(run_fake: Callable[..., RunningFake], clock: Clock) -> RunningFake:
    return run_fake("shopify", products=40, variants=3, locations=3, seed=4,
                    restore_rate=50000.0, clock=clock, bulk_rate=20.0, bulk_startup=1.0)


def _read(slow: RunningFake, clock: Clock, now: datetime | None = None
          ) -> tuple[bulk.BulkRead, list[mapping.VariantStock]]:
    with ShopifyClient(slow.connection, sleep=clock.advance) as client:
        read = bulk.BulkRead(client, slow.connection, bulk.STOCK,
                             (lambda: now) if now else None)
        op = read.finished()
        with bulk.download(slow.connection, op) as spool:
            variants = [v for page in bulk.pages_of(spool, bulk_reads._variant) for v in page]
    return read, variants


def test_polls_until_done_at_the_processing_rate(slow: RunningFake, clock: Clock) -> None:
    started = clock.now
    read, variants = _read(slow, clock)
    assert len(variants) == 120 and all(len(v.levels) == 3 for v in variants)
    processing = 1.0 + 480 / 20.0  # start-up + (120 variants + 360 levels) / rate
    waited = clock.now - started
    assert processing <= waited <= processing * (1 + bulk.POLL_SHARE) + bulk.POLL_MIN
    assert read.polls <= 40  # every 0.5 s at first, then a twentieth of the time waited


def test_another_apps_running_query_is_waited_for(slow: RunningFake, clock: Clock) -> None:
    slow.control("POST", "bulk", {"action": "start"})  # products, not our query
    _, variants = _read(slow, clock)
    ops = bulk_ops(slow)
    assert [op["status"] for op in ops] == ["COMPLETED", "COMPLETED"]
    assert "products" in ops[0]["query"] and len(variants) == 120


def test_our_own_recent_query_is_adopted(slow: RunningFake, clock: Clock) -> None:
    slow.control("POST", "bulk", {"action": "start", "query": bulk.STOCK})
    _read(slow, clock)
    assert len(bulk_ops(slow)) == 1


def test_our_own_stale_query_is_cancelled_and_run_afresh(slow: RunningFake,
                                                         clock: Clock) -> None:
    slow.control("POST", "bulk", {"action": "start", "query": bulk.STOCK})
    later = datetime.now(UTC) + timedelta(seconds=bulk.ADOPT_SECONDS + 60)
    _read(slow, clock, now=later)
    assert [op["status"] for op in bulk_ops(slow)] == ["CANCELED", "COMPLETED"]


def test_a_wait_past_the_limit_gives_up(slow: RunningFake, clock: Clock,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "MAX_WAIT", 5.0)
    with ShopifyClient(slow.connection, sleep=clock.advance) as client, \
            pytest.raises(bulk.BulkUnavailable, match="limit"):
        bulk.BulkRead(client, slow.connection, bulk.STOCK).finished()
    clock.advance(5.0)
    # Ours was cancelled: it does not hold the shop's one bulk query slot.
    assert [op["status"] for op in bulk_ops(slow)] == ["CANCELED"]


# --- the file: checked, then joined line by line ------------------------------------------


def _file(*lines: bytes) -> io.BytesIO:
    spool = io.BytesIO(b"".join(lines))
    spool.seek(0, io.SEEK_END)
    return spool


def test_children_are_joined_to_their_parents() -> None:
    spool = _file(b'{"id":"v1"}\n', b'{"q":1,"__parentId":"v1"}\n',
                  b'{"q":2,"__parentId":"v1"}\n', b'{"id":"v2"}\n',
                  b'{"id":"v3"}\n', b'{"q":3,"__parentId":"v3"}\n')
    bulk.check_file(spool, None)
    spool.seek(0)
    joined = [(parent["id"], [c["q"] for c in children])
              for parent, children in bulk.joined(spool)]
    assert joined == [("v1", [1, 2]), ("v2", []), ("v3", [3])]


@pytest.mark.parametrize(("lines", "size", "words"), [
    ((b'{"id":"v1"}\n', b'{"q":1,"__parentId":"v2"}\n'), None, "not after its parent"),
    ((b'{"id":"v1"}\n', b'{"q":1,"__parentId":"v1"}'), None, "mid-line"),
    ((b'{"id":"v1"}\n', b'{"q":1,"__pare\n'), None, "not JSON"),
    ((b'[1]\n',), None, "not an object"),
    ((b'{"q":1}\n',), None, "neither id nor parent"),
    ((b'{"id":"v1"}\n',), 400, "partial file"),
])
def test_a_file_that_cannot_be_trusted_is_refused(lines: tuple[bytes, ...], size: int | None,
                                                  words: str) -> None:
    with pytest.raises(bulk.BulkUnavailable, match=words):
        bulk.check_file(_file(*lines), size)
