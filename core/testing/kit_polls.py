"""The kit's check of `shelfsync_poll_stock_changes`: a change made in the store is found,
and a poll that fails loses nothing.

A poll exists for the stock moves the store sends no webhook for, so the check makes one:
`POST /_fake/silent-stock {"sku", "delta"}` where the fake offers it (WooCommerce's: a
storefront order, which moves stock without a product webhook), else the merchant's
`POST /_fake/stock {"sku", "delta"}` (Magento's: it sends no webhook for anything). The check
takes a baseline poll, takes one unit of a tracked SKU, polls again from the baseline's cursor
and requires that SKU among the answer; then it takes a unit of another, makes the next poll
fail for good, and requires that polling again from the same cursor still finds the change
(core keeps the old cursor when a poll raises).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from shelfsync.core.errors import PluginError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.testing.kit_values import fake_truth, require
from shelfsync.core.types import Connection, PassScope, StockChanges

if TYPE_CHECKING:
    from shelfsync.core.testing.kit_runner import RunningFake

HOOK = "shelfsync_poll_stock_changes"
#: Rounds answered `more=True` followed before the check gives up on a poll ending.
MAX_ROUNDS = 50


def _poll(pm: ShelfsyncPluginManager, conn: Connection, cursor: str | None
          ) -> tuple[set[str], str]:
    """Poll until the plugin stops answering `more`; the SKUs of every round, the last
    cursor. Every answer's shape is checked."""
    found: set[str] = set()
    for _ in range(MAX_ROUNDS):
        answer = pm.call(conn, HOOK, cursor=cursor, scope=PassScope())
        require(isinstance(answer, StockChanges), HOOK, "the answer is not StockChanges",
                "StockChanges", answer)
        require(isinstance(answer.cursor, str), HOOK, "the cursor is not text", "str",
                answer.cursor)
        require(isinstance(answer.observed_at, datetime)
                and answer.observed_at.tzinfo is not None, HOOK,
                "observed_at is not a timezone-aware time", "aware datetime",
                answer.observed_at)
        require(all(isinstance(sku, str) and sku for sku in answer.skus), HOOK,
                "a SKU is not non-empty text", "str", answer.skus)
        found.update(answer.skus)
        cursor = answer.cursor
        if not answer.more:
            return found, cursor
    raise AssertionError(f"{HOOK} answered more=True {MAX_ROUNDS} times in a row")


def _tracked_skus(fake: RunningFake) -> list[str]:
    """Tracked SKUs with at least two units (a unit can be taken from each)."""
    truth = fake_truth(fake)
    require(truth.stock is not None and truth.backorder is not None, HOOK,
            "the fake's truth() has no stock or backorder flags", "both", truth)
    assert truth.stock is not None and truth.backorder is not None
    units: dict[str, int] = {}
    for (sku, _), available in truth.stock.items():
        units[sku] = units.get(sku, 0) + available
    return sorted(sku for sku, (_, tracked) in truth.backorder.items()
                  if tracked and units.get(sku, 0) >= 2)


def _take_unit(fake: RunningFake, sku: str) -> None:
    """One unit of `sku` leaves the store the way no webhook reports (see the docstring)."""
    try:
        fake.control("POST", "silent-stock", {"sku": sku, "delta": -1})
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 404:
            raise
        fake.control("POST", "stock", {"sku": sku, "delta": -1})


def check_stock_changes(pm: ShelfsyncPluginManager, fake: RunningFake) -> bool:
    """False when the plugin does not implement the hook (nothing to check)."""
    conn = fake.connection
    if not pm.implements(pm.plugin_for(conn.platform), HOOK):
        return False
    skus = _tracked_skus(fake)
    require(len(skus) >= 2, HOOK, "the fake has fewer than two tracked SKUs to move",
            ">= 2", skus)
    _, cursor = _poll(pm, conn, None)
    _take_unit(fake, skus[0])
    found, cursor = _poll(pm, conn, cursor)
    require(skus[0] in found, HOOK, "a stock change made after the baseline poll was not "
            "found by the next poll", skus[0], sorted(found)[:20])

    _take_unit(fake, skus[1])
    fake.inject_fault("500", count=1000)
    try:
        _poll(pm, conn, cursor)
        failed = False
    except PluginError:
        failed = True
    finally:
        fake.clear_faults()
    require(failed, HOOK, "a poll against a store answering 500 to everything did not raise",
            "a PluginError", "an answer")
    found, _ = _poll(pm, conn, cursor)
    require(skus[1] in found, HOOK, "after a failed poll, polling again from the same cursor "
            "did not find the change the failed poll missed", skus[1], sorted(found)[:20])
    return True
