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

from shelfsync.core.errors import PluginContractError
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
from shelfsync.core.types import Listing, WebhookEvent


def fetch_listings(session: Session, pm: ShelfsyncPluginManager, channel_id: int,
                   budget: Budget | None = None) -> list[Listing]:
    """Every listing of the channel, through the hook (one call; the plugin pages).

    A channel that suddenly reads empty after having listings is read a second time before
    the answer is believed: applied, an empty read deletes every listing and link (and a
    reconcile then pushes nothing). Only a second empty answer is taken as "no listings".
    """
    channel = channel_row(session, channel_id)
    connection = channel_connection(channel)
    listings = _read_listings_once(pm, connection, channel.platform, channel_id, budget)
    if not listings and _has_listings(session, channel_id):
        listings = _read_listings_once(pm, connection, channel.platform, channel_id, budget)
    return listings


def _read_listings_once(pm: ShelfsyncPluginManager, connection: Any, platform: str,
                        channel_id: int, budget: Budget | None) -> list[Listing]:
    if budget is not None:
        budget.acquire(f"channel:{channel_id}")
    listings = pm.call(connection, "shelfsync_fetch_listings")
    if not isinstance(listings, list):
        raise PluginContractError(f"{platform}: shelfsync_fetch_listings returned "
                                  f"{type(listings).__name__}, not a list",
                                  platform=platform, code="plugin_bad_answer")
    return listings


def _has_listings(session: Session, channel_id: int) -> bool:
    return session.exec(select(ChannelListing.id).where(
        ChannelListing.channel_id == channel_id).limit(1)).first() is not None


def store_listings(session: Session, channel_id: int, listings: Sequence[Listing]) -> None:
    """Mirror the listings into ChannelListing and ChannelSkuState (only what changed).

    A slice of SKUs at a time, flushed as it goes: only a slice's ORM rows are in memory.
    """
    now = utcnow()
    latest = {listing.sku_id: listing for listing in listings}
    for part in chunks(list(latest)):
        _store_listing_part(session, channel_id, [latest[sku_id] for sku_id in part], now)
        session.flush()
    for model in (ChannelListing, ChannelSkuState):
        gone = [ident for ident, sku_id in session.exec(
            select(model.id, model.sku_id).where(model.channel_id == channel_id)  # type: ignore[attr-defined]
            .execution_options(yield_per=STREAM))
            if sku_id not in latest]
        _delete_ids(session, model, gone)
    session.flush()


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


def _delete_ids(session: Session, model: type, ids: list[int | None]) -> None:
    for part in chunks([i for i in ids if i is not None]):
        session.execute(delete(model).where(model.id.in_(part)))  # type: ignore[attr-defined]


def refresh_listings(session: Session, pm: ShelfsyncPluginManager, channel_id: int, *,
                     budget: Budget | None = None) -> LinkReport:
    """Read the channel's listings, store them, then re-link by SKU (`auto_link`)."""
    listings = fetch_listings(session, pm, channel_id, budget)
    store_listings(session, channel_id, listings)
    report = auto_link(session, channel_id)
    report.listings = len(listings)
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
