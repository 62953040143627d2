"""Whole-catalog reads arrive page by page: each page is recorded in a transaction of its own
(none open while the plugin reads on), what the read did not return is forgotten only once
it finished, and a page of the wrong shape is a plugin bug. The plugins are the real Shopify
and TikTok plugins against their fakes, with small pages; the faults come from wrappers
registered like any plugin."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, select

from shelfsync.core.errors import PluginContractError, TransientError
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelListing,
    SkuLink,
    StockLevel,
    StoreConnection,
    utcnow,
)
from shelfsync.core.sync.catalog import refresh_catalog
from shelfsync.core.sync.inventory import reconcile_organization, refresh_listings

from .conftest import World


def _small_pages(world: World) -> None:
    """Ten store variants and five channel products a page: several pages each."""
    store = world.session.get(StoreConnection, world.store_id)
    assert store is not None
    store.settings = {**store.settings, "page_size": 10}
    world.session.add(store)
    for channel_id in world.channel_ids:
        channel = world.session.get(ChannelConnection, channel_id)
        assert channel is not None
        channel.settings = {**channel.settings, "page_size": 5}
        world.session.add(channel)
    world.session.commit()


class Watch:
    """Notes, before each page is asked for, whether the reading thread has a transaction
    open (its database connection began one that has not ended; on the test's thread, also
    whether the test's session is in one: the store is read in that session, a channel's
    listings on threads of their own); fails the read after `fail_after` pages when set; or
    reshapes the answer."""

    def __init__(self, session: Session, *, fail_after: int | None = None,
                 reshape: Any = None) -> None:
        self.session, self.fail_after, self.reshape = session, fail_after, reshape
        self.open: dict[str, list[bool]] = {}
        self.owner = threading.get_ident()
        self._began: set[int] = set()
        engine = session.get_bind().engine
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, connection: Any) -> None:
        self._began.add(threading.get_ident())

    def _end(self, connection: Any) -> None:
        self._began.discard(threading.get_ident())

    def _transaction_open(self) -> bool:
        here = threading.get_ident()
        return here in self._began or (here == self.owner and self.session.in_transaction())

    def _pages(self, hook: str, pages: Iterable[Any]) -> Iterator[Any]:
        seen = self.open.setdefault(hook, [])
        iterator = iter(pages)
        while True:
            seen.append(self._transaction_open())
            if self.fail_after is not None and len(seen) > self.fail_after:
                raise TransientError("the read broke off", platform="test")
            try:
                page = next(iterator)
            except StopIteration:
                return
            yield page

    def _wrap(self, hook: str, answer: Any) -> Any:
        if self.reshape is not None:
            return self.reshape(answer)
        return self._pages(hook, answer)

    @hookimpl(wrapper=True)
    def shelfsync_fetch_stock_levels(self, connection: Any,
                                     skus: Any) -> Generator[None, Any, Any]:
        answer = yield
        return answer if skus is not None else self._wrap("stock", answer)

    @hookimpl(wrapper=True)
    def shelfsync_fetch_catalog(self, connection: Any) -> Generator[None, Any, Any]:
        answer = yield
        return self._wrap("catalog", answer)

    @hookimpl(wrapper=True)
    def shelfsync_fetch_listings(self, connection: Any) -> Generator[None, Any, Any]:
        answer = yield
        return self._wrap("listings", answer)


def _count(session: Session, model: type, **where: Any) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return int(session.exec(query).one())


def test_each_page_is_committed_before_the_next_is_asked_for(world: World) -> None:
    _small_pages(world)
    watch = Watch(world.session)
    world.pm.register(watch)
    try:
        first = reconcile_organization(world.session, world.pm, world.org_id,
                                       refresh_store_catalog=True)
    finally:
        world.pm.unregister(watch)
    world.session.commit()
    assert first.pushed > 0
    for hook in ("catalog", "stock", "listings"):
        assert len(watch.open[hook]) > 2, hook  # several pages (and the end) were asked for
        assert not any(watch.open[hook]), f"a transaction was open across a {hook} page"
    world.reset_counts()
    second = reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    assert world.update_calls() == 0 and second.pushed == 0 and second.failed == 0


def _phantom_level(world: World) -> None:
    """A level the store no longer reports (an item no longer stocked there)."""
    world.session.add(StockLevel(store_connection_id=world.store_id, sku=world.plain_sku(),
                                 location_id="gid://shopify/Location/999", available=50,
                                 observed_at=utcnow() - timedelta(days=1)))
    world.session.commit()


def _phantoms(world: World) -> int:
    return _count(world.session, StockLevel, location_id="gid://shopify/Location/999")


def test_a_stock_read_failing_part_way_forgets_nothing_and_pushes_nothing(
        world: World) -> None:
    _small_pages(world)
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    _phantom_level(world)
    levels = _count(world.session, StockLevel)
    for sku in ("SKU-0-00001-01", "SKU-0-00020-03"):  # on the first and the last page
        world.bump(sku, 5)
    world.reset_counts()
    watch = Watch(world.session, fail_after=2)
    world.pm.register(watch)
    try:
        with pytest.raises(TransientError):
            reconcile_organization(world.session, world.pm, world.org_id)
    finally:
        world.pm.unregister(watch)
    world.session.rollback()
    assert _phantoms(world) == 1 and _count(world.session, StockLevel) == levels
    assert world.update_calls() == 0

    reconcile_organization(world.session, world.pm, world.org_id)  # the whole read, this time
    world.session.commit()
    assert _phantoms(world) == 0
    assert world.shown(0)["SKU-0-00020-03"] == world.expected("SKU-0-00020-03", 0)


def test_a_catalog_read_failing_part_way_removes_no_variant(world: World) -> None:
    _small_pages(world)
    world.session.add(CatalogVariant(store_connection_id=world.store_id, product_id="gone",
                                     variant_id="gone-1", sku="GONE-1"))
    world.session.commit()
    variants = _count(world.session, CatalogVariant)
    watch = Watch(world.session, fail_after=3)
    world.pm.register(watch)
    try:
        with pytest.raises(TransientError):
            refresh_catalog(world.session, world.pm, world.store_id)
    finally:
        world.pm.unregister(watch)
    world.session.rollback()
    assert _count(world.session, CatalogVariant) == variants
    report = refresh_catalog(world.session, world.pm, world.store_id)
    world.session.commit()
    assert report.removed == 1 and report.variants == variants - 1
    assert _count(world.session, CatalogVariant, sku="GONE-1") == 0


def test_a_listing_read_failing_part_way_forgets_no_listing_or_link(world: World) -> None:
    _small_pages(world)
    channel = world.channel_ids[0]
    refresh_listings(world.session, world.pm, channel)
    world.session.add(ChannelListing(channel_id=channel, product_id="gone", sku_id="gone-1",
                                     seller_sku="GONE-1"))
    world.session.commit()
    listings = _count(world.session, ChannelListing, channel_id=channel)
    links = _count(world.session, SkuLink, channel_id=channel)
    watch = Watch(world.session, fail_after=2)
    world.pm.register(watch)
    try:
        with pytest.raises(TransientError):
            refresh_listings(world.session, world.pm, channel)
    finally:
        world.pm.unregister(watch)
    world.session.rollback()
    assert _count(world.session, ChannelListing, channel_id=channel) == listings
    assert _count(world.session, SkuLink, channel_id=channel) == links
    report = refresh_listings(world.session, world.pm, channel)
    world.session.commit()
    assert report.listings == listings - 1
    assert _count(world.session, ChannelListing, sku_id="gone-1") == 0


@pytest.mark.parametrize("reshape", [
    pytest.param(lambda pages: [item for page in pages for item in page], id="a flat list"),
    pytest.param(lambda pages: (tuple(page) for page in pages), id="tuple pages"),
    pytest.param(lambda pages: ([*page, "not a level"] for page in pages), id="a stray item"),
    pytest.param(lambda pages: {"pages": list(pages)}, id="a mapping"),
])
def test_a_whole_read_of_the_wrong_shape_is_a_contract_error_that_forgets_nothing(
        world: World, reshape: Any) -> None:
    reconcile_organization(world.session, world.pm, world.org_id)
    world.session.commit()
    _phantom_level(world)
    world.reset_counts()
    watch = Watch(world.session, reshape=reshape)
    world.pm.register(watch)
    try:
        with pytest.raises(PluginContractError) as raised:
            reconcile_organization(world.session, world.pm, world.org_id)
    finally:
        world.pm.unregister(watch)
    world.session.rollback()
    assert "shelfsync_fetch_stock_levels" in str(raised.value)
    assert not raised.value.retryable
    assert _phantoms(world) == 1 and world.update_calls() == 0
