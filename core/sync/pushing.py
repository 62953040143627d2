"""Compare decisions with what the channel has, push only the changes, record every outcome.

All changed SKUs of one channel product go in one request, one total quantity per SKU: how it
spreads over the shop's warehouses is the channel plugin's choice (it gets what the channel
last showed per warehouse, and the pass's `PassScope` to keep its choice in). Core acts only
on each result's `kind`: done, retry soon, quarantine (never blocking the others), or a stale
target (retried soon). A product whose whole call failed is marked failed and the next
product goes on; an AuthError stops this channel only, and is handed back to the caller.

A channel's pass has four steps, each database step a short transaction of its own and no
transaction open across the network: `prepare` (compare, build the calls), `claim_calls` (the
SKUs go "in flight" at the decision's version, committed before any call, see `pushed.py`),
`make_calls` (network only, so several channels' calls can run on threads at once) and
`record` (outcomes, audit rows, pushed quantities where our version still stands). `settle`
runs them in a row and commits each.

A push the channel applied but whose recording was lost (worker killed, timeout or 5xx on an
applied update, an AuthError partway through a batch) leaves "unknown", which the next compare
pushes, never a stale quantity that would make a real change back to it look unchanged; an
older decision never overwrites a newer push (the version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from shelfsync.core.errors import (
    AuthError,
    ConfigurationError,
    PluginContractError,
    PluginError,
    ShelfsyncError,
)
from shelfsync.core.models import (
    ChannelConnection,
    ChannelSkuState,
    utcnow,
)
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.sync import pushed as versions
from shelfsync.core.sync.context import chunks
from shelfsync.core.sync.decisions import UNKNOWN_STORE_SKU, Planned
from shelfsync.core.sync.inventory_types import (
    DRY_RUN,
    FAILED,
    PUSHED,
    SKIPPED,
    UNCHANGED,
    Budget,
    SkuOutcome,
    SyncReport,
)
from shelfsync.core.sync.outcomes import AUDIT_OUTCOME, AuditBuffer, outcome_of
from shelfsync.core.sync.pending import mark_pending
from shelfsync.core.types import (
    Connection,
    InventoryUpdate,
    PassScope,
    PushOutcome,
    PushResult,
)

__all__ = ["QUARANTINE", "SUPERSEDED", "Pass", "Prepared", "claim_calls", "make_calls",
           "prepare", "record", "settle"]

#: How long a refused SKU waits before it is tried again with unchanged inputs.
QUARANTINE = timedelta(hours=6)
#: Products per push hook call at most (see `make_calls`).
PRODUCTS_PER_CALL = 10
#: Typed-error names a plugin reports as the code of a whole-call failure.
NOT_LISTED = "not_listed"
QUARANTINED = "quarantined"
#: A newer decision for the SKU was pushed (or is in flight): this older one is not sent.
SUPERSEDED = "superseded"


#: Result kinds whose SKU is tried again soon instead of being quarantined.
RETRY_SOON = frozenset({PushOutcome.RETRY, PushOutcome.STALE_TARGET})


def retryable(result: PushResult) -> bool:
    """Whether a failed SKU is tried again soon, as the plugin's result kind says: a passing
    failure (throttled, 5xx, timeout) or a stale target the plugin has dropped."""
    return result.kind in RETRY_SOON


@dataclass
class Pass:
    """One channel's pass: where to push, how, and the report it adds to."""

    session: Session
    pm: ShelfsyncPluginManager
    channel: ChannelConnection
    connection: Connection
    report: SyncReport
    #: When the store stock these decisions come from was read: the pushes' version.
    version: datetime
    dry_run: bool = False
    budget: Budget | None = None
    #: sku_id -> total the channel shows (reconcile); None: compare with the last push.
    shown: dict[str, int] | None = None
    #: A pass may run in several parts (a large catalog, a chunk of products at a time); the
    #: AuthError that stopped the channel holds for the rest, and what the plugin keeps in
    #: the pass's scope (the warehouse it chose) serves every part. Dropped with the pass.
    stopped: AuthError | None = None
    audits: AuditBuffer = field(default_factory=AuditBuffer)
    scope: PassScope = field(default_factory=PassScope)
    #: Store SKUs a newer pass claimed while our call was on its way: queued again (`record`).
    overtaken: set[str] = field(default_factory=set)

    @property
    def channel_id(self) -> int:
        assert self.channel.id is not None
        return self.channel.id


