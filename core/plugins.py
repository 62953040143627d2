"""The plugin manager: entry-point discovery in the `shelfsync` group, and routing.

Built-in plugins are declared in pyproject.toml's `shelfsync` entry-point group exactly as a
third-party plugin declares itself, so core never imports a plugin and a new platform needs
no change here. Nothing is loaded at import time: call `get_plugin_manager()`.

Routing: core calls an operation hook (`hookspecs.OPERATION_HOOKS`) only on the plugin whose
`shelfsync_platform_info()` names the connection's platform — `pm.call(connection, name,
**kwargs)` — through pluggy's `subset_hook_caller`, cached per platform and hook. Plugins
therefore carry no "not my platform" guard; a plugin lacking the hook is a
`HookNotImplemented` configuration error (never retried), and `None` from a plugin that does
implement it is a `PluginContractError` (a plugin bug), so `None` means nothing in core.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import click
import pluggy

from shelfsync.core import hookspecs
from shelfsync.core.connection_cache import ConnectionCaches
from shelfsync.core.errors import HookNotImplemented, PluginContractError, PluginMissing
from shelfsync.core.types import Connection, PlatformInfo

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "shelfsync"
ALLOW_LIST_ENV = "SHELFSYNC_PLUGINS"


@dataclass(frozen=True)
class PluginLoadFailure:
    """A plugin that could not be loaded: its entry-point name and the error."""

    name: str
    error: str


class ShelfsyncPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers which plugins failed to load and routes operation
    hooks to the one plugin registered for a connection's platform."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.load_failures: list[PluginLoadFailure] = []
        self._routes_lock = threading.Lock()
        self._owners: dict[str, object] | None = None
        self._clashes: dict[str, list[str]] = {}
        self._callers: dict[tuple[str, str], Any] = {}
        self._generation = 0  # bumped by every (un)registration: older routes are not kept
        #: What plugins keep about each connection between passes (`PassScope.cache`).
        self.connection_caches = ConnectionCaches()

    # Registering or unregistering a plugin changes who serves which platform.

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """pluggy's `register`, dropping the cached routes."""
        registered = super().register(plugin, name)
        self._forget_routes()
        return registered

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        """pluggy's `unregister`, dropping the cached routes."""
        removed = super().unregister(plugin, name)
        self._forget_routes()
        return removed

    def _forget_routes(self) -> None:
        with self._routes_lock:
            self._generation += 1
            self._owners = None
            self._callers = {}

    def _platform_owners(self) -> dict[str, object]:
        """Platform name → the plugin object whose `shelfsync_platform_info` names it."""
        with self._routes_lock:
            if self._owners is not None:
                return self._owners
            generation = self._generation
        owners: dict[str, object] = {}
        clashes: dict[str, list[str]] = {}
        for impl in self.hook.shelfsync_platform_info.get_hookimpls():
            name = impl.function().name
            if name in owners and owners[name] is not impl.plugin:
                clashes.setdefault(name, [self.get_name(owners[name]) or "?"]).append(
                    self.get_name(impl.plugin) or impl.plugin_name)
            owners[name] = impl.plugin
        for name in clashes:
            owners.pop(name, None)
        with self._routes_lock:
            if generation == self._generation:  # no plugin came or went meanwhile
                self._owners, self._clashes = owners, clashes
        return owners

    def plugin_for(self, platform: str) -> object:
        """The plugin registered for `platform`; `PluginMissing` when none (or two) claim it."""
        owners = self._platform_owners()
        if platform in owners:
            return owners[platform]
        clash = self._clashes.get(platform)
        if clash:
            raise PluginMissing(f"plugins {', '.join(sorted(clash))} all claim platform "
                                f"{platform!r}: install only one", platform=platform,
                                code="plugin_clash")
        known = ", ".join(sorted(owners)) or "none"
        raise PluginMissing(f"no plugin for platform {platform!r} (installed: {known})",
                            platform=platform, code="plugin_missing")

    def implements(self, plugin: object, hook_name: str) -> bool:
        """Whether `plugin` has an implementation (not only a wrapper) of `hook_name`."""
        return any(impl.plugin is plugin and not (impl.hookwrapper or impl.wrapper)
                   for impl in getattr(self.hook, hook_name).get_hookimpls())

    def missing_hooks(self, platform: str) -> list[str]:
        """The hooks its role requires (`hookspecs.REQUIRED_HOOKS`) that the platform's plugin
        does not implement."""
        plugin = self.plugin_for(platform)
        role = self.platform(platform).role
        return [name for name in hookspecs.REQUIRED_HOOKS.get(role, ())
                if not self.implements(plugin, name)]

    def caller(self, platform: str, hook_name: str) -> Any:
        """A hook caller that reaches only `platform`'s plugin (and plugins that serve no
        platform, such as a metrics wrapper), cached per platform and hook.

        Raises `PluginMissing` when no plugin serves the platform and `HookNotImplemented`
        when its plugin lacks the hook: both configuration errors, never retried.
        """
        if hook_name not in hookspecs.OPERATION_HOOKS:
            raise ValueError(f"{hook_name} is not an operation hook: call pm.hook directly")
        key = (platform, hook_name)
        with self._routes_lock:
            cached = self._callers.get(key)
            generation = self._generation
        if cached is not None:
            return cached
        owners = self._platform_owners()
        plugin = self.plugin_for(platform)
        if not self.implements(plugin, hook_name):
            name = self.get_name(plugin) or platform
            raise HookNotImplemented(
                f"the {platform} plugin ({name}) does not implement {hook_name}: install a "
                "version of it that does", hook=hook_name, platform=platform)
        remove = list({id(p): p for p in owners.values() if p is not plugin}.values())
        built = self.subset_hook_caller(hook_name, remove_plugins=remove)
        with self._routes_lock:
            if generation == self._generation:
                self._callers[key] = built
        return built

    def call(self, connection: Connection, hook_name: str, **kwargs: Any) -> Any:
        """Call operation hook `hook_name` on the plugin of `connection.platform` only, with
        `connection=connection` and `kwargs` (always keywords).

        `scope` (the pass's `PassScope`) is the one optional argument: left out, the hook gets
        `scope=None`. The answer is never `None`: a plugin that implements the hook but
        answers `None` has a bug (`PluginContractError`, not retried).
        """
        caller = self.caller(connection.platform, hook_name)
        if "scope" in caller.spec.argnames and "scope" not in kwargs:
            kwargs["scope"] = None
        answer = caller(connection=connection, **kwargs)
        if answer is None:
            raise PluginContractError(
                f"the {connection.platform} plugin answered None from {hook_name}: a plugin "
                "bug (an operation hook always answers or raises)",
                platform=connection.platform, code="plugin_answered_none")
        return answer

    def platforms(self) -> dict[str, PlatformInfo]:
        """Every installed platform's info, by platform name."""
        return {info.name: info for info in self.hook.shelfsync_platform_info()}

    def platform(self, name: str) -> PlatformInfo:
        """One platform's info; a clear KeyError naming the installed ones otherwise."""
        platforms = self.platforms()
        if name not in platforms:
            known = ", ".join(sorted(platforms)) or "none"
            raise KeyError(f"no plugin for platform {name!r} (installed: {known})")
        return platforms[name]


