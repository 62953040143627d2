"""Reading the store: catalog, backorder flags, locations and stock, into the database."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, exists, func
from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import (
    CatalogVariant,
    Location,
    StockLevel,
    StoreConnection,
    record_stock_many,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.rules import LocationStock
from shelfsync.core.sync.context import STREAM, chunks, pass_scope, store_connection
from shelfsync.core.sync.inventory_types import Budget, CatalogReport
from shelfsync.core.sync.paging import checked_list, checked_pages
from shelfsync.core.types import BackorderPolicy, CatalogItem, Connection, PassScope
from shelfsync.core.types import Location as LocationInfo
from shelfsync.core.types import StockLevel as StockInfo

T = TypeVar("T")


def _one_list(pm: ShelfsyncPluginManager, connection: Connection, hook: str, kind: type[T],
              **kwargs: object) -> list[T]:
    """A store hook's one-list answer, from the connection's platform plugin only.

    `pm.call` raises the configuration errors (no plugin, hook not implemented) and the
    contract error for a `None`; an answer that is not a list of `kind` is a plugin bug too.
    None of them is retried: another attempt would get the same answer.
    """
    answer = pm.call(connection, hook, **kwargs)
    return checked_list(answer, kind, platform=connection.platform, hook=hook)


def _pages(pm: ShelfsyncPluginManager, connection: Connection, hook: str, kind: type[T],
           budget: Budget | None, **kwargs: object) -> Iterator[list[T]]:
    """A whole-catalog hook's pages, each checked as it arrives (see paging.py)."""
    if budget is not None:
        budget.acquire(f"store:{connection.id}")
    answer = pm.call(connection, hook, **kwargs)
    return checked_pages(answer, kind, platform=connection.platform, hook=hook)


def fetch_stock(pm: ShelfsyncPluginManager, connection: Connection, skus: Sequence[str],
                budget: Budget | None, scope: PassScope | None = None) -> list[StockInfo]:
    """Stock levels of the given SKUs, one list from one hook call; `scope` is the pass's."""
    if budget is not None:
        budget.acquire(f"store:{connection.id}")
    return _one_list(pm, connection, "shelfsync_fetch_stock_levels", StockInfo, skus=skus,
                     scope=scope)


def fetch_policies(pm: ShelfsyncPluginManager, connection: Connection, skus: Sequence[str],
                   budget: Budget | None,
                   scope: PassScope | None = None) -> list[BackorderPolicy]:
    """Backorder flags of the given SKUs in one hook call; `scope` is the pass's (a plugin
    may answer from what the same pass's stock read saw)."""
    if budget is not None:
        budget.acquire(f"store:{connection.id}")
    return _one_list(pm, connection, "shelfsync_fetch_backorder_policies", BackorderPolicy,
                     skus=skus, scope=scope)


def stock_pages(pm: ShelfsyncPluginManager, connection: Connection, budget: Budget | None,
                scope: PassScope | None = None) -> Iterator[list[StockInfo]]:
    """The whole store's stock levels, page by page."""
    return _pages(pm, connection, "shelfsync_fetch_stock_levels", StockInfo, budget,
                  skus=None, scope=scope)


def policy_pages(pm: ShelfsyncPluginManager, connection: Connection, budget: Budget | None,
                 scope: PassScope | None = None) -> Iterator[list[BackorderPolicy]]:
    """The whole store's backorder flags, page by page."""
    return _pages(pm, connection, "shelfsync_fetch_backorder_policies", BackorderPolicy,
                  budget, skus=None, scope=scope)


#: `record_levels(covered=NOT_A_FULL_ANSWER)`: the levels are not everything the store holds
#: for any SKU, so nothing missing from them may be forgotten.
NOT_A_FULL_ANSWER: tuple[str, ...] = ()


def record_levels(session: Session, store_id: int, levels: Sequence[StockInfo],
                  observed_at: datetime, *,
                  covered: Collection[str] | None = NOT_A_FULL_ANSWER) -> int:
    """Record the levels with `record_stock_many` (newer wins); returns how many were written.

    `covered` says which SKUs the fetch answered for in full: `None` for the whole store, or
    the SKUs asked for. Their stored levels the answer no longer has are then forgotten
    (`forget_unreported_levels`): a level the store stopped reporting must stop counting.
    """
    written = record_stock_many(session, store_id, [
        (level.sku, level.location_id, level.available, level.observed_at or observed_at)
        for level in levels])
    if covered is None or covered:
        forget_unreported_levels(session, store_id, levels, observed_at, covered)
    return written


