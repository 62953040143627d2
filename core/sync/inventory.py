"""The inventory sync engine: plain functions over a session and the plugin manager.

Workers, the CLI and the web app call these; nothing here knows about Dramatiq or Flask. The
engine owns its transactions, and keeps each one short and off the network: no transaction is
open while a store, listing or push call is waited for. One code path on SQLite and PostgreSQL:

- the store is read with no transaction open; its stock, the decisions and the claims on
  the pushes (`pushed.py`: "in flight" at the stock's version, so a lost recording leaves
  "unknown" and an older decision never overwrites a newer push) commit in one short
  transaction;
- the pushes go out with no transaction open;
- their outcomes, audit rows and pushed quantities, and the pending SKUs of the lease the
  pass holds (`pending.py`), commit in a second short transaction.

A reconcile does the same per channel and per part, renewing its run's lease as it goes;
after its one store read, its channels run side by side, each on a thread of its own with a
session of its own (see `reconcile_organization`).

- `sync_skus`: a webhook (or the pending queue) named SKUs → fetch their stock and flags
  once → every channel with inventory sync on: rules → compare with the last push → push only
  changes, one call per channel product, the channels side by side (each shop has its own
  budget) → one audit row per SKU pushed, failed or skipped.
- `reconcile_channel` / `reconcile_organization`: the full catalog, compared with what the
  channel shows, repairing what a lost webhook missed and counting that drift.
- `recompute_channel`: after a settings change, the channel recomputed from fresh stock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import Engine
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlmodel import Session, select

from shelfsync.core.errors import AuthError, PluginError
from shelfsync.core.models import (
    ChannelConnection,
    ConnectionStatus,
    StoreConnection,
    SyncRun,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.catalog import (
    StoreState,
    WholeStockRead,
    apply_policies,
    catalog_stale,
    fetch_policies,
    fetch_stock,
    load_store_state,
    policy_pages,
    record_levels,
    refresh_catalog,
    stock_pages,
)
from shelfsync.core.sync.context import (
    capabilities_of,
    channel_connection,
    channel_maximum,
    channel_row,
    chunks,
    mark_needs_reauth,
    pass_scope,
    settings_of,
    store_connection,
    store_of,
)
from shelfsync.core.sync.decisions import (
    STOCK_NOT_READ,
    linked,
    linked_in,
    linked_products,
    plan,
    refuse_unread,
    unread_skus,
)
from shelfsync.core.sync.inventory_types import (
    Budget,
    CatalogReport,
    LinkReport,
    SkuOutcome,
    SyncAuthError,
    SyncReport,
)
from shelfsync.core.sync.linking import (
    auto_link,
    refresh_listings,
    shown_totals,
    skus_for_event,
)
from shelfsync.core.sync.listings_ahead import Ahead, ListingsAhead
from shelfsync.core.sync.pending import (
    Lease,
    has_pending,
    lease_pending,
    mark_pending,
    renew_lease,
    settle_pending,
)
from shelfsync.core.sync.pushing import (
    Pass,
    Prepared,
    claim_calls,
    make_calls,
    prepare,
    record,
    settle,
)
from shelfsync.core.sync.runs import fail_expired_runs, finish_run, renew_run, start_run
from shelfsync.core.sync.status import channel_status
from shelfsync.core.types import Capabilities

__all__ = [
    "STOCK_NOT_READ",
    "Budget",
    "CatalogReport",
    "LinkReport",
    "SkuOutcome",
    "SyncAuthError",
    "SyncReport",
    "auto_link",
    "channel_status",
    "has_pending",
    "lease_pending",
    "mark_needs_reauth",
    "mark_pending",
    "recompute_channel",
    "reconcile_channel",
    "reconcile_organization",
    "refresh_catalog",
    "refresh_listings",
    "settle_pending",
    "skus_for_event",
    "sync_skus",
]

Failures = list[tuple[str, int, str]]
#: Shops of one organization pushed at the same time at most (one thread per shop), by a
#: webhook pass and by a reconcile alike.
MAX_PUSH_THREADS = 8
#: Channel products a reconcile decides and pushes per part (a few thousand SKUs): bounds
#: the memory a reconcile holds, whatever the size of the catalog. Channels run side by side
#: share it (each takes its share per part), so the number of shops does not multiply it.
PRODUCTS_PER_PART = 500


def _channels(session: Session, organization_id: int,
              channel_ids: Iterable[int] | None) -> list[ChannelConnection]:
    query = select(ChannelConnection).where(ChannelConnection.organization_id == organization_id)
    if channel_ids is not None:
        query = query.where(ChannelConnection.id.in_(list(channel_ids)))  # type: ignore[union-attr]
    return list(session.exec(query.order_by(ChannelConnection.id)))


def _raise_auth(failures: Failures, report: SyncReport) -> None:
    if failures:
        kind, ident, message = failures[0]
        raise SyncAuthError(f"{kind} {ident} refused our credentials: {message}",
                            failures=failures, report=report, code="needs_reauth")


def _store_auth(store: StoreConnection, exc: AuthError, report: SyncReport) -> SyncAuthError:
    assert store.id is not None
    return SyncAuthError(f"store {store.id} refused our credentials: {exc.message}",
                         failures=[("store", store.id, exc.message)], report=report,
                         platform=exc.platform, request_id=exc.request_id, code="needs_reauth")


def _prepare_channel(session: Session, pm: ShelfsyncPluginManager, store: StoreConnection,
                     channel: ChannelConnection, state: StoreState,
                     skus: Collection[str] | None, report: SyncReport, *, dry_run: bool,
                     budget: Budget | None, version: datetime,
                     unread: Collection[str] = ()) -> Prepared:
    """Decide and compare one channel's linked SKUs (of `skus`, or all): the calls to make."""
    assert channel.id is not None
    settings = settings_of(session, channel.id)
    connection = channel_connection(channel)
    planned = plan(pm, connection, linked(session, channel.id, skus), state, settings,
                   capabilities_of(pm, store.platform), channel_maximum(pm, channel.platform))
    run = Pass(session, pm, channel, connection, report, version, dry_run, budget,
               scope=pass_scope(pm, connection))
    return prepare(run, refuse_unread(planned, unread))


