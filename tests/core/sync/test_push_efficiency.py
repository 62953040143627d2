"""The webhook path's economy: one store read per pass, the warehouse kept until refused, and
the shops pushed side by side. What a plugin keeps between passes (the store's locations, a
shop's default warehouse) lives in the connection's cache core hands in (`scope.cache`)."""

from __future__ import annotations

from shelfsync.core.models import ChannelConnection
from shelfsync.core.sync.context import channel_connection, pass_scope
from shelfsync.core.sync.inventory import reconcile_organization, sync_skus
from shelfsync.plugins.tiktok import warehouses

from .conftest import World

WAREHOUSES = "/logistics/202309/warehouses"
GONE = "7499999999999999999"


def _siblings(sku: str) -> list[str]:
    stem = sku.rsplit("-", 1)[0]
    return [f"{stem}-{v:02d}" for v in (1, 2, 3)]


def _store_requests(world: World) -> int:
    return int(world.control(world.shopify, "GET", "requests")["count"])


def _warehouse_reads(world: World) -> int:
    return int(world.control(world.tiktok, "GET", "requests")["by_path"].get(WAREHOUSES, 0))


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

    assert _store_requests(world) == 1
    assert report.api_calls.get("fetch_backorder_policies") == 1
    assert report.failed == 0, report.to_dict()
    for shop in (0, 1):
        shown = world.shown(shop)
        assert {sku: shown[sku] for sku in skus} == {sku: world.expected(sku, shop)
                                                      for sku in skus}
    assert world.shown(0)[skus[1]] == 99_999


def _plant_warehouse(world: World, channel_id: int, warehouse_id: str) -> None:
    """What the TikTok plugin keeps for the shop between passes, replaced by `warehouse_id`."""
    row = world.session.get(ChannelConnection, channel_id)
    assert row is not None
    connection = channel_connection(row)
    warehouses.remember(pass_scope(world.pm, connection), connection.id,
                        connection.platform_id, warehouse_id)


def _kept_warehouse(world: World, channel_id: int) -> object:
    row = world.session.get(ChannelConnection, channel_id)
    assert row is not None
    connection = channel_connection(row)
    return pass_scope(world.pm, connection).cache.get(
        ("default_warehouse", connection.id, connection.platform_id))


def test_the_warehouse_is_read_once_and_again_only_when_a_push_refuses_it(world: World) -> None:
    _reconciled(world)
    sku, shop_one = world.plain_sku(), world.channel_ids[0]
    assert _kept_warehouse(world, shop_one) is not None  # kept from the reconcile
    world.bump(sku, 2)
    world.reset_counts()
    report = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()
    assert "fetch_locations" not in report.api_calls and report.pushed == 2
    assert _warehouse_reads(world) == 0

    # The shop's default warehouse changed behind our back: the kept one no longer exists.
    _plant_warehouse(world, shop_one, GONE)
    world.bump(sku, 2)
    refused = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()
    failed = [item for item in refused.items if item.outcome == "failed"]
    assert [item.channel_id for item in failed] == [shop_one], refused.to_dict()
    assert sku in refused.retry_skus  # tried again soon, not quarantined
    assert _kept_warehouse(world, shop_one) is None  # dropped by the plugin

    world.reset_counts()
    again = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()
    assert _warehouse_reads(world) == 1  # shop one reads again; shop two still has its own
    assert again.failed == 0 and world.shown(0)[sku] == world.expected(sku, 0)
    kept = _kept_warehouse(world, shop_one)
    assert kept is not None and kept[0] != GONE  # type: ignore[index]


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
