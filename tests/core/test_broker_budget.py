"""API budgets: per-key limits from connection settings, blocking acquire, shared backends."""

from __future__ import annotations

import time

import pytest
from dramatiq.rate_limits.backends import StubBackend
from sqlmodel import Session

from shelfsync.core.broker import BrokerSettings, build_broker
from shelfsync.core.budget import (
    DEFAULT_CALLS_PER_SECOND,
    ApiBudget,
    load_limits,
    shared_backend,
)
from shelfsync.core.crypto import generate_key
from shelfsync.core.errors import InvalidInput
from shelfsync.core.models import ChannelConnection, Organization, add_store_connection


class Clock:
    """Records the sleeps `acquire` asks for instead of sleeping them (much)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)


def _wait_for_fresh_second() -> None:
    """Start at the beginning of a wall-clock second, so a bucket is not about to roll over."""
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


def test_calls_within_the_limit_do_not_wait() -> None:
    clock = Clock()
    budget = ApiBudget(StubBackend(), {"store:1": 5}, sleep=clock.sleep)
    _wait_for_fresh_second()
    for _ in range(5):
        budget.acquire("store:1")
    assert clock.sleeps == []


def test_the_call_over_the_limit_waits_for_the_next_second() -> None:
    clock = Clock()
    budget = ApiBudget(StubBackend(), {"channel:7": 3}, sleep=clock.sleep)
    _wait_for_fresh_second()
    started = time.time()
    budget.acquire("channel:7", cost=4)
    assert len(clock.sleeps) == 1 and int(time.time()) == int(started) + 1


def test_keys_have_separate_budgets_and_defaults_by_kind() -> None:
    budget = ApiBudget(StubBackend())
    store_limit = DEFAULT_CALLS_PER_SECOND["store"]
    assert (budget.limit("store:1"), budget.limit("channel:1")) == (
        store_limit,
        DEFAULT_CALLS_PER_SECOND["channel"],
    )
    _wait_for_fresh_second()
    assert all(budget.try_acquire("store:1") for _ in range(store_limit))
    assert not budget.try_acquire("store:1")
    assert budget.try_acquire("store:2")


@pytest.mark.parametrize("cost", [-1, 1.5, True])
def test_a_bad_cost_is_invalid_input(cost: object) -> None:
    with pytest.raises(InvalidInput):
        ApiBudget(StubBackend()).acquire("store:1", cost)  # type: ignore[arg-type]


def test_limits_come_from_connection_settings(session: Session,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELFSYNC_SECRET_KEY", generate_key())
    org = Organization(name="Budget")
    session.add(org)
    session.flush()
    store = add_store_connection(session, organization_id=org.id, platform="shopify",
                                 base_url="https://a.example", credentials={"t": "x"},
                                 settings={"api_calls_per_second": 4})
    channel = ChannelConnection(organization_id=org.id, platform="tiktok",
                                base_url="https://b.example", settings={}, shop_id="1")
    channel.set_credentials({"t": "y"})
    session.add(channel)
    session.flush()
    assert load_limits(session, org.id) == {f"store:{store.id}": 4}
    store.settings = {"api_calls_per_second": "many"}
    session.add(store)
    session.flush()
    with pytest.raises(InvalidInput):
        load_limits(session, org.id)


def test_redis_broker_shares_its_server_and_others_stay_in_process() -> None:
    redis = build_broker(BrokerSettings(url="redis://127.0.0.1:6379/0"))
    assert type(shared_backend(redis)).__name__ == "RedisBackend"
    assert isinstance(shared_backend(build_broker(BrokerSettings())), StubBackend)
