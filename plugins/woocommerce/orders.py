"""Store orders for TikTok orders: created once, read, cancelled.

wc/v3 cannot search orders by meta data, so the TikTok order id travels in the order's
`meta_data` (`tiktok_order_id`) and the look-up before every attempt pages the orders
created since a little before the TikTok order was placed (`after`, GMT, oldest first) and
matches the meta data itself. Its cost is one request per 100 orders the site took in that
window (`order_lookup_hours`, default one hour before the TikTok order's creation time), for
every create and every retry; docs/plugins/woocommerce.md says so.

The order is created paid (`set_paid`, status `processing`): TikTok has taken the money, and
WooCommerce then takes the units off stock itself. Prices travel as strings in the lines'
`subtotal`/`total` (a line's `price` is read-only and would be dropped).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from shelfsync.core.errors import BadRequest, NotFound
from shelfsync.core.rest import create_once
from shelfsync.core.types import Address, ChannelOrder, StoreOrderRef, StoreOrderStatus
from shelfsync.plugins.woocommerce import mapping, settings
from shelfsync.plugins.woocommerce.client import PLATFORM, WooClient
from shelfsync.plugins.woocommerce.reads import read_skus

ORDER_META_KEY = "tiktok_order_id"
SHOP_META_KEY = "tiktok_shop_id"
CANCEL_META_KEY = "tiktok_cancel_reason"
#: Without the TikTok order's creation time the look-up reads this far back.
FALLBACK_WINDOW = timedelta(days=7)


def _wp_gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def lookup_pages(client: WooClient, order: ChannelOrder, now: datetime | None = None
                 ) -> Iterator[list[dict[str, Any]]]:
    """The pages of orders created since a little before the TikTok order."""
    hours = float(settings.ORDER_LOOKUP_HOURS.read(client.connection.settings))
    placed = order.created_at
    since = (placed - timedelta(hours=hours)) if placed is not None else \
        (now or datetime.now(UTC)) - FALLBACK_WINDOW
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return client.pages("orders", {"after": _wp_gmt(since), "dates_are_gmt": "true",
                                   "orderby": "date", "order": "asc"}, page_size=100)


def find_order(client: WooClient, order: ChannelOrder) -> StoreOrderRef | None:
    """The store order carrying the TikTok order id, if one exists."""
    for page in lookup_pages(client, order):
        for raw in page:
            if mapping.meta_value(raw, ORDER_META_KEY) == order.id:
                number = str(raw.get("number") or raw.get("id"))
                return StoreOrderRef(id=str(mapping.integer(raw.get("id"), "order id")),
                                     name=f"#{number}", created=False)
    return None


def _money(value: str, what: str) -> Decimal:
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise BadRequest(f"{PLATFORM}: {what} {value!r} is not an amount",
                         platform=PLATFORM) from None
    if not amount.is_finite():
        raise BadRequest(f"{PLATFORM}: {what} {value!r} is not an amount", platform=PLATFORM)
    return amount


def _address(address: Address | None, email: str = "") -> dict[str, str]:
    if address is None:
        return {"email": email} if email else {}
    first, _, last = address.name.strip().rpartition(" ")
    lines = [*address.lines, "", ""]
    fields = {"first_name": first or last, "last_name": last if first else "",
              "address_1": lines[0], "address_2": ", ".join(x for x in lines[1:] if x),
              "city": address.city, "state": address.region, "postcode": address.postal_code,
              "country": address.country_code, "phone": address.phone}
    if email:
        fields["email"] = email
    return {k: v for k, v in fields.items() if v}


def order_body(order: ChannelOrder, products: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The `POST /orders` body: writable fields only (WooCommerce drops the others)."""
    lines = []
    for line in order.lines:
        product_id, variation_id = products[line.seller_sku]
        entry: dict[str, Any] = {"product_id": product_id, "quantity": line.quantity}
        if variation_id:
            entry["variation_id"] = variation_id
        if line.unit_price is not None:
            total = _money(line.unit_price.amount, "unit price") * line.quantity
            entry["subtotal"] = entry["total"] = f"{total:.2f}"
        lines.append(entry)
    body: dict[str, Any] = {
        "status": "processing", "set_paid": True,
        "payment_method": "tiktok_shop", "payment_method_title": "TikTok Shop",
        "transaction_id": order.id,
        "customer_note": f"TikTok Shop order {order.id}"
                         + (f" ({order.shop_name})" if order.shop_name else ""),
        "meta_data": [{"key": ORDER_META_KEY, "value": order.id}]
        + ([{"key": SHOP_META_KEY, "value": order.shop_id}] if order.shop_id else []),
        "line_items": lines,
    }
    if order.total is not None:
        body["currency"] = order.total.currency
    billing = _address(order.recipient, order.buyer_email)
    if billing:
        body["billing"] = billing
    shipping = _address(order.recipient)
    shipping.pop("phone", None)  # a shipping address takes no phone in wc/v3: billing has it
    if shipping:
        body["shipping"] = shipping
    if order.shipping_fee is not None:
        fee = _money(order.shipping_fee.amount, "shipping fee")
        body["shipping_lines"] = [{"method_id": "tiktok_shop", "method_title": "TikTok Shop",
                                   "total": f"{fee:.2f}"}]
    if order.discount is not None and _money(order.discount.amount, "discount") > 0:
        amount = _money(order.discount.amount, "discount")
        body["fee_lines"] = [{"name": "TikTok Shop discount", "total": f"{-amount:.2f}",
                              "tax_status": "none"}]
    return body


