"""Syncing as a service: the sessions of a pass, its lease, and what its errors mean.

Dramatiq actors, the webhook receiver and the CLI call these; the engine (`core/sync/`) does
the work. Error policy lives here, once:

- a channel that refuses our credentials is marked `needs_reauth`; the other channels' work
  stands (the engine recorded it before raising);
- a store that refuses them is marked too, and the pass stops: its SKUs stay pending (their
  lease is freed) until the merchant reconnects;
- anything else (throttling, 5xx, an unreadable answer, a dropped database connection)
  frees the lease and propagates: the caller's retry policy (the broker's middleware) decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from shelfsync.core.budget import budget_for
from shelfsync.core.db import session_scope
from shelfsync.core.errors import AuthError
from shelfsync.core.models import (
    ChannelConnection,
    ConnectionStatus,
    StoreConnection,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync import inventory, store_poll
from shelfsync.core.sync.inventory_types import SyncAuthError, SyncReport
from shelfsync.core.sync.pending import Clock, Lease, lease_pending, settle_pending

log = logging.getLogger(__name__)

#: SKUs one pass takes at most: bounds a pass's store read and transactions under a backlog.
PASS_LIMIT = 1000


@dataclass
class PassResult:
    """What one pass over the organization's pending SKUs did."""

    #: None when nothing was free to lease (another pass holds it all, or nothing waits).
    report: SyncReport | None = None
    #: SKUs that failed transiently: pending again, for a retry soon.
    retry: list[str] = field(default_factory=list)
    #: The store refused our credentials: nothing more can be done until it is reconnected.
    stopped: bool = False


def accept_store_event(session: Session, store: StoreConnection, skus: Collection[str],
                       observed_at: datetime | None) -> int:
    """Record a store webhook's SKUs as pending in the caller's transaction (the receiver
    commits it before answering 200): once committed, no broker outage can lose them.
    Returns how many rows were added or moved forward."""
    return inventory.mark_pending(session, store.organization_id, list(skus),
                                  observed_at or utcnow())


def store_of(session: Session, organization_id: int) -> StoreConnection | None:
    """The organization's store, or None."""
    return session.exec(
        select(StoreConnection).where(StoreConnection.organization_id == organization_id)
    ).first()


def _target(session: Session, exc: AuthError, organization_id: int,
            channel_id: int | None) -> tuple[str, int] | None:
    """Which connection an AuthError condemns: the one it names, else found by platform."""
    kind = getattr(exc, "connection_kind", None)
    ident = getattr(exc, "connection_id", None)
    if kind in ("store", "channel") and isinstance(ident, int):
        return kind, ident
    store = store_of(session, organization_id)
    if store is not None and store.id is not None and exc.platform == store.platform:
        return "store", store.id
    if channel_id is not None:
        return "channel", channel_id
    return None


def mark_refused(exc: AuthError, organization_id: int, channel_id: int | None = None) -> None:
    """Mark what refused our credentials `needs_reauth`, in a transaction of its own: every
    connection a `SyncAuthError` lists, else the one an `AuthError` names or comes from."""
    with session_scope() as session:
        if isinstance(exc, SyncAuthError) and exc.failures:
            targets = [(kind, ident, message) for kind, ident, message in exc.failures]
        else:
            found = _target(session, exc, organization_id, channel_id)
            if found is None:
                log.error("authorization refused for organization %s (%s) and no connection "
                          "to mark: %s", organization_id, exc.platform or "unknown platform", exc)
                return
            targets = [(found[0], found[1], str(exc))]
        for kind, ident, message in targets:
            inventory.mark_needs_reauth(session, kind, ident, message)
            log.warning("%s connection %s needs re-authorization: %s", kind, ident, message)


def _release(organization_id: int, lease: Lease) -> None:
    """Free the lease at once (nothing done): the next pass takes the SKUs again."""
    with session_scope() as session:
        settle_pending(session, organization_id, lease, [], utcnow())


