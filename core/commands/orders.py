"""`shelfsync sync orders`, `shelfsync orders list` and `shelfsync orders retry`: channel
orders into the store, run in the foreground (the same service the workers call)."""

from __future__ import annotations

import uuid
from typing import Any

import click
from sqlmodel import select

from shelfsync.core.commands.output import EXIT_BAD_INPUT, emit, fail, option, plugin_manager, safe
from shelfsync.core.db import session_scope
from shelfsync.core.errors import ShelfsyncError
from shelfsync.core.models import ChannelConnection, OrderBinding
from shelfsync.core.services import aftersale, orders
from shelfsync.core.services.connections import find_channel, find_organization
from shelfsync.core.sync.orders import OrderState, Outcome

STATES = tuple(state.value for state in OrderState)


def _owner() -> str:
    return f"cli:{uuid.uuid4()}"


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {
        "binding_id": outcome.binding_id, "tiktok_order_id": outcome.channel_order_id,
        "state": outcome.state, "reason": outcome.reason, "detail": outcome.detail,
        "store_order_id": outcome.store_order.id if outcome.store_order else None,
        "store_order_name": outcome.store_order.name if outcome.store_order else None,
        "attempted": outcome.attempted,
    }


def _outcome_line(item: dict[str, Any]) -> str:
    line = f"order  {safe(item['tiktok_order_id'])}  {item['state']}"
    if item["store_order_name"]:
        line += f"  → store order {safe(item['store_order_name'])}"
    if item["reason"]:
        line += f"  ({item['reason']}: {safe(item['detail'])[:200]})"
    return line


def _outcomes_text(data: dict[str, Any]) -> str:
    lines = [_outcome_line(item) for item in data["orders"] if item["attempted"]]
    lines += [f"order {item['binding_id']}  {item['kind']}  {item['state']}"
              + (f"  ({item['reason']}: {safe(item['detail'])[:200]})" if item["reason"] else "")
              for item in data.get("aftersale") or []]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(data["counts"].items()))
    return "\n".join([*lines, f"orders: {counts or 'nothing to do'}"])


@click.command("orders")
@option("--channel", "channel_ref", help="This channel (its id).")
@option("--org", help="Every channel of this organization (id or name).")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def sync_orders_command(channel_ref: str | None, org: str | None, as_json: bool) -> None:
    """Read the channels' changed orders now and create what is due in the store."""
    if (channel_ref is None) == (org is None):
        fail("give exactly one of --channel or --org", EXIT_BAD_INPUT)
    with session_scope() as session:
        if channel_ref is not None:
            channel_ids = orders.order_sync_channels(
                session, channel_id=find_channel(session, channel_ref).id)
        else:
            channel_ids = orders.order_sync_channels(
                session, organization_id=find_organization(session, str(org)).id)
    if not channel_ids:
        fail("no channel with order sync on", EXIT_BAD_INPUT)
    try:
        result = orders.sync_orders(plugin_manager(), channel_ids, _owner())
    except ShelfsyncError as exc:
        fail(f"the order sync stopped: {exc}")
    data = {"channels": channel_ids, "counts": result.counts(),
            "orders": [_outcome(o) for o in result.outcomes or []]}
    emit(data, as_json, _outcomes_text)
    if data["counts"].get(OrderState.FAILED.value):
        raise SystemExit(1)


@click.group("orders")
def orders_group() -> None:
    """Channel orders and the store orders made from them."""


