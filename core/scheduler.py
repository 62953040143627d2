"""Periodic jobs (APScheduler 3): reconcile each channel on its interval, refresh catalogs hourly.

The scheduler only enqueues messages; workers do the work, so one scheduler serves a whole
fleet. Run exactly one (inside `shelfsync run`, or `shelfsync worker --scheduler` on one
machine): a second one would enqueue every job twice, which is harmless (the actors are
idempotent) but wasteful.

Each channel gets its own interval job (`reconcile:<channel id>`, every
`ChannelSettings.reconcile_interval_minutes`). A housekeeping job re-reads the channels every
minute and adds, reschedules or removes those jobs, so a new channel or a changed interval
takes effect without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.db import DatabaseOutage
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    ConnectionStatus,
    StoreConnection,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_RECONCILE_MINUTES = 15
CATALOG_REFRESH_MINUTES = 60
HOUSEKEEPING_SECONDS = 60
RECONCILE_PREFIX = "reconcile:"


def channel_intervals(session: Session) -> dict[int, int]:
    """Every channel with inventory sync on, and its reconcile interval in minutes.

    Channels waiting for re-authorization are left out: every call would be refused until the
    merchant reconnects them.
    """
    rows = session.exec(
        select(ChannelConnection.id, ChannelSettings.inventory_sync,
               ChannelSettings.reconcile_interval_minutes)
        .join(ChannelSettings, ChannelSettings.channel_id == ChannelConnection.id, isouter=True)
        .where(ChannelConnection.status != ConnectionStatus.NEEDS_REAUTH.value)
    ).all()
    intervals: dict[int, int] = {}
    for channel_id, inventory_sync, minutes in rows:
        if inventory_sync is False or channel_id is None:
            continue
        intervals[int(channel_id)] = max(1, int(minutes or DEFAULT_RECONCILE_MINUTES))
    return intervals


def organizations_with_store(session: Session) -> list[int]:
    """Organizations that have a store connected (a catalog to refresh)."""
    return sorted(set(session.exec(select(StoreConnection.organization_id)).all()))


class Jobs:
    """What the scheduler enqueues, and how it keeps the per-channel jobs in step."""

    def __init__(
        self,
        engine: Engine,
        enqueue_reconcile: Callable[[int], Any],
        enqueue_refresh: Callable[[int], Any],
    ) -> None:
        self.engine = engine
        self.enqueue_reconcile = enqueue_reconcile
        self.enqueue_refresh = enqueue_refresh
        # A database outage: one warning and a growing pause, not a traceback a minute.
        self.outage = DatabaseOutage("scheduler")

    def _read(self, query: Callable[[Session], T]) -> T | None:
        """`query` in a short session; None while the database is unavailable."""

        def read() -> T:
            with Session(self.engine) as session:
                return query(session)

        return self.outage.run(read)

    def reconcile(self, channel_id: int) -> None:
        """Enqueue one channel's reconciliation."""
        self.enqueue_reconcile(channel_id)

    def refresh_catalogs(self) -> None:
        """Enqueue a catalog refresh for every organization with a store."""
        organizations = self._read(organizations_with_store)
        if organizations is None:
            return
        for organization_id in organizations:
            self.enqueue_refresh(organization_id)

    def sync_channel_jobs(self, scheduler: BaseScheduler) -> None:
        """Add, reschedule or remove the per-channel reconcile jobs to match the database."""
        wanted = self._read(channel_intervals)
        if wanted is None:
            return
        existing = {job.id: job for job in scheduler.get_jobs()
                    if job.id.startswith(RECONCILE_PREFIX)}
        for channel_id, minutes in wanted.items():
            job_id = f"{RECONCILE_PREFIX}{channel_id}"
            job = existing.pop(job_id, None)
            interval = timedelta(minutes=minutes)
            if job is None:
                scheduler.add_job(self.reconcile, IntervalTrigger(minutes=minutes),
                                  args=(channel_id,), id=job_id, coalesce=True,
                                  max_instances=1, misfire_grace_time=60,
                                  next_run_time=datetime.now(UTC) + interval)
            elif getattr(job.trigger, "interval", None) != interval:
                job.reschedule(IntervalTrigger(minutes=minutes))
        for job_id in existing:
            scheduler.remove_job(job_id)


def build_scheduler(
    engine: Engine,
    enqueue_reconcile: Callable[[int], Any],
    enqueue_refresh: Callable[[int], Any],
    *,
    scheduler: BaseScheduler | None = None,
    reconcile_now: bool = False,
) -> BaseScheduler:
    """A scheduler (not started) with the housekeeping and catalog-refresh jobs.

    `reconcile_now` also reconciles every channel once at start (the demo wants the channels
    right at once rather than in 15 minutes).
    """
    scheduler = scheduler or BackgroundScheduler(timezone=UTC)
    jobs = Jobs(engine, enqueue_reconcile, enqueue_refresh)
    now = datetime.now(UTC)
    scheduler.add_job(jobs.sync_channel_jobs, IntervalTrigger(seconds=HOUSEKEEPING_SECONDS),
                      args=(scheduler,), id="housekeeping", coalesce=True, max_instances=1,
                      next_run_time=now)
    scheduler.add_job(jobs.refresh_catalogs, IntervalTrigger(minutes=CATALOG_REFRESH_MINUTES),
                      id="refresh-catalogs", coalesce=True, max_instances=1,
                      next_run_time=now + timedelta(minutes=CATALOG_REFRESH_MINUTES))
    if reconcile_now:
        with Session(engine) as session:
            channels = list(channel_intervals(session))
        for channel_id in channels:
            jobs.reconcile(channel_id)
    return scheduler


def default_scheduler(engine: Engine, **kwargs: Any) -> BaseScheduler:
    """The scheduler wired to the Shelfsync actors (imports them: sets the broker)."""
    from shelfsync.core import tasks

    return build_scheduler(engine, tasks.reconcile_channel.send, tasks.refresh_catalog.send,
                           **kwargs)