def _make_all_calls(prepared: Sequence[Prepared]) -> None:
    """Every channel's calls, the channels side by side: each shop has its own budget and
    throttle, so one shop's calls need not wait behind another's. Threads touch only the
    network; the session stays with the caller's thread."""
    busy = [p for p in prepared if p.calls]
    if len(busy) <= 1:
        for one in busy:
            make_calls(one)
        return
    with ThreadPoolExecutor(max_workers=min(len(busy), MAX_PUSH_THREADS),
                            thread_name_prefix="shelfsync-push") as pool:
        for future in [pool.submit(make_calls, one) for one in busy]:
            future.result()


def _syncable(session: Session, channel: ChannelConnection) -> bool:
    assert channel.id is not None
    return bool(settings_of(session, channel.id).inventory_sync)


def _awaiting_reauth(channel: ChannelConnection) -> bool:
    """A channel marked "needs re-auth" is left out of webhook-driven syncs: every call would
    be refused again. `shelfsync reconnect channel` recomputes it once it has new credentials
    (and an explicit reconcile still tries it)."""
    return channel.status == ConnectionStatus.NEEDS_REAUTH.value


def sync_skus(session: Session, pm: ShelfsyncPluginManager, organization_id: int,
              skus: Collection[str], *, dry_run: bool = False,
              channel_ids: Iterable[int] | None = None,
              budget: Budget | None = None, keep_items: bool = True,
              lease: Lease | None = None) -> SyncReport:
    """Sync exactly these store SKUs to every channel of the organization with inventory sync.

    Stock and flags are fetched once for all of them, with no transaction open, and recorded
    newer-wins (observed when the fetch started); decisions read the STORED stock, so when two
    workers race the newest observation decides for both, and each push carries that read's
    time as its version. A tracked SKU the read did not answer for is a read problem, never
    a 0. A store that cannot be read raises (nothing was done; the caller retries). A channel
    that refuses our credentials stops that channel only: `SyncAuthError` is raised at the
    end, after every other channel was handled. Without `keep_items` the report counts every
    SKU but keeps only the failed ones' outcomes.

    Transactions (the engine commits them): the decisions and the claims on the pushes, then,
    after the calls, the outcomes — with the SKUs of `lease` this read covered removed from
    the pending queue and the others freed for the next pass.
    """
    report = SyncReport(keep_items=keep_items)
    wanted = sorted({sku.strip() for sku in skus if sku and sku.strip()})
    if not wanted:
        return report
    store = store_of(session, organization_id)
    assert store.id is not None
    connection = store_connection(store)
    session.commit()  # no transaction open while the store is read
    started = utcnow()
    scope = pass_scope(pm, connection)  # what this pass's store reads share; dropped after it
    try:
        levels = fetch_stock(pm, connection, wanted, budget, scope)
        report.count("fetch_stock_levels")
        # One store read (stock and flags of the same SKUs) is one unit of the store's budget:
        # a plugin that can serve the flags from the stock read's answer (Shopify's does)
        # makes no second call, and one that cannot is still paced by its own client.
        policies = fetch_policies(pm, connection, wanted, None, scope)
        report.count("fetch_backorder_policies")
    except AuthError as exc:
        raise _store_auth(store, exc, report) from exc
    record_levels(session, store.id, levels, started, covered=wanted)
    apply_policies(session, store.id, policies)
    if lease is not None:  # the store read may have been slow: the pushes keep the lease
        renew_lease(session, organization_id, lease)
    session.commit()  # the observation stands on its own; deciding holds no write lock
    unread = unread_skus(session, store.id, {level.sku for level in levels}, wanted)
    state = load_store_state(session, store.id, wanted, policies)
    prepared = [_prepare_channel(session, pm, store, channel, state, wanted, report,
                                 dry_run=dry_run, budget=budget, version=started, unread=unread)
                for channel in _channels(session, organization_id, channel_ids)
                if _syncable(session, channel) and not _awaiting_reauth(channel)]
    for one in prepared:
        claim_calls(one)
    session.commit()  # stock, decisions and claims durable before any call leaves
    _make_all_calls(prepared)
    failures: Failures = []
    for one in prepared:
        error = record(one)
        if error is not None:
            failures.append(("channel", one.run.channel_id, error.message))
    if lease is not None:
        settle_pending(session, organization_id, lease,
                       [sku for sku in wanted if sku not in report.retry_skus], started)
    session.commit()
    _raise_auth(failures, report)
    return report


