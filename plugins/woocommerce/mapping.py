"""WooCommerce JSON ↔ Shelfsync's types: sellable items, stock, flags, catalog, orders.

A *sellable* is a simple product or a variation: what carries a SKU and stock. Its stock is
its own (`manage_stock: true`), its parent's (`manage_stock: "parent"`, when the API already
shows the parent's `stock_quantity` and `backorders`), or not tracked (`false`). Every field
read is checked: a value of the wrong type is a `BadResponse`, never a guess.

Continue selling when out of stock: backorders `notify` or `yes` on a managed item; an
unmanaged item sells on unless the merchant marked it out of stock (WooCommerce refuses to
sell an unmanaged product whose `stock_status` is `outofstock`, so syncing 99,999 for it would
oversell).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shelfsync.core.errors import BadResponse
from shelfsync.core.types import BackorderPolicy, CatalogItem, StockLevel, StoreOrderStatus

PLATFORM = "woocommerce"
#: WooCommerce has no locations: all of a SKU's stock is in this one.
LOCATION_ID = "default"
SELLABLE_TYPES = ("simple", "variation")
BACKORDERS = ("no", "notify", "yes")


def bad(what: str) -> BadResponse:
    """A `BadResponse` naming what was wrong in the answer."""
    return BadResponse(f"{PLATFORM}: {what}", platform=PLATFORM)


def integer(value: Any, what: str) -> int:
    """An integer field (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"{what} is not a whole number: {str(value)[:40]!r}")
    return value


def text(value: Any, what: str) -> str:
    """A string field."""
    if not isinstance(value, str):
        raise bad(f"{what} is not text: {str(value)[:40]!r}")
    return value


@dataclass(frozen=True)
class Sellable:
    """A simple product or a variation, as far as stock, flags and catalog need it."""

    id: int
    parent_id: int
    sku: str
    name: str
    price: str
    managed: bool | str
    quantity: int | None
    backorders: str
    stock_status: str
    modified: datetime | None

    @property
    def tracked(self) -> bool:
        """Whether WooCommerce counts its stock (its own or its parent's)."""
        return self.managed is not False

    @property
    def stock_owner(self) -> int:
        """The id of the product whose stock it sells from."""
        return self.parent_id if self.managed == "parent" and self.parent_id else self.id


def sellable(raw: Mapping[str, Any], *, parent_id: int = 0, parent_name: str = "") -> Sellable:
    """A product or variation object as a `Sellable` (`parent_id` when read through its
    parent's `/variations`, where the object does not name it)."""
    item_id = integer(raw.get("id"), "id")
    where = f"product {item_id}"
    managed = raw.get("manage_stock")
    if managed not in (True, False, "parent"):
        raise bad(f"{where}: manage_stock is {str(managed)[:20]!r}")
    quantity = raw.get("stock_quantity")
    if quantity is not None:
        quantity = integer(quantity, f"{where}: stock_quantity")
    backorders = raw.get("backorders")
    if backorders not in BACKORDERS:
        raise bad(f"{where}: backorders is {str(backorders)[:20]!r}")
    parent = raw.get("parent_id", parent_id) or parent_id
    name = text(raw.get("name", parent_name), f"{where}: name") if "name" in raw else parent_name
    price = raw.get("price", "")
    return Sellable(
        id=item_id, parent_id=integer(parent, f"{where}: parent_id"),
        sku=text(raw.get("sku", ""), f"{where}: sku").strip(), name=name,
        price=text(price, f"{where}: price") if price is not None else "",
        managed=managed, quantity=quantity, backorders=str(backorders),
        stock_status=text(raw.get("stock_status", ""), f"{where}: stock_status"),
        modified=parse_gmt(raw.get("date_modified_gmt")),
    )


def parse_gmt(value: Any) -> datetime | None:
    """A `*_gmt` date (no offset, UTC) as an aware datetime; None when absent."""
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(text(value, "date")).replace(tzinfo=UTC)
    except ValueError:
        raise bad(f"unreadable date {str(value)[:30]!r}") from None


def stock_level(item: Sellable, observed_at: datetime | None = None) -> StockLevel | None:
    """Its stock at the one location, or None when stock is not tracked. A managed item
    with no quantity set holds 0, as WooCommerce reads it (wc_stock_amount)."""
    if not item.tracked or not item.sku:
        return None
    return StockLevel(sku=item.sku, location_id=LOCATION_ID, available=item.quantity or 0,
                      observed_at=observed_at)


def backorder_policy(item: Sellable) -> BackorderPolicy:
    """Continue selling: backorders allowed, or not tracked and not marked out of stock."""
    if item.tracked:
        return BackorderPolicy(item.sku, continue_selling=item.backorders != "no", tracked=True)
    return BackorderPolicy(item.sku, continue_selling=item.stock_status != "outofstock",
                           tracked=False)


def catalog_item(item: Sellable, title: str, currency: str) -> CatalogItem:
    """A catalog variant; its `inventory_item_id` is the stock owner's id, so a webhook for a
    parent that manages its variations' stock reaches every one of them."""
    return CatalogItem(product_id=str(item.parent_id or item.id), variant_id=str(item.id),
                       sku=item.sku, title=title or item.name, price=item.price or None,
                       currency=currency, inventory_item_id=str(item.stock_owner))


def currency(payload: Any) -> str:
    """The store currency from `/settings/general/woocommerce_currency`."""
    value = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise bad(f"the currency setting is {str(value)[:20]!r}")
    return value.upper()


def order_status(payload: Any, order_id: str) -> StoreOrderStatus:
    """Fulfilment (completed), cancellation and refunds of an order."""
    if not isinstance(payload, dict):
        raise bad(f"order {order_id} is not an object")
    status = text(payload.get("status"), f"order {order_id}: status")
    refunds = payload.get("refunds", [])
    if not isinstance(refunds, list):
        raise bad(f"order {order_id}: refunds is not a list")
    number, carrier = tracking(payload.get("meta_data", []))
    return StoreOrderStatus(id=str(payload.get("id", order_id)), fulfilled=status == "completed",
                            cancelled=status == "cancelled",
                            refunded=status == "refunded" or bool(refunds),
                            tracking_number=number, carrier=carrier)


#: The WooCommerce Shipment Tracking extension keeps tracking in this order meta.
TRACKING_META = "_wc_shipment_tracking_items"


def tracking(meta: Any) -> tuple[str, str]:
    """The last tracking number and carrier the Shipment Tracking extension recorded."""
    if not isinstance(meta, list):
        return "", ""
    for entry in reversed(meta):
        if isinstance(entry, dict) and entry.get("key") == TRACKING_META \
                and isinstance(entry.get("value"), list) and entry["value"]:
            last = entry["value"][-1]
            if isinstance(last, dict):
                carrier = last.get("custom_tracking_provider") or last.get("tracking_provider")
                return str(last.get("tracking_number") or ""), str(carrier or "")
    return "", ""


def meta_value(payload: Mapping[str, Any], key: str) -> str | None:
    """The value of the first `meta_data` entry named `key`, as text."""
    meta = payload.get("meta_data")
    if not isinstance(meta, list):
        raise bad(f"order {payload.get('id')}: meta_data is not a list")
    for entry in meta:
        if isinstance(entry, dict) and entry.get("key") == key:
            return str(entry.get("value"))
    return None
