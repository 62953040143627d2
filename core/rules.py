"""Pure inventory rules: what quantity a channel should show for one SKU, and why.

One function, `decide()`, with integer arithmetic only, so the same inputs give the same
decision on every machine and the engine, the CLI preview and the UI preview agree:

1. Available stock is the sum over the counted locations: every active location, or the
   chosen ones that are active. A negative location (oversold there) lowers the sum, since
   those units are owed; a negative sum counts as 0. A store without locations has one total.
2. When the product may be sold out of stock, the channel honours that, and the store
   platform can express it, the channel shows its maximum (99,999) and the threshold is
   overridden. On a platform without such an option (Amazon) the real stock is synced.
3. Otherwise, available at or below the threshold shows 0.
4. Otherwise the channel shows `percent` % of available, rounded down (never oversell),
   and never more than the channel's maximum.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shelfsync.core.errors import InvalidInput
from shelfsync.core.types import CHANNEL_MAXIMUM, Capabilities, ContinueSelling

#: Larger magnitudes than this are not stock counts but corrupt data.
ABSURD_QUANTITY = 1_000_000_000


class Reason(StrEnum):
    """Machine-readable reasons of a decision."""

    CONTINUE_SELLING = "continue_selling"
    NO_STOCK = "no_stock"
    THRESHOLD = "at_or_below_threshold"
    AVAILABLE = "available"
    PERCENT = "percent_of_available"
    CAPPED = "capped_at_maximum"


@dataclass(frozen=True)
class LocationStock:
    """Available units at one location (may be negative when oversold there)."""

    location_id: str
    quantity: int
    active: bool = True


@dataclass(frozen=True)
class Decision:
    """The quantity to show, a machine-readable reason and a one-line explanation."""

    quantity: int
    reason: Reason
    explanation: str
    available: int


def _check_int(field: str, value: object, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"must be a whole number, got {value!r}")
    if low is not None and value < low:
        raise InvalidInput(field, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise InvalidInput(field, f"must be at most {high}, got {value}")
    return value


def counted_stock(
    stock: Sequence[LocationStock],
    use_locations: Collection[str] | None,
    capabilities: Capabilities,
) -> tuple[int, str]:
    """The available total over the counted locations, and a phrase saying which counted."""
    for level in stock:
        _check_int(
            f"stock at {level.location_id}", level.quantity, -ABSURD_QUANTITY, ABSURD_QUANTITY
        )
    if not capabilities.has_locations:
        return sum(level.quantity for level in stock), "the store's stock"
    if use_locations is None:
        counted = [level for level in stock if level.active]
        where = "all active locations"
    else:
        chosen = set(use_locations)
        counted = [level for level in stock if level.active and level.location_id in chosen]
        names = ", ".join(sorted(chosen)) or "none"
        where = f"locations {names}"
        if len(counted) < len(chosen & {level.location_id for level in stock}):
            where += " (inactive ones not counted)"
    return sum(level.quantity for level in counted), where


def decide(
    *,
    stock: Sequence[LocationStock],
    use_locations: Collection[str] | None = None,
    percent: int = 100,
    threshold: int = 0,
    continue_selling: bool = False,
    honor_continue_selling: bool = True,
    capabilities: Capabilities | None = None,
    maximum: int = CHANNEL_MAXIMUM,
) -> Decision:
    """Decide the channel quantity for one SKU. Raises `InvalidInput` naming a bad field."""
    capabilities = capabilities or Capabilities(has_locations=True)
    _check_int("percent", percent, 0, 100)
    _check_int("threshold", threshold, 0, ABSURD_QUANTITY)
    _check_int("maximum", maximum, 0, ABSURD_QUANTITY)
    total, where = counted_stock(stock, use_locations, capabilities)
    available = max(total, 0)

    mode = capabilities.continue_selling
    if continue_selling and honor_continue_selling and mode is not ContinueSelling.UNSUPPORTED:
        return Decision(
            maximum,
            Reason.CONTINUE_SELLING,
            f"continue selling when out of stock is on: shows {maximum:,} "
            f"(threshold overridden; {where}: {total})",
            available,
        )
    note = ""
    if continue_selling and mode is ContinueSelling.UNSUPPORTED:
        note = "; the store platform has no continue-selling option, real stock synced"
    elif continue_selling:
        note = "; continue selling is not honoured on this channel"

    if available == 0:
        return Decision(0, Reason.NO_STOCK, f"no stock ({where}: {total}){note}", available)
    if available <= threshold:
        return Decision(
            0,
            Reason.THRESHOLD,
            f"{available} available is at or below the threshold {threshold} ({where}){note}",
            available,
        )
    quantity = available * percent // 100
    if quantity > maximum:
        return Decision(
            maximum,
            Reason.CAPPED,
            f"{percent}% of {available} available is {quantity:,}, capped at the channel "
            f"maximum {maximum:,} ({where}){note}",
            available,
        )
    if percent == 100:
        return Decision(
            quantity, Reason.AVAILABLE, f"{available} available ({where}){note}", available
        )
    return Decision(
        quantity,
        Reason.PERCENT,
        f"{percent}% of {available} available, rounded down ({where}){note}",
        available,
    )
