"""Issue 10's input attacks on the CLI, each performed for real against the fakes and the
database (SQLite and PostgreSQL): what is refused prints one `error:` line, exits 2, shows no
secret and saves nothing; what was stored badly before is reported and repaired."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from shelfsync.core.db import make_engine
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSettings,
    Location,
    Organization,
    StoreConnection,
)
from shelfsync.core.testing.server import RunningServer

from .conftest import credential_args, rate_args, run, run_json

HUGE = "9" * 30


def change(url: str, edit: Callable[[Session], None]) -> None:
    """Write to the database behind the CLI's back (a value saved by an older version)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            edit(session)
            session.commit()
    finally:
        engine.dispose()


def read(url: str, model: type[Any]) -> list[Any]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(model)).all())
    finally:
        engine.dispose()


def refused(*args: str) -> str:
    """Run a command that must be refused as bad input; its one error line."""
    result = run(*args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def connected(env: str, shopify: RunningServer, tiktok: RunningServer) -> dict[str, Any]:
    org = run_json("org", "create", "Inputs")
    store = run_json("connect", "store", "shopify", "--org", "Inputs",
                     *credential_args(shopify.app.connections()[0]["credentials"]),
                     "--api-base-url", shopify.base_url, "--setting", "retry_backoff=0.01")
    shop = tiktok.app.connections()[0]
    channel = run_json("connect", "channel", "tiktok", "--org", "Inputs",
                       *credential_args(shop["credentials"]), "--api-base-url", tiktok.base_url,
                       "--setting", f"auth_base_url={tiktok.base_url}", *rate_args(shop))
    return {"org": org["id"], "store": store["id"], "channel": channel["id"]}


# --- issue 10.3: a secret in an error line -------------------------------------------------


@pytest.mark.parametrize("token", ["shpat_SECRET\nX-Evil: 1", "shpat_SECRET\r", "shpat_SÉCRET",
                                   "shpat_SECRET\x1b[2J"])
def test_a_credential_httpx_cannot_send_is_refused_without_showing_it(
    env: str, shopify: RunningServer, token: str
) -> None:
    run_json("org", "create", "Leaky")
    good = dict(shopify.app.connections()[0]["credentials"])
    line = refused("connect", "store", "shopify", "--org", "Leaky",
                   *credential_args({**good, "access_token": token}),
                   "--api-base-url", shopify.base_url)
    assert line.startswith("error: --credential access_token:")
    assert "SECRET" not in line and "SÉCRET" not in line
    assert read(env, StoreConnection) == []


def test_a_bad_credential_stored_earlier_fails_the_sync_without_showing_it(
    env: str, connected: dict[str, Any]
) -> None:
    def spoil(session: Session) -> None:
        channel = session.get(ChannelConnection, connected["channel"])
        assert channel is not None
        channel.set_credentials({**channel.credentials(), "access_token": "tok\nSECRET-VALUE"})
        session.add(channel)

    change(env, spoil)
    result = run("sync", "inventory", "--channel", str(connected["channel"]))
    assert result.exit_code == 1, result.output
    assert "SECRET-VALUE" not in result.output and "Traceback" not in result.output
    assert "the value is not shown" in result.output


# --- issue 10.6: huge ids -------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("channel", "settings", HUGE),
    ("channel", "settings", HUGE, "--percent", "50"),
    ("reconnect", "channel", HUGE, "--credential", "access_token=x"),
    ("sync", "inventory", "--channel", HUGE),
    ("sync", "inventory", "--channel", "-1"),
    ("sync", "inventory", "--channel", "٣"),
    ("sync", "inventory", "--org", HUGE),
    ("status", "--org", HUGE),
    ("webhooks", "subscribe", "--org", HUGE, "--public-url", "https://example.com"),
    ("connection", "settings", "channel", HUGE),
    ("connection", "settings", "store", "--org", HUGE),
])
def test_an_id_beyond_64_bits_is_one_error_line(env: str, args: tuple[str, ...]) -> None:
    line = refused(*args)
    assert "must be an id" in line or "no organization" in line


