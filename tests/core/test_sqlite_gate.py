"""This process's SQLite writers take turns through one lock per database file: taken before
the first write of a transaction, given back when it ends, never taken by a read."""

from __future__ import annotations

import gc
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shelfsync.core.db import make_engine
from shelfsync.core.sqlite_gate import Gate, GatedConnection, gate_for, is_write, writes_first


def _connect(path: Path) -> GatedConnection:
    connection = sqlite3.connect(path, factory=GatedConnection, check_same_thread=False)
    assert isinstance(connection, GatedConnection)
    return connection


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "gate.db"
    with _connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x INTEGER)")
    return path


def test_a_write_holds_the_gate_until_its_transaction_ends(db: Path) -> None:
    gate = gate_for(str(db))
    assert gate is not None and not gate.locked()
    writer, reader = _connect(db), _connect(db)
    writer.execute("INSERT INTO t VALUES (1)")
    assert gate.locked()
    writer.execute("UPDATE t SET x = 2")  # same transaction: already holds it
    # A read neither waits for the gate nor takes it (WAL: it sees the last commit).
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)
    writer.commit()
    assert not gate.locked()
    assert reader.execute("SELECT x FROM t").fetchall() == [(2,)]
    writer.execute("DELETE FROM t")
    writer.rollback()
    assert not gate.locked()
    writer.execute("INSERT INTO t VALUES (3)")
    writer.close()  # closed mid-transaction (an invalidated connection): given back
    assert not gate.locked()
    reader.close()


def test_a_transaction_ended_by_sql_gives_the_gate_back(db: Path) -> None:
    gate = gate_for(str(db))
    assert gate is not None
    connection = _connect(db)
    connection.execute("SAVEPOINT outer_one")  # outside a transaction: begins one
    connection.execute("INSERT INTO t VALUES (1)")
    assert gate.locked()
    connection.execute("RELEASE SAVEPOINT outer_one")  # commits it
    assert not connection.in_transaction and not gate.locked()
    connection.close()


def test_a_connection_dropped_without_close_gives_the_gate_back(db: Path) -> None:
    gate = gate_for(str(db))
    assert gate is not None
    connection = _connect(db)
    connection.execute("INSERT INTO t VALUES (1)")
    assert gate.locked()
    del connection
    gc.collect()  # sqlite3 connections sit in reference cycles: the collector frees them
    assert not gate.locked()


def test_a_forked_child_starts_with_gates_of_its_own(db: Path) -> None:
    from shelfsync.core import sqlite_gate

    held = gate_for(str(db))
    assert held is not None and held.acquire()
    try:
        sqlite_gate._forget_gates()  # what a fork's child runs
        fresh = gate_for(str(db))
        assert fresh is not None and fresh is not held and not fresh.locked()
    finally:
        held.release()


def test_ddl_outside_a_transaction_gives_the_gate_back_at_once(db: Path) -> None:
    connection = _connect(db)
    connection.execute("CREATE TABLE u (y INTEGER)")
    assert not connection.in_transaction
    gate = gate_for(str(db))
    assert gate is not None and not gate.locked()
    connection.close()


def test_a_second_writer_waits_its_turn_and_then_writes(db: Path) -> None:
    first, second = _connect(db), _connect(db)
    first.execute("INSERT INTO t VALUES (1)")
    wrote = threading.Event()

    def write() -> None:
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()
        wrote.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not wrote.is_set()  # whenever it started, it cannot have written yet
    first.commit()  # hands the gate over: the waiting writer goes on
    thread.join(timeout=30)
    assert wrote.is_set()
    assert sorted(first.execute("SELECT x FROM t").fetchall()) == [(1,), (2,)]
    first.close()
    second.close()


def test_a_writer_that_waits_too_long_fails_like_sqlite(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GatedConnection, "timeout_seconds", 0.0)
    holder, late = _connect(db), _connect(db)
    holder.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        late.execute("INSERT INTO t VALUES (2)")
    assert not late.in_transaction
    holder.commit()
    late.execute("INSERT INTO t VALUES (2)")  # its turn now
    late.commit()
    holder.close()
    late.close()


def test_engines_on_a_sqlite_file_are_gated_and_other_files_are_not_shared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GatedConnection, "timeout_seconds", 0.0)
    one = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    for engine in (one, other):
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with one.connect() as holding:
        holding.execute(text("INSERT INTO t VALUES (1)"))
        assert isinstance(holding.connection.dbapi_connection, GatedConnection)
        with other.begin() as elsewhere:  # another file: its own gate
            elsewhere.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(OperationalError, match="database is locked"), one.begin() as same:
            same.execute(text("INSERT INTO t VALUES (2)"))
        holding.commit()
    with one.begin() as same:
        same.execute(text("INSERT INTO t VALUES (2)"))
    one.dispose()
    other.dispose()


def test_the_receivers_writes_go_before_the_waiting_workers() -> None:
    gate = Gate()
    assert gate.acquire()  # a worker writes
    served: list[str] = []

    def receiver() -> None:
        taken = gate.acquire(urgent=True, timeout=30)  # what `writes_first` asks for
        served.append("receiver" if taken else "timed out")
        gate.release()

    thread = threading.Thread(target=receiver)
    thread.start()
    while not gate.urgent_waiting and thread.is_alive():  # until the receiver waits in line
        threading.Event().wait(0.001)
    gate.release()
    # Another worker cannot take the gate ahead of the waiting receiver, however the
    # wake-ups fall: it is either still the receiver's turn or the receiver holds it.
    assert not gate.acquire(timeout=0)
    thread.join(timeout=30)
    assert served == ["receiver"]
    assert gate.acquire(timeout=0)  # then the workers go on
    gate.release()


def test_writes_first_marks_only_this_thread_and_only_within_the_block() -> None:
    from shelfsync.core import sqlite_gate

    seen: list[bool] = []
    with writes_first():
        seen.append(sqlite_gate._local.urgent)
        other = threading.Thread(target=lambda: seen.append(
            getattr(sqlite_gate._local, "urgent", False)))
        other.start()
        other.join()
        with writes_first():
            pass
        seen.append(sqlite_gate._local.urgent)  # a nested block leaves it set
    seen.append(sqlite_gate._local.urgent)
    assert seen == [True, False, True, False]


def test_in_memory_databases_are_not_gated() -> None:
    assert gate_for(":memory:") is None
    assert gate_for("file:x?mode=memory") is None
    connection = sqlite3.connect(":memory:", factory=GatedConnection)
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    connection.close()


@pytest.mark.parametrize(("statement", "writes"), [
    ("INSERT INTO t VALUES (1)", True), ("  update t set x = 1", True),
    ("DELETE FROM t", True), ("REPLACE INTO t VALUES (1)", True),
    ("CREATE TABLE u (y)", True), ("SELECT 1", False), ("PRAGMA foreign_keys=ON", False),
    ("", False),
])
def test_what_counts_as_a_write(statement: str, writes: bool) -> None:
    assert is_write(statement) is writes
