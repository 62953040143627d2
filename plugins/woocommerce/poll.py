"""Find the SKUs whose stock may have moved since a cursor, for stock no webhook reported.

An order takes stock through wc_update_product_stock, which saves the stock owner (moving
its modification date) without always raising `product.updated`. So each poll reads:

- products modified since the cursor (`modified_after`, GMT, oldest first): a simple
  product's SKU, or every variation SKU of a variable product (a parent that manages its
  variations' stock is the product saved when one of them sells);
- orders modified since the cursor: their lines' SKUs (a variation managing its own stock
  is saved itself, and variations are not in `/products`; a cancellation gives stock back).

The cursor is the newest modification date seen for each (the store's clock, not ours), and
the objects seen in the last `OVERLAP` before it: WordPress dates have whole seconds and
`modified_after` is strict, so each poll re-reads a short overlap and skips what it already
reported — except, when the store's clock (the answer's `Date`) showed that second was not
over at the read, what sits in the cursor's own second: a save after the read can change it
without changing its date, so it is reported again (a superset, which core re-reads and
pushes only where it differs) until a later poll reads that second closed. A poll reads at
most `MAX_PAGES` pages of each and then asks core for another
(`more`). The first poll takes a baseline: the newest dates and what shares them, and no
SKUs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shelfsync.core.types import StockChanges
from shelfsync.plugins.woocommerce import mapping
from shelfsync.plugins.woocommerce.client import WooClient

log = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=2)
MAX_PAGES = 10
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Mark:
    """How far one resource has been read: the newest date, what was seen near it, and the
    store's clock when it was read (`read`, from the answer's `Date`; None: unknown)."""

    newest: datetime
    seen: set[str] = field(default_factory=set)
    read: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The mark as cursor JSON."""
        return {"at": _wp(self.newest), "seen": sorted(self.seen),
                "read": _wp(self.read) if self.read else None}

    @classmethod
    def from_json(cls, raw: Any) -> Mark:
        """The inverse of `to_json`; ValueError for anything else."""
        if not isinstance(raw, dict) or not isinstance(raw.get("seen", []), list):
            raise ValueError("not a mark")
        read = raw.get("read")
        return cls(datetime.fromisoformat(str(raw["at"])).replace(tzinfo=UTC),
                   {str(key) for key in raw.get("seen", [])},
                   datetime.fromisoformat(str(read)).replace(tzinfo=UTC) if read else None)

    @property
    def open_second(self) -> bool:
        """Whether the newest second was not over when it was read: a save after the read
        may then carry the same date as what was seen, so that second is read again."""
        return self.read is None or self.read <= self.newest

    def advance(self, objects: Iterable[tuple[str, datetime]], read: datetime | None) -> None:
        """Move past what was read (keeping the keys inside the overlap)."""
        seen = list(objects)
        self.newest = max([self.newest, *(at for _, at in seen)])
        self.read = read.replace(microsecond=0) if read is not None else None
        self.seen = {key for key in self.seen | {k for k, _ in seen}
                     if _at(key) >= self.newest - OVERLAP}


def _wp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _key(raw: dict[str, Any]) -> tuple[str, datetime]:
    at = mapping.parse_gmt(raw.get("date_modified_gmt"))
    if at is None:
        raise mapping.bad(f"object {raw.get('id')} has no date_modified_gmt")
    return f"{mapping.integer(raw.get('id'), 'id')}@{_wp(at)}", at


def _at(key: str) -> datetime:
    return datetime.fromisoformat(key.partition("@")[2]).replace(tzinfo=UTC)


def _newest(client: WooClient, path: str) -> datetime:
    items, _ = client.page(path, {"orderby": "modified", "order": "desc", "per_page": 1})
    return _key(items[0])[1] if items else _EPOCH


def poll(client: WooClient, cursor: str | None,
         now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> StockChanges:
    """One poll (see the module docstring)."""
    observed = now()
    marks = _decode(cursor)
    if marks is None:
        products, orders = Mark(_newest(client, "products")), Mark(_newest(client, "orders"))
        # What shares the newest second is seen already: the next poll skips it.
        more = _read(client, "products", products, lambda raw: [], {})
        more |= _read(client, "orders", orders, lambda raw: [], {})
        return StockChanges((), _encode(products, orders), observed, more=more)
    products, orders = marks
    skus: dict[str, None] = {}
    more = _read(client, "products", products, lambda raw: _product_skus(client, raw), skus)
    more |= _read(client, "orders", orders, _order_skus, skus)
    return StockChanges(tuple(skus), _encode(products, orders), observed, more=more)


def _read(client: WooClient, path: str, mark: Mark,
          skus_of: Callable[[dict[str, Any]], list[str]], skus: dict[str, None]) -> bool:
    """Read `path` modified since `mark` into `skus`; True when it stopped early."""
    params = {"modified_after": _wp(mark.newest - OVERLAP), "dates_are_gmt": "true",
              "orderby": "modified", "order": "asc"}
    read: list[tuple[str, datetime]] = []
    stopped = False
    for pages, page in enumerate(client.pages(path, params, max_pages=MAX_PAGES), start=1):
        for raw in page:
            key, at = _key(raw)
            read.append((key, at))
            # A save in the very second of the cursor, after it was read, keeps the same
            # date: what sits in that second is reported again, older seen keys are not.
            if key not in mark.seen or (at >= mark.newest and mark.open_second):
                skus.update(dict.fromkeys(skus_of(raw)))
        stopped = pages >= MAX_PAGES and len(page) == client.page_size
    mark.advance(read, client.last_date)
    return stopped


def _product_skus(client: WooClient, raw: dict[str, Any]) -> list[str]:
    if raw.get("type") == "variable":
        parent = mapping.integer(raw.get("id"), "id")
        return [str(child.get("sku") or "") for page in
                client.pages(f"products/{parent}/variations", {"orderby": "id", "order": "asc"})
                for child in page if child.get("sku")]
    sku = raw.get("sku")
    return [sku] if isinstance(sku, str) and sku and raw.get("type") == "simple" else []


def _order_skus(raw: dict[str, Any]) -> list[str]:
    lines = raw.get("line_items")
    if not isinstance(lines, list):
        raise mapping.bad(f"order {raw.get('id')}: line_items is not a list")
    return [str(line["sku"]) for line in lines if isinstance(line, dict) and line.get("sku")]


def _encode(products: Mark, orders: Mark) -> str:
    return json.dumps({"v": 1, "products": products.to_json(), "orders": orders.to_json()},
                      separators=(",", ":"))


def _decode(cursor: str | None) -> tuple[Mark, Mark] | None:
    if cursor is None:
        return None
    try:
        raw = json.loads(cursor)
        return Mark.from_json(raw["products"]), Mark.from_json(raw["orders"])
    except (ValueError, KeyError, TypeError):
        # Not one of ours (another version, a hand edit): start a new baseline, and say so.
        log.warning("woocommerce: unreadable poll cursor; taking a new baseline")
        return None
