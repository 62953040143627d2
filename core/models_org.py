"""Organizations, their users, their one store and their channels, and per-channel settings.

Connections keep their credentials only as a Fernet token (`credentials_token`); the plaintext
is reachable through `credentials(secret_key)` / `set_credentials(...)` and is never a column,
never part of `repr`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Numeric, Text, UniqueConstraint
from sqlmodel import Field
from werkzeug.security import check_password_hash, generate_password_hash

from shelfsync.core.crypto import decrypt_credentials, encrypt_credentials
from shelfsync.core.models_base import (
    ConnectionStatus,
    LocationMode,
    ShelfsyncModel,
    UserRole,
    UTCDateTime,
    one_of,
    utcnow,
)
from shelfsync.core.types import Connection


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


def _updated() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow})


class Organization(ShelfsyncModel, table=True):
    """A merchant: one store, many channels, its users. Nothing is shared across them."""

    __tablename__ = "organization"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    created_at: datetime = _created()


class User(ShelfsyncModel, table=True):
    """A person who signs in to the UI; belongs to exactly one organization."""

    __tablename__ = "user_account"  # "user" is reserved on PostgreSQL
    __table_args__ = (one_of("role", UserRole, "role"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", ondelete="CASCADE", index=True)
    email: str = Field(unique=True)
    password_hash: str = Field(repr=False)
    role: str = Field(default=UserRole.MEMBER.value)
    created_at: datetime = _created()

    @staticmethod
    def normalize_email(email: str) -> str:
        """Emails compare case-insensitively; store them lower-cased and trimmed."""
        return email.strip().lower()

    def set_password(self, password: str) -> None:
        """Store a salted hash of `password` (werkzeug's default scheme)."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Whether `password` matches the stored hash (constant-time comparison)."""
        return check_password_hash(self.password_hash, password)


class _EncryptedCredentials:
    """Credential access for connection tables: plaintext only in memory, only on request.

    A mixin without annotations (pydantic would turn them into columns, out of order); the
    tables below declare `credentials_token`, `platform`, `base_url`, `settings` and `id`.
    """

    def set_credentials(
        self, credentials: Mapping[str, Any], secret_key: str | None = None
    ) -> None:
        """Encrypt and keep `credentials` (key from the argument or SHELFSYNC_SECRET_KEY)."""
        self.credentials_token = encrypt_credentials(credentials, secret_key)

    def credentials(self, secret_key: str | None = None) -> dict[str, Any]:
        """The decrypted credentials (key from the argument or SHELFSYNC_SECRET_KEY)."""
        return decrypt_credentials(self.credentials_token, secret_key)

    def as_connection(self, secret_key: str | None = None, timeout: float = 30.0) -> Connection:
        """The plain `Connection` a plugin hook receives, credentials decrypted."""
        return Connection(
            platform=self.platform,
            base_url=self.base_url,
            credentials=self.credentials(secret_key),
            settings=dict(self.settings or {}),
            id=self.id,
            timeout=timeout,
            platform_id=getattr(self, "store_id", None) or getattr(self, "shop_id", None) or "",
        )


class StoreConnection(_EncryptedCredentials, ShelfsyncModel, table=True):
    """The organization's one eCommerce store (at most one: a UNIQUE on organization_id)."""

    __tablename__ = "store_connection"
    __table_args__ = (
        UniqueConstraint("organization_id"),
        one_of("status", ConnectionStatus, "status"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", ondelete="CASCADE")
    platform: str
    base_url: str
    credentials_token: str = Field(sa_type=Text, repr=False)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=ConnectionStatus.OK.value)
    status_message: str = Field(default="", sa_type=Text)
    #: The platform's own id / name for the store (Shopify's myshopify domain, a Magento
    #: store code …), shown in the UI and used to route the store's webhooks.
    store_id: str | None = Field(default=None, index=True)
    store_name: str = ""
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class ChannelConnection(_EncryptedCredentials, ShelfsyncModel, table=True):
    """One TikTok Shop (or other channel) shop of an organization; there may be many.

    TikTok's `shop_cipher` is a credential: it lives in the encrypted credentials, not here.
    """

    __tablename__ = "channel_connection"
    __table_args__ = (
        UniqueConstraint("organization_id", "platform", "shop_id"),
        one_of("status", ConnectionStatus, "status"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", ondelete="CASCADE", index=True)
    platform: str
    base_url: str
    credentials_token: str = Field(sa_type=Text, repr=False)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    #: None until the shop is known (authorization pending): NULLs never collide in UNIQUE.
    shop_id: str | None = Field(default=None, index=True)
    shop_name: str = ""
    status: str = Field(default=ConnectionStatus.OK.value)
    status_message: str = Field(default="", sa_type=Text)
    last_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class ChannelSettings(ShelfsyncModel, table=True):
    """What the merchant chose for one channel; the database refuses out-of-range values."""

    __tablename__ = "channel_settings"
    __table_args__ = (
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
        CheckConstraint("threshold >= 0", name="threshold_nonnegative"),
        CheckConstraint("currency_rate > 0", name="currency_rate_positive"),
        CheckConstraint("reconcile_interval_minutes >= 1", name="reconcile_interval_positive"),
        CheckConstraint("on_hold IN ('wait', 'create')", name="on_hold_choice"),
        CheckConstraint("order_poll_minutes >= 1", name="order_poll_positive"),
        one_of("location_mode", LocationMode, "location_mode"),
    )

    channel_id: int = Field(
        foreign_key="channel_connection.id", ondelete="CASCADE", primary_key=True
    )
    inventory_sync: bool = True
    percent: int = 100
    threshold: int = 0
    honor_continue_selling: bool = True
    location_mode: str = LocationMode.ALL.value
    location_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    product_sync: bool = False
    order_sync: bool = True
    fulfillment_sync: bool = True
    cancellation_sync: bool = True
    refund_sync: bool = True
    auto_link: bool = True
    #: Channel price = store price x rate. Numeric(12, 6): exact on PostgreSQL, and within a
    #: double's 15 significant digits where SQLite stores it as a float.
    currency_rate: Decimal = Field(default=Decimal(1), sa_type=Numeric(12, 6))
    #: Store carrier name -> channel shipping provider id.
    carrier_mapping: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    reconcile_interval_minutes: int = 15
    #: TikTok's ON_HOLD (the buyer's cancellation window): "wait" for AWAITING_SHIPMENT, or
    #: "create" the store order at once.
    on_hold: str = Field(default="wait", sa_column_kwargs={"server_default": "wait"})
    #: How often the channel's orders are polled (webhooks can be lost).
    order_poll_minutes: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    #: Whether units a channel cancellation or refund gives back return to the store's stock.
    restock: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})
    updated_at: datetime = _updated()
