"""Database faults are one line and an exit code, and a worker's outage is logged once.

Every command meets the fault for real: a database that was never migrated (SQLite and
PostgreSQL), a PostgreSQL server nobody listens for, a SQLite file in a missing directory.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import dramatiq
import pytest
from click.testing import CliRunner
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries
from sqlalchemy import Engine, event, text

from shelfsync.core.cli import build_cli
from shelfsync.core.crypto import SECRET_KEY_ENV, generate_key
from shelfsync.core.db import (
    DATABASE_URL_ENV,
    WORKER_LOGGER,
    DatabaseOutage,
    OutageLogFilter,
    loose_sqlite_permissions,
    make_engine,
    session_scope,
)
from shelfsync.core.models import Organization, add_store_connection
from shelfsync.core.scheduler import Jobs

UNREACHABLE = "postgresql://shelfsync:s3cret-pw@127.0.0.1:1/shelfsync"
MISSING_DIRECTORY = "sqlite:////nonexistent-dir/shelfsync/x.db"

#: Commands that read or write the database, each with arguments that pass validation.
COMMANDS = [
    ["org", "create", "Acme"],
    ["status"],
    ["status", "--json"],
    ["sync", "inventory", "--org", "Acme"],
    ["channel", "settings", "1"],
    ["webhooks", "subscribe", "--org", "Acme", "--public-url", "https://shelfsync.example.com"],
    ["connect", "store", "shopify", "--org", "Acme", "--credential", "access_token=x"],
]


def invoke(args: list[str], url: str, key: str | None = None) -> tuple[int, str, str]:
    env = {DATABASE_URL_ENV: url, SECRET_KEY_ENV: generate_key() if key is None else key,
           "SHELFSYNC_ALLOW_PRIVATE_URLS": None}
    result = CliRunner().invoke(build_cli(), args, env=env)
    return result.exit_code, result.stdout, result.stderr


def assert_one_error_line(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    for leak in ("Traceback", "s3cret-pw", "SELECT", "sqlalche.me", "[SQL"):
        assert leak not in out + err


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_a_never_migrated_database_says_run_db_upgrade(database_url: str,
                                                       args: list[str]) -> None:
    code, out, err = invoke(args, database_url)
    assert_one_error_line(code, out, err, "no Shelfsync tables", "run `shelfsync db upgrade`")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_an_unreachable_database_is_one_line_without_the_password(args: list[str]) -> None:
    code, out, err = invoke(args, UNREACHABLE)
    assert_one_error_line(code, out, err, "cannot use the database at "
                          "postgresql://shelfsync:***@127.0.0.1:1/shelfsync",
                          "Connection refused", DATABASE_URL_ENV)


def test_a_sqlite_file_that_cannot_be_opened_is_one_line() -> None:
    code, out, err = invoke(["org", "create", "Acme"], MISSING_DIRECTORY)
    assert_one_error_line(code, out, err, "unable to open database file")


def test_run_refuses_an_unreachable_database_in_one_line() -> None:
    code, out, err = invoke(["run", "--port", "0"], UNREACHABLE)
    assert_one_error_line(code, out, err, "cannot use the database")


# --- the scheduler and the worker during an outage --------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_scheduler_backs_off_and_logs_an_outage_once(
        caplog: pytest.LogCaptureFixture, migrated_url: str) -> None:
    """Housekeeping every minute against a dead database: one warning, growing pauses, and
    one line when the database is back (the jobs then run as usual)."""
    dead = make_engine(UNREACHABLE)
    enqueued: list[int] = []
    jobs = Jobs(dead, enqueued.append, enqueued.append)
    clock = Clock()
    jobs.outage.clock = clock
    attempts: list[object] = []
    event.listen(dead, "do_connect", lambda *args: attempts.append(args))
    caplog.set_level(logging.DEBUG)
    for _ in range(60):  # an hour of housekeeping and catalog refreshes
        jobs.refresh_catalogs()
        clock.now += 60
    outage_warnings = [m for m in warnings_of(caplog) if "scheduler" in m]
    assert len(outage_warnings) == 1, outage_warnings
    assert "cannot use the database" in outage_warnings[0]
    assert "s3cret-pw" not in caplog.text and "Traceback" not in caplog.text
    # Backed off: far fewer connection attempts than calls (5 s doubling up to 300 s).
    assert 5 < len(attempts) < 20
    assert jobs.outage.delay == jobs.outage.max_delay
    # The database comes back: one line, and the job does its work again.
    jobs.engine = make_engine(migrated_url)
    with session_scope(jobs.engine) as session:
        org = Organization(name="Acme")
        session.add(org)
        session.flush()
        add_store_connection(session, organization_id=org.id,  # type: ignore[arg-type]
                             platform="shopify", base_url="https://a",
                             credentials={"access_token": "t"}, secret_key=generate_key())
        organization_id = org.id
    caplog.clear()
    clock.now += jobs.outage.max_delay
    jobs.refresh_catalogs()
    assert enqueued == [organization_id]
    assert [m for m in warnings_of(caplog) if "reachable again" in m]
    jobs.engine.dispose()


def test_a_missing_schema_is_not_an_outage(database_url: str) -> None:
    """A database that needs `db upgrade` is not waited out silently: the error surfaces."""
    engine = make_engine(database_url)
    outage = DatabaseOutage("test", clock=Clock())

    def read() -> list[object]:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT id FROM organization")).all())

    try:
        with pytest.raises(Exception, match="organization"):
            outage.run(read)
        assert outage.down_since is None
    finally:
        engine.dispose()


def test_worker_failures_in_an_outage_are_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    """What Dramatiq logs per failed message ("Failed to process message … unhandled
    exception" with a traceback) passes once per outage, as one line."""
    engine: Engine = make_engine(UNREACHABLE)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # the real driver error of a dead server
        failure = exc
    finally:
        engine.dispose()
    clock = Clock()
    logger = logging.getLogger("tests.dramatiq.worker.WorkerThread")
    quiet = OutageLogFilter(quiet_after=600, clock=clock)
    logger.addFilter(quiet)
    caplog.set_level(logging.INFO, logger=logger.name)
    try:
        for minute in range(30):  # a message retried every minute for half an hour
            clock.now += 60
            try:
                raise failure.with_traceback(None)
            except Exception:
                logger.error("Failed to process message %s with unhandled exception.",
                             f"sync_pending({minute})", exc_info=True)
        logger.info("an unrelated line")
        clock.now += 601  # quiet long enough: the outage ended; a new one is logged again
        try:
            raise failure.with_traceback(None)
        except Exception:
            logger.error("Failed to process message %s with unhandled exception.", "x",
                         exc_info=True)
    finally:
        logger.removeFilter(quiet)
    records = [r for r in caplog.records if r.name == logger.name]
    errors = [r for r in records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all(r.exc_info is None for r in errors)  # one line, no traceback
    assert "cannot use the database" in errors[0].getMessage()
    assert "s3cret-pw" not in caplog.text
    assert quiet.suppressed == 29
    assert any(r.getMessage() == "an unrelated line" for r in records)


# --- `run` without a usable secret key --------------------------------------------------------


def run_shelfsync(tmp_path: Path, url: str, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFSYNC_")}
    env[DATABASE_URL_ENV] = url
    if key is not None:
        env[SECRET_KEY_ENV] = key
    return subprocess.run([sys.executable, "-m", "shelfsync.core", "run", "--port", "0"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize("key", [None, "", "not-a-fernet-key"])
def test_run_refuses_to_start_without_a_usable_key(tmp_path: Path, migrated_url: str,
                                                   key: str | None) -> None:
    result = run_shelfsync(tmp_path, migrated_url, key)
    assert result.returncode == 1
    # (A world-readable copy of the test database adds a warning line before it.)
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {SECRET_KEY_ENV} is ")
    assert "Shelfsync on http" not in result.stdout


def test_run_refuses_a_key_that_does_not_open_the_stored_credentials(
        tmp_path: Path, engine: Engine, migrated_url: str) -> None:
    with session_scope(engine) as session:
        org = Organization(name="Acme")
        session.add(org)
        session.flush()
        add_store_connection(session, organization_id=org.id,  # type: ignore[arg-type]
                             platform="shopify", base_url="https://a",
                             credentials={"access_token": "t"}, secret_key=generate_key())
    result = run_shelfsync(tmp_path, migrated_url, generate_key())
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "cannot be decrypted" in last


# --- file permissions -------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "shelfsync.db"
    old_umask = os.umask(0o022)  # the usual default: files world-readable
    try:
        code, _, err = invoke(["db", "upgrade"], f"sqlite:///{path}")
        assert code == 0, err
        engine = make_engine(f"sqlite:///{path}")
        with session_scope(engine) as session:
            session.add(Organization(name="Acme"))
        with engine.connect():  # keeps the WAL and shared-memory files open
            modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(old_umask)
    assert {"shelfsync.db", "shelfsync.db-wal", "shelfsync.db-shm"} <= set(modes), modes
    assert set(modes.values()) == {0o600}, modes


def test_worker_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFSYNC_")}
    env["SHELFSYNC_BROKER_URL"] = "redis://127.0.0.1:6379/0"
    result = subprocess.run([sys.executable, "-m", "shelfsync.core", "worker"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {SECRET_KEY_ENV} is not set")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_world_readable_sqlite_file_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    assert invoke(["db", "upgrade"], url)[0] == 0
    assert loose_sqlite_permissions(url) is None
    path.chmod(0o644)
    warning = loose_sqlite_permissions(url)
    assert warning is not None and "mode 644" in warning and "chmod 600" in warning
    # `run` says so on its way up (here it then stops at the missing key).
    result = run_shelfsync(tmp_path, url, None)
    assert result.returncode == 1
    assert f"warning: {path} is readable by other users" in result.stderr


def test_a_dramatiq_worker_logs_an_outage_once(caplog: pytest.LogCaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Dramatiq: five messages, each retried twice with back-off, all failing on a dead
    database — one error line in the log, no traceback, not fifteen."""
    monkeypatch.setenv(DATABASE_URL_ENV, UNREACHABLE)  # the database the worker's jobs use
    broker = StubBroker(middleware=[Retries(min_backoff=5, max_backoff=20)])
    dead = make_engine(UNREACHABLE)
    attempts: list[int] = []

    def touch_database(n: int) -> None:
        attempts.append(n)
        with session_scope(dead) as session:
            session.execute(text("SELECT 1"))

    actor = dramatiq.actor(touch_database, broker=broker, max_retries=2,
                           actor_name="touch_database_outage_test")
    quiet = OutageLogFilter()
    logging.getLogger(WORKER_LOGGER).addFilter(quiet)
    caplog.set_level(logging.INFO)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    try:
        for n in range(5):
            actor.send(n)
        broker.join(actor.queue_name, timeout=30_000, fail_fast=False)
        worker.join()
    finally:
        worker.stop()
        logging.getLogger(WORKER_LOGGER).removeFilter(quiet)
        dead.dispose()
    assert len(attempts) == 15  # backed off and retried, as Dramatiq's Retries does
    failures = [r for r in caplog.records if r.name == WORKER_LOGGER]
    assert len(failures) == 1 and failures[0].exc_info is None
    assert "cannot use the database at postgresql://shelfsync:***@127.0.0.1:1" in \
        failures[0].getMessage()
    assert quiet.suppressed == 14
    assert "s3cret-pw" not in caplog.text
