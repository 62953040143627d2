"""One SQLite writer at a time inside this process, handed over at once (the embedded default).

SQLite lets one connection write at a time. A connection that finds the write lock taken
waits in SQLite's busy handler, which sleeps and tries again: 1, 2, 5, 10, 15, 20, 25 … then
100 ms between tries. Under a steady stream of short write transactions (`shelfsync run`: the
webhook receiver, eight worker threads, the scheduler) a waiter mostly wakes to find the lock
taken again by a thread that never slept, and sleeps longer: measured with
`bench/order_sync.py --embedded`, the receiver spent two thirds of its time in its first
INSERT, waiting for the lock (answer p50 50 ms, p99 0.8 s), and the webhooks queued behind it.

So the connections of this process to one SQLite file pass a lock between them before
SQLite's: a connection takes it before its first write statement, and gives it back when its
transaction ends (commit, rollback, close). A waiter sleeps on the lock and is woken the
moment it is free. The webhook receiver's writes (`writes_first`) go before the workers'
waiting ones: a platform waits for its answer (and sends the next webhook after it), the
workers' transactions are the background. Nothing else changes: SQLite's own lock still
guards the file against other processes (the CLI, a separate web process), with its busy
handler; reads never wait (WAL). A write transaction held open across a network call
would stall every writer either way; the engine never holds one (docs/performance.md,
"Leases, not held transactions").

Used through `connect_args={"factory": GatedConnection}` (core/db.py); in-memory and
temporary databases are not gated (one connection each).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The first word of the statements that write (pysqlite opens a transaction before the DML
#: ones; DDL outside a transaction writes at once).
WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})


class Gate:
    """A lock with two lines: a thread marked `writes_first` (the webhook receiver, whose
    answer a platform is waiting for) is served before the background workers waiting,
    then everyone in whatever order the wake-up gives. The receiver's transactions are a few
    milliseconds each, so the workers still get the lock most of the time under a webhook
    burst; they are what waits when the process cannot keep up."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._held = False
        self._urgent_waiting = 0

    def acquire(self, *, urgent: bool = False, timeout: float | None = None) -> bool:
        """Take the gate, waiting at most `timeout` seconds; whether it was taken."""
        with self._condition:
            if urgent:
                self._urgent_waiting += 1
            try:
                taken = self._condition.wait_for(
                    lambda: not self._held and (urgent or not self._urgent_waiting), timeout)
                if taken:
                    self._held = True
                return taken
            finally:
                if urgent:
                    self._urgent_waiting -= 1
                    if not self._urgent_waiting:
                        self._condition.notify_all()  # the workers may go on

    def release(self) -> None:
        """Give the gate back and wake the waiters (a handful of threads)."""
        with self._condition:
            self._held = False
            self._condition.notify_all()

    def locked(self) -> bool:
        """Whether a connection holds the gate."""
        return self._held

    @property
    def urgent_waiting(self) -> int:
        """How many `writes_first` threads wait for the gate."""
        return self._urgent_waiting


_gates_lock = threading.Lock()
_gates: dict[str, Gate] = {}
_local = threading.local()


@contextmanager
def writes_first() -> Iterator[None]:
    """Within the block, this thread's writes go before the waiting background writers."""
    before = getattr(_local, "urgent", False)
    _local.urgent = True
    try:
        yield
    finally:
        _local.urgent = before


def _forget_gates() -> None:
    """In a forked child: the parent's gates (one may be held by a parent's thread that does
    not exist here) are not the child's; its connections make new ones."""
    global _gates_lock
    _gates_lock = threading.Lock()
    _gates.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_gates)


def gate_for(database: str) -> Gate | None:
    """The gate shared by this process's connections to `database` (None for in-memory or
    temporary databases, which no other connection sees)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = os.path.realpath(database)
    with _gates_lock:
        return _gates.setdefault(key, Gate())


def is_write(statement: str) -> bool:
    """Whether a statement writes (by its first word; comments are not expected here)."""
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    return bool(words) and words[0].upper() in WRITES


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that holds its database's in-process gate while it writes."""

    #: How long a writer waits for the gate before failing as SQLite would ("database is
    #: locked"); set from `SQLITE_BUSY_TIMEOUT_MS` by core/db.py.
    timeout_seconds: float = 30.0

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._gate = gate_for(os.fsdecode(database))
        self._holding = False

    def acquire_gate(self) -> None:
        """Take the gate before a write, unless this connection's transaction holds it."""
        if self._gate is None or self._holding:
            return
        urgent = getattr(_local, "urgent", False)
        if not self._gate.acquire(urgent=urgent, timeout=self.timeout_seconds):
            raise sqlite3.OperationalError(
                f"database is locked (another thread of this process kept writing for "
                f"{self.timeout_seconds:.0f} s)")
        self._holding = True

    def release_gate(self) -> None:
        """Give the gate back (the transaction ended, or the write ran outside one)."""
        if self._holding:
            self._holding = False
            assert self._gate is not None
            self._gate.release()

    def after_statement(self) -> None:
        """Give the gate back once no transaction is open: a write outside one (DDL in
        autocommit), or a statement that ended the transaction (RELEASE of an outermost
        SAVEPOINT, COMMIT sent as SQL)."""
        if self._holding and not self.in_transaction:
            self.release_gate()

    def __del__(self) -> None:
        # Dropped without close() (never by SQLAlchemy's pool, which closes or rolls back):
        # the gate must not stay taken by a connection that no longer exists.
        if getattr(self, "_holding", False):
            self.release_gate()

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or GatedCursor)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().executemany(sql, *args)

    def executescript(self, script: str) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().executescript(script)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.after_statement()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.after_statement()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_gate()


class GatedCursor(sqlite3.Cursor):
    """Takes its connection's gate before a write statement, and checks after every
    statement whether the transaction that held it ended (see `GatedConnection`)."""

    def _before(self, sql: str | None) -> GatedConnection | None:
        connection = self.connection
        if not isinstance(connection, GatedConnection):
            return None
        if sql is None or is_write(sql):  # None: a script, which may write anything
            connection.acquire_gate()
        return connection

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        connection = self._before(sql)
        try:
            return super().execute(sql, *args)
        finally:
            if connection is not None:
                connection.after_statement()

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        connection = self._before(sql)
        try:
            return super().executemany(sql, *args)
        finally:
            if connection is not None:
                connection.after_statement()

    def executescript(self, script: str) -> sqlite3.Cursor:  # type: ignore[override]
        connection = self._before(None)
        try:
            return super().executescript(script)
        finally:
            if connection is not None:
                connection.after_statement()