@dataclass(frozen=True)
class _StoreRead:
    """What a reconcile's store read leaves for its channels: which store and what its
    platform can tell, when the stock was read (the pushes' version), the tracked SKUs it did
    not answer for, and the flags of SKUs no stored variant carries (every other flag is
    stored on the catalog). Plain values, read (never changed) by every channel's thread."""

    store_id: int
    capabilities: Capabilities
    version: datetime
    unread: frozenset[str]
    flags: Mapping[str, bool]


def _refresh_store_catalog(session: Session, pm: ShelfsyncPluginManager,
                           store: StoreConnection, report: SyncReport,
                           budget: Budget | None) -> None:
    """Read the store's catalog (for linking) into the database, before the channels link."""
    assert store.id is not None
    session.commit()  # no transaction open while the store is read
    try:
        report.catalog = refresh_catalog(session, pm, store.id, budget=budget)
    except AuthError as exc:
        raise _store_auth(store, exc, report) from exc
    for hook in ("fetch_catalog", "fetch_locations"):
        report.count(hook)
    session.commit()


def _read_store(session: Session, pm: ShelfsyncPluginManager, store: StoreConnection,
                report: SyncReport, budget: Budget | None) -> _StoreRead:
    """Read the store's stock and flags into the database page by page, each page recorded
    in a transaction committed before the next page is asked for (no transaction open across
    the plugin's calls); only one page is in memory at a time. Levels the store stopped
    reporting are forgotten, and missing SKUs found (in the database), only once the whole
    stock read has finished."""
    assert store.id is not None
    session.commit()  # no transaction open while the store is read
    try:
        started = utcnow()
        connection = store_connection(store)
        scope = pass_scope(pm, connection)  # this read's own: dropped when it returns
        stock = WholeStockRead(session, store.id, started)
        for levels in stock_pages(pm, connection, budget, scope):
            stock.record(levels)
            session.commit()
        report.count("fetch_stock_levels")
        flags: dict[str, bool] = {}
        for policies in policy_pages(pm, connection, budget, scope):
            flags.update(apply_policies(session, store.id, policies))
            session.commit()
        report.count("fetch_backorder_policies")
    except AuthError as exc:
        raise _store_auth(store, exc, report) from exc
    unread = stock.finish()
    session.commit()  # the store read holds no row lock while the channels are pushed
    return _StoreRead(store.id, capabilities_of(pm, store.platform), started,
                      frozenset(unread), MappingProxyType(flags))


