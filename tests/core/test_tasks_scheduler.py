"""The periodic jobs: one reconcile job per channel on its own interval, catalogs hourly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, update
from sqlmodel import Session

from shelfsync.core.crypto import generate_key
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    ConnectionStatus,
    Organization,
    PendingSku,
    add_store_connection,
    utcnow,
)
from shelfsync.core.scheduler import RECONCILE_PREFIX, Jobs, build_scheduler
from shelfsync.core.sync.pending import lease_pending, mark_pending


@pytest.fixture
def channels(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """An organization with a store and three channels: 15 min, 5 min, sync off."""
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    with Session(engine) as session:
        org = Organization(name="Scheduled")
        session.add(org)
        session.flush()
        add_store_connection(session, organization_id=org.id, platform="shopify",
                             base_url="https://a.example", credentials={"t": "x"})
        ids = []
        for index, (minutes, sync) in enumerate([(15, True), (5, True), (15, False)]):
            channel = ChannelConnection(organization_id=org.id, platform="tiktok",
                                        base_url="https://b.example", shop_id=str(index))
            channel.set_credentials({"t": "y"})
            session.add(channel)
            session.flush()
            session.add(ChannelSettings(channel_id=channel.id, inventory_sync=sync,
                                        reconcile_interval_minutes=minutes))
            ids.append(channel.id)
        session.commit()
    return ids


@pytest.fixture
def paused() -> Iterator[BackgroundScheduler]:
    scheduler = BackgroundScheduler()
    scheduler.start(paused=True)
    yield scheduler
    scheduler.shutdown(wait=False)


def _intervals(scheduler: BackgroundScheduler) -> dict[str, timedelta]:
    return {job.id: job.trigger.interval for job in scheduler.get_jobs()
            if job.id.startswith(RECONCILE_PREFIX)}


def test_each_syncing_channel_gets_its_interval(engine: Engine, channels: list[int],
                                                paused: BackgroundScheduler) -> None:
    Jobs(engine, print, print).sync_channel_jobs(paused)
    assert _intervals(paused) == {f"reconcile:{channels[0]}": timedelta(minutes=15),
                                  f"reconcile:{channels[1]}": timedelta(minutes=5)}


def test_jobs_follow_setting_changes_and_removals(engine: Engine, channels: list[int],
                                                  paused: BackgroundScheduler) -> None:
    jobs = Jobs(engine, print, print)
    jobs.sync_channel_jobs(paused)
    with Session(engine) as session:
        settings = session.get_one(ChannelSettings, channels[0])
        settings.reconcile_interval_minutes = 2
        session.add(settings)
        gone = session.get_one(ChannelConnection, channels[1])
        gone.status = ConnectionStatus.NEEDS_REAUTH.value
        session.add(gone)
        session.commit()
    jobs.sync_channel_jobs(paused)
    assert _intervals(paused) == {f"reconcile:{channels[0]}": timedelta(minutes=2)}


def test_jobs_enqueue_reconciles_and_catalog_refreshes(engine: Engine,
                                                       channels: list[int]) -> None:
    reconciled: list[int] = []
    refreshed: list[int] = []
    scheduler = build_scheduler(engine, reconciled.append, refreshed.append,
                                scheduler=BackgroundScheduler(), reconcile_now=True)
    assert sorted(reconciled) == sorted(channels[:2])
    assert {job.id for job in scheduler.get_jobs()} == {"housekeeping", "refresh-catalogs",
                                                        "sweeper", "prune-webhook-receipts"}
    Jobs(engine, reconciled.append, refreshed.append).refresh_catalogs()
    assert len(refreshed) == 1


def test_the_sweeper_resends_only_work_left_waiting(engine: Engine) -> None:
    """Pending SKUs younger than the grace period (their message is on its way) and SKUs a
    pass holds a live lease on are left alone; a free SKU past the grace period, or one whose
    lease expired, gets its organization a new `sync_pending`."""
    with Session(engine) as session:
        ids = []
        for name in ("fresh", "leased", "stranded", "expired"):
            org = Organization(name=name)
            session.add(org)
            session.flush()
            assert org.id is not None
            ids.append(org.id)
        session.commit()
    fresh, leased, stranded, expired = ids
    t0 = utcnow() - timedelta(minutes=30)
    with Session(engine) as session:
        for org_id in (leased, stranded, expired):
            mark_pending(session, org_id, ["A"], t0)
        session.commit()
        session.execute(update(PendingSku).values(created_at=t0))  # queued half an hour ago
        mark_pending(session, fresh, ["A"], utcnow())
        session.commit()
        lease_pending(session, leased, "busy-worker")  # alive: expires in the future
        lease_pending(session, expired, "killed-worker", clock=lambda: t0)  # long expired
    sent: list[int] = []
    assert Jobs(engine, print, print, sent.append).sweep() == sorted([stranded, expired])
    assert sent == sorted([stranded, expired])


def test_each_channel_with_order_sync_gets_its_order_poll(engine: Engine, channels: list[int],
                                                         paused: BackgroundScheduler) -> None:
    """Issue 12: orders are polled every `order_poll_minutes` (default 5) per channel with
    order sync on, whatever its inventory sync; the poll enqueues the channel's id."""
    with Session(engine) as session:
        settings = session.get_one(ChannelSettings, channels[1])
        settings.order_poll_minutes = 2
        session.add(settings)
        off = session.get_one(ChannelSettings, channels[0])
        off.order_sync = False
        session.add(off)
        session.commit()
    polled: list[int] = []
    jobs = Jobs(engine, print, print, enqueue_order_poll=polled.append)
    jobs.sync_channel_jobs(paused)
    polls = {job.id: job for job in paused.get_jobs() if job.id.startswith("orders:")}
    assert {k: j.trigger.interval for k, j in polls.items()} == {
        f"orders:{channels[1]}": timedelta(minutes=2),
        f"orders:{channels[2]}": timedelta(minutes=5)}
    polls[f"orders:{channels[2]}"].func(*polls[f"orders:{channels[2]}"].args)
    assert polled == [channels[2]]
    with Session(engine) as session:
        settings = session.get_one(ChannelSettings, channels[2])
        settings.order_sync = False
        session.add(settings)
        session.commit()
    jobs.sync_channel_jobs(paused)
    assert {job.id for job in paused.get_jobs() if job.id.startswith("orders:")} == {
        f"orders:{channels[1]}"}
