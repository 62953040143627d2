"""The coalescing queue: SKUs named by webhooks, leased by the pass that syncs them.

A burst of webhooks for the same SKUs collapses into one row per SKU. A pass leases rows
(owner, expiry) in one short statement it commits at once (`lease_pending`), makes its API
calls with no transaction open, and removes the rows in the short transaction that records
its outcomes (`settle_pending`). Nothing is held across the network: a worker killed mid-pass
leaves its rows leased until the lease expires, then any pass takes them again (the
redelivered message of the same owner at once).

The database decides who gets a row: one UPDATE … WHERE the lease is free or expired …
RETURNING, whose rows are chosen with SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite
serializes writers and ignores the clause), so two workers never lease the same row and
never wait for each other. Same statement, same semantics on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlmodel import Session

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import PendingSku, utcnow
from shelfsync.core.models_ops import Prebuilt
from shelfsync.core.sync.context import chunks

Clock = Callable[[], datetime]
#: How long a pass owns the SKUs it leased: longer than a pass takes (the actors' time limit
#: stops a pass well before), short enough that a killed worker's SKUs come back soon.
LEASE_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class Lease:
    """SKUs one pass owns until `expires_at`, and the newest webhook time of each."""

    owner: str
    expires_at: datetime
    observed: dict[str, datetime]

    @property
    def skus(self) -> list[str]:
        """The leased SKUs, sorted."""
        return sorted(self.observed)


def _table():  # type: ignore[no-untyped-def]
    return PendingSku.__table__  # type: ignore[attr-defined]


def mark_pending(session: Session, organization_id: int, skus: Iterable[str],
                 observed_at: datetime) -> int:
    """Queue `skus` for the organization; returns how many rows were added or moved forward.

    One INSERT … ON CONFLICT DO UPDATE … WHERE for all of them (the driver batches the rows):
    an existing row only takes a newer `observed_at`, so a late, older webhook changes nothing.
    A leased row keeps its lease: the pass that holds it leaves it pending when it finds a time
    newer than its store read.
    """
    if observed_at.tzinfo is None:
        raise InvalidInput("observed_at", "must be timezone-aware (UTC)")
    rows = [{"organization_id": organization_id, "sku": sku, "observed_at": observed_at}
            for sku in dict.fromkeys(s.strip() for s in skus if s and s.strip())]
    if not rows:
        return 0
    return len(session.execute(_MARK(session), rows).all())


def _mark_statement(insert_into: Callable[[type[Any]], Any]) -> Any:
    table = _table()
    insert = insert_into(PendingSku)
    return insert.on_conflict_do_update(
        index_elements=["organization_id", "sku"],
        set_={"observed_at": insert.excluded.observed_at},
        where=table.c.observed_at < insert.excluded.observed_at,
    ).returning(table.c.id)


#: Newer-wins upsert of pending SKUs; executed with all of a call's rows at once.
_MARK = Prebuilt(_mark_statement)


def _free(now: datetime):  # type: ignore[no-untyped-def]
    table = _table()
    return or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now)


def lease_pending(session: Session, organization_id: int, owner: str, *,
                  limit: int | None = None, ttl: timedelta = LEASE_TTL,
                  clock: Clock = utcnow, exclusive: bool = False) -> Lease:
    """Lease the organization's free (or expired, or already `owner`'s) pending SKUs, those
    queued longest first, and COMMIT: one short statement, nothing held afterwards.

    Longest waiting means first queued (`created_at`), not newest webhook: a best seller
    named on every sale would otherwise starve behind a backlog.

    `exclusive`: lease nothing while another owner holds a live lease of the organization.
    A webhook pass loops and takes what arrives while it runs, so a second pass beside it
    would only split the same SKUs into smaller passes that each read the store and compete
    for its budget. Decided in the same statement; a pass that dies releases the
    organization when its lease expires.

    Whether anything is to be leased is read first: finding nothing takes no write lock.
    """
    if limit is not None and limit < 1:
        raise InvalidInput("limit", "must be at least 1")
    if not owner:
        raise InvalidInput("owner", "a lease needs an owner")
    table = _table()
    now = clock()
    expires = now + ttl
    conditions = [table.c.organization_id == organization_id,
                  or_(_free(now), table.c.lease_owner == owner)]
    if exclusive:
        held = table.alias("held")
        conditions.append(~exists().where(held.c.organization_id == organization_id,
                                          held.c.lease_owner != owner,
                                          held.c.lease_expires_at > now))
    if not session.execute(select(exists().where(*conditions))).scalar():
        # Nothing to lease (another pass holds the organization, or nothing waits): said by
        # a read, so the many passes a burst of orders and webhooks asks for take no write
        # lock to find nothing (SQLite has one writer; the webhook receiver waits behind it).
        # A row that arrives just after is taken by the holder's next round, or by the pass
        # its own `request_sync` asks for: the same as when the UPDATE below finds nothing.
        session.commit()
        return Lease(owner, expires, {})
    chosen = (select(table.c.id)
              .where(*conditions)
              .order_by(table.c.created_at, table.c.id)
              .limit(limit)
              .with_for_update(skip_locked=True))  # PostgreSQL; SQLite renders nothing
    statement = (update(table).where(table.c.id.in_(chosen.scalar_subquery()))
                 .values(lease_owner=owner, lease_expires_at=expires)
                 .returning(table.c.sku, table.c.observed_at))
    observed = {sku: when for sku, when in session.execute(statement).all()}
    session.commit()
    return Lease(owner, expires, observed)


def settle_pending(session: Session, organization_id: int, lease: Lease,
                   done: Sequence[str], read_at: datetime) -> int:
    """In the caller's recording transaction: remove the leased rows of `done` that this
    pass's store read (made at `read_at`) covered, and free every other row of the lease.

    A row a webhook moved past both `read_at` and the time it had when leased stays pending
    (the change may be newer than what the pass read), as do the SKUs not in `done` (retried
    soon). Only rows still leased by this owner are touched: a lease that expired and was
    taken by another pass is theirs. Returns how many rows were removed.
    """
    table = _table()
    mine = and_(table.c.organization_id == organization_id, table.c.lease_owner == lease.owner)
    # A webhook dated after our read (a platform clock ahead of ours) was still served by it
    # when it is the time the row had when leased: it must not keep the row forever.
    thresholds: dict[datetime, list[str]] = {}
    for sku in sorted(set(done)):
        leased = lease.observed.get(sku, read_at)
        thresholds.setdefault(max(read_at, leased), []).append(sku)
    removed = 0
    for threshold, skus in thresholds.items():
        for part in chunks(skus):
            result = session.execute(delete(table).where(
                mine, table.c.sku.in_(part), table.c.observed_at <= threshold))
            removed += result.rowcount or 0  # type: ignore[attr-defined]
    for part in chunks(lease.skus):
        session.execute(update(table).where(mine, table.c.sku.in_(part))
                        .values(lease_owner=None, lease_expires_at=None))
    return removed


def renew_lease(session: Session, organization_id: int, lease: Lease, *,
                ttl: timedelta = LEASE_TTL, clock: Clock = utcnow) -> int:
    """In the caller's transaction: push the expiry of this owner's live lease `ttl` ahead,
    so a pass slower than `LEASE_TTL` (a big store read) keeps its SKUs instead of a second
    pass taking them midway. A lease that already expired is not revived: another pass may
    hold its SKUs now. Returns how many rows were renewed."""
    table = _table()
    now = clock()
    result = session.execute(update(table).where(
        table.c.organization_id == organization_id, table.c.lease_owner == lease.owner,
        table.c.lease_expires_at > now).values(lease_expires_at=now + ttl))
    return result.rowcount or 0  # type: ignore[attr-defined]


def has_pending(session: Session, organization_id: int, *, clock: Clock = utcnow) -> bool:
    """Whether any SKU waits for the organization and is free to lease (no lock taken)."""
    table = _table()
    statement = select(table.c.id).where(table.c.organization_id == organization_id,
                                         _free(clock())).limit(1)
    return session.execute(statement).first() is not None


def organizations_waiting(session: Session, *, grace: timedelta,
                          clock: Clock = utcnow) -> list[int]:
    """Organizations with a pending SKU free to lease and queued more than `grace` ago: the
    message meant to sync it never ran (broker down, worker killed), so the sweeper sends
    another."""
    table = _table()
    now = clock()
    statement = select(table.c.organization_id).where(
        _free(now), table.c.created_at <= now - grace).distinct()
    return sorted(session.execute(statement).scalars())
