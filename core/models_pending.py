"""The inventory engine's own state: SKUs waiting to sync, what each channel SKU shows, and
where each store's change poll stands.

Kept apart from `models_sync.py` because only `core/sync/` writes these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlmodel import Field

from shelfsync.core.models_base import ShelfsyncModel, UTCDateTime, utcnow


class PendingSku(ShelfsyncModel, table=True):
    """A store SKU named by a webhook and not yet synced: the coalescing queue.

    A burst of webhooks for one SKU leaves one row (UNIQUE per organization and SKU), so the
    job that takes it does the work once. `observed_at` keeps the newest webhook's time.

    A pass leases rows (`lease_owner`, `lease_expires_at`) in one short committed statement and
    deletes them once its outcomes are recorded; a lease that expires (a worker killed
    mid-pass) returns the rows to whoever leases next, with no transaction held meanwhile.
    """

    __tablename__ = "pending_sku"
    __table_args__ = (UniqueConstraint("organization_id", "sku"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", ondelete="CASCADE")
    sku: str
    observed_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChannelSkuState(ShelfsyncModel, table=True):
    """What one channel SKU showed per warehouse at the last read or push, and its quarantine.

    The warehouses let a push zero the stock a SKU holds outside the default warehouse, so the
    channel's total is the decided quantity. A SKU the channel refused (not live, unknown …)
    is quarantined with the refused quantity and the listing status it had: it is not pushed
    again until either changes or the quarantine expires, so one bad SKU costs no calls on
    every pass.
    """

    __tablename__ = "channel_sku_state"
    __table_args__ = (UniqueConstraint("channel_id", "sku_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel_connection.id", ondelete="CASCADE")
    sku_id: str
    product_id: str = ""
    status: str = ""
    #: warehouse id -> quantity, as the channel showed it or as we last set it.
    quantities: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    observed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    quarantine_quantity: int | None = None
    quarantine_code: str | None = None
    quarantine_message: str | None = Field(default=None, sa_type=Text)
    quarantined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StorePollState(ShelfsyncModel, table=True):
    """Where a store's change poll stands (`shelfsync_poll_stock_changes`), one row a store.

    `cursor` is the plugin's own text, handed back on the next poll so a restart loses
    nothing; it moves only after the SKUs a poll found are recorded pending, in the same
    transaction. A poll leases the row (`lease_owner`, `lease_expires_at`) so two workers
    never poll one store at once; a killed worker's lease expires. `last_error` keeps the
    latest failure's one line for `shelfsync status`.
    """

    __tablename__ = "store_poll_state"

    store_connection_id: int = Field(
        foreign_key="store_connection.id", ondelete="CASCADE", primary_key=True
    )
    cursor: str | None = Field(default=None, sa_type=Text)
    polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    changed_skus: int = 0
    last_error: str = Field(default="", sa_type=Text)
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
