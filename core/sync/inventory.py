"""The inventory sync engine: plain functions over a session and the plugin manager.

Workers, the CLI and the web app call these; nothing here knows about Dramatiq or Flask. The
caller passes a session and commits it at the end; the engine commits only where holding the
caller's transaction open would do harm:

- before any push leaves, the SKUs it carries are put "in flight" (their pushed quantity
  forgotten) in a transaction committed first (`context.commit_first`), so a push whose
  recording is lost can never leave a stale quantity behind;
- a reconcile commits its store read at once and each channel's listings and each part's
  pushes in their own transactions: its row locks (and SQLite's write lock) are never held
  across the store's, the listings' or the pushes' network round trips, so webhook passes
  never queue up behind a whole-catalog pass.

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
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

from shelfsync.core.errors import AuthError, PluginError
from shelfsync.core.models import (
    ChannelConnection,
    ConnectionStatus,
    PendingSku,
    RunStatus,
    StoreConnection,
    SyncRun,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.catalog import (
    StoreState,
    apply_policies,
    catalog_stale,
    continue_selling,
    fetch_policies,
    fetch_stock,
    load_store_state,
    record_levels,
    refresh_catalog,
)
from shelfsync.core.sync.context import (
    capabilities_of,
    channel_connection,
    channel_maximum,
    channel_row,
    chunks,
    commit_first,
    mark_needs_reauth,
    settings_of,
    store_connection,
    store_of,
)
from shelfsync.core.sync.decisions import linked, linked_in, linked_products, plan
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
    fetch_listings,
    refresh_listings,
    skus_for_event,
    store_listings,
)
from shelfsync.core.sync.pending import (
    has_pending,
    mark_pending,
    take_pending,
    try_lock_organization,
)
from shelfsync.core.sync.pushing import (
    Pass,
    Prepared,
    forget_pushed,
    make_calls,
    prepare,
    record,
    settle,
)
from shelfsync.core.sync.status import channel_status
from shelfsync.core.types import PassScope

__all__ = [
    "Budget",
    "CatalogReport",
    "LinkReport",
    "SkuOutcome",
    "SyncAuthError",
    "SyncReport",
    "auto_link",
    "channel_status",
    "has_pending",
    "mark_needs_reauth",
    "mark_pending",
    "recompute_channel",
    "reconcile_channel",
    "reconcile_organization",
    "refresh_catalog",
    "refresh_listings",
    "skus_for_event",
    "sync_skus",
    "take_pending",
    "try_lock_organization",
]

Failures = list[tuple[str, int, str]]
#: Shops of one organization pushed at the same time at most (one thread per shop).
MAX_PUSH_THREADS = 8
#: Channel products a reconcile decides and pushes per part (a few thousand SKUs): bounds
#: the memory a pass holds, whatever the size of the catalog.
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
                     budget: Budget | None, shown: dict[str, int] | None = None) -> Prepared:
    """Decide and compare one channel's linked SKUs (of `skus`, or all): the calls to make."""
    assert channel.id is not None
    settings = settings_of(session, channel.id)
    connection = channel_connection(channel)
    planned = plan(pm, connection, linked(session, channel.id, skus), state, settings,
                   capabilities_of(pm, store.platform), channel_maximum(pm, channel.platform))
    run = Pass(session, pm, channel, connection, report, dry_run, budget, shown)
    return prepare(run, planned)


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
              budget: Budget | None = None, keep_items: bool = True) -> SyncReport:
    """Sync exactly these store SKUs to every channel of the organization with inventory sync.

    Stock and flags are fetched once for all of them and recorded newer-wins (observed when
    the fetch started); decisions read the STORED stock, so when two workers race the newest
    observation decides for both. A store that cannot be read raises (nothing was done; the
    caller retries). A channel that refuses our credentials stops that channel only:
    `SyncAuthError` is raised at the end, after every other channel was handled. Without
    `keep_items` the report counts every SKU but keeps only the failed ones' outcomes.

    The SKUs about to be pushed are put in flight durably first (`commit_first`: its own
    transaction on PostgreSQL, the caller's committed on SQLite); everything else, the
    outcomes included, is left to the caller's commit.
    """
    report = SyncReport(keep_items=keep_items)
    wanted = sorted({sku.strip() for sku in skus if sku and sku.strip()})
    if not wanted:
        return report
    store = store_of(session, organization_id)
    assert store.id is not None
    connection = store_connection(store)
    started = utcnow()
    scope = PassScope()  # what the store plugin's reads of this pass share; dropped after it
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
    session.flush()
    state = load_store_state(session, store.id, wanted, policies)
    prepared = [_prepare_channel(session, pm, store, channel, state, wanted, report,
                                 dry_run=dry_run, budget=budget)
                for channel in _channels(session, organization_id, channel_ids)
                if _syncable(session, channel) and not _awaiting_reauth(channel)]
    if any(one.calls for one in prepared):
        commit_first(session, lambda durable: _put_in_flight(
            durable, organization_id, prepared, wanted, started))
    _make_all_calls(prepared)
    failures: Failures = []
    for one in prepared:
        error = record(one)
        if error is not None:
            failures.append(("channel", one.run.channel_id, error.message))
    _settle_claim(session, organization_id, wanted, started)
    session.flush()
    _raise_auth(failures, report)
    return report


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _put_in_flight(durable: Session, organization_id: int, prepared: Sequence[Prepared],
                   wanted: Sequence[str], started: datetime) -> None:
    """Forget the pushed quantities of what is about to be sent, durably.

    On SQLite `commit_first` commits the caller's transaction, and with it the pass's claim
    on its pending SKUs (`take_pending` deleted them): they are queued again in the same
    commit, so a process dying mid-push leaves them pending, and `_settle_claim` takes them
    back once the outcomes are recorded. PostgreSQL keeps the claim in the caller's
    transaction, untouched.
    """
    forget_pushed(durable, prepared)
    if _sqlite(durable):
        mark_pending(durable, organization_id, wanted, started)


