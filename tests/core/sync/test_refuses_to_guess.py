"""The engine refuses to guess: a tracked SKU the store's read did not answer for is a read
problem, reported and left unpushed, never pushed as 0 (a plugin that stops reading on a 429
must not zero a shop). The store plugin here is the real Shopify plugin against its fake,
with a wrapper (registered like any plugin) that drops some SKUs from its answer, as a plugin
that gave up halfway would."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from sqlmodel import select

from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import InventoryAudit
from shelfsync.core.sync.inventory import STOCK_NOT_READ, reconcile_organization, sync_skus

from .conftest import World


class StopsReadingEarly:
    """Drops every level of `dropped` from the store's stock answer."""

    def __init__(self, dropped: set[str]) -> None:
        self.dropped = dropped

    @hookimpl(wrapper=True)
    def shelfsync_fetch_stock_levels(self, connection: Any,
                                     skus: Any) -> Generator[None, Any, Any]:
        levels = yield
        if skus is None:  # the whole store: page by page
            return ([level for level in page if level.sku not in self.dropped]
                    for page in levels)
        return [level for level in levels if level.sku not in self.dropped]


def _siblings(sku: str) -> list[str]:
    stem = sku.rsplit("-", 1)[0]
    return [f"{stem}-{v:02d}" for v in (1, 2, 3)]


def test_a_full_read_missing_tracked_skus_pushes_nothing_for_them(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    dropped = set(_siblings(world.plain_sku()))
    before = {sku: world.shown(0)[sku] for sku in dropped if sku in world.shown(0)}
    assert before and all(quantity > 0 for quantity in before.values())
    for sku in dropped:
        world.bump(sku, -1000)  # were it read, it would be 0: it must not be guessed either way
    world.reset_counts()
    plugin = StopsReadingEarly(dropped)
    world.pm.register(plugin)
    try:
        report = reconcile_organization(world.session, world.pm, world.org_id)
    finally:
        world.pm.unregister(plugin)

    unread = [item for item in report.items if item.sku in dropped]
    assert unread and all(item.outcome == "failed" and item.error_code == STOCK_NOT_READ
                          for item in unread)
    assert {sku: world.shown(0)[sku] for sku in before} == before  # nothing zeroed
    audited = world.session.exec(select(InventoryAudit.sku).where(
        InventoryAudit.error_code == STOCK_NOT_READ)).all()
    assert set(audited) == {item.sku for item in unread}


def test_a_webhook_read_missing_a_sku_reports_it_and_pushes_the_rest(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    kept, dropped = _siblings(world.plain_sku())[:2]
    shown_dropped = world.shown(0)[dropped]
    world.bump(kept, 3)
    world.bump(dropped, 3)
    plugin = StopsReadingEarly({dropped})
    world.pm.register(plugin)
    try:
        report = sync_skus(world.session, world.pm, world.org_id, [kept, dropped],
                           channel_ids=[world.channel_ids[0]])
    finally:
        world.pm.unregister(plugin)
    outcomes = {item.sku: (item.outcome, item.error_code) for item in report.items}
    assert outcomes[dropped] == ("failed", STOCK_NOT_READ)
    assert outcomes[kept] == ("pushed", None)
    assert world.shown(0)[kept] == world.expected(kept, 0)
    assert world.shown(0)[dropped] == shown_dropped
