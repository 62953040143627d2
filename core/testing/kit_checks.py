"""The contract's checks, as plain functions that raise `ContractFailure` (an AssertionError
naming the hook, what was expected and what came back).

`PluginContract` calls them from its test methods; they are plain functions so the kit's own
tests can run them against a deliberately broken plugin and see them fail.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from shelfsync.core.errors import (
    AuthError,
    PluginError,
    PluginMissing,
    WebhookSignatureError,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.paging import checked_pages
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
    ContractFailure,
    flatten,
    require,
)
from shelfsync.core.testing.kit_writes import (
    check_create_order,
    check_order_writes,
    check_push_inventory,
    check_store_aftersale_writes,
)
from shelfsync.core.types import (
    AccountInfo,
    BackorderPolicy,
    CatalogItem,
    ChannelOrder,
    Connection,
    FieldKind,
    Listing,
    Location,
    OrderPage,
    PlatformInfo,
    Role,
    StockLevel,
    StoreOrderRef,
    WebhookEvent,
)

__all__ = [  # reads live in kit_reads, writes in kit_writes; callers find every check here
    "PERSISTENT_FAULT_ERRORS",
    "check_create_order",
    "check_fault_persistent",
    "check_fault_recovered",
    "check_order_writes",
    "check_push_inventory",
    "check_store_aftersale_writes",
    "check_throttled_read",
]

if TYPE_CHECKING:
    from shelfsync.core.testing.kit_runner import RunningFake

_SIGNATURE_HEADER = re.compile(r"hmac|signature|sign|authorization", re.IGNORECASE)


#: An ISO 4217 currency code, as `AccountInfo.currency` and `AuthorizedShop.currency` hold.
_CURRENCY = re.compile(r"[A-Z]{3}")

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
    require(not repeated, what, "duplicates", "each once", repeated[:5])


def _elements(values: Any, kind: type, what: str) -> None:
    for value in flatten(values, what):
        require(isinstance(value, kind), what, "an element of the wrong type", kind.__name__,
                value)
        assert_declared_types(value)


# --- platform info and connection -----------------------------------------------------------


def check_platform_info(pm: ShelfsyncPluginManager, info: PlatformInfo, platform: str) -> None:
    """Info is well formed and the platform is declared once, with a fake."""
    hook = "shelfsync_platform_info"
    require(isinstance(info, PlatformInfo), hook, "not a PlatformInfo", "PlatformInfo", info)
    assert_declared_types(info)
    require(info.name == platform, hook, "another name", platform, info.name)
    require(info.title.strip(), hook, "the title is empty", "a title", info.title)
    require(isinstance(info.role, Role), hook, "the role is not a Role", "Role", info.role)
    fields = info.credential_names
    require(fields and all(f.strip() for f in fields), hook, "credential fields are missing or "
            "blank", "named fields", fields)
    _no_duplicates(list(fields), "credential fields")
    _no_duplicates([field.name for field in info.setting_fields], "setting fields")
    for spec in (*info.credential_fields, *info.setting_fields):
        # A form shows the default: a secret must have none, and each must pass its own check.
        require(not (spec.secret and spec.default is not None), hook,
                f"{spec.name}: a secret field has a default", None, spec.default)
        require(spec.kind is not FieldKind.CHOICE or spec.choices, hook,
                f"{spec.name}: a choice field without choices", "choices", spec.choices)
        if spec.default is not None:
            spec.parse(spec.default)
    names = [i.name for i in pm.hook.shelfsync_platform_info()]
    require(names.count(platform) == 1, hook, f"{platform} declared more or less than once",
            1, names.count(platform))
    fakes = [name for name, _ in pm.hook.shelfsync_fake_factory()]
    require(fakes.count(platform) == 1, "shelfsync_fake_factory",
            f"{platform} offers more or fewer than one fake", 1, fakes.count(platform))


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
    # Core compares it with a shop's currency and asks the merchant for a rate: a code it
    # cannot compare ("$", "usd ") would ask for a rate between a currency and itself.
    require(account.currency is None or bool(_CURRENCY.fullmatch(account.currency)), hook,
            "currency is not an ISO 4217 code", "three capital letters, or None",
            account.currency)
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
    require(not missing, info.name, f"lacks hooks its role ({info.role}) requires", [],
            missing)
    require(pm.plugin_for(info.name) is pm.plugin_for(fake.connection.platform), info.name,
            "the fake's connections are routed to another plugin", info.name,
            fake.connection.platform)
    other = replace(fake.connection, platform="contract-nobody")
    fake.reset_requests()
    for name, kwargs in _NOWHERE_CALLS.items():
        try:
            answer = pm.call(other, name, **kwargs)
        except PluginMissing:
            continue
        raise ContractFailure(name, "answered for a platform nobody serves", "PluginMissing",
                              answer)
    require(fake.request_count() == 0, info.name, "a hook called the API for another platform",
            0, fake.request_count())


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
        _elements(whole(pm, conn, "shelfsync_fetch_stock_levels", StockLevel, skus=None),
                  StockLevel, "stock levels")
        _elements(whole(pm, conn, "shelfsync_fetch_backorder_policies", BackorderPolicy,
                        skus=None), BackorderPolicy, "backorder policies")
        _elements(whole(pm, conn, "shelfsync_fetch_catalog", CatalogItem), CatalogItem,
                  "catalog")
    else:
        _elements(whole(pm, conn, "shelfsync_fetch_listings", Listing), Listing, "listings")
        page = pm.call(conn, "shelfsync_fetch_orders", updated_since=None, cursor=None)
        require(isinstance(page, OrderPage), "shelfsync_fetch_orders", "not an OrderPage",
                "OrderPage", page)
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
    hook = "shelfsync_verify_webhook"
    require(isinstance(event, WebhookEvent), hook, "not a WebhookEvent", "WebhookEvent", event)
    assert_declared_types(event)
    require(event.platform == fake.platform and event.topic and event.dedup_key, hook,
            "platform, topic or dedup_key missing", fake.platform, event)
    lowered = verify({k.lower(): v for k, v in headers.items()}, body)
    require(lowered.dedup_key == event.dedup_key, hook, "lower-case headers read differently",
            event.dedup_key, lowered.dedup_key)
    mixed = verify(httpx.Headers(headers), body)
    require(mixed.dedup_key == event.dedup_key, hook, "httpx.Headers read differently",
            event.dedup_key, mixed.dedup_key)
    replayed = verify(headers, body)
    require(replayed == event, hook, "a replayed webhook parsed differently", event, replayed)

    tampered = bytearray(body)
    middle = len(tampered) // 2
    tampered[middle] = ord("0") if tampered[middle] != ord("0") else ord("1")
    names = [header] if header else [k for k in headers if _SIGNATURE_HEADER.search(k)]
    require(names, hook, "no signature header found; set signature_header",
            "a header naming hmac/sign/authorization", sorted(headers))
    unsigned = {k: v for k, v in headers.items() if k.lower() not in {n.lower() for n in names}}
    forged = {**headers, names[0]: "c2hlbGZzeW5jLWZvcmdlZA=="}
    for label, (h, b) in {"tampered body": (headers, bytes(tampered)),
                          "missing signature": (unsigned, body),
                          "forged signature": (forged, body)}.items():
        try:
            verify(h, b)
        except WebhookSignatureError:
            continue
        raise ContractFailure(hook, f"a webhook with a {label} was accepted",
                              "WebhookSignatureError", "an event")


def check_webhook_subscription(pm: ShelfsyncPluginManager, fake: RunningFake) -> bool:
    """Subscribing is idempotent: the same topics each time, as a non-empty list of names.

    Returns False when the plugin does not implement the hook (then the merchant sets the
    webhooks up by hand and reconciliation covers the rest).
    """
    address = f"https://contract.example/webhooks/{fake.platform}/1"
    if not pm.implements(pm.plugin_for(fake.platform), "shelfsync_subscribe_webhooks"):
        return False
    first = pm.call(fake.connection, "shelfsync_subscribe_webhooks", address=address)
    hook = "shelfsync_subscribe_webhooks"
    require(isinstance(first, list) and first, hook, "no topics", "a non-empty list", first)
    require(all(isinstance(topic, str) and topic for topic in first), hook,
            "a topic is not a name", "non-empty strings", first)
    again = pm.call(fake.connection, "shelfsync_subscribe_webhooks", address=address)
    require(again == first, hook, "a second subscribe answered differently", first, again)
    return True
