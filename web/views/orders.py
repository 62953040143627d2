"""Orders per channel with their state (waiting, created with the store order's name,
failed, skipped); failed ones with the reason and the fix hint, retry one or all."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request
from flask import url_for as url

from shelfsync.core.models import Organization
from shelfsync.core.services import activity, connections
from shelfsync.core.services import orders as order_service
from shelfsync.core.sync.orders import OrderState
from shelfsync.web import access
from shelfsync.web.app import plugin_manager_of

bp = Blueprint("orders", __name__, url_prefix="/orders")
bp.before_request(access.require_login)

PAGE_SIZE = 50
#: Orders one "retry all" click tries (each is a store call made in the request).
RETRY_ALL_LIMIT = 50
STATES = tuple(state.value for state in OrderState)


def _owner() -> str:
    return f"web:{uuid.uuid4()}"


@bp.get("/")
def index() -> Any:
    """The organization's orders, newest first, filtered by channel and state."""
    session = access.db()
    organization = session.get(Organization, access.organization_id())
    assert organization is not None
    channels = connections.channels_of(session, organization)
    raw_channel = request.args.get("channel", "")
    channel_id = access.own_channel(int(raw_channel)).id if raw_channel.isdigit() else None
    status = request.args.get("status") if request.args.get("status") in STATES else None
    raw_page = request.args.get("page", "1")
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and 0 < int(
        raw_page) < 1_000_000 else 1
    rows, total, failed = activity.orders_page(session, access.organization_id(),
                                               status=status, channel_id=channel_id,
                                               page=page, per_page=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("orders.html", rows=rows, total=total, page=page, pages=pages,
                           channels=channels, channel_id=channel_id, status=status,
                           states=STATES, failed=failed)


@bp.post("/<int:binding_id>/retry")
def retry(binding_id: int) -> Any:
    """Try one failed order again now."""
    access.own_order(binding_id)
    access.db().rollback()
    outcome = order_service.retry_orders(plugin_manager_of(current_app), [binding_id],
                                         _owner())[0]
    flash(_said(outcome))
    return redirect(url("orders.index"))


@bp.post("/retry-failed")
def retry_failed() -> Any:
    """Try every failed order of the organization again (up to a limit per click)."""
    ids = order_service.failed_orders(access.db(), access.organization_id())
    access.db().rollback()
    outcomes = order_service.retry_orders(plugin_manager_of(current_app),
                                          ids[:RETRY_ALL_LIMIT], _owner())
    created = sum(1 for o in outcomes if o.state == OrderState.CREATED.value)
    message = f"Retried {len(outcomes)} failed order(s): {created} created."
    if len(ids) > RETRY_ALL_LIMIT:
        message += f" {len(ids) - RETRY_ALL_LIMIT} more wait for the next click."
    flash(message)
    return redirect(url("orders.index"))


def _said(outcome: Any) -> str:
    text = f"Order {outcome.channel_order_id}: {outcome.state}"
    if outcome.store_order is not None:
        text += f" as store order {outcome.store_order.name}"
    if outcome.reason:
        text += f" ({outcome.reason}: {outcome.detail[:200]})"
    return text + "."