def _settle_claim(session: Session, organization_id: int, wanted: Sequence[str],
                  started: datetime) -> None:
    """SQLite: remove the pending rows `_put_in_flight` put back (and any older): this pass
    read those SKUs at `started`. A webhook that queued one with a newer time stays."""
    if not _sqlite(session):
        return
    table = PendingSku.__table__  # type: ignore[attr-defined]
    for part in chunks(list(wanted)):
        session.execute(delete(table).where(
            table.c.organization_id == organization_id, table.c.sku.in_(part),
            table.c.observed_at <= started))


def _finish_run(session: Session, run: SyncRun | None, report: SyncReport,
                error: str | None = None) -> None:
    if run is None:
        return
    run.finished_at = utcnow()
    run.counts = {**report.counts(), "api_calls": sum(report.api_calls.values())}
    run.error = error
    if error is not None and not report.total:
        run.status = RunStatus.ERROR.value
    elif error is not None or report.failed:
        run.status = RunStatus.PARTIAL.value
    else:
        run.status = RunStatus.OK.value
    session.add(run)
    session.flush()


def _start_run(session: Session, channel: ChannelConnection, kind: str,
               dry_run: bool) -> SyncRun | None:
    if dry_run:
        return None
    run = SyncRun(organization_id=channel.organization_id, channel_id=channel.id, kind=kind)
    session.add(run)
    session.flush()
    return run


def _read_store(session: Session, pm: ShelfsyncPluginManager, store: StoreConnection,
                report: SyncReport, budget: Budget | None,
                refresh_store_catalog: bool) -> dict[str, bool]:
    """Read the store's catalog (when asked), stock and flags into the database, each in its
    own transaction committed at once; returns the fetched flags (SKU -> continue selling).
    The fetched lists go out of scope here, so a large store's levels and policies are not
    held while the channels are pushed."""
    assert store.id is not None
    try:
        if refresh_store_catalog:
            report.catalog = refresh_catalog(session, pm, store.id, budget=budget)
            for hook in ("fetch_catalog", "fetch_locations"):
                report.count(hook)
            session.commit()
        started = utcnow()
        connection = store_connection(store)
        scope = PassScope()  # this read's own: dropped when it returns
        levels = fetch_stock(pm, connection, None, budget, scope)
        report.count("fetch_stock_levels")
        policies = fetch_policies(pm, connection, None, budget, scope)
        report.count("fetch_backorder_policies")
    except AuthError as exc:
        raise _store_auth(store, exc, report) from exc
    record_levels(session, store.id, levels, started, covered=None)
    del levels
    apply_policies(session, store.id, policies)
    session.commit()  # the store read holds no row lock while the channels are pushed
    return {policy.sku: continue_selling(policy) for policy in policies}


def _read_listings(session: Session, pm: ShelfsyncPluginManager, channel_id: int,
                   report: SyncReport, budget: Budget | None) -> dict[str, int]:
    """Read, store and link the channel's listings; returns what each SKU id shows in total
    (the listings themselves are dropped here)."""
    listings = fetch_listings(session, pm, channel_id, budget)
    report.count("fetch_listings")
    store_listings(session, channel_id, listings)
    shown = {listing.sku_id: sum(listing.quantities.values()) for listing in listings}
    del listings  # linking reads the stored rows: the channel's listings may go first
    auto_link(session, channel_id)
    return shown


