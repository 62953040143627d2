"""Channels' listings read while the store's stock is read, for a reconcile.

A whole-store stock read is mostly waiting: on Shopify, for a bulk operation that takes a
minute and a half for 10,000 variants. A channel's listings (and its links, which need only
the store's catalog, read before) do not depend on the stock, so each channel reads them on
a thread of its own meanwhile; the channel's pass then starts from them instead of reading
them after the store. A 10,000-SKU reconcile's channel phase was a third listings
(2026-12-03).

A listings read that fails is kept as its error for the channel's run to record, as if the
run had read them itself; any other exception (the database gone) is raised by the run.
Leaving the `with` block waits for every read, also when the store read failed, so no
thread outlives the reconcile.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from sqlalchemy import Engine
from sqlmodel import Session

from shelfsync.core.errors import PluginError
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync.inventory_types import Budget
from shelfsync.core.sync.linking import refresh_listings

#: A channel's listings read ahead: None when read and linked, else the read's refusal.
Ahead = Future[PluginError | None]


def read_and_link(engine: Engine, pm: ShelfsyncPluginManager, channel_id: int,
                  budget: Budget | None) -> PluginError | None:
    """Read, store and link one channel's listings in a session of its own (committed)."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            refresh_listings(session, pm, channel_id, budget=budget)
        except PluginError as exc:
            session.rollback()
            return exc
        session.commit()
    return None


class ListingsAhead:
    """Each channel's listings read on a thread while the block runs (`threads` at most);
    none when `threads` is 0 (a database that cannot be shared between threads)."""

    def __init__(self, engine: Engine, pm: ShelfsyncPluginManager,
                 channel_ids: Sequence[int], budget: Budget | None, threads: int) -> None:
        self._engine, self._pm, self._budget = engine, pm, budget
        self._channel_ids = list(channel_ids) if threads > 0 else []
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self.reads: dict[int, Ahead] = {}

    def __enter__(self) -> ListingsAhead:
        if self._channel_ids:
            self._pool = ThreadPoolExecutor(max_workers=min(self._threads,
                                                            len(self._channel_ids)),
                                            thread_name_prefix="shelfsync-listings")
            for channel_id in self._channel_ids:
                self.reads[channel_id] = self._pool.submit(
                    read_and_link, self._engine, self._pm, channel_id, self._budget)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
