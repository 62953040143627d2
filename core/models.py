"""Shelfsync's tables (SQLModel, `table=True`), re-exported from the modules that define them.

Tables never cross the plugin boundary: plugins see the plain dataclasses of `core/types.py`.
Import from here (`from shelfsync.core.models import ChannelConnection`); the split into
`models_*.py` only keeps each module small.
"""

from __future__ import annotations

from shelfsync.core.models_aftersale import AftersaleAction
from shelfsync.core.models_base import (
    NAMING_CONVENTION,
    AuditOutcome,
    ConnectionStatus,
    LinkKind,
    LinkProblemKind,
    LocationMode,
    OrderStatus,
    RunStatus,
    ShelfsyncModel,
    UserRole,
    UTCDateTime,
    metadata,
    utcnow,
)
from shelfsync.core.models_catalog import (
    CatalogVariant,
    ChannelListing,
    LinkProblem,
    Location,
    SkuLink,
    StockLevel,
)
from shelfsync.core.models_ops import (
    StoreAlreadyConnected,
    add_store_connection,
    record_stock,
    record_stock_many,
    record_webhook_receipt,
    rotate_stored_credentials,
)
from shelfsync.core.models_org import (
    ChannelConnection,
    ChannelSettings,
    Organization,
    StoreConnection,
    User,
)
from shelfsync.core.models_pending import (
    ChannelSkuState,
    PendingSku,
    StorePollState,
)
from shelfsync.core.models_sync import (
    AuditIsAppendOnly,
    InventoryAudit,
    OrderBinding,
    PushedQuantity,
    SyncRun,
    WebhookReceipt,
)

__all__ = [
    "NAMING_CONVENTION",
    "AftersaleAction",
    "AuditIsAppendOnly",
    "AuditOutcome",
    "CatalogVariant",
    "ChannelConnection",
    "ChannelListing",
    "ChannelSettings",
    "ChannelSkuState",
    "ConnectionStatus",
    "InventoryAudit",
    "LinkKind",
    "LinkProblem",
    "LinkProblemKind",
    "Location",
    "LocationMode",
    "OrderBinding",
    "OrderStatus",
    "Organization",
    "PendingSku",
    "PushedQuantity",
    "RunStatus",
    "ShelfsyncModel",
    "SkuLink",
    "StockLevel",
    "StoreAlreadyConnected",
    "StoreConnection",
    "StorePollState",
    "SyncRun",
    "UTCDateTime",
    "User",
    "UserRole",
    "WebhookReceipt",
    "add_store_connection",
    "metadata",
    "record_stock",
    "record_stock_many",
    "record_webhook_receipt",
    "rotate_stored_credentials",
    "utcnow",
]
