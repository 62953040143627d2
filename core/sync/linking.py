"""Channel listings and SKU links: store SKU ↔ channel seller SKU, never guessed.

A link is made automatically only when exactly one store variant and exactly one channel SKU
carry the same SKU. Everything else (duplicates on either side, a SKU missing on one side, a
listing without a seller SKU) becomes a `LinkProblem` row for the merchant to settle; manual
links are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, update
from sqlmodel import Session, select

from shelfsync.core.models import (
    CatalogVariant,
    ChannelListing,
    ChannelSkuState,
    LinkKind,
    LinkProblem,
    LinkProblemKind,
    SkuLink,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.context import (
    CHUNK,
    STREAM,
    channel_connection,
    channel_row,
    chunks,
    settings_of,
    store_of,
)
from shelfsync.core.sync.inventory_types import Budget, LinkReport, Problem
from shelfsync.core.sync.paging import checked_pages
from shelfsync.core.types import Connection, Listing, WebhookEvent


def read_listings(session: Session, pm: ShelfsyncPluginManager, channel_id: int,
                  budget: Budget | None = None) -> int:
    """Read the channel's listings page by page into the database; returns how many were read.

    Each page is stored (`channel_listing`, `channel_sku_state`) and committed before the next
    is asked for: no transaction is open across the plugin's calls, and one page is in
    memory. Only once the whole read has finished are the listings it did not return
    forgotten (told apart in the database by the read's time), so a read that fails
    part-way forgets nothing. A channel that suddenly reads empty after having listings is
    read a second time before the answer is believed: applied, an empty read deletes every
    listing and link (and a reconcile then pushes nothing). Only a second empty answer is
    taken as "no listings".
    """
    channel = channel_row(session, channel_id)
    connection = channel_connection(channel)
    had_listings = _has_listings(session, channel_id)
    session.commit()  # no transaction open while the channel is read
    read_at = utcnow()
    count = _read_listings_once(session, pm, connection, channel_id, budget, read_at)
    if count == 0 and had_listings:
        count = _read_listings_once(session, pm, connection, channel_id, budget, read_at)
    _forget_listings_not_read(session, channel_id, read_at)
    session.flush()
    return count


def _read_listings_once(session: Session, pm: ShelfsyncPluginManager, connection: Connection,
                        channel_id: int, budget: Budget | None, read_at: datetime) -> int:
    if budget is not None:
        budget.acquire(f"channel:{channel_id}")
    hook = "shelfsync_fetch_listings"
    count = 0
    for page in checked_pages(pm.call(connection, hook), Listing,
                              platform=connection.platform, hook=hook):
        store_listings(session, channel_id, page, read_at)
        session.commit()
        count += len(page)
    return count


def _has_listings(session: Session, channel_id: int) -> bool:
    return session.exec(select(ChannelListing.id).where(
        ChannelListing.channel_id == channel_id).limit(1)).first() is not None


def store_listings(session: Session, channel_id: int, listings: Sequence[Listing],
                   read_at: datetime | None = None) -> None:
    """Mirror one page of listings into ChannelListing and ChannelSkuState (only what
    changed), marking every listing of the page as read at `read_at`.

    A slice of SKUs at a time, flushed as it goes: only a slice's ORM rows are in memory.
    """
    now = read_at or utcnow()
    latest = {listing.sku_id: listing for listing in listings}
    for part in chunks(list(latest)):
        _store_listing_part(session, channel_id, [latest[sku_id] for sku_id in part], now)
        session.flush()
        session.execute(update(ChannelListing).where(  # type: ignore[arg-type]
            ChannelListing.channel_id == channel_id,
            ChannelListing.sku_id.in_(list(part))).values(updated_at=now))  # type: ignore[attr-defined]


def _forget_listings_not_read(session: Session, channel_id: int, read_at: datetime) -> None:
    """Delete the listings a finished read did not return, and the SKU states of SKU ids the
    channel no longer lists (set differences in the database)."""
    session.execute(delete(ChannelListing).where(
        ChannelListing.channel_id == channel_id,
        ChannelListing.updated_at < read_at))  # type: ignore[arg-type]
    listed = select(ChannelListing.sku_id).where(ChannelListing.channel_id == channel_id)
    session.execute(delete(ChannelSkuState).where(
        ChannelSkuState.channel_id == channel_id,
        ChannelSkuState.sku_id.not_in(listed)))  # type: ignore[attr-defined]


def shown_totals(session: Session, channel_id: int, sku_ids: Sequence[str]) -> dict[str, int]:
    """What the channel shows in total for each of these SKU ids it lists, as last read (or
    set by a push since): a SKU id it does not list is absent."""
    shown: dict[str, int] = {}
    for part in chunks(sorted(set(sku_ids))):
        shown.update(dict.fromkeys(session.exec(select(ChannelListing.sku_id).where(
            ChannelListing.channel_id == channel_id, ChannelListing.sku_id.in_(part))), 0))
        for sku_id, quantities in session.exec(
                select(ChannelSkuState.sku_id, ChannelSkuState.quantities).where(
                    ChannelSkuState.channel_id == channel_id,
                    ChannelSkuState.sku_id.in_(part))):
            if sku_id in shown:
                shown[sku_id] = sum(int(value) for value in (quantities or {}).values())
    return shown


def _store_listing_part(session: Session, channel_id: int, part: Sequence[Listing],
                        now: datetime) -> None:
    sku_ids = [listing.sku_id for listing in part]
    rows = {row.sku_id: row for row in session.exec(select(ChannelListing).where(
        ChannelListing.channel_id == channel_id, ChannelListing.sku_id.in_(sku_ids)))}
    for listing in part:
        row = rows.get(listing.sku_id)
        values = (listing.product_id, listing.seller_sku.strip(), listing.status, listing.title)
        if row is not None and (row.product_id, row.seller_sku, row.status, row.title) == values:
            continue
        row = row or ChannelListing(channel_id=channel_id, product_id=listing.product_id,
                                    sku_id=listing.sku_id)
        row.product_id, row.seller_sku, row.status, row.title = values
        row.updated_at = now
        session.add(row)

    states = {row.sku_id: row for row in session.exec(select(ChannelSkuState).where(
        ChannelSkuState.channel_id == channel_id, ChannelSkuState.sku_id.in_(sku_ids)))}
    for listing in part:
        state = states.get(listing.sku_id)
        quantities = {str(k): int(v) for k, v in listing.quantities.items()}
        if state is None:
            session.add(ChannelSkuState(channel_id=channel_id, sku_id=listing.sku_id,
                                        product_id=listing.product_id, status=listing.status,
                                        quantities=quantities, observed_at=now))
            continue
        if state.status != listing.status:  # re-activated or changed: try it again
            state.quarantine_quantity = state.quarantine_code = None
            state.quarantine_message = state.quarantined_at = None
        if (state.product_id, state.status, state.quantities) != (
                listing.product_id, listing.status, quantities):
            state.product_id, state.status = listing.product_id, listing.status
            state.quantities, state.observed_at = quantities, now
            session.add(state)


def refresh_listings(session: Session, pm: ShelfsyncPluginManager, channel_id: int, *,
                     budget: Budget | None = None) -> LinkReport:
    """Read the channel's listings into the database, then re-link by SKU (`auto_link`)."""
    count = read_listings(session, pm, channel_id, budget)
    report = auto_link(session, channel_id)
    report.listings = count
    return report


def auto_link(session: Session, channel_id: int) -> LinkReport:
    """Link stored store SKUs to the channel's stored listings by SKU, listing the problems.

    Manual links stay as they are; auto links that no longer hold are removed; the channel's
    LinkProblem rows are replaced by this pass's. Nothing happens when auto-link is off.
    """
    report = LinkReport(channel_id=channel_id)
    channel = channel_row(session, channel_id)
    if not settings_of(session, channel_id).auto_link:
        report.skipped = True
        return report
    store = store_of(session, channel.organization_id)
    # Plain column tuples, not ORM rows, and lists only for the (rare) duplicates: a large
    # catalog's variants, listings and links as ORM identities would be most of a worker's
    # memory.
    variants: dict[str, str] = {}  # sku -> its variant id
    store_dupes: dict[str, list[str]] = {}  # sku -> every variant id, when several carry it
    for sku, variant_id in session.exec(select(CatalogVariant.sku, CatalogVariant.variant_id)
                                        .where(CatalogVariant.store_connection_id == store.id)
                                        .execution_options(yield_per=STREAM)):
        if sku and sku in variants:
            store_dupes.setdefault(sku, [variants[sku]]).append(variant_id)
        elif sku:
            variants[sku] = variant_id
    links = {row[1]: _LinkRow(*row) for row in session.exec(
        select(SkuLink.id, SkuLink.sku_id, SkuLink.store_sku, SkuLink.product_id, SkuLink.kind)
        .where(SkuLink.channel_id == channel_id).execution_options(yield_per=STREAM))}
    manual = {sku_id: link for sku_id, link in links.items() if link.kind == LinkKind.MANUAL}
    report.manual = len(manual)
    manual_store_skus = {link.store_sku for link in manual.values()}

    by_seller: dict[str, _ListingRow] = {}
    channel_dupes: dict[str, list[_ListingRow]] = {}
    for row in session.exec(
            select(ChannelListing.sku_id, ChannelListing.seller_sku, ChannelListing.product_id)
            .where(ChannelListing.channel_id == channel_id).execution_options(yield_per=STREAM)):
        listing = _ListingRow(*row)
        if listing.sku_id in manual:
            continue
        if not listing.seller_sku:
            report.problems.append(Problem(
                LinkProblemKind.MISSING_IN_STORE.value, "",
                f"channel SKU {listing.sku_id} (product {listing.product_id}) has no seller "
                "SKU to link by"))
            continue
        if listing.seller_sku in by_seller:
            channel_dupes.setdefault(listing.seller_sku, [by_seller[listing.seller_sku]]).append(
                listing)
        else:
            by_seller[listing.seller_sku] = listing

    now = utcnow()
    added = _Inserter(session, SkuLink)
    wanted: set[str] = set()  # channel SKU ids linked automatically
    for sku, listing in sorted(by_seller.items()):
        if sku in channel_dupes:
            found = channel_dupes[sku]
            ids = ", ".join(sorted(item.sku_id for item in found))
            report.problems.append(Problem(LinkProblemKind.DUPLICATE_CHANNEL_SKU.value, sku,
                                           f"{len(found)} channel SKUs carry it: {ids}"))
        elif sku not in variants:
            report.problems.append(Problem(
                LinkProblemKind.MISSING_IN_STORE.value, sku,
                f"channel SKU {listing.sku_id} (product {listing.product_id}) has no store "
                "variant with this SKU"))
        elif sku in store_dupes:
            ids = ", ".join(sorted(store_dupes[sku]))
            report.problems.append(Problem(LinkProblemKind.DUPLICATE_STORE_SKU.value, sku,
                                           f"{len(store_dupes[sku])} store variants carry it: "
                                           f"{ids}"))
        else:
            wanted.add(listing.sku_id)
            link = links.get(listing.sku_id)
            if link is None:
                added.add({"channel_id": channel_id, "store_sku": sku,
                           "product_id": listing.product_id, "sku_id": listing.sku_id,
                           "kind": LinkKind.AUTO.value, "created_at": now})
            elif (link.store_sku, link.product_id) != (sku, listing.product_id):
                session.execute(update(SkuLink).where(SkuLink.id == link.id).values(  # type: ignore[arg-type]
                    store_sku=sku, product_id=listing.product_id))
                report.updated += 1
    report.added = added.close()
    for sku in sorted(set(variants) - set(by_seller) - manual_store_skus):
        report.problems.append(Problem(LinkProblemKind.MISSING_ON_CHANNEL.value, sku,
                                       "no channel SKU carries this store SKU"))

    stale = [link.id for sku_id, link in links.items()
             if link.kind == LinkKind.AUTO and sku_id not in wanted]
    for part in chunks([i for i in stale if i is not None]):
        session.execute(delete(SkuLink).where(SkuLink.id.in_(part)))
    report.removed = len(stale)
    report.linked = len(wanted) + len(manual)

    session.execute(delete(LinkProblem).where(LinkProblem.channel_id == channel_id))
    problems = _Inserter(session, LinkProblem)
    for problem in report.problems:
        problems.add({"channel_id": channel_id, "kind": problem.kind, "sku": problem.sku,
                      "detail": problem.detail, "created_at": now})
    problems.close()
    session.flush()
    return report


class _ListingRow(NamedTuple):
    sku_id: str
    seller_sku: str
    product_id: str


class _LinkRow(NamedTuple):
    id: int
    sku_id: str
    store_sku: str
    product_id: str
    kind: str


class _Inserter:
    """Rows bulk-inserted (executemany) as they come, `CHUNK * 2` at a time: neither an ORM
    object per row nor every row's dict held at once."""

    def __init__(self, session: Session, model: type) -> None:
        self.session, self.model = session, model
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        """Queue one row; a full slice is written at once."""
        self.rows.append(row)
        if len(self.rows) >= CHUNK * 2:
            self._write()

    def close(self) -> int:
        """Write what is left; returns how many rows were inserted in all."""
        self._write()
        return self.count

    def _write(self) -> None:
        if self.rows:
            self.session.execute(insert(self.model), self.rows)
            self.count += len(self.rows)
            self.rows = []


def skus_for_event(session: Session, store_id: int, event: WebhookEvent) -> list[str]:
    """The store SKUs a stock or product webhook names: its SKUs, plus those of the inventory
    items it names (through the stored catalog)."""
    skus = dict.fromkeys(sku.strip() for sku in event.skus if sku and sku.strip())
    item_ids = sorted({i for i in event.inventory_item_ids if i})
    for part in chunks(item_ids):
        rows = session.exec(select(CatalogVariant.sku).where(
            CatalogVariant.store_connection_id == store_id,
            CatalogVariant.inventory_item_id.in_(part)))
        skus.update(dict.fromkeys(sku for sku in rows if sku))
    return list(skus)
