"""A rendezvous of shops for the TikTok fake: proof, without a clock, that a client calls
several shops at once.

Armed (`POST /_fake/rendezvous`), the first matching request of each shop is held until
matching requests of `shops` different shops have arrived. A client that calls the shops side
by side meets it at once; one that calls them one after another keeps its first shop's
request waiting, so the rendezvous gives up after `timeout` seconds, lets every held request
go on and reports that it was not met. Only the failure takes the timeout; a test asserts
`met`, never a duration.

Armed `by: "path"`, the parties are request paths instead of shops (one shop's update
calls for different products): proof that one client keeps several requests in flight.
"""

from __future__ import annotations

import threading
import time
from typing import Any

#: The longest a rendezvous may hold a request: longer is a mistake, not a test.
MAX_TIMEOUT = 120.0


class Rendezvous:
    """Holds each shop's first matching request until `shops` shops have sent one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.armed = False
        self.path = ""
        self.shops = 0
        self.by = "shop"
        self.timeout = 0.0
        self.arrived: list[str] = []
        self.met = False
        self.timed_out = False

    def arm(self, path: str, shops: int, timeout: float, by: str = "shop") -> None:
        """Wait for `shops` shops' requests whose path contains `path` (any request when
        empty), at most `timeout` seconds from the first; forget any earlier rendezvous.
        `by="path"`: `shops` different request paths, of any shop."""
        with self._changed:
            self.armed, self.path, self.shops, self.timeout = True, path, shops, timeout
            self.by = by
            self.arrived, self.met, self.timed_out = [], False, False
            self._changed.notify_all()

    def wait(self, shop_id: str, path: str) -> None:
        """Called by every API request of `shop_id` before it is answered: returns at once
        unless it is this shop's first request of an armed rendezvous, which it waits for."""
        with self._changed:
            party = shop_id if self.by == "shop" else f"{shop_id} {path}"
            if not self.armed or self.path not in path or party in self.arrived:
                return
            self.arrived.append(party)
            if len(self.arrived) >= self.shops:
                self.armed, self.met = False, True
                self._changed.notify_all()
                return
            deadline = time.monotonic() + self.timeout
            while self.armed and party in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.armed, self.timed_out = False, True
                    self._changed.notify_all()
                    return
                self._changed.wait(left)

    def status(self) -> dict[str, Any]:
        """`{"armed", "shops", "arrived", "met", "timed_out"}`."""
        with self._changed:
            return {"armed": self.armed, "shops": self.shops, "arrived": list(self.arrived),
                    "met": self.met, "timed_out": self.timed_out}


def parse(body: dict[str, Any]) -> tuple[str, int, float, str] | str:
    """(path, shops, timeout, by) from a control body, or the one-line reason it is refused."""
    path, shops, timeout = body.get("path", ""), body.get("shops", 2), body.get("timeout", 30)
    by = body.get("by", "shop")
    if not isinstance(path, str):
        return "path must be a string"
    if by not in ("shop", "path"):
        return "by must be shop or path"
    if isinstance(shops, bool) or not isinstance(shops, int) or shops < 2:
        return "shops must be a whole number of at least 2"
    if (isinstance(timeout, bool) or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_TIMEOUT):
        return f"timeout must be a number of seconds above 0, at most {MAX_TIMEOUT:g}"
    return path, shops, float(timeout), by
