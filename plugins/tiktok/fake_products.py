"""Product endpoints of the TikTok Shop fake: search, detail, inventory search and update.

Field names follow `lywzx/tiktok-partner-api` (`products/SearchProducts.ts`, `GetProduct.ts`,
`InventorySearch.ts`, `UpdateInventory.ts`); per-SKU error codes follow the Error Code tables
of TikTok's update-inventory, get-product and search-products pages. `/product/202309/`,
`202312/` and `202502/products/search` answer with the same schema here (202502's sample adds
fields such as `listing_quality_tier` that the fake leaves out), 202502 with its `sku_ids`
filter.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shelfsync.plugins.tiktok.fake_gateway import ApiError, invalid_param, type_error
from shelfsync.plugins.tiktok.fake_state import (
    LIVE_STATUS,
    PRODUCT_STATUSES,
    SALES_WAREHOUSE,
    Product,
    Shop,
    Sku,
)

PRODUCT_NOT_FOUND = 12019150
NOT_YOUR_PRODUCT = 12052048
SKU_NOT_IN_PRODUCT = 12052557
SKU_ID_REQUIRED = 12052036
DUPLICATE_SKU = 12052553
NOT_LIVE = 12052901
CHECK_FAILED = 12052990
BAD_INPUT = 12052910
MULTIPLE_WAREHOUSES = 12019028
WAREHOUSE_NOT_FOUND = 12052097
NOT_SALES_WAREHOUSE = 12052532
DUPLICATE_WAREHOUSE = 12052555
QUANTITY_OUT_OF_RANGE = 12052055
BAD_STOCK_COUNT = 12019024
TOO_MANY_SELLER_SKUS = 12019027
TOO_MANY_SEARCH_SKU_IDS = 12019087
TOO_MANY_SKU_IDS = 12019015
TOO_MANY_PRODUCT_IDS = 12019120
MAX_SELLER_SKUS = 10  # documented for search-products-202502; applied to every version here
MAX_SEARCH_SKU_IDS = 10  # search-products-202502's `sku_ids` (a 202502 field)


def page_size(query: Mapping[str, str]) -> int:
    """The required `page_size` query parameter, 1–100."""
    raw = query.get("page_size", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise invalid_param("Invalid param. `page_size` is required and must be 1 to 100.")
    return int(raw)


def encode_token(position: Any, fingerprint: str) -> str:
    """An opaque page token: where the last page ended, bound to the filters used."""
    raw = json.dumps({"p": position, "f": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str, fingerprint: str) -> Any:
    """The position saved in a page token; tokens of other searches are refused."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if payload["f"] != fingerprint:
            raise ValueError("page token of another search")
        return payload["p"]
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid_param("Invalid param. `page_token` is invalid.") from exc


def fingerprint(*parts: Any) -> str:
    """A short digest of a search's filters."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:12]


def time_bound(body: Mapping[str, Any], name: str) -> int | None:
    """A search body's Unix-time filter (`create_time_ge` …): an int64 (else TikTok's type
    error), and not negative."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(name, value, "int64")
    if value < 0:
        raise invalid_param(f"Invalid param. `{name}` must be a Unix timestamp.")
    return value


def price(shop: Shop, sku: Sku) -> dict[str, str]:
    """A SKU's `price` object."""
    net = (Decimal(sku.price) / Decimal(shop.vat_divisor)).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    return {"currency": shop.currency, "sale_price": sku.price, "tax_exclusive_price": str(net)}


def sku_to_api(shop: Shop, sku: Sku, detail: bool = False) -> dict[str, Any]:
    """A product's `skus[]` entry with its current per-warehouse quantities."""
    item: dict[str, Any] = {
        "id": sku.id,
        "seller_sku": sku.seller_sku,
        "price": price(shop, sku),
        "inventory": [{"warehouse_id": w, "quantity": q} for w, q in sku.available.items()],
    }
    if detail:
        item["sales_attributes"] = [
            {"id": "100000", "name": "Variant", "value_id": sku.id[-7:], "value_name": sku.option}
        ]
        item["external_sku_id"] = ""
    return item


def product_to_api(shop: Shop, product: Product, detail: bool = False) -> dict[str, Any]:
    """A product as search (or, with `detail`, Get Product) returns it."""
    item: dict[str, Any] = {
        "id": product.id,
        "title": product.title,
        "status": product.status,
        "skus": [sku_to_api(shop, s, detail) for s in product.skus],
        "create_time": product.create_time,
        "update_time": product.update_time,
        "is_not_for_sale": False,
    }
    if detail:
        item["description"] = f"<p>{product.title}</p>"
    else:  # Search Products has `sales_regions`; Get Product's schema has no such field
        item["sales_regions"] = [shop.region]
    return item


