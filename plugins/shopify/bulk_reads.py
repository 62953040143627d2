"""The whole-store hooks' bulk path: one bulk query, its file paged into the hooks' pages,
and the paged read as the fallback whenever the bulk read cannot be trusted (see `bulk`).

SKU-scoped reads never come here: a webhook's few SKUs are one cheap paged query, while a
bulk operation takes seconds to start and runs one at a time per shop.

Within a reconcile the stock read's operation (its query carries each variant's policy and
`tracked`) is lent through the pass's scope to the flags read that follows, which downloads
the same file again instead of running a second operation; a catalog refresh lends its own
the same way to the flags read that follows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from shelfsync.core.types import (
    BackorderPolicy,
    CatalogItem,
    Connection,
    PassScope,
    StockLevel,
)
from shelfsync.plugins.shopify import bulk, mapping, queries, settings
from shelfsync.plugins.shopify.bulk import BulkUnavailable, Operation
from shelfsync.plugins.shopify.client import PLATFORM, ShopifyClient
from shelfsync.plugins.shopify.reads import read_locations

log = logging.getLogger(__name__)
_LENT = "bulk_stock_operation"
#: A shop of at most this many variants is read page by page: its paged read costs less
#: than a bulk operation's start-up and polls (a few pages, mostly paid by the full bucket).
SMALL_SHOP = 250
#: Whether there are more variants than that: `first: 250` with no node field.
SIZE_PROBE = """
query ShopSize($first: Int!) {
  productVariants(first: $first) { pageInfo { hasNextPage } }
}
"""


def enabled(connection: Connection) -> bool:
    """The `bulk_reads` setting: on unless turned off. A connection that sets `page_size`
    or `levels_per_item` but not `bulk_reads` tuned its paged reads on purpose, and keeps
    them."""
    tuned = connection.settings.get("page_size") or connection.settings.get("levels_per_item")
    if "bulk_reads" not in connection.settings and tuned:
        return False
    return bool(settings.BULK_READS.read(connection.settings))


def _fallback(what: str, exc: BulkUnavailable) -> None:
    log.warning("shopify: whole-store %s read page by page instead of in bulk: %s",
                what, exc.reason)


def _variant(parent: dict[str, Any], children: list[dict[str, Any]]) -> mapping.VariantStock:
    return mapping.to_variant_stock(bulk.with_levels(parent, children))


def _flags(parent: dict[str, Any], _: list[dict[str, Any]]) -> mapping.VariantStock:
    return mapping.to_variant_stock(parent)  # levels, if the file has them, are not needed


def _small_shop(client: ShopifyClient) -> bool:
    """Whether the shop has at most `SMALL_SHOP` variants (one cheap query)."""
    data = client.query(SIZE_PROBE, {"first": SMALL_SHOP})
    page = mapping.obj(data.get("productVariants"), "productVariants")
    info = mapping.obj(page.get("pageInfo"), "productVariants.pageInfo")
    return not mapping.flag(info, "hasNextPage", "productVariants.pageInfo")


def _bulk_or_paged(client: ShopifyClient, connection: Connection, what: str, document: str,
                   pages: Iterator[list[Any]]) -> tuple[Iterator[list[Any]], Any]:
    """(pages to hand on, the bulk file and operation, or None): a small shop's paged
    pages, else the bulk file, else (it failed) the paged pages from the start."""
    if _small_shop(client):
        return pages, None
    try:
        spool, op = bulk.read_file(client, connection, document)
    except BulkUnavailable as exc:
        _fallback(what, exc)
        return pages, None
    return iter(()), (spool, op)


def whole_stock(connection: Connection, scope: PassScope | None,
                paged: Callable[[ShopifyClient], Iterator[list[StockLevel]]]
                ) -> Iterator[list[StockLevel]]:
    """The whole shop's stock from one bulk query, page by page; paged for a shop of at
    most `SMALL_SHOP` variants, or when the bulk read fails."""
    with ShopifyClient(connection) as client:
        pages, found = _bulk_or_paged(client, connection, "stock", bulk.STOCK, paged(client))
        yield from pages
        if found is None:
            return
        spool, op = found
        with spool:
            locations = read_locations(client)  # listed afresh, after the snapshot
            active = {location.id for location in locations if location.active}
            for page in bulk.pages_of(spool, _variant):
                yield [level for variant in page
                       for level in mapping.stock_levels(variant, active)]
        if scope is not None:
            scope.space(PLATFORM)[_LENT] = op


def whole_policies(connection: Connection, scope: PassScope | None,
                   paged: Callable[[ShopifyClient], Iterator[list[BackorderPolicy]]]
                   ) -> Iterator[list[BackorderPolicy]]:
    """Every variant's policy and `tracked`: from the file of the pass's stock read when it
    lent one, else from a bulk query of their own; paged as `whole_stock` is."""
    lent: Operation | None = scope.space(PLATFORM).pop(_LENT, None) if scope else None
    spool = None
    if lent is not None:
        try:
            spool = bulk.download(connection, lent)
        except BulkUnavailable as exc:
            log.info("shopify: the stock read's bulk file is gone (%s); reading again",
                     exc.reason)
    with ShopifyClient(connection) as client:
        if spool is None:
            pages, found = _bulk_or_paged(client, connection, "backorder flags", bulk.FLAGS,
                                          paged(client))
            yield from pages
            if found is None:
                return
            spool = found[0]
    with spool:
        for page in bulk.pages_of(spool, _flags):
            yield [mapping.backorder_policy(variant) for variant in page if variant.sku]


def whole_catalog(connection: Connection, scope: PassScope | None,
                  paged: Callable[[ShopifyClient, str], Iterator[list[CatalogItem]]]
                  ) -> Iterator[list[CatalogItem]]:
    """Every variant with its product, SKU, price and currency, as `whole_stock` reads; the
    file (it carries the flags too) is lent to the catalog refresh's flags read."""
    with ShopifyClient(connection) as client:
        currency = mapping.shop_currency(client.query(queries.SHOP))
        pages, found = _bulk_or_paged(client, connection, "catalog", bulk.CATALOG,
                                      paged(client, currency))
        yield from pages
    if found is None:
        return
    with found[0] as spool:
        for page in bulk.pages_of(spool, lambda parent, _: parent):
            yield [mapping.to_catalog_item(node, currency) for node in page]
    if scope is not None:
        scope.space(PLATFORM)[_LENT] = found[1]
