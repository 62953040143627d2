"""What the engine did: pushed quantities, the inventory audit, order bindings, runs, webhooks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Index,
    Text,
    UniqueConstraint,
    delete,
    event,
    select,
)
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.orm import Mapper, ORMExecuteState, Session
from sqlmodel import Field

from shelfsync.core.errors import ShelfsyncError
from shelfsync.core.models_base import (
    AuditOutcome,
    OrderStatus,
    RunStatus,
    ShelfsyncModel,
    UTCDateTime,
    one_of,
    utcnow,
)


class AuditIsAppendOnly(ShelfsyncError):
    """Something tried to change or delete an inventory audit row."""


class PushedQuantity(ShelfsyncModel, table=True):
    """The last quantity a channel accepted for a SKU: only a change is pushed again.

    `version` is when the store stock the quantity was decided from was observed: a push is
    claimed (quantity NULL: in flight, unknown) and recorded only while no newer version is
    stored, so an older decision never overwrites a newer push.
    """

    __tablename__ = "pushed_quantity"
    __table_args__ = (
        UniqueConstraint("channel_id", "sku_id"),
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel_connection.id", ondelete="CASCADE")
    sku_id: str
    #: None while a push is in flight (or its outcome was lost): unknown, pushed again.
    quantity: int | None = None
    pushed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InventoryAudit(ShelfsyncModel, table=True):
    """One inventory decision and its outcome. Append-only: history is never rewritten.

    `channel_id` has no foreign key on purpose: the audit outlives the channel it describes
    (deleting a channel must neither cascade into its history nor be blocked by it);
    channel ids are never reused (AUTOINCREMENT on SQLite, sequences on PostgreSQL).
    """

    __tablename__ = "inventory_audit"
    __table_args__ = (one_of("outcome", AuditOutcome, "outcome"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(index=True)
    sku: str = Field(default="", index=True)
    sku_id: str = ""
    #: What the rules saw (stock per location, flags, settings), to replay a decision.
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: None when no quantity was decided (e.g. the stock could not be fetched).
    quantity: int | None = None
    reason: str = ""
    explanation: str = Field(default="", sa_type=Text)
    outcome: str
    error_code: str | None = None
    error_message: str | None = Field(default=None, sa_type=Text)
    request_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


def _refuse_change(mapper: Mapper[Any], connection: SAConnection, target: Any) -> None:
    raise AuditIsAppendOnly(
        f"inventory_audit is append-only: row {target.id} cannot be changed or deleted",
        code="audit_append_only",
    )


event.listen(InventoryAudit, "before_update", _refuse_change)
event.listen(InventoryAudit, "before_delete", _refuse_change)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    """ORM bulk `update(InventoryAudit)` / `delete(InventoryAudit)` bypass the mapper events."""
    if not (state.is_update or state.is_delete):
        return
    if any(mapper.class_ is InventoryAudit for mapper in state.all_mappers):
        raise AuditIsAppendOnly(
            "inventory_audit is append-only: bulk update/delete refused",
            code="audit_append_only",
        )


class OrderBinding(ShelfsyncModel, table=True):
    """A channel order bound, by a unique key, to the store order made from it.

    The row is inserted before the store order is created, so a retried job or a duplicate
    webhook finds it and never creates a second store order. A worker leases it (owner,
    expiry) in a short committed statement before calling the store; a killed worker's lease
    expires and the next attempt looks the order up in the store before creating it.
    """

    __tablename__ = "order_binding"
    __table_args__ = (
        UniqueConstraint("channel_id", "channel_order_id"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        Index("ix_order_binding_status_retry", "status", "retry_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel_connection.id", ondelete="CASCADE")
    channel_order_id: str
    store_order_id: str | None = Field(default=None, index=True)
    store_order_name: str = ""
    status: str = Field(default=OrderStatus.PENDING.value, index=True)
    failure_reason_code: str | None = None
    fix_hint: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: When a failed order is tried again; None: it waits for the merchant's retry.
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The channel's own status of the order (UNPAID, ON_HOLD, …) and when it last changed.
    channel_status: str | None = None
    channel_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Store SKU → units this order holds back from every channel until its store order exists.
    units: dict[str, int] | None = Field(default=None, sa_type=JSON)


class SyncRun(ShelfsyncModel, table=True):
    """One pass of the engine (inventory, reconciliation, orders …) and what it counted."""

    __tablename__ = "sync_run"
    __table_args__ = (one_of("status", RunStatus, "status"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", ondelete="CASCADE", index=True)
    channel_id: int | None = Field(
        default=None, foreign_key="channel_connection.id", ondelete="CASCADE", index=True
    )
    kind: str
    status: str = RunStatus.RUNNING.value
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=Text)
    #: A running run renews this as it goes; once past, the run was killed and is failed.
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookReceipt(ShelfsyncModel, table=True):
    """A webhook delivery already accepted, so a replay of it is recognised and dropped.

    `connection_id` names a store or a channel connection (the platform says which table),
    hence no foreign key.
    """

    __tablename__ = "webhook_receipt"
    __table_args__ = (UniqueConstraint("platform", "connection_id", "dedup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    connection_id: int
    dedup_key: str
    topic: str = ""
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


#: How long a webhook receipt is kept, so a replay of the delivery is recognised. Shopify
#: retries a failed delivery for up to 48 hours; older deliveries are refused as stale by
#: their signed timestamp, so a receipt older than this has nothing left to catch.
WEBHOOK_REPLAY_WINDOW = timedelta(hours=72)


def webhook_receipt_exists(
    session: Session, *, platform: str, connection_id: int, dedup_key: str
) -> bool:
    """Whether this delivery was already recorded (a read: nothing is written)."""
    statement = select(WebhookReceipt.id).where(  # type: ignore[call-overload]
        WebhookReceipt.platform == platform,
        WebhookReceipt.connection_id == connection_id,
        WebhookReceipt.dedup_key == dedup_key,
    )
    return session.execute(statement).first() is not None


def prune_webhook_receipts(
    session: Session, *, now: datetime, window: timedelta = WEBHOOK_REPLAY_WINDOW
) -> int:
    """Delete receipts older than the replay window; returns how many."""
    table = WebhookReceipt.__table__  # type: ignore[attr-defined]
    result = session.execute(delete(table).where(table.c.received_at < now - window))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
