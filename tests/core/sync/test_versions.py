"""Every push carries the version of the stock observation it came from; runs hold leases.

The interleavings are forced with plugin hooks (real pluggy hooks, registered like any
plugin's): a reconcile decides from an old observation, a webhook pass pushes a newer one in
the middle, then the reconcile goes on. The newer decision must stand and the channel must
end with the newer quantity. Runs on SQLite and PostgreSQL, against the fakes over HTTP.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import PushedQuantity, RunStatus, SkuLink, SyncRun, utcnow
from shelfsync.core.scheduler import Jobs
from shelfsync.core.sync import inventory
from shelfsync.core.sync.inventory import lease_pending, reconcile_organization, sync_skus
from shelfsync.core.sync.pushing import SUPERSEDED
from shelfsync.core.sync.runs import RUN_LEASE, fail_expired_runs

from .conftest import World


def _reconciled(world: World) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()


def _pushed(engine: Engine, channel_id: int, sku: str) -> PushedQuantity:
    with Session(engine) as other:
        sku_id = other.exec(select(SkuLink.sku_id).where(SkuLink.store_sku == sku,
                                                         SkuLink.channel_id == channel_id)).one()
        return other.exec(select(PushedQuantity).where(PushedQuantity.channel_id == channel_id,
                                                       PushedQuantity.sku_id == sku_id)).one()


class WebhookPassMeanwhile:
    """While the reconcile is at `moment`, the SKU's stock changes and a webhook pass (its own
    session, as another worker) syncs it to the end."""

    def __init__(self, world: World, engine: Engine, sku: str, shop: int) -> None:
        self.world, self.engine, self.sku, self.shop = world, engine, sku, shop
        self.fired = self.busy = False

    def _webhook_pass(self) -> None:
        self.busy = True
        try:
            self.world.bump(self.sku, 7)
            with Session(self.engine, expire_on_commit=False) as other:
                report = sync_skus(other, self.world.pm, self.world.org_id, [self.sku],
                                   channel_ids=[self.shop])
            assert report.pushed == 1, report.to_dict()
        finally:
            self.busy = False
            self.fired = True


class AfterDeciding(WebhookPassMeanwhile):
    """The reconcile has decided from the old stock; nothing is claimed yet."""

    @hookimpl
    def shelfsync_adjust_decision(self, channel: Any, sku: str, decision: Any,
                                  inputs: Any) -> None:
        if sku == self.sku and not self.fired and not self.busy:
            self._webhook_pass()


class BeforeItsCall(WebhookPassMeanwhile):
    """The reconcile has claimed the SKU and its call is about to leave."""

    @hookimpl(wrapper=True)
    def shelfsync_push_inventory(self, connection: Any,
                                 updates: Any) -> Generator[None, Any, Any]:
        if (not self.fired and not self.busy
                and any(update.seller_sku == self.sku for update in updates)):
            self._webhook_pass()
        return (yield)


def _race(world: World, engine: Engine, hook: WebhookPassMeanwhile) -> Any:
    world.pm.register(hook)
    try:
        return reconcile_organization(world.session, world.pm, world.org_id,
                                      channel_ids=[hook.shop])
    finally:
        world.pm.unregister(hook)


def test_an_older_decision_is_never_pushed_over_a_newer_push(world: World,
                                                             engine: Engine) -> None:
    _reconciled(world)
    sku, shop = world.plain_sku(), world.channel_ids[0]
    world.bump(sku, 5)  # what the reconcile reads
    hook = AfterDeciding(world, engine, sku, shop)

    report = _race(world, engine, hook)

    assert hook.fired
    [mine] = [item for item in report.items if item.sku == sku]
    assert (mine.outcome, mine.error_code) == ("skipped", SUPERSEDED)
    assert world.shown(0)[sku] == world.expected(sku, 0)  # the newer quantity stands
    stored = _pushed(engine, shop, sku)
    assert stored.quantity == world.expected(sku, 0)


def test_a_call_overtaken_by_a_newer_push_is_pushed_again(world: World,
                                                          engine: Engine) -> None:
    """The reconcile's claim was made before the webhook pass claimed and pushed; its call
    then lands after the newer one. Its recording must not overwrite the newer push, and the
    SKU goes back to pending so the next pass makes the channel show the newest quantity."""
    _reconciled(world)
    sku, shop = world.plain_sku(), world.channel_ids[0]
    world.bump(sku, 5)
    stale = world.expected(sku, 0)
    hook = BeforeItsCall(world, engine, sku, shop)

    _race(world, engine, hook)

    assert hook.fired
    assert world.shown(0)[sku] == stale != world.expected(sku, 0)  # the race happened
    assert _pushed(engine, shop, sku).quantity is None  # unknown, not the stale quantity
    lease = lease_pending(world.session, world.org_id, "next-pass")
    assert lease.skus == [sku]
    sync_skus(world.session, world.pm, world.org_id, lease.skus, lease=lease)
    assert world.shown(0)[sku] == world.expected(sku, 0)
    assert _pushed(engine, shop, sku).quantity == world.expected(sku, 0)


class Killed(BaseException):
    """The worker dies here (SIGKILL: nothing after this line runs)."""


def test_a_killed_run_is_marked_failed_when_its_lease_expires(
        world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _reconciled(world)

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(inventory, "settle", killed)
        with pytest.raises(Killed):
            reconcile_organization(world.session, world.pm, world.org_id,
                                   channel_ids=[world.channel_ids[0]])
    world.session.rollback()
    with Session(engine) as other:
        [run] = other.exec(select(SyncRun).where(SyncRun.status == "running")).all()
        assert run.lease_expires_at is not None
        run_id = run.id
        assert fail_expired_runs(other, clock=lambda: utcnow()) == 0  # still alive, maybe
        other.commit()
    later = utcnow() + RUN_LEASE + timedelta(seconds=1)
    Jobs(engine, print, print, clock=lambda: later).sweep()
    with Session(engine) as other:
        run = other.get_one(SyncRun, run_id)
        assert run.status == RunStatus.ERROR.value and "lease expired" in (run.error or "")
        assert run.finished_at is not None