def search_products(shop: Shop, query: Mapping[str, str], body: Mapping[str, Any],
                    version: str = "202309") -> dict:
    """Search Products: filters, keyset pagination over product ids.

    Version 202502 adds the `sku_ids` filter; earlier versions ignore that field."""
    size = page_size(query)
    status = body.get("status") or "ALL"
    if status != "ALL" and status not in PRODUCT_STATUSES:
        raise invalid_param("Invalid param. `status` is invalid.")
    seller_skus = body.get("seller_skus")
    if seller_skus is not None:
        if not isinstance(seller_skus, list) or not all(isinstance(s, str) for s in seller_skus):
            raise invalid_param("Invalid param. `seller_skus` must be a list of strings.")
        if len(seller_skus) > MAX_SELLER_SKUS:
            raise ApiError(TOO_MANY_SELLER_SKUS,
                           "The maximum count of “seller_skus” in the search filter is 10.")
    sku_ids = body.get("sku_ids") if version >= "202502" else None
    if sku_ids is not None:
        if not isinstance(sku_ids, list) or not all(isinstance(s, str) for s in sku_ids):
            raise invalid_param("Invalid param. `sku_ids` must be a list of strings.")
        if len(sku_ids) > MAX_SEARCH_SKU_IDS:
            raise ApiError(TOO_MANY_SEARCH_SKU_IDS,
                           "The number of SKU IDs exceeds the limit of 10")
    bounds = {n: time_bound(body, n) for n in
              ("create_time_ge", "create_time_le", "update_time_ge", "update_time_le")}
    wanted = set(seller_skus) if seller_skus else None
    wanted_ids = set(sku_ids) if sku_ids else None
    fp = fingerprint(status, sorted(wanted or ()), bounds, sorted(wanted_ids or ()))

    def matches(product: Product) -> bool:
        if status == "ALL" and product.status == "DELETED":
            return False
        if status != "ALL" and product.status != status:
            return False
        if wanted is not None and not any(s.seller_sku in wanted for s in product.skus):
            return False
        if wanted_ids is not None and not any(s.id in wanted_ids for s in product.skus):
            return False
        for name, bound in bounds.items():
            if bound is None:
                continue
            value = product.create_time if name.startswith("create") else product.update_time
            if (name.endswith("_ge") and value < bound) or (name.endswith("_le") and value > bound):
                return False
        return True

    key = (status, tuple(sorted(wanted or ())), tuple(bounds.values()),
           tuple(sorted(wanted_ids or ())))
    ids = shop.matching_ids(key, lambda: [pid for pid in shop.product_order
                                         if matches(shop.products[pid])])
    start = 0
    if query.get("page_token"):
        start = bisect.bisect_right(ids, str(decode_token(query["page_token"], fp)))
    page = ids[start : start + size]
    more = start + size < len(ids)
    return {
        "total_count": len(ids),
        "next_page_token": encode_token(page[-1], fp) if more and page else "",
        "products": [product_to_api(shop, shop.products[pid]) for pid in page],
    }


def find_product(shop: Shop, product_id: str, owners: Mapping[str, str]) -> Product:
    """The shop's product, or TikTok's error for an unknown or another shop's product."""
    product = shop.products.get(product_id)
    if product is not None:
        return product
    if product_id in owners:
        raise ApiError(NOT_YOUR_PRODUCT, "You cannot edit the specified product(s) as it isn't "
                       "listed in your account or shop.")
    raise ApiError(PRODUCT_NOT_FOUND, "The product ID does not exist.")


def inventory_search(shop: Shop, body: Mapping[str, Any]) -> dict:
    """Inventory Search by `sku_ids` (≤600, wins) or `product_ids` (≤100)."""
    sku_ids, product_ids = body.get("sku_ids"), body.get("product_ids")
    groups: dict[str, list[Sku]] = {}
    if sku_ids:
        if not isinstance(sku_ids, list):
            raise invalid_param("Invalid param. `sku_ids` must be a list.")
        if len(sku_ids) > 600:
            raise ApiError(TOO_MANY_SKU_IDS, "The number of SKU exceed the limit")
        for sku_id in sku_ids:
            sku = shop.skus.get(str(sku_id))
            if sku is not None and sku not in groups.setdefault(sku.product_id, []):
                groups[sku.product_id].append(sku)
    elif product_ids:
        if not isinstance(product_ids, list):
            raise invalid_param("Invalid param. `product_ids` must be a list.")
        if len(product_ids) > 100:
            raise ApiError(TOO_MANY_PRODUCT_IDS,
                           "The number of provided product IDs exceeds the limit.")
        for product_id in product_ids:
            product = shop.products.get(str(product_id))
            if product is not None:
                groups[product.id] = list(product.skus)
    else:
        raise invalid_param("Invalid param. Either `sku_ids` or `product_ids` is required.")
    return {"inventory": [
        {"product_id": pid, "skus": [_sku_inventory(s) for s in skus]}
        for pid, skus in groups.items() if skus
    ]}


