"""Drop `channel_warehouse`: the TikTok plugin keeps a shop's default warehouse itself.

Revision ID: 0007_drop_channel_warehouse
Revises: 0006_store_poll
Create Date: 2026-12-03

Since Core v2 a channel's warehouses belong to its plugin (kept in the connection cache core
hands it), and nothing reads or writes this table. Its rows were a cache (re-read from TikTok
on demand), so dropping them loses nothing; a downgrade recreates the table empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_drop_channel_warehouse"
down_revision: str | Sequence[str] | None = "0006_store_poll"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the unused cache table."""
    op.drop_table("channel_warehouse")


def downgrade() -> None:
    """Recreate it, empty."""
    op.create_table(
        "channel_warehouse",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel_connection.id"],
            name=op.f("fk_channel_warehouse_channel_id_channel_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_warehouse")),
    )
