"""The fake's inventory mutations: inventorySetQuantities and inventoryAdjustQuantities.

Each validates everything first and changes nothing when there is any userError (Shopify's
mutations are all-or-nothing). userError messages are the 2025-04 schema's error-code
descriptions, which match Shopify's messages wherever a live answer was recorded; `field`
paths are lists of strings (indices too), as Shopify's are.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError

from shelfsync.plugins.shopify import fake_webhooks as hooks
from shelfsync.plugins.shopify.fake_paging import lookup
from shelfsync.plugins.shopify.fake_store import (
    GROUP_BASE,
    MAX_QUANTITY,
    UNAVAILABLE_NAMES,
    AdjustmentGroup,
    Level,
    ShopStore,
    now_iso,
)

# Reasons Shopify accepts for inventory changes.
REASONS = frozenset(
    [
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    ]
)
ADJUSTABLE_NAMES = ("available", "incoming", *UNAVAILABLE_NAMES)
MAX_INPUT_ARRAY = 250
# inventoryAdjustQuantities allows twice inventorySetQuantities' range (the 2025-04 schema's
# InventoryAdjustQuantitiesUserErrorCode descriptions: "-2,000,000,000" / "2,000,000,000").
MAX_ADJUSTED_QUANTITY = 2 * MAX_QUANTITY
# A URI with a scheme and something after it, as referenceDocumentUri / ledgerDocumentUri
# must be ("Valid non-Shopify URI with scheme and content", InventoryChangeInput docs).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


class UserErrors(list[dict[str, Any]]):
    """A payload's userErrors; `__typename` picks the DisplayableError implementation."""

    def add(self, typename: str, code: str | None, field: list[str], message: str) -> None:
        error: dict[str, Any] = {"__typename": typename, "field": field, "message": message}
        if code is not None:
            error["code"] = code
        self.append(error)


def check_array(values: list[Any]) -> None:
    """Shopify's cap on input arrays (250), a top-level error rather than a userError."""
    if len(values) > MAX_INPUT_ARRAY:
        raise GraphQLError(
            f"The input array size of {len(values)} is greater than the maximum allowed of "
            f"{MAX_INPUT_ARRAY}."
        )


def _resolve_level(
    store: ShopStore,
    entry: dict[str, Any],
    base: list[str],
    errors: UserErrors,
    typename: str,
    not_stocked: str = "The specified inventory item is not stocked at the location.",
) -> Level | None:
    item = lookup(store, entry["inventoryItemId"], "InventoryItem")
    if item is None:
        message = "The specified inventory item could not be found."
        errors.add(typename, "INVALID_INVENTORY_ITEM", [*base, "inventoryItemId"], message)
        return None
    location = lookup(store, entry["locationId"], "Location")
    if location is None:
        message = "The specified location could not be found."
        errors.add(typename, "INVALID_LOCATION", [*base, "locationId"], message)
        return None
    level = item.levels.get(location.num)
    if level is None:
        errors.add(typename, "ITEM_NOT_STOCKED_AT_LOCATION", [*base, "locationId"], not_stocked)
    return level


def _record(
    info: Any, reason: str, uri: str | None, changes: list[dict[str, Any]]
) -> AdjustmentGroup:
    store: ShopStore = info.context.store
    group = AdjustmentGroup(GROUP_BASE + store.next_id(), reason, uri, now_iso(), changes)
    store.groups[group.num] = group
    return group


def _change(level: Level, name: str, delta: int, ledger: str | None = None) -> dict[str, Any]:
    # `quantityAfterChange` is null in the mutation's own answer (live captures of
    # inventorySetQuantities and inventoryMoveQuantities, airhorns/shopify-draft-proxy
    # inventory-quantity-roots-parity): Shopify does not compute it synchronously.
    return {
        "name": name,
        "delta": delta,
        "item": level.item,
        "location": level.location,
        "quantityAfterChange": None,
        "ledgerDocumentUri": ledger,
    }


