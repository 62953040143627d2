"""Store orders in Magento: created once through the guest checkout, read, cancelled.

Why the guest checkout (`/V1/guest-carts/…`) and not the admin `POST /V1/orders`: the
checkout places the order through Magento's own quote and order-placement services, so MSI
appends its reservations (the salable quantity drops at once, as for any web order), totals,
taxes and the order number come from Magento, and the order shows in the admin like any
other. `POST /V1/orders` saves an order entity as given, bypassing the placement that makes
reservations.

The channel order id must be on the order where a search finds it, within the one call that
places it (a second call to tag it could be lost). The guest email is that place: the order
is placed as `tiktok-order-<id>@<order_email_domain>`, and `sales_order.customer_email` is
searchable (`GET /V1/orders?…[field]=customer_email…[conditionType]=eq`). The order is looked
up before every attempt (`create_once`), so a placement whose answer was lost is found, not
repeated; an earlier step whose answer was lost only leaves an abandoned cart.
"""

from __future__ import annotations

import logging
from typing import Any

from shelfsync.core.errors import BadRequest, BadResponse, NotFound, PluginError
from shelfsync.core.rest import create_once
from shelfsync.core.types import ChannelOrder, StoreOrderRef, StoreOrderStatus
from shelfsync.plugins.magento import settings
from shelfsync.plugins.magento.client import PLATFORM, MagentoClient

ORDER_EMAIL_PREFIX = "tiktok-order-"
log = logging.getLogger(__name__)


def order_email(client: MagentoClient, order_id: str) -> str:
    """The guest email that carries the channel order id."""
    domain = settings.ORDER_EMAIL_DOMAIN.read(client.connection.settings)
    local = "".join(c if c.isalnum() or c in "-_." else "_" for c in order_id)
    return f"{ORDER_EMAIL_PREFIX}{local}@{domain}"


def _ref(order: dict[str, Any]) -> StoreOrderRef:
    if not isinstance(order.get("entity_id"), int):
        raise BadResponse("magento: an order lacks its entity_id", platform=PLATFORM)
    return StoreOrderRef(id=str(order["entity_id"]), name=str(order.get("increment_id") or ""),
                         created=False)


def _placed(client: MagentoClient, order_id: str) -> dict[str, Any] | None:
    """The store order placed for channel order `order_id`, if any (the oldest)."""
    email = order_email(client, order_id)
    for page in client.search_pages("orders", [[("customer_email", email, "eq")]],
                                    [("entity_id", "ASC")], page_size=1):
        return page[0] if page else None
    return None


def find_order(client: MagentoClient, order_id: str) -> StoreOrderRef | None:
    """The store order placed for channel order `order_id`, if any."""
    entity = _placed(client, order_id)
    return None if entity is None else _ref(entity)


def _found(client: MagentoClient, order: ChannelOrder) -> StoreOrderRef | None:
    """`find_order`, adding the merchant's note when the placement that made the order lost
    its answer before the note was written."""
    entity = _placed(client, order.id)
    if entity is None:
        return None
    ref = _ref(entity)
    notes = [h.get("comment") for h in entity.get("status_histories") or []
             if isinstance(h, dict)]
    if not any(str(note).startswith(_note_text(order)[:40]) for note in notes):
        _note(client, ref.id, order)
    return ref


def _address(order: ChannelOrder, email: str) -> dict[str, Any]:
    recipient = order.recipient
    name = (recipient.name if recipient else "") or order.buyer_name or "TikTok Buyer"
    first, _, last = name.strip().partition(" ")
    lines = [line for line in (recipient.lines if recipient else ()) if line][:4]
    address: dict[str, Any] = {
        "firstname": first or "TikTok", "lastname": last or "Buyer",
        "street": lines or ["(no street given by the channel)"],
        "city": (recipient.city if recipient else "") or "-",
        "postcode": (recipient.postal_code if recipient else "") or "-",
        "country_id": (recipient.country_code if recipient else "") or "US",
        "telephone": (recipient.phone if recipient else "") or "0000000000",
        "email": email,
    }
    # Adobe's schema marks all three region fields required; region_id 0 lets Magento
    # resolve the region from its code or name (TikTok gives a name, or a state code).
    region = (recipient.region if recipient else "") or ""
    address.update(region=region, region_id=0,
                   region_code=region.upper() if len(region) in (2, 3) else "")
    return address


