"""Plumbing the engine's modules share: connections for hooks, settings, upserts, re-auth."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, text, update
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from shelfsync.core.connection_cache import FreshView
from shelfsync.core.errors import ConfigurationError, InvalidInput
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    ConnectionStatus,
    StoreConnection,
)
from shelfsync.core.models_ops import insert_for
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.types import (
    CHANNEL_MAXIMUM,
    CONNECTION_SETTING_FIELDS,
    Capabilities,
    Connection,
    CredentialsCallback,
    PassScope,
)

T = TypeVar("T")

#: Rows per `IN (…)` list: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500
DEFAULT_TIMEOUT = 30.0
#: Rows fetched at a time from a query over a whole catalog (`yield_per`): the ORM would
#: otherwise buffer every row of the result before handing back the first.
STREAM = 2000
#: How long a side transaction (saving refreshed credentials) waits for a row lock before
#: giving up.
SIDE_LOCK_TIMEOUT_MS = 15_000
#: First and longest wait before a transiently failed order or after-sale action is tried
#: again.
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def upsert(session: Session, model: type[Any], values: Mapping[str, Any],
           keys: Sequence[str], update: Iterable[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE: one statement, so racing workers cannot both
    insert; the last writer's values stand."""
    insert = insert_for(session, model).values(**values)
    columns = {name: insert.excluded[name] for name in update}
    session.execute(insert.on_conflict_do_update(index_elements=list(keys), set_=columns))


