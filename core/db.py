"""Engines, sessions and migrations for SQLite (the embedded default) and PostgreSQL.

`SHELFSYNC_DATABASE_URL` picks the database; nothing connects at import. Migrations are the
packaged Alembic scripts, found through importlib.resources, so `upgrade()` works the same from
the checkout and from an installed wheel.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlmodel import Session

from shelfsync.core.errors import ConfigurationError
from shelfsync.core.sqlite_gate import GatedConnection

log = logging.getLogger(__name__)
T = TypeVar("T")

DATABASE_URL_ENV = "SHELFSYNC_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///shelfsync.db"

#: How long a SQLite writer waits for another to finish before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000
GatedConnection.timeout_seconds = SQLITE_BUSY_TIMEOUT_MS / 1000


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


def create_private_sqlite_file(url: URL) -> None:
    """Create a SQLite database file readable by its owner only (0600) if it does not exist.

    SQLite would create it with the umask's mode (usually 0644: world-readable tokens and
    orders); it gives the -wal and -shm files it adds the database file's own mode. A file
    that already exists is left as it is; a missing directory is left to SQLite to report.
    """
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:") or url.query.get("uri"):
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, FileNotFoundError, NotADirectoryError, PermissionError):
        return
    os.close(descriptor)


def loose_sqlite_permissions(url: str | URL) -> str | None:
    """A warning when the SQLite file of `url` is readable or writable by others (a file
    made before Shelfsync created them 0600, or copied with a umask), else None."""
    try:
        parsed = normalize_url(url)
    except ConfigurationError:
        return None
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or path in (None, "", ":memory:"):
        return None
    if os.name != "posix":
        return None
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (f"{path} is readable by other users (mode {mode:o}): it holds encrypted credentials "
            f"and merchants' orders; run `chmod 600 {path}*`")


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """A new engine for `url` (default: `database_url()`), configured for its database.

    A SQLite file is created 0600 when it does not exist yet, and this process's connections
    to it write one at a time through `core/sqlite_gate.py`.
    """
    parsed = normalize_url(url if url is not None else database_url())
    if parsed.get_backend_name() == "sqlite":
        create_private_sqlite_file(parsed)
        # This process's writers take turns through a lock woken at once, not SQLite's
        # sleeping busy handler (see core/sqlite_gate.py).
        connect_args = {"factory": GatedConnection, **kwargs.pop("connect_args", {})}
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
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


# --- database faults: one line that says what is wrong and what to run -----------------------

UPGRADE_HINT = "run `shelfsync db upgrade`"


def driver_message(exc: BaseException, url: str | URL | None = None) -> str:
    """The driver's own first line (e.g. "connection refused"), without SQL, parameters or
    links, and without the database password even if a driver echoes it."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    text = lines[0].strip() if lines else type(original).__name__
    password = _password(url)
    return text.replace(password, "***") if password else text


def _password(url: str | URL | None) -> str | None:
    try:
        password = make_url(url if url is not None else database_url()).password
    except (ArgumentError, ValueError):
        return None
    return str(password) if password else None


def _driver_error_name(exc: BaseException) -> str:
    return type(getattr(exc, "orig", None) or exc).__name__


def schema_missing(exc: BaseException) -> bool:
    """A table is missing: the database was never migrated (SQLite, PostgreSQL)."""
    name, text = _driver_error_name(exc), driver_message(exc).lower()
    return name == "UndefinedTable" or "no such table" in text


def schema_outdated(exc: BaseException) -> bool:
    """A column is missing: the database is at an older revision than this code."""
    name, text = _driver_error_name(exc), driver_message(exc).lower()
    return name == "UndefinedColumn" or "no such column" in text or "has no column" in text