def _reconcile_pass(session: Session, pm: ShelfsyncPluginManager, channel: ChannelConnection,
                    read: _StoreRead, report: SyncReport, *, dry_run: bool,
                    budget: Budget | None, sync_run: SyncRun | None,
                    part: int) -> AuthError | None:
    """Decide, compare and push the channel's whole catalog, `part` products at a
    time: only one part's links, stock, decisions and rows are in memory at once. A product
    is never split between parts, so the calls made are those of one whole pass. Each part
    is committed before its calls and after its recording (`settle`), renewing the run's
    lease."""
    assert channel.id is not None
    settings = settings_of(session, channel.id)
    connection = channel_connection(channel)
    maximum = channel_maximum(pm, channel.platform)
    # A reconcile repairs drift: the channel plugin reads its warehouses afresh (once per
    # pass) and keeps them for the webhook passes after it.
    run = Pass(session, pm, channel, connection, report, read.version, dry_run, budget, {},
               scope=pass_scope(pm, connection, fresh=True))
    first_error: AuthError | None = None
    for products in chunks(linked_products(session, channel.id), part):
        links = linked_in(session, channel.id, products)
        state = load_store_state(session, read.store_id, {link.store_sku for link in links},
                                 fetched_flags=read.flags)
        run.shown = shown_totals(session, channel.id, [link.sku_id for link in links])
        planned = refuse_unread(plan(pm, connection, links, state, settings,
                                      read.capabilities, maximum), read.unread)
        del links, state
        renew_run(session, sync_run)
        error = settle(run, planned)
        first_error = first_error or error
    return first_error


@dataclass
class _ChannelDone:
    """What one channel's reconcile hands back to the thread that merges them: plain values,
    no ORM object (each channel ran in a session of its own)."""

    channel_id: int
    report: SyncReport
    #: The refusal that stopped the channel (its credentials), if any.
    auth_error: str | None = None


