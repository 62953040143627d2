"""Inventory engine state: pending SKUs, channel SKU state (warehouses, quarantine), warehouses.

Revision ID: 0002_engine
Revises: 0001_initial
Create Date: 2026-11-26

New tables only, so plain `create_table` works on SQLite and PostgreSQL alike (no batch copy
is needed); every constraint is named by the metadata's naming convention.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_engine"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the engine's three tables."""
    op.create_table(
        "pending_sku",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_pending_sku_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_sku")),
        sa.UniqueConstraint(
            "organization_id", "sku", name=op.f("uq_pending_sku_organization_id_sku")
        ),
    )
    op.create_table(
        "channel_sku_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("quantities", sa.JSON(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quarantine_quantity", sa.Integer(), nullable=True),
        sa.Column("quarantine_code", sa.String(), nullable=True),
        sa.Column("quarantine_message", sa.Text(), nullable=True),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel_connection.id"],
            name=op.f("fk_channel_sku_state_channel_id_channel_connection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_sku_state")),
        sa.UniqueConstraint(
            "channel_id", "sku_id", name=op.f("uq_channel_sku_state_channel_id_sku_id")
        ),
    )
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


def downgrade() -> None:
    """Drop the engine's tables."""
    op.drop_table("channel_warehouse")
    op.drop_table("channel_sku_state")
    op.drop_table("pending_sku")
