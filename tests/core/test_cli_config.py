"""Configuration without the UI: org create, connect store/channel, channel settings.

Runs the real commands against the Shopify and TikTok fakes over HTTP, on SQLite and
PostgreSQL, and checks what lands in the database.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from shelfsync.core import config
from shelfsync.core.crypto import generate_key
from shelfsync.core.db import make_engine
from shelfsync.core.errors import InvalidInput
from shelfsync.core.hookspecs import hookimpl
from shelfsync.core.models import ChannelConnection, ChannelSettings, StoreConnection
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.testing.server import RunningServer, serving
from shelfsync.core.types import (
    AccountInfo,
    AuthorizedShop,
    Capabilities,
    Connection,
    PlatformInfo,
    Role,
)
from shelfsync.plugins.shopify.fake import ShopifyFake
from shelfsync.plugins.tiktok.fake import TikTokFake

from .conftest import credential_args, rate_args, run, run_json


def rows(url: str, model: type[Any]) -> list[Any]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(model)).all())
    finally:
        engine.dispose()


def test_full_configuration(env: str, shopify: RunningServer, tiktok: RunningServer) -> None:
    org = run_json("org", "create", "Acme")
    assert org["name"] == "Acme"

    store_credentials = shopify.app.connections()[0]["credentials"]
    store = run_json(
        "connect", "store", "shopify", "--org", "Acme",
        *credential_args(store_credentials), "--api-base-url", shopify.base_url,
    )  # fmt: skip
    assert store["platform"] == "shopify"

    shops = tiktok.app.connections()
    channel_ids = []
    for shop in shops:
        channel = run_json(
            "connect", "channel", "tiktok", "--org", str(org["id"]),
            *credential_args(shop["credentials"]), "--api-base-url", tiktok.base_url,
            "--setting", f"auth_base_url={tiktok.base_url}", *rate_args(shop),
        )  # fmt: skip
        assert channel["shop_id"] == shop["id"]
        assert channel["shop_name"] == shop["name"]
        assert channel["currency_rate"] == (rate_args(shop) or [None, "1"])[1]
        channel_ids.append(channel["id"])

    changed = run_json(
        "channel", "settings", str(channel_ids[1]), "--percent", "80", "--threshold", "5",
        "--no-honor-continue-selling", "--inventory-sync", "off",
    )  # fmt: skip
    assert changed["percent"] == 80 and changed["threshold"] == 5
    assert changed["honor_continue_selling"] is False and changed["inventory_sync"] is False

    (stored_store,) = rows(env, StoreConnection)
    assert stored_store.credentials()["access_token"] == store_credentials["access_token"]
    channels = {c.id: c for c in rows(env, ChannelConnection)}
    assert channels[channel_ids[0]].settings["auth_base_url"] == tiktok.base_url
    settings = {s.channel_id: s for s in rows(env, ChannelSettings)}
    assert settings[channel_ids[0]].percent == 100
    assert settings[channel_ids[1]].percent == 80


def test_a_shop_in_another_currency_is_connected_with_its_rate(
        env: str, shopify: RunningServer, tiktok: RunningServer) -> None:
    run_json("org", "create", "Rates")
    run_json("connect", "store", "shopify", "--org", "Rates",
             *credential_args(shopify.app.connections()[0]["credentials"]),
             "--api-base-url", shopify.base_url)
    gb = tiktok.app.connections()[0]  # sells in GBP; the store prices in USD
    args = ["connect", "channel", "tiktok", "--org", "Rates",
            *credential_args(gb["credentials"]), "--api-base-url", tiktok.base_url,
            "--setting", f"auth_base_url={tiktok.base_url}"]
    for extra, line in (
        ([], "error: --currency-rate: This shop sells in GBP and your store prices in USD: "
             "enter how many GBP one USD buys"),
        (["--currency-rate", "1"], "error: --currency-rate: This shop sells in GBP and your "
                                   "store prices in USD: enter how many GBP one USD buys (a "
                                   "rate of 1 would leave prices unconverted)"),
        (["--currency-rate", "0,79"], "error: --currency-rate: must be a positive number such "
                                      "as 0.79 (digits 0-9, at most 6 decimals, below "
                                      "1,000,000), got '0,79'"),
    ):
        result = run(*args, *extra)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert result.stderr.strip().splitlines() == [line]
    assert rows(env, ChannelConnection) == []

    result = run(*args, "--currency-rate", "0.79")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().endswith(f"shop {gb['name']}, currency rate 0.79")
    (channel,) = rows(env, ChannelConnection)
    shown = run_json("channel", "settings", str(channel.id))
    assert shown["currency_rate"] == "0.79"
    # Changed later (the hint of a currency_mismatch order says so); not a quantity rule.
    changed = run_json("channel", "settings", str(channel.id), "--currency-rate", "0.8")
    assert changed["currency_rate"] == "0.8" and "recompute" not in changed
    result = run("channel", "settings", str(channel.id), "--currency-rate", "0")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: --currency-rate: must be a positive number")


def test_second_store_refused_clearly(env: str, shopify: RunningServer) -> None:
    run_json("org", "create", "Solo")
    args = [
        "connect", "store", "shopify", "--org", "Solo",
        *credential_args(shopify.app.connections()[0]["credentials"]),
        "--api-base-url", shopify.base_url,
    ]  # fmt: skip
    assert run(*args).exit_code == 0
    again = run(*args)
    assert again.exit_code == 1
    assert "already has a store connected" in again.stderr
    assert len(rows(env, StoreConnection)) == 1


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"access_token": "x"}, "missing for shopify: client_secret"),
        (
            {"access_token": "x", "client_secret": "y", "password": "z"},
            "unknown for shopify: password",
        ),
    ],
)
def test_credential_keys_checked_by_name(
    env: str, shopify: RunningServer, credentials: dict[str, str], message: str
) -> None:
    run_json("org", "create", "Keys")
    result = run(
        "connect", "store", "shopify", "--org", "Keys", *credential_args(credentials),
        "--api-base-url", shopify.base_url,
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.stderr
    assert rows(env, StoreConnection) == []


def test_wrong_credentials_are_checked_live_and_not_saved(env: str, shopify: RunningServer) -> None:
    run_json("org", "create", "Wrong")
    result = run(
        "connect", "store", "shopify", "--org", "Wrong",
        "--credential", "access_token=not-the-token", "--credential", "client_secret=s",
        "--api-base-url", shopify.base_url,
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error:")
    assert "not-the-token" not in result.stderr
    assert rows(env, StoreConnection) == []


def test_private_urls_refused_unless_allowed(
    env: str, shopify: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHELFSYNC_ALLOW_PRIVATE_URLS")
    run_json("org", "create", "Private")
    result = run(
        "connect", "store", "shopify", "--org", "Private",
        *credential_args(shopify.app.connections()[0]["credentials"]),
        "--api-base-url", shopify.base_url,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "non-public address 127.0.0.1" in result.stderr
    assert "SHELFSYNC_ALLOW_PRIVATE_URLS" in result.stderr


def test_channel_settings_out_of_range(env: str, tiktok: RunningServer) -> None:
    run_json("org", "create", "Ranges")
    shop = tiktok.app.connections()[0]
    channel = run_json(
        "connect", "channel", "tiktok", "--org", "Ranges", *credential_args(shop["credentials"]),
        "--api-base-url", tiktok.base_url, "--setting", f"auth_base_url={tiktok.base_url}",
    )  # fmt: skip
    for option, value, field in [
        ("--percent", "150", "--percent"),
        ("--percent", "half", "--percent"),
        ("--threshold", "-2", "--threshold"),
        ("--inventory-sync", "maybe", "--inventory-sync"),
    ]:
        result = run("channel", "settings", str(channel["id"]), option, value)
        assert result.exit_code == 2, (option, value)
        assert result.stderr.strip().startswith(f"error: {field}")
    shown = run_json("channel", "settings", str(channel["id"]))
    assert shown["percent"] == 100


def test_unknown_org_and_platform(env: str) -> None:
    result = run("connect", "store", "shopify", "--org", "nobody")
    assert result.exit_code == 2 and "no organization 'nobody'" in result.stderr
    run_json("org", "create", "Someone")
    result = run("connect", "store", "tiktok", "--org", "Someone")
    assert result.exit_code == 2 and "tiktok is a channel platform" in result.stderr
    duplicate = run("org", "create", "Someone")
    assert duplicate.exit_code == 2 and "already exists" in duplicate.stderr


# --- config functions: a multi-shop channel, settings changes all-or-nothing ------------------


TWO_SHOPS = PlatformInfo(
    name="twoshops",
    title="Two shops",
    role=Role.CHANNEL,
    capabilities=Capabilities(multi_shop=True),
    credential_fields=("token", "shop_cipher"),
)


class TwoShopsPlugin:
    """A channel whose one token is authorized for two shops (as a TikTok seller can be)."""

    @hookimpl
    def shelfsync_platform_info(self) -> PlatformInfo:
        return TWO_SHOPS

    @hookimpl
    def shelfsync_check_connection(self, connection: Connection) -> AccountInfo | None:
        # No one shop: the token is the app's; the shop is picked from the authorized ones.
        return AccountInfo(platform_id="") if connection.platform == "twoshops" else None

    @hookimpl
    def shelfsync_fetch_authorized_shops(
        self, connection: Connection
    ) -> list[AuthorizedShop] | None:
        if connection.platform != "twoshops":
            return None
        return [
            AuthorizedShop("A", "Shop A", cipher="CIPHER-A"),
            AuthorizedShop("B", "Shop B", cipher="CIPHER-B"),
        ]


@pytest.fixture
def two_shops(monkeypatch: pytest.MonkeyPatch) -> ShelfsyncPluginManager:
    monkeypatch.setenv("SHELFSYNC_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    pm = get_plugin_manager(load_entry_points=False)
    pm.register(TwoShopsPlugin(), name="twoshops")
    return pm


def _connect(
    session: Session, pm: ShelfsyncPluginManager, shop_id: str | None, cipher: str
) -> ChannelConnection:
    org = config.create_organization(session, f"Org {shop_id}-{cipher}")
    return config.connect_channel(
        session,
        pm,
        org,
        "twoshops",
        {"token": "t", "shop_cipher": cipher},
        "https://shops.example",
        shop_id=shop_id,
    )


def test_shop_id_and_cipher_of_different_shops_are_refused(
    session: Session, two_shops: ShelfsyncPluginManager
) -> None:
    """Shop B's webhooks must not be routed to a channel whose calls go to shop A."""
    with pytest.raises(InvalidInput, match="shop_cipher"):
        _connect(session, two_shops, "B", "CIPHER-A")
    assert _connect(session, two_shops, "B", "CIPHER-B").shop_id == "B"
    assert _connect(session, two_shops, None, "CIPHER-A").shop_name == "Shop A"