def upsert_many(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]],
                keys: Sequence[str], update: Iterable[str]) -> None:
    """`upsert` for many rows, one statement per `CHUNK // 5` rows (parameter limits)."""
    names = list(update)
    for part in chunks(list(rows), CHUNK // 5):
        insert = insert_for(session, model).values(list(part))
        columns = {name: insert.excluded[name] for name in names}
        session.execute(insert.on_conflict_do_update(index_elements=list(keys), set_=columns))


def credentials_saver(engine: Engine, model: type[StoreConnection] | type[ChannelConnection],
                      connection_id: int) -> CredentialsCallback:
    """The `on_credentials_refreshed` callback of one connection.

    A plugin calls it (from any thread: push threads included) with the credentials it
    refreshed; they are merged into the connection's stored credentials, encrypted, in a
    short transaction of their own, committed at once, so a token rotated mid-pass survives
    whatever becomes of the pass's transaction. Nothing of the caller's session or rows is
    touched. On PostgreSQL a row lock held elsewhere makes it fail after
    `SIDE_LOCK_TIMEOUT_MS` rather than hang.
    """

    def save(refreshed: Mapping[str, str]) -> None:
        changed = {str(key): str(value) for key, value in refreshed.items() if value}
        if not changed:
            return
        table = model.__table__  # type: ignore[attr-defined]
        with Session(engine) as side:
            if engine.dialect.name == "postgresql":
                side.execute(text(f"SET LOCAL lock_timeout = '{SIDE_LOCK_TIMEOUT_MS}ms'"))
            # Take the row's write lock before reading it (a no-op UPDATE: PostgreSQL locks
            # the row, SQLite the database), so two threads' saves merge one after the
            # other instead of the later overwriting the earlier.
            side.execute(update(table).where(table.c.id == connection_id)
                         .values(credentials_token=table.c.credentials_token))
            row = side.get(model, connection_id)
            if row is None:  # disconnected meanwhile: nothing to keep the tokens for
                return
            row.set_credentials({**row.credentials(), **changed})
            side.add(row)
            side.commit()

    return save


def timeout_of(row: StoreConnection | ChannelConnection) -> float:
    """The per-request timeout a connection's settings ask for (default 30 s); a stored value
    that is not a number of 0.1 to 300 seconds reads as the default (`shelfsync status` says so)."""
    field = next(f for f in CONNECTION_SETTING_FIELDS if f.name == "timeout")
    return float(field.read(row.settings or {}) or DEFAULT_TIMEOUT)


def _engine_connection(row: StoreConnection | ChannelConnection) -> Connection:
    base = row.as_connection(timeout=timeout_of(row))
    session = object_session(row)
    if session is None or row.id is None:
        return base
    saver = credentials_saver(session.get_bind().engine, type(row), row.id)
    return replace(base, on_credentials_refreshed=saver)


def store_connection(row: StoreConnection) -> Connection:
    """The plain connection store hooks receive: credentials decrypted, the store's own id,
    and a callback that saves refreshed credentials in a transaction of its own."""
    return _engine_connection(row)


def channel_connection(row: ChannelConnection) -> Connection:
    """The plain connection channel hooks receive: credentials decrypted, the shop's id, and
    a callback that saves refreshed tokens in a transaction of its own."""
    return _engine_connection(row)


def pass_scope(pm: ShelfsyncPluginManager, connection: Connection, *,
               fresh: bool = False) -> PassScope:
    """A new pass's scope for `connection`, carrying the connection's cache that outlives
    passes (kept by the plugin manager: see core/connection_cache.py). A `fresh` pass (a
    reconciliation, which repairs drift) reads nothing it did not put there itself."""
    cache = pm.connection_caches.for_connection(
        connection.platform, connection.id, connection.base_url, connection.platform_id)
    return PassScope(FreshView(cache) if fresh else cache)


def store_of(session: Session, organization_id: int) -> StoreConnection:
    """The organization's store; ConfigurationError when none is connected."""
    store = session.exec(
        select(StoreConnection).where(StoreConnection.organization_id == organization_id)
    ).first()
    if store is None:
        raise ConfigurationError(
            f"organization {organization_id} has no store connected: connect one first",
            code="no_store",
        )
    return store


def channel_row(session: Session, channel_id: int) -> ChannelConnection:
    """A channel by id; InvalidInput when there is none."""
    channel = session.get(ChannelConnection, channel_id)
    if channel is None:
        raise InvalidInput("channel", f"no channel with id {channel_id}")
    return channel


def settings_of(session: Session, channel_id: int) -> ChannelSettings:
    """The channel's settings, or the defaults when the merchant never saved any."""
    return session.get(ChannelSettings, channel_id) or ChannelSettings(channel_id=channel_id)


def capabilities_of(pm: ShelfsyncPluginManager, platform: str) -> Capabilities:
    """A platform's declared capabilities; ConfigurationError when no plugin serves it."""
    try:
        return pm.platform(platform).capabilities
    except KeyError as exc:
        raise ConfigurationError(str(exc.args[0]), platform=platform,
                                 code="plugin_missing") from None


def channel_maximum(pm: ShelfsyncPluginManager, platform: str) -> int:
    """The highest quantity the channel accepts (its capability, else 99,999)."""
    return capabilities_of(pm, platform).max_quantity or CHANNEL_MAXIMUM


def mark_needs_reauth(session: Session, connection_kind: str, connection_id: int,
                      message: str) -> None:
    """Flag a store ("store") or channel ("channel") connection as needing re-authorization."""
    model: type[StoreConnection] | type[ChannelConnection]
    if connection_kind == "store":
        model = StoreConnection
    elif connection_kind == "channel":
        model = ChannelConnection
    else:
        raise InvalidInput("connection_kind", f"must be 'store' or 'channel', not "
                           f"{connection_kind!r}")
    row = session.get(model, connection_id)
    if row is None:
        raise InvalidInput("connection_id", f"no {connection_kind} connection {connection_id}")
    row.status = ConnectionStatus.NEEDS_REAUTH.value
    row.status_message = message[:2000]
    session.add(row)
    session.flush()


def backoff(attempts: int) -> timedelta:
    """The wait before transient attempt `attempts + 1`: doubling, capped (orders and
    after-sale actions retry alike)."""
    return min(FIRST_BACKOFF * (2 ** max(0, attempts - 1)), MAX_BACKOFF)
