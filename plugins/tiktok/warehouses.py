"""Where a SKU's quantity goes: the shop's default sales warehouse, the others cleared.

Core pushes one total quantity per SKU; spreading it over the shop's warehouses is TikTok's
business, so it lives here. The shop's warehouses are read once a day (`WAREHOUSE_TTL`): the
choice is kept in the connection's cache that core hands in with each pass (`scope.cache`,
kept by core between passes; the plugin holds nothing itself), or once per hook call outside
a pass. A push refused because the kept warehouse no longer holds (deleted, disabled, no
longer a sales warehouse) answers `STALE_TARGET` for every SKU refused for it and drops it
from the cache, so the next push reads the warehouses again; a freshly read warehouse that is
refused is an ordinary refusal (quarantine).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shelfsync.core.errors import AuthError, PluginError
from shelfsync.core.types import InventoryUpdate, Location, PassScope, PushOutcome

#: TikTok's codes for "this warehouse cannot take stock": it does not exist, or it is not an
#: enabled sales (delivery) warehouse.
WAREHOUSE_REFUSED = frozenset({"12052097", "12052532"})


#: How long a shop's chosen warehouse is trusted before the warehouses are read again.
WAREHOUSE_TTL = 24 * 3600.0


def _key(connection_id: int | None, shop_id: str) -> tuple[str, object, str]:
    return ("default_warehouse", connection_id, shop_id)


#: What a pass keeps: the warehouse it pushes to and the shop's active sales warehouses.
Choice = tuple[str | None, frozenset[str]]


def remember(scope: PassScope, connection_id: int | None, shop_id: str,
             warehouse_id: str | None, active: frozenset[str] = frozenset()) -> None:
    """Keep the warehouse the connection's pushes go to (also how a test plants a stale one)."""
    scope.cache.put(_key(connection_id, shop_id), (warehouse_id, active), WAREHOUSE_TTL)


def choose(locations: list[Location]) -> Choice:
    """The default active sales warehouse (else the first active one, else None), and the
    ids of every active one."""
    active = [location for location in locations if location.active]
    chosen = next((loc for loc in active if loc.is_default), active[0] if active else None)
    return (chosen.id if chosen is not None else None), frozenset(loc.id for loc in active)


@dataclass
class Target:
    """The warehouse one push hook call sends to, read at most once per `WAREHOUSE_TTL`."""

    read: Callable[[], list[Location]]
    scope: PassScope | None
    connection_id: int | None
    shop_id: str
    #: True when the warehouse came from the cache (an earlier call: it may have gone stale).
    kept: bool = False
    error: PluginError | None = None
    #: The shop's active sales warehouses as read (empty when planted without them).
    active: frozenset[str] = frozenset()
    _warehouse: str | None = None
    _known: bool = False
    #: A push sends several products at once: the warehouses are read by one of them.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def _cache(self) -> Any:
        return self.scope.cache if self.scope is not None else None

    def warehouse(self) -> str | None:
        """The warehouse to push to; raises the read's error (AuthError included) again for
        every product of the call once it failed, so a failed read is made once."""
        with self._lock:
            return self._warehouse_locked()

    def _warehouse_locked(self) -> str | None:
        if self.error is not None:
            raise self.error
        if self._known:
            return self._warehouse
        key = _key(self.connection_id, self.shop_id)
        kept = self._cache.get(key) if self._cache is not None else None
        if kept is not None:
            self._warehouse, self.active = kept
            self._known, self.kept = True, True
            return self._warehouse
        try:
            self._warehouse, self.active = choose(self.read())
        except AuthError:
            raise
        except PluginError as exc:
            self.error = exc
            raise
        self._known, self.kept = True, False
        if self._cache is not None:
            self._cache.put(key, (self._warehouse, self.active), WAREHOUSE_TTL)
        return self._warehouse

    def prepare(self) -> None:
        """Read (or take from the cache) the warehouse before several products are pushed at
        once; a failed read is kept and raised for each product (`warehouse`), an AuthError
        is raised now."""
        try:
            self.warehouse()
        except AuthError:
            raise
        except PluginError:
            return  # kept in `error`: every product needing the warehouse fails with it

    def refused(self, code: str | None) -> PushOutcome:
        """What a refusal with `code` means: a kept warehouse refused as a warehouse is stale
        (dropped from the cache, so the next call reads again); anything else is a
        quarantine."""
        with self._lock:
            kept = self.kept
        if code in WAREHOUSE_REFUSED and kept:
            if self._cache is not None:
                self._cache.drop(_key(self.connection_id, self.shop_id))
            return PushOutcome.STALE_TARGET
        return PushOutcome.QUARANTINE


def spread(update: InventoryUpdate, warehouse: str | None,
           active: frozenset[str] = frozenset()) -> dict[str | None, int]:
    """Warehouse → quantity for one SKU: all of it at `warehouse`, 0 at every other active
    warehouse the channel showed it in (so the shop's total is exactly the quantity; a
    disabled warehouse sells nothing and refuses updates, so it is left alone). A warehouse
    the update pins is used alone; without any warehouse TikTok uses the SKU's only one."""
    if update.warehouse_id:
        return {update.warehouse_id: update.quantity}
    rows: dict[str | None, int] = {warehouse: update.quantity}
    if warehouse is not None:
        rows.update({w: 0 for w in sorted(_shown(update.shown))
                     if w and w != warehouse and (not active or w in active)})
    return rows


def _shown(shown: Mapping[str, int]) -> list[str]:
    return [str(key) for key in shown]
