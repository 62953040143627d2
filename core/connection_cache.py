"""What a plugin may keep about one connection from one pass to the next, held by core.

A plugin keeps no module-global state, yet some answers are worth more than one pass: the
Shopify store's locations (a minute), a TikTok shop's default sales warehouse (a day). Core
keeps one small `ConnectionCache` per connection and hands it in as `scope.cache` of every
`PassScope` it creates for that connection, so the plugin stays stateless and the entry dies
with the process, the plugin manager that owns it, or its TTL, whichever comes first.

Why in memory, owned by the plugin manager (`ShelfsyncPluginManager.connection_caches`), and
not in the database: a plugin reads and writes the cache in the middle of its hook, between
network calls, where core holds no session and must open no transaction; what is cached is
small and cheap to lose (one read after a restart, one per worker process per TTL); a stale
entry heals itself (the plugin drops it when the platform refuses it, e.g. TikTok's
`STALE_TARGET`); and no migration is needed. Each plugin manager (one per worker process, web
app or CLI run; one per test) has its own caches, so nothing leaks between databases.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

Clock = Callable[[], float]

#: Keys one connection may hold at most (the oldest written goes first).
MAX_KEYS = 64
#: Connections whose caches a process keeps at most (the least recently used goes first).
MAX_CONNECTIONS = 10_000


class ConnectionCache:
    """A few values one plugin keeps about one connection, each with the TTL it was put with.

    Thread-safe: a pass may push to several shops from worker threads, and two passes of the
    same connection may run at once. Keep values immutable (tuples, frozen dataclasses):
    every caller gets the same object back.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value put under `key`, or `default` when there is none or it has expired."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return default
            expires, value = found
            if self._clock() >= expires:
                del self._entries[key]
                return default
            return value

    def put(self, key: Hashable, value: Any, ttl: float) -> None:
        """Keep `value` under `key` for `ttl` seconds (a TTL of 0 or less keeps nothing)."""
        if ttl <= 0:
            self.drop(key)
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_KEYS:
                self._entries.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        """Forget `key` (the platform refused what it held: read it again next time)."""
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class FreshView:
    """A connection's cache as a pass that must see the platform afresh uses it (a
    reconciliation, which repairs what a stale entry may have caused): it reads back only
    what it put itself, and what it puts (or drops) is kept for the passes that follow."""

    def __init__(self, cache: ConnectionCache) -> None:
        self._cache = cache
        self._lock = threading.Lock()
        self._mine: set[Hashable] = set()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """What this pass put under `key` (and is still there), else `default`."""
        with self._lock:
            if key not in self._mine:
                return default
        return self._cache.get(key, default)

    def put(self, key: Hashable, value: Any, ttl: float) -> None:
        """Keep `value` for this pass and the ones after it."""
        with self._lock:
            self._mine.add(key)
        self._cache.put(key, value, ttl)

    def drop(self, key: Hashable) -> None:
        """Forget `key`, here and for the passes after this one."""
        with self._lock:
            self._mine.discard(key)
        self._cache.drop(key)


class ConnectionCaches:
    """Core's caches, one per connection, keyed by platform, connection id, API base URL and
    the platform's own id of the store or shop: a connection re-pointed at another shop or
    address starts empty."""

    def __init__(self, clock: Clock = time.monotonic,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self._clock = clock
        self._max = max_connections
        self._lock = threading.Lock()
        self._caches: OrderedDict[tuple[str, int, str, str], ConnectionCache] = OrderedDict()

    def for_connection(self, platform: str, connection_id: int | None, base_url: str = "",
                       platform_id: str = "") -> ConnectionCache:
        """The cache of one connection; a fresh throw-away one for a connection never saved
        (no id: nothing to key it by)."""
        if connection_id is None:
            return ConnectionCache(self._clock)
        key = (platform, connection_id, base_url, platform_id)
        with self._lock:
            cache = self._caches.get(key)
            if cache is None:
                cache = self._caches[key] = ConnectionCache(self._clock)
            self._caches.move_to_end(key)
            while len(self._caches) > self._max:
                self._caches.popitem(last=False)
            return cache

    def clear(self) -> None:
        """Forget every connection's cache."""
        with self._lock:
            self._caches.clear()