@pytest.fixture
def channel(session: Session, two_shops: ShelfsyncPluginManager) -> ChannelConnection:
    return _connect(session, two_shops, "A", "CIPHER-A")


@pytest.mark.parametrize(
    "changes",
    [
        {"percent": 50, "threshold": -1},
        {"percent": 50, "channel_id": 999},
        {"inventory_sync": False, "percent": True},
        {"threshold": 3, "auto_link": "no"},
        {"percent": 50, "locations": ""},
    ],
)
def test_a_refused_settings_change_applies_nothing(
    session: Session, channel: ChannelConnection, changes: dict[str, Any]
) -> None:
    assert channel.id is not None
    with pytest.raises(InvalidInput):
        config.update_channel_settings(session, channel, changes)
    settings = config.channel_settings(session, channel.id)
    assert (settings.channel_id, settings.percent, settings.threshold) == (channel.id, 100, 0)
    assert settings.inventory_sync is True and settings.auto_link is True


def test_settings_changes_are_applied_together(
    session: Session, channel: ChannelConnection
) -> None:
    changed = config.update_channel_settings(
        session, channel, {"percent": 80, "threshold": 4, "order_sync": False, "locations": "all"}
    )
    assert (changed.percent, changed.threshold, changed.order_sync) == (80, 4, False)
    assert changed.location_mode == "all"


