"""Writes whose correctness depends on the database, not on the caller being careful.

Each is one statement the database decides atomically (a UNIQUE constraint, an upsert with a
condition), so two workers racing on PostgreSQL, or two processes on one SQLite file, end in
the same state as if they had run one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from shelfsync.core.crypto import load_keys, rotate_credentials
from shelfsync.core.errors import ConfigurationError, InvalidInput
from shelfsync.core.models_catalog import StockLevel
from shelfsync.core.models_org import ChannelConnection, StoreConnection
from shelfsync.core.models_sync import WebhookReceipt
from shelfsync.core.rules import ABSURD_QUANTITY


class StoreAlreadyConnected(ConfigurationError):
    """The organization already has its one store connected."""


def insert_for(session: Session, model: type[Any]) -> Any:
    """The dialect's INSERT construct that supports ON CONFLICT (PostgreSQL and SQLite)."""
    return _dialect_insert(session.get_bind().dialect.name, model)


def _dialect_insert(dialect: str, target: Any) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(target)
    if dialect == "sqlite":
        return sqlite.insert(target)
    raise ConfigurationError(f"unsupported database dialect {dialect!r}: use PostgreSQL or SQLite")


S = TypeVar("S")


class Prebuilt(Generic[S]):
    """A statement built once per database dialect, then executed with bind parameters.

    Building an upsert is most of what it costs on the order path: `insert.excluded` makes an
    alias of the whole table, and a new statement object computes its cache key again on
    every execution. `build` receives a function making the dialect's ON CONFLICT-capable
    INSERT of a model's table (a Core insert: no ORM bookkeeping for rows nobody loads).
    """

    def __init__(self, build: Callable[[Callable[[type[Any]], Any]], S]) -> None:
        self._build = build
        self._built: dict[str, S] = {}

    def __call__(self, session: Session) -> S:
        """The statement for the session's database (two threads building it at once keep
        the first: the statements are equal)."""
        dialect = session.get_bind().dialect.name
        built = self._built.get(dialect)
        if built is None:
            built = self._built.setdefault(dialect, self._build(
                lambda model: _dialect_insert(dialect, model.__table__)))
        return built


def add_store_connection(
    session: Session,
    *,
    organization_id: int,
    platform: str,
    base_url: str,
    credentials: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    store_id: str | None = None,
    store_name: str = "",
    secret_key: str | None = None,
) -> StoreConnection:
    """Connect the organization's store; `StoreAlreadyConnected` when it has one.

    One INSERT … ON CONFLICT (organization_id) DO NOTHING: the database's UNIQUE decides, so
    two concurrent requests cannot both succeed, and a refusal raises no IntegrityError that
    would spoil the caller's transaction (no savepoint needed, which pysqlite handles poorly).
    """
    store = StoreConnection(
        organization_id=organization_id,
        platform=platform,
        base_url=base_url,
        settings=dict(settings or {}),
        store_id=store_id,
        store_name=store_name,
    )
    store.set_credentials(credentials, secret_key)
    table = StoreConnection.__table__  # type: ignore[attr-defined]
    statement = (
        insert_for(session, StoreConnection)
        .values(store.model_dump(exclude={"id"}))
        .on_conflict_do_nothing(index_elements=["organization_id"])
        .returning(table.c.id)
    )
    new_id = session.execute(statement).scalar_one_or_none()
    if new_id is None:
        existing = session.exec(
            select(StoreConnection).where(StoreConnection.organization_id == organization_id)
        ).one()
        raise StoreAlreadyConnected(
            f"organization {organization_id} already has a store connected "
            f"({existing.platform} at {existing.base_url}); an organization connects one "
            "store: disconnect it first to connect another",
            platform=platform,
            code="store_already_connected",
        )
    return session.get_one(StoreConnection, new_id)


def record_stock(
    session: Session,
    *,
    store_connection_id: int,
    sku: str,
    location_id: str,
    available: int,
    observed_at: datetime,
) -> bool:
    """Store a stock observation unless a newer (or equally new) one is already stored.

    Returns whether this observation was written. One INSERT … ON CONFLICT DO UPDATE … WHERE
    stored.observed_at < new.observed_at: when two workers race, the database serialises them
    on the row and the older figure loses whichever commits first.
    """
    return record_stock_many(session, store_connection_id,
                             [(sku, location_id, available, observed_at)]) == 1


