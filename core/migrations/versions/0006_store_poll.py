"""Store change polls: where each store's `shelfsync_poll_stock_changes` stands.

Revision ID: 0006_store_poll
Revises: 0005_orders
Create Date: 2026-12-03

A new table only (plain `create_table` on SQLite and PostgreSQL alike): one row a store with
the plugin's cursor, when it last polled, what it found, its last error and a lease.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_store_poll"
down_revision: str | Sequence[str] | None = "0005_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `store_poll_state`."""
    op.create_table(
        "store_poll_state",
        sa.Column("store_connection_id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_skus", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_connection_id"],
            ["store_connection.id"],
            name=op.f("fk_store_poll_state_store_connection_id_store_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_connection_id", name=op.f("pk_store_poll_state")),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("store_poll_state")
