"""A channel settings form's text → the typed changes `services.channel_settings` takes.

Every field is parsed on its own, so all the mistakes of one submit are shown at once, each
next to its input. Checkboxes that are absent are off (browsers send nothing for them).
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from shelfsync.core.errors import InvalidInput
from shelfsync.core.services.channel_settings import RANGES, SWITCHES
from shelfsync.core.services.fields import parse_int

#: The inventory section's inputs: what the live preview reads.
INVENTORY_FIELDS = ("inventory_sync", "percent", "threshold", "honor_continue_selling",
                    "location_mode", "location_ids")
TEXT_NUMBERS = ("percent", "threshold", "order_poll_minutes")


def read_settings(form: MultiDict[str, str], *, only_inventory: bool = False) -> tuple[
        dict[str, Any], dict[str, str]]:
    """The changes a submitted form asks for, and the errors by field."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    switches = ({"inventory_sync", "honor_continue_selling"} if only_inventory
                else SWITCHES)
    for name in sorted(switches):
        changes[name] = form.get(name) in ("on", "true", "1")
    for name in TEXT_NUMBERS:
        if only_inventory and name not in INVENTORY_FIELDS:
            continue
        try:
            changes[name] = parse_int(name, form.get(name, ""), *RANGES[name])
        except InvalidInput as exc:
            errors[exc.field] = exc.detail
    if not only_inventory:
        changes["on_hold"] = (form.get("on_hold") or "").strip().lower()
    mode = form.get("location_mode", "all")
    if mode == "specific":
        changes["locations"] = ",".join(form.getlist("location_ids"))
        if not changes["locations"]:
            errors["locations"] = "choose at least one location, or all active locations"
    elif form.get("has_locations"):
        changes["locations"] = "all"
    return changes, errors


def values_of(settings: Any) -> dict[str, Any]:
    """A settings row as the form's values."""
    return {
        **{name: getattr(settings, name) for name in SWITCHES},
        "percent": str(settings.percent), "threshold": str(settings.threshold),
        "order_poll_minutes": str(settings.order_poll_minutes), "on_hold": settings.on_hold,
        "location_mode": settings.location_mode,
        "location_ids": list(settings.location_ids or []),
    }


def kept_values(multi: MultiDict[str, str]) -> dict[str, Any]:
    """The values as submitted, to render the form again after a refusal."""
    values: dict[str, Any] = {name: multi.get(name) in ("on", "true", "1") for name in SWITCHES}
    for name in TEXT_NUMBERS:
        values[name] = multi.get(name, "")
    values["on_hold"] = multi.get("on_hold", "wait")
    values["location_mode"] = multi.get("location_mode", "all")
    values["location_ids"] = multi.getlist("location_ids")
    return values
