"""Finding stock changes by polling (`shelfsync_poll_stock_changes`): Magento Open Source
sends no stock webhooks.

One poll reads, page by page:

1. every source item of the connection's stock (MSI), or every sellable product's stock item
   (legacy), and folds each row into one of `BUCKETS` CRC-32 digests chosen by its SKU. The
   cursor keeps the digests, not the rows, so it stays a few kilobytes at any catalog size and
   survives a restart (core stores it). A bucket whose digest changed reports every SKU that
   fell in it: a superset, which core may re-read (it pushes only what differs), never a miss.
2. orders updated since the newest `updated_at` of the last poll (`gteq`, so one saved in the
   same second is not lost; the ids already read at that second are kept in the cursor and
   not reported again): placing, cancelling or shipping an order moves the
   salable quantity through reservations without touching any source item.
3. sellable products updated since the same kind of mark: stock settings (backorders, manage stock,
   min qty) saved with the product.

The marks are Magento's own `updated_at` values, never our clock, so clock skew between the
two cannot skip a change. The first poll (no cursor) only takes the baseline.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from shelfsync.core.errors import BadResponse
from shelfsync.core.types import PassScope, StockChanges
from shelfsync.plugins.magento import reads, settings
from shelfsync.plugins.magento.client import PLATFORM, MagentoClient, in_list

BUCKETS = 4096
CURSOR_VERSION = 1
_EMPTY = 0


def _rows(client: MagentoClient, scope: PassScope | None) -> Iterator[tuple[str, bytes]]:
    """(SKU, what its stock depends on) for every row the digests cover."""
    if reads.is_legacy(client, scope):
        for page in client.search_pages("products", [[("type_id", in_list(
                reads.SELLABLE_TYPES), "in")]], [("entity_id", "ASC")]):
            for product in page:
                item = product.get("extension_attributes", {}).get("stock_item") or {}
                yield str(product.get("sku")), json.dumps(
                    [item.get(k) for k in ("qty", "is_in_stock", "backorders", "manage_stock",
                                           "min_qty")]).encode()
        return
    stock_id = settings.STOCK_ID.read(client.connection.settings)
    sources, linked = reads.stock_sources(client, stock_id, scope)
    enabled = sorted(s["source_code"] for s in sources if s["enabled"])
    for page in client.search_pages("inventory/source-items",
                                    [[("source_code", in_list(linked), "in")]],
                                    reads.SOURCE_ITEM_ORDER):
        for item in page:
            yield str(item.get("sku")), json.dumps(
                [item.get("source_code"), item.get("quantity"), item.get("status"),
                 item.get("source_code") in enabled]).encode()


def _digests(client: MagentoClient, scope: PassScope | None
             ) -> tuple[list[int], dict[int, set[str]]]:
    digests = [_EMPTY] * BUCKETS
    members: dict[int, set[str]] = {}
    for sku, row in _rows(client, scope):
        bucket = zlib.crc32(sku.encode()) % BUCKETS
        digests[bucket] = zlib.crc32(sku.encode() + b"\x00" + row, digests[bucket])
        members.setdefault(bucket, set()).add(sku)
    return digests, members


def _pack(digests: list[int]) -> str:
    return base64.b64encode(zlib.compress(struct.pack(f"<{BUCKETS}I", *digests))).decode()


def _unpack(text: str) -> list[int]:
    return list(struct.unpack(f"<{BUCKETS}I", zlib.decompress(base64.b64decode(text))))


def _changed_since(client: MagentoClient, rest: str, mark: Any, skus_of: Any,
                   groups: list[list[tuple[str, str, str]]]) -> tuple[set[str], dict[str, Any]]:
    """SKUs of `rest` objects updated since `mark` (`{"at": updated_at, "ids": [...]}`: the
    newest `updated_at` read and the ids read at exactly that second), and the new mark.

    Read with `gteq`, so an object saved in the same second as the last one read is not
    lost; the ids already read at that second are not reported twice.
    """
    first = not isinstance(mark, dict) or not isinstance(mark.get("at"), str)
    if first:  # the baseline: start from the newest object, report nothing
        newest = next(client.search_pages(rest, groups, [("updated_at", "DESC")],
                                          page_size=1))
        mark = {"at": str(newest[0].get("updated_at") or "") if newest else "", "ids": []}
    at, seen = str(mark["at"]), {str(i) for i in mark.get("ids") or []}
    found: set[str] = set()
    newest_at, newest_ids = at, set(seen)
    for page in client.search_pages(rest, [*groups, [("updated_at", at, "gteq")]],
                                    [("updated_at", "ASC")]):
        for entity in page:
            updated, ident = str(entity.get("updated_at") or ""), str(
                entity.get("entity_id", entity.get("id")))
            if not (updated == at and ident in seen) and not first:
                found |= skus_of(entity)
            if updated > newest_at:
                newest_at, newest_ids = updated, set()
            if updated == newest_at:
                newest_ids.add(ident)
    return found, {"at": newest_at, "ids": sorted(newest_ids)}


def _order_skus(order: dict[str, Any]) -> set[str]:
    return {str(i["sku"]) for i in order.get("items") or [] if isinstance(i, dict)
            and i.get("sku")}


def _product_skus(product: dict[str, Any]) -> set[str]:
    return {str(product["sku"])} if product.get("sku") else set()


def _read_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
        if state.get("v") != CURSOR_VERSION:
            return None
        state["digests"] = _unpack(state["digests"])
        return state
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, struct.error,
            zlib.error):
        return None  # an unreadable cursor: take a new baseline (reconciliation repairs)


def poll(client: MagentoClient, cursor: str | None, scope: PassScope | None) -> StockChanges:
    """One poll (see the module docstring)."""
    previous = _read_cursor(cursor)
    observed = datetime.now(UTC)
    digests, members = _digests(client, scope)
    first = previous is None
    orders, orders_mark = _changed_since(
        client, "orders", None if first else previous.get("orders"), _order_skus, [])
    products, products_mark = _changed_since(
        client, "products", None if first else previous.get("products"), _product_skus,
        [[("type_id", in_list(reads.SELLABLE_TYPES), "in")]])
    skus: set[str] = set()
    if not first:
        for bucket, (old, new) in enumerate(zip(previous["digests"], digests, strict=True)):
            if old != new:
                skus |= members.get(bucket, set())
        skus |= orders | products
    if any(not isinstance(sku, str) or not sku for sku in skus):
        raise BadResponse("magento: a changed row has no SKU", platform=PLATFORM)
    state = {"v": CURSOR_VERSION, "digests": _pack(digests), "orders": orders_mark,
             "products": products_mark}
    return StockChanges(skus=tuple(sorted(skus)), cursor=json.dumps(state, separators=(",",
                                                                                       ":")),
                        observed_at=observed)
