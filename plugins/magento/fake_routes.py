"""The REST routes the Magento fake serves: path pattern (after `/V1/`), ACL resource (empty
for anonymous guest routes), whether it is an MSI route (absent on a legacy store), handler.

Paths, ACL resources and answers are those of Magento 2.4.8's `webapi.xml` files and Adobe's
admin REST schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from werkzeug.wrappers import Request

from shelfsync.plugins.magento import fake_orders, fake_render
from shelfsync.plugins.magento.fake_bodies import checked_body
from shelfsync.plugins.magento.fake_errors import NO_PRODUCT, MagentoError
from shelfsync.plugins.magento.fake_search import parse_criteria, search

if TYPE_CHECKING:
    from shelfsync.plugins.magento.fake import MagentoFake

Handler = Callable[..., Any]


@dataclass(frozen=True)
class Route:
    """One REST route."""

    method: str
    pattern: re.Pattern[str]
    resource: str
    msi: bool
    handler: Handler


def _listing(fake: MagentoFake, request: Request, records: list[dict[str, Any]],
             render: Callable[[dict[str, Any]], dict[str, Any]], fields: tuple[str, ...]
             ) -> dict[str, Any]:
    criteria = parse_criteria(request.args)
    page, total = search(records, criteria, limits=fake.input_limits, fields=fields)
    return {"items": [render(r) for r in page], "search_criteria": criteria.echo(),
            "total_count": total}


def _products(fake: MagentoFake, request: Request) -> dict[str, Any]:
    store = fake.store
    records = [fake_render.product_record(p) for p in store.products.values()]
    return _listing(fake, request, records,
                    lambda r: fake_render.product(store, store.products[r["sku"]]),
                    ("entity_id", "sku", "name", "type_id", "price", "status", "visibility",
                     "created_at", "updated_at"))


def _product(fake: MagentoFake, request: Request, sku: str) -> dict[str, Any]:
    product = fake.store.products.get(unquote(sku))
    if product is None:
        raise MagentoError(404, NO_PRODUCT)
    return fake_render.product(fake.store, product)


def _children(fake: MagentoFake, request: Request, sku: str) -> list[dict[str, Any]]:
    product = fake.store.products.get(unquote(sku))
    if product is None:
        raise MagentoError(404, NO_PRODUCT)
    return [fake_render.product(fake.store, fake.store.by_id[i]) for i in product.children]


def _stock_item(fake: MagentoFake, request: Request, sku: str) -> dict[str, Any]:
    product = fake.store.products.get(unquote(sku))
    if product is None:
        raise MagentoError(404, NO_PRODUCT)
    return fake_render.stock_item(fake.store, product)


def _store_configs(fake: MagentoFake, request: Request) -> list[dict[str, Any]]:
    wanted = request.args.getlist("storeCodes[]") or request.args.getlist("storeCodes")
    configs = [fake_render.store_config(fake.store, "default", 1)]
    return [c for c in configs if not wanted or c["code"] in wanted]


def _sources(fake: MagentoFake, request: Request) -> dict[str, Any]:
    records = [fake_render.source(s) for s in fake.store.sources]
    return _listing(fake, request, records, dict, ("source_code", "name", "enabled"))


def _stocks(fake: MagentoFake, request: Request) -> dict[str, Any]:
    records = [{"stock_id": i, "name": name} for i, (name, _) in fake.store.stocks.items()]
    return _listing(fake, request, records, lambda r: fake_render.stock(fake.store,
                                                                        r["stock_id"]),
                    ("stock_id", "name"))


def _links(fake: MagentoFake, request: Request) -> dict[str, Any]:
    records = [{"link_id": n, "stock_id": stock_id, "source_code": code, "priority": p + 1}
               for n, (stock_id, code, p) in enumerate(
                   (s, c, p) for s, (_, codes) in fake.store.stocks.items()
                   for p, c in enumerate(codes))]
    return _listing(fake, request, records,
                    lambda r: {k: r[k] for k in ("sku", "stock_id", "source_code", "priority")
                               if k in r}, ("stock_id", "source_code", "priority"))


def _source_items(fake: MagentoFake, request: Request) -> dict[str, Any]:
    records = [fake_render.source_item_record(i) for i in fake.store.source_items.values()]
    return _listing(fake, request, records,
                    lambda r: {k: v for k, v in r.items() if k != "source_item_id"},
                    ("source_item_id", "sku", "source_code", "quantity", "status"))


def _save_source_items(fake: MagentoFake, request: Request) -> list[Any]:
    body = checked_body(request, "source-items", fake.input_limits)
    for item in body["sourceItems"]:
        sku, code = str(item.get("sku") or ""), str(item.get("source_code") or "")
        if sku not in fake.store.products or fake.store.source(code) is None:
            raise MagentoError(400, "Could not save Source Item")
        fake.store.add_source_item(sku, code, float(item.get("quantity") or 0),
                                   int(item.get("status") or 0))
    return []


def _salable(fake: MagentoFake, request: Request, sku: str, stock_id: str) -> float:
    store = fake.store
    product = store.products.get(unquote(sku))
    if product is None:
        raise MagentoError(404, NO_PRODUCT)
    if not stock_id.isdigit() or int(stock_id) not in store.stocks:
        raise MagentoError(404, 'Stock with id "%value" does not exist.', {"value": stock_id})
    if product.type_id == "configurable":
        raise MagentoError(400, "Can't check requested quantity for products without Source "
                           "Items support.")
    return store.salable_qty(product.sku, int(stock_id))


def _orders(fake: MagentoFake, request: Request) -> dict[str, Any]:
    orders = {o.id: o for o in fake.store.orders}
    records = [{k: o.entity.get(k) for k in fake_orders.ORDER_FIELDS} for o in orders.values()]
    return _listing(fake, request, records, lambda r: orders[r["entity_id"]].entity,
                    fake_orders.ORDER_FIELDS)


def _order(fake: MagentoFake, request: Request, order_id: str) -> dict[str, Any]:
    return fake_orders.order(fake.store, order_id).entity


def _shipments(fake: MagentoFake, request: Request) -> dict[str, Any]:
    shipments = {s["entity_id"]: s for s in fake.store.shipments}
    records = [{k: s.get(k) for k in fake_orders.SHIPMENT_FIELDS} for s in shipments.values()]
    return _listing(fake, request, records, lambda r: shipments[r["entity_id"]],
                    fake_orders.SHIPMENT_FIELDS)


def _cancel(fake: MagentoFake, request: Request, order_id: str) -> bool:
    checked_body(request, "order-cancel", fake.input_limits)
    return fake_orders.cancel(fake.store, order_id)


def _comment(fake: MagentoFake, request: Request, order_id: str) -> bool:
    body = checked_body(request, "order-comment", fake.input_limits)
    return fake_orders.add_comment(fake.store, order_id, body)


def _new_cart(fake: MagentoFake, request: Request) -> str:
    checked_body(request, "guest-carts", fake.input_limits)
    return fake_orders.create_cart(fake.store)


def _cart_item(fake: MagentoFake, request: Request, cart: str) -> dict[str, Any]:
    body = checked_body(request, "guest-cart-items", fake.input_limits)
    return fake_orders.add_item(fake.store, cart, body)


def _shipping(fake: MagentoFake, request: Request, cart: str) -> dict[str, Any]:
    body = checked_body(request, "shipping-information", fake.input_limits)
    return fake_orders.set_shipping(fake.store, cart, body)


def _payment(fake: MagentoFake, request: Request, cart: str) -> int:
    body = checked_body(request, "payment-information", fake.input_limits)
    return fake_orders.place(fake.store, cart, body)


_SEGMENT = r"([^/]+)"


def _r(method: str, path: str, resource: str, handler: Handler, msi: bool = False) -> Route:
    return Route(method, re.compile(path.replace("{}", _SEGMENT)), resource, msi, handler)


ROUTES: tuple[Route, ...] = (
    _r("GET", "store/storeConfigs", "Magento_Backend::store", _store_configs),
    _r("GET", "products", "Magento_Catalog::products", _products),
    _r("GET", "products/{}", "Magento_Catalog::products", _product),
    _r("GET", "configurable-products/{}/children", "Magento_Catalog::products", _children),
    _r("GET", "stockItems/{}", "Magento_CatalogInventory::cataloginventory", _stock_item),
    _r("GET", "inventory/sources", "Magento_InventoryApi::source", _sources, msi=True),
    _r("GET", "inventory/stocks", "Magento_InventoryApi::stock", _stocks, msi=True),
    _r("GET", "inventory/stock-source-links", "Magento_InventoryApi::stock", _links, msi=True),
    _r("GET", "inventory/source-items", "Magento_InventoryApi::source", _source_items,
       msi=True),
    _r("POST", "inventory/source-items", "Magento_InventoryApi::source_item_save",
       _save_source_items, msi=True),
    _r("GET", "inventory/get-product-salable-quantity/{}/{}", "Magento_InventoryApi::stock",
       _salable, msi=True),
    _r("GET", "orders", "Magento_Sales::actions_view", _orders),
    _r("GET", "orders/{}", "Magento_Sales::actions_view", _order),
    _r("POST", "orders/{}/cancel", "Magento_Sales::cancel", _cancel),
    _r("POST", "orders/{}/comments", "Magento_Sales::comment", _comment),
    _r("GET", "shipments", "Magento_Sales::shipment", _shipments),
    _r("POST", "guest-carts", "", _new_cart),
    _r("POST", "guest-carts/{}/items", "", _cart_item),
    _r("POST", "guest-carts/{}/shipping-information", "", _shipping),
    _r("POST", "guest-carts/{}/payment-information", "", _payment),
)
