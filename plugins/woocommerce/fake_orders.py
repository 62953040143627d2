"""The fake's order routes: list (no search by meta data, as in wc/v3), read, create, update.

Creating an order that is paid (`set_paid`, or status `processing`/`completed`/`on-hold`)
reduces the stock of its lines (wc_maybe_reduce_stock_levels), which moves the modification
date of each stock owner but sends no product webhook; cancelling it gives the stock back
(wc_maybe_increase_stock_levels). Both send `order.created`/`order.updated`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.woocommerce import fake_fields as fields
from shelfsync.plugins.woocommerce import fake_json as render
from shelfsync.plugins.woocommerce.fake_products import BATCH_LIMIT
from shelfsync.plugins.woocommerce.fake_query import date_filters, id_list, ordered, page_of
from shelfsync.plugins.woocommerce.fake_store import LineItem, Order, wp_date

if TYPE_CHECKING:
    from shelfsync.plugins.woocommerce.fake import WooCommerceFake

STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded",
            "failed", "checkout-draft")
_PAID = ("processing", "completed", "on-hold")
_ORDER_KEYS: dict[str, Any] = {
    "date": lambda o: o.created, "id": lambda o: o.id, "modified": lambda o: o.modified,
    "include": lambda o: o.id, "title": lambda o: o.id, "slug": lambda o: o.id,
}


def invalid_order() -> Response:
    """The answer for an order id that names nothing."""
    return render.error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)


def list_orders(fake: WooCommerceFake, request: Request) -> Response:
    """`GET /orders`: filters by date, status, ids and a text search over the billing name
    and e-mail — never by meta data, which wc/v3 cannot search."""
    args = request.args
    keep = date_filters(args, lambda o: o.created, lambda o: o.modified)
    statuses = [s for value in args.getlist("status") + args.getlist("status[]")
                for s in value.split(",") if s]
    include = id_list(args, "include")
    search = (args.get("search") or "").lower()
    items = [
        o for o in fake.store.orders.values()
        if keep(o)
        and (not statuses or "any" in statuses or o.status in statuses)
        and (include is None or o.id in include)
        and (not search or search in " ".join(
            (str(o.id), o.billing.get("first_name", ""), o.billing.get("last_name", ""),
             o.billing.get("email", ""))).lower())
    ]
    items = ordered(items, args, _ORDER_KEYS)
    return page_of(items, args, fake.api_url(request, "orders"), render.order)


def get_order(fake: WooCommerceFake, request: Request, order_id: int) -> Response:
    """`GET /orders/{id}`."""
    order = fake.store.orders.get(order_id)
    return invalid_order() if order is None else json_response(render.order(order))


def _bad(code: str, message: str) -> Response:
    return render.error(code, message, 400)


def _meta(fake: WooCommerceFake, raw: Any) -> list[dict[str, Any]]:
    return [{"id": fake.store.next_meta_id(), "key": str(m.get("key", "")),
             "value": m.get("value")} for m in raw or [] if isinstance(m, Mapping)]


def _lines(fake: WooCommerceFake, raw: Any) -> list[LineItem] | Response:
    store = fake.store
    lines: list[LineItem] = []
    if not isinstance(raw, list):
        return _bad("rest_invalid_param", "Invalid parameter(s): line_items")
    for entry in raw:
        if not isinstance(entry, Mapping):
            return _bad("rest_invalid_param", "Invalid parameter(s): line_items")
        if entry.get("sku"):
            item = store.by_sku(str(entry["sku"]))
        else:
            item = store.products.get(int(entry.get("variation_id") or 0)) \
                or store.products.get(int(entry.get("product_id") or 0))
        if not (entry.get("sku") or entry.get("product_id") or entry.get("variation_id")):
            return _bad("woocommerce_rest_required_product_reference",
                        "Product ID or SKU is required.")
        if item is None or item.type == "variable":
            return _bad("woocommerce_rest_invalid_product_id", "Product ID provided is invalid.")
        quantity = entry.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            return _bad("woocommerce_rest_invalid_product_quantity",
                        "Product quantity must be a positive float.")
        unit = float(item.regular_price or 0)
        subtotal = str(entry.get("subtotal") or f"{unit * quantity:.2f}")
        total = str(entry.get("total") or subtotal)
        variation = item.type == "variation"
        lines.append(LineItem(
            id=store.next_meta_id(), product_id=item.parent_id if variation else item.id,
            variation_id=item.id if variation else 0, name=str(entry.get("name") or item.name),
            sku=item.sku, quantity=quantity, subtotal=subtotal, total=total,
            price=float(total) / quantity, meta=_meta(fake, entry.get("meta_data"))))
    return lines


def create_order(fake: WooCommerceFake, request: Request, body: Mapping[str, Any],
                 *, created_via: str = "rest-api", webhooks: bool = True) -> Response:
    """`POST /orders`: 201 with the order and a `Location` header."""
    fake.record_dropped(request, fields.dropped_in_order(body))
    store = fake.store
    status = str(body.get("status") or "pending")
    if status not in STATUSES:
        return _bad("rest_invalid_param", "Invalid parameter(s): status")
    lines = _lines(fake, body.get("line_items") or [])
    if isinstance(lines, Response):
        return lines
    now = store.now()
    paid = bool(body.get("set_paid"))
    if paid and status == "pending":
        status = "processing"
    order = Order(
        id=store.next_id(), status=status, currency=str(body.get("currency") or store.currency),
        created=now, modified=now, lines=lines, meta=_meta(fake, body.get("meta_data")),
        billing={k: str(v) for k, v in dict(body.get("billing") or {}).items()
                 if k in fields.ADDRESS},
        shipping={k: str(v) for k, v in dict(body.get("shipping") or {}).items()
                  if k in fields.SHIPPING_ADDRESS},
        shipping_lines=[_shipping_line(fake, s) for s in body.get("shipping_lines") or []
                        if isinstance(s, Mapping)],
        fee_lines=[_fee_line(fake, f) for f in body.get("fee_lines") or []
                   if isinstance(f, Mapping)],
        customer_note=str(body.get("customer_note") or ""),
        payment_method=str(body.get("payment_method") or ""),
        payment_method_title=str(body.get("payment_method_title") or ""),
        transaction_id=str(body.get("transaction_id") or ""),
        date_paid=now if paid or status in ("processing", "completed") else None,
        created_via=created_via, order_key=f"wc_order_{secrets.token_hex(6)}",
    )
    store.orders[order.id] = order
    if status in _PAID:
        _reduce_stock(fake, order)
    if webhooks:
        fake.deliver("order.created", render.order(order))
    location = fake.api_url(request, f"orders/{order.id}")
    return json_response(render.order(order), 201, {"Location": location})


def _shipping_line(fake: WooCommerceFake, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": fake.store.next_meta_id(), "method_title": str(raw.get("method_title", "")),
            "method_id": str(raw.get("method_id", "")), "instance_id": "",
            "total": str(raw.get("total") or "0.00"), "total_tax": "0.00", "taxes": [],
            "meta_data": []}


def _fee_line(fake: WooCommerceFake, raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": fake.store.next_meta_id(), "name": str(raw.get("name", "")),
            "tax_class": "", "tax_status": str(raw.get("tax_status") or "taxable"),
            "total": str(raw.get("total") or "0.00"),
            "total_tax": "0.00", "taxes": [], "meta_data": []}


def _reduce_stock(fake: WooCommerceFake, order: Order) -> None:
    for line in order.lines:
        item = fake.store.products.get(line.variation_id or line.product_id)
        if item is None:
            continue
        owner = fake.store.move_stock(item, -line.quantity)
        line.stock_owner = owner.id if owner is not None else 0
    order.stock_reduced = True


def _restock(fake: WooCommerceFake, order: Order) -> None:
    for line in order.lines:
        owner = fake.store.products.get(line.stock_owner)
        if owner is not None and owner.manage_stock:
            owner.stock_quantity = (owner.stock_quantity or 0) + line.quantity
            fake.store.touch(owner)
    order.stock_reduced = False


def update_order(fake: WooCommerceFake, request: Request, order_id: int,
                 body: Mapping[str, Any]) -> Response:
    """`PUT /orders/{id}`: status (a cancellation restocks), notes to customer, meta data."""
    fake.record_dropped(request, fields.dropped_in_order(body))
    order = fake.store.orders.get(order_id)
    if order is None:
        return invalid_order()
    status = body.get("status")
    if status is not None and status not in STATUSES:
        return _bad("rest_invalid_param", "Invalid parameter(s): status")
    if status is not None and status != order.status:
        if status in ("cancelled", "refunded") and order.stock_reduced:
            _restock(fake, order)
        elif status in _PAID and not order.stock_reduced:
            _reduce_stock(fake, order)
        order.status = str(status)
    if "customer_note" in body:
        order.customer_note = str(body["customer_note"])
    for entry in _meta(fake, body.get("meta_data")):
        # update_meta_data: a key already present is updated, not added twice.
        same = next((m for m in order.meta if m["key"] == entry["key"]), None)
        if same is None:
            order.meta.append(entry)
        else:
            same["value"] = entry["value"]
    order.modified = fake.store.now()
    fake.deliver("order.updated", render.order(order))
    return json_response(render.order(order))


def add_note(fake: WooCommerceFake, request: Request, order_id: int,
             body: Mapping[str, Any]) -> Response:
    """`POST /orders/{id}/notes`."""
    fake.record_dropped(request, fields.dropped(body, fields.ORDER_NOTE))
    order = fake.store.orders.get(order_id)
    if order is None:
        return invalid_order()
    note = body.get("note")
    if not isinstance(note, str) or not note:
        return render.error("rest_missing_callback_param", "Missing parameter(s): note", 400,
                            params=["note"])
    order.notes.append(note)
    now = fake.store.now()
    return json_response({"id": fake.store.next_meta_id(), "author": "WooCommerce",
                          "date_created": wp_date(now), "date_created_gmt": wp_date(now),
                          "note": note, "customer_note": bool(body.get("customer_note")),
                          }, 201)


def batch(fake: WooCommerceFake, request: Request, body: Mapping[str, Any]) -> Response:
    """`POST /orders/batch`: status updates, at most 100 items in all (create and delete are
    refused per item: Shelfsync creates orders one at a time, with its look-up first)."""
    groups = {name: body.get(name) or [] for name in ("create", "update", "delete")}
    if not all(isinstance(group, list) for group in groups.values()):
        return _bad("rest_invalid_param", "Invalid parameter(s): update")
    if sum(len(group) for group in groups.values()) > BATCH_LIMIT:
        return render.error("woocommerce_rest_request_entity_too_large",
                            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                            413)
    answer: dict[str, list[Any]] = {}
    refused = {"code": "woocommerce_rest_cannot_create", "message": "The fake creates and "
               "deletes orders one at a time.", "data": {"status": 400}}
    for name in ("create", "delete"):
        if groups[name]:
            answer[name] = [{"id": 0, "error": refused} for _ in groups[name]]
    updated = []
    for entry in groups["update"]:
        order_id = int(entry.get("id") or 0) if isinstance(entry, Mapping) else 0
        response = update_order(fake, request, order_id, entry) if order_id else \
            invalid_order()
        payload = response.get_json()
        updated.append(payload if response.status_code == 200 else
                       {"id": order_id, "error": payload})
    if groups["update"]:
        answer["update"] = updated
    return json_response(answer)
