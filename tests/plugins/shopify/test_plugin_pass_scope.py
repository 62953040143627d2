"""What the stock and flags reads of one pass share lives in the pass's `PassScope`: used
within the pass, gone with it, never shared with another pass or connection."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit import RunningFake
from shelfsync.core.types import PassScope
from shelfsync.plugins.shopify import plugin, reads


@pytest.fixture
def shop(run_fake: Callable[..., RunningFake]) -> RunningFake:
    return run_fake("shopify", products=10, variants=3, locations=3, seed=7,
                    restore_rate=20000.0)


def _requests(shop: RunningFake) -> int:
    return int(shop.control("GET", "requests")["count"])


def test_a_pass_reads_flags_from_its_stock_read(shop: RunningFake,
                                                plugin_manager: ShelfsyncPluginManager) -> None:
    skus = ["SKU-7-00001-01", "SKU-7-00002-02", "SKU-7-00003-03"]
    fresh = plugin_manager.call(shop.connection, "shelfsync_fetch_backorder_policies",
                                skus=skus)
    assert len(fresh) == 3
    scope = PassScope()
    shop.reset_requests()
    plugin_manager.call(shop.connection, "shelfsync_fetch_stock_levels", skus=skus,
                        scope=scope)
    after_stock = _requests(shop)
    shared = plugin_manager.call(shop.connection, "shelfsync_fetch_backorder_policies",
                                 skus=skus, scope=scope)
    assert _requests(shop) == after_stock  # no second query in the same pass
    assert sorted(shared, key=lambda p: p.sku) == sorted(fresh, key=lambda p: p.sku)


def test_another_pass_or_no_pass_reads_for_itself(shop: RunningFake,
                                                  plugin_manager: ShelfsyncPluginManager
                                                  ) -> None:
    skus = ["SKU-7-00001-01"]
    plugin_manager.call(shop.connection, "shelfsync_fetch_stock_levels", skus=skus,
                        scope=PassScope())
    for scope in (PassScope(), None):  # a later pass's scope, and a call outside any pass
        shop.reset_requests()
        plugin_manager.call(shop.connection, "shelfsync_fetch_backorder_policies", skus=skus,
                            scope=scope)
        assert _requests(shop) == 1


def test_the_shared_variants_are_used_once(shop: RunningFake) -> None:
    skus = ["SKU-7-00001-01"]
    scope = PassScope()
    plugin.shelfsync_fetch_stock_levels(connection=shop.connection, skus=skus, scope=scope)
    assert reads.PassReads(scope).take_variants(skus) is not None
    assert reads.PassReads(scope).take_variants(skus) is None


def test_the_plugin_keeps_no_module_state() -> None:
    """The module-global cache that once stitched the two reads together is gone."""
    for module in (plugin, reads):
        assert not any(isinstance(value, (dict, list, set)) or type(value).__name__ ==
                       "RecentReads" for name, value in vars(module).items()
                       if not name.startswith("__") and name.islower())


def test_the_locations_are_listed_once_a_minute_through_core_s_cache(
        shop: RunningFake) -> None:
    """No module state: the locations live in the connection's cache core hands in."""
    from shelfsync.core.connection_cache import ConnectionCache

    now = [0.0]
    cache = ConnectionCache(lambda: now[0])
    skus = ["SKU-7-00001-01"]
    shop.reset_requests()
    plugin.shelfsync_fetch_stock_levels(connection=shop.connection, skus=skus,
                                        scope=PassScope(cache))
    assert _requests(shop) == 2  # the locations, then the stock
    for elapsed, requests in ((30.0, 1), (reads.LOCATIONS_TTL + 1, 2)):
        now[0] = elapsed
        shop.reset_requests()
        plugin.shelfsync_fetch_stock_levels(connection=shop.connection, skus=skus,
                                            scope=PassScope(cache))  # a later pass
        assert _requests(shop) == requests
    shop.reset_requests()
    plugin.shelfsync_fetch_stock_levels(connection=shop.connection, skus=skus,
                                        scope=PassScope())  # another connection's cache
    assert _requests(shop) == 2
