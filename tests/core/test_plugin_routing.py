"""Routing: core calls an operation only on the plugin registered for the connection's platform.

Plugins carry no "not my platform" guard; a missing hook is a configuration error that is
never retried (neither by the engine nor by the broker's Retries middleware); `None` from a
plugin that implements the hook is a plugin bug; `shelfsync plugins` names what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlmodel import Session

from shelfsync.core.broker import should_retry
from shelfsync.core.cli import build_cli
from shelfsync.core.errors import (
    ConfigurationError,
    HookNotImplemented,
    PluginContractError,
    PluginMissing,
)
from shelfsync.core.hookspecs import REQUIRED_HOOKS, hookimpl
from shelfsync.core.models import Organization, add_store_connection
from shelfsync.core.plugins import ShelfsyncPluginManager, get_plugin_manager
from shelfsync.core.sync.catalog import fetch_policies, fetch_stock, refresh_catalog
from shelfsync.core.types import (
    BackorderPolicy,
    Capabilities,
    Connection,
    Location,
    PlatformInfo,
    Role,
    StockLevel,
)


class Store:
    """A store plugin without a single platform check: it records every call it gets."""

    def __init__(self, name: str, *, flags: bool = True) -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []
        if not flags:  # a plugin that lacks a required hook
            self.shelfsync_fetch_backorder_policies = None  # type: ignore[assignment]

    @hookimpl
    def shelfsync_platform_info(self) -> PlatformInfo:
        return PlatformInfo(name=self.name, title=self.name.title(), role=Role.STORE,
                            capabilities=Capabilities(), credential_fields=("token",))

    @hookimpl
    def shelfsync_fetch_locations(self, connection: Connection) -> list[Location]:
        self.calls.append(("fetch_locations", connection.platform))
        return [Location(id=f"{self.name}-loc", name="Main")]

    @hookimpl
    def shelfsync_fetch_stock_levels(self, connection: Connection,
                                     skus: Sequence[str] | None) -> list[StockLevel]:
        self.calls.append(("fetch_stock_levels", connection.platform))
        return [StockLevel(sku="A", location_id=f"{self.name}-loc", available=3)]

    @hookimpl
    def shelfsync_fetch_backorder_policies(self, connection: Connection,
                                           skus: Sequence[str] | None) -> list[BackorderPolicy]:
        self.calls.append(("fetch_backorder_policies", connection.platform))
        return [BackorderPolicy(sku="A", continue_selling=False)]


class Broken(Store):
    """Implements the stock read but answers None: a plugin bug."""

    @hookimpl
    def shelfsync_fetch_stock_levels(self, connection: Connection,  # type: ignore[override]
                                     skus: Sequence[str] | None) -> None:
        return None


class Observer:
    """A plugin serving no platform: its wrapper sees every platform's calls."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(wrapper=True)
    def shelfsync_fetch_stock_levels(self, connection: Connection) -> Any:
        self.seen.append(connection.platform)
        return (yield)


def manager(*plugins: object) -> ShelfsyncPluginManager:
    pm = get_plugin_manager(load_entry_points=False)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def connection(platform: str) -> Connection:
    return Connection(platform, "https://store.example", {"token": "t"}, id=1)


def test_each_plugin_gets_only_its_own_platforms_calls() -> None:
    alpha, beta = Store("alpha"), Store("beta")
    pm = manager(alpha, beta)
    assert pm.call(connection("alpha"), "shelfsync_fetch_locations")[0].id == "alpha-loc"
    assert pm.call(connection("beta"), "shelfsync_fetch_locations")[0].id == "beta-loc"
    pm.call(connection("alpha"), "shelfsync_fetch_stock_levels", skus=None)
    assert alpha.calls == [("fetch_locations", "alpha"), ("fetch_stock_levels", "alpha")]
    assert beta.calls == [("fetch_locations", "beta")]


def test_the_route_is_cached_per_platform_and_dropped_on_unregister() -> None:
    alpha, beta = Store("alpha"), Store("beta")
    pm = manager(alpha, beta)
    caller = pm.caller("alpha", "shelfsync_fetch_locations")
    assert pm.caller("alpha", "shelfsync_fetch_locations") is caller
    pm.unregister(beta)
    pm.register(beta)
    assert pm.caller("alpha", "shelfsync_fetch_locations") is not caller
    pm.unregister(alpha)
    with pytest.raises(PluginMissing, match="no plugin for platform 'alpha'"):
        pm.call(connection("alpha"), "shelfsync_fetch_locations")


