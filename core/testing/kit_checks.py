"""The contract's checks, as plain functions that raise AssertionError.

`PluginContract` calls them from its test methods; they are plain functions so the kit's own
tests can run them against a deliberately broken plugin and see them fail.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from shelfsync.core.errors import (
    AuthError,
    NotFound,
    PluginError,
    PluginMissing,
    WebhookSignatureError,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.catalog import seed_catalog
from shelfsync.core.testing.kit_reads import (
    PERSISTENT_FAULT_ERRORS,
    check_fault_persistent,
    check_fault_recovered,
    check_reads,
    check_throttled_read,
)
from shelfsync.core.testing.kit_types import assert_declared_types
from shelfsync.core.testing.kit_values import (
    LISTINGS,
    ContractFailure,
    compare,
    fake_truth,
    flatten,
    require,
)
from shelfsync.core.types import (
    AccountInfo,
    BackorderPolicy,
    CatalogItem,
    ChannelOrder,
    Connection,
    FieldKind,
    Fulfillment,
    InventoryUpdate,
    Listing,
    Location,
    Money,
    OrderLine,
    OrderPage,
    PassScope,
    PlatformInfo,
    PushResult,
    Role,
    StockLevel,
    StoreOrderRef,
    StoreOrderStatus,
    WebhookEvent,
)

__all__ = [  # the read checks live in kit_reads; callers find every check here
    "PERSISTENT_FAULT_ERRORS",
    "check_fault_persistent",
    "check_fault_recovered",
    "check_throttled_read",
]

if TYPE_CHECKING:
    from shelfsync.core.testing.kit_runner import RunningFake

_SIGNATURE_HEADER = re.compile(r"hmac|signature|sign|authorization", re.IGNORECASE)


def expected_skus(options: Mapping[str, Any]) -> set[str]:
    """The SKUs of the seeded catalog a fake was started with."""
    catalog = seed_catalog(int(options.get("seed", 0)), int(options.get("products", 20)),
                           int(options.get("variants", 3)))
    return {variant.sku for product in catalog for variant in product.variants}


def read_all(pm: ShelfsyncPluginManager, connection: Connection, info: PlatformInfo) -> list[Any]:
    """The role's main paginated read: the store's catalog or the channel's listings."""
    hook = "shelfsync_fetch_catalog" if info.role == Role.STORE else "shelfsync_fetch_listings"
    return flatten(pm.call(connection, hook), hook)


def _canonical(values: Sequence[Any]) -> list[str]:
    return sorted(repr(value) for value in values)


def _no_duplicates(values: Sequence[Any], what: str) -> None:
    repeated = [value for value, n in Counter(values).items() if n > 1]
    assert not repeated, f"duplicate {what}: {repeated[:5]}"


def _elements(values: Any, kind: type, what: str) -> None:
    for value in flatten(values, what):
        assert isinstance(value, kind), f"{what}: {value!r} is not a {kind.__name__}"
        assert_declared_types(value)


# --- platform info and connection -----------------------------------------------------------


def check_platform_info(pm: ShelfsyncPluginManager, info: PlatformInfo, platform: str) -> None:
    """Info is well formed and the platform is declared once, with a fake."""
    assert isinstance(info, PlatformInfo)
    assert_declared_types(info)
    assert info.name == platform
    assert info.title.strip(), "title is empty"
    assert isinstance(info.role, Role)
    fields = info.credential_names
    assert fields and all(f.strip() for f in fields), f"credential fields: {fields!r}"
    _no_duplicates(list(fields), "credential fields")
    _no_duplicates([field.name for field in info.setting_fields], "setting fields")
    for spec in (*info.credential_fields, *info.setting_fields):
        # A form shows the default: a secret must have none, and each must pass its own check.
        assert not (spec.secret and spec.default is not None), f"{spec.name}: secret default"
        assert spec.kind is not FieldKind.CHOICE or spec.choices, f"{spec.name}: no choices"
        if spec.default is not None:
            spec.parse(spec.default)
    names = [i.name for i in pm.hook.shelfsync_platform_info()]
    assert names.count(platform) == 1, f"{platform} declared {names.count(platform)} times"
    fakes = [name for name, _ in pm.hook.shelfsync_fake_factory()]
    assert fakes.count(platform) == 1, f"{platform} offers {fakes.count(platform)} fakes"


