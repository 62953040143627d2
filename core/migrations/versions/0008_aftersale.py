"""After-sale: fulfilments, cancellations and refunds bound per order; the restock setting.

Revision ID: 0008_aftersale
Revises: 0007_drop_channel_warehouse
Create Date: 2026-12-03

`aftersale_action` holds one row per (order binding, kind, external id): a store shipment
(its id), a cancellation either way, a channel return (its id), inserted before any platform
is called so nothing is sent twice, leased (owner, expiry) while a worker calls out, and
carrying the reason and fix hint of a failure. `channel_settings` gains `restock` (on by
default). Nothing existing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_aftersale"
down_revision: str | Sequence[str] | None = "0007_drop_channel_warehouse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the after-sale table and the restock setting."""
    op.create_table(
        "aftersale_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result_ref", sa.String(), nullable=True),
        sa.Column("failure_reason_code", sa.String(), nullable=True),
        sa.Column("fix_hint", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempts >= 0",
                           name=op.f("ck_aftersale_action_aftersale_attempts_nonnegative")),
        sa.ForeignKeyConstraint(["binding_id"], ["order_binding.id"], ondelete="CASCADE",
                                name=op.f("fk_aftersale_action_binding_id_order_binding")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftersale_action")),
        sa.UniqueConstraint("binding_id", "kind", "external_id",
                            name=op.f("uq_aftersale_action_binding_id_kind_external_id")),
    )
    op.create_index(op.f("ix_aftersale_action_binding_id"), "aftersale_action", ["binding_id"])
    op.create_index(op.f("ix_aftersale_action_channel_id"), "aftersale_action", ["channel_id"])
    op.create_index("ix_aftersale_action_status_retry", "aftersale_action",
                    ["status", "retry_at"])
    with op.batch_alter_table("channel_settings") as batch:
        batch.add_column(sa.Column("restock", sa.Boolean(), nullable=False,
                                   server_default="1"))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("channel_settings") as batch:
        batch.drop_column("restock")
    op.drop_index("ix_aftersale_action_status_retry", table_name="aftersale_action")
    op.drop_index("ix_aftersale_action_channel_id", table_name="aftersale_action")
    op.drop_index("ix_aftersale_action_binding_id", table_name="aftersale_action")
    op.drop_table("aftersale_action")
