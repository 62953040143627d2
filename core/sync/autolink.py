"""Auto-linking by SKU, a slice of SKUs at a time: memory bounded whatever the catalog's size.

A link is made automatically only when exactly one store variant and exactly one channel SKU
carry the same SKU. Everything else (duplicates on either side, a SKU missing on one side, a
listing without a seller SKU) becomes a `LinkProblem` row for the merchant to settle; manual
links are never touched.

The channel's seller SKUs are walked in order, `CHUNK` at a time (keyset paging in the
database); each slice loads only its own listings, variants and links. What no slice can see
is asked of the database as set differences: store SKUs no channel SKU carries, and auto
links whose channel SKU is no longer listed with a seller SKU.

Each slice is committed on its own: a link holds or not SKU by SKU, so a reader between two
slices sees every link right, old or new. One transaction for the whole pass held SQLite's
single writer for minutes at 1,000,000 listings, and every other writer of the process (the
other shops' listings, a webhook pass) gave up after 30 s ("database is locked"). The
channel's link problems are replaced at the end: the new ones are inserted as they are found,
then the rows from before the pass are deleted, so the list is never empty in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, exists, func, insert, update
from sqlmodel import Session, select

from shelfsync.core.models import (
    CatalogVariant,
    ChannelListing,
    LinkKind,
    LinkProblem,
    LinkProblemKind,
    SkuLink,
    utcnow,
)
from shelfsync.core.sync.context import CHUNK, STREAM, channel_row, settings_of, store_of
from shelfsync.core.sync.inventory_types import LinkReport, Problem


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
            self.write()

    def close(self) -> int:
        """Write what is left; returns how many rows were inserted in all."""
        self.write()
        return self.count

    def write(self) -> None:
        """Write the queued rows now (before a commit)."""
        if self.rows:
            self.session.execute(insert(self.model), self.rows)
            self.count += len(self.rows)
            self.rows = []


@dataclass
class _Linker:
    """One auto-link pass over one channel: what it learnt, and where it writes."""

    session: Session
    channel_id: int
    store_id: int
    report: LinkReport
    now: datetime
    manual: set[str] = field(default_factory=set)  # channel SKU ids linked by hand
    wanted: int = 0
    links: _Inserter | None = None
    problems: _Inserter | None = None

    def commit(self) -> None:
        """End a slice: its links and problems written and committed."""
        assert self.links is not None and self.problems is not None
        self.links.write()
        self.problems.write()
        self.session.commit()

    def problem(self, kind: LinkProblemKind, sku: str, detail: str) -> None:
        self.report.problems.append(Problem(kind.value, sku, detail))
        assert self.problems is not None
        self.problems.add({"channel_id": self.channel_id, "kind": kind.value, "sku": sku,
                           "detail": detail, "created_at": self.now})

    def without_seller_sku(self) -> None:
        """Listings without a seller SKU, `STREAM` at a time (keyset by row id), each batch
        committed."""
        last = 0
        while True:
            found = list(self.session.exec(
                select(ChannelListing.id, ChannelListing.sku_id, ChannelListing.product_id)
                .where(ChannelListing.channel_id == self.channel_id,
                       ChannelListing.seller_sku == "", ChannelListing.id > last)
                .order_by(ChannelListing.id).limit(STREAM)))
            if not found:
                return
            for row_id, sku_id, product_id in found:
                last = row_id
                if sku_id not in self.manual:
                    self.problem(LinkProblemKind.MISSING_IN_STORE, "",
                                 f"channel SKU {sku_id} (product {product_id}) has no seller "
                                 "SKU to link by")
            self.commit()

    def seller_sku_slices(self) -> Any:
        """The channel's seller SKUs in order, `CHUNK` distinct ones at a time."""
        last: str | None = None
        while True:
            query = select(ChannelListing.seller_sku).where(
                ChannelListing.channel_id == self.channel_id, ChannelListing.seller_sku != "")
            if last is not None:
                query = query.where(ChannelListing.seller_sku > last)
            found = list(self.session.exec(query.distinct().order_by(ChannelListing.seller_sku)
                                           .limit(CHUNK)))
            if not found:
                return
            last = found[-1]
            yield found

    def link_slice(self, skus: Sequence[str]) -> None:
        """Link (or report) every seller SKU of the slice."""
        by_seller: dict[str, list[_ListingRow]] = {}
        for row in self.session.exec(
                select(ChannelListing.sku_id, ChannelListing.seller_sku, ChannelListing.product_id)
                .where(ChannelListing.channel_id == self.channel_id,
                       ChannelListing.seller_sku.in_(list(skus)))
                .order_by(ChannelListing.id)):
            listing = _ListingRow(*row)
            if listing.sku_id not in self.manual:
                by_seller.setdefault(listing.seller_sku, []).append(listing)
        variants: dict[str, list[str]] = {}
        for sku, variant_id in self.session.exec(
                select(CatalogVariant.sku, CatalogVariant.variant_id).where(
                    CatalogVariant.store_connection_id == self.store_id,
                    CatalogVariant.sku.in_(list(by_seller))).order_by(CatalogVariant.id)):
            variants.setdefault(sku, []).append(variant_id)
        sku_ids = [listing.sku_id for found in by_seller.values() for listing in found]
        links = {row[1]: _LinkRow(*row) for row in self.session.exec(
            select(SkuLink.id, SkuLink.sku_id, SkuLink.store_sku, SkuLink.product_id,
                   SkuLink.kind)
            .where(SkuLink.channel_id == self.channel_id, SkuLink.sku_id.in_(sku_ids)))}
        wanted: set[str] = set()
        for sku in sorted(by_seller):
            found = by_seller[sku]
            if len(found) > 1:
                ids = ", ".join(sorted(item.sku_id for item in found))
                self.problem(LinkProblemKind.DUPLICATE_CHANNEL_SKU, sku,
                             f"{len(found)} channel SKUs carry it: {ids}")
            elif sku not in variants:
                self.problem(LinkProblemKind.MISSING_IN_STORE, sku,
                             f"channel SKU {found[0].sku_id} (product {found[0].product_id}) "
                             "has no store variant with this SKU")
            elif len(variants[sku]) > 1:
                ids = ", ".join(sorted(variants[sku]))
                self.problem(LinkProblemKind.DUPLICATE_STORE_SKU, sku,
                             f"{len(variants[sku])} store variants carry it: {ids}")
            else:
                self._keep(sku, found[0], links.get(found[0].sku_id))
                wanted.add(found[0].sku_id)
        stale = [link.id for sku_id, link in links.items()
                 if link.kind == LinkKind.AUTO and sku_id not in wanted]
        if stale:
            self.session.execute(delete(SkuLink).where(SkuLink.id.in_(stale)))  # type: ignore[attr-defined]
        self.report.removed += len(stale)
        self.wanted += len(wanted)

    def _keep(self, sku: str, listing: _ListingRow, link: _LinkRow | None) -> None:
        if link is None:
            assert self.links is not None
            self.links.add({"channel_id": self.channel_id, "store_sku": sku,
                            "product_id": listing.product_id, "sku_id": listing.sku_id,
                            "kind": LinkKind.AUTO.value, "created_at": self.now})
        elif (link.store_sku, link.product_id) != (sku, listing.product_id):
            self.session.execute(update(SkuLink).where(SkuLink.id == link.id).values(  # type: ignore[arg-type]
                store_sku=sku, product_id=listing.product_id))
            self.report.updated += 1

    def missing_on_channel(self, manual_store_skus: set[str]) -> None:
        """Store SKUs no (not hand-linked) channel SKU carries: the database's difference."""
        manual_ids = select(SkuLink.sku_id).where(SkuLink.channel_id == self.channel_id,
                                                  SkuLink.kind == LinkKind.MANUAL.value)
        carried = exists().where(ChannelListing.channel_id == self.channel_id,
                                 ChannelListing.seller_sku == CatalogVariant.sku,
                                 ChannelListing.sku_id.not_in(manual_ids))  # type: ignore[attr-defined]
        last = ""
        while True:
            found = list(self.session.exec(
                select(CatalogVariant.sku).where(
                    CatalogVariant.store_connection_id == self.store_id,
                    CatalogVariant.sku > last, ~carried)
                .distinct().order_by(CatalogVariant.sku).limit(STREAM)))
            if not found:
                return
            last = found[-1]
            for sku in found:
                if sku not in manual_store_skus:
                    self.problem(LinkProblemKind.MISSING_ON_CHANNEL, sku,
                                 "no channel SKU carries this store SKU")
            self.commit()

    def remove_unlisted(self) -> None:
        """Auto links whose channel SKU is no longer listed with a seller SKU."""
        listed = select(ChannelListing.sku_id).where(ChannelListing.channel_id == self.channel_id,
                                                     ChannelListing.seller_sku != "")
        result = self.session.execute(delete(SkuLink).where(
            SkuLink.channel_id == self.channel_id, SkuLink.kind == LinkKind.AUTO.value,
            SkuLink.sku_id.not_in(listed)))  # type: ignore[attr-defined]
        self.report.removed += int(result.rowcount or 0)  # type: ignore[attr-defined]