def _sku_inventory(sku: Sku) -> dict[str, Any]:
    rows = [
        {"warehouse_id": w, "available_quantity": q, "committed_quantity": sku.committed.get(w, 0)}
        for w, q in sku.available.items()
    ]
    return {
        "id": sku.id,
        "seller_sku": sku.seller_sku,
        "total_available_quantity": sum(r["available_quantity"] for r in rows),
        "total_committed_quantity": sum(r["committed_quantity"] for r in rows),
        "warehouse_inventory": rows,
    }


def _sku_error(code: int, message: str, sku_id: str, extra: list[dict] | None = None) -> dict:
    return {"code": code, "message": message,
            "detail": {"sku_id": sku_id, "extra_errors": extra or []}}


def _extra(warehouse_id: str, code: int, message: str) -> dict[str, Any]:
    return {"warehouse_id": warehouse_id, "code": code, "message": message}


def _check_rows(
    shop: Shop, sku: Sku, rows: list[Any], max_quantity: int
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The warehouse → quantity changes of one SKU, or the reasons they are refused."""
    changes: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    for row in rows:
        warehouse_id = str(row.get("warehouse_id") or "")
        quantity = row.get("quantity")
        if not warehouse_id:
            if len(sku.available) != 1:
                problems.append(_extra("", MULTIPLE_WAREHOUSES, "Multiple warehouses detected. "
                                "Include all warehouse IDs and the corresponding details and "
                                "try again."))
                continue
            warehouse_id = next(iter(sku.available))
        warehouse = shop.warehouse(warehouse_id)
        if warehouse is None:
            problems.append(_extra(warehouse_id, WAREHOUSE_NOT_FOUND,
                                   "The warehouse does not exist"))
        elif warehouse.type != SALES_WAREHOUSE or warehouse.effect_status != "ENABLED":
            problems.append(_extra(warehouse_id, NOT_SALES_WAREHOUSE,
                                   "the warehouse not delivery warehouse"))
        elif warehouse_id in changes:
            problems.append(_extra(warehouse_id, DUPLICATE_WAREHOUSE,
                                   "The warehouse id is duplicate"))
        elif isinstance(quantity, bool) or not isinstance(quantity, int):
            problems.append(_extra(warehouse_id, BAD_STOCK_COUNT, "stock count is invalid"))
        elif not 0 <= quantity <= max_quantity:
            problems.append(_extra(warehouse_id, QUANTITY_OUT_OF_RANGE, "The SKU inventory "
                                   "quantity for the warehouse must be within allowed limits."))
        else:
            changes[warehouse_id] = quantity
    return changes, problems


def update_inventory(
    shop: Shop, product: Product, body: Mapping[str, Any], max_quantity: int, now: int
) -> dict[str, Any]:
    """Update Inventory: valid SKUs are applied, the others come back in `data.errors`."""
    entries = body.get("skus")
    if not isinstance(entries, list) or not entries:
        raise invalid_param("Invalid param. `skus` is required.")
    if any(not isinstance(e, dict) or not e.get("id") for e in entries):
        raise ApiError(SKU_ID_REQUIRED, "The SKU ID is necessary")
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    applied = False
    for entry in entries:
        sku_id = str(entry["id"])
        sku = shop.skus.get(sku_id)
        rows = entry.get("inventory")
        if sku is None or sku.product_id != product.id:
            errors.append(_sku_error(SKU_NOT_IN_PRODUCT,
                                     "The SKU ID does not belong to the product.", sku_id))
        elif sku_id in seen:
            errors.append(_sku_error(DUPLICATE_SKU, "Sku id duplicate", sku_id))
        elif product.status != LIVE_STATUS:
            errors.append(_sku_error(NOT_LIVE, "The product in its current status is not "
                                     "available for this operation. Change the product status "
                                     "and try again.", sku_id))
        elif not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            errors.append(_sku_error(BAD_INPUT, "Invalid input parameters. Refer to the API "
                                     "documentation for details.", sku_id))
        else:
            changes, problems = _check_rows(shop, sku, rows, max_quantity)
            if problems:
                errors.append(_sku_error(CHECK_FAILED, "The check failed.", sku_id, problems))
            else:
                for warehouse_id, quantity in changes.items():
                    sku.available[warehouse_id] = quantity
                    sku.committed.setdefault(warehouse_id, 0)
                applied = True
        seen.add(sku_id)
    if applied:
        product.update_time = now
        shop.product_changed()
    return {"errors": errors} if errors else {}