def _reconcile_pass(session: Session, pm: ShelfsyncPluginManager, store: StoreConnection,
                    channel: ChannelConnection, flags: Mapping[str, bool],
                    report: SyncReport, *, dry_run: bool, budget: Budget | None,
                    shown: dict[str, int]) -> AuthError | None:
    """Decide, compare and push the channel's whole catalog, `PRODUCTS_PER_PART` products at a
    time: only one part's links, stock, decisions and rows are in memory at once. A product
    is never split between parts, so the calls made are those of one whole pass. Each part
    is committed before its calls and after its recording (`settle`)."""
    assert channel.id is not None and store.id is not None
    settings = settings_of(session, channel.id)
    connection = channel_connection(channel)
    store_caps = capabilities_of(pm, store.platform)
    maximum = channel_maximum(pm, channel.platform)
    run = Pass(session, pm, channel, connection, report, dry_run, budget, shown)
    first_error: AuthError | None = None
    for products in chunks(linked_products(session, channel.id), PRODUCTS_PER_PART):
        links = linked_in(session, channel.id, products)
        state = load_store_state(session, store.id, {link.store_sku for link in links},
                                 fetched_flags=flags)
        planned = plan(pm, connection, links, state, settings, store_caps, maximum)
        del links, state
        error = settle(run, planned)
        first_error = first_error or error
        session.commit()
    return first_error


def reconcile_organization(session: Session, pm: ShelfsyncPluginManager, organization_id: int,
                           *, dry_run: bool = False, channel_ids: Iterable[int] | None = None,
                           budget: Budget | None = None,
                           refresh_store_catalog: bool | None = None,
                           keep_items: bool = True) -> SyncReport:
    """Reconcile every channel of the organization (or `channel_ids`), reading the store once.

    The store's stock and flags are read whole; its catalog (for linking) only when
    `refresh_store_catalog` says so, by default when it was never read or is a day old.

    Per channel: listings and links refreshed, every linked SKU decided from the stored stock
    (fresh from this pass), compared with what the channel SHOWS, the differences pushed and
    counted as drift, one `SyncRun` (kind "reconcile") recorded. A channel whose listings
    cannot be read is recorded as an error run and the others go on. Without `keep_items`
    the report counts every SKU but keeps only the failed ones' outcomes.

    The pass commits the caller's session step by step (the store read, each channel's run
    and listings, each part's pushes and their recording): what is done stays done if a
    later step fails, and no lock is held across a network round trip. The caller's final
    commit (after marking refused channels on `SyncAuthError`) finds little or nothing left.
    """
    report = SyncReport(keep_items=keep_items)
    store = store_of(session, organization_id)
    assert store.id is not None
    if refresh_store_catalog is None:
        refresh_store_catalog = catalog_stale(session, store.id)
    flags = _read_store(session, pm, store, report, budget, refresh_store_catalog)
    failures: Failures = []
    for channel in _channels(session, organization_id, channel_ids):
        if not _syncable(session, channel):
            continue
        assert channel.id is not None
        run = _start_run(session, channel, "reconcile", dry_run)
        session.commit()
        channel_report = SyncReport(keep_items=keep_items)
        try:
            shown = _read_listings(session, pm, channel.id, channel_report, budget)
        except PluginError as exc:
            if isinstance(exc, AuthError):
                failures.append(("channel", channel.id, exc.message))
            channel_report.errors[channel.id] = exc.message
            _finish_run(session, run, channel_report, exc.message)
            session.commit()
            report.merge(channel_report)
            continue
        session.commit()  # listings and links, before any push
        error = _reconcile_pass(session, pm, store, channel, flags, channel_report,
                                dry_run=dry_run, budget=budget, shown=shown)
        del shown
        if error is not None:
            failures.append(("channel", channel.id, error.message))
        _finish_run(session, run, channel_report, error.message if error else None)
        session.commit()
        report.merge(channel_report)
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
    run = _start_run(session, channel, "recompute", dry_run)
    try:
        report = sync_skus(session, pm, channel.organization_id, skus, dry_run=dry_run,
                           channel_ids=[channel_id], budget=budget, keep_items=keep_items)
    except SyncAuthError as exc:
        _finish_run(session, run, exc.report, exc.message)
        raise
    except PluginError as exc:
        _finish_run(session, run, SyncReport(keep_items=keep_items), exc.message)
        raise
    _finish_run(session, run, report)
    return report