#: Rows one multi-row upsert writes at most: 5 parameters a row stays far below SQLite's
#: and PostgreSQL's parameter limits.
STOCK_BATCH = 500


def _checked_stock(available: object, observed_at: datetime) -> None:
    if not isinstance(available, int) or isinstance(available, bool):
        raise InvalidInput("available", f"must be an integer, got {available!r}")
    if abs(available) > ABSURD_QUANTITY:
        raise InvalidInput("available", f"{available} is not a stock count (corrupt data?)")
    if observed_at.tzinfo is None or observed_at.utcoffset() is None:
        raise InvalidInput("observed_at", "must be timezone-aware (UTC)")


def record_stock_many(session: Session, store_connection_id: int,
                      observations: Sequence[tuple[str, str, int, datetime]]) -> int:
    """`record_stock` for many (sku, location_id, available, observed_at) at once: the same
    newer-wins upsert, one statement per `STOCK_BATCH` rows instead of one per level (a
    webhook pass of 20 SKUs at 3 locations was 60 round trips; a whole-store read of a million
    SKUs, three million). Every row is checked before anything is written; of two rows for
    the same level the newer one is kept (one statement may not touch a row twice).
    Returns how many rows were written."""
    newest: dict[tuple[str, str], tuple[int, datetime]] = {}
    for sku, location_id, available, observed_at in observations:
        _checked_stock(available, observed_at)
        key = (sku, location_id)
        kept = newest.get(key)
        if kept is None or kept[1] <= observed_at:
            newest[key] = (available, observed_at)
    rows = [{"store_connection_id": store_connection_id, "sku": sku,
             "location_id": location_id, "available": available, "observed_at": observed_at}
            for (sku, location_id), (available, observed_at) in newest.items()]
    statement = _RECORD_STOCK(session)
    written = 0
    for start in range(0, len(rows), STOCK_BATCH):
        written += len(session.execute(statement, rows[start:start + STOCK_BATCH]).all())
    return written


def _record_stock_statement(insert_into: Callable[[type[Any]], Any]) -> Insert:
    table = StockLevel.__table__  # type: ignore[attr-defined]
    insert = insert_into(StockLevel)
    return insert.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=["store_connection_id", "sku", "location_id"],
        set_={"available": insert.excluded.available, "observed_at": insert.excluded.observed_at},
        where=table.c.observed_at < insert.excluded.observed_at,
    ).returning(table.c.id)


#: Newer-wins stock upsert; executed with many rows at once (the driver batches them).
_RECORD_STOCK = Prebuilt(_record_stock_statement)


def record_webhook_receipt(
    session: Session, *, platform: str, connection_id: int, dedup_key: str, topic: str = ""
) -> bool:
    """Remember a webhook delivery; False when the same delivery was already recorded."""
    if not dedup_key:
        raise InvalidInput("dedup_key", "a webhook without a delivery id cannot be deduplicated")
    return session.execute(_RECORD_RECEIPT(session), {
        "platform": platform, "connection_id": connection_id, "dedup_key": dedup_key,
        "topic": topic}).scalar_one_or_none() is not None


_RECORD_RECEIPT = Prebuilt(lambda insert_into: insert_into(WebhookReceipt).on_conflict_do_nothing(
    index_elements=["platform", "connection_id", "dedup_key"]
).returning(WebhookReceipt.__table__.c.id))  # type: ignore[attr-defined]


def rotate_stored_credentials(session: Session, secret_key: str | None = None) -> int:
    """Re-encrypt every connection's credentials with the first key; returns how many.

    The rotation procedure: put the new key first in SHELFSYNC_SECRET_KEY (keeping the old one
    after it), run this, commit, then drop the old key. A token no configured key decrypts
    stops the run with ConfigurationError before anything is committed.
    """
    load_keys(secret_key)  # a missing or invalid key fails before any row is touched
    count = 0
    for model in (StoreConnection, ChannelConnection):
        for connection in session.exec(select(model)):
            connection.credentials_token = rotate_credentials(
                connection.credentials_token, secret_key
            )
            count += 1
    session.flush()
    return count
