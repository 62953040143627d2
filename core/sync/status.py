"""Per-channel health for `shelfsync status` and the UI: syncs, pushes, errors, drift."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from shelfsync.core.models import (
    AuditOutcome,
    ChannelConnection,
    ConnectionStatus,
    InventoryAudit,
    LinkProblem,
    OrderBinding,
    PendingSku,
    StoreConnection,
    StorePollState,
    SyncRun,
    utcnow,
)
from shelfsync.core.sync.context import settings_of

#: The window the push and error counts cover.
WINDOW = timedelta(hours=24)


def _audit_counts(session: Session, channel_id: int) -> dict[str, int]:
    since = utcnow() - WINDOW
    rows = session.exec(
        select(InventoryAudit.outcome, func.count())
        .where(InventoryAudit.channel_id == channel_id, InventoryAudit.created_at >= since)
        .group_by(InventoryAudit.outcome)
    )
    return {outcome: int(count) for outcome, count in rows}


def _order_counts(session: Session, channel_id: int) -> dict[str, int]:
    rows = session.exec(
        select(OrderBinding.status, func.count())
        .where(OrderBinding.channel_id == channel_id).group_by(OrderBinding.status)
    )
    return {status: int(count) for status, count in rows}


def _store_poll(state: StorePollState | None) -> dict[str, Any]:
    if state is None:
        return {"store_polled_at": None, "store_poll_error": None}
    return {"store_polled_at": state.polled_at.isoformat() if state.polled_at else None,
            "store_poll_error": state.last_error or None}


def channel_status(session: Session, organization_id: int | None = None) -> list[dict[str, Any]]:
    """One dict per channel (of one organization, or all): last sync, pushes and errors over
    the last 24 hours, drift of the last reconcile, link problems, whether re-auth is needed."""
    query = select(ChannelConnection).order_by(ChannelConnection.organization_id,
                                               ChannelConnection.id)
    if organization_id is not None:
        query = query.where(ChannelConnection.organization_id == organization_id)
    stores = {store.organization_id: store for store in session.exec(select(StoreConnection))}
    polls = {row.store_connection_id: row for row in session.exec(select(StorePollState))}
    pending = dict(session.exec(
        select(PendingSku.organization_id, func.count()).group_by(PendingSku.organization_id)
    ).all())
    result = []
    for channel in session.exec(query):
        assert channel.id is not None
        last = session.exec(
            select(SyncRun).where(SyncRun.channel_id == channel.id, SyncRun.kind == "reconcile")
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())  # type: ignore[attr-defined]
        ).first()
        problems = session.exec(
            select(func.count()).select_from(LinkProblem).where(
                LinkProblem.channel_id == channel.id)
        ).one()
        counts = _audit_counts(session, channel.id)
        orders = _order_counts(session, channel.id)
        store = stores.get(channel.organization_id)
        result.append({
            "channel_id": channel.id,
            "organization_id": channel.organization_id,
            "platform": channel.platform,
            "shop_id": channel.shop_id,
            "shop_name": channel.shop_name,
            "inventory_sync": settings_of(session, channel.id).inventory_sync,
            "last_sync_at": channel.last_sync_at.isoformat() if channel.last_sync_at else None,
            "pushes_24h": counts.get(AuditOutcome.OK.value, 0),
            "errors_24h": counts.get(AuditOutcome.ERROR.value, 0),
            "last_reconcile_at": last.started_at.isoformat() if last else None,
            "last_reconcile_status": last.status if last else None,
            "drift": int((last.counts or {}).get("drift", 0)) if last else None,
            "link_problems": int(problems),
            "orders_created": orders.get("created", 0),
            "orders_waiting": orders.get("waiting", 0),
            "orders_failed": orders.get("failed", 0),
            "pending_skus": int(pending.get(channel.organization_id, 0)),
            "status": channel.status,
            "needs_reauth": channel.status == ConnectionStatus.NEEDS_REAUTH.value,
            "store_needs_reauth": bool(store and store.status
                                       == ConnectionStatus.NEEDS_REAUTH.value),
            # Why (the platform's refusal, or the revocation webhook), so the merchant knows
            # what to re-authorize; `shelfsync reconnect` clears it.
            "status_message": channel.status_message or None,
            "store_status_message": (store.status_message or None) if store else None,
            # Stores without stock webhooks are polled: when it last worked, and why not.
            **_store_poll(polls.get(store.id) if store is not None else None),
        })
    return result
