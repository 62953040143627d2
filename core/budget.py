"""Per-store and per-shop API budgets, shared by every worker process of the fleet.

Each platform throttles per store or shop, not per worker: two worker processes that each
respect "10 calls a second" together make 20. So the budget lives where every process sees it:
Dramatiq's rate limiters on a Redis backend when the broker is Redis, or an in-process
`StubBackend` otherwise (the embedded default has one process anyway). With RabbitMQ the budget
is per process: point `SHELFSYNC_BUDGET_REDIS_URL` at a Redis to share it.

The engine calls `acquire(f"store:{id}")` before each store read and `acquire(f"channel:{id}")`
before each channel push; `acquire` blocks until the call fits. This paces us ahead of time;
each client still obeys its platform's own throttle feedback (Shopify's cost bucket, TikTok's
429s) when the budget was set too generously.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from dramatiq.rate_limits import BucketRateLimiter
from dramatiq.rate_limits.backend import RateLimiterBackend
from dramatiq.rate_limits.backends import StubBackend
from sqlmodel import Session, select

from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import ChannelConnection, StoreConnection

#: Calls a second when a connection's settings do not say.
#: - store: one unit per store read (stock and backorder flags of the same SKUs count as one
#:   read: the Shopify plugin serves both from one query). Shopify's GraphQL Admin API is
#:   metered by query cost (100 points/s restored on Standard, 1,000 on Plus); a SKU-scoped
#:   read costs a few points per SKU, so ~20 reads a second is its pace, and the client's
#:   own cost bucket paces the bigger ones.
#: - channel: TikTok Shop's QPS is dynamic per app and shop (no published quota; older notes
#:   say 50 QPS per API); the webhook path needs one inventory call per changed product, so
#:   a budget far below that makes a busy store fall behind. 429 / 36009002 answers are still
#:   backed off by the client.
DEFAULT_CALLS_PER_SECOND = {"store": 20, "channel": 50}
#: The connection setting that overrides the default.
SETTING = "api_calls_per_second"
BUDGET_REDIS_URL_ENV = "SHELFSYNC_BUDGET_REDIS_URL"
_BUCKET_MS = 1000


class ApiBudget:
    """`acquire(key, cost)` blocks until `cost` calls fit in `key`'s per-second budget.

    A fixed one-second bucket per key (`BucketRateLimiter`): cheap on Redis (one INCR per call),
    and a burst at a bucket's edge is at most twice the limit, which the platforms' own
    throttles absorb.
    """

    def __init__(
        self,
        backend: RateLimiterBackend,
        limits: Mapping[str, int] | None = None,
        *,
        defaults: Mapping[str, int] = DEFAULT_CALLS_PER_SECOND,
        prefix: str = "shelfsync-budget",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.limits = dict(limits or {})
        self.defaults = dict(defaults)
        self.prefix = prefix
        self._sleep = sleep
        self._limiters: dict[str, BucketRateLimiter] = {}
        self._lock = threading.Lock()

    def limit(self, key: str) -> int:
        """Calls a second allowed for `key` ("store:<id>" or "channel:<id>")."""
        if key in self.limits:
            return self.limits[key]
        kind = key.split(":", 1)[0]
        return self.defaults.get(kind, min(self.defaults.values(), default=1))

    def _limiter(self, key: str) -> BucketRateLimiter:
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = BucketRateLimiter(self.backend, f"{self.prefix}:{key}",
                                            limit=max(1, self.limit(key)), bucket=_BUCKET_MS)
                self._limiters[key] = limiter
            return limiter

    def try_acquire(self, key: str) -> bool:
        """Take one call of `key`'s budget if it fits now."""
        with self._limiter(key).acquire(raise_on_failure=False) as acquired:
            return bool(acquired)

    def acquire(self, key: str, cost: int = 1) -> None:
        """Block until `cost` calls of `key`'s budget are taken."""
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
            raise InvalidInput("cost", f"must be a non-negative integer, got {cost!r}")
        for _ in range(cost):
            while not self.try_acquire(key):
                # The bucket is full until the next second starts: sleep to just past it.
                now_ms = time.time() * 1000
                self._sleep((_BUCKET_MS - now_ms % _BUCKET_MS) / 1000 + 0.002)


def _limit_from(settings: Mapping[str, Any] | None) -> int | None:
    raw = (settings or {}).get(SETTING)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        message = f"must be a whole number of calls a second, got {raw!r}"
        raise InvalidInput(SETTING, message) from None
    if value < 1:
        raise InvalidInput(SETTING, f"must be at least 1, got {value}")
    return value


def load_limits(session: Session, organization_id: int) -> dict[str, int]:
    """The per-key limits an organization's connections set (`api_calls_per_second`)."""
    limits: dict[str, int] = {}
    for store in session.exec(
        select(StoreConnection).where(StoreConnection.organization_id == organization_id)
    ):
        value = _limit_from(store.settings)
        if value is not None:
            limits[f"store:{store.id}"] = value
    for channel in session.exec(
        select(ChannelConnection).where(ChannelConnection.organization_id == organization_id)
    ):
        value = _limit_from(channel.settings)
        if value is not None:
            limits[f"channel:{channel.id}"] = value
    return limits


@cache
def _stub_backend() -> StubBackend:
    return StubBackend()


@cache
def _redis_backend(url: str) -> RateLimiterBackend:
    from dramatiq.rate_limits.backends import RedisBackend

    return RedisBackend(url=url)


def shared_backend(broker: Any) -> RateLimiterBackend:
    """The backend every worker of this deployment shares.

    The Redis broker's own server when the broker is Redis (or `SHELFSYNC_BUDGET_REDIS_URL`),
    an in-process backend otherwise.
    """
    url = os.environ.get(BUDGET_REDIS_URL_ENV, "").strip()
    if url:
        return _redis_backend(url)
    client = getattr(broker, "client", None)
    if client is not None and type(broker).__name__ == "RedisBroker":
        from dramatiq.rate_limits.backends import RedisBackend

        return RedisBackend(client=client)
    return _stub_backend()


def budget_for(session: Session, organization_id: int, broker: Any) -> ApiBudget:
    """The budget a job of `organization_id` runs under."""
    return ApiBudget(shared_backend(broker), load_limits(session, organization_id))
