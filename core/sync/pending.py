"""The coalescing queue: SKUs named by webhooks, waiting for one job to sync them.

A burst of webhooks for the same SKUs collapses into one row per SKU; a job claims the rows
in its own transaction, so they disappear only when that job commits. A worker killed mid-job
rolls back, and the redelivered message finds them still pending.

Only one pass per organization runs at a time (`try_lock_organization`): a job that finds
the lock taken leaves its SKUs to the running pass, which takes everything that arrived
meanwhile on its next round, so under load each store read and each push covers more SKUs
instead of more jobs fighting for the same per-store and per-shop budgets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlmodel import Session

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import PendingSku
from shelfsync.core.sync.context import insert_for


def mark_pending(session: Session, organization_id: int, skus: Iterable[str],
                 observed_at: datetime) -> int:
    """Queue `skus` for the organization; returns how many rows were added or moved forward.

    One INSERT … ON CONFLICT DO UPDATE … WHERE per SKU: an existing row only takes a newer
    `observed_at`, so a late, older webhook changes nothing.
    """
    if observed_at.tzinfo is None:
        raise InvalidInput("observed_at", "must be timezone-aware (UTC)")
    table = PendingSku.__table__  # type: ignore[attr-defined]
    changed = 0
    for sku in dict.fromkeys(s.strip() for s in skus if s and s.strip()):
        insert = insert_for(session, PendingSku).values(
            organization_id=organization_id, sku=sku, observed_at=observed_at)
        statement = insert.on_conflict_do_update(
            index_elements=["organization_id", "sku"],
            set_={"observed_at": insert.excluded.observed_at},
            where=table.c.observed_at < insert.excluded.observed_at,
        ).returning(table.c.id)
        changed += session.execute(statement).scalar_one_or_none() is not None
    return changed


def take_pending(session: Session, organization_id: int, *, limit: int | None = None) -> list[str]:
    """Claim and remove the organization's pending SKUs, those queued longest first, inside
    the caller's transaction.

    One DELETE … RETURNING: on PostgreSQL the rows are chosen with SELECT … FOR UPDATE SKIP
    LOCKED, so a second worker skips the rows a first one holds instead of waiting for them
    or taking them twice; on SQLite the statement holds the database's write lock. Nothing
    is gone until the caller commits.
    """
    table = PendingSku.__table__  # type: ignore[attr-defined]
    chosen = select(table.c.id).where(table.c.organization_id == organization_id)
    # Longest waiting first: by when the SKU was first queued, not by its newest webhook,
    # which a best seller moves forward on every sale (it would starve behind a backlog).
    chosen = chosen.order_by(table.c.created_at, table.c.id)
    if limit is not None:
        if limit < 1:
            raise InvalidInput("limit", "must be at least 1")
        chosen = chosen.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    statement = delete(table).where(table.c.id.in_(chosen.scalar_subquery())).returning(
        table.c.sku)
    return sorted(session.execute(statement).scalars())


#: The first key of the organization's advisory lock ("SS" for Shelfsync sync): the second is
#: the organization id, so the lock never collides with another feature's advisory locks.
LOCK_NAMESPACE = 0x5353


def try_lock_organization(session: Session, organization_id: int) -> bool:
    """Take the organization's sync lock for the caller's transaction, if nobody holds it.

    PostgreSQL: a transaction-level advisory lock shared by every worker process; it goes with
    the transaction (commit, rollback, or the connection dropping when a worker is SIGKILLed),
    so it can never be left behind. SQLite has no such lock and needs none: the embedded
    deployment is one process (callers add a process-local lock) and SQLite serializes writers.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    statement = select(func.pg_try_advisory_xact_lock(LOCK_NAMESPACE, organization_id))
    return bool(session.execute(statement).scalar_one())


def has_pending(session: Session, organization_id: int) -> bool:
    """Whether any SKU waits for the organization (committed rows, no lock taken)."""
    table = PendingSku.__table__  # type: ignore[attr-defined]
    statement = select(table.c.id).where(table.c.organization_id == organization_id).limit(1)
    return session.execute(statement).first() is not None