def test_a_wrapper_of_a_plugin_serving_no_platform_still_sees_the_call() -> None:
    observer = Observer()
    pm = manager(Store("alpha"), Store("beta"), observer)
    pm.call(connection("beta"), "shelfsync_fetch_stock_levels", skus=None)
    assert observer.seen == ["beta"]


def test_a_missing_required_hook_is_a_configuration_error_never_retried() -> None:
    pm = manager(Store("alpha", flags=False), Store("beta"))
    with pytest.raises(HookNotImplemented) as raised:
        fetch_policies(pm, connection("alpha"), ["A"], None)
    error = raised.value
    assert isinstance(error, ConfigurationError) and not error.retryable
    assert error.hook == "shelfsync_fetch_backorder_policies"
    assert error.code == "hook_not_implemented"
    assert "alpha" in str(error) and "shelfsync_fetch_backorder_policies" in str(error)
    retry_when = should_retry(max_retries=20)
    assert not retry_when(0, error)  # type: ignore[operator]
    # Beta's implementation is never borrowed for alpha's connection.
    assert pm.call(connection("beta"), "shelfsync_fetch_backorder_policies", skus=None)


def test_none_from_an_implemented_hook_is_a_plugin_bug_never_retried() -> None:
    pm = manager(Broken("alpha"))
    with pytest.raises(PluginContractError, match="alpha plugin answered None") as raised:
        fetch_stock(pm, connection("alpha"), ["A"], None)
    assert not raised.value.retryable
    assert not should_retry(max_retries=20)(0, raised.value)  # type: ignore[operator]


def test_a_platform_two_plugins_claim_is_refused() -> None:
    pm = manager(Store("alpha"), Store("alpha"))
    with pytest.raises(PluginMissing, match="claim platform 'alpha'"):
        pm.call(connection("alpha"), "shelfsync_fetch_locations")


def test_only_operation_hooks_are_routed() -> None:
    with pytest.raises(ValueError, match="not an operation hook"):
        manager(Store("alpha")).caller("alpha", "shelfsync_platform_info")


def test_missing_hooks_per_platform() -> None:
    pm = manager(Store("alpha", flags=False))
    missing = pm.missing_hooks("alpha")
    assert "shelfsync_fetch_backorder_policies" in missing
    assert "shelfsync_fetch_stock_levels" not in missing
    assert set(missing) <= set(REQUIRED_HOOKS[Role.STORE])


def test_the_built_in_plugins_miss_no_required_hook() -> None:
    pm = get_plugin_manager()
    for platform in ("shopify", "tiktok"):
        assert pm.missing_hooks(platform) == [], platform


def test_a_catalog_refresh_without_the_hook_loses_nothing(session: Session,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The engine's catalog refresh stops at the configuration error (no catalog hook) and
    the store's stored state is untouched: no BadResponse, so nothing retries it."""
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", Fernet.generate_key().decode())
    org = Organization(name="Routing")
    session.add(org)
    session.flush()
    assert org.id is not None
    store = add_store_connection(session, organization_id=org.id, platform="alpha",
                                 base_url="https://store.example", credentials={"token": "t"})
    assert store.id is not None
    pm = manager(Store("alpha"))
    with pytest.raises(HookNotImplemented, match="shelfsync_fetch_catalog"):
        refresh_catalog(session, pm, store.id)


def test_shelfsync_plugins_lists_missing_required_hooks(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    pm = manager(Store("alpha", flags=False), Store("beta"))
    monkeypatch.setattr("shelfsync.core.commands.plugins.plugin_manager", lambda: pm)
    result = CliRunner().invoke(build_cli(), ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["platform"]: p for p in json.loads(result.stdout)["plugins"]}
    assert "shelfsync_fetch_backorder_policies" in plugins["alpha"]["missing_hooks"]
    assert "shelfsync_fetch_catalog" in plugins["alpha"]["missing_hooks"]
    assert "shelfsync_fetch_backorder_policies" not in plugins["beta"]["missing_hooks"]
    human = CliRunner().invoke(build_cli(), ["plugins"]).stdout.splitlines()
    missing = [line for line in human if "MISSING required hooks of a store: " in line]
    assert len(missing) == 2  # both lack hooks: alpha its flags read among them, beta not
    assert sum("shelfsync_fetch_backorder_policies" in line for line in missing) == 1
