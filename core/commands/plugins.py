"""`shelfsync plugins`: what is installed, for operators and plugin authors."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import click

from shelfsync.core.commands.output import emit, option, plugin_manager
from shelfsync.core.hookspecs import REQUIRED_HOOKS
from shelfsync.core.plugins import ENTRY_POINT_GROUP, ShelfsyncPluginManager
from shelfsync.core.types import FieldSpec, PlatformInfo


def _distribution_versions() -> dict[str, str]:
    """Entry-point name → version of the distribution that declares it."""
    versions = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        versions[entry_point.name] = dist.version if dist is not None else "?"
    return versions


def missing_hooks(pm: ShelfsyncPluginManager, plugin: object, info: PlatformInfo) -> list[str]:
    """The hooks the platform's role requires (`hookspecs.REQUIRED_HOOKS`) that `plugin`
    does not implement: core would answer a call to one with `HookNotImplemented`."""
    return [name for name in REQUIRED_HOOKS.get(info.role, ())
            if not pm.implements(plugin, name)]
def describe_field(field: FieldSpec) -> dict[str, Any]:
    """A declared field as plain data for a form or a script; a secret's default is never
    shown (a plugin could declare one by mistake)."""
    data: dict[str, Any] = {
        "name": field.name,
        "label": field.label,
        "kind": str(field.kind),
        "secret": field.secret,
        "required": field.required,
        "default": None if field.secret else field.default,
        "minimum": field.minimum,
        "maximum": field.maximum,
        "choices": list(field.choices),
        "help": field.help,
        "pattern": field.pattern,
    }
    return data


def describe_plugins() -> dict[str, Any]:
    """The installed plugins and the ones that failed to load, as plain data."""
    pm = plugin_manager()
    versions = _distribution_versions()
    plugins = []
    for impl in pm.hook.shelfsync_platform_info.get_hookimpls():
        name = pm.get_name(impl.plugin) or impl.plugin_name
        info = impl.function()
        caps = info.capabilities
        plugins.append(
            {
                "name": name,
                "version": versions.get(name, info.version),
                "platform": info.name,
                "title": info.title,
                "role": str(info.role),
                "capabilities": {
                    "has_locations": caps.has_locations,
                    "continue_selling": str(caps.continue_selling),
                    "max_quantity": caps.max_quantity,
                    "webhooks": caps.webhooks,
                    "multi_shop": caps.multi_shop,
                },
                "credential_fields": [describe_field(f) for f in info.credential_fields],
                "setting_fields": [describe_field(f) for f in info.setting_specs().values()],
                "missing_hooks": missing_hooks(pm, impl.plugin, info),
            }
        )
    failures = [{"name": f.name, "error": f.error} for f in pm.load_failures]
    return {"plugins": sorted(plugins, key=lambda p: p["name"]), "failed": failures}


def _setting(field: dict[str, Any]) -> str:
    """`name (kind, min–max)` for the human listing."""
    bounds = ""
    if field["minimum"] is not None or field["maximum"] is not None:
        low = "" if field["minimum"] is None else f"{field['minimum']:g}"
        high = "" if field["maximum"] is None else f"{field['maximum']:g}"
        bounds = f" {low}..{high}"
    return f"{field['name']} ({field['kind']}{bounds})"


def _human(data: dict[str, Any]) -> str:
    lines = []
    for p in data["plugins"]:
        caps = ", ".join(f"{k}={v}" for k, v in p["capabilities"].items())
        lines.append(
            f"{p['name']} {p['version']}: {p['title']} ({p['role']}); {caps}; "
            f"credentials: {', '.join(f['name'] for f in p['credential_fields'])}; "
            f"settings: {', '.join(_setting(f) for f in p['setting_fields'])}"
        )
        if p["missing_hooks"]:
            lines.append(f"{p['name']}: MISSING required hooks of a {p['role']}: "
                         f"{', '.join(p['missing_hooks'])}")
    lines.extend(f"{f['name']}: FAILED to load: {f['error']}" for f in data["failed"])
    return "\n".join(lines) or "no plugins installed"


@click.command("plugins")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(as_json: bool) -> None:
    """List installed platform plugins: version, role, capabilities, credential and setting
    fields (name, kind, bounds, secret or not), and the hooks their role requires that they
    lack."""
    emit(describe_plugins(), as_json, _human)
