"""Slowing repeated failed sign-ins: after a few failures for one email (or from one
address), each further attempt must wait longer, doubling up to a cap.

An attempt made while locked is refused without checking the password, so guessing costs
time whatever the guesses. Counts live in this process's memory (a restart forgives; each
gunicorn worker keeps its own): enough to turn an online guessing run from thousands of
tries a minute into a handful. The clock is injected, so tests never sleep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

Clock = Callable[[], datetime]

#: Failures allowed before any wait; then 2, 4, 8 … seconds, at most `MAX_WAIT`.
FREE_FAILURES = 3
MAX_WAIT = timedelta(minutes=5)
#: A key whose last failure is older than this is forgotten.
FORGET_AFTER = timedelta(hours=1)
#: Bound on remembered keys (a flood of made-up emails must not grow memory without end).
MAX_KEYS = 10_000


@dataclass
class _Failures:
    count: int
    last: datetime


class LoginThrottle:
    """Failed sign-ins per key (an email, a client address) and the wait they impose."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> int:
        """Seconds to wait before the next attempt for any of `keys` (0: try now)."""
        now = self._clock()
        longest = timedelta(0)
        with self._lock:
            for key in keys:
                entry = self._failures.get(key)
                if entry is None or entry.count < FREE_FAILURES:
                    continue
                delay = min(timedelta(seconds=2 ** (entry.count - FREE_FAILURES + 1)), MAX_WAIT)
                longest = max(longest, entry.last + delay - now)
        return max(0, int(-(-longest.total_seconds() // 1)))

    def failed(self, *keys: str) -> None:
        """Count a failed attempt against each key."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._forget_old(now)
            for key in keys:
                entry = self._failures.get(key)
                if entry is None or now - entry.last > FORGET_AFTER:
                    entry = _Failures(0, now)
                entry.count += 1
                entry.last = now
                self._failures[key] = entry

    def succeeded(self, *keys: str) -> None:
        """A successful sign-in clears its keys."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _forget_old(self, now: datetime) -> None:
        old = [k for k, v in self._failures.items() if now - v.last > FORGET_AFTER]
        for key in old:
            del self._failures[key]
        if len(self._failures) >= MAX_KEYS:  # all recent: drop the oldest half
            ordered = sorted(self._failures, key=lambda k: self._failures[k].last)
            for key in ordered[: len(ordered) // 2]:
                del self._failures[key]
