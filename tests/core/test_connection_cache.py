"""The per-connection cache core keeps for plugins between passes (`PassScope.cache`)."""

from __future__ import annotations

from shelfsync.core.connection_cache import MAX_KEYS, ConnectionCache, ConnectionCaches
from shelfsync.core.plugins import get_plugin_manager
from shelfsync.core.sync.context import pass_scope
from shelfsync.core.types import Connection, PassScope


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_its_ttl_and_can_be_dropped() -> None:
    clock = Clock()
    cache = ConnectionCache(clock)
    cache.put("locations", ("a", "b"), ttl=60)
    clock.now += 59.9
    assert cache.get("locations") == ("a", "b")
    clock.now += 0.1
    assert cache.get("locations") is None and len(cache) == 0  # expired, and gone
    cache.put("warehouse", "w1", ttl=3600)
    cache.drop("warehouse")
    assert cache.get("warehouse", "none") == "none"
    cache.put("nothing", 1, ttl=0)
    assert cache.get("nothing") is None


def test_a_connection_holds_a_bounded_number_of_keys() -> None:
    cache = ConnectionCache(Clock())
    for key in range(MAX_KEYS + 10):
        cache.put(key, key, ttl=60)
    assert len(cache) == MAX_KEYS and cache.get(0) is None and cache.get(MAX_KEYS + 9) is not None


def test_each_connection_shop_and_address_has_its_own_cache() -> None:
    caches = ConnectionCaches(Clock(), max_connections=2)
    one = caches.for_connection("tiktok", 1, "http://a", "shop-1")
    one.put("k", "v", ttl=60)
    assert caches.for_connection("tiktok", 1, "http://a", "shop-1").get("k") == "v"
    for other in (caches.for_connection("tiktok", 2, "http://a", "shop-1"),
                  caches.for_connection("tiktok", 1, "http://a", "shop-2"),
                  caches.for_connection("tiktok", 1, "http://b", "shop-1"),
                  caches.for_connection("shopify", 1, "http://a", "shop-1"),
                  caches.for_connection("tiktok", None, "http://a", "shop-1")):
        assert other.get("k") is None
    # Bounded: the least recently used connection's cache went.
    assert caches.for_connection("tiktok", 1, "http://a", "shop-1").get("k") is None


def test_the_engine_hands_each_pass_of_a_connection_the_same_cache() -> None:
    pm, other_pm = get_plugin_manager(), get_plugin_manager()
    connection = Connection("tiktok", "http://fake", {}, id=7, platform_id="shop")
    first, second = pass_scope(pm, connection), pass_scope(pm, connection)
    assert first is not second and first.space("tiktok") is not second.space("tiktok")
    first.cache.put("k", "v", ttl=60)
    assert second.cache.get("k") == "v"
    assert pass_scope(other_pm, connection).cache.get("k") is None  # another manager's own
    assert PassScope().cache.get("k") is None  # outside the engine: an empty cache


def test_a_fresh_pass_reads_only_what_it_put_and_keeps_it_for_the_next_passes() -> None:
    """A reconcile (fresh) reads the platform again, and the webhook passes after it use
    what it read."""
    pm = get_plugin_manager()
    connection = Connection("tiktok", "http://fake", {}, id=7, platform_id="shop")
    pass_scope(pm, connection).cache.put("warehouse", "old", ttl=60)
    fresh = pass_scope(pm, connection, fresh=True)
    assert fresh.cache.get("warehouse") is None  # not trusted by a reconcile
    fresh.cache.put("warehouse", "new", ttl=60)
    assert fresh.cache.get("warehouse") == "new"
    assert pass_scope(pm, connection).cache.get("warehouse") == "new"  # kept for later passes
    fresh.cache.drop("warehouse")
    assert pass_scope(pm, connection).cache.get("warehouse") is None