def _reconcile_one(engine: Engine, pm: ShelfsyncPluginManager, channel_id: int,
                   read: _StoreRead, *, dry_run: bool, budget: Budget | None,
                   keep_items: bool, part: int, ahead: Ahead | None = None) -> _ChannelDone:
    """One channel's reconcile: its run started, its listings read and linked (or taken from
    `ahead`, read while the store was: see listings_ahead.py), its pass decided and pushed
    part by part, its run finished, each step committed.

    It may run on a worker thread beside the other channels': it opens a session of its own
    on `engine` (a session is not thread-safe) and loads its rows by id. A listings read that
    fails is this channel's error run; the others go on.
    """
    report = SyncReport(keep_items=keep_items)
    with Session(engine, expire_on_commit=False) as session:
        channel = channel_row(session, channel_id)
        run = start_run(session, channel, "reconcile", dry_run)
        session.commit()
        try:
            if ahead is None:
                refresh_listings(session, pm, channel_id, budget=budget)
            elif (refused := ahead.result()) is not None:
                raise refused
            report.count("fetch_listings")
        except PluginError as exc:
            report.errors[channel_id] = exc.message
            finish_run(session, run, report, exc.message)
            session.commit()
            return _ChannelDone(channel_id, report,
                                exc.message if isinstance(exc, AuthError) else None)
        session.commit()  # listings and links, before any push
        error = _reconcile_pass(session, pm, channel, read, report, dry_run=dry_run,
                                budget=budget, sync_run=run, part=part)
        finish_run(session, run, report, error.message if error else None)
        session.commit()
    return _ChannelDone(channel_id, report, error.message if error else None)


def _one_connection(engine: Engine) -> bool:
    """Whether the engine's connections cannot be used from threads side by side: an
    in-memory SQLite database lives in one connection (one per thread, or one shared)."""
    return isinstance(engine.pool, SingletonThreadPool | StaticPool)


def _reconcile_channels(session: Session, pm: ShelfsyncPluginManager,
                        channel_ids: Sequence[int], read: _StoreRead, *, dry_run: bool,
                        budget: Budget | None, keep_items: bool,
                        ahead: Mapping[int, Ahead] | None = None) -> list[_ChannelDone]:
    """Every channel's reconcile, side by side (`MAX_PUSH_THREADS` at most), in channel
    order. Each shop has its own QPS and budget, so one shop's pushes need not wait behind
    another's; the database work of the threads interleaves (SQLite: WAL, one writer at a
    time, each waiting up to its busy timeout; each transaction is one page or part). The
    channels at once share `PRODUCTS_PER_PART`: each decides its share per part, so the
    reconcile holds about one part's memory whatever the number of shops.

    An unexpected error (the database gone) in one channel does not stop the others: it is
    raised, the first in channel order, once they have finished."""
    engine = session.get_bind().engine
    at_once = 1 if _one_connection(engine) else min(len(channel_ids), MAX_PUSH_THREADS)
    part = max(1, PRODUCTS_PER_PART // max(1, at_once))  # the memory of one part in all

    def one(channel_id: int) -> _ChannelDone:
        return _reconcile_one(engine, pm, channel_id, read, dry_run=dry_run, budget=budget,
                              keep_items=keep_items, part=part,
                              ahead=(ahead or {}).get(channel_id))

    if at_once <= 1:
        return [one(channel_id) for channel_id in channel_ids]
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="shelfsync-reconcile") as pool:
        futures = [pool.submit(one, channel_id) for channel_id in channel_ids]
    raised = next((f.exception() for f in futures if f.exception() is not None), None)
    if raised is not None:
        raise raised
    return [future.result() for future in futures]


