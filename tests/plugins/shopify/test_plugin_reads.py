"""Locations, stock, backorder flags and catalog read from the Shopify fake over real HTTP.

The fake's seeded store is the ground truth: its last location is inactive, about 10 % of
variants sell on (CONTINUE), about 5 % are not tracked, and a few locations are oversold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.paging import checked_pages
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import BackorderPolicy, CatalogItem, Connection, Location, StockLevel

KINDS = {"shelfsync_fetch_stock_levels": StockLevel,
         "shelfsync_fetch_backorder_policies": BackorderPolicy,
         "shelfsync_fetch_catalog": CatalogItem}


def whole(pm: ShelfsyncPluginManager, connection: Connection, hook: str,
          **kwargs: Any) -> list[Any]:
    """A whole-store read's pages, each checked as core checks it, joined."""
    pages = checked_pages(pm.call(connection, hook, **kwargs), KINDS[hook],
                          platform="shopify", hook=hook)
    return [item for page in pages for item in page]


def gid(kind: str, num: int) -> str:
    return f"gid://shopify/{kind}/{num}"


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake]) -> RunningFake:
    return run_fake("shopify", products=40, variants=3, locations=3, seed=7,
                    restore_rate=20000.0)


def _truth_levels(fake: Any) -> set[StockLevel]:
    return {
        StockLevel(sku=v.sku, location_id=gid("Location", level.location.num),
                   available=level.quantities["available"])
        for v in fake.store.variants if v.item.tracked
        for level in v.item.levels.values() if level.location.active
    }


def test_locations_include_the_inactive_one_marked(shop: RunningFake,
                                                   plugin_manager: ShelfsyncPluginManager
                                                   ) -> None:
    locations = plugin_manager.call(shop.connection, "shelfsync_fetch_locations")
    truth = {Location(id=gid("Location", loc.num), name=loc.name, active=loc.active)
             for loc in shop.fake.store.locations}
    assert set(locations) == truth
    assert [loc.active for loc in locations] == [True, True, False]  # active ones first


def test_stock_levels_match_the_store_and_skip_the_inactive_location(
    shop: RunningFake, plugin_manager: ShelfsyncPluginManager
) -> None:
    levels = whole(plugin_manager, shop.connection, "shelfsync_fetch_stock_levels", skus=None)
    assert len(levels) == len(set(levels))
    assert set(levels) == _truth_levels(shop.fake)
    inactive = {gid("Location", loc.num) for loc in shop.fake.store.locations if not loc.active}
    assert inactive and not {level.location_id for level in levels} & inactive
    assert any(level.available < 0 for level in levels), "oversold levels pass through"


def test_untracked_variants_have_no_stock_levels(shop: RunningFake,
                                                plugin_manager: ShelfsyncPluginManager) -> None:
    untracked = {v.sku for v in shop.fake.store.variants if not v.item.tracked}
    levels = whole(plugin_manager, shop.connection, "shelfsync_fetch_stock_levels", skus=None)
    assert untracked and not untracked & {level.sku for level in levels}


def test_stock_for_given_skus_is_exact_and_chunked(shop: RunningFake,
                                                   plugin_manager: ShelfsyncPluginManager
                                                   ) -> None:
    tracked = [v.sku for v in shop.fake.store.variants if v.item.tracked]
    wanted = tracked[:60]  # more than one search chunk of 50
    asked = [*wanted, wanted[0].lower(), "NO-SUCH-SKU", wanted[1]]
    levels = plugin_manager.call(shop.connection, "shelfsync_fetch_stock_levels", skus=asked)
    # The fake searches case-insensitively, as Shopify does; only exact SKUs come back.
    assert set(levels) == {lv for lv in _truth_levels(shop.fake) if lv.sku in set(wanted)}
    assert len(levels) == len(set(levels))


def test_items_with_more_locations_than_a_page_are_completed(
    shop: RunningFake, plugin_manager: ShelfsyncPluginManager
) -> None:
    capped = shop.with_settings(levels_per_item=1)
    shop.reset_requests()
    levels = whole(plugin_manager, capped, "shelfsync_fetch_stock_levels", skus=None)
    assert set(levels) == _truth_levels(shop.fake)
    assert shop.request_count() > 100, "each item's further levels needed follow-up queries"