def _products(client: WooClient, order: ChannelOrder) -> dict[str, tuple[int, int]]:
    skus = [line.seller_sku for line in order.lines]
    found = {item.sku: item for item in read_skus(client, skus)}
    missing = sorted({sku for sku in skus if sku not in found})
    if missing:
        raise NotFound(f"{PLATFORM}: no product or variation with SKU "
                       f"{', '.join(map(repr, missing))}", platform=PLATFORM)
    return {sku: ((item.parent_id, item.id) if item.parent_id else (item.id, 0))
            for sku, item in found.items()}


def create_order(client: WooClient, order: ChannelOrder) -> StoreOrderRef:
    """Create the order once (see the module docstring)."""
    if not order.lines:
        raise BadRequest(f"{PLATFORM}: order {order.id} has no lines", platform=PLATFORM)
    existing = find_order(client, order)
    if existing is not None:
        return existing
    body = order_body(order, _products(client, order))

    def create() -> StoreOrderRef:
        raw = client.request("POST", "orders", json=body, idempotent=False)
        if not isinstance(raw, dict):
            raise mapping.bad("the created order is not an object")
        number = str(raw.get("number") or raw.get("id"))
        return StoreOrderRef(id=str(mapping.integer(raw.get("id"), "order id")),
                             name=f"#{number}", created=True)

    ref, _ = create_once(lambda: find_order(client, order), create, client.policy,
                         platform=PLATFORM, sleep=client.sleep, looked_up=True)
    return ref


def order_status(client: WooClient, ref: StoreOrderRef) -> StoreOrderStatus:
    """The order's state."""
    return mapping.order_status(client.get(f"orders/{_order_id(ref)}"), ref.id)


def cancel(client: WooClient, ref: StoreOrderRef, reason: str) -> StoreOrderStatus:
    """Cancel once: an order already cancelled is answered as it is; a completed or refunded
    one is refused. WooCommerce restocks a cancelled order's units itself."""
    order_id = _order_id(ref)
    current = mapping.order_status(client.get(f"orders/{order_id}"), ref.id)
    if current.cancelled:
        return current
    if current.fulfilled or current.refunded:
        raise BadRequest(f"{PLATFORM}: order {ref.id} is already "
                         f"{'completed' if current.fulfilled else 'refunded'}",
                         platform=PLATFORM, code="already_fulfilled")
    body = {"status": "cancelled",
            "meta_data": [{"key": CANCEL_META_KEY, "value": reason[:500]}]}
    # Setting a status and a meta value is idempotent: a retry after a lost answer is safe.
    answer = client.request("PUT", f"orders/{order_id}", json=body, idempotent=True)
    return mapping.order_status(answer, ref.id)


def _order_id(ref: StoreOrderRef) -> int:
    if not ref.id.isdigit():
        raise NotFound(f"{PLATFORM}: {ref.id!r} is not a WooCommerce order id",
                       platform=PLATFORM)
    return int(ref.id)
