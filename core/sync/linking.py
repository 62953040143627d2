"""Channel listings and SKU links: store SKU ↔ channel seller SKU, never guessed.

A link is made automatically only when exactly one store variant and exactly one channel SKU
carry the same SKU. Everything else (duplicates on either side, a SKU missing on one side, a
listing without a seller SKU) becomes a `LinkProblem` row for the merchant to settle; manual
links are never touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, select

from shelfsync.core.errors import BadResponse
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
    """Every listing of the channel, through the hook (one call; the plugin pages)."""
    channel = channel_row(session, channel_id)
    connection = channel_connection(channel)
    if budget is not None:
        budget.acquire(f"channel:{channel_id}")
    listings = pm.hook.shelfsync_fetch_listings(connection=connection)
    if not isinstance(listings, list):
        raise BadResponse(f"no plugin answered shelfsync_fetch_listings for platform "
                          f"{channel.platform!r}", platform=channel.platform, code="no_answer")
    return listings


def store_listings(session: Session, channel_id: int, listings: Sequence[Listing]) -> None:
    """Mirror the listings into ChannelListing and ChannelSkuState (only what changed)."""
    now = utcnow()
    latest = {listing.sku_id: listing for listing in listings}
    rows = {row.sku_id: row for row in session.exec(
        select(ChannelListing).where(ChannelListing.channel_id == channel_id))}
    for sku_id, listing in latest.items():
        row = rows.pop(sku_id, None)
        values = (listing.product_id, listing.seller_sku.strip(), listing.status, listing.title)
        if row is not None and (row.product_id, row.seller_sku, row.status, row.title) == values:
            continue
        row = row or ChannelListing(channel_id=channel_id, product_id=listing.product_id,
                                    sku_id=sku_id)
        row.product_id, row.seller_sku, row.status, row.title = values
        row.updated_at = now
        session.add(row)
    _delete_ids(session, ChannelListing, [row.id for row in rows.values()])

    states = {row.sku_id: row for row in session.exec(
        select(ChannelSkuState).where(ChannelSkuState.channel_id == channel_id))}
    for sku_id, listing in latest.items():
        state = states.pop(sku_id, None)
        quantities = {str(k): int(v) for k, v in listing.quantities.items()}
        if state is None:
            session.add(ChannelSkuState(channel_id=channel_id, sku_id=sku_id,
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
    _delete_ids(session, ChannelSkuState, [row.id for row in states.values()])
    session.flush()


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
    variants: dict[str, list[CatalogVariant]] = defaultdict(list)
    for variant in session.exec(select(CatalogVariant).where(
            CatalogVariant.store_connection_id == store.id)):
        if variant.sku:
            variants[variant.sku].append(variant)
    listings = list(session.exec(select(ChannelListing).where(
        ChannelListing.channel_id == channel_id)))
    links = {link.sku_id: link for link in session.exec(
        select(SkuLink).where(SkuLink.channel_id == channel_id))}
    manual = {sku_id: link for sku_id, link in links.items() if link.kind == LinkKind.MANUAL}
    report.manual = len(manual)
    manual_store_skus = {link.store_sku for link in manual.values()}

    by_seller: dict[str, list[ChannelListing]] = defaultdict(list)
    for listing in listings:
        if listing.sku_id in manual:
            continue
        if not listing.seller_sku:
            report.problems.append(Problem(
                LinkProblemKind.MISSING_IN_STORE.value, "",
                f"channel SKU {listing.sku_id} (product {listing.product_id}) has no seller "
                "SKU to link by"))
            continue
        by_seller[listing.seller_sku].append(listing)

    wanted: dict[str, tuple[str, str]] = {}  # sku_id -> (store sku, product id)
    for sku, found in sorted(by_seller.items()):
        if len(found) > 1:
            ids = ", ".join(sorted(item.sku_id for item in found))
            report.problems.append(Problem(LinkProblemKind.DUPLICATE_CHANNEL_SKU.value, sku,
                                           f"{len(found)} channel SKUs carry it: {ids}"))
        elif sku not in variants:
            report.problems.append(Problem(
                LinkProblemKind.MISSING_IN_STORE.value, sku,
                f"channel SKU {found[0].sku_id} (product {found[0].product_id}) has no store "
                "variant with this SKU"))
        elif len(variants[sku]) > 1:
            ids = ", ".join(sorted(v.variant_id for v in variants[sku]))
            report.problems.append(Problem(LinkProblemKind.DUPLICATE_STORE_SKU.value, sku,
                                           f"{len(variants[sku])} store variants carry it: {ids}"))
        else:
            wanted[found[0].sku_id] = (sku, found[0].product_id)
    for sku in sorted(set(variants) - set(by_seller) - manual_store_skus):
        report.problems.append(Problem(LinkProblemKind.MISSING_ON_CHANNEL.value, sku,
                                       "no channel SKU carries this store SKU"))

    stale = [link.id for sku_id, link in links.items()
             if link.kind == LinkKind.AUTO and sku_id not in wanted]
    for part in chunks([i for i in stale if i is not None]):
        session.execute(delete(SkuLink).where(SkuLink.id.in_(part)))
    report.removed = len(stale)
    for sku_id, (sku, product_id) in wanted.items():
        link = links.get(sku_id)
        if link is None:
            session.add(SkuLink(channel_id=channel_id, store_sku=sku, product_id=product_id,
                                sku_id=sku_id, kind=LinkKind.AUTO.value))
            report.added += 1
        elif (link.store_sku, link.product_id) != (sku, product_id):
            link.store_sku, link.product_id = sku, product_id
            session.add(link)
            report.updated += 1
    report.linked = len(wanted) + len(manual)

    session.execute(delete(LinkProblem).where(LinkProblem.channel_id == channel_id))
    session.add_all(LinkProblem(channel_id=channel_id, kind=p.kind, sku=p.sku, detail=p.detail)
                    for p in report.problems)
    session.flush()
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
