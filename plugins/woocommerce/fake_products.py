"""The fake's product, variation, batch and settings routes (`/wp-json/wc/v3/...`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import json_response
from shelfsync.plugins.woocommerce import fake_fields as fields
from shelfsync.plugins.woocommerce import fake_json as render
from shelfsync.plugins.woocommerce.fake_query import (
    date_filters,
    id_list,
    ordered,
    page_of,
)
from shelfsync.plugins.woocommerce.fake_store import BACKORDERS, MAX_QUANTITY, Product

if TYPE_CHECKING:
    from shelfsync.plugins.woocommerce.fake import WooCommerceFake

#: `woocommerce_rest_batch_items_limit`'s default: create + update + delete together.
BATCH_LIMIT = 100
_ORDER_KEYS: dict[str, Any] = {
    "date": lambda p: p.created, "id": lambda p: p.id, "modified": lambda p: p.modified,
    "title": lambda p: p.name, "slug": lambda p: f"product-{p.id}", "include": lambda p: p.id,
}


def invalid_id(kind: str = "product") -> Response:
    """WooCommerce's answer for an id that names nothing."""
    return render.error(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", 404)


def list_products(fake: WooCommerceFake, request: Request) -> Response:
    """`GET /products`: top-level products; with `sku`, variations too (WooCommerce widens
    the post types to product and product_variation for a SKU look-up)."""
    args = request.args
    store = fake.store
    keep = date_filters(args, lambda p: p.created, lambda p: p.modified)
    skus = {s.strip() for s in (args.get("sku") or "").split(",") if s.strip()}
    include = id_list(args, "include")
    wanted_type = args.get("type")
    items = [
        p for p in store.products.values()
        if (p.sku in skus if skus else p.type != "variation")
        and (include is None or p.id in include)
        and (not wanted_type or p.type == wanted_type)
        and keep(p)
    ]
    items = ordered(items, args, _ORDER_KEYS)
    return page_of(items, args, fake.api_url(request, "products"),
                   lambda p: render.product(store, p, fake.site_url))


def get_product(fake: WooCommerceFake, request: Request, product_id: int) -> Response:
    """`GET /products/{id}` (a variation's id answers the variation, type `variation`)."""
    item = fake.store.products.get(product_id)
    if item is None:
        return invalid_id()
    return json_response(render.product(fake.store, item, fake.site_url))


def list_variations(fake: WooCommerceFake, request: Request, product_id: int) -> Response:
    """`GET /products/{id}/variations`."""
    store = fake.store
    parent = store.products.get(product_id)
    if parent is None or parent.type == "variation":
        return invalid_id()
    keep = date_filters(request.args, lambda p: p.created, lambda p: p.modified)
    skus = {s.strip() for s in (request.args.get("sku") or "").split(",") if s.strip()}
    items = [store.products[v] for v in parent.variations if v in store.products]
    items = [v for v in items if keep(v) and (not skus or v.sku in skus)]
    items = ordered(items, request.args, _ORDER_KEYS)
    return page_of(items, request.args, fake.api_url(request, f"products/{product_id}/variations"),
                   lambda v: render.variation(store, v, fake.site_url))


def get_variation(fake: WooCommerceFake, request: Request, product_id: int,
                  variation_id: int) -> Response:
    """`GET /products/{id}/variations/{variation_id}`."""
    item = fake.store.products.get(variation_id)
    if item is None or item.parent_id != product_id:
        return invalid_id("product_variation")
    return json_response(render.variation(fake.store, item, fake.site_url))


def update_product(fake: WooCommerceFake, request: Request, product_id: int,
                   body: Mapping[str, Any], *, variation_of: int | None = None) -> Response:
    """`PUT /products/{id}` or `/products/{pid}/variations/{id}`: the stock fields and price."""
    store = fake.store
    item = store.products.get(product_id)
    if item is None or (variation_of is not None and item.parent_id != variation_of):
        return invalid_id("product_variation" if variation_of is not None else "product")
    allowed = fields.VARIATION if item.type == "variation" else fields.PRODUCT
    fake.record_dropped(request, fields.dropped(body, allowed))
    problem = apply_stock_fields(item, body)
    if problem is not None:
        return problem
    store.touch(item)
    fake.deliver("product.updated", render.product(store, item, fake.site_url))
    if variation_of is not None:
        return json_response(render.variation(store, item, fake.site_url))
    return json_response(render.product(store, item, fake.site_url))


def apply_stock_fields(item: Product, body: Mapping[str, Any]) -> Response | None:
    """Apply the writable stock and price fields; an error response for a bad value."""
    if "backorders" in body and body["backorders"] not in BACKORDERS:
        return render.error("rest_invalid_param", "Invalid parameter(s): backorders", 400,
                            params={"backorders": "backorders is not one of no, notify, "
                                                  "and yes."})
    if "manage_stock" in body:
        item.manage_stock = bool(body["manage_stock"])
    if "backorders" in body:
        item.backorders = str(body["backorders"])
    if "stock_quantity" in body and item.manage_stock:
        quantity = body["stock_quantity"]
        if isinstance(quantity, bool) or not isinstance(quantity, int) \
                or abs(quantity) > MAX_QUANTITY:
            return render.error("rest_invalid_param", "Invalid parameter(s): stock_quantity",
                                400, params={"stock_quantity": "stock_quantity is not of "
                                                               "type integer."})
        item.stock_quantity = quantity
    if not item.manage_stock:
        item.stock_quantity = None
    if "regular_price" in body:
        item.regular_price = str(body["regular_price"])
    if "sku" in body:
        item.sku = str(body["sku"])
    return None


def batch(fake: WooCommerceFake, request: Request, body: Mapping[str, Any],
          parent_id: int | None = None) -> Response:
    """`POST /products/batch` and `/products/{id}/variations/batch`: updates and deletes,
    at most 100 items in all, each answered in place (an error item does not stop the rest)."""
    groups = {name: body.get(name) or [] for name in ("create", "update", "delete")}
    if not all(isinstance(group, list) for group in groups.values()):
        return render.error("rest_invalid_param", "Invalid parameter(s): update", 400)
    if sum(len(group) for group in groups.values()) > BATCH_LIMIT:
        return render.error("woocommerce_rest_request_entity_too_large",
                            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                            413)
    store = fake.store
    answer: dict[str, list[Any]] = {}
    if groups["create"]:
        answer["create"] = [{"id": 0, "error": {
            "code": "woocommerce_rest_cannot_create",
            "message": "The fake does not create products.", "data": {"status": 400}}}
            for _ in groups["create"]]
    updated = []
    for entry in groups["update"]:
        item = store.products.get(int(entry.get("id") or 0)) if isinstance(entry, dict) else None
        if item is None or (parent_id is not None and item.parent_id != parent_id):
            updated.append({"id": entry.get("id") if isinstance(entry, dict) else 0,
                            "error": {"code": "woocommerce_rest_product_invalid_id",
                                      "message": "Invalid ID.", "data": {"status": 400}}})
            continue
        allowed = fields.VARIATION if item.type == "variation" else fields.PRODUCT
        fake.record_dropped(request, fields.dropped(entry, allowed, "update[]."))
        problem = apply_stock_fields(item, entry)
        if problem is not None:
            updated.append({"id": item.id, "error": {"code": "rest_invalid_param",
                                                     "message": "Invalid parameter(s)",
                                                     "data": {"status": 400}}})
            continue
        store.touch(item)
        fake.deliver("product.updated", render.product(store, item, fake.site_url))
        updated.append(render.variation(store, item, fake.site_url) if parent_id is not None
                       else render.product(store, item, fake.site_url))
    if groups["update"]:
        answer["update"] = updated
    if groups["delete"]:
        answer["delete"] = [_delete(fake, raw) for raw in groups["delete"]]
    return json_response(answer)


def _delete(fake: WooCommerceFake, raw: Any) -> dict[str, Any]:
    store = fake.store
    item = store.products.get(int(raw)) if isinstance(raw, int | str) and str(raw).isdigit() \
        else None
    if item is None:
        return {"id": raw, "error": {"code": "woocommerce_rest_product_invalid_id",
                                     "message": "Invalid ID.", "data": {"status": 404}}}
    shown = render.product(store, item, fake.site_url)
    for child in item.variations:
        store.products.pop(child, None)
    parent = store.parent_of(item)
    if parent is not None and item.id in parent.variations:
        parent.variations.remove(item.id)
    del store.products[item.id]
    fake.deliver("product.deleted", {"id": item.id})
    return shown


def currency(fake: WooCommerceFake, request: Request) -> Response:
    """`GET /settings/general/woocommerce_currency`."""
    return json_response(render.currency_setting(fake.store.currency))


def general_settings(fake: WooCommerceFake, request: Request) -> Response:
    """`GET /settings/general` (the fake holds the currency only)."""
    return json_response([render.currency_setting(fake.store.currency)])
