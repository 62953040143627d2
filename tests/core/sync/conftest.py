"""A merchant for the engine tests: one Shopify store and two TikTok shops, over real HTTP.

Both fakes share seed, products and variants, so the shops list the store's SKUs (with the
TikTok fake's deliberate gaps). Shop 1 shows 100 % of stock; shop 2 shows 50 % with an
out-of-stock threshold of 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session

from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    Organization,
    add_store_connection,
)
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.sync.catalog import refresh_catalog
from shelfsync.core.sync.linking import refresh_listings
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.plugins.shopify.fake import ShopifyFake
from shelfsync.plugins.tiktok.fake import TikTokFake

FAST = {"retry_backoff": 0.01, "retry_max_backoff": 0.05, "retry_attempts": 3, "timeout": 5}
UPDATE = "/inventory/update"
RULES = [{"percent": 100, "threshold": 0}, {"percent": 50, "threshold": 3}]


@dataclass
class World:
    """The merchant's database rows and the two running fakes."""

    session: Session
    pm: ShelfsyncPluginManager
    shopify: RunningServer
    tiktok: RunningServer
    org_id: int
    store_id: int
    channel_ids: list[int] = field(default_factory=list)

    def control(self, server: RunningServer, method: str, name: str,
                body: dict[str, Any] | None = None, **params: Any) -> Any:
        response = httpx.request(method, f"{server.base_url}/_fake/{name}", json=body,
                                 params=params or None, timeout=10)
        response.raise_for_status()
        return response.json()

    def store_stock(self, sku: str) -> dict[str, Any]:
        """The Shopify fake's record of a SKU: policy, tracked, levels."""
        return self.control(self.shopify, "GET", "stock", sku=sku)

    def set_stock(self, sku: str, available: int) -> None:
        """Set the SKU's available stock at its first active location, as a merchant would."""
        self.control(self.shopify, "POST", "stock", {"sku": sku, "available": available})

    def bump(self, sku: str, delta: int) -> None:
        """Change the SKU's stock at its first active location by `delta`."""
        self.control(self.shopify, "POST", "stock", {"sku": sku, "delta": delta})

    def shown(self, shop: int) -> dict[str, int]:
        """seller_sku -> total available, read from the TikTok fake over HTTP."""
        state = self.control(self.tiktok, "GET", "state", inventory="1")
        return state["shops"][shop]["inventory"]

    def update_calls(self) -> int:
        """Inventory update calls the TikTok fake answered since the last reset."""
        counts = self.control(self.tiktok, "GET", "requests")["by_path"]
        return sum(n for path, n in counts.items() if path.endswith(UPDATE))

    def reset_counts(self) -> None:
        self.control(self.tiktok, "DELETE", "requests")
        self.control(self.shopify, "DELETE", "requests")

    def expected(self, sku: str, shop: int) -> int:
        """What the rules say shop `shop` should show, computed here from the fake's state."""
        record = self.store_stock(sku)
        if record["inventory_policy"] == "CONTINUE" or not record["tracked"]:
            return 99_999
        total = max(0, sum(lv["available"] for lv in record["levels"] if lv["location_active"]))
        rule = RULES[shop]
        return 0 if total <= rule["threshold"] else total * rule["percent"] // 100

    def plain_sku(self) -> str:
        """A tracked, DENY-policy SKU listed live in both shops in one warehouse."""
        for product in (0, 1, 3, 5):
            sku = f"SKU-0-{product + 1:05d}-01"
            record = self.store_stock(sku)
            if record["tracked"] and record["inventory_policy"] == "DENY":
                return sku
        raise AssertionError("no plain SKU in the seeded catalog")


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")


@pytest.fixture
def pm() -> ShelfsyncPluginManager:
    return get_plugin_manager()


@pytest.fixture
def world(session: Session, pm: ShelfsyncPluginManager, secrets: None) -> Iterator[World]:
    # A generous restore rate: these tests are about the engine, not Shopify's pacing.
    shopify_fake = ShopifyFake(products=20, variants=3, locations=3, seed=0, restore_rate=20_000)
    tiktok_fake = TikTokFake(shops=2, products=20, variants=3, seed=0)
    with serving(shopify_fake) as shopify, serving(tiktok_fake) as tiktok:
        org = Organization(name="Acme")
        session.add(org)
        session.flush()
        assert org.id is not None
        entry = shopify_fake.connections()[0]
        store = add_store_connection(
            session, organization_id=org.id, platform="shopify", base_url=shopify.base_url,
            credentials=entry["credentials"], settings={**FAST, "page_size": 60},
            store_id=entry["shop"])
        assert store.id is not None
        channel_ids = []
        for index, shop in enumerate(tiktok_fake.connections()):
            channel = ChannelConnection(
                organization_id=org.id, platform="tiktok", base_url=tiktok.base_url,
                shop_id=shop["id"], shop_name=shop["name"], credentials_token="",
                settings={**FAST, "shop_id": shop["id"], "auth_base_url": tiktok.base_url})
            channel.set_credentials(shop["credentials"])
            session.add(channel)
            session.flush()
            assert channel.id is not None
            session.add(ChannelSettings(channel_id=channel.id, **RULES[index]))
            channel_ids.append(channel.id)
        refresh_catalog(session, pm, store.id)
        session.commit()
        yield World(session, pm, shopify, tiktok, org.id, store.id, channel_ids)


#: The TikTok fake's first shop sells in GBP, the store in USD: channel = store × rate.
RATE = Decimal("0.8")


@pytest.fixture
def linked(world: World) -> Iterator[World]:
    """The world with both shops' listings read and linked by SKU, and each shop's currency
    rate set (the store sells in USD; channel price = store price × rate)."""
    for channel_id in world.channel_ids:
        refresh_listings(world.session, world.pm, channel_id)
        settings = world.session.get(ChannelSettings, channel_id)
        assert settings is not None
        settings.currency_rate = RATE
        world.session.add(settings)
    world.session.commit()
    yield world
