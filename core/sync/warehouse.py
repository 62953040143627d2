"""The channel's default sales warehouse a pass pushes to, cached for a day."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from shelfsync.core.models import ChannelWarehouse, utcnow
from shelfsync.core.sync.context import upsert

if TYPE_CHECKING:
    from shelfsync.core.sync.pushing import Pass

#: How long a channel's default warehouse is trusted before it is read again.
WAREHOUSE_TTL = timedelta(hours=24)


def default_warehouse(run: Pass) -> tuple[str | None, bool]:
    """The channel's default sales warehouse and whether it came from the cache.

    Cached in ChannelWarehouse for `WAREHOUSE_TTL`; read again only when missing, stale, or
    dropped after a push named it as the problem (`_warehouse_refused`).
    """
    cached = run.session.get(ChannelWarehouse, run.channel_id)
    if cached is not None and utcnow() - cached.fetched_at < WAREHOUSE_TTL:
        return cached.warehouse_id, True
    if run.budget is not None:
        run.budget.acquire(f"channel:{run.channel_id}")
    run.report.count("fetch_locations")
    found = run.pm.hook.shelfsync_fetch_locations(connection=run.connection) or []
    active = [location for location in found if location.active]
    chosen = next((loc for loc in active if loc.is_default), active[0] if active else None)
    if chosen is None:
        return None, False
    upsert(run.session, ChannelWarehouse,
           {"channel_id": run.channel_id, "warehouse_id": chosen.id, "name": chosen.name,
            "fetched_at": utcnow()}, ["channel_id"], ["warehouse_id", "name", "fetched_at"])
    return chosen.id, False
