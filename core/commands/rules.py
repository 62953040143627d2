"""`shelfsync rules preview`: the inventory rules on numbers you type, without any store."""

from __future__ import annotations

from collections import Counter

import click

from shelfsync.core.commands.output import emit, option, plugin_manager
from shelfsync.core.errors import InvalidInput
from shelfsync.core.rules import ABSURD_QUANTITY, Decision, LocationStock, decide
from shelfsync.core.services.fields import parse_int
from shelfsync.core.types import Capabilities

#: Without --platform: a generic store that has locations and a continue-selling flag.
GENERIC_STORE = Capabilities(has_locations=True)


__all__ = ["parse_int", "parse_location", "rules_group", "store_capabilities"]


def parse_location(raw: str) -> LocationStock:
    """`ID=QTY` or `ID=QTY:inactive` → LocationStock."""
    location_id, sep, rest = raw.partition("=")
    if not sep or not location_id.strip():
        raise InvalidInput("--location", f"expected ID=QTY or ID=QTY:inactive, got {raw!r}")
    quantity, _, flag = rest.partition(":")
    if flag not in ("", "inactive", "active"):
        raise InvalidInput("--location", f"unknown flag {flag!r} in {raw!r} (use :inactive)")
    return LocationStock(
        location_id.strip(),
        parse_int(f"--location {location_id.strip()}", quantity, -ABSURD_QUANTITY, ABSURD_QUANTITY),
        flag != "inactive",
    )


def store_capabilities(platform: str | None) -> Capabilities:
    """The capabilities the named platform's installed plugin declares."""
    if platform is None:
        return GENERIC_STORE
    try:
        return plugin_manager().platform(platform).capabilities
    except KeyError as exc:
        raise InvalidInput("--platform", str(exc.args[0])) from None


@click.group("rules")
def rules_group() -> None:
    """Inventory rules."""


@rules_group.command("preview")
@option("--available", help="Available stock, for a store without locations.")
@option(
    "--location", "locations", multiple=True, help="ID=QTY or ID=QTY:inactive; repeatable."
)
@option(
    "--use-location", "use_locations", multiple=True, help="Count only these; repeatable."
)
@option("--percent", default="100", show_default=True, help="Share of stock shown, 0–100.")
@option("--threshold", default="0", show_default=True, help="At or below this, show 0.")
@option(
    "--continue-selling", is_flag=True, help="The product continues selling when out of stock."
)
@option(
    "--honor-continue-selling/--no-honor-continue-selling",
    default=True,
    show_default=True,
    help="Whether the channel honours continue selling.",
)
@option("--platform", help="Use this installed store platform's capabilities.")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def preview_command(
    available: str | None,
    locations: tuple[str, ...],
    use_locations: tuple[str, ...],
    percent: str,
    threshold: str,
    continue_selling: bool,
    honor_continue_selling: bool,
    platform: str | None,
    as_json: bool,
) -> None:
    """Show the quantity a channel would get, the reason and a one-line explanation."""
    if available is not None and locations:
        raise InvalidInput("--available", "give either --available or --location, not both")
    if available is None and not locations:
        raise InvalidInput("--available", "give --available N or at least one --location ID=QTY")
    capabilities = store_capabilities(platform)
    if available is not None:
        stock = [
            LocationStock(
                "total", parse_int("--available", available, -ABSURD_QUANTITY, ABSURD_QUANTITY)
            )
        ]
        if use_locations:
            raise InvalidInput("--use-location", "needs --location, not --available")
        capabilities = Capabilities(
            has_locations=False, continue_selling=capabilities.continue_selling
        )
    else:
        stock = [parse_location(raw) for raw in locations]
        counted = Counter(level.location_id for level in stock)
        known = set(counted)
        # Given twice, a location's stock would be counted twice (the rules sum the levels).
        twice = sorted(location for location, times in counted.items() if times > 1)
        if twice:
            raise InvalidInput("--location", f"{', '.join(twice)} given twice")
        if len(set(use_locations)) != len(use_locations):
            raise InvalidInput("--use-location", "a location is given twice")
        unknown = sorted(set(use_locations) - known)
        if unknown:
            raise InvalidInput("--use-location", f"no --location given for {', '.join(unknown)}")
    decision = decide(
        stock=stock,
        use_locations=set(use_locations) or None,
        percent=parse_int("--percent", percent, 0, 100),
        threshold=parse_int("--threshold", threshold, 0, ABSURD_QUANTITY),
        continue_selling=continue_selling,
        honor_continue_selling=honor_continue_selling,
        capabilities=capabilities,
    )
    emit(_as_dict(decision) if as_json else decision, as_json, _human)


def _as_dict(decision: Decision) -> dict[str, object]:
    return {
        "quantity": decision.quantity,
        "reason": str(decision.reason),
        "explanation": decision.explanation,
    }


def _human(decision: Decision) -> str:
    return f"{decision.quantity}  ({decision.reason}) {decision.explanation}"