def _load(session: Session, model: type, channel_id: int, sku_ids: Sequence[str]) -> dict:
    found = {}
    for part in chunks(sorted(set(sku_ids))):
        rows = session.exec(select(model).where(model.channel_id == channel_id,  # type: ignore[attr-defined]
                                                model.sku_id.in_(part)))  # type: ignore[attr-defined]
        found.update({row.sku_id: row for row in rows})
    return found


def _outcome(run: Pass, item: Planned, outcome: str, from_quantity: int | None, *,
             code: str | None = None, message: str | None = None,
             request_id: str | None = None, audit: bool = True) -> SkuOutcome:
    result = outcome_of(run.channel_id, item, outcome, from_quantity, code, message,
                        request_id)
    run.report.add(result)
    if audit and not run.dry_run and outcome in AUDIT_OUTCOME:
        run.audits.add(run.channel_id, item, outcome, from_quantity, code, message, request_id)
    return result


Items = list[tuple[Planned, int | None]]


@dataclass
class Call:
    """One push call for one channel product, and what came of it."""

    product_id: str
    items: Items
    updates: list[InventoryUpdate]
    results: list[PushResult] | None = None
    error: ShelfsyncError | None = None
    made: bool = False


@dataclass
class Prepared:
    """A channel's pass between comparing (database) and recording (database): the calls in
    between touch only the network, so several channels' calls can run at once."""

    run: Pass
    states: dict[str, ChannelSkuState] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    #: The pass stopped before any call (an earlier part was refused).
    stopped: AuthError | None = None

    def sku_ids(self) -> list[str]:
        """The channel SKU ids these calls carry."""
        return sorted({item.sku_id for call in self.calls for item, _ in call.items})


def prepare(run: Pass, planned: list[Planned]) -> Prepared:
    """Compare each decision with what the channel has; record the SKUs that need no call and
    build one call per product for the rest."""
    sku_ids = [item.sku_id for item in planned]
    stored = versions.load(run.session, run.channel_id, sku_ids)
    prepared = Prepared(run, _load(run.session, ChannelSkuState, run.channel_id, sku_ids))
    now = utcnow()
    changed: dict[str, Items] = {}
    for item in planned:
        last, version = stored.get(item.sku_id, (None, None))
        if item.error_code is not None:
            outcome = SKIPPED if item.error_code == UNKNOWN_STORE_SKU else FAILED
            _outcome(run, item, outcome, last, code=item.error_code, message=item.explanation)
            continue
        if run.shown is not None and item.sku_id not in run.shown:
            item.reason = NOT_LISTED
            item.explanation = f"the channel does not list SKU id {item.sku_id}"
            _outcome(run, item, SKIPPED, last, code=NOT_LISTED)
            continue
        if versions.newer(version, run.version):
            _outcome(run, item, SKIPPED, last, code=SUPERSEDED, audit=False,
                     message="a decision from newer stock was pushed for this SKU")
            continue
        current = run.shown[item.sku_id] if run.shown is not None else last
        if current == item.quantity:
            if run.shown is not None and last != item.quantity and not run.dry_run:
                assert item.quantity is not None  # the channel shows it already
                versions.shown_already(run.session, run.channel_id, item.sku_id,
                                       item.quantity, run.version)
            _outcome(run, item, UNCHANGED, current, audit=False)
            continue
        if run.shown is not None:
            run.report.drift += 1
        state = prepared.states.get(item.sku_id)
        if (state is not None and state.quarantine_quantity == item.quantity
                and state.quarantined_at is not None and now - state.quarantined_at < QUARANTINE):
            _outcome(run, item, SKIPPED, current, code=state.quarantine_code,
                     message=f"{QUARANTINED}: {state.quarantine_message}", audit=False)
            continue
        if run.dry_run:
            _outcome(run, item, DRY_RUN, current)
            continue
        changed.setdefault(item.product_id, []).append((item, current))
    if not changed:
        return prepared
    if run.stopped is not None:  # an earlier part of this pass was refused: so is this one
        _fail_all(run, list(changed.items()), run.stopped)
        prepared.stopped = run.stopped
        return prepared
    for product_id, items in changed.items():
        updates = [_update(item, prepared.states.get(item.sku_id)) for item, _ in items]
        prepared.calls.append(Call(product_id, items, updates))
    return prepared


