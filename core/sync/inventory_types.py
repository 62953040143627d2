"""What the inventory engine returns: per-SKU outcomes and the reports built from them."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from shelfsync.core.errors import AuthError

PUSHED = "pushed"
UNCHANGED = "unchanged"
FAILED = "failed"
SKIPPED = "skipped"
DRY_RUN = "dry_run"


class Budget(Protocol):
    """A shared API budget: `acquire` blocks until `cost` units of `key` may be spent."""

    def acquire(self, key: str, cost: int = 1) -> None:
        """Wait for, then take, `cost` units of the budget named `key`."""


@dataclass(frozen=True)
class SkuOutcome:
    """What became of one linked SKU on one channel.

    `from_quantity` is what the channel showed (reconcile) or what was last pushed (sync);
    `to_quantity` the decided quantity (None when none could be decided).
    """

    channel_id: int
    sku: str
    sku_id: str
    product_id: str
    from_quantity: int | None
    to_quantity: int | None
    reason: str
    explanation: str
    outcome: str
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None


@dataclass
class SyncReport:
    """The outcomes of one engine pass, its drift and the hook calls it made.

    The counters always cover every SKU. `items` holds every SKU's outcome only while
    `keep_items` is set (the default; the CLI's --json/--dry-run/--verbose and tests want
    them); without it only failures are kept, so a pass over a 100,000-SKU catalog need not
    hold 100,000 outcomes per shop in memory.
    """

    items: list[SkuOutcome] = field(default_factory=list)
    drift: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    #: Store SKUs whose failure was transient (throttled, 5xx): worth another try soon.
    retry_skus: set[str] = field(default_factory=set)
    #: channel id -> why that channel could not be handled at all (listings unreadable …).
    errors: dict[int, str] = field(default_factory=dict)
    #: What the store read of a reconcile found (None for other passes).
    catalog: CatalogReport | None = None
    keep_items: bool = True
    #: outcome -> SKUs with it, kept whether or not `items` are.
    tally: Counter[str] = field(default_factory=Counter)

    def add(self, item: SkuOutcome) -> None:
        """Count one SKU's outcome (and keep it when items are kept, or when it failed)."""
        self.tally[item.outcome] += 1
        if self.keep_items or item.outcome == FAILED:
            self.items.append(item)

    @property
    def total(self) -> int:
        """SKU outcomes counted, whatever their kind."""
        return sum(self.tally.values())

    @property
    def pushed(self) -> int:
        """SKUs whose new quantity the channel accepted."""
        return self.tally[PUSHED]

    @property
    def unchanged(self) -> int:
        """SKUs already showing the decided quantity: no call made."""
        return self.tally[UNCHANGED]

    @property
    def failed(self) -> int:
        """SKUs that could not be pushed (see their error codes)."""
        return self.tally[FAILED]

    @property
    def skipped(self) -> int:
        """SKUs left alone on purpose (quarantined, not listed, unknown to the store)."""
        return self.tally[SKIPPED]

    @property
    def dry_run(self) -> int:
        """SKUs a dry run would have pushed."""
        return self.tally[DRY_RUN]

    def count(self, name: str, amount: int = 1) -> None:
        """Add to the hook-call counter `name`."""
        self.api_calls[name] = self.api_calls.get(name, 0) + amount

    def merge(self, other: SyncReport) -> None:
        """Fold another report (e.g. one channel's) into this one."""
        self.items.extend(other.items)
        self.tally.update(other.tally)
        self.drift += other.drift
        self.retry_skus |= other.retry_skus
        self.errors.update(other.errors)
        for name, amount in other.api_calls.items():
            self.count(name, amount)

    def counts(self) -> dict[str, int]:
        """The counters, by outcome, plus drift."""
        return {
            "pushed": self.tally[PUSHED],
            "unchanged": self.tally[UNCHANGED],
            "failed": self.tally[FAILED],
            "skipped": self.tally[SKIPPED],
            "dry_run": self.tally[DRY_RUN],
            "drift": self.drift,
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: counts, hook calls and the SKU outcomes kept (see `keep_items`)."""
        return {
            "counts": self.counts(),
            "api_calls": dict(self.api_calls),
            "errors": {str(k): v for k, v in self.errors.items()},
            "retry_skus": sorted(self.retry_skus),
            "items": [asdict(item) for item in self.items],
        }


@dataclass
class CatalogReport:
    """What `refresh_catalog` read and stored."""

    store_id: int
    variants: int = 0
    removed: int = 0
    locations: int = 0
    policies: int = 0
    stock_levels: int = 0
    stock_written: int = 0


@dataclass(frozen=True)
class Problem:
    """A SKU that could not be linked automatically, and why."""

    kind: str
    sku: str
    detail: str


@dataclass
class LinkReport:
    """What a listing refresh and auto-link pass found and changed for one channel."""

    channel_id: int
    listings: int = 0
    linked: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    manual: int = 0
    skipped: bool = False
    problems: list[Problem] = field(default_factory=list)


class SyncAuthError(AuthError):
    """Credentials were refused during a sync; the pass's other work is done and recorded.

    Raised at the end of `sync_skus` (and the passes built on it) once every other channel
    was handled. The session holds the audit rows and pushed quantities of what succeeded:
    catch this, call `mark_needs_reauth(session, exc.connection_kind, exc.connection_id,
    exc.message)` for each of `exc.failures`, and commit.
    """

    def __init__(self, message: str, *, failures: list[tuple[str, int, str]],
                 report: SyncReport, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.failures = failures
        self.report = report
        self.connection_kind, self.connection_id, _ = failures[0]