def forget_unreported_levels(session: Session, store_id: int, levels: Sequence[StockInfo],
                             fetched_at: datetime, covered: Collection[str] | None) -> int:
    """Delete the stored levels of `covered` SKUs (None = all) that this fetch did not report.

    An item no longer stocked at a location (Shopify's inventoryDeactivate), a variant
    deleted, a SKU renamed: the store's answer simply lacks the level, and a row left behind
    would be counted by every decision (phantom stock, oversold for good). Only rows observed
    before the fetch began are candidates, so a newer observation another worker stored
    meanwhile is never lost. Candidates are few in practice (everything answered was just
    rewritten with the fetch's time), so the answered pairs are only collected when there
    are some. Returns how many rows were deleted.
    """
    table = StockLevel.__table__  # type: ignore[attr-defined]
    base = select(table.c.id, table.c.sku, table.c.location_id).where(
        table.c.store_connection_id == store_id, table.c.observed_at < fetched_at)
    parts = [None] if covered is None else list(chunks(sorted(set(covered))))
    candidates = []
    for part in parts:
        query = base if part is None else base.where(table.c.sku.in_(part))
        candidates.extend(session.execute(query).all())
    if not candidates:
        return 0
    answered = {(level.sku, level.location_id) for level in levels}
    stale = [row.id for row in candidates if (row.sku, row.location_id) not in answered]
    deleted = 0
    for part_ids in chunks(stale):
        # The conditions again: a row another worker rewrote with a newer observation since
        # the SELECT (PostgreSQL re-checks the WHERE on the row it waited for) is kept.
        result = session.execute(delete(table).where(
            table.c.id.in_(part_ids), table.c.store_connection_id == store_id,
            table.c.observed_at < fetched_at))
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    return deleted


def continue_selling(policy: BackorderPolicy) -> bool:
    """An untracked variant can always be sold, whatever its flag says."""
    return bool(policy.continue_selling or not policy.tracked)


def apply_policies(session: Session, store_id: int,
                   policies: Sequence[BackorderPolicy]) -> dict[str, bool]:
    """Store the fetched flags on the catalog variants that carry those SKUs; returns the
    continue-selling flag of each SKU no stored variant carries (a catalog not read yet)."""
    flags = {p.sku: (continue_selling(p), bool(p.tracked)) for p in policies if p.sku}
    unknown = set(flags)
    for part in chunks(sorted(flags)):
        rows = session.exec(select(CatalogVariant).where(
            CatalogVariant.store_connection_id == store_id, CatalogVariant.sku.in_(part)))
        for row in rows:
            unknown.discard(row.sku)
            selling, tracked = flags[row.sku]
            if (row.continue_selling, row.tracked) != (selling, tracked):
                row.continue_selling, row.tracked = selling, tracked
                session.add(row)
        session.flush()  # written rows leave the session's memory (its identity map is weak)
    return {sku: flags[sku][0] for sku in sorted(unknown)}


def _store_locations(session: Session, store_id: int, found: Sequence[LocationInfo]) -> None:
    existing = {row.location_id: row for row in session.exec(
        select(Location).where(Location.store_connection_id == store_id))}
    for info in found:
        row = existing.pop(info.id, None) or Location(store_connection_id=store_id,
                                                     location_id=info.id)
        row.name, row.active = info.name, bool(info.active)
        session.add(row)
    for gone in existing.values():  # a location the store no longer has counts for nothing
        gone.active = False
        session.add(gone)


def _store_variants(session: Session, store_id: int, items: Sequence[CatalogItem],
                    refreshed_at: datetime) -> None:
    """Upsert one page of variants a slice at a time (only a slice's ORM rows in memory at
    once), stamped with the refresh's time; their flags are left to the flags read."""
    ours = CatalogVariant.store_connection_id == store_id
    for part in chunks(items):
        existing = {row.variant_id: row for row in session.exec(select(CatalogVariant).where(
            ours, CatalogVariant.variant_id.in_([item.variant_id for item in part])))}
        for item in part:
            row = existing.get(item.variant_id)
            if row is None:
                row = existing[item.variant_id] = CatalogVariant(
                    store_connection_id=store_id, product_id=item.product_id,
                    variant_id=item.variant_id, sku=item.sku)
            row.product_id, row.sku, row.title = item.product_id, item.sku.strip(), item.title
            row.price, row.currency = item.price, item.currency
            row.inventory_item_id = item.inventory_item_id
            row.updated_at = refreshed_at
            session.add(row)
        session.flush()