def _list_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no orders"
    lines = []
    for row in rows:
        line = (f"{safe(row['tiktok_order_id'])}  channel {row['channel_id']}  {row['status']}"
                f" ({safe(row['channel_status'] or '-')})")
        if row["store_order_name"]:
            line += f"  → store order {safe(row['store_order_name'])}"
        if row["reason"]:
            line += f"  [{row['reason']}] {safe(row['fix_hint'] or '')}"
        after = [f"{name} {row[name]['state']}" + (f" ×{row[name]['count']}"
                                                   if row[name]["count"] > 1 else "")
                 for name in ("fulfillment", "cancellation", "refund", "cancel_request")
                 if row.get(name)]
        if after:
            line += f"  ({', '.join(after)})"
        lines.append(line)
        for failure in row.get("aftersale_failures") or []:
            lines.append(f"    {failure['kind']} {safe(failure['external_id'])} "
                         f"{failure['state']} [{failure['reason']}] "
                         f"{safe(failure['fix_hint'] or '')}")
    return "\n".join(lines)


def _with_aftersale(session: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each order's fulfilment, cancellation and refund state, and what needs a hand."""
    states = aftersale.states(session, [int(r["id"]) for r in rows if r["id"] is not None])
    for row in rows:
        state = states.get(int(row["id"] or 0), {})
        for name in ("fulfillment", "cancellation", "refund", "cancel_request"):
            row[name] = state.get(name)
        row["aftersale_failures"] = state.get("failures", [])
    return rows


@orders_group.command("list")
@option("--org", required=True, help="The organization (id or name).")
@option("--status", type=click.Choice(STATES), help="Only orders in this state.")
@option("--channel", "channel_ref", help="Only this channel's orders (its id).")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def orders_list_command(org: str, status: str | None, channel_ref: str | None,
                        as_json: bool) -> None:
    """The organization's orders, newest first, with the reason and fix of each failure."""
    with session_scope() as session:
        organization_id = find_organization(session, org).id
        assert organization_id is not None
        channel_id = find_channel(session, channel_ref).id if channel_ref else None
        rows = _with_aftersale(session, [orders.describe(b) for b in orders.list_orders(
            session, organization_id, status, channel_id)])
    emit(rows, as_json, _list_text)


@orders_group.command("retry")
@click.argument("order_ids", nargs=-1)
@option("--failed", is_flag=True, help="Every failed order of --org.")
@option("--org", help="The organization (with --failed).")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def orders_retry_command(order_ids: tuple[str, ...], failed: bool, org: str | None,
                         as_json: bool) -> None:
    """Try failed orders again now (TikTok order ids, or every failed order of --org)."""
    if bool(order_ids) == failed or (failed and org is None):
        fail("give TikTok order ids, or --failed with --org", EXIT_BAD_INPUT)
    with session_scope() as session:
        if failed:
            organization_id = find_organization(session, str(org)).id
            assert organization_id is not None
            binding_ids = orders.failed_orders(session, organization_id)
            # After-sale failures are retried the same way (their orders were created).
            binding_ids += [i for i in aftersale.orders_with_failures(session, organization_id)
                            if i not in binding_ids]
        else:
            binding_ids = []
            for order_id in order_ids:
                found = session.exec(select(OrderBinding.id).join(
                    ChannelConnection,
                    ChannelConnection.id == OrderBinding.channel_id,  # type: ignore[arg-type]
                ).where(OrderBinding.channel_order_id == order_id.strip())).all()
                if not found:
                    fail(f"no order {order_id!r}", EXIT_BAD_INPUT)
                binding_ids.extend(int(i) for i in found if i is not None)
    outcomes = orders.retry_orders(plugin_manager(), binding_ids, _owner())
    after = aftersale.retry_actions(plugin_manager(), binding_ids, _owner())
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.state] = counts.get(outcome.state, 0) + 1
    for action in after:
        if action.attempted:
            counts[action.state] = counts.get(action.state, 0) + 1
    data = {"counts": counts, "orders": [_outcome(o) for o in outcomes if o.attempted],
            "aftersale": [{"binding_id": a.binding_id, "kind": a.kind, "state": a.state,
                           "reason": a.reason, "detail": a.detail} for a in after]}
    emit(data, as_json, _outcomes_text)
    if counts.get(OrderState.FAILED.value):
        raise SystemExit(1)
