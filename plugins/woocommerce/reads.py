"""Reading sellables: the whole catalog page by page, or given SKUs.

The whole catalog is `GET /products` (ordered by id, so pages neither repeat nor skip while
products are edited) and, for each variable product on a page, its `/variations`: one page
of products and its variations make one yielded page. Given SKUs are one `GET /products?sku=`
per 50 SKUs: WooCommerce widens a SKU look-up to variations, and answers a variation whose
stock its parent manages with the parent's quantity and backorders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from shelfsync.core.types import PassScope
from shelfsync.plugins.woocommerce.client import PLATFORM, WooClient
from shelfsync.plugins.woocommerce.mapping import (
    SELLABLE_TYPES,
    Sellable,
    sellable,
    text,
)

log = logging.getLogger(__name__)

#: SKUs per `?sku=` look-up: the URL stays short, and a page of 100 holds them all.
SKU_CHUNK = 50
_ORDER = {"orderby": "id", "order": "asc"}


def titled_pages(client: WooClient) -> Iterator[list[tuple[Sellable, str]]]:
    """Every sellable with its product's title, one page of products (and the variations of
    its variable products) at a time."""
    for products in client.pages("products", _ORDER):
        page: list[tuple[Sellable, str]] = []
        for raw in products:
            kind = raw.get("type")
            name = text(raw.get("name", ""), "product name")
            if kind == "simple":
                page.append((sellable(raw), name))
            elif kind == "variable":
                parent = sellable(raw)
                for variations in client.pages(f"products/{parent.id}/variations", _ORDER):
                    for child in variations:
                        item = sellable(child, parent_id=parent.id, parent_name=name)
                        if parent.sku and item.sku == parent.sku:
                            continue  # no SKU of its own: WooCommerce shows the parent's
                        page.append((item, name))
        yield [(item, title) for item, title in page if item.sku]


def read_skus(client: WooClient, skus: Sequence[str]) -> list[Sellable]:
    """The sellables carrying the given SKUs (unknown SKUs are simply absent)."""
    wanted = list(dict.fromkeys(s for s in skus if s and s.strip() and "," not in s))
    if any("," in s for s in skus):
        # WooCommerce splits `?sku=` on commas: such a SKU cannot be asked for by itself.
        log.warning("woocommerce: SKUs with a comma cannot be read by SKU; skipped: %s",
                    ", ".join(repr(s) for s in skus if "," in s)[:200])
    found: dict[str, Sellable] = {}
    for start in range(0, len(wanted), SKU_CHUNK):
        chunk = wanted[start:start + SKU_CHUNK]
        for page in client.pages("products", {"sku": ",".join(chunk), **_ORDER},
                                 page_size=100):
            for raw in page:
                if raw.get("type") not in SELLABLE_TYPES:
                    continue
                item = sellable(raw)
                if item.sku in chunk:
                    found[item.sku] = item
    return [found[sku] for sku in wanted if sku in found]


class PassReads:
    """What a pass's stock read lends its flags read (the same objects carry both)."""

    def __init__(self, scope: PassScope) -> None:
        self.space = scope.space(PLATFORM)

    def keep(self, items: Sequence[Sellable]) -> None:
        """Remember what the stock read saw, by SKU."""
        self.space.setdefault("sellables", {}).update({item.sku: item for item in items})
        self.space.setdefault("asked", set())

    def asked(self, skus: Sequence[str]) -> None:
        """Remember which SKUs the stock read asked for (an absent one is unknown)."""
        self.space.setdefault("asked", set()).update(skus)

    def take(self, skus: Sequence[str]) -> list[Sellable] | None:
        """The sellables for `skus`, when the pass's stock read asked for all of them."""
        asked = self.space.get("asked", set())
        if not set(skus) <= asked:
            return None
        seen = self.space.get("sellables", {})
        return [seen[sku] for sku in skus if sku in seen]