def _remove_variants_not_read(session: Session, store_id: int, refreshed_at: datetime) -> int:
    """Delete the variants a finished catalog read did not return (database-side: every
    variant it returned carries the read's time)."""
    result = session.execute(delete(CatalogVariant).where(
        CatalogVariant.store_connection_id == store_id,
        CatalogVariant.updated_at < refreshed_at))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def refresh_catalog(session: Session, pm: ShelfsyncPluginManager, store_id: int, *,
                    with_stock: bool = False, budget: Budget | None = None) -> CatalogReport:
    """Read the store's catalog, backorder flags and locations (and stock) into the database.

    The catalog and flags arrive page by page; each page is stored and committed before the
    next is asked for, so no transaction is open while the plugin reads on. Only once the
    catalog read has finished are the variants it did not return removed (a read that fails
    part-way removes nothing); a location the store no longer lists is kept but inactive, so
    old stock rows there never count.
    """
    store = session.get(StoreConnection, store_id)
    if store is None:
        raise InvalidInput("store_id", f"no store connection {store_id}")
    connection = store_connection(store)
    report = CatalogReport(store_id=store_id)
    scope = pass_scope(pm, connection)  # a pass of its own: its reads may share, no more
    session.commit()  # no transaction open while the store is read
    refreshed_at = utcnow()
    for items in _pages(pm, connection, "shelfsync_fetch_catalog", CatalogItem, budget,
                        scope=scope):
        _store_variants(session, store_id, items, refreshed_at)
        report.variants += len(items)
        session.commit()
    report.removed = _remove_variants_not_read(session, store_id, refreshed_at)
    session.commit()
    for policies in policy_pages(pm, connection, budget, scope):
        apply_policies(session, store_id, policies)
        report.policies += len(policies)
        session.commit()
    if budget is not None:
        budget.acquire(f"store:{store_id}")
    locations = _one_list(pm, connection, "shelfsync_fetch_locations", LocationInfo,
                          scope=scope)
    report.locations = len(locations)
    _store_locations(session, store_id, locations)
    if with_stock:
        session.commit()
        read = WholeStockRead(session, store_id, utcnow())
        for levels in stock_pages(pm, connection, budget, scope):
            read.record(levels)
            session.commit()
        read.finish()
        report.stock_levels, report.stock_written = read.levels, read.written
    session.flush()
    return report


class WholeStockRead:
    """A whole-store stock read, recorded page by page (newer observation wins, as always).

    The levels the store no longer reports are forgotten only once the read has finished
    (`finish`): a read that fails part-way forgets nothing. What was reported is told apart
    in the database by its observation time (the read's start, or newer); only the rare
    levels the plugin dated earlier than the read are remembered here.
    """

    def __init__(self, session: Session, store_id: int, started: datetime) -> None:
        self.session, self.store_id, self.started = session, store_id, started
        self.levels = self.written = 0
        #: (SKU, location) reported with an observation time older than the read's start.
        self.older: set[tuple[str, str]] = set()

    def record(self, levels: Sequence[StockInfo]) -> None:
        """Record one page (the caller commits before asking for the next)."""
        self.levels += len(levels)
        self.written += record_levels(self.session, self.store_id, levels, self.started)
        self.older.update((level.sku, level.location_id) for level in levels
                          if level.observed_at is not None and level.observed_at < self.started)

    def finish(self) -> set[str]:
        """The read is complete: forget the levels it did not report (committed at once:
        the look-up below reads the whole catalog, seconds at 1,000,000 SKUs, and must not
        hold SQLite's only writer meanwhile); returns the tracked catalog SKUs it did not
        answer for at all (read problems, never a 0)."""
        forget_levels_not_read(self.session, self.store_id, self.started, self.older)
        self.session.commit()
        return unanswered_skus(self.session, self.store_id, self.started,
                               {sku for sku, _ in self.older})


