"""`shelfsync sync inventory` and `shelfsync status`: the engine run in the foreground."""

from __future__ import annotations

from typing import Any

import click
from sqlmodel import Session, select

from shelfsync.core.commands.output import EXIT_BAD_INPUT, emit, fail, option, plugin_manager, safe
from shelfsync.core.db import make_engine, session_scope
from shelfsync.core.models import ChannelConnection, StoreConnection
from shelfsync.core.plugins import ShelfsyncPluginManager
from shelfsync.core.services.connections import connection_setting_problems, find_organization
from shelfsync.core.services.fields import parse_id
from shelfsync.core.sync.inventory import (
    SyncAuthError,
    SyncReport,
    channel_status,
    mark_needs_reauth,
    reconcile_channel,
    reconcile_organization,
)


def _counts_line(report: SyncReport) -> str:
    counts = report.counts()
    calls = sum(report.api_calls.values())
    return ("pushed {pushed}, unchanged {unchanged}, failed {failed}, skipped {skipped}, "
            "dry run {dry_run}, drift {drift}").format(**counts) + f"; {calls} hook calls"


def _human(report: SyncReport, dry_run: bool, verbose: bool = False) -> str:
    """The counts, then the failures; every SKU not unchanged too with `verbose` (a dry run
    shows every SKU: that is what it is for)."""
    lines = [_counts_line(report)]
    if dry_run:
        lines.append(f"dry run: {report.drift} SKUs differ from what their channel shows; "
                     "a reconcile would repair them (nothing was pushed)")
    for item in report.items:
        if item.outcome == "unchanged" and not dry_run:
            continue
        if item.outcome != "failed" and not (verbose or dry_run):
            continue
        before = "-" if item.from_quantity is None else str(item.from_quantity)
        after = "-" if item.to_quantity is None else str(item.to_quantity)
        line = (f"  channel {item.channel_id} {safe(item.sku)}: {before} -> {after} "
                f"[{item.outcome}] {safe(item.explanation or item.reason)}")
        if item.error_code:
            line += f" (error {safe(item.error_code)}: {safe(item.error_message)})"
        lines.append(line)
    for channel_id, message in sorted(report.errors.items()):
        lines.append(f"  channel {channel_id}: could not sync: {safe(message)}")
    return "\n".join(lines)


def _run(session: Session, channel: int | None, org: str | None, dry_run: bool,
         keep_items: bool) -> SyncReport:
    pm = plugin_manager()
    if channel is not None:
        if session.get(ChannelConnection, channel) is None:
            fail(f"no channel with id {channel}", EXIT_BAD_INPUT)
        # A dry run compares with what the channel SHOWS, as a reconcile does: its drift is
        # what a reconcile would repair.
        return reconcile_channel(session, pm, channel, dry_run=dry_run, keep_items=keep_items)
    assert org is not None
    organization_id = find_organization(session, org).id
    assert organization_id is not None
    return reconcile_organization(session, pm, organization_id, dry_run=dry_run,
                                  keep_items=keep_items)


@click.group("sync")
def sync_group() -> None:
    """Run a sync now, in the foreground (whatever broker is configured)."""


@sync_group.command("inventory")
@option("--channel", "channel_ref", help="Reconcile this channel (its id).")
@option("--org", help="Reconcile every channel of this organization (id or name).")
@option("--dry-run", is_flag=True, help="Report per SKU from -> to and why; push nothing.")
@option("--json", "as_json", is_flag=True, help="Print the report as JSON, per SKU.")
@option("-v", "--verbose", is_flag=True,
              help="List every SKU pushed, skipped or failed (default: counts and failures).")