# --- issue 10.7: names shadowed by ids ------------------------------------------------------


@pytest.mark.parametrize("name", ["42", " 007 ", "٣", "Acme\nerror: fake", "Red\x1b[31m"])
def test_a_name_that_would_read_as_an_id_or_break_a_line_is_refused(
    env: str, name: str
) -> None:
    line = refused("org", "create", name)
    assert line.startswith("error: NAME:")
    assert read(env, Organization) == []


def test_an_organization_is_found_by_id_and_by_name(env: str) -> None:
    first = run_json("org", "create", "Alpha")
    run_json("org", "create", "Beta")
    assert run("status", "--org", str(first["id"])).exit_code == 0
    assert run("status", "--org", "Beta").exit_code == 0


# --- issue 10.8: settings that break every sync ---------------------------------------------


@pytest.mark.parametrize(("setting", "message"), [
    ("timeout=abc", "timeout must be a number"),
    ("timeout=nan", "timeout must be a number"),
    ("timeout=-1", "timeout must be at least 0.1"),
    ("timeout=0", "timeout must be at least 0.1"),
    ("timeout=1e3", "timeout must be a number"),
    ("retry_max_backoff=1e300", "retry_max_backoff must be a number"),
    ("retry_max_backoff=100000", "retry_max_backoff must be at most 600"),
    ("page_size=abc", "page_size must be a whole number"),
    ("page_size=٣", "page_size must be a whole number"),
    ("page_size=1000", "page_size must be at most 250"),
    ("timout=5", "is not a setting of shopify"),
])
def test_a_bad_setting_is_refused_when_connecting_and_nothing_is_saved(
    env: str, shopify: RunningServer, setting: str, message: str
) -> None:
    run_json("org", "create", "Settings")
    line = refused("connect", "store", "shopify", "--org", "Settings",
                   *credential_args(shopify.app.connections()[0]["credentials"]),
                   "--api-base-url", shopify.base_url, "--setting", setting)
    assert line.startswith(f"error: --setting {setting.partition('=')[0]}:"), line
    assert message in line
    assert read(env, StoreConnection) == []


def test_bad_stored_settings_are_reported_used_as_defaults_and_repaired(
    env: str, connected: dict[str, Any]
) -> None:
    def spoil(session: Session) -> None:
        store = session.get(StoreConnection, connected["store"])
        assert store is not None
        store.settings = {**store.settings, "timeout": "abc", "page_size": "abc",
                          "retry_max_backoff": 1e300}
        session.add(store)

    change(env, spoil)
    (row,) = run_json("status", "--org", "Inputs")
    assert set(row["setting_problems"]["store"]) == {"timeout", "page_size", "retry_max_backoff"}
    human = run("status", "--org", "Inputs").stdout
    assert "BAD STORE SETTING timeout" in human and "--reset timeout" in human

    synced = run_json("sync", "inventory", "--channel", str(connected["channel"]))
    # The sync ran on the defaults: every SKU was read and decided, none failed.
    assert synced["errors"] == {} and synced["counts"]["failed"] == 0
    assert synced["items"] and synced["api_calls"]

    shown = run_json("connection", "settings", "store", "--org", "Inputs")
    assert set(shown["problems"]) == {"timeout", "page_size", "retry_max_backoff"}
    fixed = run_json("connection", "settings", "store", "--org", "Inputs",
                     "--reset", "timeout", "--reset", "retry_max_backoff",
                     "--setting", "page_size=50")
    assert fixed["problems"] == {}
    assert fixed["settings"]["page_size"] == 50 and "timeout" not in fixed["settings"]
    (store,) = read(env, StoreConnection)
    assert store.settings == {"retry_backoff": 0.01, "page_size": 50}
    (row,) = run_json("status", "--org", "Inputs")
    assert row["setting_problems"] == {}


