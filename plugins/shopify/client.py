"""HTTP client for Shopify's GraphQL Admin API: auth, cost pacing, retries, typed errors.

Shopify meters GraphQL by query cost in a leaky bucket per app and store, and reports the
bucket in every response (`extensions.cost.throttleStatus`). Rather than firing requests and
being told THROTTLED, the client keeps a picture of that bucket and, before a query whose
requested cost exceeds what is available, sleeps exactly the deficit divided by the restore
rate. A long sync then runs at the budget's pace instead of bouncing off it. Anything that
still fails (THROTTLED, 429, 5xx, timeouts, unreadable bodies) goes through
`call_with_retries`, so every plugin shares one meaning of "retryable".
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shelfsync.core.errors import (
    BadRequest,
    BadResponse,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from shelfsync.core.http import (
    RetryPolicy,
    call_with_retries,
    make_client,
    raise_for_status,
    unsendable,
)
from shelfsync.core.types import Connection
from shelfsync.plugins.shopify import mapping
from shelfsync.plugins.shopify.queries import MAX_QUERY_COST, estimate_cost, largest_page
from shelfsync.plugins.shopify.settings import API_VERSION, DEFAULT_API_VERSION

log = logging.getLogger(__name__)

PLATFORM = "shopify"
#: Waits shorter than this are not worth a sleep (a millisecond is 0.1 to 2 points).
MIN_WAIT = 0.001


class QueryCostExceeded(BadRequest):
    """Shopify refused a query as too expensive for one request (above 1000 points)."""

    def __init__(self, message: str, *, requested: int | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.requested = requested


class CostBudget:
    """Our picture of one shop's leaky bucket, shared by every client of that shop.

    `reserve()` takes the points of a query before it is sent, so concurrent callers queue
    behind each other instead of all spending the same points; each response's
    `throttleStatus` then replaces the estimate with the server's truth.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.maximum: float | None = None
        self.available = 0.0
        self.restore_rate = 0.0
        self._observed_at = 0.0
        # requestedQueryCost / our estimate, per document: learnt from the server's answers.
        self._calibration: dict[str, float] = {}

    def cost_of(self, document: str, variables: Mapping[str, Any]) -> int:
        """The requested cost we expect the server to compute for this query."""
        factor = self._calibration.get(document, 1.0)
        return math.ceil(estimate_cost(document, variables) * factor)

    def page_limit(self, document: str) -> float:
        """The most points one page of `document` may request, in our own estimate's units."""
        limit = float(MAX_QUERY_COST)
        if self.maximum:
            limit = min(limit, self.maximum)
        return limit / self._calibration.get(document, 1.0)

    def _estimate(self, now: float) -> float:
        assert self.maximum is not None
        restored = self.available + (now - self._observed_at) * self.restore_rate
        return min(self.maximum, restored)

    def reserve(self, cost: float, now: float) -> float:
        """Take `cost` points; return the seconds to sleep first (deficit / restore rate)."""
        with self._lock:
            if self.maximum is None or self.restore_rate <= 0:
                return 0.0
            available = self._estimate(now)
            wait = (min(cost, self.maximum) - available) / self.restore_rate
            if wait < MIN_WAIT:  # also float residue left by an exact wait just slept
                wait = 0.0
            self.available = available + wait * self.restore_rate - cost
            self._observed_at = now + wait
            return wait

    def refund(self, cost: float) -> None:
        """Give back a reservation the server never charged (the request failed outright)."""
        with self._lock:
            if self.maximum is not None:
                self.available = min(self.maximum, self.available + cost)

    def observe(self, cost: Mapping[str, Any], document: str, variables: Mapping[str, Any],
                now: float) -> None:
        """Take the server's `extensions.cost` as the new truth."""
        status = cost.get("throttleStatus")
        requested = cost.get("requestedQueryCost")
        with self._lock:
            if isinstance(requested, int | float) and requested > 0:
                estimate = estimate_cost(document, variables)
                if estimate > 0:
                    self._calibration[document] = float(requested) / estimate
            if not isinstance(status, Mapping):
                return
            try:
                maximum = float(status["maximumAvailable"])
                available = float(status["currentlyAvailable"])
                rate = float(status["restoreRate"])
            except (KeyError, TypeError, ValueError):
                return
            self.maximum, self.available, self.restore_rate = maximum, available, rate
            self._observed_at = now