def check_connection(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo) -> None:
    """Good credentials pass and name the account; spoiled ones raise AuthError."""
    hook = "shelfsync_check_connection"
    try:
        account = pm.call(fake.connection, hook)
    except PluginError as exc:
        raise ContractFailure(hook, "the fake's own credentials were refused", "AccountInfo",
                              f"{type(exc).__name__}: {exc}") from exc
    require(isinstance(account, AccountInfo), hook, "not an AccountInfo", "AccountInfo",
            account)
    assert_declared_types(account)
    good = fake.connection
    spoiled = Connection(platform=good.platform, base_url=good.base_url,
                         credentials={k: f"{v}-wrong" for k, v in good.credentials.items()},
                         settings=good.settings, timeout=good.timeout)
    try:
        pm.call(spoiled, "shelfsync_check_connection")
    except AuthError:
        return
    raise ContractFailure(hook, "wrong credentials were accepted", "AuthError", "an answer")


#: Each operation hook's arguments besides the connection, for calls that must never arrive.
_NOWHERE_CALLS: Mapping[str, Mapping[str, Any]] = {
    "shelfsync_check_connection": {},
    "shelfsync_fetch_authorized_shops": {},
    "shelfsync_fetch_locations": {},
    "shelfsync_fetch_stock_levels": {"skus": None},
    "shelfsync_fetch_backorder_policies": {"skus": None},
    "shelfsync_fetch_catalog": {},
    "shelfsync_create_order": {"order": ChannelOrder(id="x", status="", lines=())},
    "shelfsync_fetch_order_status": {"order_ref": StoreOrderRef(id="x")},
    "shelfsync_fetch_listings": {},
    "shelfsync_push_inventory": {"updates": []},
    "shelfsync_fetch_orders": {"updated_since": None, "cursor": None},
    "shelfsync_verify_webhook": {"headers": {}, "body": b"{}"},
    "shelfsync_subscribe_webhooks": {"address": "https://contract.example/webhooks/x/1"},
}


def check_routing(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo) -> None:
    """The plugin implements every hook its role requires, core routes this platform's
    connections to it, and a connection of a platform nobody serves reaches no plugin: a
    `PluginMissing` configuration error, and not one request to the API."""
    missing = pm.missing_hooks(info.name)
    assert not missing, f"{info.name} lacks hooks its role ({info.role}) requires: {missing}"
    assert pm.plugin_for(info.name) is pm.plugin_for(fake.connection.platform)
    other = replace(fake.connection, platform="contract-nobody")
    fake.reset_requests()
    for name, kwargs in _NOWHERE_CALLS.items():
        try:
            answer = pm.call(other, name, **kwargs)
        except PluginMissing:
            continue
        raise AssertionError(f"{name} answered {answer!r} for a platform nobody serves")
    assert fake.request_count() == 0, "a hook called the API for another platform"


# --- pagination and types ---------------------------------------------------------------------


def check_pagination(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo,
                     options: Mapping[str, Any], page_size: int) -> None:
    """Every read equals the fake's truth at every page size; see `kit_reads.check_reads`."""
    check_reads(pm, fake, info, page_size)
    if info.role == Role.STORE:
        catalog = read_all(pm, fake.connection, info)
        require({item.sku for item in catalog} == expected_skus(options),
                "shelfsync_fetch_catalog", "catalog SKUs differ from the seed",
                len(expected_skus(options)), len(catalog))