def sync_pending_pass(pm: ShelfsyncPluginManager, organization_id: int, owner: str, *,
                      broker: Any = None, limit: int = PASS_LIMIT,
                      clock: Clock = utcnow) -> PassResult:
    """Lease what is pending for the organization (committed at once), sync it, settle it.

    No transaction is held across the store read or the pushes (the engine's short
    transactions); a worker killed mid-pass leaves the lease to expire, or to be taken back
    at once by the redelivered message of the same `owner`.
    """
    with session_scope() as session:
        store = store_of(session, organization_id)
        if store is not None and store.status == ConnectionStatus.NEEDS_REAUTH.value:
            # Every read would be refused again: the SKUs wait (pending, unleased) until the
            # merchant reconnects the store, and no call is made meanwhile.
            return PassResult(stopped=True)
        lease = lease_pending(session, organization_id, owner, limit=limit, clock=clock,
                              exclusive=True)
        if not lease.observed:
            return PassResult()
        try:
            budget = budget_for(session, organization_id, broker)
            report = inventory.sync_skus(session, pm, organization_id, lease.skus,
                                         budget=budget, lease=lease)
        except SyncAuthError as exc:
            stopped = any(kind == "store" for kind, _, _ in exc.failures)
            if stopped:
                session.rollback()
                _release(organization_id, lease)
            mark_refused(exc, organization_id)
            return PassResult(report=exc.report, stopped=stopped,
                              retry=sorted(exc.report.retry_skus))
        except BaseException:
            session.rollback()
            _release(organization_id, lease)
            raise
    return PassResult(report=report, retry=sorted(report.retry_skus))


def poll_store_changes(pm: ShelfsyncPluginManager, store_id: int, owner: str, *,
                       clock: Clock = utcnow) -> store_poll.StorePollResult:
    """Poll a store for stock changes it sends no webhook for and queue them (see
    `core/sync/store_poll.py`). A store that refuses our credentials is marked
    `needs_reauth` and polled no more until reconnected; anything else propagates to the
    caller's retry policy, the cursor kept where it was."""
    with session_scope() as session:
        try:
            return store_poll.poll_store(session, pm, store_id, owner, clock=clock)
        except AuthError as exc:
            store = session.get(StoreConnection, store_id)
            organization_id = store.organization_id if store is not None else 0
            mark_refused(exc, organization_id)
            return store_poll.StorePollResult(organization_id, skipped="needs re-authorization")


def reconcile_channel(pm: ShelfsyncPluginManager, channel_id: int, *,
                      broker: Any = None) -> SyncReport | None:
    """Reconcile one channel (None when it is gone); refused credentials are marked."""
    with session_scope() as session:
        channel = session.get(ChannelConnection, channel_id)
        if channel is None:
            log.info("channel %s is gone; nothing to reconcile", channel_id)
            return None
        organization_id = channel.organization_id
        budget = budget_for(session, organization_id, broker)
        try:
            # Only the counts are logged: per-SKU outcomes (but failures) need not be kept.
            return inventory.reconcile_channel(session, pm, channel_id, budget=budget,
                                               keep_items=False)
        except SyncAuthError as exc:
            mark_refused(exc, organization_id, channel_id)
            return exc.report
        except AuthError as exc:
            mark_refused(exc, organization_id, channel_id)
            return None


def refresh_catalog(pm: ShelfsyncPluginManager, organization_id: int, *,
                    broker: Any = None) -> bool:
    """Refresh the store catalog, then every channel's listings and links, one transaction
    per step (a failing channel keeps what the others fetched). False when there is no
    store."""
    with session_scope() as session:
        store = store_of(session, organization_id)
        if store is None or store.id is None:
            log.info("organization %s has no store; nothing to refresh", organization_id)
            return False
        budget = budget_for(session, organization_id, broker)
        channel_ids = list(session.exec(select(ChannelConnection.id).where(
            ChannelConnection.organization_id == organization_id)))
        store_id = store.id
    _refusing(lambda s: inventory.refresh_catalog(s, pm, store_id, budget=budget),
              organization_id, None)
    for channel_id in channel_ids:
        assert channel_id is not None
        _refusing(lambda s, c=channel_id: inventory.refresh_listings(s, pm, c, budget=budget),
                  organization_id, channel_id)
    return True


def _refusing(step: Callable[[Session], object], organization_id: int,
              channel_id: int | None) -> None:
    """Run one step in its own session; refused credentials are marked, not raised."""
    try:
        with session_scope() as session:
            step(session)
    except AuthError as exc:
        mark_refused(exc, organization_id, channel_id)