def test_connection_settings_refuse_bad_values_all_or_nothing(
    env: str, connected: dict[str, Any]
) -> None:
    channel = str(connected["channel"])
    refused("connection", "settings", "channel", channel, "--setting", "page_size=50",
            "--setting", "qps=fast")
    refused("connection", "settings", "channel", channel, "--setting", "qps=5",
            "--reset", "qps")
    refused("connection", "settings", "channel", channel, "--setting", "qps=1",
            "--setting", "qps=2")
    (stored,) = read(env, ChannelConnection)
    assert "page_size" not in stored.settings and "qps" not in stored.settings
    changed = run_json("connection", "settings", "channel", channel, "--setting", "qps=5")
    assert changed["settings"]["qps"] == 5.0


# --- issue 10.12: numbers as ASCII digits, repeats refused ----------------------------------


@pytest.mark.parametrize("args", [
    ("rules", "preview", "--location", "a=1", "--location", "a=2"),
    ("rules", "preview", "--available", "٣"),
    ("rules", "preview", "--available", "5", "--percent", "٥٠"),
    ("rules", "preview", "--available", "5", "--percent", "10", "--percent", "90"),
    ("rules", "preview", "--available", "5", "--available", "6"),
    ("rules", "preview", "--location", "a=1", "--use-location", "a", "--use-location", "a"),
])
def test_rules_preview_refuses_unicode_digits_and_repeats(args: tuple[str, ...]) -> None:
    refused(*args)


def test_channel_settings_refuse_unicode_digits_and_repeats(
    env: str, connected: dict[str, Any]
) -> None:
    channel = str(connected["channel"])
    assert refused("channel", "settings", channel, "--percent", "٥٠").startswith(
        "error: --percent:")
    refused("channel", "settings", channel, "--percent", "50", "--percent", "10")
    (settings,) = read(env, ChannelSettings)
    assert settings.percent == 100


# --- an inactive location; names with control characters ------------------------------------


def test_an_inactive_store_location_is_refused_as_a_channel_location(
    env: str, connected: dict[str, Any]
) -> None:
    def locations(session: Session) -> None:
        session.add(Location(store_connection_id=connected["store"], location_id="L1"))
        session.add(Location(store_connection_id=connected["store"], location_id="L2",
                             active=False))

    change(env, locations)
    channel = str(connected["channel"])
    line = refused("channel", "settings", channel, "--locations", "L1,L2", "--no-recompute")
    assert line == "error: --locations: inactive store locations cannot count: L2"
    (settings,) = read(env, ChannelSettings)
    assert settings.location_mode == "all"
    ok = run_json("channel", "settings", channel, "--locations", "L1", "--no-recompute")
    assert ok["locations"] == ["L1"]


def test_names_from_a_platform_are_printed_with_control_characters_escaped(
    env: str, connected: dict[str, Any]
) -> None:
    def rename(session: Session) -> None:
        channel = session.get(ChannelConnection, connected["channel"])
        assert channel is not None
        channel.shop_name = "Shop\x1b[2J\nerror: forged line"
        session.add(channel)

    change(env, rename)
    shown = run("status").stdout
    assert "\x1b" not in shown and "\\x1b[2J" in shown
    assert not any(line.startswith("error:") for line in shown.splitlines())
    (row,) = run_json("status")
    assert row["shop_name"] == "Shop\x1b[2J\nerror: forged line"  # JSON keeps it, escaped


def test_plugins_json_lists_typed_fields_without_secret_defaults() -> None:
    listed = run_json("plugins")
    shopify = next(p for p in listed["plugins"] if p["name"] == "shopify")
    token = next(f for f in shopify["credential_fields"] if f["name"] == "access_token")
    assert token["secret"] is True and token["default"] is None
    settings = {f["name"]: f for f in shopify["setting_fields"]}
    assert settings["page_size"]["kind"] == "int" and settings["page_size"]["maximum"] == 250
    assert settings["retry_max_backoff"]["maximum"] == 600