def describe_database_error(exc: BaseException, url: str | URL | None = None) -> str:
    """One line for a database fault: what is wrong and what to run (no SQL, no password)."""
    url = url if url is not None else database_url()
    where = f"the database at {redact(url)}"
    detail = driver_message(exc, url)
    if schema_missing(exc):
        return f"{where} has no Shelfsync tables ({detail}): {UPGRADE_HINT}"
    if schema_outdated(exc):
        return f"{where} has an older schema than this version ({detail}): {UPGRADE_HINT}"
    if isinstance(exc, OperationalError):
        return (f"cannot use {where}: {detail}; check {DATABASE_URL_ENV} and that the database "
                "is running (`shelfsync db current` tests the connection)")
    if isinstance(exc, SQLAlchemyError):
        return f"database error on {redact(url)}: {detail}"
    return f"{where}: {detail}"


def is_outage(exc: BaseException) -> bool:
    """A fault that waiting can cure (unreachable server, dropped connection, locked file),
    as opposed to a missing schema, which needs `shelfsync db upgrade`."""
    if schema_missing(exc) or schema_outdated(exc):
        return False
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class DatabaseOutage:
    """Runs periodic database work; during an outage, backs off and logs once.

    The first failure logs one warning line (no traceback) and skips the step; later calls
    are skipped until the back-off delay has passed (doubling up to `max_delay`), and their
    failures are logged at DEBUG only. The first success after an outage logs that the
    database is back. The clock is injected so tests never wait.
    """

    def __init__(self, what: str, *, first_delay: float = 5.0, max_delay: float = 300.0,
                 clock: Callable[[], float] = time.monotonic,
                 logger: logging.Logger | None = None) -> None:
        self.what = what
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.clock = clock
        self.log = logger or log
        self.down_since: float | None = None
        self.delay = 0.0
        self.next_try = 0.0
        self.failures = 0

    def run(self, step: Callable[[], T]) -> T | None:
        """`step()`'s result, or None when it was skipped or failed with an outage."""
        now = self.clock()
        if self.down_since is not None and now < self.next_try:
            return None
        try:
            result = step()
        except SQLAlchemyError as exc:
            if not is_outage(exc):
                raise
            self.failures += 1
            if self.down_since is None:
                self.down_since = now
                self.delay = self.first_delay
                self.log.warning("%s: %s; retrying with back-off, logged again when it is back",
                                 self.what, describe_database_error(exc))
            else:
                self.delay = min(self.delay * 2, self.max_delay)
                self.log.debug("%s: database still unavailable: %s", self.what,
                               driver_message(exc))
            self.next_try = now + self.delay
            return None
        if self.down_since is not None:
            self.log.warning("%s: the database is reachable again after %.0f s (%d failed "
                             "attempts)", self.what, now - self.down_since, self.failures)
            self.down_since, self.failures = None, 0
        return result


class OutageLogFilter(logging.Filter):
    """Lets one log record with a database outage through per outage (e.g. Dramatiq's
    "Failed to process message" with its traceback), as one line; drops the rest.

    An outage is over when no such record arrived for `quiet_after` seconds (longer than the
    retry back-off between two attempts of a message).
    """

    def __init__(self, quiet_after: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.quiet_after = quiet_after
        self.clock = clock
        self.last_seen: float | None = None
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not isinstance(exc, SQLAlchemyError) or not is_outage(exc):
            return True
        now = self.clock()
        ongoing = self.last_seen is not None and now - self.last_seen < self.quiet_after
        self.last_seen = now
        if ongoing:
            self.suppressed += 1
            return False
        original = record.getMessage()
        record.msg = "%s (database outage: %s; further failures are not logged until it ends)"
        record.args = (original, describe_database_error(exc))
        record.exc_info = None
        record.exc_text = None
        return True


#: Where Dramatiq logs a failed message, with its traceback.
WORKER_LOGGER = "dramatiq.worker.WorkerThread"
_WORKER_FILTER = OutageLogFilter()


def install_outage_log_filter(logger_name: str = WORKER_LOGGER) -> OutageLogFilter:
    """Make a worker log a database outage once, not once per failed message (idempotent)."""
    logger = logging.getLogger(logger_name)
    if _WORKER_FILTER not in logger.filters:
        logger.addFilter(_WORKER_FILTER)
    return _WORKER_FILTER
