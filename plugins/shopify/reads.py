"""Reading stock, flags and locations from Shopify, for the plugin's hooks.

Kept apart from the hooks: the queries and paging of a catalog read, and `PassReads`, which
lets a pass's flags read reuse the stock read made a moment before it in the same pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from shelfsync.core.types import Connection, Location, PassScope, StockLevel
from shelfsync.plugins.shopify import mapping, queries
from shelfsync.plugins.shopify.client import PLATFORM, ShopifyClient
from shelfsync.plugins.shopify.queries import MAX_PAGE_SIZE
from shelfsync.plugins.shopify.settings import PAGE_SIZE

#: SKUs per `productVariants(query:)` search: keeps the search string short.
SKU_CHUNK = 50
#: How long a SKU-scoped read trusts the locations it listed (a new location is picked up
#: within a minute; whole-store reads always list them afresh).
LOCATIONS_TTL = 60.0


def read_locations(client: ShopifyClient) -> list[Location]:
    found = [
        mapping.to_location(node)
        for page in client.paginate(queries.LOCATIONS, {}, "locations")
        for node in page
    ]
    return sorted(found, key=lambda location: (not location.active, location.name, location.id))


def _sku_search(skus: Sequence[str]) -> str:
    quoted = (sku.replace("\\", "\\\\").replace('"', '\\"') for sku in skus)
    return " OR ".join(f'sku:"{sku}"' for sku in quoted)


def variant_pages(
    client: ShopifyClient,
    document: str,
    variables: Mapping[str, Any],
    page_size: int | None,
) -> Iterator[list[mapping.VariantStock]]:
    """Every variant of the shop, one list per page Shopify answered."""
    for page in client.paginate(document, {**variables, "query": None}, "productVariants",
                                page_size=page_size):
        yield [mapping.to_variant_stock(node) for node in page]


def read_variants(
    client: ShopifyClient,
    document: str,
    variables: Mapping[str, Any],
    skus: Sequence[str] | None,
    page_size: int | None,
) -> Iterator[mapping.VariantStock]:
    """Every variant, or those whose SKU is exactly one of `skus` (searched in chunks)."""
    if skus is None:
        for page in variant_pages(client, document, variables, page_size):
            yield from page
        return
    wanted = list(dict.fromkeys(sku for sku in skus if sku))
    for start in range(0, len(wanted), SKU_CHUNK):
        chunk = wanted[start:start + SKU_CHUNK]
        search = {**variables, "query": _sku_search(chunk)}
        for page in client.paginate(document, search, "productVariants", page_size=page_size):
            for node in page:
                variant = mapping.to_variant_stock(node)
                # Shopify's search matches loosely; only an exact SKU is ours.
                if variant.sku in chunk:
                    yield variant


def page_size(connection: Connection) -> int | None:
    """The declared `page_size` setting, or None (the largest page the cost budget allows)."""
    value: int | None = PAGE_SIZE.read(connection.settings)
    return value


def _rest_of_levels(client: ShopifyClient, variant: mapping.VariantStock,
                    per_page: int) -> mapping.VariantStock:
    """Follow an item's inventoryLevels past the first page (more locations than we asked)."""
    levels, after = list(variant.levels), variant.more_levels_after
    while after:
        data = client.query(queries.MORE_LEVELS,
                            {"id": variant.inventory_item_id, "levels": per_page, "after": after})
        item = mapping.obj(data.get("inventoryItem"), "inventoryItem")
        more, after = mapping.to_levels(item.get("inventoryLevels"), "inventoryItem")
        levels.extend(more)
    return replace(variant, levels=levels, more_levels_after=None)


def _per_item(locations: list[Location], levels_per_item: int | None) -> int:
    """Levels asked per variant: as many as the shop has locations, capped."""
    return max(1, min(MAX_PAGE_SIZE, len(locations), levels_per_item or MAX_PAGE_SIZE))


def read_stock_levels(
    client: ShopifyClient,
    skus: Sequence[str] | None,
    page_size: int | None = None,
    levels_per_item: int | None = None,
    locations: list[Location] | None = None,
    variants: list[mapping.VariantStock] | None = None,
) -> list[StockLevel]:
    """Available stock per tracked SKU of `skus` (None: all, in one list; the whole-store
    hook pages instead, `stock_level_pages`) at each active location, read with `client`.

    By default each variant asks for as many levels as the shop has locations, so one page
    carries everything; `levels_per_item` caps that for shops with very many locations (the
    few items stocked beyond it are completed with follow-up queries). `locations` (read
    when None) and `variants` (filled with every variant read) serve `PassReads`.
    """
    locations = read_locations(client) if locations is None else locations
    active = {location.id for location in locations if location.active}
    per_item = _per_item(locations, levels_per_item)
    levels: list[StockLevel] = []
    for variant in read_variants(client, queries.STOCK_LEVELS, {"levels": per_item}, skus,
                                 page_size):
        if variant.more_levels_after:
            variant = _rest_of_levels(client, variant, per_item)
        if variants is not None:
            variants.append(variant)
        levels.extend(mapping.stock_levels(variant, active))
    return levels


def stock_level_pages(client: ShopifyClient, page_size: int | None = None,
                      levels_per_item: int | None = None) -> Iterator[list[StockLevel]]:
    """The whole shop's stock, one list per page of variants (the locations listed afresh
    first): nothing of an earlier page is kept."""
    locations = read_locations(client)
    active = {location.id for location in locations if location.active}
    per_item = _per_item(locations, levels_per_item)
    for page in variant_pages(client, queries.STOCK_LEVELS, {"levels": per_item}, page_size):
        levels: list[StockLevel] = []
        for variant in page:
            if variant.more_levels_after:
                variant = _rest_of_levels(client, variant, per_item)
            levels.extend(mapping.stock_levels(variant, active))
        yield levels


class PassReads:
    """What a pass's first store read learnt, lent to the reads that follow it in the pass.

    The engine reads stock, then backorder flags, for the same few SKUs. The StockLevels
    query already carries each variant's policy and `tracked`, so the flags hook answers from
    the variants the stock read just saw (once) instead of a second query. The variants live
    in the pass's `PassScope`, which core drops after the pass. The locations are listed at
    most once per `LOCATIONS_TTL` for the connection: kept in the cache core hands in with the
    scope (`scope.cache`, core's, kept between passes), never in module state.
    """

    def __init__(self, scope: PassScope) -> None:
        self._space = scope.space(PLATFORM)
        self._cache = scope.cache

    def locations(self, client: ShopifyClient) -> list[Location]:
        """The shop's locations, listed at most once per `LOCATIONS_TTL`."""
        found: tuple[Location, ...] | None = self._cache.get("locations")
        if found is None:
            found = tuple(read_locations(client))
            self._cache.put("locations", found, LOCATIONS_TTL)
        return list(found)

    def keep_variants(self, skus: Sequence[str], read: list[mapping.VariantStock]) -> None:
        """Lend the variants a stock read of `skus` saw to the next flags read of `skus`."""
        self._space[("variants", frozenset(skus))] = read

    def take_variants(self, skus: Sequence[str] | None) -> list[mapping.VariantStock] | None:
        """The variants this pass's stock read of exactly `skus` saw (used once), else None."""
        if skus is None:
            return None
        found: list[mapping.VariantStock] | None = self._space.pop(
            ("variants", frozenset(skus)), None)
        return found
