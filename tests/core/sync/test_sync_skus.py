"""sync_skus: a stock change reaches every shop with its own rules, batched per product."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from shelfsync.core.models import InventoryAudit, PushedQuantity, StockLevel, record_stock, utcnow
from shelfsync.core.sync.inventory import reconcile_organization, sync_skus

from .conftest import World


def _sibling_skus(sku: str) -> list[str]:
    stem = sku.rsplit("-", 1)[0]
    return [f"{stem}-{v:02d}" for v in (1, 2, 3)]


def test_a_stock_change_reaches_both_shops_with_their_rules(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    sku = world.plain_sku()
    world.bump(sku, 9)
    world.reset_counts()

    report = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()

    assert report.pushed == 2 and report.failed == 0, report.to_dict()
    assert world.shown(0)[sku] == world.expected(sku, 0)
    assert world.shown(1)[sku] == world.expected(sku, 1)
    assert world.update_calls() == 2
    audits = list(world.session.exec(select(InventoryAudit).where(InventoryAudit.sku == sku,
                                                                 InventoryAudit.outcome == "ok")))
    latest = {a.channel_id: a for a in audits}
    assert set(latest) == set(world.channel_ids)
    assert all(a.request_id and a.inputs["stock"] for a in latest.values())
    pushed = {(p.channel_id, p.sku_id): p.quantity
              for p in world.session.exec(select(PushedQuantity))}
    for item in report.items:
        assert pushed[(item.channel_id, item.sku_id)] == item.to_quantity


def test_changed_skus_of_one_product_go_in_one_call_per_shop(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    skus = _sibling_skus(world.plain_sku())
    for offset, sku in enumerate(skus):
        world.bump(sku, 5 + offset)
    world.reset_counts()

    report = sync_skus(world.session, world.pm, world.org_id, skus)
    world.session.commit()

    changed = {(item.channel_id, item.product_id) for item in report.items
               if item.outcome == "pushed"}
    assert world.update_calls() == len(changed) == 2
    for shop in (0, 1):
        shown = world.shown(shop)
        for sku in skus:
            assert shown[sku] == world.expected(sku, shop)


def test_unchanged_quantities_are_not_pushed_again(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    sku = world.plain_sku()
    world.reset_counts()

    report = sync_skus(world.session, world.pm, world.org_id, [sku])

    assert report.unchanged == 2 and report.pushed == 0
    assert world.update_calls() == 0


def test_the_newest_observation_wins_over_a_late_older_fetch(world: World) -> None:
    """A fetch that started before a newer observation was stored never overwrites it."""
    reconcile_organization(world.session, world.pm, world.org_id)
    sku = world.plain_sku()
    world.bump(sku, 4)
    newer = utcnow() + timedelta(minutes=5)  # another worker already saw a newer figure
    levels = world.store_stock(sku)["levels"]
    for level in levels:
        if level["location_active"]:
            record_stock(world.session, store_connection_id=world.store_id, sku=sku,
                         location_id=f"gid://shopify/Location/{level['location_id']}",
                         available=2, observed_at=newer)
    world.session.commit()

    report = sync_skus(world.session, world.pm, world.org_id, [sku], channel_ids=[
        world.channel_ids[0]])
    world.session.commit()

    stored = world.session.exec(select(StockLevel).where(StockLevel.sku == sku)).all()
    active = [s for s in stored if s.observed_at == newer]
    assert active and all(s.available == 2 for s in active)
    (item,) = report.items
    assert item.to_quantity == 2 * len(active)
    assert world.shown(0)[sku] == item.to_quantity


def test_dry_run_pushes_and_records_nothing(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id, dry_run=True)
    sku = world.plain_sku()
    world.bump(sku, -3)
    world.reset_counts()

    report = sync_skus(world.session, world.pm, world.org_id, [sku], dry_run=True)
    world.session.flush()

    assert report.dry_run == 2 and report.pushed == 0
    assert {item.to_quantity for item in report.items} >= {world.expected(sku, 0)}
    assert world.update_calls() == 0
    assert world.session.exec(select(InventoryAudit)).all() == []
    assert world.session.exec(select(PushedQuantity)).all() == []
    assert world.shown(0)[sku] != world.expected(sku, 0)


def test_unknown_skus_change_nothing(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.reset_counts()
    report = sync_skus(world.session, world.pm, world.org_id, ["NO-SUCH-SKU", "  "])
    assert report.items == [] and world.update_calls() == 0
