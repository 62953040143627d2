"""The activity page: the inventory audit filtered and paged, per-hour counts for a
channel's chart (pushes, errors and drift over the last 24 hours), and disconnecting.

Times are bucketed in Python from the rows' aware UTC timestamps, so SQLite and PostgreSQL
count alike; the window is a day, so the rows read are bounded by a day's activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from shelfsync.core.models import (
    AuditOutcome,
    ChannelConnection,
    InventoryAudit,
    OrderBinding,
    OrderStatus,
    StoreConnection,
    SyncRun,
)

PAGE_SIZE = 50
HOURS = 24


@dataclass(frozen=True)
class Hour:
    """One hour of a channel's activity."""

    start: datetime
    pushes: int
    errors: int
    drift: int


def audit_page(session: Session, channel_ids: Sequence[int], *, sku: str = "",
               outcome: str = "", page: int = 1,
               per_page: int = PAGE_SIZE) -> tuple[list[InventoryAudit], int]:
    """Newest first: audit rows of these channels, of a SKU and an outcome when given."""
    if not channel_ids:
        return [], 0
    query = select(InventoryAudit).where(
        InventoryAudit.channel_id.in_(list(channel_ids)))  # type: ignore[attr-defined]
    if sku.strip():
        query = query.where(InventoryAudit.sku == sku.strip()[:200])
    if outcome in {o.value for o in AuditOutcome}:
        query = query.where(InventoryAudit.outcome == outcome)
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    rows = list(session.exec(query.order_by(
        InventoryAudit.created_at.desc(), InventoryAudit.id.desc())  # type: ignore[attr-defined]
        .offset((max(page, 1) - 1) * per_page).limit(per_page)))
    return rows, total


def orders_page(session: Session, organization_id: int, *, status: str | None = None,
                channel_id: int | None = None, page: int = 1,
                per_page: int = PAGE_SIZE) -> tuple[list[OrderBinding], int, int]:
    """Newest first: one page of the organization's orders (of a state and a channel when
    given), how many match, and how many of the organization's orders failed."""
    query = select(OrderBinding).join(
        ChannelConnection, ChannelConnection.id == OrderBinding.channel_id  # type: ignore[arg-type]
    ).where(ChannelConnection.organization_id == organization_id)
    failed = int(session.exec(select(func.count()).select_from(query.where(
        OrderBinding.status == OrderStatus.FAILED.value).subquery())).one())
    if status is not None:
        query = query.where(OrderBinding.status == status)
    if channel_id is not None:
        query = query.where(OrderBinding.channel_id == channel_id)
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    rows = list(session.exec(query.order_by(OrderBinding.id.desc())  # type: ignore[union-attr]
                             .offset((max(page, 1) - 1) * per_page).limit(per_page)))
    return rows, total, failed


def previous_quantities(session: Session, rows: Sequence[InventoryAudit]) -> dict[int, int | None]:
    """For each audit row, the quantity of the SKU's previous OK row on that channel (its
    "from"); None when none is recorded before it."""
    found: dict[int, int | None] = {}
    for row in rows:
        before = session.exec(select(InventoryAudit.quantity).where(
            InventoryAudit.channel_id == row.channel_id, InventoryAudit.sku_id == row.sku_id,
            InventoryAudit.outcome == AuditOutcome.OK.value,
            InventoryAudit.id < row.id)  # type: ignore[operator]
            .order_by(InventoryAudit.id.desc()).limit(1)).first()  # type: ignore[union-attr]
        assert row.id is not None
        found[row.id] = before
    return found


def hourly(session: Session, channel_id: int, now: datetime, hours: int = HOURS) -> list[Hour]:
    """Pushes (OK audit rows), errors (error rows) and drift (repaired by reconciles) per hour,
    oldest first, the last bucket being the hour that contains `now`."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    pushes = [0] * hours
    errors = [0] * hours
    drift = [0] * hours
    for when, outcome in session.exec(select(InventoryAudit.created_at, InventoryAudit.outcome)
                                      .where(InventoryAudit.channel_id == channel_id,
                                             InventoryAudit.created_at >= start,
                                             InventoryAudit.created_at < end)):
        index = int((when - start).total_seconds() // 3600)
        if outcome == AuditOutcome.OK.value:
            pushes[index] += 1
        elif outcome == AuditOutcome.ERROR.value:
            errors[index] += 1
    for when, counts in session.exec(select(SyncRun.started_at, SyncRun.counts).where(
            SyncRun.channel_id == channel_id, SyncRun.started_at >= start,
            SyncRun.started_at < end)):
        value = (counts or {}).get("drift", 0)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            drift[int((when - start).total_seconds() // 3600)] += value
    return [Hour(start + timedelta(hours=i), pushes[i], errors[i], drift[i])
            for i in range(hours)]


def disconnect_channel(session: Session, channel: ChannelConnection) -> None:
    """Delete a channel and what is only its own (settings, listings, links, orders): the
    database cascades. Its audit history stays (no foreign key, on purpose)."""
    session.delete(channel)
    session.flush()


def disconnect_store(session: Session, store: StoreConnection) -> None:
    """Delete the organization's store and its catalog, stock and locations (cascaded);
    the channels stay, waiting for a store to be connected again."""
    session.delete(store)
    session.flush()
