"""A connection form read from a plugin's declared fields (`PlatformInfo`): credentials,
the plugin's own settings, the API base URL and, for channels, the shop id.

Input names are the services' field names (`credentials.app_key`, `settings.timeout`,
`api_base_url`, `shop_id`, `currency_rate`), so an `InvalidInput` the service raises lands
next to its input.
Secret values are never rendered back: after a refused submit their inputs are empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shelfsync.core.types import FieldSpec, PlatformInfo


@dataclass
class ConnectInput:
    """What a submitted connection form holds, split the way the services take it."""

    credentials: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    api_base_url: str | None = None
    shop_id: str | None = None
    #: The exchange rate as typed (shop price = store price × rate); None when left empty.
    currency_rate: str | None = None
    #: Non-secret values as typed, to render the form again after an error.
    kept: dict[str, str] = field(default_factory=dict)


def read_connect_form(info: PlatformInfo, form: Mapping[str, str]) -> ConnectInput:
    """The declared fields out of a submitted form; empty settings are left to defaults."""
    result = ConnectInput()
    for spec in info.credential_fields:
        value = form.get(f"credentials.{spec.name}", "")
        if value:
            result.credentials[spec.name] = value if spec.secret else value.strip()
        if not spec.secret:
            result.kept[f"credentials.{spec.name}"] = value
    for spec in plugin_settings(info):
        value = form.get(f"settings.{spec.name}", "").strip()
        if spec.kind.value == "bool":
            value = "on" if form.get(f"settings.{spec.name}") else ""
        if value:
            result.settings[spec.name] = value
        if not spec.secret:
            result.kept[f"settings.{spec.name}"] = value
    base = form.get("api_base_url", "").strip()
    result.api_base_url = base or None
    result.kept["api_base_url"] = base
    shop = form.get("shop_id", "").strip()
    result.shop_id = shop or None
    result.kept["shop_id"] = shop
    rate = form.get("currency_rate", "").strip()
    result.currency_rate = rate or None
    result.kept["currency_rate"] = rate
    return result


def plugin_settings(info: PlatformInfo) -> tuple[FieldSpec, ...]:
    """The settings the plugin itself declares (core's retry and timeout knobs keep their
    defaults in a first connection; `shelfsync connection settings` changes them)."""
    return info.setting_fields


def input_type(spec: FieldSpec) -> str:
    """The HTML input type of a declared field."""
    if spec.secret:
        return "password"
    return {"int": "number", "float": "text", "url": "url", "bool": "checkbox"}.get(
        spec.kind.value, "text")


def describe(spec: FieldSpec) -> dict[str, Any]:
    """What a template needs to render one declared field."""
    return {"name": spec.name, "label": spec.label, "type": input_type(spec),
            "secret": spec.secret, "required": spec.required, "help": spec.help,
            "choices": list(spec.choices), "default": spec.default}
