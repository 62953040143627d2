"""Orders as a service: the sessions of an attempt, the poll of a channel, retries, listings.

Actors, the webhook receiver and the CLI call these; the engine (`core/sync/orders.py`) does
the work. Error policy: a failure of the store call is recorded on the order (reason, fix
hint, retry time) and never raised, so one failing order never blocks the others; a store
that refuses our credentials is also marked `needs_reauth`. A channel's order read that fails
raises: the caller's retry policy (the broker's middleware, the next poll) decides.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from shelfsync.core.db import session_scope
from shelfsync.core.models import ChannelConnection, ChannelSettings, OrderBinding, utcnow
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.context import mark_needs_reauth, store_of
from shelfsync.core.sync.order_poll import PollResult, poll_start, read_one_order, read_orders
from shelfsync.core.sync.orders import (
    Clock,
    OrderState,
    Outcome,
    Reason,
    accept_order,
    create_in_store,
    due_orders,
    is_read,
)
from shelfsync.core.types import WebhookEvent

log = logging.getLogger(__name__)
ORDER_STATUS_TOPIC = "ORDER_STATUS_CHANGE"


def accept_order_event(session: Session, channel: ChannelConnection,
                       event: WebhookEvent) -> int | None:
    """Record a channel's order webhook in the caller's transaction (committed before the
    receiver answers 200); the binding's id, or None when the event names no order or the
    channel's order sync is off."""
    if event.topic != ORDER_STATUS_TOPIC or not event.order_id or channel.id is None:
        return None
    settings = session.get(ChannelSettings, channel.id)
    if settings is not None and not settings.order_sync:
        return None
    data = event.payload.get("data") if isinstance(event.payload, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    status = str(data.get("order_status") or "")
    if not status:
        return None
    updated = data.get("update_time")
    when = (datetime.fromtimestamp(updated, UTC)
            if isinstance(updated, int) and not isinstance(updated, bool) and updated > 0
            else event.occurred_at)
    return accept_order(session, channel.id, order_id=event.order_id, status=status,
                        updated_at=when)


def create_order(pm: ShelfsyncPluginManager, binding_id: int, owner: str, *,
                 clock: Clock = utcnow, force: bool = False) -> Outcome:
    """One attempt at one order's store order (see `create_in_store`)."""
    with session_scope() as session:
        return _create(session, pm, binding_id, owner, clock=clock, force=force)


def _create(session: Session, pm: ShelfsyncPluginManager, binding_id: int, owner: str, *,
            clock: Clock, force: bool) -> Outcome:
    outcome = create_in_store(session, pm, binding_id, owner, clock=clock, force=force)
    if outcome.reason == Reason.NEEDS_REAUTH.value:
        _mark_store_refused(session, binding_id, outcome.detail)
    return outcome


def _mark_store_refused(session: Session, binding_id: int, detail: str) -> None:
    binding = session.get(OrderBinding, binding_id)
    channel = session.get(ChannelConnection, binding.channel_id) if binding else None
    if channel is None:
        return
    store = store_of(session, channel.organization_id)
    if store.id is not None:
        mark_needs_reauth(session, "store", store.id, detail)


def channel_organization(channel_id: int) -> int | None:
    """The organization of a channel (None when it is gone)."""
    with session_scope() as session:
        channel = session.get(ChannelConnection, channel_id)
        return channel.organization_id if channel is not None else None


def _read_event_order(session: Session, pm: ShelfsyncPluginManager,
                      binding_id: int) -> PollResult:
    """Read the order a bare webhook named: by its id when the channel's plugin can
    (`shelfsync_fetch_order`), else from its update time (the page of changed orders that
    holds it). Read by id, the intake's transaction is left open: the caller leases the
    order next, in the same transaction."""
    binding = session.get(OrderBinding, binding_id)
    if binding is None or is_read(binding):
        return PollResult()
    since, channel_id = binding.channel_updated_at, binding.channel_id
    order_id = binding.channel_order_id
    one = read_one_order(session, pm, channel_id, order_id, commit=False)
    if one is not None:
        return one
    return read_orders(session, pm, channel_id, since, until_found=order_id, max_pages=5)


def poll_channel(pm: ShelfsyncPluginManager, channel_id: int, *,
                 clock: Clock = utcnow) -> PollResult:
    """Read the channel's orders changed since the newest seen, minus the overlap window."""
    with session_scope() as session:
        return read_orders(session, pm, channel_id, poll_start(session, channel_id, clock()))


def handle_order(pm: ShelfsyncPluginManager, binding_id: int, owner: str, *,
                 clock: Clock = utcnow) -> Outcome:
    """A webhook's order end to end: read it when only its id is known, then create it.

    One session for both, with no transaction open across a call; the order read by its id
    is taken in and leased in one transaction. The outcome names the organization, whose
    held-back units the caller re-syncs: looking it up in a session of its own was 2 of an
    order's 23 statements."""
    with session_scope() as session:
        _read_event_order(session, pm, binding_id)
        return _create(session, pm, binding_id, owner, clock=clock, force=False)


@dataclass
class OrdersPass:
    """What one `sync orders` pass did for a channel or an organization."""

    polled: int = 0
    outcomes: list[Outcome] | None = None

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {"polled": self.polled}
        for outcome in self.outcomes or []:
            if outcome.attempted:
                counts[outcome.state] = counts.get(outcome.state, 0) + 1
        return counts


def order_sync_channels(session: Session, organization_id: int | None = None,
                        channel_id: int | None = None) -> list[int]:
    """Channels whose order sync is on (of the organization, or the one channel)."""
    query = select(ChannelConnection.id)
    if organization_id is not None:
        query = query.where(ChannelConnection.organization_id == organization_id)
    if channel_id is not None:
        query = query.where(ChannelConnection.id == channel_id)
    ids = [int(i) for i in session.exec(query) if i is not None]
    off = {s.channel_id for s in session.exec(select(ChannelSettings).where(
        ChannelSettings.channel_id.in_(ids))) if not s.order_sync}  # type: ignore[union-attr]
    return [i for i in ids if i not in off]


def sync_orders(pm: ShelfsyncPluginManager, channel_ids: list[int], owner: str, *,
                clock: Clock = utcnow, poll: bool = True) -> OrdersPass:
    """Poll each channel, then attempt every due order of them, one at a time."""
    result = OrdersPass(outcomes=[])
    for channel_id in channel_ids if poll else []:
        result.polled += len(poll_channel(pm, channel_id, clock=clock).seen)
    with session_scope() as session:
        due = due_orders(session, clock(), channel_ids=channel_ids)
    for binding_id in due:
        assert result.outcomes is not None
        result.outcomes.append(create_order(pm, binding_id, owner, clock=clock))
    return result


def retry_orders(pm: ShelfsyncPluginManager, binding_ids: list[int], owner: str, *,
                 clock: Clock = utcnow) -> list[Outcome]:
    """A merchant's retry: each failed order is tried now, whatever its retry time."""
    return [create_order(pm, i, owner, clock=clock, force=True) for i in binding_ids]


def failed_orders(session: Session, organization_id: int) -> list[int]:
    """The organization's failed orders."""
    return [int(b.id) for b in list_orders(session, organization_id, OrderState.FAILED.value)
            if b.id is not None]


def list_orders(session: Session, organization_id: int, status: str | None = None,
                channel_id: int | None = None) -> list[OrderBinding]:
    """The organization's orders, newest first."""
    query = select(OrderBinding).join(
        ChannelConnection, ChannelConnection.id == OrderBinding.channel_id  # type: ignore[arg-type]
    ).where(ChannelConnection.organization_id == organization_id)
    if status is not None:
        query = query.where(OrderBinding.status == status)
    if channel_id is not None:
        query = query.where(OrderBinding.channel_id == channel_id)
    return list(session.exec(query.order_by(OrderBinding.id.desc())))  # type: ignore[union-attr]


def order_counts(session: Session, channel_id: int) -> dict[str, int]:
    """Created, waiting, failed and skipped orders of a channel (for `shelfsync status`)."""
    counts = {state.value: 0 for state in OrderState}
    for (status,) in session.execute(select(OrderBinding.status).where(
            OrderBinding.channel_id == channel_id)):
        counts[status] = counts.get(status, 0) + 1
    return counts


def release_lease(session: Session, binding_id: int) -> None:
    """Free an order's lease (a worker giving up before the store call)."""
    table: Any = OrderBinding.__table__  # type: ignore[attr-defined]
    session.execute(update(table).where(table.c.id == binding_id)
                    .values(lease_owner=None, lease_expires_at=None))


def describe(binding: OrderBinding) -> dict[str, Any]:
    """An order as `orders list --json` shows it."""
    when: datetime | None = binding.updated_at
    return {
        "id": binding.id, "channel_id": binding.channel_id,
        "tiktok_order_id": binding.channel_order_id, "status": binding.status,
        "channel_status": binding.channel_status, "store_order_id": binding.store_order_id,
        "store_order_name": binding.store_order_name, "reason": binding.failure_reason_code,
        "fix_hint": binding.fix_hint, "attempts": binding.attempts,
        "retry_at": binding.retry_at.isoformat() if binding.retry_at else None,
        "updated_at": when.isoformat() if when else None,
    }