def _place(client: MagentoClient, order: ChannelOrder) -> StoreOrderRef:
    conn = client.connection.settings
    email = order_email(client, order.id)
    cart = client.call("POST", "guest-carts", body={})
    if not isinstance(cart, str) or not cart:
        raise BadResponse("magento: guest-carts answered no cart id", platform=PLATFORM)
    for line in order.lines:
        client.call("POST", f"guest-carts/{cart}/items", body={"cartItem": {
            "sku": line.seller_sku, "qty": line.quantity, "quote_id": cart}})
    address = _address(order, email)
    client.call("POST", f"guest-carts/{cart}/shipping-information", body={
        "addressInformation": {
            "shipping_address": address, "billing_address": address,
            "shipping_carrier_code": settings.SHIPPING_CARRIER.read(conn),
            "shipping_method_code": settings.SHIPPING_METHOD.read(conn)}})
    placed = client.call("POST", f"guest-carts/{cart}/payment-information", body={
        "email": email, "paymentMethod": {"method": settings.PAYMENT_METHOD.read(conn)},
        "billingAddress": address})
    if isinstance(placed, bool) or not isinstance(placed, int | str) or not str(placed).isdigit():
        raise BadResponse("magento: payment-information answered no order id",
                          platform=PLATFORM)
    _note(client, str(placed), order)
    entity = client.call("GET", f"orders/{placed}")
    return StoreOrderRef(id=str(placed), name=str((entity or {}).get("increment_id") or ""),
                         created=True)


def _note_text(order: ChannelOrder) -> str:
    shop = f" in {order.shop_name}" if order.shop_name else ""
    return f"TikTok Shop order {order.id}{shop} (placed by Shelfsync)."


def _note(client: MagentoClient, order_id: str, order: ChannelOrder) -> None:
    """Say on the order, for the merchant, where it was sold. Best effort: the order exists
    and carries its TikTok id already, so a refused comment is logged, never retried into a
    second order."""
    comment = _note_text(order)
    try:
        client.call("POST", f"orders/{order_id}/comments", body={"statusHistory": {
            "comment": comment, "is_customer_notified": 0, "is_visible_on_front": 0,
            "parent_id": int(order_id)}})
    except PluginError as exc:
        log.warning("magento: order %s was placed, but its comment was refused: %s",
                    order_id, exc.message)


def create_order(client: MagentoClient, order: ChannelOrder) -> StoreOrderRef:
    """Place the order once (see the module docstring)."""
    for line in order.lines:
        if line.quantity < 1 or not line.seller_sku:
            raise BadRequest(f"magento: order {order.id} has a line without SKU or quantity",
                             platform=PLATFORM)
    ref, _ = create_once(lambda: _found(client, order), lambda: _place(client, order),
                         client.policy, platform=PLATFORM, sleep=client.sleep)
    return ref


def order_status(client: MagentoClient, order_ref: StoreOrderRef) -> StoreOrderStatus:
    """Cancelled (state `canceled`), fulfilled (every unit not cancelled has shipped) and
    refunded (state `closed` or money refunded) from the order entity."""
    if not order_ref.id.isdigit():
        raise NotFound(f"magento: {order_ref.id!r} is not an order id", platform=PLATFORM)
    entity = client.call("GET", f"orders/{order_ref.id}")
    if not isinstance(entity, dict) or not isinstance(entity.get("items"), list):
        raise BadResponse("magento: an order came without its items", platform=PLATFORM)
    state = entity.get("state")
    lines = [i for i in entity["items"] if isinstance(i, dict) and not i.get("parent_item_id")]
    due = [_qty(i, "qty_ordered") - _qty(i, "qty_canceled") for i in lines]
    shipped = [_qty(i, "qty_shipped") for i in lines]
    fulfilled = state == "complete" or (any(d > 0 for d in due) and all(
        s >= d for s, d in zip(shipped, due, strict=True)))
    number, carrier = _tracking(client, order_ref.id) if fulfilled else ("", "")
    return StoreOrderStatus(
        id=order_ref.id, cancelled=state == "canceled", fulfilled=fulfilled,
        refunded=state == "closed" or _qty(entity, "total_refunded") > 0,
        tracking_number=number, carrier=carrier)


def _qty(entity: dict[str, Any], name: str) -> float:
    """A number of an order answer (missing or null: 0); anything else is a bad answer."""
    value = entity.get(name)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadResponse(f"magento: an order's {name} is {value!r:.40}", platform=PLATFORM)
    try:
        return float(value)
    except ValueError:
        raise BadResponse(f"magento: an order's {name} is {value!r:.40}",
                          platform=PLATFORM) from None


def _tracking(client: MagentoClient, order_id: str) -> tuple[str, str]:
    """The newest tracking number of the order's shipments and its carrier's title (or
    code); empty when it shipped without one."""
    tracks = [track for page in client.search_pages(
        "shipments", [[("order_id", order_id, "eq")]], [("entity_id", "DESC")])
        for shipment in page for track in shipment.get("tracks") or []
        if isinstance(track, dict) and track.get("track_number")]
    if not tracks:
        return "", ""
    track = tracks[0]
    return str(track["track_number"]), str(track.get("title") or track.get("carrier_code")
                                           or "")


def cancel_order(client: MagentoClient, order_ref: StoreOrderRef) -> StoreOrderStatus:
    """Cancel once: an order already cancelled answers its status; one Magento will not
    cancel (shipped, closed) is refused."""
    status = order_status(client, order_ref)
    if status.cancelled:
        return status
    client.call("POST", f"orders/{order_ref.id}/cancel", body={})
    after = order_status(client, order_ref)
    if not after.cancelled:
        raise BadRequest(f"magento: order {order_ref.id} cannot be cancelled (shipped or "
                         "closed)", platform=PLATFORM)
    return after
