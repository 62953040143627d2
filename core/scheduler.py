"""Periodic jobs (APScheduler 3): reconcile each channel on its interval, poll each channel's
orders (every `order_poll_minutes`, default 5: a lost order webhook still arrives), refresh
catalogs hourly.

The scheduler only enqueues messages; workers do the work, so one scheduler serves a whole
fleet. Run exactly one (inside `shelfsync run`, or `shelfsync worker --scheduler` on one
machine): a second one would enqueue every job twice, which is harmless (the actors are
idempotent) but wasteful.

A sweeper (every `SWEEP_SECONDS`) is the outbox's other half: the webhook receiver records
pending SKUs before it answers, and when the message asking for their sync never ran (broker
down, worker killed), the sweeper finds the organizations whose pending SKUs are free to lease
and older than `SWEEP_GRACE`, and sends `sync_pending` for them. It also marks failed the runs
whose lease expired (a killed reconcile).

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
from shelfsync.core.errors import PluginMissing
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    ConnectionStatus,
    StoreConnection,
    utcnow,
)
from shelfsync.core.models_sync import prune_webhook_receipts
from shelfsync.core.sync.pending import Clock, organizations_waiting
from shelfsync.core.sync.runs import fail_expired_runs
from shelfsync.core.sync.store_poll import HOOK as STORE_POLL_HOOK
from shelfsync.core.sync.store_poll import poll_seconds

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_RECONCILE_MINUTES = 15
CATALOG_REFRESH_MINUTES = 60
HOUSEKEEPING_SECONDS = 60
RECEIPT_PRUNE_MINUTES = 60
RECONCILE_PREFIX = "reconcile:"
ORDER_POLL_PREFIX = "orders:"
STORE_POLL_PREFIX = "store-poll:"
DEFAULT_ORDER_POLL_MINUTES = 5
SWEEP_SECONDS = 30
#: How long a pending SKU may wait unleased before the sweeper re-sends its sync: above the
#: coalescing delay and a busy queue's usual wait, so the sweeper rarely duplicates a message.
SWEEP_GRACE = timedelta(seconds=60)


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


def order_poll_intervals(session: Session) -> dict[int, int]:
    """Every channel with order sync on (not waiting for re-authorization), and how often
    its orders are polled, in minutes (`ChannelSettings.order_poll_minutes`)."""
    rows = session.exec(
        select(ChannelConnection.id, ChannelSettings.order_sync,
               ChannelSettings.order_poll_minutes)
        .join(ChannelSettings, ChannelSettings.channel_id == ChannelConnection.id, isouter=True)
        .where(ChannelConnection.status != ConnectionStatus.NEEDS_REAUTH.value)
    ).all()
    return {int(channel_id): max(1, int(minutes or DEFAULT_ORDER_POLL_MINUTES))
            for channel_id, order_sync, minutes in rows
            if channel_id is not None and order_sync is not False}


def store_poll_intervals(session: Session, pollable: Callable[[str], bool]) -> dict[int, int]:
    """Every store whose plugin polls for stock changes (`pollable(platform)`), not waiting
    for re-authorization, and its poll interval in seconds (the `poll_seconds` setting)."""
    rows = session.exec(
        select(StoreConnection.id, StoreConnection.platform, StoreConnection.settings)
        .where(StoreConnection.status != ConnectionStatus.NEEDS_REAUTH.value)
    ).all()
    return {int(store_id): poll_seconds(settings) for store_id, platform, settings in rows
            if store_id is not None and pollable(platform)}


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
        enqueue_sync: Callable[[int], Any] | None = None,
        clock: Clock = utcnow,
        enqueue_order_poll: Callable[[int], Any] | None = None,
        enqueue_store_poll: Callable[[int], Any] | None = None,
        pollable: Callable[[str], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.enqueue_store_poll = enqueue_store_poll
        self.pollable = pollable
        self.enqueue_order_poll = enqueue_order_poll
        self.enqueue_reconcile = enqueue_reconcile
        self.enqueue_refresh = enqueue_refresh
        self.enqueue_sync = enqueue_sync
        self.clock = clock
        # A database outage: one warning and a growing pause, not a traceback a minute.
        self.outage = DatabaseOutage("scheduler")

    def sweep(self) -> list[int]:
        """Re-send `sync_pending` for organizations whose pending SKUs wait unleased past the
        grace period, and fail runs whose lease expired; returns the organizations sent.
        A broker still down is logged: the next sweep tries again."""
        def read(session: Session) -> tuple[int, list[int]]:
            failed = fail_expired_runs(session, clock=self.clock)
            session.commit()
            return failed, organizations_waiting(session, grace=SWEEP_GRACE, clock=self.clock)

        found = self._read(read)
        if found is None:  # the database is down: logged once by the outage guard
            return []
        failed, waiting = found
        if failed:
            log.warning("%s sync run(s) stopped without finishing: marked failed", failed)
        sent = []
        for organization_id in waiting if self.enqueue_sync is not None else []:
            try:
                self.enqueue_sync(organization_id)  # type: ignore[misc]
            except Exception as exc:  # the broker is down: the next sweep tries again
                log.warning("sweeper could not enqueue a sync for organization %s (%s: %s)",
                            organization_id, type(exc).__name__, exc)
                continue
            sent.append(organization_id)
        return sent

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

    def prune_receipts(self, now: datetime | None = None) -> int:
        """Forget webhook receipts older than the replay window (deliveries that old are
        refused as stale by their signed timestamp); returns how many."""
        def prune(session: Session) -> int:
            count = prune_webhook_receipts(session, now=now or datetime.now(UTC))
            session.commit()
            return count

        pruned = self._read(prune) or 0
        if pruned:
            log.info("pruned %d webhook receipts older than the replay window", pruned)
        return pruned

    def poll_orders(self, channel_id: int) -> None:
        """Enqueue one channel's order poll."""
        if self.enqueue_order_poll is not None:
            self.enqueue_order_poll(channel_id)

    def poll_store(self, store_id: int) -> None:
        """Enqueue one store's change poll."""
        if self.enqueue_store_poll is not None:
            self.enqueue_store_poll(store_id)

    def sync_channel_jobs(self, scheduler: BaseScheduler) -> None:
        """Add, reschedule or remove the per-channel reconcile and order-poll jobs, and the
        per-store change polls, to match the database."""
        wanted = self._read(channel_intervals)
        if wanted is None:
            return
        self._keep_jobs(scheduler, RECONCILE_PREFIX, _minutes(wanted), self.reconcile)
        if self.enqueue_order_poll is not None:
            polls = self._read(order_poll_intervals)
            if polls is not None:
                self._keep_jobs(scheduler, ORDER_POLL_PREFIX, _minutes(polls),
                                self.poll_orders)
        if self.enqueue_store_poll is not None and self.pollable is not None:
            pollable = self.pollable
            stores = self._read(lambda session: store_poll_intervals(session, pollable))
            if stores is not None:
                self._keep_jobs(scheduler, STORE_POLL_PREFIX,
                                {store_id: timedelta(seconds=seconds)
                                 for store_id, seconds in stores.items()}, self.poll_store)

    @staticmethod
    def _keep_jobs(scheduler: BaseScheduler, prefix: str, wanted: dict[int, timedelta],
                   job_function: Callable[[int], None]) -> None:
        existing = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(prefix)}
        for ident, interval in wanted.items():
            job_id = f"{prefix}{ident}"
            job = existing.pop(job_id, None)
            seconds = int(interval.total_seconds())
            if job is None:
                scheduler.add_job(job_function, IntervalTrigger(seconds=seconds),
                                  args=(ident,), id=job_id, coalesce=True,
                                  max_instances=1, misfire_grace_time=60,
                                  next_run_time=datetime.now(UTC) + interval)
            elif getattr(job.trigger, "interval", None) != interval:
                job.reschedule(IntervalTrigger(seconds=seconds))
        for job_id in existing:
            scheduler.remove_job(job_id)