def check_types(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo) -> None:
    """Every hook returns the declared types, element by element."""
    conn = fake.connection
    if info.role == Role.STORE:
        _elements(pm.call(conn, "shelfsync_fetch_locations"), Location, "locations")
        _elements(pm.call(conn, "shelfsync_fetch_stock_levels", skus=None), StockLevel,
                  "stock levels")
        _elements(pm.call(conn, "shelfsync_fetch_backorder_policies", skus=None),
                  BackorderPolicy, "backorder policies")
        _elements(pm.call(conn, "shelfsync_fetch_catalog"), CatalogItem, "catalog")
    else:
        _elements(pm.call(conn, "shelfsync_fetch_listings"), Listing, "listings")
        page = pm.call(conn, "shelfsync_fetch_orders", updated_since=None, cursor=None)
        assert isinstance(page, OrderPage), f"fetch_orders returned {type(page).__name__}"
        assert_declared_types(page)


# --- webhooks -------------------------------------------------------------------------------


def check_webhooks(pm: ShelfsyncPluginManager, fake: RunningFake, header: str | None,
                   options: Mapping[str, Any]) -> None:
    """A good sample verifies (any header case); tampered or unsigned ones are refused."""
    headers, body = fake.webhook_sample(options)
    conn = fake.connection

    def verify(h: Mapping[str, str], b: bytes) -> WebhookEvent:
        return pm.call(conn, "shelfsync_verify_webhook", headers=h, body=b)

    event = verify(headers, body)
    assert isinstance(event, WebhookEvent)
    assert_declared_types(event)
    assert event.platform == fake.platform and event.topic and event.dedup_key
    assert verify({k.lower(): v for k, v in headers.items()}, body).dedup_key == event.dedup_key
    assert verify(httpx.Headers(headers), body).dedup_key == event.dedup_key
    assert verify(headers, body) == event, "a replayed webhook parsed differently"

    tampered = bytearray(body)
    middle = len(tampered) // 2
    tampered[middle] = ord("0") if tampered[middle] != ord("0") else ord("1")
    names = [header] if header else [k for k in headers if _SIGNATURE_HEADER.search(k)]
    assert names, f"no signature header among {sorted(headers)}; set signature_header"
    unsigned = {k: v for k, v in headers.items() if k.lower() not in {n.lower() for n in names}}
    forged = {**headers, names[0]: "c2hlbGZzeW5jLWZvcmdlZA=="}
    for label, (h, b) in {"tampered body": (headers, bytes(tampered)),
                          "missing signature": (unsigned, body),
                          "forged signature": (forged, body)}.items():
        try:
            verify(h, b)
        except WebhookSignatureError:
            continue
        raise AssertionError(f"a webhook with a {label} was accepted")


def check_webhook_subscription(pm: ShelfsyncPluginManager, fake: RunningFake) -> bool:
    """Subscribing is idempotent: the same topics each time, as a non-empty list of names.

    Returns False when the plugin does not implement the hook (then the merchant sets the
    webhooks up by hand and reconciliation covers the rest).
    """
    address = f"https://contract.example/webhooks/{fake.platform}/1"
    if not pm.implements(pm.plugin_for(fake.platform), "shelfsync_subscribe_webhooks"):
        return False
    first = pm.call(fake.connection, "shelfsync_subscribe_webhooks", address=address)
    assert isinstance(first, list) and first, f"subscribe answered {first!r}: no topics"
    assert all(isinstance(topic, str) and topic for topic in first), first
    again = pm.call(fake.connection, "shelfsync_subscribe_webhooks", address=address)
    assert again == first, f"a second subscribe answered {again!r}, the first {first!r}"
    return True


# --- role-specific writes ---------------------------------------------------------------------


def _order(sku: str, price: Money | None = None) -> ChannelOrder:
    return ChannelOrder(
        id=f"contract-{uuid.uuid4().hex[:12]}", status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="1", sku_id="contract-sku", seller_sku=sku, quantity=1,
                         unit_price=price),),
        total=price,
    )


