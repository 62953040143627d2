"""Plumbing the engine's modules share: connections for hooks, settings, upserts, re-auth."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import text
from sqlmodel import Session, select

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
)

T = TypeVar("T")

#: Rows per `IN (…)` list: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500
DEFAULT_TIMEOUT = 30.0
#: Rows fetched at a time from a query over a whole catalog (`yield_per`): the ORM would
#: otherwise buffer every row of the result before handing back the first.
STREAM = 2000
#: How long `commit_first`'s own transaction waits for a row lock before giving up.
SIDE_LOCK_TIMEOUT_MS = 15_000


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


def commit_first(session: Session, write: Callable[[Session], object]) -> None:
    """Make `write` durable before the caller goes on (before a push leaves, say).

    PostgreSQL: `write` runs in its own short transaction on another connection, committed at
    once; the caller's transaction (a claim on pending SKUs, the organization's lock) stays
    open and untouched. SQLite has one writer at a time and the caller's transaction may hold
    the write lock, so another connection would only wait for it: `write` runs in the
    caller's transaction, which is committed here (the embedded deployment's pass lock is
    process-local, so no lock goes with that commit).
    """
    engine = session.get_bind().engine
    if engine.dialect.name == "postgresql":
        with Session(engine) as side:
            # Should a row it needs be held by a transaction that waits for the caller's
            # (which waits for this one, out of the database's sight), fail, don't hang.
            side.execute(text(f"SET LOCAL lock_timeout = '{SIDE_LOCK_TIMEOUT_MS}ms'"))
            write(side)
            side.commit()
        return
    write(session)
    session.commit()


class _TokenSaver:
    """Stores tokens a channel plugin refreshed, encrypted, in the caller's transaction."""

    def __init__(self, channel: ChannelConnection) -> None:
        self.channel = channel

    def save_tokens(self, connection: Connection, tokens: Any) -> None:
        """Merge the new access/refresh tokens into the channel's stored credentials."""
        credentials = self.channel.credentials()
        if getattr(tokens, "access_token", ""):
            credentials["access_token"] = tokens.access_token
        if getattr(tokens, "refresh_token", ""):
            credentials["refresh_token"] = tokens.refresh_token
        expires = getattr(tokens, "access_token_expires_at", None)
        if expires:
            credentials["access_token_expire_in"] = str(expires)
        self.channel.set_credentials(credentials)


def timeout_of(row: StoreConnection | ChannelConnection) -> float:
    """The per-request timeout a connection's settings ask for (default 30 s); a stored value
    that is not a number of 0.1 to 300 seconds reads as the default (`shelfsync status` says so)."""
    field = next(f for f in CONNECTION_SETTING_FIELDS if f.name == "timeout")
    return float(field.read(row.settings or {}) or DEFAULT_TIMEOUT)


def store_connection(row: StoreConnection) -> Connection:
    """The plain connection store hooks receive (credentials decrypted)."""
    return row.as_connection(timeout=timeout_of(row))


def channel_connection(row: ChannelConnection) -> Connection:
    """The plain connection channel hooks receive, with a token store for refreshed tokens."""
    base = row.as_connection(timeout=timeout_of(row))
    settings = {"token_store": _TokenSaver(row), **base.settings}
    return Connection(base.platform, base.base_url, base.credentials, settings, base.id,
                      base.timeout)


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