def _minutes(wanted: dict[int, int]) -> dict[int, timedelta]:
    return {ident: timedelta(minutes=minutes) for ident, minutes in wanted.items()}


def build_scheduler(
    engine: Engine,
    enqueue_reconcile: Callable[[int], Any],
    enqueue_refresh: Callable[[int], Any],
    *,
    enqueue_sync: Callable[[int], Any] | None = None,
    scheduler: BaseScheduler | None = None,
    reconcile_now: bool = False,
    enqueue_order_poll: Callable[[int], Any] | None = None,
    enqueue_store_poll: Callable[[int], Any] | None = None,
    pollable: Callable[[str], bool] | None = None,
) -> BaseScheduler:
    """A scheduler (not started) with the housekeeping and catalog-refresh jobs.

    `reconcile_now` also reconciles every channel once at start (the demo wants the channels
    right at once rather than in 15 minutes).
    """
    scheduler = scheduler or BackgroundScheduler(timezone=UTC)
    jobs = Jobs(engine, enqueue_reconcile, enqueue_refresh, enqueue_sync,
                enqueue_order_poll=enqueue_order_poll, enqueue_store_poll=enqueue_store_poll,
                pollable=pollable)
    now = datetime.now(UTC)
    scheduler.add_job(jobs.sweep, IntervalTrigger(seconds=SWEEP_SECONDS), id="sweeper",
                      coalesce=True, max_instances=1,
                      next_run_time=now + timedelta(seconds=SWEEP_SECONDS))
    scheduler.add_job(jobs.sync_channel_jobs, IntervalTrigger(seconds=HOUSEKEEPING_SECONDS),
                      args=(scheduler,), id="housekeeping", coalesce=True, max_instances=1,
                      next_run_time=now)
    scheduler.add_job(jobs.refresh_catalogs, IntervalTrigger(minutes=CATALOG_REFRESH_MINUTES),
                      id="refresh-catalogs", coalesce=True, max_instances=1,
                      next_run_time=now + timedelta(minutes=CATALOG_REFRESH_MINUTES))
    scheduler.add_job(jobs.prune_receipts, IntervalTrigger(minutes=RECEIPT_PRUNE_MINUTES),
                      id="prune-webhook-receipts", coalesce=True, max_instances=1,
                      next_run_time=now + timedelta(minutes=RECEIPT_PRUNE_MINUTES))
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
                           enqueue_sync=tasks.sync_pending.send,
                           enqueue_order_poll=tasks.poll_orders.send,
                           enqueue_store_poll=tasks.poll_store.send,
                           pollable=pollable_platforms(tasks.plugin_manager()), **kwargs)


def pollable_platforms(pm: Any) -> Callable[[str], bool]:
    """Whether a store platform's plugin polls for stock changes; an uninstalled platform
    does not (its store is reported by `shelfsync status`, not polled)."""
    def pollable(platform: str) -> bool:
        try:
            return bool(pm.implements(pm.plugin_for(platform), STORE_POLL_HOOK))
        except PluginMissing:  # no plugin (or two claim it): nothing to poll with
            return False

    return pollable