def _allow_list() -> set[str] | None:
    raw = os.environ.get(ALLOW_LIST_ENV, "").strip()
    if not raw:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def get_plugin_manager(*, load_entry_points: bool = True) -> ShelfsyncPluginManager:
    """Build a plugin manager with the specs added and the installed plugins loaded.

    `SHELFSYNC_PLUGINS=shopify,tiktok` restricts loading to those entry-point names. A plugin
    that fails to import is logged and listed in `pm.load_failures`; the others still load.
    `check_pending()` runs last, so a misspelled hook implementation fails at start-up.
    """
    pm = ShelfsyncPluginManager()
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        allowed = _allow_list()
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and entry_point.name not in allowed:
                continue
            if pm.has_plugin(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:  # a broken plugin must not take the others down
                failure = PluginLoadFailure(entry_point.name, f"{type(exc).__name__}: {exc}")
                pm.load_failures.append(failure)
                log.error("plugin %s failed to load: %s", failure.name, failure.error)
                continue
            pm.register(plugin, name=entry_point.name)
    pm.check_pending()
    return pm


def add_fake_command(cli: click.Group, platform: str, command_path: str) -> None:
    """Put a plugin's fake-server command under the core `fake` group as `fake <platform>`.

    `command_path` is `"module:attribute"`, imported only here, so loading a plugin never
    loads its fake. Does nothing when the CLI has no `fake` group.
    """
    group = cli.commands.get("fake")
    if not isinstance(group, click.Group):
        return
    module_name, _, attribute = command_path.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    group.add_command(command, name=platform)
