"""Engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL.

`SHELFSYNC_DATABASE_URL` picks the database; nothing connects at import. Migrations are the
packaged Alembic scripts, found through importlib.resources, so `upgrade()` works the same from
the checkout and from an installed wheel.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from shelfsync.core.errors import ConfigurationError

DATABASE_URL_ENV = "SHELFSYNC_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///shelfsync.db"

#: How long a SQLite writer waits for another to finish before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url() -> str:
    """The configured database URL (`SHELFSYNC_DATABASE_URL`, default `sqlite:///shelfsync.db`)."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or DEFAULT_DATABASE_URL


def normalize_url(url: str | URL) -> URL:
    """Parse a URL and pick our drivers: `postgresql://` means psycopg 3, not psycopg2."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigurationError(
            f"{DATABASE_URL_ENV} is not a database URL (expected e.g. sqlite:///shelfsync.db or "
            "postgresql://user:password@host:5432/shelfsync)",
            code="database_url_invalid",
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {backend!r} in {DATABASE_URL_ENV}: use sqlite or postgresql",
            code="database_url_invalid",
        )
    return parsed


def redact(url: str | URL) -> str:
    """The URL without its password, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: SQLite forgets all but the journal mode on reconnect."""
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets the web process read while a worker writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        # Off by default in SQLite: without it ON DELETE CASCADE and every FK are ignored.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """A new engine for `url` (default: `database_url()`), configured for its database."""
    parsed = normalize_url(url if url is not None else database_url())
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # A sync pass may hold two connections at once (its own, and a short side transaction
    # that makes pushes in flight durable first): room for two per worker thread and more.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(parsed, **kwargs)


@cache
def _shared_engine(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    """The process-wide engine of `database_url()`, created on first use."""
    return _shared_engine(database_url())


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises.

    Objects stay readable after the block (`expire_on_commit=False`): callers return them to
    views and jobs that no longer hold the session.
    """
    session = Session(engine if engine is not None else get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | URL | None = None) -> Config:
    """The packaged Alembic configuration, pointed at `url` (default: `database_url()`).

    The URL travels in `config.attributes`, not in the ini (where `%` in a password would be
    read as interpolation); `env.py` builds its engine with `make_engine`.
    """
    ini = files("shelfsync.core").joinpath("alembic.ini")
    config = Config(str(ini))
    config.set_main_option("script_location", "shelfsync.core:migrations")
    config.attributes["url"] = normalize_url(url if url is not None else database_url())
    config.attributes["configure_logging"] = False
    return config


def head_revision() -> str:
    """The newest revision the packaged migrations know."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise ConfigurationError("the packaged migrations have no revisions", code="no_migrations")
    return head


def current_revision(url: str | URL | None = None) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str | URL | None = None, revision: str = "head") -> str | None:
    """Migrate the database up to `revision`; returns the revision it is at afterwards."""
    command.upgrade(alembic_config(url), revision)
    return current_revision(url)


def downgrade(url: str | URL | None, revision: str) -> str | None:
    """Migrate the database down to `revision` ("base": no tables); returns where it is."""
    command.downgrade(alembic_config(url), revision)
    return current_revision(url)
