"""The webhook path's economy: stock and flags from one store query per pass, the channel's
warehouses read once per pass by its plugin (core never reads them), and the shops pushed side
by side."""

from __future__ import annotations

from shelfsync.core.sync.inventory import reconcile_organization, sync_skus

from .conftest import World


def _siblings(sku: str) -> list[str]:
    stem = sku.rsplit("-", 1)[0]
    return [f"{stem}-{v:02d}" for v in (1, 2, 3)]


WAREHOUSES = "/logistics/202309/warehouses"


def _store_requests(world: World) -> dict[str, int]:
    return dict(world.control(world.shopify, "GET", "requests")["by_path"])


def _reconciled(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()


def test_a_pass_reads_stock_and_flags_with_one_store_query(world: World) -> None:
    _reconciled(world)
    skus = _siblings(world.plain_sku())
    sync_skus(world.session, world.pm, world.org_id, skus)  # the shop's locations are now known
    world.session.commit()
    for sku in skus:
        world.bump(sku, 3)
    # A flag changed at the same time is seen by the same read.
    world.control(world.shopify, "POST", "variant", {"sku": skus[1],
                                                     "inventory_policy": "CONTINUE"})
    world.reset_counts()

    report = sync_skus(world.session, world.pm, world.org_id, skus)
    world.session.commit()

    # The pass lists the shop's locations, then one query carries stock AND flags: the flags
    # read answers from what the stock read left in the pass's scope. Nothing is kept in
    # the plugin between passes, so each pass lists the locations once.
    assert sum(_store_requests(world).values()) == 2
    assert report.api_calls.get("fetch_backorder_policies") == 1
    assert report.failed == 0, report.to_dict()
    for shop in (0, 1):
        shown = world.shown(shop)
        assert {sku: shown[sku] for sku in skus} == {sku: world.expected(sku, shop)
                                                      for sku in skus}
    assert world.shown(0)[skus[1]] == 99_999


def test_the_channel_plugin_reads_the_warehouses_once_per_pass(world: World) -> None:
    """Core pushes one quantity per SKU and never reads a channel's warehouses; the plugin
    reads them once per pass and shop, whatever the number of push calls, and a warehouse
    that changed between passes costs nothing: the next pass reads the new one."""
    _reconciled(world)
    skus = [f"SKU-0-{product:05d}-01" for product in (1, 2, 4, 6)]
    for sku in skus:
        world.bump(sku, 2)
    world.reset_counts()
    report = sync_skus(world.session, world.pm, world.org_id, skus)
    world.session.commit()
    assert "fetch_locations" not in report.api_calls and report.failed == 0
    counts = world.control(world.tiktok, "GET", "requests")["by_path"]
    assert counts.get(WAREHOUSES) == 2  # one per shop
    assert world.update_calls() >= 2 * 2

    # The shop's default warehouse changes between two passes: the next pass reads the
    # warehouses afresh, the stock goes to the new default and the old one is cleared.
    old, new = world.tiktok.app.shops[0].warehouses[:2]
    old.is_default, new.is_default = False, True
    try:
        for sku in skus:
            world.bump(sku, 2)
        again = sync_skus(world.session, world.pm, world.org_id, skus)
        world.session.commit()
        assert again.failed == 0, again.to_dict()
        shown = world.shown(0)
        assert {sku: shown[sku] for sku in skus} == {sku: world.expected(sku, 0) for sku in skus}
        held = {s.seller_sku: s.available for s in world.tiktok.app.shops[0].skus.values()}
        moved = [sku for sku in skus if world.expected(sku, 0) != 99_999]  # others unchanged
        assert moved and all(held[sku].get(old.id, 0) == 0 for sku in moved)
    finally:
        old.is_default, new.is_default = True, False


def test_the_shops_are_pushed_side_by_side(world: World) -> None:
    _reconciled(world)
    sku = world.plain_sku()
    world.bump(sku, 5)
    sync_skus(world.session, world.pm, world.org_id, [sku])  # warm every cache first
    world.session.commit()
    world.bump(sku, 5)
    world.control(world.tiktok, "DELETE", "requests")
    # Each request now takes a second on TikTok's side: pushed side by side, both shops'
    # updates are in the fake at the same moment; one after the other, never.
    world.control(world.tiktok, "POST", "latency", {"seconds": 1.0})
    try:
        report = sync_skus(world.session, world.pm, world.org_id, [sku])
    finally:
        world.control(world.tiktok, "POST", "latency", {"seconds": 0.0})
    world.session.commit()
    assert report.pushed == 2 and world.update_calls() >= 2
    assert world.control(world.tiktok, "GET", "requests")["max_in_flight"] >= 2
