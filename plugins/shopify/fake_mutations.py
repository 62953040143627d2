"""The fake's mutations: inventory set/adjust, orderCreate and webhookSubscriptionCreate.

Each mutation validates everything first and changes nothing when there is any userError,
as Shopify's mutations are all-or-nothing. Changes append webhook payloads to
`info.context.events`; the fake sends them after the request, so a slow receiver never delays
an API answer. userError `field` paths are lists of strings (indices too), as Shopify's are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError

from shelfsync.plugins.shopify import fake_webhooks as hooks
from shelfsync.plugins.shopify.fake_paging import lookup
from shelfsync.plugins.shopify.fake_store import (
    GROUP_BASE,
    LINE_ITEM_BASE,
    MAX_QUANTITY,
    ORDER_BASE,
    SUBSCRIPTION_BASE,
    UNAVAILABLE_NAMES,
    AdjustmentGroup,
    Level,
    LineItem,
    Order,
    ShopStore,
    Subscription,
    Variant,
    now_iso,
)

# Reasons Shopify accepts for inventory changes.
REASONS = frozenset(
    [
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    ]
)
ADJUSTABLE_NAMES = ("available", "incoming", *UNAVAILABLE_NAMES)
MAX_INPUT_ARRAY = 250


class _Errors(list[dict[str, Any]]):
    def add(self, typename: str, code: str | None, field: list[str], message: str) -> None:
        error: dict[str, Any] = {"__typename": typename, "field": field, "message": message}
        if code is not None:
            error["code"] = code
        self.append(error)


def _check_array(values: list[Any]) -> None:
    if len(values) > MAX_INPUT_ARRAY:
        raise GraphQLError(
            f"The input array size of {len(values)} is greater than the maximum allowed of "
            f"{MAX_INPUT_ARRAY}."
        )


def _resolve_level(
    store: ShopStore, entry: dict[str, Any], base: list[str], errors: _Errors, typename: str
) -> Level | None:
    item = lookup(store, entry["inventoryItemId"], "InventoryItem")
    if item is None:
        message = "The specified inventory item could not be found."
        errors.add(typename, "INVALID_INVENTORY_ITEM", [*base, "inventoryItemId"], message)
        return None
    location = lookup(store, entry["locationId"], "Location")
    if location is None:
        message = "The specified location could not be found."
        errors.add(typename, "INVALID_LOCATION", [*base, "locationId"], message)
        return None
    level = item.levels.get(location.num)
    if level is None:
        message = "The specified inventory item is not stocked at the location."
        errors.add(typename, "ITEM_NOT_STOCKED_AT_LOCATION", [*base, "locationId"], message)
    return level


def _record(
    info: Any, reason: str, uri: str | None, changes: list[dict[str, Any]]
) -> AdjustmentGroup:
    store: ShopStore = info.context.store
    group = AdjustmentGroup(GROUP_BASE + store.next_id(), reason, uri, now_iso(), changes)
    store.groups[group.num] = group
    return group


def _change(level: Level, name: str, delta: int) -> dict[str, Any]:
    return {
        "name": name,
        "delta": delta,
        "item": level.item,
        "location": level.location,
        "quantityAfterChange": level.quantity(name),
        "ledgerDocumentUri": None,
    }


def _touch(info: Any, level: Level, available_changed: bool) -> None:
    level.updated_at = level.item.updated_at = now_iso()
    if available_changed:
        info.context.events.append(("inventory_levels/update", hooks.level_payload(level)))


def inventory_set_quantities(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Compare-and-set of `available` or `on_hand` quantities."""
    store: ShopStore = info.context.store
    kind = "InventorySetQuantitiesUserError"
    errors = _Errors()
    name, quantities = input["name"], input["quantities"]
    _check_array(quantities)
    if name not in ("available", "on_hand"):
        message = "The quantity name must be either 'available' or 'on_hand'."
        errors.add(kind, "INVALID_NAME", ["input", "name"], message)
    if input["reason"] not in REASONS:
        errors.add(kind, "INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
    seen: set[tuple[int, int]] = set()
    targets: list[tuple[Level, int]] = []
    for i, entry in enumerate(quantities):
        base = ["input", "quantities", str(i)]
        level = _resolve_level(store, entry, base, errors, kind)
        if level is None:
            continue
        key = (level.item.num, level.location.num)
        if key in seen:
            message = "The combination of inventoryItemId and locationId must be unique."
            errors.add(kind, "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", base, message)
            continue
        seen.add(key)
        quantity = entry["quantity"]
        if quantity > MAX_QUANTITY:
            message = f"The quantity can't be higher than {MAX_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_HIGH", [*base, "quantity"], message)
        elif quantity < -MAX_QUANTITY:
            message = f"The quantity can't be lower than -{MAX_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_LOW", [*base, "quantity"], message)
        elif name == "on_hand" and quantity < 0:
            message = "The quantity can't be negative."
            errors.add(kind, "INVALID_QUANTITY_NEGATIVE", [*base, "quantity"], message)
        elif not input.get("ignoreCompareQuantity"):
            compare = entry.get("compareQuantity")
            if compare is None:
                message = (
                    "The compareQuantity argument must be given to each quantity or ignored "
                    "using ignoreCompareQuantity."
                )
                errors.add(kind, "COMPARE_QUANTITY_REQUIRED", [*base, "compareQuantity"], message)
            elif name in ("available", "on_hand") and compare != level.quantity(name):
                message = "The compareQuantity value does not match the current quantity."
                errors.add(kind, "COMPARE_QUANTITY_STALE", [*base, "compareQuantity"], message)
        targets.append((level, quantity))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for level, quantity in targets:
        delta = quantity - level.quantity(name)
        # Setting either name moves `available`; on_hand follows by the same delta.
        level.quantities["available"] += delta
        changes += [_change(level, "available", delta), _change(level, "on_hand", delta)]
        _touch(info, level, available_changed=delta != 0)
    group = _record(info, input["reason"], input.get("referenceDocumentUri"), changes)
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def inventory_adjust_quantities(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Relative changes (deltas) of one named quantity."""
    store: ShopStore = info.context.store
    kind = "InventoryAdjustQuantitiesUserError"
    errors = _Errors()
    name, changes_in = input["name"], input["changes"]
    _check_array(changes_in)
    if name not in ADJUSTABLE_NAMES:
        message = f"The quantity name must be one of: {', '.join(ADJUSTABLE_NAMES)}."
        errors.add(kind, "INVALID_QUANTITY_NAME", ["input", "name"], message)
    if input["reason"] not in REASONS:
        errors.add(kind, "INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
    targets: list[tuple[Level, int]] = []
    pending: dict[int, int] = {}
    for i, entry in enumerate(changes_in):
        base = ["input", "changes", str(i)]
        level = _resolve_level(store, entry, base, errors, kind)
        if level is None or name not in ADJUSTABLE_NAMES:
            continue
        after = level.quantity(name) + pending.get(id(level), 0) + entry["delta"]
        pending[id(level)] = pending.get(id(level), 0) + entry["delta"]
        if after > MAX_QUANTITY:
            message = f"The quantity can't be higher than {MAX_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_HIGH", [*base, "delta"], message)
        elif after < -MAX_QUANTITY:
            message = f"The quantity can't be lower than -{MAX_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_LOW", [*base, "delta"], message)
        targets.append((level, entry["delta"]))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for level, delta in targets:
        level.quantities[name] += delta
        changes.append(_change(level, name, delta))
        if name != "incoming":
            changes.append(_change(level, "on_hand", delta))
        _touch(info, level, available_changed=name == "available" and delta != 0)
    group = _record(info, input["reason"], input.get("referenceDocumentUri"), changes)
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _line(
    store: ShopStore, entry: dict[str, Any], base: list[str], errors: _Errors, currency: str
) -> LineItem | None:
    kind = "OrderCreateUserError"
    variant: Variant | None = None
    if entry.get("variantId"):
        variant = lookup(store, entry["variantId"], "ProductVariant")
        if variant is None:
            message = f"Variant {entry['variantId']} does not exist."
            errors.add(kind, "INVALID", [*base, "variantId"], message)
            return None
    if entry["quantity"] < 1:
        message = "Quantity must be greater than or equal to 1."
        errors.add(kind, "INVALID", [*base, "quantity"], message)
    price = variant.price if variant else None
    if entry.get("priceSet"):
        try:
            price = f"{Decimal(str(entry['priceSet']['shopMoney']['amount'])):.2f}"
        except InvalidOperation:
            errors.add(kind, "INVALID", [*base, "priceSet"], "Price is invalid.")
    title = entry.get("title") or (variant.product.title if variant else None)
    if price is None or title is None:
        message = "A custom line item needs a title and a priceSet."
        errors.add(kind, "INVALID", base, message)
        return None
    return LineItem(
        num=LINE_ITEM_BASE + store.next_id(),
        title=title,
        sku=entry.get("sku") or (variant.sku if variant else None),
        quantity=entry["quantity"],
        price=price,
        variant=variant,
        variant_title=entry.get("variantTitle") or (variant.title if variant else None),
        currency=currency,
    )


def _claim_levels(
    store: ShopStore, lines: list[LineItem], behaviour: str, errors: _Errors
) -> list[tuple[Level, int]]:
    """Where each decremented line takes its stock from (Shopify picks by location priority)."""
    claims: list[tuple[Level, int]] = []
    wanted: dict[int, int] = {}
    for i, line in enumerate(lines):
        variant = line.variant
        if behaviour == "BYPASS" or variant is None or not variant.item.tracked:
            continue
        levels = [lv for lv in variant.item.levels.values() if lv.location.active]
        levels.sort(key=lambda lv: (not lv.location.fulfills_online_orders, lv.location.num))
        total = sum(lv.quantities["available"] for lv in levels)
        wanted[variant.num] = wanted.get(variant.num, 0) + line.quantity
        obeying = behaviour == "DECREMENT_OBEYING_POLICY" and variant.policy == "DENY"
        if obeying and wanted[variant.num] > total:
            message = f"Unable to claim inventory for {variant.sku}: {max(total, 0)} available."
            field = ["order", "lineItems", str(i), "quantity"]
            errors.add("OrderCreateUserError", "INVENTORY_CLAIM_FAILED", field, message)
            continue
        if levels:
            enough = [lv for lv in levels if lv.quantities["available"] >= line.quantity]
            claims.append(((enough or levels)[0], line.quantity))
    return claims


def _address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    names = [value.get("firstName"), value.get("lastName")]
    return {
        **{k: value.get(k) for k in ("address1", "address2", "city", "company", "phone", "zip")},
        "firstName": value.get("firstName"),
        "lastName": value.get("lastName"),
        "name": " ".join(n for n in names if n) or None,
        "countryCodeV2": value.get("countryCode"),
        "country": value.get("countryCode"),
        "provinceCode": value.get("provinceCode"),
        "province": value.get("provinceCode"),
    }


def order_create(
    _: Any, info: Any, order: dict[str, Any], options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create an order; stock is committed per `options.inventoryBehaviour` (default BYPASS)."""
    store: ShopStore = info.context.store
    errors = _Errors()
    currency = order.get("currency") or store.currency
    entries = order.get("lineItems") or []
    _check_array(entries)
    if not entries:
        message = "Line items must have at least one line item."
        errors.add("OrderCreateUserError", "INVALID", ["order", "lineItems"], message)
    lines = [
        _line(store, e, ["order", "lineItems", str(i)], errors, currency)
        for i, e in enumerate(entries)
    ]
    processed_at = order.get("processedAt") or now_iso()
    try:
        when = datetime.fromisoformat(str(processed_at).replace("Z", "+00:00"))
        if when.tzinfo is not None and when > datetime.now(UTC):
            raise ValueError("in the future")
    except ValueError:
        message = "Processed at must be a past date and time."
        errors.add(
            "OrderCreateUserError", "PROCESSED_AT_INVALID", ["order", "processedAt"], message
        )
    if errors:
        return {"order": None, "userErrors": errors}
    valid = [li for li in lines if li is not None]
    behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
    claims = _claim_levels(store, valid, behaviour, errors)
    if errors:
        return {"order": None, "userErrors": errors}
    for level, quantity in claims:
        # An unfulfilled order commits stock: available goes down, on_hand stays.
        level.quantities["available"] -= quantity
        level.quantities["committed"] += quantity
        _touch(info, level, available_changed=True)
    tags: list[str] = []
    for tag in order.get("tags") or []:
        if tag.strip() and tag.strip() not in tags:
            tags.append(tag.strip())
    created = Order(
        num=ORDER_BASE + len(store.orders) + 1,
        number=1001 + len(store.orders),
        email=order.get("email"),
        note=order.get("note"),
        tags=tags,
        custom_attributes=[(a["key"], a["value"]) for a in order.get("customAttributes") or []],
        currency=currency,
        financial_status=order.get("financialStatus") or "PENDING",
        source_identifier=order.get("sourceIdentifier"),
        source_name=order.get("sourceName"),
        test=bool(order.get("test")),
        shipping_address=_address(order.get("shippingAddress")),
        line_items=valid,
        created_at=now_iso(),
        processed_at=str(processed_at),
        claims=claims,
    )
    store.orders.append(created)
    info.context.events.append(("orders/create", hooks.order_payload(created)))
    return {"order": created, "userErrors": []}


def webhook_subscription_create(
    _: Any, info: Any, topic: str, webhookSubscription: dict[str, Any]
) -> dict[str, Any]:
    """Subscribe an HTTP(S) callback URL to a topic."""
    store: ShopStore = info.context.store
    errors = _Errors()
    url = webhookSubscription.get("callbackUrl")
    field = ["webhookSubscription", "callbackUrl"]
    if not url:
        errors.add("UserError", None, field, "Address can't be blank")
    elif not str(url).startswith(("http://", "https://")):
        errors.add("UserError", None, field, "Address is invalid")
    elif any(s.topic == topic and s.callback_url == url for s in store.subscriptions):
        errors.add("UserError", None, field, "Address for this topic has already been taken")
    fmt = webhookSubscription.get("format") or "JSON"
    if fmt != "JSON":
        message = "This fake delivers JSON webhooks only."
        errors.add("UserError", None, ["webhookSubscription", "format"], message)
    if errors:
        return {"webhookSubscription": None, "userErrors": errors}
    subscription = Subscription(
        num=SUBSCRIPTION_BASE + len(store.subscriptions) + 1,
        topic=topic,
        callback_url=str(url),
        format=fmt,
        include_fields=list(webhookSubscription.get("includeFields") or []),
        filter=webhookSubscription.get("filter"),
        created_at=now_iso(),
    )
    store.subscriptions.append(subscription)
    return {"webhookSubscription": subscription, "userErrors": []}


MUTATIONS: dict[str, Callable[..., Any]] = {
    "inventorySetQuantities": inventory_set_quantities,
    "inventoryAdjustQuantities": inventory_adjust_quantities,
    "orderCreate": order_create,
    "webhookSubscriptionCreate": webhook_subscription_create,
}
