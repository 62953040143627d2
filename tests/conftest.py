"""Shared database fixtures: every database test runs on SQLite and on PostgreSQL.

- `database_url`: an EMPTY database (for migration tests), parametrized sqlite / postgresql.
- `migrated_url`: a database at the newest schema, fresh for each test; `engine` and
  `session` sit on it. Tests may commit, open more sessions or threads: nothing leaks into
  the next test.

SQLite: a file under the test's tmp_path (the migrated one is a copy of a template migrated
once per session). PostgreSQL: this session creates `shelfsync_test_<random>` (migrated once,
used as a template) and clones it per test, dropping everything at the end. When PostgreSQL
is unreachable the postgresql cases are skipped with the reason, except when CI=true: there
they fail, so a broken CI service never passes silently as "skipped".
`SHELFSYNC_TEST_POSTGRES_URL` points at another server (default: postgres@127.0.0.1:5432).

A PostgreSQL-only test (row locks, triggers …) overrides the backend by direct parametrization:
    @pytest.mark.postgres
    @pytest.mark.parametrize("database_backend", ["postgresql"])
    def test_something(engine): ...
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from shelfsync.core.db import make_engine, upgrade
from shelfsync.core.testing.environment import unavailable

POSTGRES_ADMIN_URL = os.environ.get(
    "SHELFSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class PostgresServer:
    """The test PostgreSQL server and the databases this session made on it."""

    admin_url: str
    prefix: str = field(default_factory=lambda: f"shelfsync_test_{secrets.token_hex(4)}")
    counter: itertools.count[int] = field(default_factory=itertools.count)
    template: str | None = None

    def _admin(self) -> psycopg.Connection:
        # CREATE/DROP DATABASE cannot run inside a transaction.
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database `name` on this server."""
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        """A new database (a copy of `template` when given); returns its name."""
        name = f"{self.prefix}_{next(self.counter)}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self._admin() as conn:
            if template and conn.info.server_version >= 150000:
                # PostgreSQL 15's default WAL_LOG copy is ~5x slower for a small database.
                clause += " STRATEGY FILE_COPY"
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        return name

    def drop(self, name: str) -> None:
        """Drop a database, closing whatever connections a test left open."""
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        """Drop every database this session created (even those a crashed test left)."""
        with self._admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{self.prefix}%",)
            ).fetchall()
            for (name,) in rows:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The reachable PostgreSQL server, or a skip (a failure when CI=true) saying why not."""
    server = PostgresServer(POSTGRES_ADMIN_URL)
    try:
        with server._admin() as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        where = make_url(POSTGRES_ADMIN_URL).render_as_string(hide_password=True)
        unavailable(f"PostgreSQL not reachable at {where}: {str(exc).strip().splitlines()[0]}")
    try:
        yield server
    finally:
        server.drop_all()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """The session's migrated PostgreSQL database, cloned by each test that needs one."""
    name = postgres_server.create()
    upgrade(postgres_server.url(name))  # disposes its engine: a template must be unused
    postgres_server.template = name
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session, copied by each test that needs one."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")  # the last connection closing checkpoints the WAL into it
    return path


@pytest.fixture(params=BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    """Which database a test runs on: "sqlite" or "postgresql"."""
    return str(request.param)


@pytest.fixture
def database_url(
    database_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The URL of an empty database (no tables), for tests that run migrations themselves."""
    if database_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create()
    try:
        yield server.url(name)
    finally:
        server.drop(name)


@pytest.fixture
def migrated_url(
    database_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The URL of a database of this test's own at the newest schema, with no rows."""
    if database_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "shelfsync.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create(template=request.getfixturevalue("postgres_template"))
    try:
        yield server.url(name)
    finally:
        server.drop(name)


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine (`shelfsync.core.db.make_engine`) on the test's migrated database."""
    engine = make_engine(migrated_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on `engine`; objects stay readable after commit."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(autouse=True)
def _no_shopify_bucket_from_an_earlier_test() -> Iterator[None]:
    """The Shopify client keeps what it learnt of each shop's cost bucket per base URL, for
    the process's life. A test's fake listens on a port a finished test's fake may have had:
    without this, a bucket of 400 learnt there refused a 502-point query here before asking
    (seen with one xdist worker). Each test starts as a new process would."""
    from shelfsync.plugins.shopify.client import forget_budget

    forget_budget()
    yield
