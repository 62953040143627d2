"""acme JSON <-> Shelfsync types. A field that is missing or of the wrong type is a
`BadResponse` naming it, never a guess.

TODO: the real API's field names.
"""

from __future__ import annotations

from typing import Any

from shelfsync.core.errors import BadResponse
from shelfsync.core.types import ChannelOrder, InventoryUpdate, Listing, OrderLine, PushResult

PLATFORM = "acme"
WAREHOUSE = "default"


def field(row: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    """`row[name]`, checked to be of `kind` (a bool is never an int)."""
    value = row.get(name) if isinstance(row, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadResponse(f"{PLATFORM}: {name} is {value!r}", platform=PLATFORM)
    return value


def listing(row: Any) -> Listing:
    return Listing(product_id=field(row, "product_id", str), sku_id=field(row, "sku_id", str),
                   seller_sku=field(row, "seller_sku", str),
                   quantities={WAREHOUSE: field(row, "quantity", int)})


def update_body(update: InventoryUpdate) -> dict[str, Any]:
    return {"sku_id": update.sku_id, "quantity": update.quantity}


def push_result(row: Any) -> PushResult:
    ok = field(row, "ok", bool)
    return PushResult(sku_id=field(row, "sku_id", str), ok=ok,
                      error_code=None if ok else str(row.get("error") or "rejected"))


def order(row: Any) -> ChannelOrder:
    lines = tuple(OrderLine(line_id=field(line, "id", str), sku_id=field(line, "sku_id", str),
                            seller_sku=field(line, "seller_sku", str),
                            quantity=field(line, "quantity", int))
                  for line in field(row, "lines", list))
    return ChannelOrder(id=field(row, "id", str), status=field(row, "status", str), lines=lines)
