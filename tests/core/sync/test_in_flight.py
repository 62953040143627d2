"""Pushes whose outcome was never recorded, and passes that must not hold others up.

A SKU's pushed quantity is forgotten, durably, before its push leaves: whatever happens after
(an update applied but answered with a timeout, a rolled-back transaction), the next pass
finds "unknown" and pushes, instead of comparing with a quantity the channel no longer shows.
A reconcile commits as it goes, so nothing it wrote is locked once it returns; a warehouse
the channel plugin kept for the pass and that goes stale in the middle of a reconcile is
answered as a stale target (retried soon) and read again for the parts that follow.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from shelfsync.core.models import (
    ChannelConnection,
    PendingSku,
    PushedQuantity,
    SkuLink,
    utcnow,
)
from shelfsync.core.sync import inventory
from shelfsync.core.sync.inventory import (
    lease_pending,
    mark_pending,
    reconcile_organization,
    sync_skus,
)

from .conftest import World

WAREHOUSES = "/logistics/202309/warehouses"


def _reconciled(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()


def _sku_ids(session: Session, sku: str) -> list[str]:
    return list(session.exec(select(SkuLink.sku_id).where(SkuLink.store_sku == sku)))


def _pushed(engine: Engine, sku_ids: list[str]) -> dict[str, int]:
    """The pushed quantities as committed (read on a connection of its own)."""
    with Session(engine) as other:
        rows = other.exec(select(PushedQuantity).where(PushedQuantity.sku_id.in_(sku_ids)))  # type: ignore[attr-defined]
        return {f"{row.channel_id}:{row.sku_id}": row.quantity for row in rows}


def _wait_until_answered(world: World) -> None:
    """Until the TikTok fake has answered every request it was given (it applies an update
    even when the client stopped waiting for the answer)."""
    fake = world.tiktok.app
    for _ in range(3000):
        with fake._lock:
            if fake.in_flight == 0:
                return
        time.sleep(0.01)
    raise AssertionError("the TikTok fake never finished its requests")


def test_an_update_applied_but_answered_with_a_timeout_is_pushed_again(world: World) -> None:
    _reconciled(world)
    sku = world.plain_sku()
    shop = world.session.get(ChannelConnection, world.channel_ids[0])
    assert shop is not None
    before = world.expected(sku, 0)
    shop.settings = {**shop.settings, "timeout": 0.2, "retry_attempts": 1}
    world.session.add(shop)
    world.session.commit()
    # Only the update is slow: the plugin's warehouse read of the pass answers in time.
    world.control(world.tiktok, "POST", "latency", {"seconds": 1.0,
                                                    "path": "/inventory/update"})
    world.bump(sku, 5)
    try:
        late = sync_skus(world.session, world.pm, world.org_id, [sku],
                         channel_ids=[world.channel_ids[0]])
        world.session.commit()
    finally:
        world.control(world.tiktok, "POST", "latency", {"seconds": 0.0})
    assert late.failed == 1 and sku in late.retry_skus, late.to_dict()
    _wait_until_answered(world)
    assert world.shown(0)[sku] == before + 5  # TikTok applied it all the same

    world.bump(sku, -5)  # back to what was last recorded as pushed before the timeout
    shop.settings = {**shop.settings, "timeout": 5, "retry_attempts": 3}
    world.session.add(shop)
    world.session.commit()
    again = sync_skus(world.session, world.pm, world.org_id, [sku],
                      channel_ids=[world.channel_ids[0]])
    world.session.commit()

    assert again.pushed == 1, again.to_dict()
    assert world.shown(0)[sku] == world.expected(sku, 0) == before


def test_a_second_pass_with_nothing_changed_still_makes_no_call(world: World) -> None:
    _reconciled(world)
    sku = world.plain_sku()
    world.bump(sku, 4)
    first = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()
    assert first.pushed == 2
    world.reset_counts()

    second = sync_skus(world.session, world.pm, world.org_id, [sku])
    world.session.commit()

    assert second.unchanged == 2 and world.update_calls() == 0


class Killed(BaseException):
    """The worker dies here (SIGKILL: nothing after this line runs)."""


def test_a_killed_pass_keeps_its_lease_and_leaves_its_skus_unknown(
        world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed after its pushes, before recording them: the pending SKU stays (its
    lease runs out, or the redelivered message takes it back), and the pushed quantities
    stay unknown, so that message pushes again. Same on SQLite and PostgreSQL."""
    _reconciled(world)
    sku = world.plain_sku()
    sku_ids = _sku_ids(world.session, sku)
    mark_pending(world.session, world.org_id, [sku], utcnow())
    world.session.commit()
    world.bump(sku, 6)

    lease = lease_pending(world.session, world.org_id, "message-1")
    assert lease.skus == [sku]

    def killed(prepared: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(inventory, "record", killed)
        with pytest.raises(Killed):
            sync_skus(world.session, world.pm, world.org_id, [sku], lease=lease)
    world.session.rollback()

    assert set(_pushed_rows(engine, sku_ids).values()) == {None}  # in flight: unknown
    with Session(engine) as other:
        assert [row.sku for row in other.exec(select(PendingSku))] == [sku]
    world.bump(sku, -6)
    again = lease_pending(world.session, world.org_id, "message-1")  # redelivered
    assert again.skus == [sku]
    redelivered = sync_skus(world.session, world.pm, world.org_id, [sku], lease=again)
    assert redelivered.pushed == 2
    assert [world.shown(i)[sku] for i in (0, 1)] == [world.expected(sku, i) for i in (0, 1)]
    with Session(engine) as other:
        assert list(other.exec(select(PendingSku))) == []


def _pushed_rows(engine: Engine, sku_ids: list[str]) -> dict[str, int | None]:
    with Session(engine) as other:
        rows = other.exec(select(PushedQuantity).where(PushedQuantity.sku_id.in_(sku_ids)))  # type: ignore[attr-defined]
        return {f"{row.channel_id}:{row.sku_id}": row.quantity for row in rows}


@pytest.mark.parametrize("database_backend", ["sqlite"])
def test_a_reconcile_leaves_no_write_lock_behind(world: World, engine: Engine) -> None:
    """SQLite's flavour of the review finding: a reconcile whose caller has not committed
    yet holds no write lock, so a webhook pass writes at once instead of waiting for it."""
    _reconciled(world)
    sku = world.plain_sku()
    world.bump(sku, 3)
    reconcile_organization(world.session, world.pm, world.org_id)
    try:
        with Session(engine) as webhook_pass:
            webhook_pass.execute(text("PRAGMA busy_timeout = 0"))
            try:
                world.bump(sku, 1)
                report = sync_skus(webhook_pass, world.pm, world.org_id, [sku])
                webhook_pass.commit()
            finally:
                webhook_pass.execute(text("PRAGMA busy_timeout = 30000"))
    finally:
        world.session.rollback()
    assert report.failed == 0 and report.pushed == 2
    assert world.shown(0)[sku] == world.expected(sku, 0)


def test_a_warehouse_gone_stale_mid_reconcile_is_read_again_for_the_next_parts(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shop's default warehouse is disabled right after the pass's first push: the
    plugin's kept warehouse is refused, every SKU refused for it is a stale target (retried
    soon, none quarantined), and the later parts go to the warehouse read again."""
    _reconciled(world)
    monkeypatch.setattr(inventory, "PRODUCTS_PER_PART", 2)
    shop = world.channel_ids[0]
    fake = world.tiktok.app
    default = fake.shops[0].default_warehouse
    handle = fake.handle_api

    def disable_after_first_update(request):  # type: ignore[no-untyped-def]
        answer = handle(request)
        if request.path.endswith("/inventory/update"):
            default.effect_status = "DISABLED"
        return answer

    monkeypatch.setattr(fake, "handle_api", disable_after_first_update)
    skus = [f"SKU-0-{product:05d}-{variant:02d}" for product in (1, 2, 4, 6)
            for variant in (1, 2, 3)]
    for sku in skus:
        world.bump(sku, 2)
    world.reset_counts()

    first = reconcile_organization(world.session, world.pm, world.org_id, channel_ids=[shop])
    world.session.commit()

    reads = world.control(world.tiktok, "GET", "requests")["by_path"]
    assert reads.get(WAREHOUSES) == 2  # read once, again once after the refusal; not per part
    stale = [item for item in first.items if item.outcome == "failed"]
    assert stale and {item.sku for item in stale} <= first.retry_skus
    assert first.pushed > 0  # the parts after the refusal went to the warehouse read again
    monkeypatch.setattr(fake, "handle_api", handle)
    default.effect_status = "ENABLED"
    _reconciled(world)
    shown = world.shown(0)
    live = [sku for sku in skus if sku in shown]
    assert {sku: shown[sku] for sku in live} == {sku: world.expected(sku, 0) for sku in live}
