"""A plugin's `shelfsync_adjust_decision` replaces a decision before it is pushed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import select

from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import ChannelConnection, InventoryAudit
from shelfsync.core.rules import Decision
from shelfsync.core.sync.inventory import reconcile_organization, sync_skus
from shelfsync.core.types import Connection

from .conftest import World


class BufferOfTwo:
    """Keeps two units back on shop 1 for one SKU; leaves everything else alone."""

    def __init__(self, sku: str, shop_id: str) -> None:
        self.sku, self.shop_id = sku, shop_id

    @hookimpl
    def shelfsync_adjust_decision(
        self, channel: Connection, sku: str, decision: Decision, inputs: dict[str, Any]
    ) -> Decision | None:
        if sku != self.sku or channel.settings.get("shop_id") != self.shop_id:
            return None
        return replace(
            decision,
            quantity=max(0, decision.quantity - 2),
            explanation=decision.explanation + "; buffer of 2",
        )


class Broken:
    """Answers with something that is not a Decision."""

    @hookimpl
    def shelfsync_adjust_decision(self, sku: str) -> Any:
        return {"quantity": -5}


def test_a_plugin_adjusts_one_shop(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    sku = world.plain_sku()
    first_shop = world.session.get_one(ChannelConnection, world.channel_ids[0])
    world.pm.register(BufferOfTwo(sku, first_shop.shop_id or ""), name="buffer")
    world.bump(sku, 20)

    sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()

    assert world.shown(0)[sku] == world.expected(sku, 0) - 2
    assert world.shown(1)[sku] == world.expected(sku, 1)
    audit = world.session.exec(
        select(InventoryAudit)
        .where(InventoryAudit.sku == sku, InventoryAudit.channel_id == world.channel_ids[0])
        .order_by(InventoryAudit.id.desc())  # type: ignore[union-attr]
    ).first()
    assert audit is not None and audit.explanation.endswith("; buffer of 2")
    assert audit.inputs["adjusted_from"] == world.expected(sku, 0)


def test_an_invalid_replacement_is_refused_not_pushed(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    sku = world.plain_sku()
    before = world.shown(0)[sku]
    world.pm.register(Broken(), name="broken")
    world.bump(sku, 7)
    world.reset_counts()

    report = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()

    assert world.update_calls() == 0
    assert world.shown(0)[sku] == before
    assert {item.outcome for item in report.items} <= {"failed", "skipped"}
    assert all(item.error_code for item in report.items)
