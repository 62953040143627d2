"""The fake's mutations: orderCreate and webhookSubscriptionCreate (inventory: fake_inventory).

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

from shelfsync.plugins.shopify import fake_webhooks as hooks
from shelfsync.plugins.shopify.fake_aftersale import MUTATIONS as AFTERSALE_MUTATIONS
from shelfsync.plugins.shopify.fake_inventory import (
    UserErrors,
    check_array,
    inventory_adjust_quantities,
    inventory_set_quantities,
    touch,
)
from shelfsync.plugins.shopify.fake_paging import lookup
from shelfsync.plugins.shopify.fake_store import (
    LINE_ITEM_BASE,
    ORDER_BASE,
    SUBSCRIPTION_BASE,
    Level,
    LineItem,
    Order,
    ShopStore,
    Subscription,
    Variant,
    now_iso,
)


def _line(
    store: ShopStore, entry: dict[str, Any], base: list[str], errors: UserErrors, currency: str
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
    store: ShopStore, lines: list[LineItem], behaviour: str, errors: UserErrors
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


def _cents(amount: Any) -> int:
    try:
        return round(Decimal(str(amount)) * 100)
    except InvalidOperation:
        return 0


def _tax_cents(order: dict[str, Any]) -> int:
    """Tax lines given with their amounts (order, line and shipping level) add to the total
    unless taxes are included in the prices (live: a 12.00 line with a 1.50 tax line totals
    13.5, money-bag-presentment-parity)."""
    if order.get("taxesIncluded"):
        return 0
    holders = [order, *(order.get("lineItems") or []), *(order.get("shippingLines") or [])]
    return sum(
        _cents(tax["priceSet"]["shopMoney"]["amount"])
        for holder in holders
        for tax in holder.get("taxLines") or []
        if tax.get("priceSet")
    )


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
    errors = UserErrors()
    currency = order.get("currency") or store.currency
    entries = order.get("lineItems") or []
    check_array(entries)
    if not entries:
        # No full stop: the live message (airhorns/shopify-draft-proxy,
        # order-create-validation-matrix).
        message = "Line items must have at least one line item"
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
        touch(info, level, available_changed=True)
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
        given_name=order.get("name") or None,
        shipping_cents=sum(
            _cents(line["priceSet"]["shopMoney"]["amount"])
            for line in order.get("shippingLines") or []
        ),
        tax_cents=_tax_cents(order),
    )
    store.orders.append(created)
    info.context.events.append(("orders/create", hooks.order_payload(created)))
    return {"order": created, "userErrors": []}


def webhook_subscription_create(
    _: Any, info: Any, topic: str, webhookSubscription: dict[str, Any]
) -> dict[str, Any]:
    """Subscribe an HTTP(S) callback URL to a topic."""
    store: ShopStore = info.context.store
    errors = UserErrors()
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
    **AFTERSALE_MUTATIONS,
    "inventorySetQuantities": inventory_set_quantities,
    "inventoryAdjustQuantities": inventory_adjust_quantities,
    "orderCreate": order_create,
    "webhookSubscriptionCreate": webhook_subscription_create,
}