_BUDGETS: dict[str, CostBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(base_url: str) -> CostBudget:
    """The budget of one shop, shared across clients (the bucket is per app and store)."""
    key = base_url.rstrip("/")
    with _BUDGETS_LOCK:
        return _BUDGETS.setdefault(key, CostBudget())


def forget_budget(base_url: str | None = None) -> None:
    """Drop what we know of a shop's bucket, or of every shop's without `base_url` (a new
    process starts from nothing either)."""
    with _BUDGETS_LOCK:
        if base_url is None:
            _BUDGETS.clear()
        else:
            _BUDGETS.pop(base_url.rstrip("/"), None)


@dataclass
class ClientStats:
    """What a client did: for benchmarks and the audit log."""

    requests: int = 0
    throttled: int = 0
    points: float = 0.0
    waited: float = 0.0
    pages: int = 0


class ShopifyClient:
    """One connection's GraphQL client. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        connection: Connection,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        token = connection.credentials.get("access_token", "")
        if not token:
            raise PermissionDenied("shopify: no access token configured", platform=PLATFORM)
        self.api_version = str(API_VERSION.read(connection.settings) or DEFAULT_API_VERSION)
        self.path = f"/admin/api/{self.api_version}/graphql.json"
        self.policy = RetryPolicy.for_connection(connection)
        self.budget = budget_for(connection.base_url)
        self.stats = ClientStats()
        self.sleep = sleep
        self._clock = clock
        extra: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self._http = make_client(
            connection,
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            **extra,
        )

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    # --- single requests ------------------------------------------------------------------

    def query(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a query with pacing and retries; return its `data`."""
        values = dict(variables or {})
        return call_with_retries(
            lambda: self._send(document, values), self.policy, platform=PLATFORM,
            sleep=self.sleep,
        )

    def send_once(
        self, document: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a request exactly once (paced, not retried): for writes whose retry must first
        check whether the previous attempt landed."""
        try:
            return self._send(document, dict(variables or {}))
        except (httpx.LocalProtocolError, UnicodeEncodeError):
            raise unsendable(PLATFORM) from None
        except httpx.TimeoutException as exc:
            raise TransientError(f"shopify: timed out: {exc}", platform=PLATFORM) from exc
        except httpx.TransportError as exc:
            raise TransientError(f"shopify: connection failed: {exc}", platform=PLATFORM) from exc

    def _send(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        cost = self.budget.cost_of(document, variables)
        if self.budget.maximum is not None and cost > self.budget.maximum:
            # It could never fit: waiting would only end in THROTTLED again.
            raise QueryCostExceeded(
                f"shopify: query needs {cost} points, the bucket holds {self.budget.maximum:g}",
                requested=cost, platform=PLATFORM,
            )
        wait = self.budget.reserve(cost, self._clock())
        if wait > 0:
            self.stats.waited += wait
            self.sleep(wait)
        self.stats.requests += 1
        try:
            response = self._http.post(self.path, json={"query": document, "variables": variables})
        except httpx.HTTPError:
            self.budget.refund(cost)
            raise
        request_id = response.headers.get("X-Request-Id")
        if response.status_code >= 400:
            self.budget.refund(cost)
            raise_for_status(response, PLATFORM, request_id)
        body = mapping.json_object(response.content, request_id)
        extensions = body.get("extensions")
        cost_info = extensions.get("cost") if isinstance(extensions, dict) else None
        if isinstance(cost_info, dict):
            self.budget.observe(cost_info, document, variables, self._clock())
            actual = cost_info.get("actualQueryCost")
            if isinstance(actual, int | float):
                self.stats.points += actual
        errors = body.get("errors")
        if errors:
            self._raise_errors(errors, body.get("data"), cost_info, request_id)
        data = body.get("data")
        if not isinstance(data, dict):
            raise BadResponse(
                "shopify: response has no `data` object", platform=PLATFORM, request_id=request_id
            )
        return data

    def _raise_errors(
        self, errors: Any, data: Any, cost: dict[str, Any] | None, request_id: str | None
    ) -> None:
        if not isinstance(errors, list):
            # REST-style `{"errors": "..."}`: Shopify uses it for auth and routing failures.
            raise BadRequest(f"shopify: {str(errors)[:300]}", platform=PLATFORM,
                             request_id=request_id)
        messages, codes = [], []
        for error in errors:
            error = error if isinstance(error, dict) else {"message": str(error)}
            messages.append(str(error.get("message", "unknown error")))
            ext = error.get("extensions")
            codes.append(str(ext.get("code", "")) if isinstance(ext, dict) else "")
        text = "; ".join(messages)[:500]
        kwargs: dict[str, Any] = {"platform": PLATFORM, "request_id": request_id}
        if "THROTTLED" in codes:
            self.stats.throttled += 1
            raise RateLimited(f"shopify: throttled: {text}", retry_after=_retry_after(cost),
                              code="THROTTLED", **kwargs)
        if "MAX_COST_EXCEEDED" in codes:
            requested = cost.get("requestedQueryCost") if cost else None
            raise QueryCostExceeded(
                f"shopify: query too costly: {text}",
                requested=int(requested) if isinstance(requested, int | float) else None,
                code="MAX_COST_EXCEEDED", **kwargs,
            )
        code = next((c for c in codes if c), None)
        if code == "ACCESS_DENIED":
            raise PermissionDenied(f"shopify: access denied: {text}", code=code, **kwargs)
        if code == "INTERNAL_SERVER_ERROR":
            raise TransientError(f"shopify: internal error: {text}", code=code, **kwargs)
        if data is None:
            raise BadRequest(f"shopify: query rejected: {text}", code=code, **kwargs)
        # Partial data beside errors: some fields are missing, so nothing of it is trusted.
        raise BadResponse(f"shopify: partial response: {text}", code=code, **kwargs)

    # --- pagination and mutations ---------------------------------------------------------

    def paginate(
        self,
        document: str,
        variables: Mapping[str, Any],
        root: str,
        *,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the `nodes` of each page of the root connection `root`.

        The page size is the largest that keeps one request within Shopify's single-query
        limit and the shop's bucket (as far as we know them), capped by `page_size`.
        """
        after: str | None = None
        seen: set[str] = set()
        while True:
            first = largest_page(document, variables, int(self.budget.page_limit(document)))
            if page_size:
                first = min(first, page_size)
            try:
                data = self.query(document, {**variables, "first": first, "after": after})
            except QueryCostExceeded as exc:
                if first <= 1:
                    raise
                log.info("shopify: %s; shrinking the page", exc.message)
                # The server's cost is now calibrated in; halve when that changed nothing.
                fitted = largest_page(document, variables, int(self.budget.page_limit(document)))
                page_size = fitted if fitted < first else first // 2
                continue
            page = mapping.connection_page(data, root)
            self.stats.pages += 1
            yield page.nodes
            if not page.has_next:
                return
            if not page.end_cursor or page.end_cursor in seen:
                raise BadResponse(
                    f"shopify: {root} says there is a next page but gives no new cursor",
                    platform=PLATFORM,
                )
            seen.add(page.end_cursor)
            after = page.end_cursor

    def mutate(self, document: str, variables: Mapping[str, Any], root: str) -> dict[str, Any]:
        """Send a mutation once and return its payload; `userErrors` become `BadRequest`."""
        data = self.send_once(document, variables)
        payload = data.get(root)
        if not isinstance(payload, dict):
            raise BadResponse(f"shopify: {root} returned no payload", platform=PLATFORM)
        mapping.raise_user_errors(payload, root)
        return payload


def _retry_after(cost: Mapping[str, Any] | None) -> float:
    """Seconds until the bucket holds the throttled query's cost again."""
    if not cost:
        return 1.0
    status = cost.get("throttleStatus")
    try:
        requested = float(cost["requestedQueryCost"])
        available = float(status["currentlyAvailable"])  # type: ignore[index]
        rate = float(status["restoreRate"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(0.05, (requested - available) / rate)

