"""acme JSON <-> Shelfsync types. A field that is missing or of the wrong type is a
`BadResponse` naming it, never a guess (a wrong quantity would be pushed to every channel).

TODO: the real API's field names.
"""

from __future__ import annotations

from typing import Any

from shelfsync.core.errors import BadResponse
from shelfsync.core.types import (
    BackorderPolicy,
    CatalogItem,
    ChannelOrder,
    Location,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
)

PLATFORM = "acme"


def field(row: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    """`row[name]`, checked to be of `kind` (a bool is never an int)."""
    value = row.get(name) if isinstance(row, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadResponse(f"{PLATFORM}: {name} is {value!r}", platform=PLATFORM)
    return value


def location(row: Any) -> Location:
    return Location(id=field(row, "id", str), name=field(row, "name", str),
                    active=field(row, "active", bool))


def stock_level(row: Any) -> StockLevel:
    return StockLevel(sku=field(row, "sku", str), location_id=field(row, "location_id", str),
                      available=field(row, "available", int))


def catalog_items(product: Any) -> list[CatalogItem]:
    return [CatalogItem(product_id=field(product, "id", str), variant_id=field(v, "id", str),
                        sku=field(v, "sku", str), title=field(product, "title", str),
                        price=field(v, "price", str), currency="USD")
            for v in field(product, "variants", list)]


def backorder_policy(variant: Any) -> BackorderPolicy:
    return BackorderPolicy(sku=field(variant, "sku", str),
                           continue_selling=field(variant, "continue_selling", bool),
                           tracked=field(variant, "tracked", bool))


def order_body(order: ChannelOrder) -> dict[str, Any]:
    return {"external_id": order.id,
            "lines": [{"sku": line.seller_sku, "quantity": line.quantity}
                      for line in order.lines]}


def order_ref(row: Any, created: bool) -> StoreOrderRef:
    return StoreOrderRef(id=field(row, "id", str), created=created)


def order_status(row: Any) -> StoreOrderStatus:
    return StoreOrderStatus(id=field(row, "id", str),
                            cancelled=field(row, "status", str) == "cancelled")
