"""A channel order as JSON on its binding (`order_binding.payload`), and back.

Stored whole so a retry, a merchant's retry or a worker taking over a dead worker's lease
builds the store order from what the channel said, without reading the channel again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shelfsync.core.types import Address, ChannelOrder, Money, OrderLine


def _money(value: Money | None) -> dict[str, str] | None:
    return None if value is None else {"amount": value.amount, "currency": value.currency}


def _unmoney(value: Any) -> Money | None:
    return None if not value else Money(str(value["amount"]), str(value["currency"]))


def order_to_payload(order: ChannelOrder) -> dict[str, Any]:
    """A channel order as JSON, to store it on the binding and rebuild it for the store."""
    recipient = order.recipient
    return {
        "id": order.id, "status": order.status, "shop_id": order.shop_id,
        "shop_name": order.shop_name, "buyer_name": order.buyer_name,
        "buyer_email": order.buyer_email, "fulfilled_by_channel": order.fulfilled_by_channel,
        "cancel_reason": order.cancel_reason,
        "total": _money(order.total), "shipping_fee": _money(order.shipping_fee),
        "tax": _money(order.tax), "discount": _money(order.discount),
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "updated_at": order.updated_at.isoformat() if order.updated_at else None,
        "recipient": None if recipient is None else {
            "name": recipient.name, "phone": recipient.phone, "lines": list(recipient.lines),
            "city": recipient.city, "region": recipient.region,
            "postal_code": recipient.postal_code, "country_code": recipient.country_code},
        "lines": [{"line_id": li.line_id, "sku_id": li.sku_id, "seller_sku": li.seller_sku,
                   "quantity": li.quantity, "unit_price": _money(li.unit_price),
                   "product_id": li.product_id, "title": li.title,
                   "unit_line_ids": list(li.unit_line_ids)} for li in order.lines],
    }


def order_from_payload(data: Mapping[str, Any]) -> ChannelOrder:
    """The channel order `order_to_payload` stored."""
    recipient = data.get("recipient")

    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(data[name]) if data.get(name) else None

    return ChannelOrder(
        id=data["id"], status=data["status"], shop_id=data.get("shop_id", ""),
        shop_name=data.get("shop_name", ""), buyer_name=data.get("buyer_name", ""),
        buyer_email=data.get("buyer_email", ""), total=_unmoney(data.get("total")),
        shipping_fee=_unmoney(data.get("shipping_fee")), tax=_unmoney(data.get("tax")),
        discount=_unmoney(data.get("discount")), created_at=moment("created_at"),
        updated_at=moment("updated_at"),
        fulfilled_by_channel=bool(data.get("fulfilled_by_channel", False)),
        cancel_reason=str(data.get("cancel_reason") or ""),
        recipient=None if not recipient else Address(
            name=recipient["name"], phone=recipient["phone"], lines=tuple(recipient["lines"]),
            city=recipient["city"], region=recipient["region"],
            postal_code=recipient["postal_code"], country_code=recipient["country_code"]),
        lines=tuple(OrderLine(line_id=li["line_id"], sku_id=li["sku_id"],
                              seller_sku=li["seller_sku"], quantity=int(li["quantity"]),
                              unit_price=_unmoney(li.get("unit_price")),
                              product_id=li.get("product_id", ""), title=li.get("title", ""),
                              unit_line_ids=tuple(li.get("unit_line_ids") or ()))
                    for li in data.get("lines", [])),
    )
