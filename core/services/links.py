"""The settings UI's products page: store variants with their link per channel, and the
merchant's manual link and unlink.

A manual link binds one channel SKU to one store SKU and survives auto-linking (the
auto-linker keeps manual links); unlinking an automatic link lasts until the next auto-link
pass unless the channel's auto-link is off, which the page says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelListing,
    LinkKind,
    LinkProblem,
    SkuLink,
)

PAGE_SIZE = 25


@dataclass
class VariantLinks:
    """One store variant and, per channel id, its link state."""

    variant: CatalogVariant
    #: channel id → "auto", "manual", "conflict" or "unlinked"
    state: dict[int, str] = field(default_factory=dict)
    #: channel id → the links (a store SKU may sell as several channel SKUs)
    links: dict[int, list[SkuLink]] = field(default_factory=dict)
    problems: dict[int, list[str]] = field(default_factory=dict)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def variants_page(session: Session, store_id: int, channels: Sequence[ChannelConnection],
                  search: str = "", page: int = 1,
                  per_page: int = PAGE_SIZE) -> tuple[list[VariantLinks], int]:
    """One page of the store's variants (SKU or title containing `search`), with links."""
    query = select(CatalogVariant).where(CatalogVariant.store_connection_id == store_id)
    search = search.strip()[:100]
    if search:
        query = query.where(or_(
            func.lower(CatalogVariant.sku).like(_like(search), escape="\\"),
            func.lower(CatalogVariant.title).like(_like(search), escape="\\")))
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    rows = list(session.exec(query.order_by(CatalogVariant.sku, CatalogVariant.id)  # type: ignore[arg-type]
                             .offset((max(page, 1) - 1) * per_page).limit(per_page)))
    skus = sorted({row.sku for row in rows})
    ids = [c.id for c in channels if c.id is not None]
    links = list(session.exec(select(SkuLink).where(
        SkuLink.channel_id.in_(ids), SkuLink.store_sku.in_(skus)))) if skus else []  # type: ignore[attr-defined]
    problems = list(session.exec(select(LinkProblem).where(
        LinkProblem.channel_id.in_(ids), LinkProblem.sku.in_(skus)))) if skus else []  # type: ignore[attr-defined]
    result = []
    for variant in rows:
        item = VariantLinks(variant)
        for channel_id in ids:
            mine = [link for link in links
                    if link.channel_id == channel_id and link.store_sku == variant.sku]
            trouble = [f"{p.kind}: {p.detail}".rstrip(": ") for p in problems
                       if p.channel_id == channel_id and p.sku == variant.sku]
            item.links[channel_id] = mine
            item.problems[channel_id] = trouble
            if trouble:
                item.state[channel_id] = "conflict"
            elif any(link.kind == LinkKind.MANUAL.value for link in mine):
                item.state[channel_id] = LinkKind.MANUAL.value
            elif mine:
                item.state[channel_id] = LinkKind.AUTO.value
            else:
                item.state[channel_id] = "unlinked"
        result.append(item)
    return result, total


def link_manually(session: Session, channel: ChannelConnection, store_id: int,
                  store_sku: str, sku_id: str) -> SkuLink:
    """Bind the channel's SKU `sku_id` to the store's `store_sku` (replacing the SKU's
    current link); both must be known from the last catalog and listings refresh."""
    store_sku, sku_id = store_sku.strip(), sku_id.strip()
    if not store_sku or session.exec(select(CatalogVariant.id).where(
            CatalogVariant.store_connection_id == store_id,
            CatalogVariant.sku == store_sku)).first() is None:
        raise InvalidInput("store_sku", f"the store has no SKU {store_sku[:60]!r}")
    listing = session.exec(select(ChannelListing).where(
        ChannelListing.channel_id == channel.id, ChannelListing.sku_id == sku_id)).first()
    if listing is None:
        raise InvalidInput("sku_id", f"the shop lists no SKU with id {sku_id[:60]!r} (refresh "
                                     "the catalog if it was added since)")
    link = session.exec(select(SkuLink).where(SkuLink.channel_id == channel.id,
                                              SkuLink.sku_id == sku_id)).first()
    assert channel.id is not None
    if link is None:
        link = SkuLink(channel_id=channel.id, store_sku=store_sku,
                       product_id=listing.product_id, sku_id=sku_id,
                       kind=LinkKind.MANUAL.value)
    else:
        link.store_sku, link.product_id = store_sku, listing.product_id
        link.kind = LinkKind.MANUAL.value
    session.add(link)
    session.flush()
    return link


def unlink(session: Session, channel: ChannelConnection, link_id: int) -> SkuLink:
    """Remove one of the channel's links; `InvalidInput("link", …)` when it has no such."""
    link = session.get(SkuLink, link_id)
    if link is None or link.channel_id != channel.id:
        raise InvalidInput("link", "no such link on this channel")
    session.delete(link)
    session.flush()
    return link


def unlinked_listings(session: Session, channel_id: int, limit: int = 500) -> list[ChannelListing]:
    """The channel's listed SKUs without a link, to pick from when linking by hand."""
    linked = select(SkuLink.sku_id).where(SkuLink.channel_id == channel_id)
    return list(session.exec(select(ChannelListing).where(
        ChannelListing.channel_id == channel_id,
        ChannelListing.sku_id.not_in(linked))  # type: ignore[attr-defined]
        .order_by(ChannelListing.seller_sku, ChannelListing.sku_id).limit(limit)))  # type: ignore[arg-type]