def test_continue_and_untracked_variants_keep_selling(shop: RunningFake,
                                                     plugin_manager: ShelfsyncPluginManager
                                                     ) -> None:
    policies = whole(plugin_manager, shop.connection, "shelfsync_fetch_backorder_policies",
                     skus=None)
    by_sku = {policy.sku: policy for policy in policies}
    variants = shop.fake.store.variants
    assert len(by_sku) == len(policies) == len(variants)
    for v in variants:
        expected = BackorderPolicy(sku=v.sku,
                                   continue_selling=v.policy == "CONTINUE" or not v.item.tracked,
                                   tracked=v.item.tracked)
        assert by_sku[v.sku] == expected
    assert any(v.policy == "CONTINUE" and v.item.tracked for v in variants)
    assert by_sku[next(v.sku for v in variants if not v.item.tracked)].continue_selling


def test_backorder_policy_follows_a_product_edit(shop: RunningFake,
                                                 plugin_manager: ShelfsyncPluginManager) -> None:
    sku = next(v.sku for v in shop.fake.store.variants
               if v.policy == "DENY" and v.item.tracked)
    shop.control("POST", "variant", {"sku": sku, "inventory_policy": "CONTINUE"})
    [policy] = plugin_manager.call(shop.connection, "shelfsync_fetch_backorder_policies",
                                   skus=[sku])
    assert policy == BackorderPolicy(sku=sku, continue_selling=True, tracked=True)
    shop.control("POST", "variant", {"sku": sku, "inventory_policy": "DENY", "tracked": False})
    [policy] = plugin_manager.call(shop.connection, "shelfsync_fetch_backorder_policies",
                                   skus=[sku])
    assert policy == BackorderPolicy(sku=sku, continue_selling=True, tracked=False)


def test_catalog_matches_the_store(shop: RunningFake,
                                   plugin_manager: ShelfsyncPluginManager) -> None:
    catalog = whole(plugin_manager, shop.connection, "shelfsync_fetch_catalog")
    truth = {
        CatalogItem(product_id=gid("Product", v.product.num),
                    variant_id=gid("ProductVariant", v.num), sku=v.sku,
                    title=f"{v.product.title} - {v.title}", price=v.price, currency="USD",
                    inventory_item_id=gid("InventoryItem", v.item.num))
        for v in shop.fake.store.variants
    }
    assert set(catalog) == truth and len(catalog) == len(truth)


def test_check_connection_and_api_version_setting(shop: RunningFake,
                                                  plugin_manager: ShelfsyncPluginManager) -> None:
    account = plugin_manager.call(shop.with_settings(api_version="2025-01"),
                                  "shelfsync_check_connection")
    # The store's own id is its myshopify domain, the one its webhooks name.
    assert account.platform_id.endswith(".myshopify.com") and account.name
    # Read by the same call: core compares it with a shop's currency when one is connected.
    assert account.currency == "USD"
    assert "/admin/api/2025-01/graphql.json" in shop.control("GET", "requests")["by_path"]


@pytest.mark.parametrize("hook", sorted(KINDS))
def test_a_whole_store_read_yields_a_page_at_a_time_as_asked(
        hook: str, shop: RunningFake, plugin_manager: ShelfsyncPluginManager) -> None:
    """One list per page of variants, each fetched only when the next page is asked for."""
    small = shop.with_settings(page_size=25)
    kwargs = {"skus": None} if hook != "shelfsync_fetch_catalog" else {}
    shop.reset_requests()
    pages = iter(plugin_manager.call(small, hook, **kwargs))
    assert shop.request_count() == 0  # nothing read before core asks
    first = next(pages)
    after_first = shop.request_count()
    assert isinstance(first, list) and first and after_first >= 1
    rest = list(pages)
    assert len(rest) >= 4 and all(isinstance(page, list) for page in rest)  # 120 variants
    assert shop.request_count() >= after_first + len(rest)
    everything = [item for page in [first, *rest] for item in page]
    assert everything == whole(plugin_manager, shop.connection, hook, **kwargs)
