"""Channel listings, read page by page into the database, and SKU links (store SKU ↔
channel seller SKU, never guessed: see autolink.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, select

from shelfsync.core.models import (
    CatalogVariant,
    ChannelListing,
    ChannelSkuState,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.autolink import auto_link
from shelfsync.core.sync.context import (
    channel_connection,
    channel_row,
    chunks,
)
from shelfsync.core.sync.inventory_types import Budget, LinkReport
from shelfsync.core.sync.paging import checked_pages
from shelfsync.core.types import Connection, Listing, WebhookEvent

__all__ = ["auto_link", "read_listings", "refresh_listings", "shown_totals", "skus_for_event",
           "store_listings"]


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
    session.commit()
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
        unchanged = _store_listing_part(session, channel_id,
                                        [latest[sku_id] for sku_id in part], now)
        session.flush()
        if unchanged:  # the rows written above already carry `now`
            session.execute(update(ChannelListing).where(  # type: ignore[arg-type]
                ChannelListing.channel_id == channel_id,
                ChannelListing.sku_id.in_(unchanged)).values(updated_at=now))  # type: ignore[attr-defined]


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
                        now: datetime) -> list[str]:
    """Insert the part's new listings and SKU states in one statement each; load as ORM rows
    only those that changed. A first read of a shop inserts every row, and building one ORM
    object a row was a third of a 10,000-SKU reconcile's channel phase (2026-12-03).
    Returns the SKU ids whose listing row was left as it was (not yet marked read)."""
    sku_ids = [listing.sku_id for listing in part]
    unchanged = _store_listing_rows(session, channel_id, part, sku_ids, now)
    _store_sku_states(session, channel_id, part, sku_ids, now)
    return unchanged


def _store_listing_rows(session: Session, channel_id: int, part: Sequence[Listing],
                        sku_ids: list[str], now: datetime) -> list[str]:
    stored = {sku_id: (row_id, values) for row_id, sku_id, *values in session.execute(
        select(ChannelListing.id, ChannelListing.sku_id, ChannelListing.product_id,
               ChannelListing.seller_sku, ChannelListing.status, ChannelListing.title)
        .where(ChannelListing.channel_id == channel_id,
               ChannelListing.sku_id.in_(sku_ids)))}  # type: ignore[attr-defined]
    new: list[dict[str, Any]] = []
    changed: dict[int, tuple[str, str, str, str]] = {}
    unchanged: list[str] = []
    for listing in part:
        values = (listing.product_id, listing.seller_sku.strip(), listing.status, listing.title)
        found = stored.get(listing.sku_id)
        if found is None:
            new.append({"channel_id": channel_id, "sku_id": listing.sku_id,
                        "product_id": values[0], "seller_sku": values[1], "status": values[2],
                        "title": values[3], "updated_at": now})
        elif tuple(found[1]) != values:
            changed[found[0]] = values
        else:
            unchanged.append(listing.sku_id)
    if new:
        session.execute(insert(ChannelListing), new)
    if changed:
        for row in session.exec(select(ChannelListing).where(
                ChannelListing.id.in_(list(changed)))):  # type: ignore[union-attr]
            row.product_id, row.seller_sku, row.status, row.title = changed[row.id]  # type: ignore[index]
            row.updated_at = now
            session.add(row)
    return unchanged


def _store_sku_states(session: Session, channel_id: int, part: Sequence[Listing],
                      sku_ids: list[str], now: datetime) -> None:
    stored = {sku_id: (row_id, values) for row_id, sku_id, *values in session.execute(
        select(ChannelSkuState.id, ChannelSkuState.sku_id, ChannelSkuState.product_id,
               ChannelSkuState.status, ChannelSkuState.quantities)
        .where(ChannelSkuState.channel_id == channel_id,
               ChannelSkuState.sku_id.in_(sku_ids)))}  # type: ignore[attr-defined]
    new: list[dict[str, Any]] = []
    changed: dict[int, tuple[Listing, dict[str, int]]] = {}
    for listing in part:
        quantities = {str(k): int(v) for k, v in listing.quantities.items()}
        found = stored.get(listing.sku_id)
        if found is None:
            new.append({"channel_id": channel_id, "sku_id": listing.sku_id,
                        "product_id": listing.product_id, "status": listing.status,
                        "quantities": quantities, "observed_at": now})
        elif (found[1][0], found[1][1], found[1][2] or {}) != (
                listing.product_id, listing.status, quantities):
            changed[found[0]] = (listing, quantities)
    if new:
        session.execute(insert(ChannelSkuState), new)
    if not changed:
        return
    for state in session.exec(select(ChannelSkuState).where(
            ChannelSkuState.id.in_(list(changed)))):  # type: ignore[union-attr]
        listing, quantities = changed[state.id]  # type: ignore[index]
        if state.status != listing.status:  # re-activated or changed: try it again
            state.quarantine_quantity = state.quarantine_code = None
            state.quarantine_message = state.quarantined_at = None
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
