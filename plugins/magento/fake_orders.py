"""Guest checkout and orders in the Magento fake.

The guest flow is Magento's: `POST /V1/guest-carts` answers a masked cart id (a 32-character
string); `…/items` adds a simple product (a configurable one needs its options, which this
fake does not take: `You need to choose options for your item.`); `…/shipping-information`
sets the addresses and a carrier (only `flatrate/flatrate` exists here, $5 per item);
`…/payment-information` with `checkmo` places the order and answers its entity id. A product
that cannot be sold in that quantity (no backorders, managed stock) is refused at the
`items` step (`The requested qty is not available`), as Magento's quantity validator does.

Placing an order appends a reservation of −qty per SKU on the default stock (MSI) or lowers
the stock item's quantity (legacy); cancelling gives the units back the same way (MSI's
compensating reservation). Cancel answers `true`, or `false` when the order cannot be
cancelled any more (already cancelled, or shipped), like `OrderManagementInterface::cancel`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from shelfsync.plugins.magento.fake_errors import NO_ENTITY, MagentoError, no_such
from shelfsync.plugins.magento.fake_store import Cart, MagentoStore, Order, magento_time

FLAT_RATE_PER_ITEM = 5.0
PAYMENT_METHODS = ("checkmo",)
#: What an order's address keeps of a cart address (`sales-data-order-address-interface`).
ORDER_ADDRESS_FIELDS = ("city", "company", "country_id", "email", "fax", "firstname",
                        "lastname", "middlename", "postcode", "prefix", "region",
                        "region_code", "region_id", "street", "suffix", "telephone", "vat_id")
#: The fields an orders search filters and sorts on (columns of `sales_order`).
ORDER_FIELDS = ("entity_id", "increment_id", "state", "status", "customer_email",
                "created_at", "updated_at", "store_id", "ext_order_id", "grand_total",
                "customer_is_guest")


def create_cart(store: MagentoStore) -> str:
    """A new guest cart's masked id."""
    quote_id = store.next_id()
    masked = hashlib.md5(f"quote:{quote_id}".encode(), usedforsecurity=False).hexdigest()
    store.carts[masked] = Cart(quote_id, masked)
    return masked


def _cart(store: MagentoStore, masked: str) -> Cart:
    cart = store.carts.get(masked)
    if cart is None or not cart.active:
        raise no_such("cartId", masked)
    return cart


