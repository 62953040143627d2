"""Orders: leased order bindings, their channel status and retry time; on-hold and poll settings.

Revision ID: 0005_orders
Revises: 0004_leases
Create Date: 2026-12-03

`order_binding` gains a lease (owner, expiry) so no transaction is held while the store is
called, the channel's own status and update time of the order (the newest wins), when a
failed order is tried again (`retry_at`, NULL: waits for a merchant's retry) and the store
units it holds back (`units`, store SKU → quantity). `channel_settings` gains `on_hold`
(wait|create) and `order_poll_minutes`. All nullable or defaulted: existing rows keep their
data.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_orders"
down_revision: str | Sequence[str] | None = "0004_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the order columns."""
    with op.batch_alter_table("order_binding") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("channel_status", sa.String(), nullable=True))
        batch.add_column(sa.Column("channel_updated_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("units", sa.JSON(), nullable=True))
        batch.create_index("ix_order_binding_status_retry", ["status", "retry_at"])
    with op.batch_alter_table("channel_settings") as batch:
        batch.add_column(sa.Column("on_hold", sa.String(), nullable=False,
                                   server_default="wait"))
        batch.add_column(sa.Column("order_poll_minutes", sa.Integer(), nullable=False,
                                   server_default="5"))
        batch.create_check_constraint("on_hold_choice", "on_hold IN ('wait', 'create')")
        batch.create_check_constraint("order_poll_positive", "order_poll_minutes >= 1")


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("channel_settings") as batch:
        batch.drop_constraint("order_poll_positive", type_="check")
        batch.drop_constraint("on_hold_choice", type_="check")
        batch.drop_column("order_poll_minutes")
        batch.drop_column("on_hold")
    with op.batch_alter_table("order_binding") as batch:
        batch.drop_index("ix_order_binding_status_retry")
        batch.drop_column("units")
        batch.drop_column("channel_updated_at")
        batch.drop_column("channel_status")
        batch.drop_column("retry_at")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