def _by_name(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes grouped by quantity name, first-seen name first: Shopify lists every
    `available` change before every `on_hand` one (same live capture)."""
    names = list(dict.fromkeys(c["name"] for c in changes))
    return sorted(changes, key=lambda c: names.index(c["name"]))


def _check_reference(input: dict[str, Any], errors: UserErrors, kind: str) -> None:
    uri = input.get("referenceDocumentUri")
    if uri is not None and not _URI.match(uri):
        message = "The specified reference document is invalid."
        errors.add(kind, "INVALID_REFERENCE_DOCUMENT", ["input", "referenceDocumentUri"], message)


def touch(info: Any, level: Level, available_changed: bool) -> None:
    """Mark a level changed; a change of `available` queues `inventory_levels/update`."""
    level.updated_at = level.item.updated_at = now_iso()
    if available_changed:
        info.context.events.append(("inventory_levels/update", hooks.level_payload(level)))


def inventory_set_quantities(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Compare-and-set of `available` or `on_hand` quantities."""
    store: ShopStore = info.context.store
    kind = "InventorySetQuantitiesUserError"
    errors = UserErrors()
    name, quantities = input["name"], input["quantities"]
    check_array(quantities)
    if name not in ("available", "on_hand"):
        message = "The quantity name must be either 'available' or 'on_hand'."
        errors.add(kind, "INVALID_NAME", ["input", "name"], message)
    if input["reason"] not in REASONS:
        errors.add(kind, "INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
    _check_reference(input, errors, kind)
    if not input.get("ignoreCompareQuantity") and any(
        q.get("compareQuantity") is None for q in quantities
    ):
        # One error for the whole input, on ignoreCompareQuantity (live capture,
        # inventory-quantity-roots-parity "setWithoutCompareOrIgnore").
        message = (
            "The compareQuantity argument must be given to each quantity or ignored "
            "using ignoreCompareQuantity."
        )
        errors.add(kind, "COMPARE_QUANTITY_REQUIRED", ["input", "ignoreCompareQuantity"], message)
    seen: set[tuple[int, int]] = set()
    targets: list[tuple[Level, int]] = []
    for i, entry in enumerate(quantities):
        base = ["input", "quantities", str(i)]
        level = _resolve_level(store, entry, base, errors, kind)
        if level is None:
            continue
        key = (level.item.num, level.location.num)
        if key in seen:
            message = "The combination of inventoryItemId and locationId must be unique."
            errors.add(kind, "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", base, message)
            continue
        seen.add(key)
        quantity = entry["quantity"]
        # Messages are the 2025-04 schema's InventorySetQuantitiesUserErrorCode descriptions,
        # which are the messages Shopify sends where a live answer was recorded.
        if quantity > MAX_QUANTITY:
            message = f"The total quantity can't be higher than {MAX_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_HIGH", [*base, "quantity"], message)
        elif quantity < -MAX_QUANTITY:
            message = f"The total quantity can't be lower than -{MAX_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_LOW", [*base, "quantity"], message)
        elif name == "on_hand" and quantity < 0:
            message = "The quantity can't be negative."
            errors.add(kind, "INVALID_QUANTITY_NEGATIVE", [*base, "quantity"], message)
        elif name in ("available", "on_hand") and not input.get("ignoreCompareQuantity"):
            # (an invalid name is already a userError: nothing to compare it with)
            compare = entry.get("compareQuantity")
            if compare is not None and compare != level.quantity(name):
                message = "The compareQuantity value does not match persisted value."
                errors.add(kind, "COMPARE_QUANTITY_STALE", [*base, "compareQuantity"], message)
        targets.append((level, quantity))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for level, quantity in targets:
        delta = quantity - level.quantity(name)
        # Setting either name moves `available`; on_hand follows by the same delta.
        level.quantities["available"] += delta
        changes += [_change(level, "available", delta), _change(level, "on_hand", delta)]
        touch(info, level, available_changed=delta != 0)
    group = _record(info, input["reason"], input.get("referenceDocumentUri"), _by_name(changes))
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def inventory_adjust_quantities(_: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    """Relative changes (deltas) of one named quantity."""
    store: ShopStore = info.context.store
    kind = "InventoryAdjustQuantitiesUserError"
    errors = UserErrors()
    name, changes_in = input["name"], input["changes"]
    check_array(changes_in)
    # Messages are the 2025-04 schema's InventoryAdjustQuantitiesUserErrorCode descriptions.
    if name not in ADJUSTABLE_NAMES:
        message = "The specified quantity name is invalid."
        errors.add(kind, "INVALID_QUANTITY_NAME", ["input", "name"], message)
    if input["reason"] not in REASONS:
        errors.add(kind, "INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
    _check_reference(input, errors, kind)
    _check_ledgers(name, changes_in, errors, kind)
    targets: list[tuple[Level, int, str | None]] = []
    pending: dict[int, int] = {}
    not_stocked = "The inventory item is not stocked at the location."
    for i, entry in enumerate(changes_in):
        base = ["input", "changes", str(i)]
        level = _resolve_level(store, entry, base, errors, kind, not_stocked)
        if level is None or name not in ADJUSTABLE_NAMES:
            continue
        after = level.quantity(name) + pending.get(id(level), 0) + entry["delta"]
        pending[id(level)] = pending.get(id(level), 0) + entry["delta"]
        if after > MAX_ADJUSTED_QUANTITY:
            message = f"The quantity can't be higher than {MAX_ADJUSTED_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_HIGH", [*base, "delta"], message)
        elif after < -MAX_ADJUSTED_QUANTITY:
            message = f"The quantity can't be lower than -{MAX_ADJUSTED_QUANTITY:,}."
            errors.add(kind, "INVALID_QUANTITY_TOO_LOW", [*base, "delta"], message)
        targets.append((level, entry["delta"], entry.get("ledgerDocumentUri")))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for level, delta, ledger in targets:
        level.quantities[name] += delta
        changes.append(_change(level, name, delta, ledger))
        if name != "incoming":
            changes.append(_change(level, "on_hand", delta))
        touch(info, level, available_changed=name == "available" and delta != 0)
    group = _record(info, input["reason"], input.get("referenceDocumentUri"), _by_name(changes))
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _check_ledgers(name: str, changes: list[dict[str, Any]], errors: UserErrors, kind: str) -> None:
    """`ledgerDocumentUri`: required for every name but `available`, refused for `available`,
    never a `gid://shopify/` id, one URI for the whole call (InventoryChangeInput docs and the
    error codes of the 2025-04 schema)."""
    uris = []
    for i, entry in enumerate(changes):
        uri, field = (
            entry.get("ledgerDocumentUri"),
            ["input", "changes", str(i), "ledgerDocumentUri"],
        )
        if name == "available":
            if uri is not None:
                message = "A ledger document URI is not allowed when adjusting available."
                errors.add(kind, "INVALID_AVAILABLE_DOCUMENT", field, message)
        elif name in ADJUSTABLE_NAMES and uri is None:
            message = "A ledger document URI is required except when adjusting available."
            errors.add(kind, "INVALID_QUANTITY_DOCUMENT", field, message)
        elif uri is not None and uri.lower().startswith("gid://shopify/"):
            message = (
                "Internal (gid://shopify/) ledger documents are not allowed to be adjusted via API."
            )
            errors.add(kind, "INTERNAL_LEDGER_DOCUMENT", field, message)
        elif uri is not None and not _URI.match(uri):
            message = "The specified ledger document is invalid."
            errors.add(kind, "INVALID_LEDGER_DOCUMENT", field, message)
        uris.append(uri)
    if name != "available" and len(set(uris)) > 1 and None not in uris:
        message = (
            "All changes must have the same ledger document URI or, in the case of adjusting "
            "available, no ledger document URI."
        )
        errors.add(kind, "MAX_ONE_LEDGER_DOCUMENT", ["input", "changes"], message)
