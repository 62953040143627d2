"""Leases instead of held transactions: pending SKU leases, versioned pushed quantities, run leases.

Revision ID: 0004_leases
Revises: 0002_engine
Create Date: 2026-12-03

Columns are added (nullable, so existing rows keep their data: a pending SKU unleased, a pushed
quantity without a version, which any new push may replace); `pushed_quantity.quantity` becomes
nullable (NULL: a push in flight). Batch mode, so SQLite copies the table with its named
constraints.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_leases"
down_revision: str | Sequence[str] | None = "0002_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the lease and version columns."""
    with op.batch_alter_table("pending_sku") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("pushed_quantity") as batch:
        batch.add_column(sa.Column("version", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("quantity", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    """Drop them again (pushes in flight are forgotten: unknown either way)."""
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("lease_expires_at")
    op.execute("DELETE FROM pushed_quantity WHERE quantity IS NULL")
    with op.batch_alter_table("pushed_quantity") as batch:
        batch.alter_column("quantity", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("version")
    with op.batch_alter_table("pending_sku") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