def sync_inventory(channel_ref: str | None, org: str | None, dry_run: bool, as_json: bool,
                   verbose: bool) -> None:
    """Reconcile inventory for one channel or every channel of an organization.

    Prints the counts and the failed SKUs; `--verbose` lists every SKU that was not unchanged,
    `--json` every SKU's outcome. Without either, per-SKU outcomes other than failures are not
    kept in memory at all (a large catalog has hundreds of thousands).
    """
    if (channel_ref is None) == (org is None):
        fail("give exactly one of --channel or --org", EXIT_BAD_INPUT)
    channel = None if channel_ref is None else parse_id("--channel", channel_ref)
    engine = make_engine()
    try:
        with session_scope(engine) as session:
            try:
                report = _run(session, channel, org, dry_run,
                              keep_items=as_json or dry_run or verbose)
            except SyncAuthError as exc:
                for kind, ident, message in exc.failures:
                    mark_needs_reauth(session, kind, ident, message)
                report = exc.report
                session.commit()
                emit(report.to_dict() if as_json else report, as_json,
                     lambda r: _human(r, dry_run, verbose))
                fail(f"{exc.message}; marked as needing re-authorization")
    finally:
        engine.dispose()
    data: Any = report.to_dict() if as_json else report
    emit(data, as_json, lambda r: _human(r, dry_run, verbose))
    if report.failed or report.errors:
        raise SystemExit(1)


def _setting_flags(row: dict[str, Any]) -> list[str]:
    """One flag per stored plugin setting its declared field refuses, with the repair."""
    flags = []
    for kind, problems in row.get("setting_problems", {}).items():
        target = (f"channel {row['channel_id']}" if kind == "channel"
                  else f"store --org {row['organization_id']}")
        for name, message in sorted(problems.items()):
            flags.append(f"BAD {kind.upper()} SETTING {safe(name)}: {safe(message)}, the default "
                         f"is used; shelfsync connection settings {target} --reset {safe(name)}")
    return flags


def _with_setting_problems(session: Session, pm: ShelfsyncPluginManager,
                           rows: list[dict[str, Any]]) -> None:
    """Add to each row the stored settings (its channel's, its store's) that are refused."""
    stores = {store.organization_id: store for store in session.exec(select(StoreConnection))}
    for row in rows:
        problems: dict[str, dict[str, str]] = {}
        channel = session.get(ChannelConnection, row["channel_id"])
        if channel is not None and (found := connection_setting_problems(pm, channel)):
            problems["channel"] = found
        store = stores.get(row["organization_id"])
        if store is not None and (found := connection_setting_problems(pm, store)):
            problems["store"] = found
        row["setting_problems"] = problems


def _status_lines(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no channels connected"
    lines = []
    for row in rows:
        flags = []
        if row["needs_reauth"]:
            flags.append(f"NEEDS RE-AUTH: {safe(row['status_message'] or 'credentials refused')}; "
                         f"shelfsync reconnect channel {row['channel_id']} --credential …")
        if row["store_needs_reauth"]:
            flags.append(f"STORE NEEDS RE-AUTH: {safe(row['store_status_message'] or 'refused')}; "
                         "shelfsync reconnect store --org …")
        if row.get("store_poll_error"):
            flags.append(f"STORE POLL FAILING: {safe(row['store_poll_error'])} (last good poll "
                         f"{row.get('store_polled_at') or 'never'})")
        if not row["inventory_sync"]:
            flags.append("inventory sync off")
        flags.extend(_setting_flags(row))
        lines.append(
            f"channel {row['channel_id']} ({safe(row['platform'])} "
            f"{safe(row['shop_name'] or row['shop_id'])})"
            f": last sync {row['last_sync_at'] or 'never'}, pushes {row['pushes_24h']}, errors "
            f"{row['errors_24h']} (24 h), drift {row['drift'] if row['drift'] is not None else '-'}"
            f", link problems {row['link_problems']}, pending {row['pending_skus']}"
            f", orders created {row.get('orders_created', 0)} waiting "
            f"{row.get('orders_waiting', 0)} failed {row.get('orders_failed', 0)}"
            + (f" [{', '.join(flags)}]" if flags else ""))
    return "\n".join(lines)


@click.command("status")
@option("--org", help="Only this organization's channels (id or name).")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(org: str | None, as_json: bool) -> None:
    """Per channel: last sync, pushes, errors, drift, link problems, orders (created, waiting,
    failed), re-auth needed."""
    engine = make_engine()
    try:
        with session_scope(engine) as session:
            organization_id = find_organization(session, org).id if org is not None else None
            rows = channel_status(session, organization_id)
            _with_setting_problems(session, plugin_manager(), rows)
    finally:
        engine.dispose()
    emit(rows, as_json, _status_lines)
