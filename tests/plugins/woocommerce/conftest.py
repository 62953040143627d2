"""Shared set-up of the WooCommerce tests: a manual clock, and the fake served by run_fake."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shelfsync.core.testing.kit import RunningFake


class ManualClock:
    """The fake site's clock, moved only by the test (WordPress dates have whole seconds)."""

    def __init__(self, start: datetime = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def woo(run_fake: Callable[..., RunningFake], clock: ManualClock) -> RunningFake:
    """Five variable products of three variations, on a manual clock."""
    return run_fake("woocommerce", products=5, variants=3, seed=0, clock=clock)


def api(running: RunningFake, method: str, route: str, **kwargs: Any) -> Any:
    """Call the fake's wc/v3 API directly with the key (HTTP Basic)."""
    import httpx

    creds = running.connection.credentials
    return httpx.request(method, f"{running.base_url}/wp-json/wc/v3/{route}",
                         auth=(creds["consumer_key"], creds["consumer_secret"]), timeout=10,
                         **kwargs)
