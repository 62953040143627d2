"""Indexes for the per-part look-ups of a pass: SKUs within a store, products and seller SKUs
within a channel.

Revision ID: 0009_catalog_indexes
Revises: 0008_aftersale
Create Date: 2026-12-03

A reconcile works a part (a few thousand SKUs) at a time and looks the part up with
`… WHERE store_connection_id = ? AND sku IN (…)` (and the same for a channel's links by
product and its listings by seller SKU). With only a single-column index beside the unique
constraint, SQLite searched by the store or channel id alone and walked every row of the
store per part: a reconcile cost O(catalog²), unnoticeable at 500 SKUs and hours at
1,000,000 (tests/core/sync/test_query_plans.py keeps every such query on an index). Nothing
but indexes changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_catalog_indexes"
down_revision: str | Sequence[str] | None = "0008_aftersale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_catalog_variant_store_sku", "catalog_variant", ["store_connection_id", "sku"]),
    ("ix_channel_listing_channel_seller_sku", "channel_listing", ["channel_id", "seller_sku"]),
    ("ix_sku_link_channel_product", "sku_link", ["channel_id", "product_id"]),
)


def upgrade() -> None:
    """Create the three composite indexes."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Drop them."""
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