def _orders_held(fake: RunningFake, order_id: str) -> int:
    orders = fake_truth(fake).orders
    require(orders is not None, "shelfsync_create_order",
            "the fake's truth() gives no orders to count", "a count per channel order", None)
    assert orders is not None
    return int(orders.get(order_id, 0))


def check_create_order(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
    """Creating the same channel order again, after a 500, and when the create was applied but
    its answer lost, finds the first one: the store holds exactly one order per channel order.
    """
    hook = "shelfsync_create_order"
    conn = fake.connection
    item = next(i for i in flatten(pm.call(conn, "shelfsync_fetch_catalog"),
                                   "shelfsync_fetch_catalog") if i.sku)
    price = Money(item.price or "1.00", item.currency or "USD")
    order = _order(item.sku, price)
    first = pm.call(conn, hook, order=order)
    require(isinstance(first, StoreOrderRef) and first.created and first.id, hook,
            "a new order was not created", "StoreOrderRef(created=True)", first)
    again = pm.call(conn, hook, order=order)
    require(not again.created and again.id == first.id, hook,
            "creating the same order again did not find the first",
            replace(first, created=False), again)
    fake.inject_fault("500", count=1)
    retried = pm.call(conn, hook, order=order)
    fake.clear_faults()
    require(not retried.created and retried.id == first.id, hook,
            "after a 500 the same order was not found", replace(first, created=False), retried)
    require(_orders_held(fake, order.id) == 1, hook, "the store holds duplicates", 1,
            _orders_held(fake, order.id))
    lost = _order(item.sku, price)
    fake.inject_fault("lost", count=1)
    try:
        ref = pm.call(conn, hook, order=lost)
    except PluginError as exc:
        ref = exc
    finally:
        pending = fake.pending_faults()
        fake.clear_faults()
    require(pending == 0, hook, "the 'applied, answer lost' fault never fired (no write?)",
            "the fault consumed", f"{pending} pending")
    held = _orders_held(fake, lost.id)
    require(held == 1, hook, "a create whose answer was lost left duplicates (look the order "
            "up before every retry)", "1 order", f"{held} orders; answered {ref!r}")
    status = pm.call(conn, "shelfsync_fetch_order_status", order_ref=first)
    require(isinstance(status, StoreOrderStatus) and status.id == first.id,
            "shelfsync_fetch_order_status", "the status names another order", first.id, status)
    try:
        created = pm.call(conn, hook, order=_order("CONTRACT-NO-SUCH-SKU"))
    except NotFound:
        return
    raise ContractFailure(hook, "an order for an unknown SKU was created", "NotFound", created)


def check_push_inventory(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
    """One result per update; a rejected SKU fails alone; what was pushed is what the fake
    holds (summed over locations), also when the push was applied but its answer lost."""
    hook = "shelfsync_push_inventory"
    conn = fake.connection
    picks = flatten(pm.call(conn, "shelfsync_fetch_listings"), "shelfsync_fetch_listings")[:3]
    require(picks, hook, "the channel lists nothing to push to", "listings", picks)
    updates = [InventoryUpdate(product_id=listing.product_id, sku_id=listing.sku_id,
                               quantity=7, seller_sku=listing.seller_sku,
                               shown=dict(listing.quantities))
               for listing in picks]
    updates.append(InventoryUpdate(product_id=picks[0].product_id,
                                   sku_id="contract-no-such-sku", quantity=1))
    results = pm.call(conn, hook, updates=updates, scope=PassScope())
    _elements(results, PushResult, "push results")
    by_sku = {result.sku_id: result for result in results}
    require(len(results) == len(updates) and set(by_sku) == {u.sku_id for u in updates}, hook,
            "not one result per update", sorted(u.sku_id for u in updates), sorted(by_sku))
    bogus = by_sku["contract-no-such-sku"]
    require(not bogus.ok and (bogus.error_code or bogus.error_message), hook,
            "a bogus SKU was not rejected with a code", "ok=False with a code", bogus)
    for update in updates[:-1]:
        require(by_sku[update.sku_id].ok, hook, f"push of {update.sku_id} failed", "ok",
                by_sku[update.sku_id])
    _pushed_quantities_held(pm, fake, updates[:-1], 7)
    # Applied, answer lost: the push may report a retryable failure, never a wrong quantity.
    again = [replace(update, quantity=4) for update in updates[:-1]]
    fake.inject_fault("lost", count=1)
    try:
        answered = pm.call(conn, hook, updates=again, scope=PassScope())
    except PluginError as exc:
        answered = exc
    finally:
        pending = fake.pending_faults()
        fake.clear_faults()
    require(pending == 0, hook, "the 'applied, answer lost' fault never fired",
            "the fault consumed", f"{pending} pending")
    if isinstance(answered, list):
        for result in answered:
            require(result.ok or result.retryable or result.kind is not None, hook,
                    "a push whose answer was lost was reported as a final failure",
                    "ok or retryable", result)
    _pushed_quantities_held(pm, fake, again, 4)


def _pushed_quantities_held(pm: ShelfsyncPluginManager, fake: RunningFake,
                            updates: Sequence[InventoryUpdate], quantity: int) -> None:
    truth = fake_truth(fake)
    compare(LISTINGS, flatten(pm.call(fake.connection, "shelfsync_fetch_listings"),
                              LISTINGS.name), truth, when=" after a push")
    listings = truth.listings or {}
    for update in updates:
        held = listings.get(update.sku_id, ("", {}))[1]
        require(sum(held.values()) == quantity, "shelfsync_push_inventory",
                f"{update.sku_id} holds another quantity than pushed", quantity, dict(held))


#: Each channel order write, and the `FakeTruth` field counting its effect.
_ORDER_WRITES = {"shelfsync_push_fulfillment": "shipments",
                 "shelfsync_push_cancellation": "cancellations"}


def check_order_writes(pm: ShelfsyncPluginManager, fake: RunningFake) -> list[str]:
    """Fulfilment and cancellation whose answer was lost, then sent again as core would,
    leave exactly one shipment or cancellation. Returns the hooks checked (none when the
    plugin implements neither)."""
    plugin = pm.plugin_for(fake.platform)
    hooks = [hook for hook in _ORDER_WRITES if pm.implements(plugin, hook)]
    if not hooks:
        return []
    conn = fake.connection
    page = pm.call(conn, "shelfsync_fetch_orders", updated_since=None, cursor=None)
    require(len(page.orders) >= len(hooks), "shelfsync_fetch_orders",
            "the fake holds too few orders to ship and cancel one each", len(hooks),
            len(page.orders))
    for hook, order in zip(hooks, page.orders, strict=False):
        kwargs: dict[str, Any] = (
            {"fulfillment": Fulfillment(order_id=order.id, tracking_number="CONTRACT-1",
                                        carrier="contract")}
            if hook == "shelfsync_push_fulfillment"
            else {"order_id": order.id, "reason": "contract"})
        fake.inject_fault("lost", count=1)
        try:
            first: object = pm.call(conn, hook, **kwargs)
        except PluginError as exc:
            first = exc
        finally:
            pending = fake.pending_faults()
            fake.clear_faults()
        require(pending == 0, hook, "the 'applied, answer lost' fault never fired",
                "the fault consumed", f"{pending} pending")
        try:
            again = pm.call(conn, hook, **kwargs)
        except PluginError as exc:
            raise ContractFailure(hook, "sending it again after a lost answer failed", True,
                                  f"{type(exc).__name__}: {exc}") from exc
        require(again is True, hook, "sending it again after a lost answer was refused", True,
                again)
        counts = getattr(fake_truth(fake), _ORDER_WRITES[hook])
        require(counts is not None, hook, f"the fake's truth() has no {_ORDER_WRITES[hook]}",
                "a count per order", None)
        held = int(counts.get(order.id, 0))
        require(held == 1, hook, f"the channel holds {held} {_ORDER_WRITES[hook]} for one order",
                1, f"{held} (first answer {first!r})")
    return hooks
