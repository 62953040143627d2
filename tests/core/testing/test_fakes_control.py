"""The shared `/_fake/` control API refuses bad input with a 400, and webhooks keep order."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from shelfsync.core.testing.fakes import (
    FakePlatform,
    FakeTruth,
    WebhookSender,
    fake_banner,
    json_response,
)
from shelfsync.core.testing.server import RunningServer, serving


class EchoFake(FakePlatform):
    """The smallest fake: every API request answers `{"ok": true}`."""

    platform = "echo"

    def handle_api(self, request: Request) -> Response:
        return json_response({"ok": True})

    def connections(self) -> list[dict[str, Any]]:
        return [{"name": "echo", "credentials": {}}]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serving(EchoFake()) as running:
        yield running


@pytest.mark.parametrize("body", [
    {"kind": "timeout", "seconds": -1},
    {"kind": "timeout", "seconds": "forever"},
    {"kind": "timeout", "seconds": 1e9},
    {"kind": "500", "count": 0},
    {"kind": "500", "count": -3},
    {"kind": "teapot"},
])
def test_a_fault_that_cannot_work_is_refused_when_injected(
    server: RunningServer, body: dict[str, Any]
) -> None:
    response = httpx.post(server.base_url + "/_fake/faults", json=body)
    assert response.status_code == 400, response.text
    assert httpx.get(server.base_url + "/api").json() == {"ok": True}


@pytest.mark.parametrize(("name", "body"), [
    ("latency", {"seconds": "soon"}),
    ("latency", {"seconds": -2}),
    ("faults", [1, 2]),
    ("webhooks", ["http://x"]),
])
def test_malformed_control_bodies_are_a_400(server: RunningServer, name: str, body: Any) -> None:
    response = httpx.post(f"{server.base_url}/_fake/{name}", json=body)
    assert response.status_code == 400, response.text
    assert "error" in response.json()


def test_concurrent_first_sends_start_one_sender_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sender threads would deliver out of order; a slow thread set-up widens the race."""
    started: list[str] = []
    original = threading.Thread.__init__

    def slow_init(thread: threading.Thread, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("name") == "fake-webhooks-0":
            started.append(kwargs["name"])
            time.sleep(0.05)
        original(thread, *args, **kwargs)

    monkeypatch.setattr(threading.Thread, "__init__", slow_init)
    sender = WebhookSender()
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        sender.send("http://127.0.0.1:9/unreachable", {}, b"{}")

    callers = [threading.Thread(target=send) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    sender.wait_idle(timeout=10)
    assert started == ["fake-webhooks-0"]
    assert len(sender.delivered) == 4


class _Receiver(BaseHTTPRequestHandler):
    """Records each body as it arrives; a body starting `slow` waits for `release`."""

    arrived: ClassVar[list[bytes]] = []
    release: ClassVar[threading.Event] = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.arrived.append(body)
        if body.startswith(b"slow"):
            self.release.wait(10)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def test_other_keys_are_not_queued_behind_a_slow_delivery_and_one_key_keeps_order() -> None:
    """A receiver slow on one shop's webhook must not hold every other shop's back (real
    platforms deliver side by side), while one shop's webhooks still arrive in order."""
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    sender = WebhookSender(lanes=4)
    slow_key, other_key = "shop:1", "shop:2"
    try:
        sender.send(url, {}, b"slow-1", key=slow_key)
        sender.send(url, {}, b"slow-2 (same shop, after slow-1)", key=slow_key)
        sender.send(url, {}, b"other shop", key=other_key)
        deadline = time.monotonic() + 5
        while len(_Receiver.arrived) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # room for a wrongly early third arrival
        # The other shop's arrived while the slow one still waited for its answer, and the
        # slow shop's second webhook did not overtake its first.
        assert sorted(_Receiver.arrived) == [b"other shop", b"slow-1"]
        _Receiver.release.set()
        sender.wait_idle(timeout=10)
        assert _Receiver.arrived[-1] == b"slow-2 (same shop, after slow-1)"
        assert sorted(d.status for d in sender.delivered) == [200, 200, 200]
    finally:
        _Receiver.release.set()
        receiver.shutdown()


def test_keys_get_lanes_of_their_own_until_the_lanes_run_out() -> None:
    sender = WebhookSender(lanes=2)
    for key in ("a", "b", "c", None):
        sender.send("http://127.0.0.1:9/unreachable", {}, b"{}", key=key)
    sender.wait_idle(timeout=10)
    assert sender._lane_of == {"a": 0, "b": 1, "c": 0, None: 1}
    assert len(sender._queues) == 2 and len(sender.delivered) == 4


def test_a_sender_needs_a_lane() -> None:
    with pytest.raises(ValueError, match="at least one lane"):
        WebhookSender(lanes=0)


def test_requests_counts_the_most_answered_at_once(server: RunningServer) -> None:
    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()
    httpx.get(server.base_url + "/api").raise_for_status()
    httpx.get(server.base_url + "/api").raise_for_status()
    assert httpx.get(server.base_url + "/_fake/requests").json()["max_in_flight"] == 1

    httpx.post(server.base_url + "/_fake/latency", json={"seconds": 0.5}).raise_for_status()
    try:
        threads = [threading.Thread(target=httpx.get, args=(server.base_url + "/api",))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        httpx.post(server.base_url + "/_fake/latency", json={"seconds": 0}).raise_for_status()
    counted = httpx.get(server.base_url + "/_fake/requests").json()
    assert counted["count"] == 5 and counted["max_in_flight"] >= 2

    httpx.delete(server.base_url + "/_fake/requests").raise_for_status()
    assert httpx.get(server.base_url + "/_fake/requests").json()["max_in_flight"] == 0


class CounterFake(FakePlatform):
    """POST /count adds one (a write); GET /count reads; its truth is the count."""

    platform = "counter"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_api(self, request: Request) -> Response:
        if request.method == "POST":
            with self._lock:
                self.count += 1
        if request.args.get("throttle"):
            self.note_throttled()
        return json_response({"count": self.count})

    def connections(self) -> list[dict[str, Any]]:
        return [{"name": "counter", "credentials": {}}]

    def truth(self) -> FakeTruth:
        return FakeTruth(orders={"only": self.count})


def test_lost_fault_applies_the_write_then_answers_502_and_spares_reads() -> None:
    with serving(CounterFake()) as running:
        url = running.base_url
        assert httpx.post(url + "/_fake/faults", json={"kind": "lost"}).status_code == 200
        assert httpx.get(url + "/count").json() == {"count": 0}  # a read is not hit
        assert httpx.get(url + "/_fake/faults").json() == {"pending": 1}
        assert httpx.post(url + "/count").status_code == 502
        assert httpx.get(url + "/count").json() == {"count": 1}  # it was applied
        assert httpx.get(url + "/_fake/faults").json() == {"pending": 0}
        truth = FakeTruth.from_json(httpx.get(url + "/_fake/truth").json())
        assert truth.orders == {"only": 1}


def test_after_lets_requests_through_before_the_fault_fires() -> None:
    with serving(CounterFake()) as running:
        url = running.base_url
        httpx.post(url + "/_fake/faults", json={"kind": "503", "count": 1, "after": 2})
        assert [httpx.get(url + "/count").status_code for _ in range(4)] == [200, 200, 503, 200]
        refused = httpx.post(url + "/_fake/faults", json={"kind": "503", "after": -1})
        assert refused.status_code == 400


def test_throttled_requests_are_counted_and_reset() -> None:
    with serving(CounterFake()) as running:
        url = running.base_url
        httpx.get(url + "/count", params={"throttle": "1"})
        assert httpx.get(url + "/_fake/requests").json()["throttled"] == 1
        assert httpx.delete(url + "/_fake/requests").json()["throttled"] == 0


def test_truth_round_trips_through_json() -> None:
    truth = FakeTruth(locations={"L": True}, stock={("S", "L"): 3}, backorder={"S": (True, False)},
                      catalog={"S": "V"}, listings={"K": ("S", {"W": 2})}, orders={"O": 1},
                      shipments={"O": 1}, cancellations={})
    assert FakeTruth.from_json(truth.to_json()) == truth


def test_fake_banner_is_one_json_line_with_connections() -> None:
    line = fake_banner("counter", "http://127.0.0.1:1", CounterFake(), extra=1)
    assert "\n" not in line
    assert json.loads(line) == {"platform": "counter", "base_url": "http://127.0.0.1:1",
                                "connections": [{"name": "counter", "credentials": {}}],
                                "extra": 1}