def auto_link(session: Session, channel_id: int) -> LinkReport:
    """Link stored store SKUs to the channel's stored listings by SKU, listing the problems.

    Manual links stay as they are; auto links that no longer hold are removed; the channel's
    LinkProblem rows are replaced by this pass's. Nothing happens when auto-link is off.
    Commits as it goes, a slice at a time (what the session held before is committed too).
    """
    report = LinkReport(channel_id=channel_id)
    channel = channel_row(session, channel_id)
    if not settings_of(session, channel_id).auto_link:
        report.skipped = True
        return report
    store = store_of(session, channel.organization_id)
    assert store.id is not None
    manual = {sku_id: store_sku for sku_id, store_sku in session.exec(
        select(SkuLink.sku_id, SkuLink.store_sku).where(
            SkuLink.channel_id == channel_id, SkuLink.kind == LinkKind.MANUAL.value))}
    report.manual = len(manual)
    linker = _Linker(session, channel_id, store.id, report, utcnow(), set(manual))
    earlier_problems = session.exec(select(func.max(LinkProblem.id)).where(
        LinkProblem.channel_id == channel_id)).one()
    linker.links, linker.problems = _Inserter(session, SkuLink), _Inserter(session, LinkProblem)
    linker.without_seller_sku()
    for skus in linker.seller_sku_slices():
        linker.link_slice(skus)
        linker.commit()
    report.added = linker.links.close()
    linker.missing_on_channel(set(manual.values()))
    linker.remove_unlisted()
    report.linked = linker.wanted + len(manual)
    linker.problems.close()
    if earlier_problems is not None:  # this pass's problems are all inserted: replace
        session.execute(delete(LinkProblem).where(  # type: ignore[arg-type]
            LinkProblem.channel_id == channel_id,
            LinkProblem.id <= earlier_problems))  # type: ignore[operator]
    session.commit()
    return report
