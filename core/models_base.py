"""The base every Shelfsync table derives from, and the column types they share.

Our tables live in their own SQLAlchemy registry and MetaData (not SQLModel's global one), so
nothing else defined with SQLModel in the same process leaks into our migrations, and so that
every constraint gets a predictable name: Alembic's batch mode on SQLite can only alter or drop
a constraint it can name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ShelfsyncModel(SQLModel, registry=registry(metadata=metadata)):
    """Abstract base of every Shelfsync table (its own registry and metadata)."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so values are normalised to UTC
    before they are written (which also keeps its text timestamps comparable as strings, what
    `record_stock`'s newer-wins upsert relies on) and read back as UTC. A naive datetime is
    refused: its meaning depends on the machine's clock settings, the bug this type exists to
    rule out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give a timezone-aware UTC time")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    """A CHECK that `column` holds one of the enum's values (stored as plain strings).

    Plain strings plus a CHECK, rather than native enum types, keep the same migrations working
    on SQLite and PostgreSQL and let a later migration add a value by replacing one constraint.
    """
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class ConnectionStatus(StrEnum):
    """Health of a store or channel connection, as the UI shows it."""

    OK = "ok"
    NEEDS_REAUTH = "needs_reauth"
    ERROR = "error"


class UserRole(StrEnum):
    """What a user may do inside their organization."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class LocationMode(StrEnum):
    """Which store locations add up to "available" for a channel."""

    ALL = "all"
    SPECIFIC = "specific"


class LinkKind(StrEnum):
    """How a channel SKU got linked to a store SKU."""

    AUTO = "auto"
    MANUAL = "manual"


class LinkProblemKind(StrEnum):
    """Why a SKU could not be linked automatically."""

    DUPLICATE_STORE_SKU = "duplicate_store_sku"
    DUPLICATE_CHANNEL_SKU = "duplicate_channel_sku"
    MISSING_IN_STORE = "missing_in_store"
    MISSING_ON_CHANNEL = "missing_on_channel"


class AuditOutcome(StrEnum):
    """What became of one inventory decision."""

    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"


class RunStatus(StrEnum):
    """State of a sync run."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    ERROR = "error"


class OrderStatus(StrEnum):
    """Where a channel order stands on its way into the store.

    Not enforced by a CHECK: the order engine may refine these states, and a new state should
    not need a migration.
    """

    PENDING = "pending"
    CREATED = "created"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
