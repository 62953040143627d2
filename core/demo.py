"""`shelfsync demo`'s setup: local fakes, one organization connected to them, a stock ticker.

Everything here talks to the fakes over HTTP, as Shelfsync talks to the real platforms; the
fakes are found through the plugins' `shelfsync_fake_factory` hook, so core imports no plugin.
The demo is, by default, a Shopify store (`--store` picks any installed store plugin with a
fake) and a TikTok Shop app with two shops, synced with different rules per shop so the
difference shows in the pushes it prints. Every store fake takes the same control call to
move stock as a merchant would (`POST /_fake/stock {"sku", "delta"}`), so the ticker works
whatever the store. Tests reuse
`connect_organization` to build the same organization against their own fakes.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from shelfsync.core.models import (
    CatalogVariant,
    ChannelConnection,
    ChannelSettings,
    InventoryAudit,
    OrderBinding,
    Organization,
    SkuLink,
    add_store_connection,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.server import RunningServer, serving

STORE_PLATFORM = "shopify"
CHANNEL_PLATFORM = "tiktok"
SUBSCRIBE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    userErrors { field message }
  }
}"""


#: Channel price = store price × rate, for a shop selling in another currency than the store's
#: (the demo's rates, not live ones).
DEMO_RATES = {("USD", "GBP"): "0.79", ("USD", "EUR"): "0.92"}


@dataclass(frozen=True)
class ChannelRules:
    """The per-channel settings the demo gives a shop."""

    percent: int = 100
    threshold: int = 0

    def describe(self) -> str:
        """"80 %, threshold 5"."""
        text = f"{self.percent} %"
        return f"{text}, threshold {self.threshold}" if self.threshold else text


#: Shop 1 shows all stock; shop 2 shows 80 % and hides SKUs at 5 units or fewer.
DEMO_RULES = (ChannelRules(100, 0), ChannelRules(80, 5))


@dataclass
class Fakes:
    """The running fakes and their servers."""

    store: Any
    store_server: RunningServer
    channel: Any
    channel_server: RunningServer
    store_platform: str = STORE_PLATFORM


@contextmanager
def running_fakes(pm: ShelfsyncPluginManager, *, products: int, variants: int, seed: int,
                  shops: int = 2, store_platform: str = STORE_PLATFORM,
                  **store_options: Any) -> Iterator[Fakes]:
    """Serve a store fake (Shopify unless `store_platform` names another installed store
    plugin) and a TikTok fake (`shops` shops) built from the same seed."""
    factories = dict(pm.hook.shelfsync_fake_factory())
    missing = [p for p in (store_platform, CHANNEL_PLATFORM) if p not in factories]
    if missing:
        raise RuntimeError(f"the demo needs the {' and '.join(missing)} plugin(s) installed, "
                           "with a fake")
    store = factories[store_platform](products=products, variants=variants, seed=seed,
                                      **store_options)
    channel = factories[CHANNEL_PLATFORM](shops=shops, products=products, variants=variants,
                                          seed=seed)
    with ExitStack() as stack:
        store_server = stack.enter_context(serving(store))
        channel_server = stack.enter_context(serving(channel))
        yield Fakes(store, store_server, channel, channel_server, store_platform)


@dataclass
class DemoOrganization:
    """Ids of what `connect_organization` created."""

    organization_id: int
    store_id: int
    channel_ids: list[int] = field(default_factory=list)


def connect_organization(
    session: Session,
    fakes: Fakes,
    *,
    name: str,
    rules: Sequence[ChannelRules] = DEMO_RULES,
    settings: Mapping[str, Any] | None = None,
) -> DemoOrganization:
    """An organization with the store fake connected and one channel per shop of the fake.

    `settings` are added to every connection's settings (tests pass tiny retry backoffs).
    Credentials are encrypted with `SHELFSYNC_SECRET_KEY`.
    """
    extra = dict(settings or {})
    organization = Organization(name=name)
    session.add(organization)
    session.flush()
    assert organization.id is not None
    store_entry = fakes.store.connections()[0]
    store_settings = dict(store_entry.get("settings") or {})
    if store_entry.get("api_version"):
        store_settings["api_version"] = store_entry["api_version"]
    store = add_store_connection(
        session,
        organization_id=organization.id,
        platform=fakes.store_platform,
        base_url=fakes.store_server.base_url,
        credentials=store_entry["credentials"],
        settings={**store_settings, **extra},
        store_id=store_entry.get("shop"),
        store_name=str(store_entry.get("name", "")),
    )
    demo = DemoOrganization(organization.id, int(store.id or 0))
    channel_url = fakes.channel_server.base_url
    for index, entry in enumerate(fakes.channel.connections()):
        channel = ChannelConnection(
            organization_id=organization.id,
            platform=CHANNEL_PLATFORM,
            base_url=channel_url,
            settings={"auth_base_url": channel_url, **extra},
            shop_id=str(entry["id"]),
            shop_name=str(entry.get("name", "")),
        )
        channel.set_credentials(entry["credentials"])
        session.add(channel)
        session.flush()
        assert channel.id is not None
        rule = rules[index % len(rules)]
        settings_row = ChannelSettings(channel_id=channel.id, percent=rule.percent,
                                       threshold=rule.threshold)
        rate = _demo_rate(fakes, index)
        if rate is not None:
            settings_row.currency_rate = Decimal(rate)
        session.add(settings_row)
        demo.channel_ids.append(channel.id)
    session.flush()
    return demo