def claim_calls(prepared: Prepared) -> int:
    """Put every SKU the calls carry in flight at the pass's version (`pushed.claim`); a SKU a
    newer decision already claimed is taken out of its call (skipped, "superseded"), and a
    call left empty is dropped. The caller commits before any call is made; returns how many
    SKUs are now in flight."""
    run = prepared.run
    if not prepared.calls:
        return 0
    claimed = versions.claim(run.session, run.channel_id, prepared.sku_ids(), run.version)
    kept: list[Call] = []
    for call in prepared.calls:
        lost = {item.sku_id for item, _ in call.items if item.sku_id not in claimed}
        for item, current in call.items:
            if item.sku_id in lost:
                _outcome(run, item, SKIPPED, current, code=SUPERSEDED, audit=False,
                         message="a decision from newer stock was pushed for this SKU")
        call.items = [(item, current) for item, current in call.items
                      if item.sku_id not in lost]
        call.updates = [u for u in call.updates if u.sku_id not in lost]
        if call.items:
            kept.append(call)
    prepared.calls = kept
    return len(claimed)


def _batch_size(run: Pass) -> int:
    """Products per push hook call: at most a fifth of the shop's per-second budget, so a
    batch's requests (made back to back once the budget is taken) stay a small burst."""
    limit = getattr(run.budget, "limit", None)
    per_second = limit(f"channel:{run.channel_id}") if callable(limit) else PRODUCTS_PER_CALL
    return max(1, min(PRODUCTS_PER_CALL, int(per_second) // 5))


def make_calls(prepared: Prepared) -> None:
    """Make the channel's push calls, one request per product; no database access, so it may
    run on a worker thread.

    Several products go in one hook call (the plugin still sends one request per product,
    but sets up its HTTP client, TLS included, once per hook call instead of once per
    product). An AuthError stops the rest: each would be refused too.
    """
    run, calls = prepared.run, prepared.calls
    size = _batch_size(run)
    for start in range(0, len(calls), size):
        batch = calls[start:start + size]
        if run.budget is not None:
            run.budget.acquire(f"channel:{run.channel_id}", len(batch))
        owner = {update.sku_id: call for call in batch for update in call.updates}
        for call in batch:
            call.made, call.results = True, []
        try:
            results = run.pm.call(run.connection, "shelfsync_push_inventory",
                                  updates=[u for c in batch for u in c.updates],
                                  scope=run.scope)
            if not isinstance(results, list):
                raise PluginContractError(
                    f"{run.connection.platform}: shelfsync_push_inventory returned "
                    f"{type(results).__name__}, not a list", platform=run.connection.platform,
                    code="plugin_bad_answer")
        except AuthError as exc:
            # Which of the batch's products went through is unknown: all count as refused
            # and are pushed again (same quantity, harmless) once the channel is re-authorized.
            for call in batch:
                call.error = exc
            return
        except (PluginError, ConfigurationError) as exc:
            # A configuration error (the channel's plugin lacks the hook, or is gone) fails
            # this channel's SKUs, not retried; the other channels go on.
            for call in batch:
                call.error = exc
            continue
        for result in results:
            target = owner.get(result.sku_id)
            if target is not None and target.results is not None:
                target.results.append(result)


def record(prepared: Prepared) -> AuthError | None:
    """Record what each call did; returns the AuthError that stopped the channel, if any."""
    run = prepared.run
    if prepared.stopped is not None or not prepared.calls:
        run.audits.write(run.session)
        return prepared.stopped
    accepted: dict[str, int] = {}
    try:
        for index, call in enumerate(prepared.calls):
            if call.made:
                run.report.count("push_inventory")
            if isinstance(call.error, AuthError):
                _fail_all(run, [(c.product_id, c.items) for c in prepared.calls[index:]],
                          call.error)
                run.stopped = call.error
                return call.error
            if call.error is not None:
                _fail_all(run, [(call.product_id, call.items)], call.error)
                continue
            _record_results(prepared, call, accepted)
    finally:
        # One statement per slice for the channel's pushed quantities, not one per SKU.
        overtaken = versions.record(run.session, run.channel_id, accepted, run.version)
        skus = {item.sku for call in prepared.calls for item, _ in call.items
                if item.sku_id in overtaken}
        if skus:  # the order of the two calls at the channel is unknown: push the newest again
            # Sorted: channels recorded side by side take the organization's pending rows'
            # locks in one order (no deadlock on PostgreSQL).
            mark_pending(run.session, run.channel.organization_id, sorted(skus), utcnow())
            run.overtaken |= skus
        run.audits.write(run.session)
    run.channel.last_sync_at = utcnow()
    run.session.add(run.channel)
    return None


def settle(run: Pass, planned: list[Planned]) -> AuthError | None:
    """Compare, push what changed, and record outcomes; returns an AuthError that stopped it.

    Each database step is committed before the next network step: what `prepare` wrote and
    the claims before the calls, the recording after them.
    """
    prepared = prepare(run, planned)
    claim_calls(prepared)
    run.session.commit()
    make_calls(prepared)
    error = record(prepared)
    run.session.commit()
    return error


def _fail_all(run: Pass, products: Sequence[tuple[str, Items]],
              exc: ShelfsyncError) -> None:
    for _, items in products:
        for item, current in items:
            _outcome(run, item, FAILED, current, code=exc.code or type(exc).__name__,
                     message=exc.message, request_id=exc.request_id)
            if exc.retryable:
                run.report.retry_skus.add(item.sku)


def _state(run: Pass, states: dict[str, ChannelSkuState], item: Planned) -> ChannelSkuState:
    """The SKU's channel state, made when the channel's listings were never read."""
    state = states.get(item.sku_id)
    if state is None:
        state = ChannelSkuState(channel_id=run.channel_id, sku_id=item.sku_id,
                                product_id=item.product_id, quantities={})
        states[item.sku_id] = state
    return state


def _update(item: Planned, state: ChannelSkuState | None) -> InventoryUpdate:
    """One total quantity for the SKU, with what the channel last showed per location (the
    plugin's own keys) so the plugin can clear the locations it does not push to."""
    assert item.quantity is not None
    shown = {str(k): int(v) for k, v in ((state.quantities or {}) if state else {}).items()}
    return InventoryUpdate(item.product_id, item.sku_id, item.quantity, seller_sku=item.sku,
                           shown=shown)


def _record_results(prepared: Prepared, call: Call, accepted: dict[str, int]) -> None:
    run, states = prepared.run, prepared.states
    by_sku: dict[str, list[PushResult]] = {}
    for result in call.results or []:
        by_sku.setdefault(result.sku_id, []).append(result)
    now = utcnow()
    for item, current in call.items:
        mine = by_sku.get(item.sku_id) or [PushResult(item.sku_id, ok=False,
                                                      error_code="no_result",
                                                      error_message="the plugin returned no "
                                                      "result for this SKU")]
        failure = next((r for r in mine if r.kind is not PushOutcome.DONE), None)
        if failure is None:
            assert item.quantity is not None
            accepted[item.sku_id] = item.quantity
            state = _state(run, states, item)
            spread = {str(k): int(v) for r in mine for k, v in r.quantities.items()}
            state.quantities = spread or {"": item.quantity}
            state.quarantine_quantity = state.quarantine_code = None
            state.quarantine_message = state.quarantined_at = None
            state.observed_at = now
            run.session.add(state)
            _outcome(run, item, PUSHED, current, request_id=mine[0].request_id)
            continue
        _outcome(run, item, FAILED, current, code=failure.error_code,
                 message=failure.error_message, request_id=failure.request_id)
        if retryable(failure):
            run.report.retry_skus.add(item.sku)
        else:
            state = _state(run, states, item)
            state.quarantine_quantity, state.quarantine_code = item.quantity, failure.error_code
            state.quarantine_message, state.quarantined_at = failure.error_message, now
            run.session.add(state)