def add_item(store: MagentoStore, masked: str, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /V1/guest-carts/{cartId}/items`."""
    cart = _cart(store, masked)
    item = body["cartItem"]
    if str(item.get("quote_id")) != masked:
        raise MagentoError(400, 'The "%1" Cart doesn\'t contain products.', [masked])
    product = store.products.get(str(item.get("sku") or ""))
    if product is None:
        raise MagentoError(404, "The product that was requested doesn't exist. Verify the "
                           "product and try again.")
    if product.type_id == "configurable":
        raise MagentoError(400, "You need to choose options for your item.")
    qty = float(item["qty"])
    if qty <= 0:
        raise MagentoError(400, "The qty value is required to update quantity.")
    already = sum(line["qty"] for line in cart.items if line["sku"] == product.sku)
    if not store.can_sell(product, already + qty):
        raise MagentoError(400, "The requested qty is not available")
    line = {"item_id": store.next_id(), "sku": product.sku, "qty": qty, "name": product.name,
            "price": product.price, "product_type": product.type_id, "quote_id": masked,
            "product_id": product.id}
    cart.items.append(line)
    return {k: v for k, v in line.items() if k != "product_id"}


def set_shipping(store: MagentoStore, masked: str, body: dict[str, Any]) -> dict[str, Any]:
    """`POST /V1/guest-carts/{cartId}/shipping-information`: payment details."""
    cart = _cart(store, masked)
    info = body["addressInformation"]
    if not cart.items:
        raise MagentoError(400, "The shipping method can't be set for an empty cart. Add an "
                           "item to cart and try again.")
    carrier, method = info["shipping_carrier_code"], info["shipping_method_code"]
    if (carrier, method) != ("flatrate", "flatrate"):
        raise MagentoError(400, "Carrier with such method not found: %1, %2", [carrier, method])
    address = info["shipping_address"]
    missing = [name for name in ("firstname", "lastname", "street", "city", "country_id",
                                 "telephone") if not address.get(name)]
    if missing:
        raise MagentoError(400, 'The shipping information was unable to be saved. Error: '
                           '"%1"', [f'"{missing[0]}" is required. Enter and try again.'])
    cart.shipping = info
    return {"payment_methods": [{"code": "checkmo", "title": "Check / Money order"}],
            "totals": _totals(store, cart)}


def _totals(store: MagentoStore, cart: Cart) -> dict[str, Any]:
    subtotal = sum(line["price"] * line["qty"] for line in cart.items)
    shipping = FLAT_RATE_PER_ITEM * sum(line["qty"] for line in cart.items)
    return {"grand_total": subtotal + shipping, "base_grand_total": subtotal + shipping,
            "subtotal": subtotal, "base_subtotal": subtotal, "shipping_amount": shipping,
            "base_shipping_amount": shipping, "base_currency_code": store.currency,
            "quote_currency_code": store.currency, "items_qty": len(cart.items), "items": [],
            "weee_tax_applied_amount": None, "total_segments": [
                {"code": "subtotal", "title": "Subtotal", "value": subtotal},
                {"code": "shipping", "title": "Shipping & Handling", "value": shipping},
                {"code": "grand_total", "title": "Grand Total", "value": subtotal + shipping}]}


def place(store: MagentoStore, masked: str, body: dict[str, Any]) -> int:
    """`POST /V1/guest-carts/{cartId}/payment-information`: the new order's entity id."""
    cart = _cart(store, masked)
    if cart.shipping is None:
        raise MagentoError(400, "The shipping method is missing. Select the shipping method "
                           "and try again.")
    if body["paymentMethod"]["method"] not in PAYMENT_METHODS:
        raise MagentoError(400, "The requested Payment Method is not available.")
    for line in cart.items:
        product = store.products[line["sku"]]
        if not store.can_sell(product, line["qty"]):
            raise MagentoError(400, "The requested qty is not available")
    totals = _totals(store, cart)
    now = magento_time(store.clock())
    order_id = store.next_id()
    address = dict(cart.shipping["shipping_address"])
    items = []
    for line in cart.items:
        items.append({
            "item_id": store.next_id(), "order_id": order_id, "sku": line["sku"],
            "name": line["name"], "product_id": line["product_id"], "product_type": "simple",
            "qty_ordered": line["qty"], "qty_canceled": 0, "qty_shipped": 0,
            "qty_invoiced": 0, "qty_refunded": 0, "price": line["price"],
            "base_price": line["price"], "row_total": line["price"] * line["qty"],
            "base_row_total": line["price"] * line["qty"], "created_at": now,
            "updated_at": now, "store_id": 1,
        })
        store.move_stock(line["sku"], -line["qty"])
    entity = {
        "entity_id": order_id, "increment_id": f"{order_id:09d}", "state": "new",
        "status": "pending", "customer_email": str(body["email"]), "customer_is_guest": 1,
        "customer_firstname": address.get("firstname"),
        "customer_lastname": address.get("lastname"), "store_id": 1,
        "base_currency_code": store.currency, "order_currency_code": store.currency,
        "global_currency_code": store.currency, "store_currency_code": store.currency,
        "grand_total": totals["grand_total"], "base_grand_total": totals["base_grand_total"],
        "subtotal": totals["subtotal"], "base_subtotal": totals["base_subtotal"],
        "shipping_amount": totals["shipping_amount"],
        "base_shipping_amount": totals["base_shipping_amount"],
        "shipping_description": "Flat Rate - Fixed", "total_item_count": len(items),
        "total_qty_ordered": sum(line["qty"] for line in cart.items), "quote_id": cart.quote_id,
        "created_at": now, "updated_at": now, "items": items,
        "billing_address": {**{k: v for k, v in dict(body.get("billingAddress") or address)
                               .items() if k in ORDER_ADDRESS_FIELDS},
                            "address_type": "billing", "parent_id": order_id},
        "payment": {"method": body["paymentMethod"]["method"], "parent_id": order_id,
                    "account_status": None, "additional_information": [], "cc_last4": None},
        "status_histories": [],
    }
    store.orders.append(Order(entity))
    cart.active = False
    return order_id


def order(store: MagentoStore, order_id: str) -> Order:
    """The order with this entity id, or Magento's 404."""
    found = next((o for o in store.orders if str(o.id) == order_id), None)
    if found is None:
        raise MagentoError(404, NO_ENTITY)
    return found


def cancel(store: MagentoStore, order_id: str) -> bool:
    """`POST /V1/orders/{id}/cancel`: whether the order was cancelled now."""
    found = order(store, order_id)
    entity = found.entity
    if entity["state"] in ("canceled", "complete", "closed") or any(
            item["qty_shipped"] for item in entity["items"]):
        return False
    for item in entity["items"]:
        left = item["qty_ordered"] - item["qty_canceled"]
        item["qty_canceled"] = item["qty_ordered"]
        store.move_stock(item["sku"], left)
    entity["state"] = entity["status"] = "canceled"
    entity["updated_at"] = magento_time(store.clock())
    return True


#: The fields a shipments search filters and sorts on.
SHIPMENT_FIELDS = ("entity_id", "order_id", "increment_id", "created_at", "updated_at")


def ship(store: MagentoStore, order_id: str, tracking: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    """The merchant ships a whole order (with a tracking number when `tracking` gives one:
    `{track_number, carrier_code?, title?}`): a shipment is recorded, MSI deducts the first
    enabled source holding each SKU and compensates the reservation; legacy stock already
    moved at placement."""
    found = order(store, order_id)
    entity = found.entity
    if entity["state"] in ("canceled", "complete", "closed"):
        raise MagentoError(400, "The order does not allow a shipment to be created.")
    now = magento_time(store.clock())
    shipment_id = store.next_id()
    shipment: dict[str, Any] = {
        "entity_id": shipment_id, "order_id": found.id, "increment_id": f"{shipment_id:09d}",
        "store_id": 1, "created_at": now, "updated_at": now, "items": [], "comments": [],
        "tracks": [], "total_qty": 0}
    if tracking and tracking.get("track_number"):
        shipment["tracks"].append({
            "entity_id": store.next_id(), "order_id": found.id, "parent_id": shipment_id,
            "track_number": str(tracking["track_number"]),
            "carrier_code": str(tracking.get("carrier_code") or "custom"),
            "title": str(tracking.get("title") or ""), "qty": None, "weight": None,
            "description": None, "created_at": now, "updated_at": now})
    for item in entity["items"]:
        qty = item["qty_ordered"] - item["qty_canceled"] - item["qty_shipped"]
        item["qty_shipped"] += qty
        shipment["items"].append({"entity_id": store.next_id(), "parent_id": shipment_id,
                                  "order_item_id": item["item_id"], "qty": qty,
                                  "sku": item["sku"], "name": item["name"],
                                  "product_id": item["product_id"], "price": item["price"]})
        shipment["total_qty"] += qty
        if not store.legacy and qty:
            source = next((s for s in store.sources if s.enabled
                           and (item["sku"], s.code) in store.source_items), None)
            if source is not None:
                store.source_items[(item["sku"], source.code)].quantity -= qty
            store.move_stock(item["sku"], qty)
    entity["state"] = entity["status"] = "complete"
    entity["updated_at"] = now
    store.shipments.append(shipment)
    return shipment


def add_comment(store: MagentoStore, order_id: str, body: dict[str, Any]) -> bool:
    """`POST /V1/orders/{id}/comments`: a status-history comment on the order."""
    found = order(store, order_id)
    history = body["statusHistory"]
    now = magento_time(store.clock())
    found.entity["status_histories"].append({
        "entity_id": store.next_id(), "parent_id": found.id, "entity_name": "order",
        "comment": str(history["comment"]), "created_at": now,
        "is_customer_notified": int(history["is_customer_notified"]),
        "is_visible_on_front": int(history["is_visible_on_front"]),
        "status": str(history.get("status") or found.entity["status"])})
    return True