def reconcile_organization(session: Session, pm: ShelfsyncPluginManager, organization_id: int,
                           *, dry_run: bool = False, channel_ids: Iterable[int] | None = None,
                           budget: Budget | None = None,
                           refresh_store_catalog: bool | None = None,
                           keep_items: bool = True) -> SyncReport:
    """Reconcile every channel of the organization (or `channel_ids`), reading the store once.

    The store's stock and flags are read whole; its catalog (for linking) only when
    `refresh_store_catalog` says so, by default when it was never read or is a day old.

    Then the channels, side by side (each shop has its own QPS: a reconcile of three shops
    takes about as long as its busiest, not as the three in a row), each on a thread with a
    session of its own (`MAX_PUSH_THREADS` at most). Per channel: listings and links
    refreshed, every linked SKU decided from the stored stock (fresh from this pass), compared
    with what the channel SHOWS, the differences pushed and counted as drift, one `SyncRun`
    (kind "reconcile") recorded. A channel whose listings cannot be read is recorded as an
    error run and the others go on; a channel that refuses our credentials raises
    `SyncAuthError` at the end, once every other channel has finished. The report merges the
    channels' in channel order. Without `keep_items` the report counts every SKU but keeps
    only the failed ones' outcomes. `budget` is shared by the channels' threads (it is keyed
    per shop).

    The pass commits step by step (the store read, each channel's run and listings, each
    part's claims, then its recording): what is done stays done if a later step fails, and
    no transaction is open across a network round trip. Its runs renew a lease as they go; a
    run whose worker was killed is marked failed once that lease expires (here, before the
    next reconcile, and by the scheduler's sweeper). The rows the channels wrote were written
    by sessions of their own: the caller's session reads them afresh (expired on return).
    """
    report = SyncReport(keep_items=keep_items)
    store = store_of(session, organization_id)
    assert store.id is not None
    if refresh_store_catalog is None:
        refresh_store_catalog = catalog_stale(session, store.id)
    fail_expired_runs(session)
    if refresh_store_catalog:
        _refresh_store_catalog(session, pm, store, report, budget)
    wanted = [channel.id for channel in _channels(session, organization_id, channel_ids)
              if channel.id is not None and _syncable(session, channel)]
    session.commit()  # the channels' sessions see all of it; this one holds nothing
    engine = session.get_bind().engine
    threads = 0 if _one_connection(engine) else MAX_PUSH_THREADS
    with ListingsAhead(engine, pm, wanted, budget, threads) as ahead:
        read = _read_store(session, pm, store, report, budget)
    try:
        done = _reconcile_channels(session, pm, wanted, read, dry_run=dry_run,
                                   budget=budget, keep_items=keep_items, ahead=ahead.reads)
    finally:
        session.expire_all()
    failures: Failures = []
    for channel in done:
        report.merge(channel.report)
        if channel.auth_error is not None:
            failures.append(("channel", channel.channel_id, channel.auth_error))
    _raise_auth(failures, report)
    return report


def reconcile_channel(session: Session, pm: ShelfsyncPluginManager, channel_id: int, *,
                      dry_run: bool = False, budget: Budget | None = None,
                      keep_items: bool = True) -> SyncReport:
    """Reconcile one channel against the whole store (see `reconcile_organization`).

    A second reconcile with nothing changed makes no update call: what the channel shows
    already equals every decision.
    """
    channel = channel_row(session, channel_id)
    return reconcile_organization(session, pm, channel.organization_id, dry_run=dry_run,
                                  channel_ids=[channel_id], budget=budget,
                                  keep_items=keep_items)


def recompute_channel(session: Session, pm: ShelfsyncPluginManager, channel_id: int, *,
                      dry_run: bool = False, budget: Budget | None = None,
                      keep_items: bool = True) -> SyncReport:
    """Recompute one channel at once from fresh stock of its linked SKUs (settings changed).

    With `dry_run`, each SKU's from → to and reason are reported; nothing is pushed and no
    pushed quantity, audit row or run is written.
    """
    channel = channel_row(session, channel_id)
    skus: Sequence[str] = sorted({link.store_sku for link in linked(session, channel_id, None)})
    run = start_run(session, channel, "recompute", dry_run)
    try:
        report = sync_skus(session, pm, channel.organization_id, skus, dry_run=dry_run,
                           channel_ids=[channel_id], budget=budget, keep_items=keep_items)
    except SyncAuthError as exc:
        finish_run(session, run, exc.report, exc.message)
        raise
    except PluginError as exc:
        finish_run(session, run, SyncReport(keep_items=keep_items), exc.message)
        raise
    finish_run(session, run, report)
    return report
