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
    BadResponse,
    NotFound,
    PluginError,
    PluginMissing,
    RateLimited,
    TransientError,
    WebhookSignatureError,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.paging import checked_pages
from shelfsync.core.testing.catalog import seed_catalog
from shelfsync.core.testing.kit_types import assert_declared_types
from shelfsync.core.types import (
    AccountInfo,
    BackorderPolicy,
    CatalogItem,
    ChannelOrder,
    Connection,
    FieldKind,
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

if TYPE_CHECKING:
    from shelfsync.core.testing.kit_runner import RunningFake

#: What a fault that outlasts every retry must surface as.
PERSISTENT_FAULT_ERRORS: Mapping[str, type[PluginError]] = {
    "429": RateLimited,
    "500": TransientError,
    "502": TransientError,
    "503": TransientError,
    "timeout": TransientError,
    "malformed": BadResponse,
}
_SIGNATURE_HEADER = re.compile(r"hmac|signature|sign|authorization", re.IGNORECASE)


def expected_skus(options: Mapping[str, Any]) -> set[str]:
    """The SKUs of the seeded catalog a fake was started with."""
    catalog = seed_catalog(int(options.get("seed", 0)), int(options.get("products", 20)),
                           int(options.get("variants", 3)))
    return {variant.sku for product in catalog for variant in product.variants}


def whole(pm: ShelfsyncPluginManager, connection: Connection, hook: str, kind: type,
          **kwargs: Any) -> list[Any]:
    """A whole-catalog read's pages joined, each page checked (a list of `kind`) as core
    checks it (`shelfsync.core.sync.paging`)."""
    answer = pm.call(connection, hook, **kwargs)
    return [item for page in checked_pages(answer, kind, platform=connection.platform,
                                           hook=hook) for item in page]


def read_all(pm: ShelfsyncPluginManager, connection: Connection, info: PlatformInfo) -> list[Any]:
    """The role's main paginated read: the store's catalog or the channel's listings."""
    if info.role == Role.STORE:
        return whole(pm, connection, "shelfsync_fetch_catalog", CatalogItem)
    return whole(pm, connection, "shelfsync_fetch_listings", Listing)


def _canonical(values: Sequence[Any]) -> list[str]:
    return sorted(repr(value) for value in values)


def _no_duplicates(values: Sequence[Any], what: str) -> None:
    repeated = [value for value, n in Counter(values).items() if n > 1]
    assert not repeated, f"duplicate {what}: {repeated[:5]}"


def _elements(values: Any, kind: type, what: str) -> None:
    assert isinstance(values, list), f"{what}: expected a list, got {type(values).__name__}"
    for value in values:
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
    account = pm.call(fake.connection, "shelfsync_check_connection")
    assert isinstance(account, AccountInfo), f"check_connection answered {account!r}"
    assert_declared_types(account)
    good = fake.connection
    spoiled = Connection(platform=good.platform, base_url=good.base_url,
                         credentials={k: f"{v}-wrong" for k, v in good.credentials.items()},
                         settings=good.settings, timeout=good.timeout)
    try:
        pm.call(spoiled, "shelfsync_check_connection")
    except AuthError:
        return
    raise AssertionError("wrong credentials were accepted")


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
    """Small pages and default pages read the same, complete set, without duplicates."""
    small = fake.with_settings(page_size=page_size)
    fake.reset_requests()
    paged = read_all(pm, small, info)
    small_requests = fake.request_count()
    fake.reset_requests()
    whole = read_all(pm, fake.connection, info)
    whole_requests = fake.request_count()
    assert _canonical(paged) == _canonical(whole), "small pages and large pages differ"
    assert len(paged) > page_size, "the seeded catalog is too small to need several pages"
    # A platform's page may count products rather than SKUs, so only compare the two reads.
    assert small_requests > whole_requests, (
        f"{small_requests} requests with page_size={page_size}, {whole_requests} without: "
        "the page_size setting was not honoured, so several pages were never read"
    )
    seeded = expected_skus(options)
    if info.role == Role.STORE:
        _no_duplicates([item.variant_id for item in paged], "variant ids")
        _no_duplicates([item.sku for item in paged], "SKUs")
        assert {item.sku for item in paged} == seeded, "catalog SKUs differ from the seed"
        _check_store_stock(pm, fake, small, seeded)
    else:
        _no_duplicates([item.sku_id for item in paged], "SKU ids")
        unknown = {item.seller_sku for item in paged} - seeded - {""}
        assert not unknown, f"listings name SKUs the seed does not hold: {sorted(unknown)[:5]}"


def _check_store_stock(pm: ShelfsyncPluginManager, fake: RunningFake, small: Connection,
                       seeded: set[str]) -> None:
    levels = whole(pm, small, "shelfsync_fetch_stock_levels", StockLevel, skus=None)
    large = whole(pm, fake.connection, "shelfsync_fetch_stock_levels", StockLevel, skus=None)
    assert _canonical(levels) == _canonical(large), "stock pages differ by page size"
    _no_duplicates([(level.sku, level.location_id) for level in levels], "(SKU, location)")
    assert {level.sku for level in levels} <= seeded, "stock for SKUs outside the catalog"
    locations = pm.call(fake.connection, "shelfsync_fetch_locations")
    _no_duplicates([location.id for location in locations], "location ids")
    known = {location.id for location in locations}
    assert {level.location_id for level in levels} <= known, "stock at unknown locations"
    some = sorted({level.sku for level in levels})[:3]
    subset = pm.call(small, "shelfsync_fetch_stock_levels", skus=[*some, "CONTRACT-NO-SUCH-SKU"])
    assert _canonical(subset) == _canonical([lv for lv in levels if lv.sku in some]), (
        "stock for given SKUs differs from the full read"
    )
    policies = whole(pm, small, "shelfsync_fetch_backorder_policies", BackorderPolicy,
                     skus=None)
    _no_duplicates([policy.sku for policy in policies], "backorder SKUs")
    assert {policy.sku for policy in policies} <= seeded


def check_types(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo) -> None:
    """Every hook returns the declared types, element by element."""
    conn = fake.connection
    if info.role == Role.STORE:
        _elements(pm.call(conn, "shelfsync_fetch_locations"), Location, "locations")
        _elements(whole(pm, conn, "shelfsync_fetch_stock_levels", StockLevel, skus=None),
                  StockLevel, "stock levels")
        _elements(whole(pm, conn, "shelfsync_fetch_backorder_policies", BackorderPolicy,
                        skus=None), BackorderPolicy, "backorder policies")
        _elements(whole(pm, conn, "shelfsync_fetch_catalog", CatalogItem), CatalogItem,
                  "catalog")
    else:
        _elements(whole(pm, conn, "shelfsync_fetch_listings", Listing), Listing, "listings")
        page = pm.call(conn, "shelfsync_fetch_orders", updated_since=None, cursor=None)
        assert isinstance(page, OrderPage), f"fetch_orders returned {type(page).__name__}"
        assert_declared_types(page)


# --- faults and throttling ---------------------------------------------------------------------


def check_fault_recovered(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo,
                          kind: str) -> None:
    """A passing fault is retried, and the answer is the same as without it."""
    baseline = read_all(pm, fake.connection, info)
    if kind == "timeout":
        fake.inject_fault(kind, count=1, seconds=fake.connection.timeout + 0.5)
    else:
        fake.inject_fault(kind, count=2)
    assert _canonical(read_all(pm, fake.connection, info)) == _canonical(baseline), (
        f"after a passing {kind} fault the answer differs"
    )


def check_fault_persistent(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo,
                           kind: str) -> None:
    """A fault that outlasts the retries surfaces as its typed error, never as data."""
    fake.inject_fault(kind, count=1000)
    try:
        result = read_all(pm, fake.connection, info)
    except PERSISTENT_FAULT_ERRORS[kind]:
        return
    finally:
        fake.clear_faults()
    raise AssertionError(f"a persistent {kind} fault returned data: {result[:3]!r}")


def check_throttled_read(pm: ShelfsyncPluginManager, fake: RunningFake, info: PlatformInfo,
                         options: Mapping[str, Any]) -> None:
    """On a small budget the full read still completes with the right answer."""
    result = read_all(pm, fake.connection, info)
    if info.role == Role.STORE:
        assert {item.sku for item in result} == expected_skus(options)
    else:
        assert result, "nothing read under throttling"


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


def check_create_order(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
    """Creating the same channel order again, even across a failure, finds the first one."""
    conn = fake.connection
    item = next(i for i in whole(pm, conn, "shelfsync_fetch_catalog", CatalogItem) if i.sku)
    price = Money(item.price or "1.00", item.currency or "USD")
    order = ChannelOrder(
        id=f"contract-{uuid.uuid4().hex[:12]}", status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="1", sku_id="contract-sku", seller_sku=item.sku, quantity=1,
                         unit_price=price),),
        total=price,
    )
    first = pm.call(conn, "shelfsync_create_order", order=order)
    assert isinstance(first, StoreOrderRef) and first.created and first.id
    again = pm.call(conn, "shelfsync_create_order", order=order)
    assert again is not None and not again.created and again.id == first.id
    fake.inject_fault("500", count=1)
    retried = pm.call(conn, "shelfsync_create_order", order=order)
    assert retried is not None and not retried.created and retried.id == first.id
    status = pm.call(conn, "shelfsync_fetch_order_status", order_ref=first)
    assert isinstance(status, StoreOrderStatus) and status.id == first.id
    unknown = ChannelOrder(
        id=f"contract-{uuid.uuid4().hex[:12]}", status="AWAITING_SHIPMENT",
        lines=(OrderLine(line_id="1", sku_id="x", seller_sku="CONTRACT-NO-SUCH-SKU",
                         quantity=1),),
    )
    try:
        pm.call(conn, "shelfsync_create_order", order=unknown)
    except NotFound:
        return
    raise AssertionError("an order for an unknown SKU was created")