def test_a_settings_change_is_recomputed_at_once(env: str) -> None:
    # Fakes of its own: the shared ones may already show what this test pushes.
    with (
        serving(ShopifyFake(products=3, variants=2, seed=7)) as shopify,
        serving(TikTokFake(shops=1, products=3, variants=2, seed=7)) as tiktok,
    ):
        _settings_change_is_recomputed(shopify, tiktok)


def _settings_change_is_recomputed(shopify: RunningServer, tiktok: RunningServer) -> None:
    org = run_json("org", "create", "Recompute")
    run_json(
        "connect", "store", "shopify", "--org", "Recompute",
        *credential_args(shopify.app.connections()[0]["credentials"]),
        "--api-base-url", shopify.base_url, "--setting", "retry_backoff=0.01",
    )  # fmt: skip
    shop = tiktok.app.connections()[0]
    channel = run_json(
        "connect", "channel", "tiktok", "--org", "Recompute", *credential_args(shop["credentials"]),
        "--api-base-url", tiktok.base_url, "--setting", f"auth_base_url={tiktok.base_url}",
        "--shop-id", str(shop["id"]), *rate_args(shop),
    )  # fmt: skip
    first = run_json("sync", "inventory", "--org", str(org["id"]))
    assert first["counts"]["pushed"] > 0, first

    changed = run_json("channel", "settings", str(channel["id"]), "--percent", "50")
    assert changed["recompute"]["ok"] is True
    assert changed["recompute"]["pushed"] > 0
    again = run_json("channel", "settings", str(channel["id"]), "--percent", "50")
    assert again["recompute"]["pushed"] == 0
    quiet = run_json("channel", "settings", str(channel["id"]), "--percent", "40", "--no-recompute")
    assert "recompute" not in quiet
