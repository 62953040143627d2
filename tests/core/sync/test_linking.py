"""Links by SKU: exact matches only; duplicates and gaps listed; manual links untouched."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event, func
from sqlmodel import Session, select

from shelfsync.core.errors import BadResponse
from shelfsync.core.models import (
    CatalogVariant,
    ChannelListing,
    ChannelSettings,
    LinkProblem,
    SkuLink,
    StoreConnection,
)
from shelfsync.core.sync import autolink
from shelfsync.core.sync.context import store_connection
from shelfsync.core.sync.inventory import auto_link, refresh_listings, skus_for_event

from .conftest import World


def _problems(world: World, channel: int) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in world.session.exec(select(LinkProblem).where(LinkProblem.channel_id == channel)):
        found.setdefault(row.kind, set()).add(row.sku)
    return found


def test_the_fakes_gaps_are_listed_never_guessed(world: World) -> None:
    report = refresh_listings(world.session, world.pm, world.channel_ids[0])

    # Shop 1 leaves out the last variant of product index 2 (see the TikTok fake).
    assert _problems(world, world.channel_ids[0]) == {"missing_on_channel": {"SKU-0-00003-03"}}
    assert report.linked == 59 and report.added == 59 and report.listings == 59
    links = world.session.exec(select(SkuLink).where(SkuLink.channel_id == world.channel_ids[0]))
    assert all(link.kind == "auto" for link in links)


def test_duplicates_unlink_and_manual_links_stay(world: World) -> None:
    channel = world.channel_ids[1]
    refresh_listings(world.session, world.pm, channel)
    duplicate = world.session.exec(select(CatalogVariant).where(
        CatalogVariant.sku == "SKU-0-00001-01")).one()
    world.session.add(CatalogVariant(store_connection_id=world.store_id, product_id="p-x",
                                     variant_id="v-dup", sku=duplicate.sku))
    manual = world.session.exec(select(SkuLink).where(
        SkuLink.channel_id == channel, SkuLink.store_sku == "SKU-0-00002-01")).one()
    manual.kind, manual.store_sku = "manual", "SKU-0-00002-02"
    world.session.add(manual)
    world.session.flush()

    report = auto_link(world.session, channel)

    problems = _problems(world, channel)
    assert problems["duplicate_store_sku"] == {"SKU-0-00001-01"}
    links = {link.sku_id: link for link in world.session.exec(
        select(SkuLink).where(SkuLink.channel_id == channel))}
    assert "SKU-0-00001-01" not in {link.store_sku for link in links.values()}
    assert links[manual.sku_id].kind == "manual"
    assert links[manual.sku_id].store_sku == "SKU-0-00002-02"
    assert report.manual == 1 and report.removed == 1
    assert len(world.session.exec(select(LinkProblem).where(
        LinkProblem.channel_id == channel)).all()) == len(report.problems)


def test_auto_link_off_changes_nothing(world: World) -> None:
    channel = world.channel_ids[0]
    settings = world.session.get(ChannelSettings, channel)
    assert settings is not None
    settings.auto_link = False
    world.session.flush()
    report = refresh_listings(world.session, world.pm, channel)
    assert report.skipped and report.listings == 59
    assert world.session.exec(select(SkuLink)).all() == []


def test_a_stock_webhook_names_its_skus(world: World) -> None:
    sample = httpx.post(f"{world.shopify.base_url}/_fake/webhook-sample",
                        json={"sku": "SKU-0-00004-02"}).json()
    store = world.session.get(StoreConnection, world.store_id)
    assert store is not None
    event = world.pm.call(store_connection(store), "shelfsync_verify_webhook",
                          headers=sample["headers"],
        body=sample["body"].encode())

    assert skus_for_event(world.session, world.store_id, event) == ["SKU-0-00004-02"]


def _listed(world: World, channel: int) -> tuple[int, int]:
    listings = world.session.exec(select(ChannelListing.id).where(
        ChannelListing.channel_id == channel)).all()
    links = world.session.exec(select(SkuLink.id).where(SkuLink.channel_id == channel)).all()
    return len(listings), len(links)


def _searches(world: World) -> int:
    counts = world.control(world.tiktok, "GET", "requests")["by_path"]
    return sum(n for path, n in counts.items() if path.endswith("/products/search"))


def test_a_search_answer_without_its_products_list_is_a_bad_answer(world: World) -> None:
    """`{"code":0,"data":{}}` is not "this shop has no products": nothing is deleted."""
    channel = world.channel_ids[0]
    refresh_listings(world.session, world.pm, channel)
    world.session.commit()
    before = _listed(world, channel)
    world.control(world.tiktok, "POST", "empty-answers", {"path": "/products/search"})
    with pytest.raises(BadResponse, match="products"):
        refresh_listings(world.session, world.pm, channel)
    world.session.rollback()
    assert _listed(world, channel) == before and before[0] > 0


def test_a_shop_that_suddenly_reads_empty_is_read_again_before_anything_is_deleted(
        world: World) -> None:
    channel = world.channel_ids[0]
    refresh_listings(world.session, world.pm, channel)
    world.session.commit()
    before = _listed(world, channel)
    world.control(world.tiktok, "POST", "empty-answers",
                  {"path": "/products/search", "data": {"products": [], "total_count": 0}})
    world.reset_counts()
    report = refresh_listings(world.session, world.pm, channel)
    world.session.commit()
    assert _searches(world) >= 2  # the empty answer was not believed at once
    assert report.listings == before[0] and _listed(world, channel) == before


def test_a_shop_read_empty_twice_is_empty(world: World) -> None:
    channel = world.channel_ids[0]
    refresh_listings(world.session, world.pm, channel)
    world.session.commit()
    world.control(world.tiktok, "POST", "empty-answers",
                  {"path": "/products/search", "count": 2,
                   "data": {"products": [], "total_count": 0}})
    refresh_listings(world.session, world.pm, channel)
    world.session.commit()
    assert _listed(world, channel) == (0, 0)


def test_stored_listings_insert_new_rows_and_update_only_what_changed(world: World) -> None:
    """A page's new listings are inserted; a changed one is updated (a new status also lifts
    its quarantine: try it again); an unchanged one is only marked read at the page's time."""
    from datetime import timedelta

    from shelfsync.core.models import ChannelSkuState, utcnow
    from shelfsync.core.sync.linking import store_listings
    from shelfsync.core.types import Listing

    session, channel = world.session, world.channel_ids[0]
    first, later = utcnow() - timedelta(minutes=5), utcnow()
    store_listings(session, channel, [
        Listing("p1", "s-same", "SKU-A", "ACTIVATE", "A", {"w1": 4}),
        Listing("p1", "s-moved", "SKU-B", "ACTIVATE", "B", {"w1": 2}),
        Listing("p2", "s-counted", "SKU-C", "ACTIVATE", "C", {"w1": 1}),
    ], first)
    session.commit()
    quarantined = session.exec(select(ChannelSkuState).where(
        ChannelSkuState.channel_id == channel, ChannelSkuState.sku_id.in_(  # type: ignore[attr-defined]
            ["s-moved", "s-counted"]))).all()
    for state in quarantined:
        state.quarantine_quantity, state.quarantine_code = 7, "not_live"
        session.add(state)
    session.commit()

    store_listings(session, channel, [
        Listing("p1", "s-same", "SKU-A", "ACTIVATE", "A", {"w1": 4}),
        Listing("p9", "s-moved", " SKU-B2 ", "SELLER_DEACTIVATED", "B2", {"w1": 0, "w2": 3}),
        Listing("p2", "s-counted", "SKU-C", "ACTIVATE", "C", {"w1": 6}),
        Listing("p3", "s-new", "SKU-D", "ACTIVATE", "D", {"w1": 9}),
    ], later)
    session.commit()
    session.expire_all()

    rows = {row.sku_id: row for row in session.exec(
        select(ChannelListing).where(ChannelListing.channel_id == channel))}
    assert {sku: (r.product_id, r.seller_sku, r.status, r.title) for sku, r in rows.items()} == {
        "s-same": ("p1", "SKU-A", "ACTIVATE", "A"),
        "s-moved": ("p9", "SKU-B2", "SELLER_DEACTIVATED", "B2"),
        "s-counted": ("p2", "SKU-C", "ACTIVATE", "C"),
        "s-new": ("p3", "SKU-D", "ACTIVATE", "D"),
    }
    assert all(row.updated_at == later for row in rows.values())
    states = {s.sku_id: s for s in session.exec(
        select(ChannelSkuState).where(ChannelSkuState.channel_id == channel))}
    assert states["s-moved"].quantities == {"w1": 0, "w2": 3}
    assert states["s-moved"].quarantine_code is None  # a new status: try it again
    assert states["s-moved"].observed_at == later
    assert states["s-counted"].quantities == {"w1": 6}
    assert states["s-counted"].quarantine_code == "not_live"  # same status: still refused
    assert states["s-same"].observed_at == first  # nothing changed
    assert (states["s-new"].product_id, states["s-new"].quantities) == ("p3", {"w1": 9})


