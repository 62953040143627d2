"""What every plugin's fake shares: fault injection, latency, request counts, webhook delivery.

A fake is a WSGI app (`FakePlatform` subclass) that answers like the real platform for what
its plugin uses. This base class handles the `/_fake/` control endpoints, which are the same
on every fake so the contract kit, benchmarks and the demo can drive any of them:

| method and path            | body / answer                                                  |
| -------------------------- | -------------------------------------------------------------- |
| `POST /_fake/faults`       | `{"kind", "count", "path"?, "seconds"?}`: the next `count`      |
|                            | requests (whose path contains `path`) fail with `kind`: `429`,  |
|                            | `500`, `502`, `503`, `timeout` (sleep `seconds`, default 5,     |
|                            | then 504), `malformed` (a 200 with a body cut in half) or       |
|                            | `lost` (a write is applied, then answered with a 502: "created, |
|                            | answer lost"); `after` skips that many matching requests first  |
| `GET /_fake/faults`        | `{"pending": n}`: faults that have not fired yet                |
| `DELETE /_fake/faults`     | clears pending faults                                          |
| `POST /_fake/latency`      | `{"seconds", "path"?}`: added to every API request (whose path |
|                            | contains `path`)                                               |
| `GET /_fake/requests`      | `{"count", "by_path", "max_in_flight", "throttled"}`: API       |
|                            | requests answered so far, the most ever answered at once, and   |
|                            | how many the platform's own throttle refused (`note_throttled`) |
| `GET /_fake/truth`         | what the fake holds (`FakeTruth`), for the kit to compare reads |
| `DELETE /_fake/requests`   | resets the counts                                              |
| `GET /_fake/connections`   | `[{"name", "credentials", ...}]`: what to connect with          |
| `POST /_fake/webhooks`     | `{"url"}`: where signed webhooks go (alongside the platform's  |
|                            | own subscription API, where it has one)                        |
| `POST /_fake/webhook-sample` | `{...}` platform-specific: a correctly signed webhook,       |
|                            | `{"headers", "body"}`, for verification tests                  |

A subclass implements `handle_api(request)`, `connections()` and `truth()`, may override
`fault_response()` to fail in its platform's own format, `is_write()` (which requests a
`lost` fault may hit), `webhook_sample()`, and `handle_control()` for platform-specific
control endpoints (which it should document). Webhooks go through `self.webhooks`
(`WebhookSender`): a lane per key (a shop), each in order, lanes side by side.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

log = logging.getLogger(__name__)

FAULT_KINDS = ("429", "500", "502", "503", "timeout", "malformed", "lost")
#: An injected timeout or latency longer than this is a mistake, not a test.
MAX_FAULT_SECONDS = 600.0


@dataclass
class Fault:
    """A pending injected fault."""

    kind: str
    remaining: int
    path: str = ""
    seconds: float = 5.0
    after: int = 0


@dataclass
class FakeTruth:
    """What a fake really holds, in its plugin's vocabulary, so the kit can check values.

    Each field is `None` when it does not apply to the platform's role. Ids are the ones the
    plugin hands to core (a location's id as `Location.id`, a listing's `sku_id` …).
    """

    #: Location id -> active.
    locations: dict[str, bool] | None = None
    #: (SKU, location id) -> available, for every level a store read must report (active
    #: locations only).
    stock: dict[tuple[str, str], int] | None = None
    #: SKU -> (continue_selling, tracked), as `BackorderPolicy` must say it.
    backorder: dict[str, tuple[bool, bool]] | None = None
    #: SKU -> variant id, for every catalog item with a SKU.
    catalog: dict[str, str] | None = None
    #: Channel SKU id -> (seller SKU, quantities per warehouse or location).
    listings: dict[str, tuple[str, dict[str, int]]] | None = None
    #: External (channel) order id -> how many orders the store holds for it.
    orders: dict[str, int] | None = None
    #: Channel order id -> shipments (tracking records) the channel holds for it.
    shipments: dict[str, int] | None = None
    #: Channel order id -> cancellations the channel recorded for it.
    cancellations: dict[str, int] | None = None
    #: Store order id (as `create_order` answered it) -> refunds the store holds on it.
    refunds: dict[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        """The truth as JSON (tuple keys joined with a tab)."""
        return {
            "locations": self.locations,
            "stock": None if self.stock is None else [
                [sku, loc, qty] for (sku, loc), qty in self.stock.items()],
            "backorder": None if self.backorder is None else {
                sku: list(flags) for sku, flags in self.backorder.items()},
            "catalog": self.catalog,
            "listings": None if self.listings is None else {
                k: [seller, qty] for k, (seller, qty) in self.listings.items()},
            "orders": self.orders,
            "shipments": self.shipments,
            "cancellations": self.cancellations,
            "refunds": self.refunds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FakeTruth:
        """The inverse of `to_json`."""
        stock, backorder, listings = data.get("stock"), data.get("backorder"), data.get("listings")
        return cls(
            locations=data.get("locations"),
            stock=None if stock is None else {(s, loc): int(q) for s, loc, q in stock},
            backorder=None if backorder is None else {
                k: (bool(v[0]), bool(v[1])) for k, v in backorder.items()},
            catalog=data.get("catalog"),
            listings=None if listings is None else {
                k: (str(v[0]), {w: int(q) for w, q in v[1].items()}) for k, v in listings.items()},
            orders=data.get("orders"),
            shipments=data.get("shipments"),
            cancellations=data.get("cancellations"),
            refunds=data.get("refunds"),
        )


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response with the given status."""
    return Response(
        json.dumps(payload, separators=(",", ":")),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def fake_banner(platform: str, base_url: str, fake: FakePlatform, **extra: Any) -> str:
    """The first stdout line of `shelfsync fake <platform> --json`: one JSON object with
    `platform`, `base_url` and `connections` (the fake's `/_fake/connections` entries, each
    `{"name", "credentials", …}` whose other keys are connection settings), plus `extra`."""
    return json.dumps({**extra, "platform": platform, "base_url": base_url,
                       "connections": fake.connections()}, separators=(",", ":"))


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: where, the receiver's status (0: no answer), and when it was
    queued, sent and answered (`time.monotonic()`), so a benchmark can tell time spent
    waiting in the sender's queue from time the receiver took to answer."""

    url: str
    status: int
    body: bytes
    queued: float
    started: float
    finished: float


#: Deliveries a fake makes at once at most. Real platforms do not queue every webhook of an
#: app behind one another (Shopify and TikTok both say deliveries may arrive out of order);
#: one sender thread made a receiver's answer time a queue for every later webhook.
WEBHOOK_LANES = 8


class WebhookSender:
    """Delivers webhooks from background threads, so API calls never wait on them.

    Each `key` (a TikTok shop) gets a lane of its own, a thread delivering its webhooks in
    the order they were sent, until `lanes` keys have one; later keys share the lanes
    round-robin. Webhooks sent without a key share one lane, in order, as before lanes.
    """

    def __init__(self, lanes: int = WEBHOOK_LANES) -> None:
        if lanes < 1:
            raise ValueError("a webhook sender needs at least one lane")
        self._lanes = lanes
        self._queues: list[queue.Queue[tuple[str, dict[str, str], bytes, float] | None]] = []
        self._lane_of: dict[str | None, int] = {}
        self._start_lock = threading.Lock()
        self.delivered: list[Delivery] = []

    def send(self, url: str, headers: dict[str, str], body: bytes,
             key: str | None = None) -> None:
        """Queue one delivery in `key`'s lane (started by the lane's first delivery)."""
        with self._start_lock:
            lane = self._lane_of.get(key)
            if lane is None:
                lane = self._lane_of[key] = len(self._lane_of) % self._lanes
            if lane == len(self._queues):
                self._queues.append(queue.Queue())
                threading.Thread(target=self._run, args=(self._queues[lane],),
                                 name=f"fake-webhooks-{lane}", daemon=True).start()
            target = self._queues[lane]
        target.put((url, headers, body, time.monotonic()))

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until every queued delivery was attempted (for tests)."""
        deadline = time.monotonic() + timeout
        while (any(q.unfinished_tasks for q in list(self._queues))
               and time.monotonic() < deadline):
            time.sleep(0.01)

    def _run(self, lane: queue.Queue[tuple[str, dict[str, str], bytes, float] | None]) -> None:
        with httpx.Client(timeout=10.0) as client:
            while True:
                item = lane.get()
                try:
                    if item is None:
                        return
                    url, headers, body, queued = item
                    started = time.monotonic()
                    try:
                        status = client.post(url, headers=headers, content=body).status_code
                    except httpx.HTTPError as exc:
                        log.warning("webhook to %s failed: %s", url, exc)
                        status = 0
                    self.delivered.append(
                        Delivery(url, status, body, queued, started, time.monotonic()))
                finally:
                    lane.task_done()


class FakePlatform:
    """Base WSGI app of a platform fake; see the module docstring for the control API."""

    platform = ""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._faults: list[Fault] = []
        self.latency = 0.0
        self.latency_path = ""
        self.request_counts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.webhook_urls: list[str] = []
        self.webhooks = WebhookSender()
        self.throttled = 0

    # --- to implement ---------------------------------------------------------------------

    def handle_api(self, request: Request) -> Response:
        """Answer one request of the platform's API."""
        raise NotImplementedError

    def connections(self) -> list[dict[str, Any]]:
        """What to connect with: one entry per store or shop, each with `credentials`."""
        raise NotImplementedError

    def webhook_sample(self, options: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """A correctly signed webhook (headers, raw body) of this platform."""
        raise NotImplementedError

    def truth(self) -> FakeTruth:
        """What the fake holds now (see `FakeTruth`); the kit compares every read with it."""
        raise NotImplementedError

    def is_write(self, request: Request) -> bool:
        """Whether `request` changes state: only writes are hit by a `lost` fault."""
        return request.method not in {"GET", "HEAD", "OPTIONS"}

    def note_throttled(self) -> None:
        """Count one request the platform's own throttle refused (the kit checks it fired)."""
        with self._lock:
            self.throttled += 1

    def handle_control(self, request: Request, name: str) -> Response | None:
        """Platform-specific `/_fake/<name>` endpoints; `None` when unknown."""
        return None

    def fault_response(self, fault: Fault, request: Request) -> Response:
        """The response for an injected fault, in the platform's own format where it has one."""
        if fault.kind == "429":
            return json_response({"errors": "Too many requests"}, 429, {"Retry-After": "1"})
        if fault.kind == "malformed":
            return Response('{"data": {"truncated', status=200, mimetype="application/json")
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
            return json_response({"errors": "Gateway timeout"}, 504)
        return json_response({"errors": "Internal error"}, int(fault.kind))

    # --- shared machinery -----------------------------------------------------------------

    def send_webhook(self, headers: dict[str, str], body: bytes,
                     key: str | None = None) -> None:
        """Deliver a signed webhook to every configured URL (`key`: see `WebhookSender`)."""
        for url in list(self.webhook_urls):
            self.webhooks.send(url, headers, body, key)

    def inject_fault(self, kind: str, count: int = 1, path: str = "", seconds: float = 5.0,
                     after: int = 0) -> None:
        """Make the next `count` API requests (matching `path`, after skipping `after` of
        them) fail with `kind`.

        A count below 1 or a negative or endless `seconds` is a ValueError here, not a fault
        that never fires or a sleep that fails at request time.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a whole number of at least 1, got {count!r}")
        if not 0 <= seconds < MAX_FAULT_SECONDS:
            raise ValueError(f"seconds must be 0 to {MAX_FAULT_SECONDS}, got {seconds!r}")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError(f"after must be a whole number of at least 0, got {after!r}")
        with self._lock:
            self._faults.append(Fault(kind, count, path, seconds, after))

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining <= 0 or fault.path not in request.path:
                    continue
                if fault.kind == "lost" and not self.is_write(request):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/_fake/"):
            response = self._control(request)
        else:
            response = self._api(request)
        return response(environ, start_response)

    def _api(self, request: Request) -> Response:
        with self._lock:
            self.request_counts[request.path] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency and self.latency_path in request.path:
                time.sleep(self.latency)
            fault = self._take_fault(request)
            if fault is not None and fault.kind == "lost":
                # Applied, then the answer is lost on the way back: the client sees a 502.
                self.handle_api(request)
                return self.fault_response(Fault("502", 0, fault.path), request)
            if fault is not None:
                return self.fault_response(fault, request)
            return self.handle_api(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _control(self, request: Request) -> Response:
        name = request.path.removeprefix("/_fake/").strip("/")
        body = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            return json_response({"error": "the body must be a JSON object"}, 400)
        if name == "faults" and request.method == "POST":
            try:
                self.inject_fault(
                    str(body.get("kind", "")),
                    int(body.get("count", 1)),
                    str(body.get("path", "")),
                    float(body.get("seconds", 5.0)),
                    int(body.get("after", 0)),
                )
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
            return json_response({"ok": True})
        if name == "faults" and request.method == "GET":
            with self._lock:
                pending = sum(1 for fault in self._faults if fault.remaining > 0)
            return json_response({"pending": pending})
        if name == "truth":
            return json_response(self.truth().to_json())
        if name == "faults" and request.method == "DELETE":
            with self._lock:
                self._faults.clear()
            return json_response({"ok": True})
        if name == "latency" and request.method == "POST":
            try:
                seconds = float(body.get("seconds", 0.0))
            except (TypeError, ValueError):
                seconds = -1.0
            if not 0 <= seconds < MAX_FAULT_SECONDS:
                return json_response(
                    {"error": f"seconds must be a number from 0 to {MAX_FAULT_SECONDS}"}, 400)
            self.latency, self.latency_path = seconds, str(body.get("path") or "")
            return json_response({"ok": True})
        if name == "requests":
            if request.method == "DELETE":
                with self._lock:
                    self.request_counts.clear()
                    self.max_in_flight = self.in_flight
                    self.throttled = 0
            with self._lock:
                counts = dict(self.request_counts)
                most_at_once = self.max_in_flight
                throttled = self.throttled
            return json_response({"count": sum(counts.values()), "by_path": counts,
                                  "max_in_flight": most_at_once, "throttled": throttled})
        if name == "connections":
            return json_response(self.connections())
        if name == "webhooks" and request.method == "POST":
            url = str(body.get("url", ""))
            if not url.startswith(("http://", "https://")):
                return json_response({"error": "url must be http(s)"}, 400)
            with self._lock:
                self.webhook_urls.append(url)
            return json_response({"ok": True})
        if name == "webhook-sample":
            try:
                headers, raw = self.webhook_sample(body)
            except (KeyError, ValueError, TypeError) as exc:
                return json_response({"error": f"cannot build a sample: {exc!r}"}, 400)
            return json_response({"headers": headers, "body": raw.decode("utf-8")})
        response = self.handle_control(request, name)
        if response is None:
            return json_response({"error": f"unknown control endpoint {name!r}"}, 404)
        return response