def _demo_rate(fakes: Fakes, index: int) -> str | None:
    """The demo's rate for shop `index` when it sells in another currency than the store."""
    store_currency = getattr(getattr(fakes.store, "store", None), "currency", None)
    shops = getattr(fakes.channel, "shops", [])
    shop_currency = getattr(shops[index], "currency", None) if index < len(shops) else None
    if not store_currency or not shop_currency or store_currency == shop_currency:
        return None
    return DEMO_RATES.get((store_currency, shop_currency))


def shopify_graphql(fakes: Fakes, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """One Admin GraphQL call to the store fake; RuntimeError on errors or userErrors."""
    entry = fakes.store.connections()[0]
    url = (f"{fakes.store_server.base_url}/admin/api/{entry.get('api_version', '2025-04')}"
           "/graphql.json")
    response = httpx.post(url, json={"query": query, "variables": dict(variables)},
                          headers={"X-Shopify-Access-Token": entry["credentials"]["access_token"]},
                          timeout=10.0)
    response.raise_for_status()
    body = response.json()
    problems = list(body.get("errors") or [])
    for payload in (body.get("data") or {}).values():
        problems.extend((payload or {}).get("userErrors") or [])
    if problems:
        raise RuntimeError(f"Shopify fake refused the call: {problems}")
    return body


def subscribe_store_webhooks(fakes: Fakes, receiver_url: str) -> None:
    """Subscribe the receiver to the store's stock changes (Shopify's own subscription API)."""
    shopify_graphql(fakes, SUBSCRIBE, {"topic": "INVENTORY_LEVELS_UPDATE",
                                       "sub": {"callbackUrl": receiver_url, "format": "JSON"}})


def stock_targets(session: Session, demo: DemoOrganization) -> list[str]:
    """The store's linked SKUs: what the ticker changes."""
    linked = set(session.exec(select(SkuLink.store_sku).where(
        SkuLink.channel_id.in_(demo.channel_ids))))  # type: ignore[attr-defined]
    variants = session.exec(select(CatalogVariant.sku).where(
        CatalogVariant.store_connection_id == demo.store_id)).all()
    return sorted({sku for sku in variants if sku in linked})


class StockTicker:
    """Changes a random linked SKU's stock in the store every `interval` seconds."""

    def __init__(self, fakes: Fakes, targets: Sequence[str], *, seed: int,
                 interval: float, announce: Callable[[str], None]) -> None:
        self.fakes = fakes
        self.targets = list(targets)
        self.random = random.Random(seed)
        self.interval = interval
        self.announce = announce

    def tick(self) -> None:
        """One stock change in the store fake, made as a merchant would make it (the fake
        sends the webhook its platform would send, or none where the platform sends none)."""
        sku = self.random.choice(self.targets)
        delta = self.random.choice([-7, -5, -3, -2, -1, 1, 2, 4, 6, 9])
        response = httpx.post(f"{self.fakes.store_server.base_url}/_fake/stock",
                              json={"sku": sku, "delta": delta}, timeout=10.0)
        if response.status_code >= 400:
            self.announce(f"store  {sku:<16} stock change refused by the fake: "
                          f"{response.text[:200]}")
            return
        self.announce(f"store  {sku:<16} stock {delta:+d}")

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set."""
        while not stop.wait(self.interval):
            if self.targets:
                self.tick()


class PushPrinter:
    """Prints each push the engine audits, one line each, as it happens.

    Reads the append-only inventory audit, so it sees pushes made by any worker, in this
    process or another; "from" is what the engine recorded the channel showing before.
    """

    def __init__(self, engine: Engine, demo: DemoOrganization,
                 announce: Callable[[str], None]) -> None:
        self.engine = engine
        self.demo = demo
        self.announce = announce
        self.last_id = 0
        with Session(engine) as session:
            rows = session.exec(select(ChannelConnection.id, ChannelConnection.shop_name).where(
                ChannelConnection.organization_id == demo.organization_id)).all()
        self.shop_names = {int(cid): name or f"shop {cid}" for cid, name in rows}

    def poll(self) -> int:
        """Print the audit rows added since the last poll; returns how many pushes."""
        with Session(self.engine) as session:
            rows = session.exec(select(InventoryAudit).where(
                InventoryAudit.id > self.last_id,  # type: ignore[operator]
                InventoryAudit.channel_id.in_(self.demo.channel_ids),  # type: ignore[attr-defined]
            ).order_by(InventoryAudit.id)).all()  # type: ignore[arg-type]
        printed = 0
        for row in rows:
            self.last_id = max(self.last_id, int(row.id or 0))
            if row.outcome == "skipped":
                continue
            shop = self.shop_names.get(row.channel_id, f"channel {row.channel_id}")
            before = (row.inputs or {}).get("from_quantity")
            before_text = "?" if before is None else str(before)
            if row.outcome == "ok" and row.quantity is not None:
                self.announce(f"push   {row.sku:<16} {shop:<22} {before_text:>5} → "
                              f"{row.quantity:<5} {row.reason}")
                printed += 1
            else:
                self.announce(f"FAILED {row.sku:<16} {shop:<22} {row.error_code or ''}: "
                              f"{row.error_message or row.reason}")
        return printed

    def run(self, stop: threading.Event, every: float = 0.25) -> None:
        """Poll until `stop` is set (and once more after, to print the last pushes)."""
        while not stop.wait(every):
            self.poll()
        self.poll()


def wait_for(condition: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


class OrderPlacer:
    """Places a buyer's order on a random shop every `interval` seconds, through the TikTok
    fake's control API; now and then in TikTok's ON_HOLD window, which the fake ends by
    itself a few seconds later (a short `on_hold_seconds`; TikTok's is an hour) and sends the
    status webhook."""

    def __init__(self, fakes: Fakes, shops: Mapping[int, Sequence[str]], *, seed: int,
                 interval: float, announce: Callable[[str], None]) -> None:
        self.fakes = fakes
        self.shops = {index: list(skus) for index, skus in shops.items() if skus}
        self.random = random.Random(f"{seed}:orders")
        self.interval = interval
        self.announce = announce

    def _control(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.fakes.channel_server.base_url}/_fake/{path}", json=body,
                          timeout=10)

    def tick(self) -> None:
        """Place one order (the request also lets the fake end holds that are due)."""
        shop = self.random.choice(sorted(self.shops))
        sku = self.random.choice(self.shops[shop])
        body: dict[str, Any] = {"shop": shop, "seller_skus": {sku: self.random.choice([1, 1, 2])},
                                "status": "AWAITING_SHIPMENT"}
        if self.random.random() < 0.25:
            body.update(status="ON_HOLD", on_hold_seconds=max(1, round(3 * self.interval)))
        answer = self._control("orders", body)
        if answer.status_code != 201:
            self.announce(f"order  (not placed on shop {shop + 1}: {answer.text[:80]})")

    def run(self, stop: threading.Event) -> None:
        """Place orders until `stop` is set."""
        while not stop.wait(self.interval):
            if self.shops:
                try:
                    self.tick()
                except httpx.HTTPError as exc:
                    self.announce(f"order  (the TikTok fake did not answer: {exc})")


def order_skus(session: Session, demo: DemoOrganization) -> dict[int, list[str]]:
    """Shop index → the seller SKUs linked in it (what the order placer buys)."""
    found: dict[int, list[str]] = {}
    for index, channel_id in enumerate(demo.channel_ids):
        found[index] = sorted(set(session.exec(select(SkuLink.store_sku).where(
            SkuLink.channel_id == channel_id))))
    return found


class OrderPrinter:
    """Prints each channel order once it is created in the store, skipped or failed."""

    def __init__(self, engine: Engine, demo: DemoOrganization,
                 announce: Callable[[str], None]) -> None:
        self.engine = engine
        self.demo = demo
        self.announce = announce
        self.seen: dict[int, str] = {}
        with Session(engine) as session:
            rows = session.exec(select(ChannelConnection.id, ChannelConnection.shop_name).where(
                ChannelConnection.organization_id == demo.organization_id)).all()
        self.shop_names = {int(cid): name or f"shop {cid}" for cid, name in rows}

    def poll(self) -> int:
        """Print the orders that reached a new final state; returns how many lines."""
        with Session(self.engine) as session:
            rows = session.exec(select(OrderBinding).where(
                OrderBinding.channel_id.in_(self.demo.channel_ids),  # type: ignore[attr-defined]
                OrderBinding.status.in_(("created", "failed", "skipped")),  # type: ignore[attr-defined]
            )).all()
        printed = 0
        for row in sorted(rows, key=lambda r: r.updated_at):
            key = f"{row.status}:{row.failure_reason_code}"
            if row.id is None or self.seen.get(row.id) == key:
                continue
            self.seen[row.id] = key
            shop = self.shop_names.get(row.channel_id, f"channel {row.channel_id}")
            if row.status == "created":
                self.announce(f"order  {row.channel_order_id}  {shop}  → store order "
                              f"{row.store_order_name}")
            else:
                self.announce(f"order  {row.channel_order_id}  {shop}  {row.status.upper()} "
                              f"{row.failure_reason_code}: {(row.fix_hint or '')[:120]}")
            printed += 1
        return printed

    def run(self, stop: threading.Event, every: float = 0.25) -> None:
        """Poll until `stop` is set (and once more after)."""
        while not stop.wait(every):
            self.poll()
        self.poll()