def test_auto_link_commits_slice_by_slice_and_never_shows_a_half_list(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """One transaction for a whole auto-link pass held SQLite's only writer for minutes at
    1,000,000 listings (the other shops' writers gave up after 30 s). Each slice is now its
    own commit; readers in between see every link, and the channel's problems from before
    until this pass's replace them."""
    channel = world.channel_ids[0]
    refresh_listings(world.session, world.pm, channel)
    before = _problems(world, channel)
    assert before == {"missing_on_channel": {"SKU-0-00003-03"}}
    monkeypatch.setattr(autolink, "CHUNK", 7)
    monkeypatch.setattr(autolink, "STREAM", 5)
    engine = world.session.get_bind()
    seen: list[tuple[int, int]] = []

    def count_after_commit(_: Session) -> None:
        with Session(engine) as reader:
            links = reader.exec(select(func.count()).select_from(SkuLink).where(
                SkuLink.channel_id == channel)).one()
            problems = reader.exec(select(func.count()).select_from(LinkProblem).where(
                LinkProblem.channel_id == channel)).one()
        seen.append((links, problems))

    event.listen(world.session, "after_commit", count_after_commit)
    try:
        report = auto_link(world.session, channel)
    finally:
        event.remove(world.session, "after_commit", count_after_commit)

    assert len(seen) >= 59 // 7  # a commit a slice, not one for the pass
    assert all(links == 59 for links, _ in seen)  # never a link missing in between
    assert all(problems >= 1 for _, problems in seen)  # never an empty problem list
    assert seen[-1] == (59, 1) and _problems(world, channel) == before
    assert report.linked == 59 and report.added == 0 and report.removed == 0