def forget_levels_not_read(session: Session, store_id: int, started: datetime,
                           older: Collection[tuple[str, str]] = ()) -> int:
    """Delete the store's levels a finished whole read did not report: those observed before
    it began (one statement in the database), but for `older` (reported, dated earlier).
    A newer observation another worker stored meanwhile is never a candidate."""
    table = StockLevel.__table__  # type: ignore[attr-defined]
    candidates = (table.c.store_connection_id == store_id, table.c.observed_at < started)
    if not older:
        result = session.execute(delete(table).where(*candidates))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    stale = [row.id for row in session.execute(
        select(table.c.id, table.c.sku, table.c.location_id).where(*candidates)
        .execution_options(yield_per=STREAM)) if (row.sku, row.location_id) not in older]
    deleted = 0
    for ids in chunks(stale):
        result = session.execute(delete(table).where(table.c.id.in_(ids), *candidates))
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted


def unanswered_skus(session: Session, store_id: int, started: datetime,
                    answered_older: Collection[str] = ()) -> set[str]:
    """Tracked catalog SKUs with no stock level observed since the whole read began (the
    database's set difference), but for `answered_older` (reported, dated earlier)."""
    fresh = exists().where(StockLevel.store_connection_id == store_id,
                           StockLevel.sku == CatalogVariant.sku,
                           StockLevel.observed_at >= started)  # type: ignore[operator]
    query = select(CatalogVariant.sku).where(
        CatalogVariant.store_connection_id == store_id, CatalogVariant.tracked,
        CatalogVariant.sku != "", ~fresh).distinct()
    return {sku for sku in session.exec(query) if sku not in answered_older}


#: How old the stored catalog may be before a reconcile reads it again.
CATALOG_TTL = timedelta(hours=24)


def catalog_stale(session: Session, store_id: int) -> bool:
    """Whether the stored catalog is missing or older than `CATALOG_TTL`."""
    newest = session.exec(select(func.max(CatalogVariant.updated_at)).where(
        CatalogVariant.store_connection_id == store_id)).one()
    if newest is None:
        return True
    if newest.tzinfo is None:  # SQLite hands aggregates back without the column's type
        newest = newest.replace(tzinfo=UTC)
    return utcnow() - newest > CATALOG_TTL


@dataclass
class StoreState:
    """The stored stock, flags and location states the rules read for a set of SKUs."""

    stock: dict[str, list[LocationStock]] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)


def load_store_state(session: Session, store_id: int, skus: Collection[str] | None,
                     fetched: Sequence[BackorderPolicy] = (), *,
                     fetched_flags: Mapping[str, bool] | None = None) -> StoreState:
    """Stock per SKU from the database (the newest observation won there), each level marked
    active or not from the stored locations; flags from this pass's fetch (`fetched`, or
    `fetched_flags`: SKU -> continue selling), else the catalog."""
    active = {row.location_id: row.active for row in session.exec(
        select(Location).where(Location.store_connection_id == store_id))}
    state = StoreState()
    wanted = None if skus is None else sorted(set(skus))
    parts = [None] if wanted is None else list(chunks(wanted))
    for part in parts:
        # Plain columns, not ORM rows: a whole store's rows would be a lot of identities.
        levels = select(StockLevel.sku, StockLevel.location_id, StockLevel.available).where(
            StockLevel.store_connection_id == store_id)
        variants = select(CatalogVariant.sku, CatalogVariant.continue_selling,
                          CatalogVariant.tracked).where(
            CatalogVariant.store_connection_id == store_id)
        if part is not None:
            levels = levels.where(StockLevel.sku.in_(part))
            variants = variants.where(CatalogVariant.sku.in_(part))
        for sku, location_id, available in session.exec(levels):
            state.stock.setdefault(sku, []).append(LocationStock(
                location_id, available, active.get(location_id, True)))
            state.known.add(sku)
        for sku, selling, tracked in session.exec(variants):
            state.flags[sku] = bool(selling or not tracked)
            state.known.add(sku)
    for policy in fetched:
        state.flags[policy.sku] = continue_selling(policy)
        state.known.add(policy.sku)
    if fetched_flags is not None:
        for sku in fetched_flags if wanted is None else wanted:
            if sku in fetched_flags:
                state.flags[sku] = fetched_flags[sku]
                state.known.add(sku)
    return state