def check_push_inventory(pm: ShelfsyncPluginManager, fake: RunningFake) -> None:
    """One result per update; a rejected SKU fails alone; accepted quantities read back (the
    plugin may spread a SKU's quantity over locations: their total is what was pushed)."""
    conn = fake.connection
    listings = whole(pm, conn, "shelfsync_fetch_listings", Listing)
    picks = listings[:3]
    assert picks, "the channel lists nothing to push to"
    updates = [InventoryUpdate(product_id=listing.product_id, sku_id=listing.sku_id,
                               quantity=7, seller_sku=listing.seller_sku,
                               shown=dict(listing.quantities))
               for listing in picks]
    updates.append(InventoryUpdate(product_id=picks[0].product_id,
                                   sku_id="contract-no-such-sku", quantity=1))
    results = pm.call(conn, "shelfsync_push_inventory", updates=updates, scope=PassScope())
    _elements(results, PushResult, "push results")
    by_sku = {result.sku_id: result for result in results}
    assert len(results) == len(updates) and set(by_sku) == {u.sku_id for u in updates}
    bogus = by_sku["contract-no-such-sku"]
    assert not bogus.ok and (bogus.error_code or bogus.error_message)
    for update in updates[:-1]:
        assert by_sku[update.sku_id].ok, f"push of {update.sku_id} failed: {by_sku[update.sku_id]}"
    after = {listing.sku_id: listing
             for listing in whole(pm, conn, "shelfsync_fetch_listings", Listing)}
    for update in updates[:-1]:
        quantities = after[update.sku_id].quantities
        assert not quantities or sum(quantities.values()) == 7, (
            f"{update.sku_id} reads back {dict(quantities)} after pushing 7"
        )
