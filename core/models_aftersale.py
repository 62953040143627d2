"""After-sale work on an order: each store shipment, cancellation and channel return, bound.

One row per (order, kind, external id) — the store's fulfilment id, the channel's return id,
"cancel" for the one cancellation each way — inserted before any platform is called, so a
duplicate webhook, a poll racing it or a retried job finds the row and never sends twice. A
worker leases the row (owner, expiry) in a short committed statement; the result is recorded
in a second one, with a reason and fix hint when it failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field

from shelfsync.core.models_base import ShelfsyncModel, UTCDateTime, utcnow


class AftersaleAction(ShelfsyncModel, table=True):
    """One fulfilment, cancellation or refund to carry across, exactly once."""

    __tablename__ = "aftersale_action"
    __table_args__ = (
        UniqueConstraint("binding_id", "kind", "external_id"),
        CheckConstraint("attempts >= 0", name="aftersale_attempts_nonnegative"),
        Index("ix_aftersale_action_status_retry", "status", "retry_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    binding_id: int = Field(foreign_key="order_binding.id", ondelete="CASCADE", index=True)
    channel_id: int = Field(index=True)
    #: fulfillment (store → channel), cancel_store (channel → store), cancel_channel
    #: (store → channel), refund (channel → store), cancel_request (listed, never approved).
    kind: str
    external_id: str
    status: str = "waiting"
    #: What the action carries (tracking and lines, a reason, the refund's lines and amount).
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: The platform's id of what the action made (a package, a refund), once done.
    result_ref: str | None = None
    failure_reason_code: str | None = None
    fix_hint: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
