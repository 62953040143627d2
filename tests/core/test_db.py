"""Engines, sessions, the atomic write helpers (newer stock wins, webhook dedup), `db` command."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from shelfsync.core.commands.db import db_group
from shelfsync.core.commands.output import ShelfsyncGroup
from shelfsync.core.crypto import SECRET_KEY_ENV, generate_key
from shelfsync.core.db import (
    DATABASE_URL_ENV,
    database_url,
    head_revision,
    make_engine,
    normalize_url,
    session_scope,
)
from shelfsync.core.errors import ConfigurationError, InvalidInput
from shelfsync.core.models import (
    Organization,
    StockLevel,
    StoreConnection,
    WebhookReceipt,
    add_store_connection,
    record_stock,
    record_stock_many,
    record_webhook_receipt,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- configuration --------------------------------------------------------------------------


def test_database_url_defaults_to_a_local_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert database_url() == "sqlite:///shelfsync.db"
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://u:p@db/shelfsync")
    assert database_url() == "postgresql://u:p@db/shelfsync"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgres_urls_use_psycopg3(scheme: str) -> None:
    url = normalize_url(f"{scheme}://u:p%40ss@db:5432/shelfsync")
    assert url.drivername == "postgresql+psycopg"
    assert url.password == "p@ss"
    assert make_engine(url).dialect.driver == "psycopg"


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", ""])
def test_bad_database_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"SHELFSYNC_DATABASE_URL|unsupported database"):
        normalize_url(url)


def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


# --- sessions -------------------------------------------------------------------------------


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Organization(name="kept"))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Organization(name="dropped"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        org = session.exec(select(Organization)).one()
    assert org.name == "kept"  # readable after the scope closed


# --- record_stock: the newer observation wins -----------------------------------------------


def _store(engine: Engine) -> int:
    with session_scope(engine) as session:
        org = Organization(name="Acme")
        session.add(org)
        session.flush()
        store = StoreConnection(
            organization_id=org.id,  # type: ignore[arg-type]
            platform="shopify",
            base_url="https://a",
            credentials_token="opaque",
        )
        session.add(store)
        session.flush()
        return store.id  # type: ignore[return-value]


def _record(session: Session, store_id: int, available: int, at: datetime) -> bool:
    return record_stock(
        session,
        store_connection_id=store_id,
        sku="SKU-1",
        location_id="L1",
        available=available,
        observed_at=at,
    )


def _level(engine: Engine) -> tuple[int, datetime]:
    with Session(engine) as session:
        row = session.exec(select(StockLevel)).one()
        return row.available, row.observed_at


def test_record_stock_keeps_the_newest_observation(engine: Engine) -> None:
    store_id = _store(engine)
    with session_scope(engine) as session:
        assert _record(session, store_id, 10, T0) is True
        assert _record(session, store_id, 7, T0 + timedelta(seconds=1)) is True
        assert _record(session, store_id, 99, T0) is False  # older: ignored
        assert _record(session, store_id, 98, T0 + timedelta(seconds=1)) is False  # not newer
        # Microseconds and other time zones compare correctly.
        later = (T0 + timedelta(seconds=1, microseconds=1)).astimezone(
            datetime.now().astimezone().tzinfo
        )
        assert _record(session, store_id, 3, later) is True
    assert _level(engine) == (3, T0 + timedelta(seconds=1, microseconds=1))


def test_record_stock_keys_by_store_sku_and_location(engine: Engine) -> None:
    store_id = _store(engine)
    with session_scope(engine) as session:
        for sku, location, available in [("A", "L1", 1), ("A", "L2", 2), ("B", "L1", 3)]:
            assert record_stock(
                session,
                store_connection_id=store_id,
                sku=sku,
                location_id=location,
                available=available,
                observed_at=T0,
            )
    with Session(engine) as session:
        rows = session.exec(select(StockLevel.sku, StockLevel.location_id, StockLevel.available))
        assert sorted(rows.all()) == [("A", "L1", 1), ("A", "L2", 2), ("B", "L1", 3)]


@pytest.mark.parametrize(
    ("available", "observed_at", "field"),
    [("5", T0, "available"), (True, T0, "available"), (5, datetime(2026, 1, 1), "observed_at")],
)
def test_record_stock_refuses_bad_input(
    engine: Engine, available: object, observed_at: datetime, field: str
) -> None:
    store_id = _store(engine)
    with Session(engine) as session, pytest.raises(InvalidInput, match=field):
        _record(session, store_id, available, observed_at)  # type: ignore[arg-type]


def test_record_stock_many_is_record_stock_in_few_statements(engine: Engine) -> None:
    store_id = _store(engine)
    later = T0 + timedelta(seconds=1)
    with session_scope(engine) as session:
        assert record_stock_many(session, store_id, [("A", "L1", 1, T0), ("B", "L1", 2, T0)]) == 2
        # Newer wins per level; of two rows for one level in one call, the newer is kept; an
        # older observation writes nothing; more rows than one statement takes.
        many = [(f"S{n:04d}", "L1", n, T0) for n in range(1200)]
        assert record_stock_many(session, store_id, [
            ("A", "L1", 5, later), ("A", "L1", 4, T0), ("B", "L1", 9, T0 - timedelta(1)),
            *many]) == 1 + 1200
    with Session(engine) as session:
        stored = {(row.sku, row.location_id): (row.available, row.observed_at)
                  for row in session.exec(select(StockLevel))}
    assert stored[("A", "L1")] == (5, later)
    assert stored[("B", "L1")] == (2, T0)
    assert stored[("S1199", "L1")] == (1199, T0) and len(stored) == 1202


def test_record_stock_many_writes_nothing_when_one_row_is_bad(engine: Engine) -> None:
    store_id = _store(engine)
    with Session(engine) as session, pytest.raises(InvalidInput, match="available"):
        record_stock_many(session, store_id, [("A", "L1", 1, T0), ("B", "L1", 10**12, T0)])
    with Session(engine) as session:
        assert session.exec(select(StockLevel)).all() == []


def _wait_until_blocked(engine: Engine, pid: int) -> None:
    """Wait until backend `pid` waits on a row lock (the race is really happening)."""
    deadline = time.monotonic() + 10
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            wait = watcher.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar()
            if wait == "Lock":
                return
            watcher.rollback()
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never blocked on the row lock")


@pytest.mark.postgres
@pytest.mark.parametrize("database_backend", ["postgresql"])
@pytest.mark.parametrize("existing", [False, True], ids=["no-row", "row-exists"])
@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ((5, 2), (9, 1), (5, 2)),  # the older arrives second and loses
        ((5, 1), (9, 2), (9, 2)),  # the newer arrives second and wins
    ],
    ids=["older-second", "newer-second"],
)
def test_record_stock_races_on_postgres(
    engine: Engine,
    existing: bool,
    first: tuple[int, int],
    second: tuple[int, int],
    expected: tuple[int, int],
) -> None:
    store_id = _store(engine)
    if existing:
        with session_scope(engine) as session:
            _record(session, store_id, 1, T0)
    one, two = Session(engine), Session(engine)
    results: dict[str, bool] = {}
    try:
        assert _record(one, store_id, first[0], T0 + timedelta(minutes=first[1]))
        pid = two.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()

        def racer() -> None:
            results["second"] = _record(two, store_id, second[0], T0 + timedelta(minutes=second[1]))
            two.commit()

        thread = threading.Thread(target=racer)
        thread.start()
        _wait_until_blocked(engine, pid)
        one.commit()
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        one.close()
        two.close()
    assert results["second"] is (expected == second)
    assert _level(engine) == (expected[0], T0 + timedelta(minutes=expected[1]))


# --- webhook receipts -----------------------------------------------------------------------


def test_webhook_receipt_recognises_a_replay(engine: Engine) -> None:
    with session_scope(engine) as session:
        args = {"platform": "shopify", "connection_id": 1, "dedup_key": "b54557e4"}
        assert record_webhook_receipt(session, **args, topic="inventory_levels/update")
        assert not record_webhook_receipt(session, **args)
        assert record_webhook_receipt(session, **{**args, "connection_id": 2})
    with Session(engine) as session:
        assert len(session.exec(select(WebhookReceipt)).all()) == 2
    with Session(engine) as session, pytest.raises(InvalidInput, match="dedup_key"):
        record_webhook_receipt(session, platform="shopify", connection_id=1, dedup_key="")


# --- `shelfsync db upgrade` -----------------------------------------------------------------


def _invoke(args: list[str], url: str, key: str | None = None) -> tuple[int, str, str]:
    root = ShelfsyncGroup("shelfsync", commands={"db": db_group})
    env = {DATABASE_URL_ENV: url, SECRET_KEY_ENV: key}
    result = CliRunner().invoke(root, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_command_migrates_and_reports(database_url: str) -> None:
    code, out, _ = _invoke(["db", "upgrade", "--json"], database_url)
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] is True
    assert (report["from_revision"], report["revision"]) == (None, head_revision())
    code, out, _ = _invoke(["db", "upgrade"], database_url)
    assert code == 0 and "already at" in out
    code, out, _ = _invoke(["db", "current", "--json"], database_url)
    assert code == 0 and json.loads(out)["up_to_date"] is True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://nobody:secret@127.0.0.1:1/none", "nobody:***@127.0.0.1:1/none: connection"),
        ("mysql://u@h/db", "unsupported database"),
        ("sqlite:////nonexistent-dir/x/y.db", "unable to open database file"),
    ],
)
def test_db_upgrade_errors_are_one_line(url: str, message: str) -> None:
    code, out, err = _invoke(["db", "upgrade"], url)
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err and "secret" not in err
    code, out, err = _invoke(["db", "upgrade", "--json"], url)
    assert code == 1 and json.loads(out)["ok"] is False


def test_db_rotate_credentials_re_encrypts_with_the_new_key(
    engine: Engine, migrated_url: str
) -> None:
    old, new = generate_key(), generate_key()
    with session_scope(engine) as session:
        org = Organization(name="Acme")
        session.add(org)
        session.flush()
        add_store_connection(
            session,
            organization_id=org.id,  # type: ignore[arg-type]
            platform="shopify",
            base_url="https://a",
            credentials={"access_token": "t"},
            secret_key=old,
        )
    code, out, err = _invoke(["db", "rotate-credentials", "--json"], migrated_url, f"{new},{old}")
    assert code == 0, err
    assert json.loads(out)["rotated"] == 1
    with Session(engine) as session:
        store = session.exec(select(StoreConnection)).one()
        assert store.credentials(new) == {"access_token": "t"}
    # Without the key that encrypted them, the run stops with one clear line.
    code, _, err = _invoke(["db", "rotate-credentials"], migrated_url, generate_key())
    assert code == 1 and "cannot be rotated" in err
    code, _, err = _invoke(["db", "rotate-credentials"], migrated_url, None)
    assert code == 1 and "SHELFSYNC_SECRET_KEY is not set" in err


@pytest.mark.parametrize("available", [2_000_000_000, -2_000_000_000, 1.5, True])
def test_record_stock_refuses_what_is_not_a_stock_count(engine: Engine, available: object) -> None:
    store_id = _store(engine)
    with session_scope(engine) as session, pytest.raises(InvalidInput) as raised:
        _record(session, store_id, available, T0)  # type: ignore[arg-type]
    assert raised.value.field == "available"
    with Session(engine) as session:
        assert session.exec(select(StockLevel)).all() == []
