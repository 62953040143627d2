"""The plugin manager: entry-point discovery in the `shelfsync` group.

Built-in plugins are declared in pyproject.toml's `shelfsync` entry-point group exactly as a
third-party plugin declares itself, so core never imports a plugin and a new platform needs
no change here. Nothing is loaded at import time: call `get_plugin_manager()`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from dataclasses import dataclass

import click
import pluggy

from shelfsync.core import hookspecs
from shelfsync.core.types import PlatformInfo

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "shelfsync"
ALLOW_LIST_ENV = "SHELFSYNC_PLUGINS"


@dataclass(frozen=True)
class PluginLoadFailure:
    """A plugin that could not be loaded: its entry-point name and the error."""

    name: str
    error: str


class ShelfsyncPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers which plugins failed to load."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.load_failures: list[PluginLoadFailure] = []

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
