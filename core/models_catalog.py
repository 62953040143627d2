"""What the store sells and holds, what each channel lists, and how their SKUs are linked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field

from shelfsync.core.models_base import (
    LinkKind,
    LinkProblemKind,
    ShelfsyncModel,
    UTCDateTime,
    one_of,
    utcnow,
)


class CatalogVariant(ShelfsyncModel, table=True):
    """One sellable variant of the store's catalog, as last fetched."""

    __tablename__ = "catalog_variant"
    __table_args__ = (
        UniqueConstraint("store_connection_id", "variant_id"),
        # Passes look variants up by a list of SKUs within one store (migration 0009).
        Index("ix_catalog_variant_store_sku", "store_connection_id", "sku"),
    )

    id: int | None = Field(default=None, primary_key=True)
    store_connection_id: int = Field(foreign_key="store_connection.id", ondelete="CASCADE")
    product_id: str
    variant_id: str
    sku: str = Field(index=True)
    title: str = ""
    #: Money stays a decimal string, as the platform sent it.
    price: str | None = None
    currency: str | None = None
    #: Shopify's inventory item id: stock webhooks name these, not SKUs.
    inventory_item_id: str | None = Field(default=None, index=True)
    continue_selling: bool = False
    tracked: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StockLevel(ShelfsyncModel, table=True):
    """Available units of one store SKU at one location, with when the store said so.

    Written only through `record_stock`, which keeps the newest observation: webhooks and
    reconciliation passes arrive out of order, and an older figure must never overwrite a newer.
    """

    __tablename__ = "stock_level"
    __table_args__ = (UniqueConstraint("store_connection_id", "sku", "location_id"),)

    id: int | None = Field(default=None, primary_key=True)
    store_connection_id: int = Field(foreign_key="store_connection.id", ondelete="CASCADE")
    sku: str = Field(index=True)
    location_id: str
    available: int
    observed_at: datetime = Field(sa_type=UTCDateTime)


class Location(ShelfsyncModel, table=True):
    """A store location (Shopify warehouses, …): which ones count is a channel setting."""

    __tablename__ = "location"
    __table_args__ = (UniqueConstraint("store_connection_id", "location_id"),)

    id: int | None = Field(default=None, primary_key=True)
    store_connection_id: int = Field(foreign_key="store_connection.id", ondelete="CASCADE")
    location_id: str
    name: str = ""
    active: bool = True


class ChannelListing(ShelfsyncModel, table=True):
    """One SKU as a channel lists it, as last fetched."""

    __tablename__ = "channel_listing"
    __table_args__ = (
        UniqueConstraint("channel_id", "sku_id"),
        # Auto-linking looks listings up by a list of seller SKUs within one channel.
        Index("ix_channel_listing_channel_seller_sku", "channel_id", "seller_sku"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel_connection.id", ondelete="CASCADE")
    product_id: str
    sku_id: str
    seller_sku: str = Field(default="", index=True)
    status: str = ""
    title: str = ""
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SkuLink(ShelfsyncModel, table=True):
    """A channel SKU bound to a store SKU; one link per channel SKU."""

    __tablename__ = "sku_link"
    __table_args__ = (
        UniqueConstraint("channel_id", "sku_id"),
        Index("ix_sku_link_channel_id_store_sku", "channel_id", "store_sku"),
        # A reconcile reads one part of a channel's products' links at a time.
        Index("ix_sku_link_channel_product", "channel_id", "product_id"),
        one_of("kind", LinkKind, "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel_connection.id", ondelete="CASCADE")
    store_sku: str
    product_id: str
    sku_id: str
    kind: str = LinkKind.AUTO.value
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LinkProblem(ShelfsyncModel, table=True):
    """Why a SKU could not be linked automatically, shown for the merchant to fix."""

    __tablename__ = "link_problem"
    __table_args__ = (one_of("kind", LinkProblemKind, "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel_connection.id", ondelete="CASCADE", index=True)
    kind: str
    sku: str
    detail: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
